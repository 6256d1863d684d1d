'use strict';
// hubgate behind an older release of the official HubSpot Node client, @hubspot/api-client v11,
// pointed at it by `basePath`. Releases before v13 send timeline events to /crm/v3/timeline/events
// and visitor identification to /conversations/v3/visitor-identification/tokens/create: spellings
// hubgate must gate like the ones v14 sends.
//
// Run by tests/integration/node_sdk_test.cpp with a rules file blocking every address at
// example.com:
//   HUBGATE_URL=http://127.0.0.1:<port> HUBSPOT_TOKEN=<token> node tests/node/older_sdk_test.js
// It checks on the fake's side what reached HubSpot. Exits non-zero if any test fails.

const test = require('node:test');
const assert = require('node:assert/strict');
const hubspot = require('hubspot-api-client-11');
const { settings, show } = require('./harness');

const [baseUrl, accessToken] = settings('older_sdk_test.js', ['HUBGATE_URL', 'HUBSPOT_TOKEN']);
const client = new hubspot.Client({ accessToken, basePath: baseUrl });

// A call hubgate refuses: the SDK throws an ApiException with the status and HubSpot's error.
async function assertBlocked(what, fn) {
  let error;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error, `${what} returned instead of throwing`);
  assert.equal(error.code, 403, `${what}: status ${error.code} with body ${show(error.body)}`);
  assert.equal(error.body.status, 'error', `${what}: ${show(error.body)}`);
  assert.equal(error.body.category, 'POLICY_BLOCKED', `${what}: ${show(error.body)}`);
}

function timelineEvent(email) {
  return { eventTemplateId: '1001', email, tokens: { plan: 'pro' } };
}

test('a timeline event for an allowed address is created', async () => {
  const event = await client.crm.timeline.eventsApi.create(timelineEvent('ok@corp.io'));
  assert.equal(event.id, 'evt-1', `the event HubSpot created: ${show(event)}`);
});

test('a timeline event for a blocked address is refused', async () => {
  await assertBlocked('eventsApi.create(jo@example.com)',
                      () => client.crm.timeline.eventsApi.create(timelineEvent('jo@example.com')));
});

test('a batch of timeline events with a blocked address is refused', async () => {
  await assertBlocked('eventsApi.createBatch',
                      () => client.crm.timeline.eventsApi.createBatch({
                        inputs: [timelineEvent('ok2@corp.io'), timelineEvent('jo@example.com')],
                      }));
});

test('a visitor token for an allowed address is made', async () => {
  const token = await client.conversations.visitorIdentification.generateApi.generateToken(
    { email: 'ok@corp.io', firstName: 'Ok', lastName: 'Corp' });
  assert.equal(token.token, 'visitor-token-1', `the token: ${show(token)}`);
});

test('a visitor token for a blocked address is refused', async () => {
  await assertBlocked('generateApi.generateToken(jo@example.com)',
                      () => client.conversations.visitorIdentification.generateApi.generateToken(
                        { email: 'jo@example.com', firstName: 'Jo', lastName: 'Example' }));
});

'use strict';
// hubgate with `batches: whole` behind the official HubSpot Node client, @hubspot/api-client v14:
// a batch create with one blocked input throws, as HubSpot's own whole-batch failures do, instead
// of returning a 207.
//
// Run by tests/integration/node_sdk_test.cpp, which starts a fake HubSpot and hubgate with a rules
// file blocking creates of contacts at example.com and `batches: whole`, then runs
//   HUBGATE_URL=http://127.0.0.1:<port> HUBSPOT_TOKEN=<token> node tests/node/batch_whole_test.js
// and checks on the fake's side that no batch reached HubSpot. Exits non-zero if any test fails.

const test = require('node:test');
const assert = require('node:assert/strict');
const hubspot = require('@hubspot/api-client');
const { settings, show } = require('./harness');

const [baseUrl, accessToken] = settings('batch_whole_test.js', ['HUBGATE_URL', 'HUBSPOT_TOKEN']);
const client = new hubspot.Client({ accessToken, basePath: baseUrl });

test('a batch create with a blocked input throws a 403 naming it, and creates nothing', async () => {
  const inputs = [
    { properties: { email: 'ok1@corp.io' }, associations: [] },
    { properties: { email: 'whole-blocked@example.com' }, associations: [] },
    { properties: { email: 'ok2@corp.io' }, associations: [] },
  ];
  let returned;
  try {
    returned = await client.crm.contacts.batchApi.create({ inputs });
  } catch (e) {
    assert.equal(e.code, 403, `expected HTTP 403, got ${e && e.code} with ${show(e && e.body)}`);
    assert.equal(e.body.status, 'error', `status in ${show(e.body)}`);
    assert.equal(e.body.category, 'POLICY_BLOCKED', `category in ${show(e.body)}`);
    assert.deepEqual(e.body.context.inputIndex, ['1'], `inputIndex in ${show(e.body)}`);
    assert.match(e.body.message, /1 of 3 items blocked/, `message in ${show(e.body)}`);
    return;
  }
  assert.fail(`batchApi.create should have thrown a 403, but returned ${show(returned)}`);
});

test('a batch create with nothing blocked returns HubSpot\'s results', async () => {
  const inputs = [{ properties: { email: 'ok3@corp.io' }, associations: [] }];
  const response = await client.crm.contacts.batchApi.create({ inputs });
  assert.equal(response.constructor.name, 'BatchResponseSimplePublicObject',
               `expected a 201, got a ${response.constructor.name}: ${show(response)}`);
  assert.deepEqual(response.results.map((r) => r.properties.email), ['ok3@corp.io']);
});

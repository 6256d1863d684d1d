'use strict';
// hubgate behind the official HubSpot Node client, @hubspot/api-client v14, pointed at it by
// `basePath`: what a customer's code sees when hubgate allows, blocks, or splits a batch.
//
// Run by tests/integration/node_sdk_test.cpp, which starts a fake HubSpot and hubgate with a rules
// file blocking creates of contacts at example.com, then runs
//   HUBGATE_URL=http://127.0.0.1:<port> HUBSPOT_TOKEN=<token> node tests/node/sdk_test.js
// and checks on the fake's side what reached HubSpot. Exits non-zero if any test fails.

const test = require('node:test');
const assert = require('node:assert/strict');
const hubspot = require('@hubspot/api-client');
const { settings, show } = require('./harness');

const [baseUrl, accessToken] = settings('sdk_test.js', ['HUBGATE_URL', 'HUBSPOT_TOKEN']);

// numberOfApiCallRetries stays at its default, 0: every call is sent exactly once.
const client = new hubspot.Client({ accessToken, basePath: baseUrl });

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// The SDK turns every status its generated code does not expect into an ApiException carrying
// `code` (the HTTP status), `body` (the parsed JSON) and `headers`; anything else thrown (a
// connection refused, a JSON parse error) has no numeric `code`.
function describeError(e) {
  if (e && typeof e.code === 'number') {
    return `HTTP ${e.code} with body ${show(e.body)}`;
  }
  return String(e && e.stack ? e.stack : e);
}

async function call(what, fn) {
  try {
    return await fn();
  } catch (e) {
    assert.fail(`${what} threw instead of returning: ${describeError(e)}`);
  }
}

function assertHubSpotError(error, what) {
  assert.equal(typeof error, 'object', `${what}: not an object: ${show(error)}`);
  assert.notEqual(error, null, `${what}: null`);
  assert.equal(error.status, 'error', `${what}: status should be 'error' in ${show(error)}`);
  assert.equal(error.category, 'POLICY_BLOCKED',
               `${what}: category should be 'POLICY_BLOCKED' in ${show(error)}`);
  assert.equal(typeof error.message, 'string', `${what}: message should be a string in ${show(error)}`);
  assert.ok(error.message.length > 0, `${what}: message should not be empty in ${show(error)}`);
}

test('an allowed create returns the contact HubSpot created', async () => {
  const contact = await call('basicApi.create(ok@corp.io)', () =>
    client.crm.contacts.basicApi.create({ properties: { email: 'ok@corp.io' }, associations: [] }));
  assert.equal(typeof contact.id, 'string', `no id in ${show(contact)}`);
  assert.match(contact.id, /^[0-9]+$/, `id should be HubSpot's numeric string in ${show(contact)}`);
  assert.equal(contact.properties.email, 'ok@corp.io', `email not echoed in ${show(contact)}`);
  assert.equal(contact.properties.hs_object_id, contact.id, `hs_object_id != id in ${show(contact)}`);
  assert.ok(contact.createdAt instanceof Date && !Number.isNaN(contact.createdAt.getTime()),
            `createdAt should be deserialised to a Date in ${show(contact)}`);
  assert.equal(contact.archived, false, `archived should be false in ${show(contact)}`);
});

test('a blocked create throws a 403 whose body is a HubSpot error', async () => {
  let returned;
  try {
    returned = await client.crm.contacts.basicApi.create({
      properties: { email: 'blocked@example.com' },
      associations: [],
    });
  } catch (e) {
    assert.equal(e.code, 403, `expected HTTP 403, got ${describeError(e)}`);
    // basicApi.create deserialises an error body as type "Error", which is not in the SDK's type
    // map, so e.body is the parsed JSON as sent: every field, "status" included.
    assertHubSpotError(e.body, 'the 403 body');
    assert.match(String(e.body.correlationId), uuid,
                 `correlationId should be a UUID in ${show(e.body)}`);
    return;
  }
  assert.fail(`basicApi.create(blocked@example.com) should have thrown a 403, ` +
              `but returned ${show(returned)}: it reached HubSpot`);
});

test('a mixed batch create returns a 207 with the allowed results and one error', async () => {
  const inputs = [
    { properties: { email: 'ok1@corp.io', firstname: 'One' }, associations: [] },
    { properties: { email: 'batch-blocked@example.com', firstname: 'Two' }, associations: [] },
    { properties: { email: 'ok2@corp.io', firstname: 'Three' }, associations: [] },
  ];
  const response = await call('batchApi.create([ok, blocked, ok])', () =>
    client.crm.contacts.batchApi.create({ inputs }));
  // batchApi.create deserialises a 201 as BatchResponseSimplePublicObject and a 207 as
  // BatchResponseSimplePublicObjectWithErrors (the only difference callers can see besides
  // numErrors and errors), so the class tells which status hubgate answered.
  assert.equal(response.constructor.name, 'BatchResponseSimplePublicObjectWithErrors',
               `expected a 207 (BatchResponseSimplePublicObjectWithErrors), got a ` +
               `${response.constructor.name}: ${show(response)}`);
  assert.equal(response.status, 'COMPLETE', `status in ${show(response)}`);
  assert.ok(response.startedAt instanceof Date && response.completedAt instanceof Date,
            `startedAt and completedAt should be Dates in ${show(response)}`);

  assert.ok(Array.isArray(response.results), `results should be an array in ${show(response)}`);
  const created = response.results.map((r) => r.properties.email).sort();
  assert.deepEqual(created, ['ok1@corp.io', 'ok2@corp.io'],
                   `results should be the two allowed contacts in ${show(response)}`);
  for (const r of response.results) {
    assert.match(String(r.id), /^[0-9]+$/, `result without a numeric id in ${show(response)}`);
  }

  assert.equal(response.numErrors, 1, `numErrors should be 1 in ${show(response)}`);
  assert.ok(Array.isArray(response.errors), `errors should be an array in ${show(response)}`);
  assert.equal(response.errors.length, 1, `errors should have one entry in ${show(response)}`);
  assertHubSpotError(response.errors[0], 'the batch error');
});

test('a read passes through and returns HubSpot\'s contact', async () => {
  const contact = await call("basicApi.getById('123')", () =>
    client.crm.contacts.basicApi.getById('123'));
  assert.equal(contact.id, '123', `id in ${show(contact)}`);
  assert.equal(contact.properties.email, 'reader@corp.io', `email in ${show(contact)}`);
  assert.equal(contact.archived, false, `archived in ${show(contact)}`);
});

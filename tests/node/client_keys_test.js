'use strict';
// hubgate with `auth: clients` behind the official HubSpot Node client, @hubspot/api-client v14:
// the SDK is given a client key as its accessToken, never the HubSpot token.
//
// Run by tests/integration/node_sdk_test.cpp, which starts a fake HubSpot and hubgate with one
// client whose budget is two new contacts a day, then runs
//   HUBGATE_URL=http://127.0.0.1:<port> CLIENT_KEY=<key> node tests/node/client_keys_test.js
// and checks on the fake's side that only hubgate's upstream token reached HubSpot.

const test = require('node:test');
const assert = require('node:assert/strict');
const hubspot = require('@hubspot/api-client');
const { settings, show } = require('./harness');

const [baseUrl, clientKey] = settings('client_keys_test.js', ['HUBGATE_URL', 'CLIENT_KEY']);

async function expectThrow(what, fn, code, category) {
  let returned;
  try {
    returned = await fn();
  } catch (e) {
    assert.equal(e.code, code, `${what}: expected HTTP ${code}, got ${e.code} ${show(e.body)}`);
    assert.equal(e.body.status, 'error', `${what}: status in ${show(e.body)}`);
    assert.equal(e.body.category, category, `${what}: category in ${show(e.body)}`);
    return e;
  }
  assert.fail(`${what} should have thrown ${code}, but returned ${show(returned)}`);
}

test('the client key works as the SDK accessToken', async () => {
  const client = new hubspot.Client({ accessToken: clientKey, basePath: baseUrl });
  const contact = await client.crm.contacts.basicApi.create({ properties: { email: 'one@corp.io' }, associations: [] });
  assert.match(contact.id, /^[0-9]+$/, `id in ${show(contact)}`);
  const read = await client.crm.contacts.basicApi.getById('123');
  assert.equal(read.id, '123');
});

test('an unknown key gets HubSpot\'s 401, which the SDK reports as such', async () => {
  const stranger = new hubspot.Client({ accessToken: 'not-a-client-key-000000', basePath: baseUrl });
  await expectThrow('getById with an unknown key', () => stranger.crm.contacts.basicApi.getById('123'), 401,
                    'INVALID_AUTHENTICATION');
});

test('a spent budget is a 429 the SDK does not retry, even with retries on', async () => {
  const client = new hubspot.Client({ accessToken: clientKey, basePath: baseUrl, numberOfApiCallRetries: 3 });
  await client.crm.contacts.basicApi.create({ properties: { email: 'two@corp.io' }, associations: [] });
  const e = await expectThrow('the third create of the day',
                              () => client.crm.contacts.basicApi.create({ properties: { email: 'three@corp.io' },
                                                                          associations: [] }),
                              429, 'RATE_LIMITS');
  assert.match(String(e.body.message), /limit of 2 new contacts per day/, `message in ${show(e.body)}`);
});

'use strict';
// An integration as hubgate sees one: the official HubSpot Node client, pointed at hubgate by
// `basePath` instead of https://api.hubapi.com. Nothing else in the code changes.
//   HUBSPOT_TOKEN      a private app token (from the env file in docker/compose.yaml)
//   HUBSPOT_BASE_PATH  hubgate's address (http://hubgate:8080 in docker/compose.yaml)
const hubspot = require('@hubspot/api-client');

const accessToken = process.env.HUBSPOT_TOKEN;
const basePath = process.env.HUBSPOT_BASE_PATH || 'http://hubgate:8080';
if (!accessToken) {
  console.error('set HUBSPOT_TOKEN (see docker/example/hubspot.env.example)');
  process.exit(2);
}
const client = new hubspot.Client({ accessToken, basePath });

async function main() {
  // Reads (and every call that creates no contact) pass through untouched.
  const page = await client.crm.contacts.basicApi.getPage(1);
  console.log(`read ${page.results.length} contact(s) through hubgate at ${basePath}`);

  // The shipped rules block contacts at test domains: the SDK reports it like an error from
  // HubSpot, with category POLICY_BLOCKED, and nothing reached HubSpot.
  try {
    await client.crm.contacts.basicApi.create({ properties: { email: 'jo@example.com' }, associations: [] });
    console.log('created jo@example.com: the rules in force did not block it');
  } catch (e) {
    if (typeof e.code !== 'number') {
      throw e;
    }
    console.log(`create of jo@example.com answered ${e.code} ${e.body.category}: ${e.body.message}`);
  }
}

main().catch((e) => {
  console.error(typeof e.code === 'number' ? `HTTP ${e.code}: ${JSON.stringify(e.body)}` : e);
  process.exit(1);
});

'use strict';
// What every script of tests/node shares: its settings from the environment (set by
// tests/integration/node_sdk_test.cpp), and how values are shown in failure messages.

// The named environment variables' values; a script run without them says so and exits 2.
function settings(script, names) {
  const values = names.map((name) => process.env[name]);
  if (values.some((value) => !value)) {
    console.error(`${script}: set ${names.join(' and ')} (HUBGATE_URL is e.g. http://127.0.0.1:8080)`);
    process.exit(2);
  }
  return values;
}

const show = (value) => JSON.stringify(value, null, 1);

module.exports = { settings, show };

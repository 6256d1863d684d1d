// A stand-in for HubSpot's API for docker/check.sh: HTTPS on 127.0.0.1, a port of its own choosing.
// Usage: node docker/fake-hubspot.js KEY.pem CERT.pem REQUESTS.log
// Prints its port on the first line of stdout once it listens. Every request that reaches it is
// appended to REQUESTS.log as one JSON line ({method, url, body}) before it is answered, so a
// caller that has its answer can read the log and know what got through.
'use strict';
const fs = require('fs');
const https = require('https');

const [keyFile, certFile, logFile] = process.argv.slice(2);
if (!logFile) {
  console.error('usage: node fake-hubspot.js KEY.pem CERT.pem REQUESTS.log');
  process.exit(2);
}

const server = https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, (req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    fs.appendFileSync(logFile, JSON.stringify({ method: req.method, url: req.url, body }) + '\n');
    const answer = (status, value) => {
      res.writeHead(status, { 'Content-Type': 'application/json;charset=utf-8' });
      res.end(JSON.stringify(value));
    };
    const read = req.url.match(/^\/crm\/v3\/objects\/contacts\/(\d+)/);
    if (req.method === 'GET' && read) {
      answer(200, { id: read[1], properties: { email: 'jo@acme.io' }, archived: false });
    } else if (req.method === 'GET' && /^\/crm\/v3\/objects\/contacts(\?|$)/.test(req.url)) {
      answer(200, { results: [{ id: '42', properties: { email: 'jo@acme.io' }, archived: false }] });
    } else if (req.method === 'POST' && req.url === '/crm/v3/objects/contacts') {
      // HubSpot answers a create with the contact as stored; the properties as received do here.
      let properties = {};
      try {
        properties = JSON.parse(body).properties || {};
      } catch (e) {
        // answered below with what could be read: nothing
      }
      answer(201, { id: '1001', properties, archived: false });
    } else {
      answer(404, { status: 'error', message: 'not faked: ' + req.method + ' ' + req.url, category: 'OBJECT_NOT_FOUND' });
    }
  });
});

server.listen(0, '127.0.0.1', () => console.log(server.address().port));
// check.sh ends it with SIGTERM; exit at once.
process.on('SIGTERM', () => process.exit(0));

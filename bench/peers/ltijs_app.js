// Peer: an ltijs tool (npm ltijs, pinned in bench/package.json) with the in-memory Database plugin
// from memdb.js instead of MongoDB, on 127.0.0.1 only.
//   GET|POST /login   ltijs' OIDC login initiation (state cookie `state<state>`, redirect to /auth)
//   POST     /launch  ltijs' id_token validation; success = 302 to /launch?ltik=… (not followed)
//   GET      /ready   200 once the platform is registered
// Usage: node ltijs_app.js <port> <issuer> <client_id> <deployment_id>
'use strict';

const http = require('http');
const crypto = require('crypto');
const lti = require('ltijs').Provider;
const { MemoryDatabase } = require('./memdb');

const [port, issuer, clientId] = process.argv.slice(2);
if (!port || !issuer || !clientId) {
  console.error('usage: node ltijs_app.js <port> <issuer> <client_id> <deployment_id>');
  process.exit(2);
}

let ready = false;

async function main() {
  lti.setup(crypto.randomBytes(32).toString('hex'), { plugin: new MemoryDatabase() }, {
    appRoute: '/launch',
    loginRoute: '/login',
    keysetRoute: '/keys',
    // ltijs rejects id_tokens whose iat is older than tokenMaxAge (default 10 s). The bench signs
    // all tokens of a run before firing them, so allow the same 600 s as the tokens' exp.
    tokenMaxAge: 600,
    devMode: false, // state cookie required, as in production
    cors: false,
    serverAddon: (app) => app.get('/ready', (req, res) => res.status(ready ? 200 : 503).send(ready ? 'ok' : 'starting')),
  });
  lti.whitelist({ route: '/ready', method: 'get' });
  lti.onConnect((token, req, res) => res.status(200).send('launched'));
  await lti.deploy({ serverless: true, silent: true });
  await lti.registerPlatform({
    url: issuer,
    name: 'Bench',
    clientId,
    authenticationEndpoint: `${issuer}/auth`,
    accesstokenEndpoint: `${issuer}/token`,
    authConfig: { method: 'JWK_SET', key: `${issuer}/jwks` },
  });
  const server = http.createServer(lti.app);
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), '127.0.0.1', resolve);
  });
  ready = true;
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(); process.exit(0); });
}

main().catch((err) => {
  console.error('ltijs peer failed to start:', err);
  process.exit(1);
});

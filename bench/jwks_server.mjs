// A tiny stand-in for the platform's key endpoint, on 127.0.0.1 only.
//   GET /jwks      -> the platform JWKS fixture (kid platform-key-1)
//   GET /__count   -> {"jwks": <number of /jwks requests served so far>}
// Usage: node jwks_server.mjs <port> <jwks.json>
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const [port, file] = process.argv.slice(2);
if (!port || !file) {
  console.error('usage: node jwks_server.mjs <port> <jwks.json>');
  process.exit(2);
}
const body = Buffer.from(JSON.stringify(JSON.parse(readFileSync(file, 'utf8'))));
let served = 0;

const server = createServer((req, res) => {
  const path = (req.url || '/').split('?')[0];
  if (req.method === 'GET' && path === '/jwks') {
    served += 1;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  } else if (req.method === 'GET' && path === '/__count') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jwks: served }));
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }
});
server.keepAliveTimeout = 30_000;
server.listen(Number(port), '127.0.0.1');
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));

#!/usr/bin/env node
// A tiny static file server for the embed kit's demo and tests (no dependencies).
//
//   node web/serve.mjs [--host 127.0.0.1] [--port 8788] [--tool-port 8789] [--root DIR]
//
// Serves DIR (default: this folder, web/) on --port, and the same files on --tool-port: a second
// origin, so the demo's stand-in tool pages run cross-origin like a real tool. DIR/pkg is also
// served at /pkg/ and its published copy (DIR/public/embed: /embed/v<version>/…) at /embed/, the
// path the worker serves the kit at, with the worker's CORS header there. Correct MIME
// types (application/wasm for instantiateStreaming), no caching, no directory listings, nothing
// outside the root. Also importable: `serve({root, host, port})` resolves to {server, url}.

import { createServer } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

function send(res, status, body, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

/**
 * Start a server for `root` on host:port (port 0: any free port). `mounts` maps URL prefixes
 * to other folders (`{'/fixtures/': dir}`); `headers(path)` may add response headers (tests set
 * a Content-Security-Policy on some pages).
 */
export function serve({ root = HERE, host = '127.0.0.1', port = 8788, quiet = true, mounts = {}, headers = () => ({}) } = {}) {
  const bases = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : prefix + '/', resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const server = createServer(async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return send(res, 400, 'bad path\n');
    }
    if (path.includes('\0')) return send(res, 400, 'bad path\n');
    const [prefix, base] = bases.find(([p]) => path.startsWith(p)) || ['/', resolve(root)];
    let file = normalize(join(base, path.slice(prefix.length - 1)));
    if (file !== base && !file.startsWith(base + sep)) return send(res, 403, 'forbidden\n');
    try {
      let st = await fs.stat(file);
      if (st.isDirectory()) {
        file = join(file, 'index.html');
        st = await fs.stat(file);
      }
      if (!st.isFile()) return send(res, 404, 'not found\n');
      const type = MIME[extname(file).toLowerCase()] || 'application/octet-stream';
      res.writeHead(200, {
        'content-type': type,
        'content-length': st.size,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        // Like the worker's web/public/_headers: the kit is loadable by any origin's page.
        ...(path.startsWith('/embed/') || path.startsWith('/pkg/') ? { 'access-control-allow-origin': '*' } : {}),
        ...headers(path),
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
      if (!quiet) console.error(`[serve] ${req.method} ${path} 200`);
    } catch {
      send(res, 404, 'not found\n');
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      ok({ server, url: `http://${host}:${p}` });
    });
  });
}

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const host = arg('--host', '127.0.0.1');
  const root = arg('--root', HERE);
  const ports = [Number(arg('--port', 8788)), Number(arg('--tool-port', 8789))];
  const quiet = !process.argv.includes('--verbose');
  // /embed/ = the published kit, where the worker serves it too (the stand-in tool pages import it there).
  const mounts = { '/embed/': join(resolve(root), 'public', 'embed') };
  const servers = await Promise.all(ports.map((port) => serve({ root, host, port, quiet, mounts })));
  console.log(`Embed kit demo:        ${servers[0].url}/demo/`);
  console.log(`Stand-in tool origin:  ${servers[1].url}/demo/tool/`);
  const stop = () => { for (const s of servers) s.server.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

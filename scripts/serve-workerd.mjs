// Serves the built worker in workerd through Miniflare directly — the same runtime `wrangler dev`
// uses, without wrangler's dev proxy in front — with in-memory (or persisted) KV and Durable
// Objects. Used by the benchmark. Usage:
//   node scripts/serve-workerd.mjs --port 18881 [--direct] [--persist DIR] [--var KEY=VALUE ...]
// --direct: the worker itself listens on --port (Miniflare's `unsafeDirectSockets`), so requests
// skip Miniflare's entry worker (a JavaScript hop of the dev tool, ~0.3 ms of CPU a request here,
// that the deployed runtime does not have); Miniflare's own entry then listens on a free port.
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
let port = 18881;
let persist;
let direct = false;
const bindings = {};
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--port") port = Number(args[++i]);
  else if (args[i] === "--persist") persist = args[++i];
  else if (args[i] === "--direct") direct = true;
  else if (args[i] === "--var") {
    const [k, ...v] = args[++i].split("=");
    bindings[k] = v.join("=");
  }
}
const build = path.join(root, "worker", "build");
const mf = new Miniflare(convertV4MiniflareOptions({
  modules: [
    { type: "ESModule", path: path.join(build, "index.js") },
    { type: "CompiledWasm", path: path.join(build, "index_bg.wasm") },
  ],
  modulesRoot: build,
  compatibilityDate: "2026-11-01",
  kvNamespaces: ["LTI_KV"],
  durableObjects: { LTI_DO: { className: "LtiEdgeObject", useSQLite: true } },
  bindings,
  host: "127.0.0.1",
  port: direct ? 0 : port,
  ...(direct ? { unsafeDirectSockets: [{ host: "127.0.0.1", port }] } : {}),
  ...(persist ? { kvPersist: path.join(persist, "kv"), durableObjectsPersist: path.join(persist, "do") } : {}),
}));
const url = await mf.ready;
console.log(`workerd (miniflare) ready on ${direct ? `http://127.0.0.1:${port} (direct; entry ${url})` : url}`);
const stop = async () => { await mf.dispose(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

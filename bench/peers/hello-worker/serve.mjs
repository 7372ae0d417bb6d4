// Serves the hello world (build/) in workerd through Miniflare as scripts/serve-workerd.mjs --direct
// serves the real worker (scripts/miniflare-options.mjs): the same compatibility date, a local KV
// namespace bound as LTI_KV, the worker on a socket of its own; no Durable Object (it has no class
// for one). Usage: node serve.mjs --port 18882
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import path from "node:path";
import { fileURLToPath } from "node:url";

const build = path.join(path.dirname(fileURLToPath(import.meta.url)), "build");
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
const mf = new Miniflare(convertV4MiniflareOptions({
  modules: [
    { type: "ESModule", path: path.join(build, "index.js") },
    { type: "CompiledWasm", path: path.join(build, "index_bg.wasm") },
  ],
  modulesRoot: build,
  compatibilityDate: "2026-11-01",
  kvNamespaces: ["LTI_KV"],
  host: "127.0.0.1",
  port: 0,
  unsafeDirectSockets: [{ host: "127.0.0.1", port }],
}));
await mf.ready;
console.log(`hello world in workerd (miniflare) on http://127.0.0.1:${port}`);
const stop = async () => { await mf.dispose(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

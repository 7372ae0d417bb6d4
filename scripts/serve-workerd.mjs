// Serves the built worker in workerd through Miniflare directly — the same runtime `wrangler dev`
// uses, without wrangler's dev proxy in front — with in-memory (or persisted) KV and Durable
// Objects. Used by the benchmark. Usage:
//   node scripts/serve-workerd.mjs --port 18881 [--direct] [--persist DIR] [--script FILE] [--var KEY=VALUE ...]
// --direct, --script: see scripts/miniflare-options.mjs.
import { Miniflare } from "miniflare";

import { workerOptions } from "./miniflare-options.mjs";

const args = process.argv.slice(2);
let port = 18881;
let persist;
let direct = false;
let script;
const bindings = {};
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--port") port = Number(args[++i]);
  else if (args[i] === "--persist") persist = args[++i];
  else if (args[i] === "--direct") direct = true;
  else if (args[i] === "--script") script = args[++i];
  else if (args[i] === "--var") {
    const [k, ...v] = args[++i].split("=");
    bindings[k] = v.join("=");
  }
}
const mf = new Miniflare(workerOptions({ port, bindings, direct, persist, script }));
const url = await mf.ready;
console.log(`workerd (miniflare) ready on ${direct ? `http://127.0.0.1:${port} (direct; entry ${url})` : url}`);
const stop = async () => { await mf.dispose(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

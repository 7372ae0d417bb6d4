// The Miniflare options that run the release worker (worker/build) in workerd with local KV and
// Durable Objects — one place for scripts/serve-workerd.mjs (the benchmark's server) and
// bench/profile.mjs.
//   script: a plain JavaScript module worker to run instead of the release build, under the same
//   options and bindings (the benchmark's store check, bench/store-check/worker.mjs).
//   Log lines go out as the worker wrote them (`handleStructuredLogs`), warnings and errors on
//   stderr: Miniflare's default handler re-formats each one, which costs its node process more
//   CPU per launch than some of the work measured.
//   direct: the worker itself listens on `port` (Miniflare's `unsafeDirectSockets`), so requests
//   skip Miniflare's entry worker (a JavaScript hop of the dev tool, ~0.3 ms of CPU a request
//   here, that the deployed runtime does not have); Miniflare's own entry then takes a free port.
import { convertV4MiniflareOptions } from "miniflare";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export function workerOptions({ port, bindings, direct = false, persist, inspectorPort, script }) {
  const build = path.join(root, "worker", "build");
  const modules = script
    ? { modules: [{ type: "ESModule", path: path.resolve(script) }], modulesRoot: path.dirname(path.resolve(script)) }
    : {
        modules: [
          { type: "ESModule", path: path.join(build, "index.js") },
          { type: "CompiledWasm", path: path.join(build, "index_bg.wasm") },
        ],
        modulesRoot: build,
      };
  return convertV4MiniflareOptions({
    ...modules,
    compatibilityDate: "2026-11-01",
    kvNamespaces: ["LTI_KV"],
    durableObjects: { LTI_DO: { className: "LtiEdgeObject", useSQLite: true } },
    bindings,
    handleStructuredLogs: ({ level, message }) =>
      (level === "warn" || level === "error" ? process.stderr : process.stdout).write(`${message}\n`),
    host: "127.0.0.1",
    port: direct ? 0 : port,
    ...(direct ? { unsafeDirectSockets: [{ host: "127.0.0.1", port }] } : {}),
    ...(inspectorPort ? { inspectorPort } : {}),
    ...(persist ? { kvPersist: path.join(persist, "kv"), durableObjectsPersist: path.join(persist, "do") } : {}),
  });
}

// The benchmark's store check: a plain JavaScript module worker that performs exactly the KV or
// Durable Object operations one steady-state launch of LTI Edge performs, and nothing else, so
// `npm run bench` can take the cost of the local storage simulations out of the worker's CPU per
// launch (bench/README.md, "The worker's own CPU"). It runs under the same Miniflare options and
// bindings as the worker (scripts/serve-workerd.mjs --script, scripts/miniflare-options.mjs).
//
//   GET /noop?k=KEY      nothing: this worker's own floor (same URL shape as the two below)
//   GET /kv?k=KEY        a launch with NONCE_STORE=kv (worker/src/store/state.rs `claim`): this
//                        isolate's memory, a KV read of the state's mark (a miss: logins store
//                        nothing), the mark written in the background (waitUntil) with the TTL the
//                        worker gives it
//   GET /durable?k=KEY   a launch with NONCE_STORE=durable: one claim call into the state's own
//                        Durable Object, which runs the same SQL as worker/src/store/durable/marks.rs
//                        and sets the same alarm
//
// A login performs no store operation in the steady state (registrations come from isolate
// memory, refreshed every 30 s), nor does a launch's registration, key-set or key-ring lookup:
// those are read from isolate memory too (each at most once every 30 s from the store).
// `k` must be fresh for each request, as each launch's state is.

const STATE_TTL_SECS = 600; // lti-core state.rs STATE_TTL_SECS: a state's `exp` is its login + this
const local = new Map(); // worker/src/store/state.rs LOCAL: key -> [exp, value | null]

function ok() {
  return new Response("ok");
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const key = url.searchParams.get("k") || "state:none";
    const now = Math.floor(Date.now() / 1000);
    const exp = now + STATE_TTL_SECS;
    switch (url.pathname) {
      case "/noop":
        return ok();
      case "/kv": {
        const seen = local.get(key);
        if (seen && seen[0] >= now) return ok();
        local.set(key, [exp, null]);
        const kv = env.LTI_KV;
        if ((await kv.get(key)) !== null) return ok();
        const ttl = Math.max(exp - now, 60);
        ctx.waitUntil(kv.put(key, "used", { expirationTtl: ttl }));
        return ok();
      }
      case "/durable": {
        const stub = env.LTI_DO.get(env.LTI_DO.idFromName(key));
        const resp = await stub.fetch("https://do.internal/state/claim", {
          method: "POST",
          body: JSON.stringify({ key, value: "used", exp }),
        });
        if (resp.status !== 200) return new Response("durable object failed", { status: 500 });
        await resp.json();
        return ok();
      }
      default:
        return new Response("not found", { status: 404 });
    }
  },
};

// The same class name and storage as the worker's Durable Object (worker/src/store/durable/),
// doing what its `/state/claim` does.
export class LtiEdgeObject {
  constructor(state) {
    this.storage = state.storage;
    this.sql = state.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL, exp INTEGER NOT NULL)");
  }

  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path !== "/state/claim") return new Response("not found", { status: 404 });
    const b = await request.json();
    const now = Math.floor(Date.now() / 1000);
    this.sql.exec("DELETE FROM kv WHERE k = ? AND exp < ?", b.key, now);
    const rows = this.sql
      .exec("INSERT INTO kv (k, v, exp) VALUES (?, ?, ?) ON CONFLICT(k) DO NOTHING RETURNING k", b.key, b.value, b.exp)
      .toArray();
    await this.storage.setAlarm(Date.now() + Math.max(b.exp - now, 1) * 1000);
    return Response.json({ first: rows.length > 0 });
  }

  async alarm() {
    this.sql.exec("DELETE FROM kv WHERE exp <= ?", Math.floor(Date.now() / 1000));
  }
}

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
//                        worker gives it; and the launch inspector's batched write (below)
//   GET /durable?k=KEY   a launch with NONCE_STORE=durable: one claim call into the state's own
//                        Durable Object, which runs the same SQL as worker/src/store/durable/marks.rs
//                        and sets the same alarm; and the launch inspector's batched write
//
// A login performs no store operation in the steady state (registrations come from isolate
// memory, refreshed every 30 s), nor does a launch's registration, key-set or key-ring lookup:
// those are read from isolate memory too (each at most once every 30 s from the store).
// `k` must be fresh for each request, as each launch's state is.

const STATE_TTL_SECS = 600; // lti-core state.rs STATE_TTL_SECS: a state's `exp` is its login + this
const local = new Map(); // worker/src/store/state.rs LOCAL: key -> [exp, value | null]

// The launch inspector's write (worker/src/store/inspector.rs `record`, `write`): every launch adds
// its attempt to the isolate's pending ones; the first schedules, 300 ms later, one call to the
// registration's Durable Object carrying the newest INSPECTOR_MAX of them sealed as one text.
const INSPECTOR_FLUSH_MS = 300; // inspector.rs FLUSH_DELAY_MS
const INSPECTOR_MAX_PENDING = 400; // inspector.rs MAX_PENDING
const INSPECTOR_MAX = 50; // INSPECTOR_MAX_ATTEMPTS default
const INSPECTOR_RETENTION_SECS = 24 * 3600; // INSPECTOR_RETENTION_HOURS default
// What one benchmark launch's attempt adds to the sealed text: its JSON (the id_token's payload
// segment, about 980 characters for the benchmark's claims, and the decisions: about 1,280 bytes in
// all), encrypted and base64url-encoded.
const ATTEMPT_SEALED_CHARS = 1700;
const SEALED = Array.from({ length: INSPECTOR_MAX * ATTEMPT_SEALED_CHARS },
  (_, i) => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[(i * 7919) % 64]).join("");
let pending = 0;
let flushing = false;

function recordAttempt(env, ctx) {
  pending = Math.min(pending + 1, INSPECTOR_MAX_PENDING);
  if (flushing) return;
  flushing = true;
  ctx.waitUntil(new Promise((r) => setTimeout(r, INSPECTOR_FLUSH_MS)).then(async () => {
    const n = Math.min(pending, INSPECTOR_MAX);
    pending = 0;
    flushing = false;
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ registration: "", rows: [{ at: now, n, body: SEALED.slice(0, n * ATTEMPT_SEALED_CHARS) }],
      max: INSPECTOR_MAX, keepAfter: now - INSPECTOR_RETENTION_SECS });
    const stub = env.LTI_DO.get(env.LTI_DO.idFromName("inspector:bench-registration"));
    await (await stub.fetch("https://do.internal/ins/add", { method: "POST", body })).arrayBuffer();
  }).catch(() => {}));
}

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
        recordAttempt(env, ctx);
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
        recordAttempt(env, ctx);
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
// doing what its `/state/claim` (marks.rs) and `/ins/add` (inspector_sql.rs) do.
export class LtiEdgeObject {
  constructor(state) {
    this.storage = state.storage;
    this.sql = state.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL, exp INTEGER NOT NULL)");
  }

  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/ins/add") return this.inspectorAdd(await request.json());
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

  inspectorAdd(b) {
    this.sql.exec("CREATE TABLE IF NOT EXISTS attempt_batches (seq INTEGER PRIMARY KEY AUTOINCREMENT, " +
      "registration TEXT NOT NULL, at INTEGER NOT NULL, n INTEGER NOT NULL, body TEXT NOT NULL)");
    this.sql.exec("DROP TABLE IF EXISTS attempts");
    for (const r of b.rows) {
      this.sql.exec("INSERT INTO attempt_batches (registration, at, n, body) VALUES (?, ?, ?, ?)",
        b.registration, r.at, Math.max(r.n, 1), r.body);
    }
    this.sql.exec("DELETE FROM attempt_batches WHERE at < ?", b.keepAfter);
    const batches = this.sql.exec("SELECT seq, n FROM attempt_batches WHERE registration = ? ORDER BY seq DESC",
      b.registration).toArray();
    let kept = 0;
    for (const row of batches) {
      kept += Math.max(row.n, 1);
      if (kept >= Math.max(b.max, 1)) {
        this.sql.exec("DELETE FROM attempt_batches WHERE registration = ? AND seq < ?", b.registration, row.seq);
        break;
      }
    }
    return Response.json({ ok: true });
  }

  async alarm() {
    this.sql.exec("DELETE FROM kv WHERE exp <= ?", Math.floor(Date.now() / 1000));
  }
}

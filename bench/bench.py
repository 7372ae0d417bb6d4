"""LTI Edge launch benchmark: prints a table, asserts nothing about time.

Run through `npm run bench` (scripts/bench.sh), which installs what this needs. For every
implementation (LTI Edge in workerd with the KV and the Durable Object nonce store, pylti1p3, ltijs):

  1. start it on 127.0.0.1 and register the bench platform (a local JWKS server, bench/jwks_server.mjs);
  2. warm up (W unmeasured login+launch pairs; the first one fills any JWKS cache);
  3. for each concurrency C: N logins through its own login endpoint (timed: the login table),
     read state and nonce from the redirect and the cookies it set, sign N RS256 id_tokens with the
     nonces (not timed), then POST the N launches (timed: the launch table), no redirect followed;
     N no-op GETs (the floor); for LTI Edge in workerd, N requests to the store check
     (bench/store-check/worker.mjs: the launch's KV or Durable Object operations alone) and N
     no-ops to it, so the worker's own CPU per launch can be told from the local store's.

HTTP is driven by bench/driver.mjs (node 22 + undici, C keep-alive connections). Environment:
BENCH_LAUNCHES (N, 2000), BENCH_CONCURRENCY ("8,1"), BENCH_WARMUP (W, 50), BENCH_ONLY (comma list of
edge-kv, edge-durable, pylti1p3, ltijs), BENCH_PORT (18880), BENCH_RUN_DIR (scratch dir; a fresh one
if unset), BENCH_KEEP (1 keeps the scratch dir with the logs).
"""
from __future__ import annotations

import json
import math
import os
import secrets
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse

import jwt
import requests
from cryptography.hazmat.primitives import serialization

from bench_common import (BENCH, CHILD_ENV, REPO, RUN_DIR, env_int, loadavg, machine, run_main, say, start,
                          table, wasm_size)
from supervisor import free_port, group_cpu, group_stats, stop_all, wait_port_free  # on sys.path through bench_common

FIXTURES = REPO / "crates" / "lti-core" / "fixtures"
JWKS_FILE = FIXTURES / "platform_jwks.json"
KEY_FILE = FIXTURES / "platform_key.pem"
KID = "platform-key-1"
WASM = REPO / "worker" / "build" / "index_bg.wasm"
WORKER_JS = REPO / "worker" / "build" / "index.js"
WRANGLER = REPO / "node_modules" / ".bin" / "wrangler"

CLIENT_ID = "bench-client"
DEPLOYMENT_ID = "bench-dep"
MY_MEDIA = "/hosted/index/my-media"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"

START_DEADLINE = 120.0  # s for a process to answer its readiness probe
HTTP_TIMEOUT = 20.0     # s for every set-up HTTP call made from here


N = env_int("BENCH_LAUNCHES", 2000, 1, 100_000)
WARMUP = env_int("BENCH_WARMUP", 50, 1, 10_000)
SLICES = env_int("BENCH_SLICES", 5, 1, 20)  # turns of launches, floor and store check (see measure)
CONCURRENCIES = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "8,1").split(",") if c.strip()]
if not CONCURRENCIES or any(not 1 <= c <= 64 for c in CONCURRENCIES):
    raise SystemExit("BENCH_CONCURRENCY must be a comma list of 1..64")
EDGE_PORT = env_int("BENCH_PORT", 18880, 1024, 65535)
ALL_TARGETS = ["edge-kv", "edge-durable", "edge-kv-wrangler", "pylti1p3", "ltijs"]
ONLY = [x.strip() for x in os.environ.get("BENCH_ONLY", ",".join(ALL_TARGETS)).split(",") if x.strip()]
if any(x not in ALL_TARGETS for x in ONLY):
    raise SystemExit(f"BENCH_ONLY must name some of {', '.join(ALL_TARGETS)}")


_SESSION = requests.Session()
_SESSION.trust_env = False  # loopback only, never through a proxy


def http(method: str, url: str, **kw: t.Any) -> requests.Response:
    assert urlparse(url).hostname == "127.0.0.1", url
    kw.setdefault("timeout", HTTP_TIMEOUT)
    kw.setdefault("allow_redirects", False)
    return _SESSION.request(method, url, **kw)


# ------------------------------------------------------------------------------------------------
# The driver (bench/driver.mjs)
# ------------------------------------------------------------------------------------------------


@dataclass
class Batch:
    wall_ms: float
    results: t.List[t.Dict[str, t.Any]]
    expect: int
    cpu_s: t.Optional[float] = None  # CPU (user + system) of the server's processes during the batch
    workerd_s: t.Optional[float] = None  # of it, the workerd process's (LTI Edge rows; Miniflare's node left out)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if r["status"] != self.expect)

    def rate(self) -> float:
        return len(self.results) / (self.wall_ms / 1000.0) if self.wall_ms > 0 else 0.0

    def pct(self, p: float) -> float:
        lat = sorted(r["ms"] for r in self.results)
        if not lat:
            return float("nan")
        return lat[max(0, math.ceil(p / 100.0 * len(lat)) - 1)]

    def cpu_ms_each(self) -> t.Optional[float]:
        return self.cpu_s * 1000.0 / len(self.results) if self.cpu_s is not None and self.results else None

    @staticmethod
    def merge(parts: t.List["Batch"]) -> "Batch":
        """The batches driven in turns as one: results and wall time added, CPU added (unknown if
        any part's is)."""
        def total(xs: t.List[t.Optional[float]]) -> t.Optional[float]:
            return None if any(x is None for x in xs) else sum(x for x in xs if x is not None)
        return Batch(wall_ms=sum(b.wall_ms for b in parts), results=[r for b in parts for r in b.results],
                     expect=parts[0].expect if parts else 0, cpu_s=total([b.cpu_s for b in parts]),
                     workerd_s=total([b.workerd_s for b in parts]))

    def workerd_ms_each(self) -> t.Optional[float]:
        return self.workerd_s * 1000.0 / len(self.results) if self.workerd_s is not None and self.results else None

    def first_error(self) -> str:
        for r in self.results:
            if r["status"] != self.expect:
                return (f"status {r['status']} (expected {self.expect}) "
                        f"{r.get('err') or ''}{(r.get('body') or '')[:300]!r}")
        return ""


_job_no = 0


def workerd_cpu(pgid: int) -> t.Optional[float]:
    """CPU seconds of the workerd processes of process group ``pgid`` (the runtime, every isolate
    and the local KV/DO simulations; not Miniflare's node, which starts workerd and relays its
    output); None when the group has none."""
    if pgid <= 0:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total, found = 0.0, False
    for pid, f in group_stats(pgid):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "workerd":
            found = True
            total += sum(int(x) for x in f[11:15]) / tick
    return total if found else None


def drive(origin: str, requests_: t.List[t.Dict[str, t.Any]], concurrency: int, expect: int,
          pgid: int = 0) -> Batch:
    global _job_no
    _job_no += 1
    job = RUN_DIR / f"job-{_job_no}.json"
    out = RUN_DIR / f"out-{_job_no}.json"
    deadline_ms = int(max(120_000, len(requests_) * 250))  # bounded: at most 250 ms a request on average
    job.write_text(json.dumps({"origin": origin, "concurrency": concurrency, "deadlineMs": deadline_ms,
                               "expectStatus": expect, "requests": requests_}))
    cpu_before = group_cpu(pgid)
    workerd_before = workerd_cpu(pgid)
    try:
        proc = subprocess.run(["node", str(BENCH / "driver.mjs"), str(job), str(out)], cwd=str(BENCH),
                              env=CHILD_ENV, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=deadline_ms / 1000 + 120)
        if proc.returncode != 0:
            raise RuntimeError(f"driver failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-2000:]}")
        data = json.loads(out.read_text())
    finally:
        job.unlink(missing_ok=True)
        out.unlink(missing_ok=True)
    cpu_after = group_cpu(pgid)
    workerd_after = workerd_cpu(pgid)
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    workerd = workerd_after - workerd_before if workerd_before is not None and workerd_after is not None else None
    return Batch(wall_ms=data["wallMs"], results=data["results"], expect=expect, cpu_s=cpu, workerd_s=workerd)


# ------------------------------------------------------------------------------------------------
# LTI pieces
# ------------------------------------------------------------------------------------------------

with open(KEY_FILE, "rb") as _f:
    PLATFORM_KEY = serialization.load_pem_private_key(_f.read(), password=None)
with open(FIXTURES / "stranger_key.pem", "rb") as _f:
    STRANGER_KEY = serialization.load_pem_private_key(_f.read(), password=None)  # not in the JWKS


@dataclass
class Target:
    key: str
    name: str
    store: str
    origin: str
    login_path: str
    launch_path: str
    launch_ok: int           # the status of a successful launch (no redirect followed)
    target_link_uri: str
    issuer: str
    floor_path: str = "/ready"  # a no-op GET: the server's (and dev proxy's) own per-request cost
    notes: t.List[str] = field(default_factory=list)
    pgid: int = 0  # the server's process group, for its CPU time
    # LTI Edge in workerd: the store check beside it (origin, process group, the route that does
    # one launch's store operations: /kv or /durable)
    check_origin: str = ""
    check_pgid: int = 0
    check_path: str = ""


@dataclass
class Prepared:
    request: t.Dict[str, t.Any]  # the launch request for the driver
    user: str


@dataclass
class Row:
    target: Target
    concurrency: int
    logins: t.Optional[Batch] = None
    launches: t.Optional[Batch] = None
    floor: t.Optional[Batch] = None
    store_ops: t.Optional[Batch] = None    # the store check: one launch's store operations a request
    store_floor: t.Optional[Batch] = None  # the store check's no-op
    turns: t.List[t.Dict[str, Batch]] = field(default_factory=list)  # each turn's launches, floor, ops, noop
    jwks_fetches: int = 0
    failure: str = ""

    def own_by_turn(self) -> t.List[float]:
        """The own CPU per launch of each turn (the same difference as `own_ms`, from that turn's
        slices alone)."""
        out = []
        for turn in self.turns:
            part = Row(self.target, self.concurrency, launches=turn.get("launches"), floor=turn.get("floor"),
                       store_ops=turn.get("ops"), store_floor=turn.get("noop"))
            v = part.own_ms(part.launches, store=True)
            if v is not None:
                out.append(v)
        return out

    def own_median(self) -> t.Optional[float]:
        """The median over the turns of the own CPU per launch: a turn the machine or the local
        store simulation disturbed moves it less than it moves the pooled figure."""
        v = sorted(self.own_by_turn())
        if not v:
            return None
        return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

    def own_ms(self, batch: t.Optional[Batch], store: bool) -> t.Optional[float]:
        """CPU per request minus the floor and, for LTI Edge's launch (`store`), minus what the
        same store operations cost alone (the check's requests minus its own no-op). LTI Edge's
        figures are the workerd process's (as the issue defines them); a peer's, its server's."""
        if not self.target.check_path:
            # LTI Edge without its store check (the wrangler dev row): no own figure
            if self.target.key.startswith("edge"):
                return None
            whole = batch.cpu_ms_each() if batch else None
            floor = self.floor.cpu_ms_each() if self.floor else None
            return None if whole is None or floor is None else whole - floor
        whole = batch.workerd_ms_each() if batch else None
        floor = self.floor.workerd_ms_each() if self.floor else None
        if whole is None or floor is None:
            return None
        ops = self.store_ms()
        if ops is None:
            return None
        return whole - floor - (ops if store else 0.0)

    def store_ms(self) -> t.Optional[float]:
        """What one launch's store operations cost workerd alone (ms), from the store check."""
        ops = self.store_ops.workerd_ms_each() if self.store_ops else None
        noop = self.store_floor.workerd_ms_each() if self.store_floor else None
        return None if ops is None or noop is None else ops - noop


def login_requests(tg: Target, users: t.List[str]) -> t.List[t.Dict[str, t.Any]]:
    reqs = []
    for u in users:
        q = urlencode({"iss": tg.issuer, "login_hint": u, "target_link_uri": tg.target_link_uri,
                       "client_id": CLIENT_ID})
        reqs.append({"method": "GET", "path": f"{tg.login_path}?{q}", "headers": {}})
    return reqs


def cookies_of(set_cookie: t.List[str]) -> str:
    """`Cookie:` value a browser would send back: name=value of each Set-Cookie that is not a deletion."""
    pairs = []
    for raw in set_cookie:
        first = raw.split(";", 1)[0].strip()
        attrs = raw.lower()
        if "=" not in first or "max-age=0" in attrs:
            continue
        pairs.append(first)
    return "; ".join(pairs)


def sign(tg: Target, index: int, user: str, nonce: str, key: t.Any = None) -> str:
    now = int(time.time())
    claims = {
        "iss": tg.issuer, "aud": CLIENT_ID, "sub": user, "exp": now + 600, "iat": now, "nonce": nonce,
        CLAIM + "message_type": "LtiResourceLinkRequest",
        CLAIM + "version": "1.3.0",
        CLAIM + "deployment_id": DEPLOYMENT_ID,
        CLAIM + "target_link_uri": tg.target_link_uri,
        CLAIM + "resource_link": {"id": f"rl-{index % 50}"},
        CLAIM + "roles": [LIS + ("Instructor" if index % 2 == 0 else "Learner")],
        CLAIM + "context": {"id": f"course-{index % 20}"},
    }
    return jwt.encode(claims, key or PLATFORM_KEY, algorithm="RS256", headers={"kid": KID})


def prepare(tg: Target, logins: Batch, first_index: int, users: t.List[str],
            key: t.Any = None) -> t.List[Prepared]:
    """Turn successful logins into signed launch requests (not timed)."""
    out = []
    for k, (res, user) in enumerate(zip(logins.results, users)):
        if res["status"] != 302 or not res.get("location"):
            continue
        params = dict(parse_qsl(urlparse(res["location"]).query, keep_blank_values=True))
        state, nonce = params.get("state"), params.get("nonce")
        if not state or not nonce:
            continue
        token = sign(tg, first_index + k, user, nonce, key)
        headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
        cookie = cookies_of(res.get("setCookie") or [])
        if cookie:
            headers["cookie"] = cookie
        out.append(Prepared(request={"method": "POST", "path": tg.launch_path, "headers": headers,
                                     "body": urlencode({"id_token": token, "state": state})}, user=user))
    return out


def jwks_count(jwks_base: str) -> int:
    return int(http("GET", jwks_base + "/__count").json()["jwks"])


_user_seq = 0


def next_users(n: int) -> t.Tuple[int, t.List[str]]:
    global _user_seq
    first = _user_seq
    _user_seq += n
    return first, [f"u{i}" for i in range(first, first + n)]


def warm_up(tg: Target) -> None:
    """One login+launch alone (fills JWKS caches), then the rest of the warm-up at C=8. Not measured."""
    for count, conc in ((1, 1), (max(0, WARMUP - 1), 8)):
        if count == 0:
            continue
        first, users = next_users(count)
        logins = drive(tg.origin, login_requests(tg, users), conc, 302)
        if logins.errors:
            raise RuntimeError(f"warm-up login failed: {logins.first_error()}")
        prepared = prepare(tg, logins, first, users)
        launches = drive(tg.origin, [p.request for p in prepared], conc, tg.launch_ok)
        if launches.errors:
            raise RuntimeError(f"warm-up launch failed: {launches.first_error()}")


def control(tg: Target) -> None:
    """Negative control: a launch signed by a key that is not in the JWKS must not succeed, so the
    numbers are those of real validation."""
    first, users = next_users(1)
    logins = drive(tg.origin, login_requests(tg, users), 1, 302)
    forged = prepare(tg, logins, first, users, key=STRANGER_KEY)
    if len(forged) != 1:
        raise RuntimeError(f"control login failed: {logins.first_error()}")
    res = drive(tg.origin, [forged[0].request], 1, tg.launch_ok).results[0]
    if res["status"] == tg.launch_ok:
        raise RuntimeError("a launch signed by a key outside the JWKS was accepted: not measuring validation")
    tg.notes.append(f"forged signature refused with {res['status']}")


def measure(tg: Target, jwks_base: str) -> t.List[Row]:
    rows = []
    say(f"{tg.name} [{tg.store}]: warm-up ({WARMUP} launches)")
    try:
        warm_up(tg)
        control(tg)
    except Exception as exc:  # report, don't fake numbers
        return [Row(tg, c, failure=f"warm-up: {exc}") for c in CONCURRENCIES]
    for conc in CONCURRENCIES:
        row = Row(tg, conc)
        first, users = next_users(N)
        say(f"{tg.name} [{tg.store}] C={conc}: {N} logins")
        row.logins = drive(tg.origin, login_requests(tg, users), conc, 302, pgid=tg.pgid)
        prepared = prepare(tg, row.logins, first, users)
        say(f"{tg.name} [{tg.store}] C={conc}: {len(prepared)} launches")
        before = jwks_count(jwks_base)
        # The launches, the floor and (LTI Edge) the store check run in SLICES turns, one slice of
        # each per turn, so each figure the own CPU subtracts is taken over the same stretch of
        # time as the launches (the machine's load drifts; one block each after the other let the
        # store check and the launches see different moments).
        floor_req = {"method": "GET", "path": tg.floor_path, "headers": {}}
        checks = (check_requests(tg.check_path, N), check_requests("/noop", N)) if tg.check_path else None
        parts: t.Dict[str, t.List[Batch]] = {"launches": [], "floor": [], "ops": [], "noop": []}
        if tg.check_path:
            say(f"{tg.name} [{tg.store}] C={conc}: {len(prepared)} launches, {N} no-op GET {tg.floor_path}, "
                f"store check ({N} x {tg.check_path} and {N} no-ops), in {SLICES} turns")
        else:
            say(f"{tg.name} [{tg.store}] C={conc}: {len(prepared)} launches and {N} no-op GET {tg.floor_path}, "
                f"in {SLICES} turns")
        for k in range(SLICES):
            part = slice(k * len(prepared) // SLICES, (k + 1) * len(prepared) // SLICES)
            parts["launches"].append(drive(tg.origin, [p.request for p in prepared[part]], conc, tg.launch_ok,
                                           pgid=tg.pgid))
            n = (k + 1) * N // SLICES - k * N // SLICES
            parts["floor"].append(drive(tg.origin, [floor_req] * n, conc, 200, pgid=tg.pgid))
            if checks:
                part = slice(k * N // SLICES, (k + 1) * N // SLICES)
                parts["ops"].append(drive(tg.check_origin, checks[0][part], conc, 200, pgid=tg.check_pgid))
                parts["noop"].append(drive(tg.check_origin, checks[1][part], conc, 200, pgid=tg.check_pgid))
        row.turns = [{k: v[i] for k, v in parts.items() if i < len(v)} for i in range(SLICES)]
        row.launches = Batch.merge(parts["launches"])
        row.floor = Batch.merge(parts["floor"])
        if checks:
            row.store_ops = Batch.merge(parts["ops"])
            row.store_floor = Batch.merge(parts["noop"])
        row.jwks_fetches = jwks_count(jwks_base) - before
        if len(prepared) < N:
            row.failure = f"{N - len(prepared)} logins gave no usable state/nonce: {row.logins.first_error()}"
        if row.launches.errors:
            say(f"  launch errors: {row.launches.errors}; first: {row.launches.first_error()}")
        rows.append(row)
    return rows


def check_requests(path: str, n: int) -> t.List[t.Dict[str, t.Any]]:
    """N GETs to the store check, each with a fresh state key shaped like the worker's
    (`state:` + 32 base64url characters); the no-op gets the same URL shape."""
    return [{"method": "GET", "path": f"{path}?k=state:{secrets.token_urlsafe(24)}", "headers": {}}
            for _ in range(n)]


# ------------------------------------------------------------------------------------------------
# The implementations
# ------------------------------------------------------------------------------------------------


SERVE_WORKERD = REPO / "scripts" / "serve-workerd.mjs"
STORE_CHECK = BENCH / "store-check" / "worker.mjs"


def start_store_check(tg: Target, store: str) -> t.Any:
    """The store check (bench/store-check/worker.mjs) in workerd with the worker's Miniflare
    options and bindings, on a port of its own; idle while the worker is measured."""
    port = free_port()
    proc = start(f"store-check-{store}", ["node", str(SERVE_WORKERD), "--port", str(port), "--direct",
                                          "--script", str(STORE_CHECK)])
    tg.check_origin = f"http://127.0.0.1:{port}"
    tg.check_pgid = proc.pgid
    tg.check_path = "/kv" if store == "kv" else "/durable"
    proc.wait_ready(tg.check_origin + "/noop", deadline_s=START_DEADLINE)
    # Warm-up, not measured: the check's code paths and the store's objects.
    for path in (tg.check_path, "/noop"):
        drive(tg.check_origin, check_requests(path, WARMUP), 8, 200)
    return proc


def run_edge(store: str, issuer: str, jwks_base: str, runtime: str = "miniflare") -> t.List[Row]:
    """The worker in workerd: through Miniflare directly (default; the runtime without a proxy in
    front), or through `wrangler dev` (adds wrangler's local dev proxy hop to every request)."""
    key = ("edge-kv" if store == "kv" else "edge-durable") + ("-wrangler" if runtime == "wrangler" else "")
    name = "lti-edge (workerd)" if runtime == "miniflare" else "lti-edge (wrangler dev)"
    store_name = "KV" if store == "kv" else "Durable Object"
    if not WORKER_JS.exists() or not WRANGLER.exists():
        return [Row(Target(key, name, store_name, "", "", "", 303, "", issuer), c,
                    failure=f"missing {WORKER_JS} or {WRANGLER}: run `npm run build` first")
                for c in CONCURRENCIES]
    wait_port_free(EDGE_PORT, hint="another wrangler dev? set BENCH_PORT")
    base = f"http://127.0.0.1:{EDGE_PORT}"
    admin = "adm_" + secrets.token_urlsafe(24)
    persist = Path(tempfile.mkdtemp(prefix=f"state-{store}-", dir=RUN_DIR))
    env = dict(CHILD_ENV, LTI_EDGE_SKIP_BUILD="1")
    variables = {"PUBLIC_BASE_URL": base, "LTI_ENCRYPTION_KEY": secrets.token_urlsafe(32)[:43],
                 "LTI_ADMIN_TOKEN": admin, "ALLOW_HTTP_LOOPBACK": "true", "NONCE_STORE": store}
    if runtime == "miniflare":
        # In-memory KV/DO, like the peers' in-memory or cookie state (BENCH_PERSIST=1: on disk).
        cmd = ["node", str(SERVE_WORKERD), "--port", str(EDGE_PORT), "--direct"]
        if os.environ.get("BENCH_PERSIST") == "1":
            cmd += ["--persist", str(persist)]
        for k, v in variables.items():
            cmd += ["--var", f"{k}={v}"]
    else:
        cmd = [str(WRANGLER), "dev", "--local", "--ip", "127.0.0.1", "--port", str(EDGE_PORT),
               "--inspector-port", str(free_port()), "--persist-to", str(persist),
               "--show-interactive-dev-session=false", "--log-level", "error"]
        for k, v in variables.items():
            cmd += ["--var", f"{k}:{v}"]
    tg = Target(key, name, store_name, base, "/lti/login", "/lti/launch", 303, base + MY_MEDIA, issuer,
                floor_path="/version")
    check = None
    if runtime == "miniflare":
        try:
            check = start_store_check(tg, store)
        except Exception as exc:  # report, don't fake numbers
            return [Row(tg, c, failure=f"store check: {exc}") for c in CONCURRENCIES]

    def register() -> None:
        say(f"worker ({store}) ready: {http('GET', base + '/version').text.strip()[:200]}")
        body = {"issuer": issuer, "lti13ClientId": CLIENT_ID, "name": "Bench",
                "lti13PlatformOidcAuthUrl": issuer + "/auth", "lti13AuthTokenUrl": issuer + "/token",
                "lti13KeysUrl": issuer + "/jwks", "deploymentIds": [DEPLOYMENT_ID]}
        r = http("POST", base + "/lti/platforms", json=body,
                 headers={"Authorization": f"Bearer {admin}", "Accept": "application/json"})
        if r.status_code not in (200, 201):
            raise RuntimeError(f"registration failed: {r.status_code} {r.text[:500]}")
    try:
        return serve_and_measure(tg, jwks_base, f"worker-{store}", cmd, "/version", env=env, setup=register)
    finally:
        if check is not None:
            check.stop()


def serve_and_measure(tg: Target, jwks_base: str, proc_name: str, cmd: t.List[str], ready_path: str,
                      env: t.Optional[t.Dict[str, str]] = None, cwd: Path = REPO,
                      setup: t.Optional[t.Callable[[], None]] = None) -> t.List[Row]:
    """Start one implementation's server, wait for `ready_path` to answer, `setup`, measure, stop it."""
    proc = start(proc_name, cmd, env=env, cwd=cwd)
    tg.pgid = proc.pgid
    try:
        proc.wait_ready(tg.origin + ready_path, deadline_s=START_DEADLINE)
        if setup is not None:
            setup()
        return measure(tg, jwks_base)
    except Exception as exc:  # report, don't fake numbers
        return [Row(tg, c, failure=str(exc)) for c in CONCURRENCIES]
    finally:
        proc.stop()


def run_pylti1p3(issuer: str, jwks_base: str) -> t.List[Row]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    launch_url = base + "/launch"
    env = dict(CHILD_ENV, BENCH_ISS=issuer, BENCH_CLIENT_ID=CLIENT_ID, BENCH_DEPLOYMENT_ID=DEPLOYMENT_ID,
               BENCH_LAUNCH_URL=launch_url, BENCH_FLASK_SECRET=secrets.token_hex(32))
    cmd = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
           "--worker-class", "gthread", "--threads", "4", "--keep-alive", "30", "--log-level", "warning",
           "--chdir", str(BENCH / "peers"), "pylti1p3_app:app"]
    tg = Target("pylti1p3", "pylti1p3 2.0.0 (Flask)", "cookie session", base, "/login", "/launch", 303,
                launch_url, issuer)
    return serve_and_measure(tg, jwks_base, "pylti1p3", cmd, "/ready", env=env)


def run_ltijs(issuer: str, jwks_base: str) -> t.List[Row]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tg = Target("ltijs", "ltijs 5.9.9 (express)", "in-memory DB", base, "/login", "/launch", 302,
                base + "/launch", issuer)
    if not (BENCH / "node_modules" / "ltijs").exists():
        return [Row(tg, c, failure="bench/node_modules/ltijs missing: run via npm run bench")
                for c in CONCURRENCIES]
    cmd = ["node", str(BENCH / "peers" / "ltijs_app.js"), str(port), issuer, CLIENT_ID, DEPLOYMENT_ID]
    return serve_and_measure(tg, jwks_base, "ltijs", cmd, "/ready", cwd=BENCH)


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------


def batch_cells(b: t.Optional[Batch], failure: str) -> t.List[str]:
    if b is None:
        return ["n/a", "n/a", "n/a", "n/a", "n/a"]
    cpu = b.cpu_ms_each()
    # requests that could not even be prepared (a failed login) count as errors too
    return [f"{b.rate():.0f}", f"{b.pct(50):.2f}", f"{b.pct(99):.2f}", "n/a" if cpu is None else f"{cpu:.2f}",
            str(b.errors + max(0, N - len(b.results)))]


def ms(v: t.Optional[float]) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def print_own(rows: t.List[Row]) -> None:
    """The worker's own CPU per launch and per login beside each peer's net CPU, and the issue's
    targets as ratios of this run (bench/README.md, "The worker's own CPU")."""
    print("Own CPU per request (ms): a peer's server CPU each − its no-op floor; LTI Edge in workerd: the workerd")
    print("process's CPU each (Miniflare's node, which relays its log, left out) − its no-op floor − its store")
    print("operations done alone (the store check's workerd: its requests − its no-op). Logins do no store operation.")
    cells = []
    for r in rows:
        edge = bool(r.target.check_path)
        each = (lambda b: b.workerd_ms_each()) if edge else (lambda b: b.cpu_ms_each())
        turns = r.own_by_turn()
        spread = f"{ms(r.own_median())} ({min(turns):.2f}–{max(turns):.2f})" if turns else "n/a"
        cells.append([r.target.name, r.target.store, str(r.concurrency),
                      ms(each(r.launches) if r.launches else None), ms(each(r.floor) if r.floor else None),
                      ms(r.store_ms()) if edge else "-", ms(r.own_ms(r.launches, store=True)), spread,
                      ms(each(r.logins) if r.logins else None), ms(r.own_ms(r.logins, store=False))])
    print(table(["implementation", "store", "concurrency", "launch CPU", "floor", "store ops", "own per launch",
                 f"median of {SLICES} turns (range)", "login CPU", "own per login"], cells))
    print()
    peers = [r for r in rows if r.target.key in ("pylti1p3", "ltijs")]
    for r in rows:
        if not r.target.check_path:
            continue
        same_c = [p for p in peers if p.concurrency == r.concurrency]
        own = r.own_median()
        nets = [(p.own_median(), p.target.name) for p in same_c]
        nets = [(v, n) for v, n in nets if v is not None]
        label = f"  {r.target.name} [{r.target.store}] C={r.concurrency}:"
        if own is None or not nets:
            print(f"{label} no ratio (a figure is missing)")
            continue
        best, best_name = min(nets)
        ratio = own / best if best > 0 else float("inf")
        print(f"{label} own CPU per launch {own:.2f} ms = {ratio:.2f} × the best peer's net ({best_name} {best:.2f} ms), "
              f"medians of {SLICES} turns; target ≤ 0.33: {'met' if ratio <= 1 / 3 else 'not met'}")
        for what, batch in (("launch", lambda x: x.launches), ("login", lambda x: x.logins)):
            mine = batch(r).cpu_ms_each() if batch(r) else None
            theirs = [(batch(p).cpu_ms_each(), p.target.name) for p in same_c if batch(p)]
            theirs = [(v, n) for v, n in theirs if v is not None]
            if mine is None or not theirs:
                continue
            lowest = min(theirs)
            print(f"{label} whole-server CPU per {what} {mine:.2f} ms, lowest peer {lowest[1]} {lowest[0]:.2f} ms: "
                  f"{'below every peer' if mine < lowest[0] else 'not below every peer'}")
    print()


def main() -> int:
    load_before = loadavg()
    wasm = wasm_size(WASM)  # of the build being benchmarked (read before wrangler starts)
    say(f"scratch dir {RUN_DIR}; N={N} launches per row, warm-up {WARMUP}, concurrency {CONCURRENCIES}")
    jwks_port = free_port()
    jwks_base = f"http://127.0.0.1:{jwks_port}"
    issuer = jwks_base
    rows: t.List[Row] = []
    try:
        jwks = start("jwks", ["node", str(BENCH / "jwks_server.mjs"), str(jwks_port), str(JWKS_FILE)])
        jwks.wait_ready(jwks_base + "/jwks", deadline_s=30)
        if "edge-kv" in ONLY:
            rows += run_edge("kv", issuer, jwks_base)
        if "edge-durable" in ONLY:
            rows += run_edge("durable", issuer, jwks_base)
        if "edge-kv-wrangler" in ONLY:
            rows += run_edge("kv", issuer, jwks_base, runtime="wrangler")
        if "pylti1p3" in ONLY:
            rows += run_pylti1p3(issuer, jwks_base)
        if "ltijs" in ONLY:
            rows += run_ltijs(issuer, jwks_base)
    finally:
        stop_all()

    print()
    print(f"LTI 1.3 launch benchmark: {N} distinct launches per row, {WARMUP} unmeasured warm-up; {machine(CHILD_ENV)}; "
          f"driver and servers share this machine")
    print(f"load average (1/5/15 min) before: {load_before}, after: {loadavg()} "
          f"(anything else running on these {os.cpu_count()} cores skews every number)")
    print()
    for title, rate, batch in (
            ("Launch: POST id_token+state (RS256, fresh nonce, the login's cookies), success = redirect",
             "launches/s", lambda r: r.launches),
            ("Login (OIDC initiation): GET /login → 302 to the platform's /auth with state and nonce",
             "logins/s", lambda r: r.logins),
            ("Floor: a no-op GET (worker /version, peers /ready) on the same server and client",
             "requests/s", lambda r: r.floor)):
        print(title)
        print(table(["implementation", "store", "concurrency", rate, "p50 ms", "p99 ms", "server CPU ms each", "errors"],
                    [[r.target.name, r.target.store, str(r.concurrency), *batch_cells(batch(r), r.failure)]
                     for r in rows]))
        print()
    print_own(rows)
    print("Checks: JWKS fetches during the measured launches (cache behaviour); negative control")
    for r in rows:
        if r.launches is not None:
            print(f"  {r.target.name} [{r.target.store}] C={r.concurrency}: {r.jwks_fetches} JWKS GETs "
                  f"for {len(r.launches.results)} launches; {'; '.join(r.target.notes)}")
    failures = [r for r in rows if r.failure]
    if failures:
        print()
        print("Could not measure / incomplete:")
        for r in failures:
            print(f"  {r.target.name} [{r.target.store}] C={r.concurrency}: {r.failure[:1500]}")
    print()
    print(wasm)
    now = wasm_size(WASM)
    if now != wasm:
        print(f"  note: the build changed during the run; now {now}")
    return 0


if __name__ == "__main__":
    run_main(main)

"""LTI Edge launch benchmark: prints a table, asserts nothing about time.

Run through `npm run bench` (scripts/bench.sh), which installs what this needs. For every
implementation (LTI Edge in workerd with the KV and the Durable Object nonce store, pylti1p3, ltijs):

  1. start it on 127.0.0.1 and register the bench platform (a local JWKS server, bench/jwks_server.mjs);
  2. warm up (W unmeasured login+launch pairs; the first one fills any JWKS cache);
  3. for each concurrency C: N logins through its own login endpoint (timed: the login table),
     read state and nonce from the redirect and the cookies it set, sign N RS256 id_tokens with the
     nonces (not timed), then POST the N launches (timed: the launch table), no redirect followed.

HTTP is driven by bench/driver.mjs (node 22 + undici, C keep-alive connections). Environment:
BENCH_LAUNCHES (N, 2000), BENCH_CONCURRENCY ("8,1"), BENCH_WARMUP (W, 50), BENCH_ONLY (comma list of
edge-kv, edge-durable, pylti1p3, ltijs), BENCH_PORT (18880), BENCH_RUN_DIR (scratch dir; a fresh one
if unset), BENCH_KEEP (1 keeps the scratch dir with the logs).
"""
from __future__ import annotations

import gzip
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
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

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
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


def env_int(name: str, default: int, lo: int, hi: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = int(raw)
    if not lo <= value <= hi:
        raise SystemExit(f"{name}={value} is outside {lo}..{hi}")
    return value


N = env_int("BENCH_LAUNCHES", 2000, 1, 100_000)
WARMUP = env_int("BENCH_WARMUP", 50, 1, 10_000)
CONCURRENCIES = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "8,1").split(",") if c.strip()]
if not CONCURRENCIES or any(not 1 <= c <= 64 for c in CONCURRENCIES):
    raise SystemExit("BENCH_CONCURRENCY must be a comma list of 1..64")
EDGE_PORT = env_int("BENCH_PORT", 18880, 1024, 65535)
ALL_TARGETS = ["edge-kv", "edge-durable", "edge-kv-wrangler", "pylti1p3", "ltijs"]
ONLY = [x.strip() for x in os.environ.get("BENCH_ONLY", ",".join(ALL_TARGETS)).split(",") if x.strip()]
if any(x not in ALL_TARGETS for x in ONLY):
    raise SystemExit(f"BENCH_ONLY must name some of {', '.join(ALL_TARGETS)}")


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# Processes: each in its own process group, its pgid recorded in RUN_DIR/pgids for scripts/bench.sh's
# trap (in case this interpreter itself is killed), stopped in `finally` otherwise.
# ------------------------------------------------------------------------------------------------

_CREATED_RUN_DIR = not os.environ.get("BENCH_RUN_DIR")
RUN_DIR = Path(os.environ.get("BENCH_RUN_DIR") or tempfile.mkdtemp(prefix="lti-edge-bench-"))
RUN_DIR.mkdir(parents=True, exist_ok=True)
PROCS: t.List["Proc"] = []

CHILD_ENV = dict(os.environ)
CHILD_ENV.update({
    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    "NO_COLOR": "1", "FORCE_COLOR": "0", "CI": os.environ.get("CI", "true"),
    "WRANGLER_SEND_METRICS": "false", "WRANGLER_SEND_ERROR_REPORTS": "false", "DO_NOT_TRACK": "1",
    "CLOUDFLARE_CF_FETCH_ENABLED": "false", "WRANGLER_HIDE_BANNER": "true",
    "PYTHONUNBUFFERED": "1",
})
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    CHILD_ENV.pop(_proxy, None)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Proc:
    def __init__(self, name: str, cmd: t.List[str], env: t.Optional[t.Dict[str, str]] = None,
                 cwd: Path = REPO) -> None:
        self.name = name
        self.log = RUN_DIR / f"{name}.log"
        self._logf = open(self.log, "ab")
        self._logf.write(("$ " + " ".join(cmd) + "\n").encode())
        self._logf.flush()
        self.popen = subprocess.Popen(cmd, cwd=str(cwd), env=env or CHILD_ENV, stdin=subprocess.DEVNULL,
                                      stdout=self._logf, stderr=subprocess.STDOUT, start_new_session=True)
        with open(RUN_DIR / "pgids", "a") as f:
            f.write(f"{self.popen.pid}\n")
        self.stopped = False
        PROCS.append(self)

    def wait_ready(self, url: str, deadline_s: float = START_DEADLINE) -> None:
        end = time.monotonic() + deadline_s
        last = "no answer yet"
        while time.monotonic() < end:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode} before it was ready; "
                                   f"log {self.log}:\n{tail(self.log)}")
            try:
                r = http("GET", url, timeout=3)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except requests.RequestException as exc:
                last = repr(exc)
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} did not answer 200 on {url} within {deadline_s:.0f} s "
                           f"(last: {last}); log {self.log}:\n{tail(self.log)}")

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        pgid = self.popen.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        # the leader may be gone while children of its group live on: make sure
        time.sleep(0.2)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            say(f"warning: {self.name} (pid {pgid}) did not exit")
            return
        self._logf.close()
        # stopped: take it off the list scripts/bench.sh's trap kills (its pid may be reused)
        pgids = RUN_DIR / "pgids"
        try:
            left = [x for x in pgids.read_text().split() if x != str(pgid)]
            pgids.write_text("".join(f"{x}\n" for x in left))
        except OSError:
            pass


def stop_all() -> None:
    for p in reversed(PROCS):
        p.stop()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port_free(port: int, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return
            except OSError:
                pass
        if time.monotonic() > end:
            raise RuntimeError(f"127.0.0.1:{port} is in use (another wrangler dev?); set BENCH_PORT")
        time.sleep(0.5)


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

    def first_error(self) -> str:
        for r in self.results:
            if r["status"] != self.expect:
                return (f"status {r['status']} (expected {self.expect}) "
                        f"{r.get('err') or ''}{(r.get('body') or '')[:300]!r}")
        return ""


_job_no = 0


def group_cpu(pgid: int) -> t.Optional[float]:
    """CPU seconds (user + system, this process and its reaped children) of every process in the
    process group `pgid` — a server under test with all its workers and helpers (workerd and
    Miniflare's node; gunicorn's master and workers; node)."""
    if pgid <= 0:
        return None
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            f = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(f[2]) == pgid:  # fields after "(comm)": state ppid pgrp session ... utime(11) stime(12) cutime cstime
            total += sum(int(x) for x in f[11:15]) / tick
    return total


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
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return Batch(wall_ms=data["wallMs"], results=data["results"], expect=expect, cpu_s=cpu)


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
    jwks_fetches: int = 0
    failure: str = ""


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
        row.launches = drive(tg.origin, [p.request for p in prepared], conc, tg.launch_ok, pgid=tg.pgid)
        row.jwks_fetches = jwks_count(jwks_base) - before
        if len(prepared) < N:
            row.failure = f"{N - len(prepared)} logins gave no usable state/nonce: {row.logins.first_error()}"
        if row.launches.errors:
            say(f"  launch errors: {row.launches.errors}; first: {row.launches.first_error()}")
        say(f"{tg.name} [{tg.store}] C={conc}: {N} no-op GET {tg.floor_path}")
        row.floor = drive(tg.origin, [{"method": "GET", "path": tg.floor_path, "headers": {}}] * N, conc, 200,
                          pgid=tg.pgid)
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------
# The implementations
# ------------------------------------------------------------------------------------------------


SERVE_WORKERD = REPO / "scripts" / "serve-workerd.mjs"


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
    wait_port_free(EDGE_PORT)
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
    proc = Proc(f"worker-{store}", cmd, env=env)
    tg = Target(key, name, store_name, base, "/lti/login", "/lti/launch", 303, base + MY_MEDIA, issuer,
                floor_path="/version", pgid=proc.popen.pid)
    try:
        proc.wait_ready(base + "/version")
        say(f"worker ({store}) ready: {http('GET', base + '/version').text.strip()[:200]}")
        body = {"issuer": issuer, "lti13ClientId": CLIENT_ID, "name": "Bench",
                "lti13PlatformOidcAuthUrl": issuer + "/auth", "lti13AuthTokenUrl": issuer + "/token",
                "lti13KeysUrl": issuer + "/jwks", "deploymentIds": [DEPLOYMENT_ID]}
        r = http("POST", base + "/lti/platforms", json=body,
                 headers={"Authorization": f"Bearer {admin}", "Accept": "application/json"})
        if r.status_code not in (200, 201):
            raise RuntimeError(f"registration failed: {r.status_code} {r.text[:500]}")
        return measure(tg, jwks_base)
    except Exception as exc:
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
    proc = Proc("pylti1p3", cmd, env=env)
    tg.pgid = proc.popen.pid
    try:
        proc.wait_ready(base + "/ready")
        return measure(tg, jwks_base)
    except Exception as exc:
        return [Row(tg, c, failure=str(exc)) for c in CONCURRENCIES]
    finally:
        proc.stop()


def run_ltijs(issuer: str, jwks_base: str) -> t.List[Row]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tg = Target("ltijs", "ltijs 5.9.9 (express)", "in-memory DB", base, "/login", "/launch", 302,
                base + "/launch", issuer)
    if not (BENCH / "node_modules" / "ltijs").exists():
        return [Row(tg, c, failure="bench/node_modules/ltijs missing: run via npm run bench")
                for c in CONCURRENCIES]
    cmd = ["node", str(BENCH / "peers" / "ltijs_app.js"), str(port), issuer, CLIENT_ID, DEPLOYMENT_ID]
    proc = Proc("ltijs", cmd, cwd=BENCH)
    tg.pgid = proc.popen.pid
    try:
        proc.wait_ready(base + "/ready")
        return measure(tg, jwks_base)
    except Exception as exc:
        return [Row(tg, c, failure=str(exc)) for c in CONCURRENCIES]
    finally:
        proc.stop()


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------


def table(headers: t.List[str], rows: t.List[t.List[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    numeric = [i >= 2 for i in range(len(headers))]

    def line(cells: t.List[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if numeric[i] else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    sep = "|" + "|".join(("-" * (w + 1) + ":") if numeric[i] else ("-" * (w + 2))
                         for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), sep] + [line(r) for r in rows])


def batch_cells(b: t.Optional[Batch], failure: str) -> t.List[str]:
    if b is None:
        return ["n/a", "n/a", "n/a", "n/a", "n/a"]
    cpu = b.cpu_ms_each()
    # requests that could not even be prepared (a failed login) count as errors too
    return [f"{b.rate():.0f}", f"{b.pct(50):.2f}", f"{b.pct(99):.2f}", "n/a" if cpu is None else f"{cpu:.2f}",
            str(b.errors + max(0, N - len(b.results)))]


def machine() -> str:
    cpu = "?"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, env=CHILD_ENV).stdout.strip()
    return (f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, node {node}; "
            f"driver and servers share this machine")


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def wasm_size() -> str:
    if not WASM.exists():
        return f"worker wasm {WASM.relative_to(REPO)}: missing"
    raw = WASM.read_bytes()
    gz = len(gzip.compress(raw, compresslevel=9))
    return (f"worker wasm {WASM.relative_to(REPO)}: {len(raw):,} bytes raw ({len(raw) / 1024:.0f} KiB), "
            f"{gz:,} bytes gzip -9 ({gz / 1024:.0f} KiB)")


def main() -> int:
    load_before = loadavg()
    wasm = wasm_size()  # of the build being benchmarked (read before wrangler starts)
    say(f"scratch dir {RUN_DIR}; N={N} launches per row, warm-up {WARMUP}, concurrency {CONCURRENCIES}")
    jwks_port = free_port()
    jwks_base = f"http://127.0.0.1:{jwks_port}"
    issuer = jwks_base
    rows: t.List[Row] = []
    try:
        jwks = Proc("jwks", ["node", str(BENCH / "jwks_server.mjs"), str(jwks_port), str(JWKS_FILE)])
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
    print(f"LTI 1.3 launch benchmark: {N} distinct launches per row, {WARMUP} unmeasured warm-up; {machine()}")
    print(f"load average (1/5/15 min) before: {load_before}, after: {loadavg()} "
          f"(anything else running on these {os.cpu_count()} cores skews every number)")
    print()
    print("Launch: POST id_token+state (RS256, fresh nonce, the login's cookies), success = redirect")
    print(table(["implementation", "store", "concurrency", "launches/s", "p50 ms", "p99 ms", "server CPU ms each", "errors"],
                [[r.target.name, r.target.store, str(r.concurrency), *batch_cells(r.launches, r.failure)]
                 for r in rows]))
    print()
    print("Login (OIDC initiation): GET /login → 302 to the platform's /auth with state and nonce")
    print(table(["implementation", "store", "concurrency", "logins/s", "p50 ms", "p99 ms", "server CPU ms each", "errors"],
                [[r.target.name, r.target.store, str(r.concurrency), *batch_cells(r.logins, r.failure)]
                 for r in rows]))
    print()
    print("Floor: a no-op GET (worker /version, peers /ready) on the same server and client")
    print(table(["implementation", "store", "concurrency", "requests/s", "p50 ms", "p99 ms", "server CPU ms each", "errors"],
                [[r.target.name, r.target.store, str(r.concurrency), *batch_cells(r.floor, r.failure)]
                 for r in rows]))
    print()
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
    now = wasm_size()
    if now != wasm:
        print(f"  note: the build changed during the run; now {now}")
    return 0


def _on_signal(signum: int, _frame: t.Any) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    code = 1
    try:
        code = main()
    finally:
        stop_all()
        if os.environ.get("BENCH_KEEP") == "1":
            say(f"kept {RUN_DIR}")
        elif _CREATED_RUN_DIR:
            shutil.rmtree(RUN_DIR, ignore_errors=True)
    sys.exit(code)

"""Helpers for the LTI Edge end-to-end suite: the worker and platform processes (run by the shared
supervisor, tests/support/supervisor.py), HTTP with timeouts, LTI flows.

Every HTTP call has a timeout and never follows redirects on its own. Nothing here asserts a
duration: the only clocks used are start-up deadlines that turn a hung process into a clear failure.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import sys
import time
import typing as t
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse

import jwt
import requests
from oauthlib.oauth1 import (SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_BODY, Client, RequestValidator,
                             SignatureOnlyEndpoint)

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
# the one process supervisor, shared with bench/ (conftest.py takes exit_on_signals and stop_all from here)
from supervisor import Proc, child_env, exit_on_signals, free_port, start_on_free_ports, stop_all  # noqa: E402,F401

PLATFORM_SCRIPT = REPO / "tests" / "platform" / "platform.py"
WORKER_BUILD = REPO / "worker" / "build" / "index.js"
# LTI_EDGE_E2E_WRANGLER: another `wrangler`-compatible command (only for developing the suite itself).
WRANGLER_OVERRIDE = os.environ.get("LTI_EDGE_E2E_WRANGLER")
WRANGLER = Path(WRANGLER_OVERRIDE) if WRANGLER_OVERRIDE else REPO / "node_modules" / ".bin" / "wrangler"

TIMEOUT = 20  # seconds, for every HTTP call
START_DEADLINE = 60  # seconds for a process to answer its readiness probe

LIS = "http://purl.imsglobal.org/vocab/lis/v2"
ROLE_INSTRUCTOR = f"{LIS}/membership#Instructor"
ROLE_LEARNER = f"{LIS}/membership#Learner"
ROLE_TA = f"{LIS}/membership/Instructor#TeachingAssistant"
ROLE_ADMIN_INST = f"{LIS}/institution/person#Administrator"
ROLE_GUEST_INST = f"{LIS}/institution/person#Guest"
ROLE_CUSTOM = "urn:local-lms:role:Auditor"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_DL = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

MODULE_PATHS = {
    "mymedia": "/hosted/index/my-media",
    "coursegallery": "/hosted/index/course-gallery",
    "browseembed": "/browseandembed/index/browseandembed",
}
SESSION_AUDIENCE = "lti-edge-tool"


# ------------------------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------------------------


def http(method: str, url: str, **kw: t.Any) -> requests.Response:
    """One request, no cookie jar, no redirects followed, always a timeout, no proxies."""
    kw.setdefault("timeout", TIMEOUT)
    kw.setdefault("allow_redirects", False)
    with requests.Session() as s:
        s.trust_env = False
        return s.request(method, url, **kw)


JSON = {"Accept": "application/json"}


def describe(resp: requests.Response) -> str:
    body = resp.text
    if len(body) > 1500:
        body = body[:1500] + "..."
    return (f"{resp.request.method} {resp.request.url} -> {resp.status_code}\n"
            f"headers: {dict(resp.headers)}\nbody: {body}")


def assert_error(resp: requests.Response, status: int, code: str) -> t.Dict[str, t.Any]:
    """The worker's error envelope, exact status and code; returns the error object."""
    assert resp.status_code == status and _error_code(resp) == code, (
        f"expected {status} {code}, got:\n{describe(resp)}")
    body = resp.json()
    assert body.get("success") is False, describe(resp)
    err = body["error"]
    assert isinstance(err.get("message"), str) and err["message"].strip(), describe(resp)
    assert isinstance(err.get("correlationId"), str) and err["correlationId"].strip(), describe(resp)
    return err


def _error_code(resp: requests.Response) -> t.Optional[str]:
    try:
        body = resp.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    return body["error"].get("code")


def assert_ok(resp: requests.Response, status: t.Union[int, t.Tuple[int, ...]] = 200) -> t.Any:
    statuses = status if isinstance(status, tuple) else (status,)
    assert resp.status_code in statuses, describe(resp)
    body = resp.json()
    assert body.get("success") is True, describe(resp)
    return body["data"]


# ------------------------------------------------------------------------------------------------
# The worker
# ------------------------------------------------------------------------------------------------


def check_worker_build() -> None:
    needed = (WRANGLER,) if WRANGLER_OVERRIDE else (WORKER_BUILD, WRANGLER)
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise RuntimeError(
            "The worker build is missing: " + ", ".join(missing) + ". Build it first from the repository "
            "root (npm install, then `npm run build`, i.e. scripts/build-worker.sh); the end-to-end suite "
            "runs the prebuilt worker with LTI_EDGE_SKIP_BUILD=1 and never builds it itself.")


@dataclass
class Worker:
    kind: str
    base: str
    admin_token: str
    log: Path
    proc: t.Optional[Proc] = None
    # PUBLIC_BASE_URL when it is not `base` (a worker "behind a proxy"): the session issuer and
    # the origin of the worker's redirects; requests still go to `base`
    public_base: t.Optional[str] = None
    # how its sessions are signed: ES256 with the key ring's session key; RS256 when the operator
    # supplies one RSA key (LTI_TOOL_PRIVATE_JWK)
    session_alg: str = "ES256"
    # LTI_SERVICES_TOKEN: the tool app server's credential for /lti/ags/* and /lti/nrps/*
    services_token: str = ""
    # wrangler's --persist-to folder (local KV and Durable Object storage)
    state_dir: t.Optional[Path] = None

    @property
    def public(self) -> str:
        return self.public_base or self.base

    def url(self, path: str) -> str:
        return self.base + path

    def admin(self, method: str, path: str, token: t.Optional[str] = "__default__",
              **kw: t.Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})
        headers.setdefault("Accept", "application/json")
        if token == "__default__":
            token = self.admin_token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return http(method, self.url(path), headers=headers, **kw)

    def register(self, platform: "Platform", client_id: t.Optional[str] = None,
                 **fields: t.Any) -> t.Dict[str, t.Any]:
        body = platform.registration_body(client_id=client_id)
        body.update(fields)
        # the contract says 200; test_admin_api.test_upsert_status checks that strictly
        return assert_ok(self.admin("POST", "/lti/platforms", json=body), (200, 201))

    def registrations(self) -> t.List[t.Dict[str, t.Any]]:
        """GET /lti/platforms: every registration."""
        return assert_ok(self.admin("GET", "/lti/platforms"))

    def invite(self, **body: t.Any) -> t.Dict[str, t.Any]:
        """POST /lti/invitations: {id, name, url, createdAt, expiresAt} of a new invitation."""
        return assert_ok(self.admin("POST", "/lti/invitations", json=body), 201)

    def invitation(self, inv_id: str) -> t.Optional[t.Dict[str, t.Any]]:
        """One invitation as GET /lti/invitations lists it (state open/registering/used/expired)."""
        return next((i for i in assert_ok(self.admin("GET", "/lti/invitations")) if i["id"] == inv_id), None)

    def jwks(self) -> t.Dict[str, t.Any]:
        r = http("GET", self.url("/lti/jwks"))
        assert r.status_code == 200, describe(r)
        return r.json()

    def verify_tool_jwt(self, token: str, audience: str, issuer: str,
                        ttl: t.Optional[int] = None) -> t.Tuple[t.Dict[str, t.Any], t.Dict[str, t.Any]]:
        """Verify a JWT the tool signed (e.g. a deep linking response) against GET /lti/jwks:
        RS256, kid published, iss, aud; returns (header, claims)."""
        header = jwt.get_unverified_header(token)
        assert header.get("alg") == "RS256", header
        keys = self.jwks()["keys"]
        match = [k for k in keys if k.get("kid") == header.get("kid")]
        assert header.get("kid") and match, f"kid {header.get('kid')!r} not in /lti/jwks {keys}"
        claims = jwt.decode(token, jwt.PyJWK(match[0]).key, algorithms=["RS256"], audience=audience,
                            issuer=issuer, options={"require": ["exp", "iat", "iss", "aud"]})
        if ttl is not None:
            assert claims["exp"] - claims["iat"] == ttl, claims
        return header, claims

    def verify_session(self, token: str) -> t.Dict[str, t.Any]:
        """Verify a session JWT against GET /lti/jwks with PyJWT, as a tool app would: the
        expected alg only (ES256 from the key ring; RS256 with an operator-supplied RSA key),
        the published key of that type named by kid, iss, aud."""
        alg = self.session_alg
        header = jwt.get_unverified_header(token)
        assert header.get("alg") == alg, header
        keys = self.jwks()["keys"]
        match = [k for k in keys if k.get("kid") == header.get("kid")]
        assert match, f"session token kid {header.get('kid')!r} not in /lti/jwks {keys}"
        assert match[0]["alg"] == alg and match[0]["kty"] == ("EC" if alg == "ES256" else "RSA"), match[0]
        key = jwt.PyJWK(match[0]).key
        claims = jwt.decode(token, key, algorithms=[alg], audience=SESSION_AUDIENCE,
                            issuer=self.public, options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        assert 0 < claims["exp"] - claims["iat"] <= 3600, claims
        return claims


def start_worker(kind: str, tmp: Path, nonce_store: t.Optional[str], configured: bool = True,
                 log_level: str = "warn", vars: t.Optional[t.Dict[str, str]] = None,
                 port: t.Optional[int] = None) -> Worker:
    """``vars``: more (or other) worker vars, e.g. {"PUBLIC_BASE_URL": "https://tool.example.test"}
    for a worker whose public URL is not the address the tests reach it on (or a fixed
    LTI_ENCRYPTION_KEY / LTI_SERVICES_TOKEN). ``port``: listen there (a restart on the same
    ``tmp`` and port finds the same stored state at the same URL)."""
    check_worker_build()
    if port is None:
        return start_on_free_ports(lambda: _start_worker(kind, tmp, nonce_store, configured, log_level, vars, free_port()))
    return _start_worker(kind, tmp, nonce_store, configured, log_level, vars, port)


def _start_worker(kind: str, tmp: Path, nonce_store: t.Optional[str], configured: bool, log_level: str,
                  vars: t.Optional[t.Dict[str, str]], port: int) -> Worker:
    inspector = free_port()
    base = f"http://127.0.0.1:{port}"
    admin_token = "adm_" + secrets.token_urlsafe(24)
    services_token = "svc_" + secrets.token_urlsafe(24)
    persist = tmp / "state"
    persist.mkdir(parents=True, exist_ok=True)
    env = child_env({"LTI_EDGE_SKIP_BUILD": "1"})
    worker_vars = {"PUBLIC_BASE_URL": base, "LTI_ADMIN_TOKEN": admin_token, "ALLOW_HTTP_LOOPBACK": "true",
                   "LTI_SERVICES_TOKEN": services_token,
                   # Caliper delivery retries in seconds, not minutes (wrangler.toml: max_retries 5)
                   "CALIPER_RETRY_BASE_SECONDS": "1", "CALIPER_RETRY_MAX_SECONDS": "2"}
    if configured:
        worker_vars["LTI_ENCRYPTION_KEY"] = secrets.token_urlsafe(48)
    if nonce_store:
        worker_vars["NONCE_STORE"] = nonce_store
    worker_vars.update(vars or {})
    cmd = [str(WRANGLER), "dev", "--local", "--ip", "127.0.0.1", "--port", str(port),
           "--inspector-port", str(inspector),
           "--persist-to", str(persist), "--show-interactive-dev-session=false", "--log-level", log_level]
    for name, value in worker_vars.items():
        cmd += ["--var", f"{name}:{value}"]
    log = tmp / f"worker-{kind}.log"
    proc = Proc(f"worker ({kind})", cmd, log, env=env)
    proc.wait_ready(base + "/version", deadline_s=START_DEADLINE)
    public = worker_vars["PUBLIC_BASE_URL"].rstrip("/")
    return Worker(kind=kind, base=base, admin_token=admin_token, log=log, proc=proc,
                  public_base=public if public != base else None,
                  session_alg="RS256" if "LTI_TOOL_PRIVATE_JWK" in worker_vars else "ES256",
                  services_token=worker_vars["LTI_SERVICES_TOKEN"], state_dir=persist)


def store_footprint(worker: Worker) -> t.Dict[str, int]:
    """What the worker has stored locally under its --persist-to folder (read-only SQLite
    reads of miniflare's files): ``kv_keys`` (rows of every KV namespace), ``do_objects``
    (Durable Object instances with storage) and ``do_rows`` (rows in their tables, SQL and
    KV API alike). Expired KV rows still count (miniflare deletes them lazily)."""
    import sqlite3
    assert worker.state_dir is not None, "a worker started by start_worker"
    out = {"kv_keys": 0, "do_objects": 0, "do_rows": 0}
    for db in sorted(worker.state_dir.rglob("*.sqlite")):
        parts = set(db.relative_to(worker.state_dir).parts)
        kind = "kv" if "kv" in parts else "do" if "do" in parts else None
        if kind is None:
            continue
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        except sqlite3.Error:
            continue
        try:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            rows = 0
            for table in tables:
                if table.startswith("sqlite_") or (kind == "do" and table.startswith("_cf_METADATA")):
                    continue
                if kind == "kv" and table != "_mf_entries":
                    continue
                rows += con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        except sqlite3.Error:
            rows = 0
        finally:
            con.close()
        if kind == "kv":
            out["kv_keys"] += rows
        elif rows:
            out["do_objects"] += 1
            out["do_rows"] += rows
    return out


def settled_footprint(worker: Worker, quiet_s: float = 1.0, deadline_s: float = 8.0) -> t.Dict[str, int]:
    """store_footprint once it has stopped changing for ``quiet_s`` (background writes done),
    or at the deadline."""
    end = time.monotonic() + deadline_s
    last = store_footprint(worker)
    stable_since = time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.2)
        now_ = store_footprint(worker)
        if now_ != last:
            last, stable_since = now_, time.monotonic()
        elif time.monotonic() - stable_since >= quiet_s:
            break
    return last


@dataclass
class Streamed:
    """What a raw-socket streaming request saw (``stream_request``)."""
    status: t.Optional[int]
    headers: t.Dict[str, str]
    body: bytes
    # the answer arrived while the client was still holding the rest of its body
    answered_while_holding: bool
    sent: int  # body bytes the client managed to send before it stopped

    def json(self) -> t.Any:
        return json.loads(self.body.decode("utf-8", "replace"))

    def describe(self) -> str:
        return (f"status {self.status}, answered while holding: {self.answered_while_holding}, "
                f"sent {self.sent} bytes; headers {self.headers}; body {self.body[:600]!r}")


def stream_request(base: str, method: str, path: str, headers: t.Optional[t.Dict[str, str]] = None,
                   send_bytes: int = 1024 * 1024, hold_s: float = 10.0,
                   content_type: str = "application/json") -> Streamed:
    """A request over a raw socket whose body is sent chunked (Transfer-Encoding: chunked, no
    Content-Length): ``send_bytes`` of body, then the client HOLDS (sends neither more data nor
    the final chunk) and waits up to ``hold_s`` for the answer. A server that answers without
    reading the whole body answers while the client holds; one that reads the whole body first
    does not. After the hold the client ends the body and waits (bounded) for the answer anyway,
    to report it. The body is a JSON-looking prefix and filler (never complete JSON)."""
    u = urlparse(base)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    sock = socket.create_connection((host, port), timeout=10)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Transfer-Encoding: chunked",
                 f"Content-Type: {content_type}", "Accept: application/json", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sent = 0
        piece = b'{"padding": "' + b"x" * (64 * 1024 - 13)
        sock.settimeout(2)  # a server that does not read: stop sending, keep holding
        try:
            while sent < send_bytes:
                chunk = piece if sent == 0 else b"x" * len(piece)
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
        except (socket.timeout, OSError):
            pass
        raw = _recv_until(sock, b"", time.monotonic() + hold_s, lambda r: b"\r\n\r\n" in r)
        held = True
        if b"\r\n\r\n" not in raw:
            held = False
            try:
                sock.settimeout(2)
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass
        # read the rest of the answer (bounded)
        raw = _recv_until(sock, raw, time.monotonic() + (20 if not held else 5), _answer_complete)
    finally:
        sock.close()
    if b"\r\n\r\n" not in raw:
        return Streamed(status=None, headers={}, body=raw, answered_while_holding=False, sent=sent)
    head, _, body = raw.partition(b"\r\n\r\n")
    head_lines = head.decode("latin-1").split("\r\n")
    try:
        status: t.Optional[int] = int(head_lines[0].split()[1])
    except (IndexError, ValueError):
        status = None
    hdrs: t.Dict[str, str] = {}
    for line in head_lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in hdrs:
        body = body[:int(hdrs["content-length"])]
    return Streamed(status=status, headers=hdrs, body=body, answered_while_holding=held, sent=sent)


def _recv_until(sock: socket.socket, raw: bytes, end: float, done: t.Callable[[bytes], bool]) -> bytes:
    """``raw`` plus what the socket sends until ``done(raw)``, the peer closes, or ``end``."""
    while time.monotonic() < end and not done(raw):
        sock.settimeout(max(0.05, min(0.5, end - time.monotonic())))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not data:
            break
        raw += data
    return raw


def _answer_complete(raw: bytes) -> bool:
    """A whole answer with a Content-Length has arrived."""
    if b"\r\n\r\n" not in raw:
        return False
    head, _, rest = raw.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.decode("latin-1").partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    return length is not None and len(rest) >= length


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return out


# ------------------------------------------------------------------------------------------------
# The platform (tests/platform/platform.py)
# ------------------------------------------------------------------------------------------------


@dataclass
class Platform:
    base: str
    client_id: str
    deployment_id: str
    log: Path
    proc: t.Optional[Proc] = None

    @property
    def issuer(self) -> str:
        return self.base

    def registration_body(self, client_id: t.Optional[str] = None) -> t.Dict[str, t.Any]:
        return {
            "issuer": self.issuer,
            "lti13ClientId": client_id or self.client_id,
            "name": "Local LMS",
            "lti13PlatformOidcAuthUrl": self.base + "/auth",
            "lti13AuthTokenUrl": self.base + "/token",
            "lti13KeysUrl": self.base + "/jwks",
            "deploymentIds": [self.deployment_id],
            "deploymentPolicy": "allowList",
        }

    def create_launch(self, **spec: t.Any) -> t.Dict[str, t.Any]:
        r = http("POST", self.base + "/__control/launch", json=spec)
        assert r.status_code == 200, describe(r)
        return r.json()

    def authorize(self, auth_url: str, method: str = "GET") -> t.Dict[str, t.Any]:
        """Answer the tool's OIDC auth request (as the browser would), JSON form."""
        if method == "GET":
            r = http("GET", auth_url, headers=JSON)
        else:
            p = urlparse(auth_url)
            r = http("POST", f"{p.scheme}://{p.netloc}{p.path}", data=dict(parse_qsl(p.query)),
                     headers=JSON)
        assert r.status_code == 200, describe(r)
        return r.json()

    def sign(self, claims: t.Dict[str, t.Any], header: t.Optional[t.Dict[str, t.Any]] = None,
             key: str = "current", **extra: t.Any) -> str:
        body = {"claims": claims, "header": header or {}, "key": key, **extra}
        r = http("POST", self.base + "/__control/sign", json=body)
        assert r.status_code == 200, describe(r)
        return r.json()["jwt"]

    def rotate(self, keep_old: bool = False) -> t.Dict[str, t.Any]:
        r = http("POST", self.base + "/__control/rotate" + ("?keep_old=1" if keep_old else ""))
        assert r.status_code == 200, describe(r)
        return r.json()

    def set_jwks_status(self, status: int) -> None:
        r = http("POST", self.base + f"/__control/jwks?status={status}")
        assert r.status_code == 200, describe(r)

    def state(self) -> t.Dict[str, t.Any]:
        r = http("GET", self.base + "/__control/state")
        assert r.status_code == 200, describe(r)
        return r.json()

    # -- LTI Advantage services (AGS, NRPS) and their faults --------------------------------
    def counters(self, client_id: str) -> t.Dict[str, int]:
        """Per-client counters: token (token endpoint hits), ags, nrps (service calls), scores."""
        per = self.state()["client_counters"].get(client_id, {})
        return {k: per.get(k, 0) for k in ("token", "ags", "nrps", "scores")}

    def set_faults(self, **faults: t.Any) -> t.Dict[str, t.Any]:
        """POST /__control/faults; no arguments resets."""
        r = http("POST", self.base + "/__control/faults", json=faults)
        assert r.status_code == 200, describe(r)
        return r.json()["faults"]

    def token_requests(self, client_id: str) -> t.List[t.Dict[str, t.Any]]:
        """Requests the token endpoint received from a client: scope, grant_type,
        client_assertion_type, assertion_header, assertion_claims, status, granted."""
        r = http("GET", self.base + "/__control/token-requests?" + urlencode({"client_id": client_id}))
        assert r.status_code == 200, describe(r)
        return r.json()["requests"]

    def scores(self, **filters: str) -> t.List[t.Dict[str, t.Any]]:
        """Scores the AGS score service received (filters: client_id, lineitem, course_id)."""
        r = http("GET", self.base + "/__control/scores?" + urlencode(filters))
        assert r.status_code == 200, describe(r)
        return r.json()["scores"]

    def lineitems(self, course_id: str) -> t.List[t.Dict[str, t.Any]]:
        r = http("GET", self.base + "/__control/lineitems?" + urlencode({"course_id": course_id}))
        assert r.status_code == 200, describe(r)
        return r.json()["lineitems"]

    def access_token(self, scope: t.Union[str, t.List[str], None] = None,
                     client_id: t.Optional[str] = None, expires_in: t.Optional[int] = None) -> str:
        """A service access token minted by the platform directly (no client assertion)."""
        body: t.Dict[str, t.Any] = {}
        if scope is not None:
            body["scope"] = scope
        if client_id:
            body["client_id"] = client_id
        if expires_in:
            body["expires_in"] = expires_in
        r = http("POST", self.base + "/__control/access-token", json=body)
        assert r.status_code == 200, describe(r)
        return r.json()["access_token"]

    def change_roster(self, course_id: str, **change: t.Any) -> t.Dict[str, t.Any]:
        """add: [member], remove: [user_id], status: {user_id: status}; bumps the roster version."""
        r = http("POST", self.base + "/__control/roster", json={"course_id": course_id, **change})
        assert r.status_code == 200, describe(r)
        return r.json()

    # -- hardening controls ------------------------------------------------------------------
    def request_seq(self) -> int:
        """The sequence number of the last request the LMS received (a mark for ``requests``)."""
        return int(self.requests()["seq"])

    def requests(self, since: int = 0, prefix: str = "") -> t.Dict[str, t.Any]:
        """{"requests": [{seq, method, path (raw, as received), time}], "seq": last} of every
        request the LMS received after ``since`` whose raw path starts with ``prefix``."""
        r = http("GET", self.base + "/__control/requests?" + urlencode({"since": since, "prefix": prefix}))
        assert r.status_code == 200, describe(r)
        return r.json()

    def paths_since(self, since: int, prefix: str = "") -> t.List[str]:
        return [row["path"] for row in self.requests(since, prefix)["requests"]]

    def rekey(self) -> t.Dict[str, t.Any]:
        """Replace the platform's signing key, keeping its kid (POST /__control/rekey)."""
        r = http("POST", self.base + "/__control/rekey")
        assert r.status_code == 200, describe(r)
        return r.json()

    def jwks_control(self, **query: t.Any) -> t.Dict[str, t.Any]:
        """POST /__control/jwks with ``hang`` (seconds each key-set request waits, until
        released with hang=0), ``oversized`` (bytes of a chunked key set, 0 off), ``status``,
        ``cache_control``."""
        r = http("POST", self.base + "/__control/jwks?" + urlencode(query))
        assert r.status_code == 200, describe(r)
        return r.json()

    def streams(self) -> t.List[t.Dict[str, t.Any]]:
        """Chunked answers the LMS streamed (oversized faults): path, total, sent, complete, error."""
        r = http("GET", self.base + "/__control/streams")
        assert r.status_code == 200, describe(r)
        return r.json()["streams"]

    # -- LTI Dynamic Registration (platform side) -------------------------------------------
    def dr_start(self, dialect: str = "moodle") -> t.Dict[str, str]:
        """A registration token and the configuration URL the LMS sends a tool:
        {openid_configuration, registration_token, dialect}."""
        r = http("POST", self.base + "/__control/dr/start", json={"dialect": dialect})
        assert r.status_code == 200, describe(r)
        return r.json()

    def dr_registrations(self) -> t.List[t.Dict[str, t.Any]]:
        """Tools registered by Dynamic Registration: client_id, deployment_id, dialect, tool_url,
        request (the body the tool posted)."""
        r = http("GET", self.base + "/__control/dr/registrations")
        assert r.status_code == 200, describe(r)
        return r.json()["registrations"]

    # -- LTI 1.1 (Basic Outcomes) -----------------------------------------------------------
    def add_lti11_consumer(self, key: str, secret: str) -> t.List[str]:
        """Let the LMS's Basic Outcomes service accept requests signed with this key and secret."""
        r = http("POST", self.base + "/__control/lti11-consumer", json={"key": key, "secret": secret})
        assert r.status_code == 200, describe(r)
        return r.json()["consumers"]

    def outcome_url(self, course_id: str) -> str:
        """The course's Basic Outcomes service (a launch's lis_outcome_service_url)."""
        return f"{self.base}/outcomes/{course_id}"

    def outcomes(self, **filters: str) -> t.Dict[str, t.Any]:
        """{"scores": {sourcedid: {score, text, course_id, consumer_key, updated}}, "requests": [...]}
        (filters: consumer_key, course_id, sourcedid). Each request: operation, sourcedid,
        score_text, signature_verified, body_hash_verified, verified, oauth_reason, code_major,
        description, content_type, signature_method, message_identifier."""
        r = http("GET", self.base + "/__control/outcomes?" + urlencode(filters))
        assert r.status_code == 200, describe(r)
        return r.json()


def start_platform(tmp: Path, tool_url: str, client_id: str = "lti-edge-local",
                   deployment_id: str = "local-deployment-1", name: str = "platform") -> Platform:
    def start() -> Platform:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = tmp / f"{name}-{port}.log"
        cmd = [sys.executable, str(PLATFORM_SCRIPT), "--port", str(port), "--tool-url", tool_url,
               "--client-id", client_id, "--deployment-id", deployment_id]
        proc = Proc(name, cmd, log, env=child_env())
        proc.wait_ready(base + "/__control/state", deadline_s=30)
        return Platform(base=base, client_id=client_id, deployment_id=deployment_id, log=log, proc=proc)

    return start_on_free_ports(start)


# ------------------------------------------------------------------------------------------------
# LTI flows
# ------------------------------------------------------------------------------------------------


@dataclass
class Login:
    response: requests.Response
    location: str
    params: t.Dict[str, str]
    cookie: t.Optional[t.Tuple[str, str]]  # (name, value) of the worker's state cookie
    set_cookie: str

    @property
    def state(self) -> str:
        return self.params["state"]

    @property
    def nonce(self) -> str:
        return self.params["nonce"]

    @property
    def redirect_uri(self) -> str:
        return self.params["redirect_uri"]

    def cookie_header(self) -> t.Dict[str, str]:
        return {"Cookie": f"{self.cookie[0]}={self.cookie[1]}"} if self.cookie else {}


def parse_state_cookie(resp: requests.Response) -> t.Tuple[t.Optional[t.Tuple[str, str]], str]:
    raw_headers = resp.raw.headers.getlist("Set-Cookie") if resp.raw is not None else []
    if not raw_headers and resp.headers.get("Set-Cookie"):
        raw_headers = [resp.headers["Set-Cookie"]]
    for raw in raw_headers:
        first = raw.split(";", 1)[0]
        if "=" in first and first.strip().startswith("lti_edge_s_"):
            name, value = first.split("=", 1)
            return (name.strip(), value.strip()), raw
    return None, "\n".join(raw_headers)


def login_request(launch: t.Dict[str, t.Any], method: str = "GET",
                  params: t.Optional[t.Dict[str, str]] = None, endpoint: t.Optional[str] = None,
                  headers: t.Optional[t.Dict[str, str]] = None) -> requests.Response:
    """Send the OIDC login initiation the platform built (or given params) to the worker."""
    endpoint = endpoint or launch["login_endpoint"]
    params = dict(launch["params"] if params is None else params)
    hdrs = dict(JSON)
    hdrs.update(headers or {})
    if method == "GET":
        return http("GET", endpoint + "?" + urlencode(params), headers=hdrs)
    return http("POST", endpoint, data=params, headers=hdrs)


def parse_login(resp: requests.Response) -> Login:
    assert resp.status_code == 302, describe(resp)
    location = resp.headers["Location"]
    params = dict(parse_qsl(urlparse(location).query, keep_blank_values=True))
    cookie, raw = parse_state_cookie(resp)
    return Login(response=resp, location=location, params=params, cookie=cookie, set_cookie=raw)


def post_launch(action: str, id_token: t.Optional[str], state: t.Optional[str],
                cookie: t.Optional[t.Dict[str, str]] = None, json_errors: bool = True,
                extra: t.Optional[t.Dict[str, str]] = None) -> requests.Response:
    data: t.Dict[str, str] = {}
    if id_token is not None:
        data["id_token"] = id_token
    if state is not None:
        data["state"] = state
    data.update(extra or {})
    headers = dict(JSON) if json_errors else {"Accept": "text/html"}
    headers.update(cookie or {})
    return http("POST", action, data=data, headers=headers)


@dataclass
class Launched:
    response: requests.Response
    location: str
    module_path: str
    token: str
    claims: t.Dict[str, t.Any]
    id_token_claims: t.Dict[str, t.Any]


def parse_launch(worker: Worker, resp: requests.Response,
                 id_token: t.Optional[str] = None) -> Launched:
    assert resp.status_code == 303, describe(resp)
    location = resp.headers["Location"]
    assert location.startswith(worker.public + "/"), location
    assert "/ks/" in location, location
    path, token = location[len(worker.public):].split("/ks/", 1)
    assert resp.headers.get("Referrer-Policy", "").lower() == "no-referrer", describe(resp)
    claims = worker.verify_session(token)
    idc = jwt.decode(id_token, options={"verify_signature": False}) if id_token else {}
    return Launched(response=resp, location=location, module_path=path, token=token, claims=claims,
                    id_token_claims=idc)


def launch_with(worker: Worker, platform: Platform, client_id: str, deployment_id: str,
                auth_path: str = "/auth", **spec: t.Any) -> Launched:
    """The whole flow for a registration whose OIDC authorization URL is ``auth_path`` on the
    platform (an LMS's own path: /mod/lti/auth.php, …): login at the worker, the platform's
    authorization there, the launch; must succeed."""
    info = platform.create_launch(client_id=client_id, deployment_id=deployment_id, tool_url=worker.base, **spec)
    login = parse_login(login_request(info))
    assert login.location.startswith(platform.base + auth_path + "?"), login.location
    auth = platform.authorize(login.location)
    resp = post_launch(auth["action"], auth["id_token"], auth["state"], cookie=login.cookie_header())
    return parse_launch(worker, resp, auth["id_token"])


@dataclass
class Tenant:
    """One registration (issuer + client id) of a platform in a worker."""
    worker: Worker
    platform: Platform
    client_id: str
    deployment_id: str
    registration: t.Dict[str, t.Any] = field(default_factory=dict)
    # the registration's LTI 1.1 consumer (lti11ConsumerKey / lti11Secret), when it has one
    lti11: t.Optional["Lti11Consumer"] = None

    def launch_spec(self, **spec: t.Any) -> t.Dict[str, t.Any]:
        spec.setdefault("client_id", self.client_id)
        spec.setdefault("deployment_id", self.deployment_id)
        spec.setdefault("tool_url", self.worker.base)
        return spec

    def create_launch(self, **spec: t.Any) -> t.Dict[str, t.Any]:
        return self.platform.create_launch(**self.launch_spec(**spec))

    def login(self, method: str = "GET", **spec: t.Any) -> Login:
        info = self.create_launch(**spec)
        return parse_login(login_request(info, method=method))

    def authorized(self, **spec: t.Any) -> t.Tuple[Login, t.Dict[str, t.Any]]:
        """Login at the worker, then the platform's /auth: returns (login, {action,id_token,state})."""
        login = self.login(**spec)
        assert login.location.startswith(self.platform.base + "/auth?"), login.location
        return login, self.platform.authorize(login.location)

    def attempt(self, with_cookie: bool = True, **spec: t.Any) -> requests.Response:
        """Run the whole library flow; returns the first response that is not a step forward
        (a refused login, or the launch answer)."""
        info = self.create_launch(**spec)
        resp = login_request(info)
        if resp.status_code != 302:
            return resp
        login = parse_login(resp)
        auth = self.platform.authorize(login.location)
        return post_launch(auth["action"], auth["id_token"], auth["state"],
                           cookie=login.cookie_header() if with_cookie else None)

    def launch(self, with_cookie: bool = True, **spec: t.Any) -> Launched:
        login, auth = self.authorized(**spec)
        resp = post_launch(auth["action"], auth["id_token"], auth["state"],
                           cookie=login.cookie_header() if with_cookie else None)
        return parse_launch(self.worker, resp, auth["id_token"])

    def crafted(self, mutate: t.Callable[[t.Dict[str, t.Any]], t.Any],
                header: t.Optional[t.Dict[str, t.Any]] = None, key: str = "current",
                with_cookie: bool = True, **spec: t.Any) -> requests.Response:
        """A real login (real state and nonce), the platform's real id_token decoded, changed by
        ``mutate(claims)`` and re-signed through /__control/sign; POSTed to the launch URL."""
        login, auth = self.authorized(**spec)
        claims = jwt.decode(auth["id_token"], options={"verify_signature": False})
        mutate(claims)
        token = self.platform.sign(claims, header=header, key=key)
        return post_launch(auth["action"], token, auth["state"],
                           cookie=login.cookie_header() if with_cookie else None)


def call(worker: Worker, method: str, path: str, token: t.Optional[str] = None,
         **kw: t.Any) -> requests.Response:
    """A tool-app call to the worker: JSON accepted, ``Authorization: Bearer <token>`` when a
    token (session or admin) is given."""
    headers = {"Accept": "application/json", **(kw.pop("headers", None) or {})}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http(method, worker.url(path), headers=headers, **kw)


def new_course(prefix: str = "course") -> t.Dict[str, str]:
    """A course of its own for a launch spec (the platform serves its AGS and NRPS endpoints once
    a launch names it): nothing else in the suite touches its line items or roster."""
    cid = unique(prefix)
    return {"id": cid, "label": cid[-6:].upper(), "title": f"Course {cid}"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now() -> int:
    return int(time.time())


def dump(obj: t.Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)


# ------------------------------------------------------------------------------------------------
# LTI 1.1: launches signed by oauthlib (PyPI), as an LMS signs them
# ------------------------------------------------------------------------------------------------

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
LTI_LINK_MEDIA_TYPE = "application/vnd.ims.lti.v1.ltilink"
CONTENT_ITEM_CONTEXT = "http://purl.imsglobal.org/ctx/lti/v1/ContentItem"
OAUTH_WINDOW = 300  # seconds either way


@dataclass
class SignedForm:
    """An OAuth 1.0a-signed form (``oauth_*`` in the body), as pairs in the order oauthlib gave."""
    pairs: t.List[t.Tuple[str, str]]
    signed_url: str

    @property
    def body(self) -> str:
        return urlencode(self.pairs)

    def get(self, name: str) -> t.Optional[str]:
        return next((v for k, v in self.pairs if k == name), None)

    def tampered(self, **changes: str) -> "SignedForm":
        """The same form with parameters changed (or added) after signing."""
        pairs = [(k, changes[k]) if k in changes else (k, v) for k, v in self.pairs]
        pairs += [(k, v) for k, v in changes.items() if k not in dict(self.pairs)]
        return SignedForm(pairs=pairs, signed_url=self.signed_url)

    def without(self, *names: str) -> "SignedForm":
        return SignedForm(pairs=[(k, v) for k, v in self.pairs if k not in names],
                          signed_url=self.signed_url)


@dataclass
class Lti11Consumer:
    """An LMS's LTI 1.1 side for one consumer key: builds launch parameters, signs them with
    oauthlib (HMAC-SHA1, ``SIGNATURE_TYPE_BODY``: the oauth_* parameters in the form body, as LMSs
    post launches) and posts them to the worker without following redirects.

    Knobs (``sign``/``attempt``/``launch``): ``url`` (where the form is POSTed, default the worker's
    /lti/launch), ``sign_url`` (the URL signed for, default ``url``: a proxy-style launch signs the
    public URL and posts elsewhere), ``timestamp_offset`` (seconds added to now), ``nonce`` (fixed
    nonce; default a fresh one from oauthlib), ``secret`` (sign with another secret),
    ``signature_method`` / ``rsa_key`` (any method oauthlib knows), ``tamper`` (parameters changed
    after signing), ``drop`` (parameters removed after signing)."""
    key: str
    secret: str
    worker: Worker

    @property
    def launch_url(self) -> str:
        return self.worker.url("/lti/launch")

    @staticmethod
    def params(message_type: str = "basic-lti-launch-request", **over: t.Optional[str]) -> t.Dict[str, str]:
        """Launch parameters: a course launch by an instructor (basic-lti-launch-request) or a
        content-item selection request; ``over`` replaces, adds (user_id, roles, context_id,
        context_title, resource_link_id, lis_person_*, custom_*, lis_outcome_service_url,
        lis_result_sourcedid, content_item_return_url, accept_*, data, ...) or, with None,
        removes parameters."""
        p: t.Dict[str, t.Optional[str]] = {
            "lti_message_type": message_type,
            "lti_version": "LTI-1p0",
            "user_id": "lti11-user-1001",
            "roles": "urn:lti:role:ims/lis/Instructor",
            "context_id": "course-bio101",
            "context_title": "Cell Biology",
            "context_label": "BIO101",
            "context_type": "CourseSection",
            "lis_person_name_full": "Ada Lovelace",
            "lis_person_name_given": "Ada",
            "lis_person_name_family": "Lovelace",
            "lis_person_contact_email_primary": "ada.lovelace@local-lms.test",
            "lis_person_sourcedid": "sis:ada.lovelace",
            "tool_consumer_instance_guid": "local-lms.test",
            "tool_consumer_info_product_family_code": "local-lms",
            "launch_presentation_document_target": "iframe",
        }
        if message_type == "basic-lti-launch-request":
            p.update(resource_link_id=unique("rl11"), resource_link_title="Week 1 videos")
        elif message_type == "ContentItemSelectionRequest":
            p.update(accept_media_types=LTI_LINK_MEDIA_TYPE, accept_presentation_document_targets="iframe,window",
                     accept_multiple="false", accept_unsigned="false", auto_create="false")
        p.update(over)
        return {k: str(v) for k, v in p.items() if v is not None}

    def sign(self, params: t.Union[t.Mapping[str, str], t.Sequence[t.Tuple[str, str]]],
             url: t.Optional[str] = None, timestamp_offset: int = 0, nonce: t.Optional[str] = None,
             secret: t.Optional[str] = None, signature_method: str = SIGNATURE_HMAC_SHA1,
             rsa_key: t.Optional[str] = None) -> SignedForm:
        """Sign ``params`` for a POST to ``url`` (default the worker's /lti/launch) with oauthlib."""
        url = url or self.launch_url
        pairs = list(params.items()) if isinstance(params, t.Mapping) else list(params)
        client = Client(self.key, client_secret=self.secret if secret is None else secret,
                        signature_type=SIGNATURE_TYPE_BODY, signature_method=signature_method,
                        rsa_key=rsa_key, nonce=nonce, timestamp=str(now() + timestamp_offset))
        _uri, _headers, body = client.sign(url, http_method="POST", body=urlencode(pairs),
                                           headers={"Content-Type": FORM_CONTENT_TYPE})
        return SignedForm(pairs=parse_qsl(body, keep_blank_values=True), signed_url=url)

    def post(self, form: SignedForm, url: t.Optional[str] = None, html: bool = False) -> requests.Response:
        """POST the form (JSON errors unless ``html``); redirects are not followed."""
        headers = {"Content-Type": FORM_CONTENT_TYPE, "Accept": "text/html" if html else "application/json"}
        return http("POST", url or form.signed_url, data=form.body.encode("ascii"), headers=headers)

    def form(self, url: t.Optional[str] = None, sign_url: t.Optional[str] = None, timestamp_offset: int = 0,
             nonce: t.Optional[str] = None, secret: t.Optional[str] = None,
             signature_method: str = SIGNATURE_HMAC_SHA1, rsa_key: t.Optional[str] = None,
             tamper: t.Optional[t.Dict[str, str]] = None, drop: t.Sequence[str] = (),
             message_type: str = "basic-lti-launch-request", **params: t.Optional[str]) -> SignedForm:
        """Parameters (``Lti11Consumer.params``) signed with the knobs applied."""
        form = self.sign(self.params(message_type, **params), url=sign_url or url,
                         timestamp_offset=timestamp_offset, nonce=nonce, secret=secret,
                         signature_method=signature_method, rsa_key=rsa_key)
        if tamper:
            form = form.tampered(**tamper)
        if drop:
            form = form.without(*drop)
        return form

    def attempt(self, url: t.Optional[str] = None, html: bool = False, **kw: t.Any) -> requests.Response:
        """Build, sign and POST a launch (see ``form`` for the knobs); returns the worker's answer."""
        form = self.form(url=url, **kw)
        return self.post(form, url=url or self.launch_url, html=html)

    def launch(self, **kw: t.Any) -> Launched:
        """A launch that must succeed: 303 to <module>/ks/<session>, the session verified."""
        return parse_launch(self.worker, self.attempt(**kw))


class _FormValidator(RequestValidator):
    """oauthlib's questions for checking a form the tool signed (one consumer key and secret)."""
    allowed_signature_methods = (SIGNATURE_HMAC_SHA1,)
    timestamp_lifetime = OAUTH_WINDOW
    enforce_ssl = False
    dummy_client = "dummy-consumer-key"

    def __init__(self, key: str, secret: str) -> None:
        super().__init__()
        self.key, self.secret = key, secret

    def check_client_key(self, client_key: str) -> bool:
        return 0 < len(client_key) <= 255

    def check_nonce(self, nonce: str) -> bool:
        return 0 < len(nonce) <= 255

    def validate_client_key(self, client_key: str, request: t.Any) -> bool:
        return client_key == self.key

    def get_client_secret(self, client_key: str, request: t.Any) -> str:
        return self.secret if client_key == self.key else "dummy-secret"

    def validate_timestamp_and_nonce(self, *args: t.Any, **kw: t.Any) -> bool:
        return True  # single-use is the receiving LMS's business; the window is checked by oauthlib


def oauth_verify_form(url: str, fields: t.Union[t.Mapping[str, str], t.Sequence[t.Tuple[str, str]]],
                      key: str, secret: str) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """Verify an OAuth 1.0a form (oauth_* in the body) for a POST to ``url`` with oauthlib's
    SignatureOnlyEndpoint: HMAC-SHA1, consumer ``key``/``secret``, timestamp within 300 s.
    Returns (valid, oauthlib's validator log {client, signature} — empty when the request was
    refused before the signature check)."""
    pairs = list(fields.items()) if isinstance(fields, t.Mapping) else list(fields)
    endpoint = SignatureOnlyEndpoint(_FormValidator(key, secret))
    valid, request = endpoint.validate_request(url, http_method="POST", body=urlencode(pairs),
                                               headers={"Content-Type": FORM_CONTENT_TYPE})
    return bool(valid), dict(request.validator_log) if request is not None else {}


def oauth_body_hash(body: bytes) -> str:
    """base64(SHA-1(body)): the OAuth Request Body Hash of a Basic Outcomes POX request."""
    return base64.b64encode(hashlib.sha1(body).digest()).decode()


def lti1p1_sign(secret: str, consumer_key: str, deployment_id: str, iss: str, client_id: str,
                exp: int, nonce: str) -> str:
    """The LTI 1.3 migration claim's oauth_consumer_key_sign: base64(HMAC-SHA256(key = secret,
    consumer_key & deployment_id & iss & client_id & exp & nonce))."""
    base = "&".join([consumer_key, deployment_id, iss, client_id, str(exp), nonce])
    return base64.b64encode(hmac.new(secret.encode(), base.encode(), hashlib.sha256).digest()).decode()

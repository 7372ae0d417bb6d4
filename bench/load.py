#!/usr/bin/env python3
"""Bounded load run against the real worker (workerd via wrangler dev) and the local LMS.

    .venv/bin/python bench/load.py [--launches N] [--concurrency C] [--stores kv,durable]
                                   [--skip-launches] [--skip-registrations]

Starts, on free ports on 127.0.0.1 (tests/e2e/ltihelpers.py; the worker must be built first:
scripts/build-worker.sh), one worker per nonce store and one local LMS (tests/platform/platform.py).

(a) Launches, for each store (NONCE_STORE=kv and durable): N distinct launches (default 10,000)
    at concurrency C (default 8), each a full login -> platform /auth -> launch POST. With
    `--signer local` (the default) the platform side is this script: its own RSA key, its key
    set served on a free loopback port, an id_token per login signed with PyJWT (the local LMS,
    `--signer lms`, is single-threaded Python and manages ~6 launches/s on 2 cores). Every one
    must be accepted exactly once (303 to a module page, <module>/ks/<session>). Then every launch
    POST is replayed once: every replay must be refused 401 state_reused. Prints counts, wall
    time and launches per second.
(b) Registrations: 50 concurrent POST /lti/platforms across 5 shared issuers (10 client ids each);
    then each of the 50 logs in (302 to the issuer's auth URL), and GET /lti/platforms lists
    exactly 50 registrations for those issuers, no duplicates. Prints counts.

Every HTTP call has a timeout; every loop is bounded. Exit status 0 only when every check held;
1 otherwise (each failure is printed); 2 when the processes could not start.
"""
from __future__ import annotations

import argparse
import collections
import secrets
import sys
import tempfile
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

import requests  # noqa: E402

from ltihelpers import (MODULE_PATHS, Platform, Worker, start_platform, start_worker,  # noqa: E402
                        unique)

TIMEOUT = 30


class Client:
    """One requests session per thread (connection reuse), no cookies kept, no redirects."""

    def __init__(self) -> None:
        self.s = requests.Session()
        self.s.trust_env = False

    def get(self, url: str, **kw: t.Any) -> requests.Response:
        return self.s.get(url, timeout=TIMEOUT, allow_redirects=False, **kw)

    def post(self, url: str, **kw: t.Any) -> requests.Response:
        return self.s.post(url, timeout=TIMEOUT, allow_redirects=False, **kw)


_clients: t.Dict[int, Client] = {}


def client() -> Client:
    import threading
    k = threading.get_ident()
    if k not in _clients:
        _clients[k] = Client()
    return _clients[k]


def code_of(r: requests.Response) -> str:
    try:
        return str(r.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return f"http_{r.status_code}"


def one_launch(worker: Worker, platform: Platform, client_id: str, i: int) -> t.Tuple[str, t.Any]:
    """login -> /auth -> launch. Returns (outcome, replay material)."""
    c = client()
    spec = {"client_id": client_id, "deployment_id": platform.deployment_id, "tool_url": worker.base,
            "user": {"id": f"load-user-{i}", "name": f"Load User {i}"}, "role": "Learner",
            "resource_link": {"id": f"rl-load-{i}", "title": "Load"}}
    r = c.post(platform.base + "/__control/launch", json=spec)
    if r.status_code != 200:
        return f"create_launch_{r.status_code}", None
    info = r.json()
    r = c.get(info["login_endpoint"] + "?" + urlencode(info["params"]), headers={"Accept": "application/json"})
    if r.status_code != 302:
        return f"login_{code_of(r)}", None
    location = r.headers["Location"]
    cookie = None
    for raw in r.raw.headers.getlist("Set-Cookie"):
        first = raw.split(";", 1)[0]
        if first.strip().startswith("lti_edge_s_"):
            cookie = first.strip()
    r = c.get(location, headers={"Accept": "application/json"})
    if r.status_code != 200:
        return f"auth_{r.status_code}", None
    auth = r.json()
    headers = {"Accept": "application/json"}
    if cookie:
        headers["Cookie"] = cookie
    form = {"id_token": auth["id_token"], "state": auth["state"]}
    r = c.post(auth["action"], data=form, headers=headers)
    if r.status_code != 303:
        return f"launch_{code_of(r)}", None
    loc = r.headers.get("Location", "")
    path = urlparse(loc).path
    if "/ks/" not in path or not any(path.startswith(p + "/ks/") for p in MODULE_PATHS.values()):
        return "launch_bad_location", None
    return "accepted", (auth["action"], form, headers)


class LocalPlatform:
    """The platform side of a launch, in this process: an RSA key, its key set on a loopback
    port, and id_tokens signed for each login's state and nonce."""

    def __init__(self) -> None:
        import http.server
        import json
        import threading

        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jwt.algorithms import RSAAlgorithm

        self._jwt = jwt
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "load-" + secrets.token_hex(4)
        pub = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        pub.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        body = json.dumps({"keys": [pub]}).encode()

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: t.Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.base
        self.deployment_id = "load-deployment"

    def registration_body(self, client_id: str) -> t.Dict[str, t.Any]:
        return {"issuer": self.issuer, "lti13ClientId": client_id, "name": "load platform",
                "lti13PlatformOidcAuthUrl": self.base + "/auth", "lti13AuthTokenUrl": self.base + "/token",
                "lti13KeysUrl": self.base + "/jwks", "deploymentIds": [self.deployment_id]}

    def id_token(self, client_id: str, target: str, nonce: str, i: int) -> str:
        now = int(time.time())
        c = "https://purl.imsglobal.org/spec/lti/claim/"
        claims = {"iss": self.issuer, "aud": client_id, "sub": f"load-user-{i}", "exp": now + 600, "iat": now,
                  "nonce": nonce, c + "message_type": "LtiResourceLinkRequest", c + "version": "1.3.0",
                  c + "deployment_id": self.deployment_id, c + "target_link_uri": target,
                  c + "resource_link": {"id": f"rl-load-{i}"},
                  c + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                  c + "context": {"id": f"course-{i % 20}"}}
        return self._jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def stop(self) -> None:
        self.server.shutdown()


def one_local_launch(worker: Worker, lp: LocalPlatform, client_id: str, i: int) -> t.Tuple[str, t.Any]:
    """login (worker) -> id_token signed here for its state and nonce -> launch POST."""
    c = client()
    target = worker.base + MODULE_PATHS["my-media"] if "my-media" in MODULE_PATHS else worker.base + next(iter(MODULE_PATHS.values()))
    q = urlencode({"iss": lp.issuer, "login_hint": f"load-user-{i}", "target_link_uri": target, "client_id": client_id})
    r = c.get(worker.url("/lti/login") + "?" + q, headers={"Accept": "application/json"})
    if r.status_code != 302:
        return f"login_{code_of(r)}", None
    params = dict(parse_qsl(urlparse(r.headers["Location"]).query))
    cookie = None
    for raw in r.raw.headers.getlist("Set-Cookie"):
        first = raw.split(";", 1)[0].strip()
        if first.startswith("lti_edge_s_"):
            cookie = first
    headers = {"Accept": "application/json"}
    if cookie:
        headers["Cookie"] = cookie
    form = {"id_token": lp.id_token(client_id, target, params["nonce"], i), "state": params["state"]}
    r = c.post(worker.url("/lti/launch"), data=form, headers=headers)
    if r.status_code != 303:
        return f"launch_{code_of(r)}", None
    path = urlparse(r.headers.get("Location", "")).path
    if "/ks/" not in path or not any(path.startswith(p + "/ks/") for p in MODULE_PATHS.values()):
        return "launch_bad_location", None
    return "accepted", (worker.url("/lti/launch"), form, headers)


def replay(material: t.Tuple[str, t.Dict[str, str], t.Dict[str, str]]) -> str:
    action, form, headers = material
    r = client().post(action, data=form, headers=headers)
    if r.status_code == 401 and code_of(r) == "state_reused":
        return "state_reused"
    return f"{r.status_code}_{code_of(r)}"


def run_launches(worker: Worker, platform: t.Any, n: int, concurrency: int) -> t.List[str]:
    failures: t.List[str] = []
    client_id = unique("load-client")
    body = platform.registration_body(client_id=client_id)
    launch = one_local_launch if isinstance(platform, LocalPlatform) else one_launch
    r = requests.post(worker.url("/lti/platforms"), json=body, timeout=TIMEOUT,
                      headers={"Authorization": f"Bearer {worker.admin_token}", "Accept": "application/json"})
    if r.status_code not in (200, 201):
        return [f"[{worker.kind}] registration failed: {r.status_code} {r.text[:200]}"]
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda i: launch(worker, platform, client_id, i), range(n)))
    wall = time.monotonic() - start
    outcomes = collections.Counter(o for o, _ in results)
    accepted = [m for o, m in results if o == "accepted"]
    print(f"[{worker.kind}] launches: {n} attempted, {len(accepted)} accepted in {wall:.1f} s "
          f"({n / wall if wall else 0:.0f} launches/s, login + signed id_token + launch, concurrency {concurrency})")
    if outcomes.get("accepted", 0) != n:
        failures.append(f"[{worker.kind}] not every launch was accepted: {dict(outcomes)}")
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        replays = collections.Counter(pool.map(replay, accepted))
    wall = time.monotonic() - start
    print(f"[{worker.kind}] replays: {len(accepted)} sent, {replays.get('state_reused', 0)} refused state_reused "
          f"in {wall:.1f} s; other answers: {dict((k, v) for k, v in replays.items() if k != 'state_reused')}")
    if replays.get("state_reused", 0) != len(accepted):
        failures.append(f"[{worker.kind}] replays not all refused state_reused: {dict(replays)}")
    return failures


def run_registrations(worker: Worker) -> t.List[str]:
    failures: t.List[str] = []
    issuers = [f"https://{unique('load-lms')}.example.edu" for _ in range(5)]
    jobs = [(iss, unique("load-client")) for iss in issuers for _ in range(10)]

    def register(job: t.Tuple[str, str]) -> int:
        iss, cid = job
        body = {"issuer": iss, "lti13ClientId": cid, "name": "Load LMS",
                "lti13PlatformOidcAuthUrl": iss + "/auth", "lti13AuthTokenUrl": iss + "/token",
                "lti13KeysUrl": iss + "/jwks", "deploymentIds": ["d1"], "deploymentPolicy": "allowList"}
        r = client().post(worker.url("/lti/platforms"), json=body,
                          headers={"Authorization": f"Bearer {worker.admin_token}", "Accept": "application/json"})
        return r.status_code

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        statuses = collections.Counter(pool.map(register, jobs))
    print(f"[registrations] 50 concurrent creates over 5 issuers in {time.monotonic() - start:.1f} s: "
          f"statuses {dict(statuses)}")
    if statuses.get(201, 0) != 50:
        failures.append(f"[registrations] expected 50 x 201, got {dict(statuses)}")

    def login(job: t.Tuple[str, str]) -> str:
        iss, cid = job
        q = {"iss": iss, "login_hint": "u1", "client_id": cid, "lti_message_hint": secrets.token_hex(4),
             "target_link_uri": worker.base + MODULE_PATHS["mymedia"]}
        r = client().get(worker.url("/lti/login?" + urlencode(q)), headers={"Accept": "application/json"})
        if r.status_code == 302 and r.headers.get("Location", "").startswith(iss + "/auth?"):
            q2 = dict(parse_qsl(urlparse(r.headers["Location"]).query))
            return "ok" if q2.get("client_id") == cid else "wrong_client"
        return f"{r.status_code}_{code_of(r)}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        logins = collections.Counter(pool.map(login, jobs))
    print(f"[registrations] logins: {logins.get('ok', 0)}/50 redirected to their platform; "
          f"other: {dict((k, v) for k, v in logins.items() if k != 'ok')}")
    if logins.get("ok", 0) != 50:
        failures.append(f"[registrations] logins: {dict(logins)}")
    r = requests.get(worker.url("/lti/platforms"), timeout=TIMEOUT,
                     headers={"Authorization": f"Bearer {worker.admin_token}", "Accept": "application/json"})
    regs = [x for x in r.json().get("data", []) if x.get("issuer") in issuers] if r.status_code == 200 else []
    pairs = [(x["issuer"], x["lti13ClientId"]) for x in regs]
    dupes = [p for p, k in collections.Counter(pairs).items() if k > 1]
    print(f"[registrations] GET /lti/platforms lists {len(regs)} for those issuers, "
          f"{len(set(pairs))} distinct, duplicates {dupes}")
    if len(regs) != 50 or dupes or set(pairs) != set(jobs):
        failures.append(f"[registrations] listed {len(regs)} (distinct {len(set(pairs))}, duplicates {dupes}), "
                        "expected exactly the 50 registered")
    return failures


def main(argv: t.Optional[t.List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--launches", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--stores", default="kv,durable")
    ap.add_argument("--skip-launches", action="store_true")
    ap.add_argument("--skip-registrations", action="store_true")
    ap.add_argument("--signer", choices=["local", "lms"], default="local",
                    help="who signs the id_tokens: this script (fast) or the local LMS (lti1p3platform)")
    args = ap.parse_args(argv)
    stores = [s for s in args.stores.split(",") if s]
    tmp = Path(tempfile.mkdtemp(prefix="lti-edge-load-"))
    procs = []
    failures: t.List[str] = []
    try:
        try:
            workers = {s: start_worker(f"load-{s}", tmp / s, s) for s in stores}
            procs += [w.proc for w in workers.values()]
            first = next(iter(workers.values()))
            platform = start_platform(tmp, first.base, name="load-platform")
            procs.append(platform.proc)
        except RuntimeError as exc:
            print(f"could not start: {exc}", file=sys.stderr)
            return 2
        print(f"logs under {tmp}")
        if not args.skip_launches:
            signer: t.Any = LocalPlatform() if args.signer == "local" else platform
            try:
                for s, w in workers.items():
                    failures += run_launches(w, signer, args.launches, args.concurrency)
            finally:
                if isinstance(signer, LocalPlatform):
                    signer.stop()
        if not args.skip_registrations:
            failures += run_registrations(first)
    finally:
        for p in procs:
            if p is not None:
                p.stop()
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print("\nall checks held")
    return 0


if __name__ == "__main__":
    sys.exit(main())

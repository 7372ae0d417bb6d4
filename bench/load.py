#!/usr/bin/env python3
"""Bounded load run against the real worker (workerd via wrangler dev) and the local LMS.

    .venv/bin/python bench/load.py [--launches N] [--concurrency C] [--stores kv,durable]
                                   [--skip-launches] [--skip-registrations]

Starts, on free ports on 127.0.0.1 (tests/e2e/ltihelpers.py; the worker must be built first:
scripts/build-worker.sh), one worker per nonce store and one local LMS (tests/platform/platform.py).

(a) Launches, for each store (NONCE_STORE=kv and durable): N distinct launches (default 10,000)
    at concurrency C (default 8), each a full login -> platform /auth -> launch POST. Every one
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


def replay(material: t.Tuple[str, t.Dict[str, str], t.Dict[str, str]]) -> str:
    action, form, headers = material
    r = client().post(action, data=form, headers=headers)
    if r.status_code == 401 and code_of(r) == "state_reused":
        return "state_reused"
    return f"{r.status_code}_{code_of(r)}"


def run_launches(worker: Worker, platform: Platform, n: int, concurrency: int) -> t.List[str]:
    failures: t.List[str] = []
    client_id = unique("load-client")
    body = platform.registration_body(client_id=client_id)
    r = requests.post(worker.url("/lti/platforms"), json=body, timeout=TIMEOUT,
                      headers={"Authorization": f"Bearer {worker.admin_token}", "Accept": "application/json"})
    if r.status_code not in (200, 201):
        return [f"[{worker.kind}] registration failed: {r.status_code} {r.text[:200]}"]
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda i: one_launch(worker, platform, client_id, i), range(n)))
    wall = time.monotonic() - start
    outcomes = collections.Counter(o for o, _ in results)
    accepted = [m for o, m in results if o == "accepted"]
    print(f"[{worker.kind}] launches: {n} attempted, {len(accepted)} accepted in {wall:.1f} s "
          f"({n / wall if wall else 0:.0f} launches/s, full login+auth+launch, concurrency {concurrency})")
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
            for s, w in workers.items():
                failures += run_launches(w, platform, args.launches, args.concurrency)
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

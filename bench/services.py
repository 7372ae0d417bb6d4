#!/usr/bin/env python3
"""LTI Advantage service benchmark: a burst of AGS score posts and Deep Linking responses
through the real worker (workerd) against the local platform (lti1p3platform).

Prints score posts per second, latency percentiles, how many service tokens the platform had
to issue for the burst (the token cache hit rate), deep-link responses per second over HTTP, and
Caliper events per second accepted by the worker (POST /lti/caliper/events) and delivered through
its queue to the local LMS's event store. Asserts nothing about time. Knobs: BENCH_SCORES (400),
BENCH_DEEP_LINKS (200), BENCH_CONCURRENCY (8), BENCH_CALIPER_POSTS (200), BENCH_CALIPER_BATCH (10
events a post).

Run through `npm run bench:services` (builds the worker first).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from ltihelpers import Tenant, start_platform, start_worker  # noqa: E402


def env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def burst(fn: t.Callable[[int], requests.Response], n: int, concurrency: int) -> t.Tuple[float, t.List[float], int]:
    lat: t.List[float] = []
    errors = 0

    def one(i: int) -> None:
        nonlocal errors
        t0 = time.perf_counter()
        r = fn(i)
        lat.append((time.perf_counter() - t0) * 1000)
        if r.status_code not in (200, 202):
            errors += 1
            if errors == 1:
                print(f"  first error: {r.status_code} {r.text[:300]}", flush=True)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as ex:
        list(ex.map(one, range(n)))
    return time.perf_counter() - t0, lat, errors


def pct(lat: t.List[float], p: float) -> float:
    s = sorted(lat)
    return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")


def caliper(tenant: Tenant, s: requests.Session, conc: int) -> None:
    """Events accepted by the worker per second (each post: BENCH_CALIPER_BATCH media events,
    validated, built into Caliper events, queued), then delivered per second (from the first post
    until the store holds them all: the queue's batching, the consumer, the store's validator)."""
    n_posts = env_int("BENCH_CALIPER_POSTS", 200)
    batch = min(100, env_int("BENCH_CALIPER_BATCH", 10))
    lms = tenant.platform.base
    store = requests.post(f"{lms}/__control/caliper/store", json={}, timeout=10).json()
    launched = tenant.launch(role="Learner", custom={"caliper_profile_url": store["profileUrl"],
                                                     "caliper_federated_session_id": "bench-session"})
    auth = {"Authorization": f"Bearer {launched.token}"}
    events = [{"type": "MediaEvent", "action": "Paused", "position": i,
               "object": {"id": "https://tool.example/videos/bench", "duration": 600}} for i in range(batch)]

    def post(_i: int) -> requests.Response:
        return s.post(tenant.worker.url("/lti/caliper/events"), headers=auth, json={"events": events}, timeout=30)

    t0 = time.perf_counter()
    wall, lat, errs = burst(post, n_posts, conc)
    want = n_posts * batch + 1  # and the launch's LoggedIn
    got = 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        r = requests.get(f"{lms}/__control/caliper/received", params={"store": store["store"]}, timeout=30).json()
        got = len(r["events"])
        if got >= want:
            break
        time.sleep(0.2)
    delivered_s = time.perf_counter() - t0
    stats = tenant.worker.admin("GET", f"/lti/platforms/{tenant.registration['id']}/caliper").json().get("data", {})
    print(f"\n## Caliper events (POST /lti/caliper/events → queue → event store; {batch} events a post)\n")
    print("| posts | events | concurrency | events/s accepted | p50 ms | p95 ms | errors | delivered | "
          "events/s delivered (first post → last at the store) | store requests |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {n_posts} | {n_posts * batch} | {conc} | {n_posts * batch / wall:.0f} | {statistics.median(lat):.1f} | "
          f"{pct(lat, 0.95):.1f} | {errs} | {got - 1}/{n_posts * batch} | {(got - 1) / delivered_s:.0f} | "
          f"{len(r['requests'])} |")
    print(f"\nworker counts for the registration: accepted {stats.get('accepted')}, delivered "
          f"{stats.get('delivered')}, retried {stats.get('retried')}, dropped {stats.get('dropped')}")


def main() -> int:
    n_scores = env_int("BENCH_SCORES", 400)
    n_dl = env_int("BENCH_DEEP_LINKS", 200)
    conc = env_int("BENCH_CONCURRENCY", 8)
    with tempfile.TemporaryDirectory(prefix="lti-edge-bench-svc.") as d:
        tmp = Path(d)
        worker = start_worker("bench-services", tmp, "kv", log_level="log")
        platform = start_platform(tmp, worker.base)
        try:
            client_id = "bench-services"
            reg = worker.register(platform, client_id=client_id)
            tenant = Tenant(worker=worker, platform=platform, client_id=client_id,
                            deployment_id=platform.deployment_id,
                            registration=reg)
            session = tenant.launch(role="Instructor").token
            tokens_before = platform.state()["counters"].get("token", 0)
            auth = {"Authorization": f"Bearer {session}"}
            s = requests.Session()
            a = requests.adapters.HTTPAdapter(pool_connections=conc, pool_maxsize=conc)
            s.mount("http://", a)

            def score(i: int) -> requests.Response:
                return s.post(worker.url("/lti/ags/scores"), headers=auth, timeout=30,
                              json={"userId": f"bench-learner-{i}", "scoreGiven": i % 11, "scoreMaximum": 10})

            wall, lat, errs = burst(score, n_scores, conc)
            score_errs = errs
            tokens = platform.state()["counters"].get("token", 0) - tokens_before
            stats = worker.admin("GET", "/lti/services/stats").json().get("data", {})
            hit = 1 - tokens / n_scores
            print("\n## AGS score posts (workerd + lti1p3platform on this machine)\n")
            print("| posts | concurrency | posts/s | p50 ms | p95 ms | errors | token requests | token cache hit rate |")
            print("|---|---|---|---|---|---|---|---|")
            print(f"| {n_scores} | {conc} | {n_scores / wall:.0f} | {statistics.median(lat):.1f} | {pct(lat, 0.95):.1f} | "
                  f"{errs} | {tokens} | {hit * 100:.2f}% |")
            print(f"\nworker token cache counters (all isolates that answered /lti/services/stats): {stats}")

            dl = tenant.launch(role="Instructor", placement="browseembed").token
            dl_auth = {"Authorization": f"Bearer {dl}"}
            items = [{"type": "ltiResourceLink", "title": f"Video {i}", "entryId": f"1_v{i}", "width": 640,
                      "height": 360, "duration": 90} for i in range(3)]

            def deep_link(_i: int) -> requests.Response:
                return s.post(worker.url("/lti/deep-link"), headers=dl_auth, json={"contents": items}, timeout=30)

            wall, lat, errs = burst(deep_link, n_dl, conc)
            print("\n## Deep Linking responses over HTTP (3 items, RS256 via WebCrypto)\n")
            print("| responses | concurrency | responses/s | p50 ms | p95 ms | errors |")
            print("|---|---|---|---|---|---|")
            print(f"| {n_dl} | {conc} | {n_dl / wall:.0f} | {statistics.median(lat):.1f} | {pct(lat, 0.95):.1f} | {errs} |")
            caliper(tenant, s, conc)
            print("\nSigning alone, WebCrypto vs pure-Rust rsa in wasm: scripts/webcrypto-check.sh bench "
                  "(deep_link_webcrypto_per_s, deep_link_pure_rust_per_s).")
            if errs or score_errs:
                for log in (worker.log, platform.log):
                    lines = [ln for ln in log.read_text(errors="replace").splitlines()
                             if "failed" in ln or "Error" in ln or "Traceback" in ln]
                    print(f"\n{log.name}:\n" + "\n".join(lines[-15:]))
            return 0
        finally:
            for proc in (platform.proc, worker.proc):
                if proc is not None:
                    proc.stop()


if __name__ == "__main__":
    sys.exit(main())

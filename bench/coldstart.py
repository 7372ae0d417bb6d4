"""Cold start of the worker beside a workers-rs hello world: prints a table, asserts nothing.

Run through `npm run bench` (all of it) or `bash scripts/bench.sh coldstart` (this part alone),
which build both workers first. Method (bench/README.md, "Cold start"):

  * start: a fresh `node` process serving the worker in workerd through Miniflare, as the launch
    benchmark serves it (scripts/serve-workerd.mjs --direct: local in-memory KV and Durable
    Objects, the worker on its own socket; the hello world through bench/peers/hello-worker/serve.mjs,
    the same options but for the Durable Object it has no class for). Timed from just before the
    process is spawned to the end of the body of the first 200 answer to GET /lti/jwks (the
    hello world: GET /), polling every 5 ms (a refused connection until workerd listens). Also
    shown: how long that first answered request itself took. One unmeasured start of each first
    (disk caches), then BENCH_COLDSTART_RUNS (5) measured starts of each, alternating; medians.
  * compile: WebAssembly.compile of each build's index_bg.wasm in a fresh node process (V8's
    default, lazy function compilation; and eager with --no-wasm-lazy-compilation),
    BENCH_COMPILE_RUNS (9) processes each, alternating; medians. Sizes: raw and gzip -9.
"""
from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import time
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from bench_common import (BENCH, CHILD_ENV, REPO, env_int, kib, loadavg, machine, run_main, say, start, table,
                          wasm_sizes)
from supervisor import free_port, group_stats  # on sys.path through bench_common

RUNS = env_int("BENCH_COLDSTART_RUNS", 5, 1, 50)
COMPILE_RUNS = env_int("BENCH_COMPILE_RUNS", 9, 1, 100)
START_DEADLINE = 60.0  # s for one start to answer (a hung start becomes an error, not a number)
POLL_S = 0.005
HELLO = BENCH / "peers" / "hello-worker"


@dataclass
class Subject:
    key: str
    name: str
    path: str            # the first request: GET <path>
    build: Path          # the worker-build output folder (index.js, index_bg.wasm)
    command: t.Callable[[int], t.List[str]]
    starts: t.List[Start] = field(default_factory=list)
    compiles: t.Dict[str, t.List[float]] = field(default_factory=dict)  # mode -> ms
    failure: str = ""


def edge_command(port: int) -> t.List[str]:
    base = f"http://127.0.0.1:{port}"
    variables = {"PUBLIC_BASE_URL": base, "LTI_ENCRYPTION_KEY": secrets.token_urlsafe(32)[:43],
                 "LTI_ADMIN_TOKEN": "adm_" + secrets.token_urlsafe(24), "ALLOW_HTTP_LOOPBACK": "true",
                 "NONCE_STORE": "kv"}
    cmd = ["node", str(REPO / "scripts" / "serve-workerd.mjs"), "--port", str(port), "--direct"]
    for k, v in variables.items():
        cmd += ["--var", f"{k}={v}"]
    return cmd


def hello_command(port: int) -> t.List[str]:
    return ["node", str(HELLO / "serve.mjs"), "--port", str(port)]


SUBJECTS = [
    Subject("lti-edge", "lti-edge (worker/build)", "/lti/jwks", REPO / "worker" / "build", edge_command),
    Subject("hello", "workers-rs hello world (bench/peers/hello-worker)", "/", HELLO / "build", hello_command),
]

COMPILE_MODES = {"lazy": [], "eager": ["--no-wasm-lazy-compilation"]}


@dataclass
class Start:
    total_ms: float    # spawn of `node serve…mjs` to the end of the first 200 body
    workerd_ms: float  # spawn of the workerd process (Miniflare starts it) to the same moment
    request_ms: float  # the answering request alone (send to end of body)


def workerd_started(pgid: int) -> t.Optional[float]:
    """CLOCK_BOOTTIME seconds at which the process group's first workerd process was spawned
    (/proc starttime: clock-tick resolution, 10 ms here)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = []
    for pid, f in group_stats(pgid):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "workerd":
                found.append(int(f[19]) / tick)  # starttime: field 22 of stat, 20th after "(comm)"
        except OSError:
            continue
    return min(found) if found else None


def cold_start(s: Subject, run: int) -> Start:
    """One fresh start to its first answered request."""
    port = free_port()
    proc = start(f"coldstart-{s.key}-{run}", s.command(port), env=dict(CHILD_ENV, LTI_EDGE_SKIP_BUILD="1"))
    try:
        ready = proc.wait_ready(f"http://127.0.0.1:{port}{s.path}", deadline_s=START_DEADLINE, interval_s=POLL_S,
                                probe_timeout_s=30.0)
        mono, boot = time.monotonic(), time.clock_gettime(time.CLOCK_BOOTTIME)
        spawned = workerd_started(proc.pgid)
    finally:
        proc.stop()
    if spawned is None:
        raise RuntimeError(f"no workerd process in {proc.name}'s process group")
    answered_boot = boot - (mono - (proc.started + ready.total_s))
    return Start(ready.total_s * 1000.0, (answered_boot - spawned) * 1000.0, ready.request_s * 1000.0)


def compile_ms(wasm: Path, flags: t.List[str]) -> float:
    out = subprocess.run(["node", *flags, str(BENCH / "wasm_compile.mjs"), str(wasm)], capture_output=True,
                         text=True, env=CHILD_ENV, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"wasm_compile.mjs failed: {out.stderr[-1000:]}")
    return float(json.loads(out.stdout)["ms"])


def main() -> int:
    load_before = loadavg()
    subjects = []
    for s in SUBJECTS:
        if (s.build / "index.js").exists() and (s.build / "index_bg.wasm").exists():
            subjects.append(s)
        else:
            s.failure = f"no build in {s.build.relative_to(REPO)} (scripts/bench.sh builds it)"
    say(f"cold start: 1 unmeasured + {RUNS} measured fresh starts of each worker, alternating")
    for run in range(RUNS + 1):
        for s in subjects:
            if s.failure:
                continue
            try:
                got = cold_start(s, run)
            except RuntimeError as exc:
                s.failure = str(exc)
                continue
            if run > 0:  # run 0 warms the disk caches for both
                s.starts.append(got)
    say(f"WebAssembly.compile: {COMPILE_RUNS} fresh node processes per wasm and mode")
    for _ in range(COMPILE_RUNS):
        for s in subjects:
            for mode, flags in COMPILE_MODES.items():
                s.compiles.setdefault(mode, []).append(compile_ms(s.build / "index_bg.wasm", flags))

    def med(xs: t.List[float], digits: int = 0) -> str:
        return f"{statistics.median(xs):.{digits}f}" if xs else "n/a"

    def span(xs: t.List[float]) -> str:
        return f"{min(xs):.0f}–{max(xs):.0f}" if xs else "n/a"

    print()
    print(f"Cold start: a fresh workerd (Miniflare, local KV, as the launch rows run) to its first answered "
          f"request; median of {RUNS} starts each; {machine(CHILD_ENV)}")
    print(table(["worker", "first request", "workerd spawn → answer ms", "range ms", "process spawn → answer ms",
                 "first request alone ms"],
                [[s.name, f"GET {s.path}", med([x.workerd_ms for x in s.starts]),
                  span([x.workerd_ms for x in s.starts]), med([x.total_ms for x in s.starts]),
                  med([x.request_ms for x in s.starts])] for s in SUBJECTS]))
    print()
    print(f"Wasm: WebAssembly.compile of index_bg.wasm in a fresh node process, median of {COMPILE_RUNS}")
    rows = []
    for s in SUBJECTS:
        wasm = s.build / "index_bg.wasm"
        raw, gz = wasm_sizes(wasm) if wasm.exists() else (0, 0)
        rows.append([s.name, str(wasm.relative_to(REPO)), med(s.compiles.get("lazy", []), 1),
                     med(s.compiles.get("eager", []), 1), kib(raw) if raw else "n/a", kib(gz) if gz else "n/a"])
    print(table(["worker", "wasm", "compile ms (V8 default: lazy)", "compile ms (eager)", "raw", "gzip -9"], rows))
    edge, hello = SUBJECTS
    if edge.starts and hello.starts and edge.compiles and hello.compiles:
        def over(a: t.List[float], b: t.List[float]) -> float:
            return statistics.median(a) - statistics.median(b)
        print(f"lti-edge minus the hello world: "
              f"{over([x.workerd_ms for x in edge.starts], [x.workerd_ms for x in hello.starts]):+.0f} ms "
              f"workerd spawn → answer, {over(edge.compiles['lazy'], hello.compiles['lazy']):+.1f} ms lazy compile, "
              f"{over(edge.compiles['eager'], hello.compiles['eager']):+.1f} ms eager compile")
    print("(workerd spawn → answer: workerd starting, the worker's JavaScript and wasm compiled and instantiated, "
          "its first request — for lti-edge on empty KV, so that request creates the key ring; process spawn "
          "adds node and Miniflare starting up. The hello world is the floor any workers-rs worker pays.)")
    print(f"load average (1/5/15 min) before: {load_before}, after: {loadavg()}")
    for s in SUBJECTS:
        if s.failure:
            print(f"  {s.name}: could not measure: {s.failure[:1500]}")
    return 0


if __name__ == "__main__":
    run_main(main)

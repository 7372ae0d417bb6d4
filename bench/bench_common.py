"""What bench/bench.py and bench/coldstart.py share: knobs, tables, machine facts, wasm sizes.
Processes are the shared supervisor's (tests/support/supervisor.py), imported from here."""
from __future__ import annotations

import gzip
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests" / "support"))
from supervisor import Proc, child_env, exit_on_signals, stop_all  # noqa: E402  (shared with tests/e2e)

# Scratch dir for logs and driver jobs: scripts/bench.sh's (BENCH_RUN_DIR), whose trap also kills
# the process groups listed in its `pgids` file should Python itself be killed; else a fresh one.
_CREATED_RUN_DIR = not os.environ.get("BENCH_RUN_DIR")
RUN_DIR = Path(os.environ.get("BENCH_RUN_DIR") or tempfile.mkdtemp(prefix="lti-edge-bench-"))
RUN_DIR.mkdir(parents=True, exist_ok=True)
CHILD_ENV = child_env()


def start(name: str, cmd: t.List[str], env: t.Optional[t.Dict[str, str]] = None, cwd: Path = REPO) -> Proc:
    """A supervised server: log RUN_DIR/<name>.log, pgid in RUN_DIR/pgids until it is stopped."""
    return Proc(name, cmd, RUN_DIR / f"{name}.log", env=env or CHILD_ENV, cwd=cwd, pgid_file=RUN_DIR / "pgids")


def run_main(main: t.Callable[[], int]) -> t.NoReturn:
    """Run a benchmark's main: SIGTERM/SIGINT/SIGHUP exit cleanly, every server is stopped however
    it ends, the scratch dir is removed unless BENCH_KEEP=1 (or it is scripts/bench.sh's)."""
    exit_on_signals((signal.SIGTERM, signal.SIGINT, signal.SIGHUP))
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


def env_int(name: str, default: int, lo: int, hi: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = int(raw)
    if not lo <= value <= hi:
        raise SystemExit(f"{name}={value} is outside {lo}..{hi}")
    return value


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def table(headers: t.List[str], rows: t.List[t.List[str]]) -> str:
    """A Markdown table; the first two columns left-aligned, the rest (numbers) right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    numeric = [i >= 2 for i in range(len(headers))]

    def line(cells: t.List[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if numeric[i] else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    sep = "|" + "|".join(("-" * (w + 1) + ":") if numeric[i] else ("-" * (w + 2))
                         for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), sep] + [line(r) for r in rows])


def machine(env: t.Optional[t.Mapping[str, str]] = None) -> str:
    cpu = "?"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True,
                          env=dict(env) if env is not None else None).stdout.strip()
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, node {node}"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def wasm_sizes(path: Path) -> t.Tuple[int, int]:
    """(raw bytes, gzip -9 bytes) of a file."""
    raw = path.read_bytes()
    return len(raw), len(gzip.compress(raw, compresslevel=9))


def kib(n: int) -> str:
    return f"{n:,} B ({n / 1024:.0f} KiB)"


def wasm_size(path: Path, what: str = "worker wasm") -> str:
    if not path.exists():
        return f"{what} {path.relative_to(REPO)}: missing"
    raw, gz = wasm_sizes(path)
    return (f"{what} {path.relative_to(REPO)}: {raw:,} bytes raw ({raw / 1024:.0f} KiB), "
            f"{gz:,} bytes gzip -9 ({gz / 1024:.0f} KiB)")

"""The one process supervisor of the end-to-end suite (tests/e2e) and the benchmarks (bench/).

Every server they start (wrangler dev / workerd, the local LTI platform, the peer tools, the
JWKS server) is a ``Proc``: a child in a process group of its own, its output appended to a log
file, readiness awaited by polling a URL, and stopped as a whole group — SIGTERM first, then
SIGKILL for whatever of the group outlives its leader (wrangler leaves workerd behind if it is
killed hard). Every live ``Proc`` is also stopped at interpreter exit (``atexit``), and
``exit_on_signals`` turns SIGTERM/SIGHUP into an exception so that Ctrl-C, a kill of the runner or
a failing test all end with the children stopped. ``pgid_file`` records each group id for a shell
trap (scripts/bench.sh) in case this interpreter itself is killed with SIGKILL.

Standard library only: the benchmark's cold-start run needs nothing else. Nothing here asserts a
duration; the clocks are start-up deadlines (a hung process becomes a clear error) and the
readiness time a caller may print.
"""
from __future__ import annotations

import atexit
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[2]

T = t.TypeVar("T")

_LIVE: t.List["Proc"] = []
_LIVE_LOCK = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: What a server's log says when another process took its port first.
PORT_CLASH = ("Address already in use", "EADDRINUSE")


def start_on_free_ports(start: t.Callable[[], T], attempts: int = 4) -> T:
    """Call ``start`` (which picks its ports with ``free_port`` and starts a server) again when
    the server died because another process bound one of its ports between the pick and its
    own bind: ``free_port`` can only say a port is free now. Any other failure is raised."""
    for attempt in range(attempts):
        try:
            return start()
        except RuntimeError as exc:
            if attempt + 1 == attempts or not any(m in str(exc) for m in PORT_CLASH):
                raise
    raise AssertionError("unreachable")


def wait_port_free(port: int, deadline_s: float = 30.0, hint: str = "") -> None:
    """Wait until 127.0.0.1:``port`` can be bound (a previous server on it has gone)."""
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
            raise RuntimeError(f"127.0.0.1:{port} is in use{' (' + hint + ')' if hint else ''}")
        time.sleep(0.5)


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def child_env(extra: t.Optional[t.Mapping[str, str]] = None,
              base: t.Optional[t.Mapping[str, str]] = None) -> t.Dict[str, str]:
    """The environment of a supervised child: ``base`` (default this process's environment)
    with the repository's node tools first on PATH, wrangler's telemetry and banners off, no
    colours, unbuffered Python, and no HTTP proxy (everything is on loopback); then ``extra``."""
    env = dict(os.environ if base is None else base)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(name, None)
    node_bin = str(REPO / "node_modules" / ".bin")
    path = env.get("PATH", "")
    env.update({
        "PATH": path if path.split(os.pathsep)[0] == node_bin else f"{node_bin}{os.pathsep}{path}",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "NO_COLOR": "1", "FORCE_COLOR": "0", "CI": env.get("CI", "true"),
        "WRANGLER_SEND_METRICS": "false", "WRANGLER_SEND_ERROR_REPORTS": "false", "DO_NOT_TRACK": "1",
        "CLOUDFLARE_CF_FETCH_ENABLED": "false", "WRANGLER_HIDE_BANNER": "true",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


def probe(url: str, timeout: float = 3.0) -> t.Tuple[int, bytes]:
    """One GET on loopback (no proxy, no redirect followed): (status, whole body)."""
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=timeout)
    try:
        conn.request("GET", (u.path or "/") + (f"?{u.query}" if u.query else ""),
                     headers={"Accept": "application/json", "Connection": "close"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@dataclass
class Ready:
    """When a process answered its readiness probe."""
    total_s: float    # from just before the process was spawned to the end of the answer's body
    request_s: float  # of which the answering request itself (send to end of body)
    attempts: int     # probes sent, the answering one included


def group_stats(pgid: int) -> t.Iterator[t.Tuple[int, t.List[str]]]:
    """(pid, the /proc stat fields after "(comm)": state ppid pgrp session ...) of each process of
    process group ``pgid``."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            f = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(f[2]) == pgid:
            yield int(d.name), f


def _group_members(pgid: int) -> t.List[int]:
    """Pids of the live (not zombie) processes of process group ``pgid``."""
    return [pid for pid, f in group_stats(pgid) if f[0] not in ("Z", "X")]


def group_cpu(pgid: int) -> t.Optional[float]:
    """CPU seconds (user + system, each process and its reaped children) of every process in the
    process group ``pgid``: a server with all its workers and helpers (workerd and Miniflare's
    node; gunicorn's master and workers)."""
    if pgid <= 0:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    # utime(11) stime(12) cutime(13) cstime(14) of the fields after "(comm)"
    return sum(sum(int(x) for x in f[11:15]) / tick for _pid, f in group_stats(pgid))


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Proc:
    """A child process in a process group of its own (its pgid is its pid), stdin closed,
    stdout and stderr appended to ``log`` after a ``$ command`` line."""

    def __init__(self, name: str, cmd: t.Sequence[str], log: Path, env: t.Optional[t.Mapping[str, str]] = None,
                 cwd: Path = REPO, pgid_file: t.Optional[Path] = None) -> None:
        self.name = name
        self.cmd = list(cmd)
        self.log = log
        self.pgid_file = pgid_file
        self._stopped = False
        log.parent.mkdir(parents=True, exist_ok=True)
        self._logf = open(log, "ab")
        self._logf.write(("$ " + " ".join(self.cmd) + "\n").encode())
        self._logf.flush()
        self.started = time.monotonic()
        self.popen = subprocess.Popen(self.cmd, cwd=str(cwd), env=dict(env) if env is not None else None,
                                      stdin=subprocess.DEVNULL, stdout=self._logf, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        if pgid_file is not None:
            with open(pgid_file, "a") as f:
                f.write(f"{self.pgid}\n")
        with _LIVE_LOCK:
            _LIVE.append(self)

    @property
    def pgid(self) -> int:
        return self.popen.pid

    def _failed(self, what: str) -> RuntimeError:
        self.stop()
        return RuntimeError(f"{self.name} {what}; log {self.log}:\n{tail(self.log)}")

    def wait_ready(self, url: str, deadline_s: float = 60.0, interval_s: float = 0.25,
                   status: int = 200, probe_timeout_s: float = 3.0) -> Ready:
        """Poll GET ``url`` (every ``interval_s``, each probe waiting at most ``probe_timeout_s``)
        until it answers ``status``; the deadline counts from the spawn. If the process exits
        first or the deadline passes, it is stopped and RuntimeError carries the log's tail."""
        end = self.started + deadline_s
        last = "no answer yet"
        attempts = 0
        while time.monotonic() < end:
            if self.popen.poll() is not None:
                raise self._failed(f"exited with {self.popen.returncode} before it was ready")
            attempts += 1
            sent = time.monotonic()
            try:
                got, body = probe(url, timeout=max(0.5, min(probe_timeout_s, end - sent)))
                if got == status:
                    done = time.monotonic()
                    return Ready(total_s=done - self.started, request_s=done - sent, attempts=attempts)
                last = f"{got} {body[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                last = repr(exc)
            time.sleep(interval_s)
        raise self._failed(f"did not answer {status} on {url} within {deadline_s:.0f} s (last: {last})")

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM to the whole group, up to ``grace_s`` for the leader to exit, a moment for the
        rest of its group, then SIGKILL to whatever is left. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        pgid = self.pgid
        try:
            _signal_group(pgid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
            end = time.monotonic() + 2.0
            while _group_members(pgid) and time.monotonic() < end:
                time.sleep(0.05)
            _signal_group(pgid, signal.SIGKILL)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                print(f"[supervisor] warning: {self.name} (pid {pgid}) did not exit", file=sys.stderr)
                return  # leave its pgid for the shell trap
            self._forget_pgid()
        finally:
            self._logf.close()
            with _LIVE_LOCK:
                if self in _LIVE:
                    _LIVE.remove(self)

    def _forget_pgid(self) -> None:
        """Stopped: off the list a shell trap kills (its pid may be reused)."""
        if self.pgid_file is None:
            return
        try:
            left = [x for x in self.pgid_file.read_text().split() if x != str(self.pgid)]
            self.pgid_file.write_text("".join(f"{x}\n" for x in left))
        except OSError:
            pass


def stop_all() -> None:
    """Stop every Proc still running, the latest first."""
    with _LIVE_LOCK:
        live = list(reversed(_LIVE))
    for p in live:
        p.stop()


atexit.register(stop_all)


def exit_on_signals(signals: t.Iterable[int] = (signal.SIGTERM, signal.SIGHUP),
                    as_interrupt: bool = False) -> None:
    """Turn these signals into an exception in the main thread so that ``finally`` blocks and
    ``atexit`` run (and stop the children): SystemExit(128 + signal) by default, or
    KeyboardInterrupt (``as_interrupt``, for pytest: it ends the session as on Ctrl-C and still
    runs its sessionfinish hooks)."""
    def handler(signum: int, _frame: t.Any) -> None:
        if as_interrupt:
            raise KeyboardInterrupt(f"signal {signum}")
        raise SystemExit(128 + signum)
    for sig in signals:
        signal.signal(sig, handler)

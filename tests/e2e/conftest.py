"""Fixtures: the real worker (workerd through `wrangler dev --local`) and the local LTI platform.

Session scope: worker instances, started when a test first needs them --
  worker            NONCE_STORE=kv, configured (the default for most tests)
  worker_durable    NONCE_STORE=durable
  worker_unconfigured  no LTI_ENCRYPTION_KEY (every /lti/* answers 503 not_configured)
  worker_rotation   NONCE_STORE=kv, for the tool key rotation tests (they change its global keys)
  worker_verbose    NONCE_STORE=kv, wrangler --log-level log: the worker's own log lines reach its
                    log file (for tests that read what the worker logs)
  worker_proxy      NONCE_STORE=kv, PUBLIC_BASE_URL=https://tool.example.test (PROXY_PUBLIC_BASE): a
                    worker "behind a TLS proxy", reached directly over http://127.0.0.1
and one shared platform (tests/platform/platform.py) whose launches can target any worker.
Function scope: `tenant` (a fresh registration with a unique client id on the kv worker),
`make_tenant` (same, with registration overrides / another worker / another platform) and
`fresh_platform` (a new platform process with its own issuer and keys, for JWKS tests),
`make_lti11_tenant` / `lti11_tenant` (a registration with an LTI 1.1 consumer key and secret too;
``tenant.lti11`` signs launches with oauthlib, and the LMS's Basic Outcomes service accepts the key).
"""
from __future__ import annotations

import json
import secrets
import typing as t
from pathlib import Path

import pytest

from ltihelpers import (Lti11Consumer, Platform, Proc, Tenant, Worker, check_worker_build, exit_on_signals,
                        start_platform, start_worker, stop_all, unique)

PROXY_PUBLIC_BASE = "https://tool.example.test"

_logs: t.Dict[str, Path] = {}
# Kept for test modules that still append the processes they start (test_hardening_store.py); no
# need to: every Proc is the supervisor's, and pytest_sessionfinish stops whatever still runs.
_started: t.List[Proc] = []


def _worker(kind: str, tmp_path_factory: pytest.TempPathFactory, nonce_store: t.Optional[str],
            configured: bool = True, log_level: str = "warn",
            vars: t.Optional[t.Dict[str, str]] = None) -> t.Iterator[Worker]:
    problem = None
    try:
        check_worker_build()
        tmp = tmp_path_factory.mktemp(f"worker-{kind}")
        worker = start_worker(kind, tmp, nonce_store, configured=configured, log_level=log_level,
                              vars=vars)
    except RuntimeError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(problem, pytrace=False)
    assert worker.proc is not None
    _logs[f"worker {kind}"] = worker.log
    yield worker
    worker.proc.stop()


@pytest.fixture(scope="session")
def worker(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Worker]:
    yield from _worker("kv", tmp_path_factory, "kv")


@pytest.fixture(scope="session")
def worker_durable(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Worker]:
    yield from _worker("durable", tmp_path_factory, "durable")


@pytest.fixture(scope="session")
def worker_unconfigured(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Worker]:
    yield from _worker("unconfigured", tmp_path_factory, "kv", configured=False)


@pytest.fixture(scope="session")
def worker_rotation(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Worker]:
    yield from _worker("rotation", tmp_path_factory, "kv")


OPERATOR_KID = "operator-key-1"


@pytest.fixture(scope="session")
def worker_operator_key(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Worker]:
    """A worker given one RSA key by its operator (LTI_TOOL_PRIVATE_JWK): no key ring."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = dict(json.loads(RSAAlgorithm.to_jwk(key)), kid=OPERATOR_KID)
    yield from _worker("operator-key", tmp_path_factory, "kv", vars={"LTI_TOOL_PRIVATE_JWK": json.dumps(jwk)})


@pytest.fixture(scope="session")
def worker_verbose(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Worker]:
    yield from _worker("verbose", tmp_path_factory, "kv", log_level="log")


@pytest.fixture(scope="session")
def worker_proxy(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Worker]:
    yield from _worker("proxy", tmp_path_factory, "kv", vars={"PUBLIC_BASE_URL": PROXY_PUBLIC_BASE})


@pytest.fixture(params=["kv", "durable"])
def any_worker(request: pytest.FixtureRequest) -> Worker:
    return request.getfixturevalue("worker" if request.param == "kv" else "worker_durable")


def _platform(tmp: Path, tool_url: str, name: str) -> t.Iterator[Platform]:
    problem = None
    try:
        p = start_platform(tmp, tool_url, name=name)
    except RuntimeError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(problem, pytrace=False)
    assert p.proc is not None
    _logs[name if name == "platform" else f"{name} {p.base}"] = p.log
    yield p
    p.proc.stop()


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory, worker: Worker) -> t.Iterator[Platform]:
    yield from _platform(tmp_path_factory.mktemp("platform"), worker.base, "platform")


@pytest.fixture
def fresh_platform(tmp_path_factory: pytest.TempPathFactory, worker: Worker) -> t.Iterator[Platform]:
    """A platform of its own (own issuer, own keys): nothing cached about it in any worker."""
    yield from _platform(tmp_path_factory.mktemp("fresh-platform"), worker.base, "fresh-platform")


@pytest.fixture
def make_tenant(worker: Worker, platform: Platform) -> t.Callable[..., Tenant]:
    def make(on: t.Optional[Worker] = None, via: t.Optional[Platform] = None,
             client_id: t.Optional[str] = None, deployment_id: str = "local-deployment-1",
             **fields: t.Any) -> Tenant:
        w = on or worker
        p = via or platform
        cid = client_id or unique("client")
        fields.setdefault("deploymentIds", [deployment_id])
        reg = w.register(p, client_id=cid, **fields)
        return Tenant(worker=w, platform=p, client_id=cid, deployment_id=deployment_id,
                      registration=reg)
    return make


@pytest.fixture
def tenant(make_tenant: t.Callable[..., Tenant]) -> Tenant:
    return make_tenant()


@pytest.fixture
def make_lti11_tenant(make_tenant: t.Callable[..., Tenant], platform: Platform) -> t.Callable[..., Tenant]:
    """A registration with the 1.3 fields and an LTI 1.1 consumer (lti11ConsumerKey, lti11Secret;
    fresh unless given). ``tenant.lti11`` is the LMS's 1.1 side (oauthlib signer); the LMS's Basic
    Outcomes service accepts the key unless ``lms_knows_key=False``."""
    def make(on: t.Optional[Worker] = None, via: t.Optional[Platform] = None,
             key: t.Optional[str] = None, secret: t.Optional[str] = None, lms_knows_key: bool = True,
             **fields: t.Any) -> Tenant:
        key = key or unique("lti11-key")
        secret = secret or "lti11-secret-" + secrets.token_urlsafe(18)
        t_ = make_tenant(on=on, via=via, lti11ConsumerKey=key, lti11Secret=secret, **fields)
        t_.lti11 = Lti11Consumer(key=key, secret=secret, worker=t_.worker)
        if lms_knows_key:
            (via or platform).add_lti11_consumer(key, secret)
        return t_
    return make


@pytest.fixture
def lti11_tenant(make_lti11_tenant: t.Callable[..., Tenant]) -> Tenant:
    return make_lti11_tenant()


@pytest.fixture
def faults(platform: Platform) -> t.Iterator[t.Callable[..., t.Dict[str, t.Any]]]:
    """Set platform faults (POST /__control/faults, usually with client_id= so that only one
    tenant is affected); reset to none after the test."""
    def set_faults(**spec: t.Any) -> t.Dict[str, t.Any]:
        return platform.set_faults(**spec)
    try:
        yield set_faults
    finally:
        platform.set_faults()


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM/SIGHUP end the session as Ctrl-C does, so sessionfinish still stops every process
    exit_on_signals(as_interrupt=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # every worker and platform still running (failed set-ups and interrupted runs included);
    # the supervisor's atexit hook is the last resort
    stop_all()


def pytest_terminal_summary(terminalreporter: t.Any, exitstatus: int, config: t.Any) -> None:
    if _logs:
        terminalreporter.write_sep("-", "process logs")
        for name, path in _logs.items():
            terminalreporter.write_line(f"{name}: {path}")

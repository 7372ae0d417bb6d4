"""Hardening (issue 10), storage: registrations are atomic under concurrency (spec §4) and the
login writes nothing (§6).

The registration races run on the suite's kv worker with issuers of their own (no platform
needed: a login is answered from the registration alone). The login-write tests run on workers
of this module (``kv`` and ``durable``), so that nothing else writes to their local storage while
the keys are counted (``ltihelpers.store_footprint``: rows in miniflare's KV and Durable Object
SQLite files under the worker's --persist-to folder).
"""
from __future__ import annotations

import secrets
import typing as t
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from conftest import _started
from ltihelpers import (Platform, Tenant, Worker, assert_error, assert_ok, describe, http, parse_launch,
                        post_launch, settled_footprint, start_worker, store_footprint, unique)


def reg_body(issuer: str, client_id: str, **over: t.Any) -> t.Dict[str, t.Any]:
    b: t.Dict[str, t.Any] = {
        "issuer": issuer,
        "lti13ClientId": client_id,
        "name": "Race LMS",
        "lti13PlatformOidcAuthUrl": issuer + "/auth",
        "lti13AuthTokenUrl": issuer + "/token",
        "lti13KeysUrl": issuer + "/jwks",
        "deploymentIds": ["d1"],
        "deploymentPolicy": "allowList",
    }
    b.update(over)
    return b


def new_issuer() -> str:
    return f"https://{unique('race')}.example.edu"


def login(worker: Worker, issuer: str, client_id: t.Optional[str]) -> t.Any:
    params = {"iss": issuer, "login_hint": "user-1", "target_link_uri": worker.base + "/hosted/index/my-media",
              "lti_message_hint": "hint-" + secrets.token_hex(4)}
    if client_id:
        params["client_id"] = client_id
    return http("GET", worker.url("/lti/login?" + urlencode(params)), headers={"Accept": "application/json"})


def concurrently(n: int, fn: t.Callable[[int], t.Any]) -> t.List[t.Any]:
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, range(n)))


def listed_for(worker: Worker, issuer: str) -> t.List[t.Dict[str, t.Any]]:
    regs = assert_ok(worker.admin("GET", "/lti/platforms"))
    return [r for r in regs if r["issuer"] == issuer]


# ---------------------------------------------------------------------------------------------
# §4 registrations
# ---------------------------------------------------------------------------------------------


def test_concurrent_registrations_of_one_issuer(worker: Worker) -> None:
    issuer = new_issuer()
    clients = [unique("client") for _ in range(8)]
    answers = concurrently(8, lambda i: worker.admin("POST", "/lti/platforms", json=reg_body(issuer, clients[i])))
    assert [r.status_code for r in answers] == [201] * 8, [describe(r) for r in answers if r.status_code != 201]
    failed = []
    for cid in clients:
        r = login(worker, issuer, cid)
        if r.status_code != 302 or not r.headers.get("Location", "").startswith(issuer + "/auth?"):
            failed.append(f"{cid}: {r.status_code} {r.text[:200]}")
    assert not failed, "registrations lost in the race (login refused):\n" + "\n".join(failed)
    assert sorted(r["lti13ClientId"] for r in listed_for(worker, issuer)) == sorted(clients)


def test_concurrent_upserts_of_one_registration(worker: Worker) -> None:
    issuer = new_issuer()
    cid = unique("client")
    answers = concurrently(8, lambda i: worker.admin("POST", "/lti/platforms",
                                                     json=reg_body(issuer, cid, name=f"Race LMS {i}")))
    statuses = sorted(r.status_code for r in answers)
    regs = listed_for(worker, issuer)
    assert len(regs) == 1, f"{len(regs)} registrations for one issuer + client id: {regs}"
    assert statuses == [200] * 7 + [201], f"one create (201), seven updates (200): {statuses}"
    assert len({r.json()["data"]["id"] for r in answers}) == 1
    assert login(worker, issuer, cid).status_code == 302


def test_concurrent_accept_and_record_launches(make_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_tenant(deploymentPolicy="acceptAndRecord", deploymentIds=["local-deployment-1"])
    deployments = [unique("dep") for _ in range(8)]
    prepared = []
    for dep in deployments:
        lg, auth = t_.authorized(deployment_id=dep)
        prepared.append((lg, auth))

    def go(i: int) -> t.Any:
        lg, auth = prepared[i]
        return post_launch(auth["action"], auth["id_token"], auth["state"], cookie=lg.cookie_header())

    answers = concurrently(8, go)
    for r in answers:
        parse_launch(t_.worker, r)
    got = assert_ok(t_.worker.admin("GET", f"/lti/platforms/{t_.registration['id']}"))["deploymentIds"]
    missing = [d for d in deployments if d not in got]
    assert not missing, f"deployments lost in the race: {missing} (recorded: {got})"


def test_concurrent_lti11_consumer_key_stays_unique(worker: Worker, platform: Platform) -> None:
    key = unique("lti11-key")
    bodies = [dict(platform.registration_body(client_id=unique("client")), lti11ConsumerKey=key,
                   lti11Secret="secret-" + secrets.token_hex(8)) for _ in range(6)]
    answers = concurrently(6, lambda i: worker.admin("POST", "/lti/platforms", json=bodies[i]))
    ok = [r for r in answers if r.status_code in (200, 201)]
    assert len(ok) == 1, f"{len(ok)} registrations took consumer key {key}: " + "; ".join(
        f"{r.status_code} {r.text[:150]}" for r in answers)
    for r in answers:
        if r not in ok:
            err = assert_error(r, 400, "registration_invalid")
            assert "lti11ConsumerKey" in (err.get("fields") or {}), err
    holders = [r for r in assert_ok(worker.admin("GET", "/lti/platforms")) if r.get("lti11ConsumerKey") == key]
    assert len(holders) == 1, holders


# ---------------------------------------------------------------------------------------------
# §6 the login writes nothing
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["kv", "durable"])
def quiet_worker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Worker]:
    """A worker of this module only (nobody else writes to its storage)."""
    store = request.param
    w = start_worker(f"store-{store}", tmp_path_factory.mktemp(f"worker-store-{store}"), store)
    assert w.proc is not None
    _started.append(w.proc)
    yield w
    w.proc.stop()


def test_logins_write_nothing(make_tenant: t.Callable[..., Tenant], quiet_worker: Worker) -> None:
    t_ = make_tenant(on=quiet_worker)
    t_.launch()  # first use: key ring, platform key set, context record are stored now
    before = settled_footprint(quiet_worker)
    info = t_.create_launch()
    params = dict(info["params"])

    def one(_: int) -> int:
        r = http("GET", info["login_endpoint"] + "?" + urlencode(params), headers={"Accept": "application/json"})
        return r.status_code

    statuses = concurrently(8, lambda i: [one(j) for j in range(300 // 8 + (1 if i < 300 % 8 else 0))])
    flat = [s for batch in statuses for s in batch]
    assert len(flat) == 300 and set(flat) == {302}, sorted(set(flat))
    after = settled_footprint(quiet_worker)
    assert after == before, (
        f"300 logins wrote to the store ({quiet_worker.kind}): before {before}, after {after}")


def test_launch_after_many_logins_then_replay(make_tenant: t.Callable[..., Tenant], quiet_worker: Worker) -> None:
    t_ = make_tenant(on=quiet_worker)
    info = t_.create_launch()

    def one(_: int) -> int:
        return http("GET", info["login_endpoint"] + "?" + urlencode(info["params"]),
                    headers={"Accept": "application/json"}).status_code

    assert set(concurrently(8, lambda i: [one(j) for j in range(38)])[0]) == {302}
    lg, auth = t_.authorized()
    before = store_footprint(quiet_worker)
    first = post_launch(auth["action"], auth["id_token"], auth["state"], cookie=lg.cookie_header())
    parse_launch(quiet_worker, first, auth["id_token"])
    again = post_launch(auth["action"], auth["id_token"], auth["state"], cookie=lg.cookie_header())
    assert_error(again, 401, "state_reused")
    assert_error(post_launch(auth["action"], auth["id_token"], auth["state"]), 401, "state_reused")
    after = settled_footprint(quiet_worker)
    grew = (after["kv_keys"] - before["kv_keys"]) + (after["do_rows"] - before["do_rows"])
    assert grew >= 1, f"a launch marks its state used (one write): {before} -> {after}"


def test_state_minted_under_kv_is_not_reused_under_durable(
        tmp_path_factory: pytest.TempPathFactory, platform: Platform) -> None:
    """Login on a kv worker, then the same storage, key and URL restarted as durable: the launch
    is accepted or state_expired, never a false state_reused."""
    tmp = tmp_path_factory.mktemp("worker-switch")
    key = secrets.token_urlsafe(48)
    w = start_worker("switch-kv", tmp, "kv", vars={"LTI_ENCRYPTION_KEY": key})
    assert w.proc is not None
    _started.append(w.proc)
    port = int(w.base.rsplit(":", 1)[1])
    try:
        cid = unique("client")
        reg = w.register(platform, client_id=cid)
        t_ = Tenant(worker=w, platform=platform, client_id=cid, deployment_id=platform.deployment_id,
                    registration=reg)
        t_.launch()  # the platform key set is cached in this storage too
        lg, auth = t_.authorized()
    finally:
        w.proc.stop()
    d = start_worker("switch-durable", tmp, "durable", vars={"LTI_ENCRYPTION_KEY": key}, port=port)
    assert d.proc is not None
    _started.append(d.proc)
    try:
        r = post_launch(auth["action"], auth["id_token"], auth["state"], cookie=lg.cookie_header())
        if r.status_code != 303:
            err = assert_error(r, r.status_code, r.json()["error"]["code"])
            assert err["code"] == "state_expired" and r.status_code == 401, (
                f"a state minted under kv, launched under durable: expected accepted or "
                f"state_expired, got\n{describe(r)}")
    finally:
        d.proc.stop()

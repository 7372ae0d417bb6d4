"""Launch validation: state, cookie, id_token rules, platform keys.

Crafted id_tokens start from a real login at the worker (real state and nonce) and the platform's
real id_token for it, changed and re-signed through the platform's /__control/sign.
"""
from __future__ import annotations

import base64
import json
import secrets
import typing as t
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

import jwt
import pytest

from ltihelpers import (CLAIM, CLAIM_DL, Platform, Tenant, Worker, assert_error, describe, now,
                        parse_launch, post_launch)


def b64(s: str) -> str:
    return base64.urlsafe_b64encode(s.encode()).rstrip(b"=").decode()


HDR_WITH_KID = b64('{"alg":"RS256","kid":"k1"}')


def tamper(s: str) -> str:
    i = len(s) // 2
    return s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]


def accepted(resp: t.Any, worker: Worker) -> t.Dict[str, t.Any]:
    assert resp.status_code == 303, describe(resp)
    return parse_launch(worker, resp).claims


# ---------------------------------------------------------------------------------------------
# state, nonce, cookie
# ---------------------------------------------------------------------------------------------


def test_replay_is_refused(make_tenant: t.Callable[..., Tenant], any_worker: Worker) -> None:
    t_ = make_tenant(on=any_worker)
    login, auth = t_.authorized()
    first = post_launch(auth["action"], auth["id_token"], auth["state"], cookie=login.cookie_header())
    parse_launch(any_worker, first, auth["id_token"])
    again = post_launch(auth["action"], auth["id_token"], auth["state"], cookie=login.cookie_header())
    assert_error(again, 401, "state_reused")
    again = post_launch(auth["action"], auth["id_token"], auth["state"])
    assert_error(again, 401, "state_reused")


def test_concurrent_replay_durable_single_winner(make_tenant: t.Callable[..., Tenant],
                                                 worker_durable: Worker) -> None:
    t_ = make_tenant(on=worker_durable)
    login, auth = t_.authorized()

    def go(_: int) -> t.Any:
        return post_launch(auth["action"], auth["id_token"], auth["state"], cookie=login.cookie_header())

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(go, range(6)))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(303) == 1, [describe(r) for r in results]
    for r in results:
        if r.status_code != 303:
            assert_error(r, 401, "state_reused")


def test_random_state(tenant: Tenant) -> None:
    login, auth = tenant.authorized()
    r = post_launch(auth["action"], auth["id_token"], secrets.token_urlsafe(32))
    assert_error(r, 401, "state_invalid")


def test_tampered_state(tenant: Tenant) -> None:
    login, auth = tenant.authorized()
    r = post_launch(auth["action"], auth["id_token"], tamper(auth["state"]))
    assert_error(r, 401, "state_invalid")
    # the untouched state still works afterwards: the forgery consumed nothing
    ok = post_launch(auth["action"], auth["id_token"], auth["state"], cookie=login.cookie_header())
    parse_launch(tenant.worker, ok, auth["id_token"])


def test_state_of_another_login(tenant: Tenant) -> None:
    """id_token of login B posted with the state of login A: nonce does not match."""
    login_a, auth_a = tenant.authorized()
    login_b, auth_b = tenant.authorized()
    r = post_launch(auth_a["action"], auth_b["id_token"], auth_a["state"])
    assert_error(r, 401, "nonce_mismatch")


def test_cookie_mismatch(tenant: Tenant) -> None:
    login_a, _ = tenant.authorized()
    login_b, auth_b = tenant.authorized()
    assert login_a.cookie and login_b.cookie
    wrong = {"Cookie": f"{login_b.cookie[0]}={login_a.cookie[1]}"}
    r = post_launch(auth_b["action"], auth_b["id_token"], auth_b["state"], cookie=wrong)
    assert_error(r, 401, "state_cookie_mismatch")
    login_c, auth_c = tenant.authorized()  # (a refused launch may have consumed B's state)
    assert login_c.cookie
    wrong = {"Cookie": f"{login_c.cookie[0]}={tamper(login_c.cookie[1])}"}
    r = post_launch(auth_c["action"], auth_c["id_token"], auth_c["state"], cookie=wrong)
    assert_error(r, 401, "state_cookie_mismatch")


def test_launch_param_missing(tenant: Tenant) -> None:
    login, auth = tenant.authorized()
    assert_error(post_launch(auth["action"], None, auth["state"]), 400, "launch_param_missing")
    assert_error(post_launch(auth["action"], auth["id_token"], None), 400, "launch_param_missing")
    assert_error(post_launch(auth["action"], None, None), 400, "launch_param_missing")
    assert_error(post_launch(auth["action"], "", auth["state"]), 400, "launch_param_missing")


@pytest.mark.parametrize("token", [
    "abc", "a.b", "not.a.jwt", "a.b.c.d", "%%%.%%%.%%%",
    f"{HDR_WITH_KID}..",  # header fine (RS256, kid), no payload
    f"{HDR_WITH_KID}.{b64('not json')}.{b64('sig')}",  # payload not JSON
])
def test_token_malformed(tenant: Tenant, token: str) -> None:
    login, auth = tenant.authorized()
    r = post_launch(auth["action"], token, auth["state"], cookie=login.cookie_header())
    assert_error(r, 400, "token_malformed")


def test_launch_error_page_for_browsers(tenant: Tenant) -> None:
    login, auth = tenant.authorized()
    r = post_launch(auth["action"], auth["id_token"], "forged", json_errors=False)
    assert r.status_code == 401, describe(r)
    assert r.headers.get("Content-Type", "").startswith("text/html") and "state_invalid" in r.text


# ---------------------------------------------------------------------------------------------
# id_token rules (crafted)
# ---------------------------------------------------------------------------------------------


def test_crafted_baseline_is_accepted(tenant: Tenant) -> None:
    """Re-signing the platform's own claims unchanged is accepted: the negatives below are real."""
    claims = accepted(tenant.crafted(lambda c: None), tenant.worker)
    assert claims["sub"] == "user-1001"


def test_expired(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["iat"], c["exp"] = now() - 900, now() - 600
    assert_error(tenant.crafted(m), 401, "token_expired")


def test_expired_within_leeway_is_accepted(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["iat"], c["exp"] = now() - 300, now() - 20
    accepted(tenant.crafted(m), tenant.worker)


def test_iat_in_future(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["iat"], c["exp"] = now() + 600, now() + 900
    assert_error(tenant.crafted(m), 401, "token_not_yet_valid")


def test_nbf_in_future(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["nbf"] = now() + 600
    assert_error(tenant.crafted(m), 401, "token_not_yet_valid")


def test_nbf_and_iat_within_leeway_are_accepted(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["nbf"] = now() + 20
        c["iat"] = now() + 20
    accepted(tenant.crafted(m), tenant.worker)


def test_leeway_zero_from_registration(make_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_tenant(leewaySeconds=0)

    def m(c: t.Dict[str, t.Any]) -> None:
        c["nbf"] = now() + 30
    assert_error(t_.crafted(m), 401, "token_not_yet_valid")


def test_exp_missing(tenant: Tenant) -> None:
    assert_error(tenant.crafted(lambda c: c.pop("exp")), 400, "claim_missing")


def test_signed_by_stranger_key_with_platform_kid(tenant: Tenant) -> None:
    kid = tenant.platform.state()["kid"]
    assert_error(tenant.crafted(lambda c: None, header={"kid": kid}, key="stranger"),
                 401, "signature_invalid")


def test_payload_changed_after_signing(tenant: Tenant) -> None:
    login, auth = tenant.authorized()
    head, body, sig = auth["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "someone-else"
    body2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    r = post_launch(auth["action"], f"{head}.{body2}.{sig}", auth["state"], cookie=login.cookie_header())
    assert_error(r, 401, "signature_invalid")


def test_unknown_kid(tenant: Tenant) -> None:
    assert_error(tenant.crafted(lambda c: None, key="stranger"), 401, "key_not_found")


@pytest.mark.parametrize("header", [
    {"alg": "none"},
    {"alg": "None"},
    {"alg": "HS256"},
    {"alg": "RS512"},
    {"alg": "PS256"},
    {"alg": "ES256"},
], ids=lambda h: h["alg"])
def test_alg_not_allowed(tenant: Tenant, header: t.Dict[str, t.Any]) -> None:
    assert_error(tenant.crafted(lambda c: None, header=header), 401, "token_alg_not_allowed")


def test_kid_missing(tenant: Tenant) -> None:
    assert_error(tenant.crafted(lambda c: None, header={"kid": None}), 401, "token_kid_missing")


def test_wrong_issuer(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["iss"] = "https://evil.example.com"
    assert_error(tenant.crafted(m), 401, "issuer_mismatch")


def test_wrong_audience(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["aud"] = "someone-else"
        c["azp"] = "someone-else"
    assert_error(tenant.crafted(m), 401, "audience_mismatch")


def test_audience_array_without_us(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["aud"] = ["someone-else", "another"]
        c.pop("azp", None)
    assert_error(tenant.crafted(m), 401, "audience_mismatch")


def test_audience_array_with_azp(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["aud"] = [tenant.client_id, "another-audience"]
        c["azp"] = tenant.client_id
    accepted(tenant.crafted(m), tenant.worker)


def test_audience_array_without_azp(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["aud"] = [tenant.client_id, "another-audience"]
        c.pop("azp", None)
    assert_error(tenant.crafted(m), 401, "azp_mismatch")


def test_azp_not_us(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["aud"] = [tenant.client_id, "another-audience"]
        c["azp"] = "another-audience"
    assert_error(tenant.crafted(m), 401, "azp_mismatch")


def test_nonce_mismatch(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c["nonce"] = secrets.token_urlsafe(16)
    assert_error(tenant.crafted(m), 401, "nonce_mismatch")


def test_nonce_missing(tenant: Tenant) -> None:
    assert_error(tenant.crafted(lambda c: c.pop("nonce")), 401, "nonce_mismatch")


def test_wrong_version(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c[CLAIM + "version"] = "1.1.0"
    assert_error(tenant.crafted(m), 400, "version_unsupported")


def test_unsupported_message_type(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c[CLAIM + "message_type"] = "LtiUnknownThingRequest"
    assert_error(tenant.crafted(m), 400, "message_type_unsupported")


def test_resource_link_missing(tenant: Tenant) -> None:
    assert_error(tenant.crafted(lambda c: c.pop(CLAIM + "resource_link")), 400, "claim_missing")


def test_deep_linking_settings_missing(tenant: Tenant) -> None:
    r = tenant.crafted(lambda c: c.pop(CLAIM_DL), placement="browseembed")
    assert_error(r, 400, "claim_missing")


def test_deployment_id_missing(tenant: Tenant) -> None:
    assert_error(tenant.crafted(lambda c: c.pop(CLAIM + "deployment_id")), 400, "claim_missing")


def test_roles_not_a_list(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c[CLAIM + "roles"] = "Instructor"
    assert_error(tenant.crafted(m), 400, "claim_invalid")


def test_sub_missing(tenant: Tenant) -> None:
    # LTI 1.3 Core: no `sub` is an anonymous user, refused by default with its own code
    # (test_hardening_misc covers the guest policy).
    assert_error(tenant.crafted(lambda c: c.pop("sub")), 403, "anonymous_launch_refused")


def test_deployment_in_token_not_allowed(tenant: Tenant) -> None:
    def m(c: t.Dict[str, t.Any]) -> None:
        c[CLAIM + "deployment_id"] = "deployment-not-listed"
    assert_error(tenant.crafted(m), 403, "deployment_not_allowed")


# ---------------------------------------------------------------------------------------------
# platform keys: refetch on unknown kid, serve cached keys when the JWKS endpoint fails
# ---------------------------------------------------------------------------------------------


def test_key_rotation_refetches(make_tenant: t.Callable[..., Tenant], fresh_platform: Platform) -> None:
    t_ = make_tenant(via=fresh_platform)
    t_.launch()
    hits = fresh_platform.state()["jwks_hits"]
    assert hits >= 1
    rot = fresh_platform.rotate()
    assert rot["kid"] != rot["previous_kid"]
    launched = t_.launch()
    assert jwt.get_unverified_header(_id_token_of(launched)).get("kid") == rot["kid"]
    assert fresh_platform.state()["jwks_hits"] > hits, "the worker did not refetch the JWKS"
    assert launched.claims["sub"] == "user-1001"


def _id_token_of(launched: t.Any) -> str:
    body = launched.response.request.body
    body = body.decode() if isinstance(body, bytes) else body
    return dict(parse_qsl(body))["id_token"]


def test_cached_keys_survive_jwks_outage(make_tenant: t.Callable[..., Tenant],
                                         fresh_platform: Platform) -> None:
    t_ = make_tenant(via=fresh_platform)
    t_.launch()
    fresh_platform.set_jwks_status(500)
    try:
        launched = t_.launch(user="alan", role="Learner")
        assert launched.claims["role"] == "viewer"
    finally:
        fresh_platform.set_jwks_status(200)


def test_jwks_unavailable(make_tenant: t.Callable[..., Tenant], fresh_platform: Platform) -> None:
    t_ = make_tenant(via=fresh_platform)
    fresh_platform.set_jwks_status(500)
    try:
        assert_error(t_.attempt(), 502, "platform_jwks_unavailable")
    finally:
        fresh_platform.set_jwks_status(200)
    # once the platform is back, a new launch works
    t_.launch()


def test_jwks_fetch_is_cached(make_tenant: t.Callable[..., Tenant], fresh_platform: Platform) -> None:
    t_ = make_tenant(via=fresh_platform)
    t_.launch()
    hits = fresh_platform.state()["jwks_hits"]
    for _ in range(3):
        t_.launch()
    assert fresh_platform.state()["jwks_hits"] == hits, "JWKS fetched again for a known kid"


def test_json_errors_carry_correlation_id(tenant: Tenant) -> None:
    login, auth = tenant.authorized()
    r1 = post_launch(auth["action"], auth["id_token"], "forged-1")
    r2 = post_launch(auth["action"], auth["id_token"], "forged-2")
    e1 = assert_error(r1, 401, "state_invalid")
    e2 = assert_error(r2, 401, "state_invalid")
    assert e1["correlationId"] != e2["correlationId"]

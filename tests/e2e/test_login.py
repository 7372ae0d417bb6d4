"""OIDC login initiation at the worker (/lti/login and the KAF alias /hosted/index/oidc-init)."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from ltihelpers import (JSON, Platform, Tenant, Worker, assert_error, describe, http, login_request,
                        parse_login, unique)


def test_login_get_redirects_to_platform_auth(tenant: Tenant) -> None:
    info = tenant.create_launch(user="ada", role="Instructor", placement="mymedia")
    login = parse_login(login_request(info))
    w, p = tenant.worker, tenant.platform
    assert login.location.startswith(p.base + "/auth?"), login.location
    q = login.params
    assert q["scope"] == "openid"
    assert q["response_type"] == "id_token"
    assert q["response_mode"] == "form_post"
    assert q["prompt"] == "none"
    assert q["client_id"] == tenant.client_id
    assert q["redirect_uri"] == w.base + "/lti/launch"
    assert q["login_hint"] == info["login_hint"]
    assert q["lti_message_hint"] == info["lti_message_hint"]
    assert q["state"] and q["nonce"]


def test_login_post_form(tenant: Tenant) -> None:
    info = tenant.create_launch()
    login = parse_login(login_request(info, method="POST"))
    assert login.location.startswith(tenant.platform.base + "/auth?")
    assert login.params["redirect_uri"] == tenant.worker.base + "/lti/launch"


def test_state_and_nonce_fresh_and_long(tenant: Tenant) -> None:
    info = tenant.create_launch()
    a = parse_login(login_request(info))
    b = parse_login(login_request(info))
    assert a.state != b.state and a.nonce != b.nonce
    # >= 128 bits: at least 22 base64url characters (or 32 hex)
    for v in (a.state, a.nonce, b.state, b.nonce):
        assert len(v) >= 22, v


def test_state_cookie_attributes(tenant: Tenant) -> None:
    login = tenant.login()
    assert login.cookie is not None, f"no lti_edge_s_ cookie in {login.set_cookie!r}"
    name, value = login.cookie
    assert name.startswith("lti_edge_s_") and value
    attrs = [a.strip().lower() for a in login.set_cookie.split(";")[1:]]
    for expected in ("path=/", "max-age=600", "httponly", "secure", "samesite=none", "partitioned"):
        assert expected in attrs, (expected, login.set_cookie)


def test_login_kaf_alias(tenant: Tenant) -> None:
    info = tenant.create_launch(kaf=True)
    assert info["login_endpoint"] == tenant.worker.base + "/hosted/index/oidc-init"
    login = parse_login(login_request(info))
    assert login.location.startswith(tenant.platform.base + "/auth?")
    assert login.params["redirect_uri"] == tenant.worker.base + "/hosted/index/oauth2-launch"
    login = parse_login(login_request(info, method="POST"))
    assert login.params["redirect_uri"] == tenant.worker.base + "/hosted/index/oauth2-launch"


def test_login_accepts_canvas_deployment_id(tenant: Tenant) -> None:
    info = tenant.create_launch()
    params = dict(info["params"])
    params["deployment_id"] = params.pop("lti_deployment_id")
    login = parse_login(login_request(info, params=params))
    assert login.location.startswith(tenant.platform.base + "/auth?")


def test_login_accepts_lti_storage_target(tenant: Tenant) -> None:
    # The platform library passes lti_storage_target through; the worker then answers the
    # platform-storage login page (test_platform_storage.py) whose `next` is the auth request.
    info = tenant.create_launch(lti_storage_target="_parent")
    assert info["params"]["lti_storage_target"] == "_parent"
    resp = login_request(info)
    assert resp.status_code == 200 and tenant.platform.base + "/auth?" in resp.text, resp.text[:500]


def test_login_unknown_issuer(tenant: Tenant) -> None:
    info = tenant.create_launch()
    params = dict(info["params"], iss="https://" + unique("unknown-lms") + ".example.edu")
    assert_error(login_request(info, params=params), 401, "platform_unregistered")


def test_login_unknown_client_id(tenant: Tenant) -> None:
    info = tenant.create_launch()
    params = dict(info["params"], client_id=unique("not-registered"))
    assert_error(login_request(info, params=params), 401, "platform_unregistered")


def test_login_ambiguous_issuer(worker: Worker, platform: Platform) -> None:
    issuer = "https://" + unique("ambiguous-lms") + ".example.edu"
    ids = []
    for _ in range(2):
        b = platform.registration_body(client_id=unique("client"))
        b["issuer"] = issuer
        r = worker.admin("POST", "/lti/platforms", json=b)
        assert r.status_code in (200, 201), describe(r)
        ids.append(b["lti13ClientId"])
    params = {"iss": issuer, "login_hint": "user-1001",
              "target_link_uri": worker.base + "/hosted/index/my-media", "lti_message_hint": "x"}
    r = http("GET", worker.url("/lti/login?" + urlencode(params)), headers=JSON)
    assert_error(r, 400, "platform_ambiguous")
    # naming the client id resolves it
    r = http("GET", worker.url("/lti/login?" + urlencode(dict(params, client_id=ids[1]))), headers=JSON)
    login = parse_login(r)
    assert login.params["client_id"] == ids[1]


def test_login_single_registration_needs_no_client_id(worker: Worker, platform: Platform) -> None:
    issuer = "https://" + unique("single-lms") + ".example.edu"
    b = platform.registration_body(client_id=unique("client"))
    b["issuer"] = issuer
    r = worker.admin("POST", "/lti/platforms", json=b)
    assert r.status_code in (200, 201), describe(r)
    params = {"iss": issuer, "login_hint": "user-1001",
              "target_link_uri": worker.base + "/hosted/index/my-media"}
    login = parse_login(http("GET", worker.url("/lti/login?" + urlencode(params)), headers=JSON))
    assert login.params["client_id"] == b["lti13ClientId"]
    assert "lti_message_hint" not in login.params  # only echoed when sent


@pytest.mark.parametrize("target", [
    "https://evil.example.com/hosted/index/my-media",
    "http://127.0.0.1:1/hosted/index/my-media",
    "javascript:alert(1)",
    "/hosted/index/my-media",
])
def test_login_foreign_target_link_uri(tenant: Tenant, target: str) -> None:
    info = tenant.create_launch()
    params = dict(info["params"], target_link_uri=target)
    assert_error(login_request(info, params=params), 400, "target_link_uri_invalid")


def test_login_target_on_other_host_same_port(tenant: Tenant) -> None:
    info = tenant.create_launch()
    port = tenant.worker.base.rsplit(":", 1)[1]
    params = dict(info["params"], target_link_uri=f"http://localhost.evil.example:{port}/hosted/index/my-media")
    assert_error(login_request(info, params=params), 400, "target_link_uri_invalid")


@pytest.mark.parametrize("missing", ["iss", "login_hint", "target_link_uri"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_login_param_missing(tenant: Tenant, missing: str, method: str) -> None:
    info = tenant.create_launch()
    params = dict(info["params"])
    del params[missing]
    assert_error(login_request(info, method=method, params=params), 400, "login_param_missing")


def test_login_error_page_for_browsers(worker: Worker) -> None:
    r = http("GET", worker.url("/lti/login"), headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 400, describe(r)
    assert r.headers.get("Content-Type", "").startswith("text/html"), describe(r)
    assert "login_param_missing" in r.text, describe(r)
    assert_error(http("GET", worker.url("/lti/login"), headers=JSON), 400, "login_param_missing")


def test_kaf_alias_errors_too(tenant: Tenant) -> None:
    info = tenant.create_launch(kaf=True)
    params = dict(info["params"])
    del params["login_hint"]
    assert_error(login_request(info, params=params), 400, "login_param_missing")

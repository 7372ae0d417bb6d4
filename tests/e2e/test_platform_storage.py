"""LTI Platform Storage (1EdTech LTI Client Side postMessages), server side.

When the login carries `lti_storage_target`, the worker answers a page that stores the state's
binding secret with `lti.put_data` (to the platform's OIDC origin) before going on to the
platform; a launch that then arrives without the cookie answers a page that reads the secret back
with `lti.get_data` and posts it to `/lti/launch/storage`. These tests play the browser's part
(what the pages' scripts do) over HTTP; the scripts themselves run in the browser tests.
"""
from __future__ import annotations

import json
import re
import typing as t
from urllib.parse import parse_qsl, urlparse

from ltihelpers import (Tenant, assert_error, describe, http, login_request, parse_launch,
                        parse_state_cookie, post_launch)

CONFIG = re.compile(r'<script type="application/json" id="lti-edge">(.*?)</script>', re.S)


def page_config(resp: t.Any) -> t.Dict[str, t.Any]:
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html"), describe(resp)
    m = CONFIG.search(resp.text)
    assert m, resp.text[:2000]
    return json.loads(m.group(1))


def storage_login(tenant: Tenant, target: str = "_parent") -> t.Tuple[t.Any, t.Dict[str, t.Any]]:
    info = tenant.create_launch()
    params = dict(info["params"], lti_storage_target=target)
    resp = login_request(info, params=params)
    return resp, page_config(resp)


def pending_launch(tenant: Tenant) -> t.Tuple[t.Dict[str, t.Any], t.Dict[str, t.Any], str]:
    """Storage login, platform /auth, launch without cookie → (login config, launch config, continuation)."""
    _, cfg = storage_login(tenant)
    auth = tenant.platform.authorize(cfg["next"])
    resp = post_launch(auth["action"], auth["id_token"], auth["state"], json_errors=False)
    launch_cfg = page_config(resp)
    m = re.search(r'name="continuation" value="([A-Za-z0-9_-]+)"', resp.text)
    assert m, resp.text[:2000]
    return cfg, launch_cfg, m.group(1)


def finish(tenant: Tenant, continuation: str, value: str = "", error: str = "") -> t.Any:
    return http("POST", tenant.worker.url("/lti/launch/storage"),
                data={"continuation": continuation, "value": value, "storage_error": error},
                headers={"Accept": "application/json"})


def test_storage_login_page_stores_the_binding_secret(tenant: Tenant) -> None:
    resp, cfg = storage_login(tenant)
    assert cfg["target"] == "_parent"
    assert cfg["origin"] == tenant.platform.base, "messages go to the platform's OIDC origin only"
    assert cfg["key"].startswith("lti_edge_s_") and len(cfg["value"]) >= 22
    q = dict(parse_qsl(urlparse(cfg["next"]).query))
    assert cfg["next"].startswith(tenant.platform.base + "/auth?") and q["state"] and q["nonce"]
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'nonce-" in csp and "unsafe-inline' ;" not in csp and "'unsafe-eval'" not in csp
    assert re.search(r"script-src 'nonce-([A-Za-z0-9_-]+)'", csp).group(1) in resp.text
    cookie, _ = parse_state_cookie(resp)
    assert cookie == (cfg["key"], cfg["value"]), "the cookie carries the same secret where the browser keeps it"


def test_launch_bound_by_platform_storage(tenant: Tenant) -> None:
    login_cfg, launch_cfg, cont = pending_launch(tenant)
    assert launch_cfg == {"target": "_parent", "origin": tenant.platform.base, "key": login_cfg["key"]}
    launched = parse_launch(tenant.worker, finish(tenant, cont, value=login_cfg["value"]))
    assert launched.claims["binding"] == "platform-storage"
    assert launched.module_path == "/hosted/index/my-media"
    # The continuation is single use.
    assert_error(finish(tenant, cont, value=login_cfg["value"]), 401, "state_reused")


def test_storage_value_from_another_browser_is_refused(tenant: Tenant) -> None:
    _, _, cont = pending_launch(tenant)
    assert_error(finish(tenant, cont, value="not-the-secret-of-this-login"), 401, "state_cookie_mismatch")


def test_storage_unavailable_falls_back_to_signed_state(tenant: Tenant) -> None:
    _, _, cont = pending_launch(tenant)
    launched = parse_launch(tenant.worker, finish(tenant, cont, error="timeout"))
    assert launched.claims["binding"] == "state-only"


def test_cookie_still_wins_when_the_browser_keeps_it(tenant: Tenant) -> None:
    resp, cfg = storage_login(tenant)
    cookie, _ = parse_state_cookie(resp)
    auth = tenant.platform.authorize(cfg["next"])
    launched = parse_launch(tenant.worker, post_launch(auth["action"], auth["id_token"], auth["state"],
                                                       cookie={"Cookie": f"{cookie[0]}={cookie[1]}"}))
    assert launched.claims["binding"] == "cookie"


def test_bad_continuations(tenant: Tenant) -> None:
    assert_error(finish(tenant, "no such continuation"), 401, "state_invalid")
    assert_error(finish(tenant, ""), 401, "state_invalid")
    assert_error(finish(tenant, "A" * 32), 401, "state_reused")


def test_invalid_storage_target_is_ignored(tenant: Tenant) -> None:
    info = tenant.create_launch()
    resp = login_request(info, params=dict(info["params"], lti_storage_target="<script>alert(1)</script>"))
    assert resp.status_code == 302, describe(resp)
    resp = login_request(info, params=dict(info["params"], lti_storage_target="post_message_forwarding"))
    assert page_config(resp)["target"] == "post_message_forwarding"

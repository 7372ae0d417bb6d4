"""Full launches through lti1p3platform: login -> platform /auth -> worker launch -> session page,
with the session JWT verified against the worker's /lti/jwks."""
from __future__ import annotations

import base64
import html
import json
import re
import typing as t

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ltihelpers import (CLAIM, JSON, MODULE_PATHS, ROLE_ADMIN_INST, ROLE_CUSTOM, ROLE_GUEST_INST,
                        ROLE_INSTRUCTOR, ROLE_LEARNER, ROLE_TA, LIS, Launched, Platform, Tenant,
                        Worker, assert_error, assert_ok, call, describe, http, parse_launch,
                        parse_state_cookie, post_launch, unique)


def check_session_page(worker: Worker, launched: Launched) -> str:
    r = http("GET", launched.location, headers={"Accept": "text/html"})
    assert r.status_code == 200, describe(r)
    assert r.headers.get("Content-Type", "").startswith("text/html"), describe(r)
    assert r.headers.get("Referrer-Policy", "").lower() == "no-referrer", describe(r)
    assert launched.claims["sub"] in r.text, describe(r)
    assert launched.claims["role"] in r.text, describe(r)
    data = assert_ok(http("GET", worker.url("/lti/session"),
                          headers={"Authorization": f"Bearer {launched.token}", **JSON}))
    for k in ("sub", "role", "category", "module", "platform_id", "deployment_id", "context_id"):
        assert data[k] == launched.claims[k], (k, data, launched.claims)
    return r.text


def check_common(t_: Tenant, launched: Launched, module: str, message_type: str) -> None:
    c = launched.claims
    idc = launched.id_token_claims
    assert launched.module_path == MODULE_PATHS[module], launched.location
    assert c["module"] == module
    assert c["message_type"] == message_type
    assert c["platform_id"] == t_.registration["id"]
    assert c["deployment_id"] == t_.deployment_id
    assert c["context_id"] == idc[CLAIM + "context"]["id"]
    assert c["lti_roles"] == idc[CLAIM + "roles"]
    assert isinstance(c["category"], str) and c["category"]
    assert isinstance(c["jti"], str) and c["jti"]
    if message_type == "LtiResourceLinkRequest":
        assert c["resource_link_id"] == idc[CLAIM + "resource_link"]["id"]


def test_instructor_my_media(tenant: Tenant) -> None:
    launched = tenant.launch(user="ada", role="Instructor", course="bio101", placement="mymedia")
    check_common(tenant, launched, "mymedia", "LtiResourceLinkRequest")
    assert launched.claims["sub"] == "user-1001"
    assert launched.claims["role"] == "admin"
    assert ROLE_INSTRUCTOR in launched.claims["lti_roles"]
    assert launched.claims["context_id"] == "course-bio101"
    check_session_page(tenant.worker, launched)


def test_learner_media_gallery(tenant: Tenant) -> None:
    launched = tenant.launch(user="alan", role="Learner", course="his200", placement="coursegallery")
    check_common(tenant, launched, "coursegallery", "LtiResourceLinkRequest")
    assert launched.claims["sub"] == "user-1002"
    assert launched.claims["role"] == "viewer"
    check_session_page(tenant.worker, launched)


def test_kaf_alias_flow(tenant: Tenant) -> None:
    login, auth = tenant.authorized(kaf=True, placement="mymedia")
    assert login.redirect_uri == tenant.worker.base + "/hosted/index/oauth2-launch"
    assert auth["action"] == login.redirect_uri
    launched = parse_launch(tenant.worker,
                            post_launch(auth["action"], auth["id_token"], auth["state"],
                                        cookie=login.cookie_header()), auth["id_token"])
    check_common(tenant, launched, "mymedia", "LtiResourceLinkRequest")
    check_session_page(tenant.worker, launched)


def test_deep_linking_lands_on_browseembed(tenant: Tenant) -> None:
    launched = tenant.launch(user="ada", role="Instructor", placement="browseembed")
    assert launched.id_token_claims[CLAIM + "message_type"] == "LtiDeepLinkingRequest"
    check_common(tenant, launched, "browseembed", "LtiDeepLinkingRequest")
    check_session_page(tenant.worker, launched)


def test_deep_linking_always_browseembed(tenant: Tenant) -> None:
    launched = tenant.launch(placement="mymedia", message_type="LtiDeepLinkingRequest")
    assert launched.module_path == MODULE_PATHS["browseembed"]
    assert launched.claims["module"] == "browseembed"
    assert launched.claims["message_type"] == "LtiDeepLinkingRequest"


def test_launch_without_cookie(tenant: Tenant) -> None:
    launched = tenant.launch(with_cookie=False)
    assert launched.claims["sub"] == "user-1001"


def test_durable_nonce_store_flow(make_tenant: t.Callable[..., Tenant], worker_durable: Worker) -> None:
    t_ = make_tenant(on=worker_durable)
    launched = t_.launch(user="grace", role="Learner", course="cs150", placement="coursegallery")
    check_common(t_, launched, "coursegallery", "LtiResourceLinkRequest")
    check_session_page(worker_durable, launched)


def test_category_per_course(make_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_tenant()
    a = t_.launch(user="ada", role="Instructor", course="bio101", placement="mymedia").claims
    b = t_.launch(user="alan", role="Learner", course="bio101", placement="coursegallery").claims
    c = t_.launch(user="ada", role="Instructor", course="bio101", placement="coursegallery").claims
    d = t_.launch(user="ada", role="Instructor", course="his200", placement="mymedia").claims
    assert a["category"] == b["category"] == c["category"]
    assert d["category"] != a["category"]
    other = make_tenant()  # another registration, same course id
    e = other.launch(user="ada", course="bio101").claims
    assert e["category"] != a["category"]


@pytest.mark.parametrize("fields,spec,expected", [
    ({}, {}, "user-1001"),
    ({"ltiUserIdAttribute": "email"}, {}, "ada.lovelace@local-lms.test"),
    ({"lti13UserIdClaim": "preferred_username"}, {}, "ada.lovelace"),
    ({"lti13UserIdClaim": CLAIM + "custom", "lti13UserIdClaimProperty": "custom_username"},
     {"custom": {"custom_username": "ada.custom"}}, "ada.custom"),
    ({"lti13UserIdClaim": CLAIM + "lti1p1", "lti13UserIdClaimProperty": "user_id"},
     {"extra_claims": {CLAIM + "lti1p1": {"user_id": "legacy-1001"}}}, "legacy-1001"),
    ({"ltiUserIdAttribute": "email", "lti13UserIdClaim": "preferred_username"}, {},
     "ada.lovelace@local-lms.test"),
], ids=["sub", "attribute", "claim", "custom-property", "lti1p1-user_id", "attribute-wins"])
def test_user_id_rules(make_tenant: t.Callable[..., Tenant], fields: t.Dict[str, t.Any],
                       spec: t.Dict[str, t.Any], expected: str) -> None:
    t_ = make_tenant(**fields)
    launched = t_.launch(user="ada", **spec)
    assert launched.claims["sub"] == expected
    reg = assert_ok(t_.worker.admin("GET", f"/lti/platforms/{t_.registration['id']}"))
    for k, v in fields.items():
        assert reg[k] == v


@pytest.mark.parametrize("roles,expected", [
    ([ROLE_INSTRUCTOR], "admin"),
    (["Instructor"], "admin"),
    ([ROLE_LEARNER], "viewer"),
    (["Learner"], "viewer"),
    ([f"{LIS}/institution/person#Student"], "viewer"),
    (["Student"], "viewer"),
    ([ROLE_TA], "moderator"),
    (["TeachingAssistant"], "moderator"),
    ([ROLE_ADMIN_INST], "admin"),
    ([f"{LIS}/membership#ContentDeveloper"], "admin"),
    ([ROLE_GUEST_INST], "guest"),
    ([ROLE_LEARNER, ROLE_INSTRUCTOR], "admin"),
    ([ROLE_LEARNER, ROLE_TA], "moderator"),
    ([ROLE_CUSTOM, ROLE_LEARNER], "viewer"),
])
def test_default_role_map(tenant: Tenant, roles: t.List[str], expected: str) -> None:
    launched = tenant.launch(roles=roles)
    assert launched.claims["role"] == expected
    assert launched.claims["lti_roles"] == roles


def test_unmapped_role(tenant: Tenant) -> None:
    err = assert_error(tenant.attempt(roles=[ROLE_CUSTOM]), 403, "role_unmapped")
    assert err["roles"] == [ROLE_CUSTOM], "the page names the role the admin must map"
    assert_error(tenant.attempt(role="Auditor"), 403, "role_unmapped")


def test_role_map_override(make_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_tenant(roleMap={ROLE_LEARNER: "moderator", ROLE_CUSTOM: "guest"})
    assert t_.launch(roles=[ROLE_LEARNER]).claims["role"] == "moderator"
    assert t_.launch(roles=[ROLE_CUSTOM]).claims["role"] == "guest"
    assert t_.launch(roles=[ROLE_INSTRUCTOR]).claims["role"] == "admin"  # defaults still apply


def test_role_map_null_removes_default(make_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_tenant(roleMap={ROLE_LEARNER: None, "Learner": None})
    assert_error(t_.attempt(roles=[ROLE_LEARNER]), 403, "role_unmapped")
    assert t_.launch(roles=[ROLE_INSTRUCTOR]).claims["role"] == "admin"


def test_module_disabled(make_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_tenant(disabledModules=["mymedia", "browseembed"])
    assert_error(t_.attempt(placement="mymedia"), 403, "module_disabled")
    assert_error(t_.attempt(placement="browseembed"), 403, "module_disabled")
    assert t_.launch(placement="coursegallery").claims["module"] == "coursegallery"


def test_module_unknown(tenant: Tenant) -> None:
    r = tenant.attempt(target_link_uri=tenant.worker.base + "/hosted/index/no-such-module")
    assert_error(r, 400, "module_unknown")


def test_deployment_not_allowed(tenant: Tenant) -> None:
    assert_error(tenant.attempt(deployment_id="deployment-not-listed"), 403, "deployment_not_allowed")


def test_deployment_accept_and_record(make_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_tenant(deploymentPolicy="acceptAndRecord")
    first = t_.launch(course="bio101").claims
    new_dep = unique("dep-new")
    launched = t_.launch(deployment_id=new_dep, course="bio101")
    assert launched.claims["deployment_id"] == new_dep
    assert launched.claims["category"] != first["category"]  # category is per deployment too
    reg = assert_ok(t_.worker.admin("GET", f"/lti/platforms/{t_.registration['id']}"))
    assert new_dep in reg["deploymentIds"] and t_.deployment_id in reg["deploymentIds"]
    # recorded once, not twice
    t_.launch(deployment_id=new_dep)
    reg = assert_ok(t_.worker.admin("GET", f"/lti/platforms/{t_.registration['id']}"))
    assert reg["deploymentIds"].count(new_dep) == 1


def test_session_page_rejects_tampered_token(tenant: Tenant) -> None:
    launched = tenant.launch()
    head, body, sig = launched.token.split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    bad_tokens = [
        f"{head}.{body}.{flipped}",
        f"{head}.{body[:-4]}{'abcd' if body[-4:] != 'abcd' else 'wxyz'}.{sig}",
        "not-a-token",
    ]
    for bad in bad_tokens:
        url = tenant.worker.base + launched.module_path + "/ks/" + bad
        assert_error(http("GET", url, headers=JSON), 401, "session_invalid")
        r = http("GET", url, headers={"Accept": "text/html"})
        assert r.status_code == 401 and "session_invalid" in r.text, describe(r)
        r = http("GET", tenant.worker.url("/lti/session"),
                 headers={"Authorization": f"Bearer {bad}", **JSON})
        assert_error(r, 401, "session_invalid")
    assert_error(http("GET", tenant.worker.url("/lti/session"), headers=JSON), 401, "session_invalid")


def test_session_token_signed_by_another_key(tenant: Tenant) -> None:
    launched = tenant.launch()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(launched.token).get("kid")
    forged = jwt.encode(dict(launched.claims, role="admin"), key, algorithm="RS256",
                        headers={"kid": kid} if kid else None)
    url = tenant.worker.base + launched.module_path + "/ks/" + forged
    assert_error(http("GET", url, headers=JSON), 401, "session_invalid")
    # the same with a P-256 key of the attacker's under the real session kid (ES256)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    forged_es = jwt.encode(dict(launched.claims, role="admin"), ec_key, algorithm="ES256",
                           headers={"kid": kid, "typ": "lti-edge-session+jwt"} if kid else None)
    url = tenant.worker.base + launched.module_path + "/ks/" + forged_es
    assert_error(http("GET", url, headers=JSON), 401, "session_invalid")
    assert_error(call(tenant.worker, "GET", "/lti/session", forged_es), 401, "session_invalid")
    # and the real token with its algorithm swapped to the RSA family, or to none
    head, body, sig = launched.token.split(".")
    for alg in ("RS256", "none", "HS256"):
        h = base64.urlsafe_b64encode(json.dumps({"alg": alg, "kid": kid}).encode()).rstrip(b"=").decode()
        assert_error(call(tenant.worker, "GET", "/lti/session", f"{h}.{body}.{sig}"), 401, "session_invalid")


def test_browser_path_from_lms_home(worker: Worker, platform: Platform) -> None:
    """What a browser does: the LMS page's iframe src (tool login) -> 302 to /auth -> the
    platform's auto-submitting HTML form -> POST to the worker -> 303 to the tool page."""
    reg = worker.register(platform)  # the platform's default client id (upsert)
    r = http("GET", platform.base + "/?course=his200&user=alan&role=Learner&placement=coursegallery&launch=1")
    assert r.status_code == 200, describe(r)
    m = re.search(r"<iframe[^>]* name='([^']+)'[^>]* src='([^']+)'", r.text)
    assert m, r.text
    src = html.unescape(m.group(2))
    assert src.startswith(worker.base + "/lti/login?"), src
    login = http("GET", src, headers={"Accept": "text/html"})
    assert login.status_code == 302, describe(login)
    cookie, _raw = parse_state_cookie(login)
    auth = http("GET", login.headers["Location"], headers={"Accept": "text/html"})
    assert auth.status_code == 200 and "text/html" in auth.headers["Content-Type"], describe(auth)
    action = html.unescape(re.search(r"<form method=post action='([^']+)'", auth.text).group(1))
    fields = {k: html.unescape(v) for k, v in
              re.findall(r"<input type=hidden name='([^']+)' value='([^']*)'>", auth.text)}
    assert set(fields) == {"id_token", "state"} and action == worker.base + "/lti/launch"
    headers = {"Accept": "text/html"}
    if cookie:
        headers["Cookie"] = f"{cookie[0]}={cookie[1]}"
    resp = http("POST", action, data=fields, headers=headers)
    launched = parse_launch(worker, resp, fields["id_token"])
    assert launched.module_path == MODULE_PATHS["coursegallery"]
    assert launched.claims["sub"] == "user-1002" and launched.claims["role"] == "viewer"
    assert launched.claims["platform_id"] == reg["id"]
    page = http("GET", launched.location, headers={"Accept": "text/html"})
    assert page.status_code == 200, describe(page)

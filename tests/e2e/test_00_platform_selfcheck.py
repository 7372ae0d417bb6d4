"""The local platform on its own (no worker needed): this file plays the tool.

A tiny in-process "tool" serves a JWKS, so the platform's library paths that read the tool's keys
(client-credentials token endpoint, deep linking response, NRPS) are exercised too.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from oauthlib.oauth1 import SIGNATURE_TYPE_AUTH_HEADER, Client
from oauthlib.oauth1.rfc5849 import utils

from ltihelpers import (CLAIM, CLAIM_DL, JSON, ROLE_INSTRUCTOR, ROLE_LEARNER, Lti11Consumer, Platform,
                        Worker, describe, http, lti1p1_sign, now, oauth_body_hash, oauth_verify_form,
                        start_platform)

TOOL_KID = "fake-tool-key-1"


class FakeTool:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": TOOL_KID, "alg": "RS256", "use": "sig"})
        jwks = json.dumps({"keys": [jwk]}).encode()

        class H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/lti/jwks":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(jwks)))
                    self.end_headers()
                    self.wfile.write(jwks)
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *a: t.Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def sign(self, claims: t.Dict[str, t.Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": TOOL_KID})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def tool() -> t.Iterator[FakeTool]:
    ft = FakeTool()
    yield ft
    ft.close()


@pytest.fixture(scope="module")
def lms(tmp_path_factory: pytest.TempPathFactory, tool: FakeTool) -> t.Iterator[Platform]:
    p = start_platform(tmp_path_factory.mktemp("selfcheck"), tool.base, name="selfcheck-platform")
    yield p
    assert p.proc is not None
    p.proc.stop()


def auth_params(launch: t.Dict[str, t.Any], tool: FakeTool, **over: str) -> t.Dict[str, str]:
    params = {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
        "prompt": "none", "client_id": launch["client_id"], "redirect_uri": tool.base + "/lti/launch",
        "login_hint": launch["login_hint"], "lti_message_hint": launch["lti_message_hint"],
        "state": "state-123", "nonce": "nonce-456",
    }
    params.update(over)
    return {k: v for k, v in params.items() if v is not None}


def verify_id_token(lms: Platform, token: str, client_id: str) -> t.Dict[str, t.Any]:
    header = jwt.get_unverified_header(token)
    keys = http("GET", lms.base + "/jwks").json()["keys"]
    key = next(k for k in keys if k["kid"] == header["kid"])
    assert key["alg"] == "RS256" and key["use"] == "sig" and key["kty"] == "RSA"
    return jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=client_id,
                      issuer=lms.issuer)


def test_login_initiation_params(lms: Platform, tool: FakeTool) -> None:
    launch = lms.create_launch(user="alan", role="Learner", course="his200", placement="coursegallery")
    assert launch["login_endpoint"] == tool.base + "/lti/login"
    p = launch["params"]
    assert p["iss"] == lms.issuer
    assert p["login_hint"] == "user-1002"
    assert p["target_link_uri"] == tool.base + "/hosted/index/course-gallery"
    assert p["client_id"] == "lti-edge-local" and p["lti_deployment_id"] == "local-deployment-1"
    assert p["lti_message_hint"].startswith("lh-")
    kaf = lms.create_launch(kaf=True)
    assert kaf["login_endpoint"] == tool.base + "/hosted/index/oidc-init"


def test_auth_returns_signed_id_token(lms: Platform, tool: FakeTool) -> None:
    launch = lms.create_launch(user="alan", role="Learner", course="his200", placement="coursegallery",
                               custom={"custom_username": "alan.t"})
    r = http("GET", lms.base + "/auth?" + urlencode(auth_params(launch, tool)), headers=JSON)
    assert r.status_code == 200, describe(r)
    body = r.json()
    assert body["action"] == tool.base + "/lti/launch" and body["state"] == "state-123"
    c = verify_id_token(lms, body["id_token"], "lti-edge-local")
    assert c["nonce"] == "nonce-456" and c["sub"] == "user-1002" and c["azp"] == "lti-edge-local"
    assert c[CLAIM + "message_type"] == "LtiResourceLinkRequest" and c[CLAIM + "version"] == "1.3.0"
    assert c[CLAIM + "deployment_id"] == "local-deployment-1"
    assert c[CLAIM + "target_link_uri"] == tool.base + "/hosted/index/course-gallery"
    assert c[CLAIM + "roles"][0] == ROLE_LEARNER
    assert c[CLAIM + "context"]["id"] == "course-his200"
    assert c[CLAIM + "resource_link"]["id"] == "rl-course-his200-coursegallery"
    assert c[CLAIM + "custom"] == {"custom_username": "alan.t"}
    assert "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint" in c
    assert "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice" in c
    assert 0 < c["exp"] - c["iat"] <= 300

    # POST form, HTML auto-submitting form
    r = http("POST", lms.base + "/auth", data=auth_params(launch, tool))
    assert r.status_code == 200 and "text/html" in r.headers["Content-Type"]
    assert f"action='{tool.base}/lti/launch'" in r.text and "name='id_token'" in r.text
    assert "document.forms[0].submit()" in r.text


def test_deep_linking_id_token(lms: Platform, tool: FakeTool) -> None:
    launch = lms.create_launch(placement="browseembed")
    assert launch["message_type"] == "LtiDeepLinkingRequest"
    r = http("GET", lms.base + "/auth?" + urlencode(auth_params(launch, tool)), headers=JSON)
    c = verify_id_token(lms, r.json()["id_token"], "lti-edge-local")
    assert c[CLAIM + "message_type"] == "LtiDeepLinkingRequest"
    dl = c[CLAIM_DL]
    assert dl["deep_link_return_url"] == lms.base + "/deep-link-return"
    assert set(dl["accept_types"]) == {"ltiResourceLink", "link", "html"}
    assert CLAIM + "resource_link" not in c
    assert c[CLAIM + "target_link_uri"] == tool.base + "/browseandembed/index/browseandembed"


@pytest.mark.parametrize("change,error", [
    ({"scope": "profile"}, "invalid_scope"),
    ({"response_type": "code"}, "unsupported_response_type"),
    ({"response_mode": "query"}, "invalid_request"),
    ({"prompt": "login"}, "invalid_request"),
    ({"client_id": "someone-else"}, "unauthorized_client"),
    ({"redirect_uri": "https://elsewhere.test/lti/launch"}, "invalid_request"),
    ({"nonce": None}, "invalid_request"),
    ({"state": None}, "invalid_request"),
    ({"login_hint": "user-9999"}, "login_required"),
    ({"lti_message_hint": "lh-unknown"}, "invalid_request"),
])
def test_auth_rejects(lms: Platform, tool: FakeTool, change: t.Dict[str, t.Any], error: str) -> None:
    launch = lms.create_launch()
    r = http("GET", lms.base + "/auth?" + urlencode(auth_params(launch, tool, **change)), headers=JSON)
    assert r.status_code == 400, describe(r)
    assert r.json()["error"] == error


def test_controls(lms: Platform) -> None:
    st = lms.state()
    old = st["kid"]
    rot = lms.rotate()
    assert rot["previous_kid"] == old and rot["kid"] != old
    kids = [k["kid"] for k in http("GET", lms.base + "/jwks").json()["keys"]]
    assert kids == [rot["kid"]]
    rot2 = lms.rotate(keep_old=True)
    kids = [k["kid"] for k in http("GET", lms.base + "/jwks").json()["keys"]]
    assert kids == [rot2["kid"], rot["kid"]]

    lms.set_jwks_status(500)
    try:
        assert http("GET", lms.base + "/jwks").status_code == 500
    finally:
        lms.set_jwks_status(200)
    assert http("GET", lms.base + "/jwks").status_code == 200
    assert lms.state()["jwks_hits"] >= st["jwks_hits"] + 4

    claims = {"iss": lms.issuer, "sub": "x", "exp": now() + 60}
    tok = lms.sign(claims)
    assert jwt.get_unverified_header(tok)["kid"] == rot2["kid"]
    verify = jwt.PyJWK(http("GET", lms.base + "/jwks").json()["keys"][0]).key
    assert jwt.decode(tok, verify, algorithms=["RS256"])["sub"] == "x"
    none = lms.sign(claims, header={"alg": "none", "kid": None})
    assert none.endswith(".") and "kid" not in jwt.get_unverified_header(none)
    assert jwt.get_unverified_header(lms.sign(claims, header={"alg": "HS256"}))["alg"] == "HS256"
    assert jwt.get_unverified_header(lms.sign(claims, header={"alg": "RS512"}))["alg"] == "RS512"
    stranger = lms.sign(claims, key="stranger")
    assert jwt.get_unverified_header(stranger)["kid"] == lms.state()["stranger_kid"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(stranger, verify, algorithms=["RS256"])


def test_home_page_renders_iframe(lms: Platform, tool: FakeTool) -> None:
    r = http("GET", lms.base + "/")
    assert r.status_code == 200 and "Local LMS" in r.text and "BIO101" in r.text
    assert "<iframe" not in r.text
    r = http("GET", lms.base + "/?course=his200&user=grace&role=TeachingAssistant"
             "&placement=coursegallery&launch=1")
    assert r.status_code == 200 and "<iframe" in r.text and "min-height:800px" in r.text
    assert f"src='{tool.base}/lti/login?iss=" in r.text


def test_token_endpoint_and_nrps(lms: Platform, tool: FakeTool) -> None:
    lms.create_launch()  # records which tool the default client id belongs to
    scope = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
    assertion = tool.sign({"iss": "lti-edge-local", "sub": "lti-edge-local",
                           "aud": lms.base + "/token", "iat": now(), "exp": now() + 300,
                           "jti": "j-" + str(time.time())})
    form = {"grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion, "scope": scope}
    r = http("POST", lms.base + "/token", data=form)
    assert r.status_code == 200, describe(r)
    tok = r.json()
    assert tok["token_type"] == "bearer" and tok["scope"] == scope
    r = http("GET", lms.base + "/api/courses/course-bio101/memberships",
             headers={"Authorization": "Bearer " + tok["access_token"]})
    assert r.status_code == 200, describe(r)
    assert r.headers["Content-Type"].startswith("application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
    body = r.json()
    assert body["context"]["id"] == "course-bio101" and len(body["members"]) == 4
    r = http("GET", lms.base + "/api/courses/course-bio101/memberships",
             headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    bad = tool.sign({"iss": "lti-edge-local", "sub": "lti-edge-local", "aud": "https://elsewhere.test",
                     "iat": now(), "exp": now() + 300})
    r = http("POST", lms.base + "/token", data=dict(form, client_assertion=bad))
    assert r.status_code == 400 and r.json()["error"] == "invalid_client"


def test_deep_link_return(lms: Platform, tool: FakeTool) -> None:
    lms.create_launch()
    items = [{"type": "ltiResourceLink", "title": "Mitosis explained",
              "url": tool.base + "/browseandembed/index/media/entryid/0_abc"}]
    token = tool.sign({"iss": "lti-edge-local", "aud": lms.issuer, "iat": now(), "exp": now() + 300,
                       "nonce": "dl-1", CLAIM + "message_type": "LtiDeepLinkingResponse",
                       CLAIM + "version": "1.3.0", CLAIM + "deployment_id": "local-deployment-1",
                       "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": items})
    r = http("POST", lms.base + "/deep-link-return", data={"JWT": token}, headers=JSON)
    assert r.status_code == 200, describe(r)
    assert r.json()["content_items"] == items
    wrong_aud = tool.sign({"iss": "lti-edge-local", "aud": "https://elsewhere.test",
                           CLAIM + "message_type": "LtiDeepLinkingResponse"})
    r = http("POST", lms.base + "/deep-link-return", data={"JWT": wrong_aud}, headers=JSON)
    assert r.status_code == 400, describe(r)


# ---------------------------------------------------------------------------------------------
# LTI Advantage services on the platform: AGS, NRPS, the token endpoint's scopes, test faults
# ---------------------------------------------------------------------------------------------

AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
S_LINEITEM, S_LINEITEM_RO = AGS + "lineitem", AGS + "lineitem.readonly"
S_RESULT, S_SCORE = AGS + "result.readonly", AGS + "score"
S_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"


def id_token_for(lms: Platform, tool: FakeTool, **spec: t.Any) -> t.Dict[str, t.Any]:
    launch = lms.create_launch(**spec)
    r = http("GET", lms.base + "/auth?" + urlencode(auth_params(launch, tool)), headers=JSON)
    assert r.status_code == 200, describe(r)
    return verify_id_token(lms, r.json()["id_token"], launch["client_id"])


def token_request(lms: Platform, tool: FakeTool, scopes: t.List[str],
                  client_id: str = "lti-edge-local") -> t.Any:
    assertion = tool.sign({"iss": client_id, "sub": client_id, "aud": lms.base + "/token",
                           "iat": now(), "exp": now() + 300, "jti": "j-" + str(time.time())})
    return http("POST", lms.base + "/token", data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion, "scope": " ".join(scopes)})


def bearer(token: str, **extra: str) -> t.Dict[str, str]:
    return {"Authorization": "Bearer " + token, **extra}


def links(resp: t.Any) -> t.Dict[str, str]:
    """rel -> URL from the Link header(s)."""
    out: t.Dict[str, str] = {}
    for part in (resp.headers.get("Link") or "").split(","):
        if ";" in part:
            url, rel = part.split(";", 1)
            out[rel.strip().split("=", 1)[1].strip('"')] = url.strip().strip("<>")
    return out


def walk(url: str, token: str) -> t.Tuple[t.List[t.Any], t.List[str]]:
    """Follow rel=next; returns (all JSON pages, the URLs fetched)."""
    pages, seen = [], []
    while url and url not in seen and len(seen) < 20:
        seen.append(url)
        r = http("GET", url, headers=bearer(token))
        assert r.status_code == 200, describe(r)
        pages.append(r.json())
        url = links(r).get("next", "")
    return pages, seen


def new_course(lms: Platform, tool: FakeTool, **spec: t.Any) -> t.Tuple[str, t.Dict[str, t.Any]]:
    cid = "course-" + secrets.token_hex(5)
    claims = id_token_for(lms, tool, course={"id": cid, "label": "SC" + cid[-3:], "title": "Selfcheck"},
                          **spec)
    return cid, claims


@pytest.fixture
def reset_faults(lms: Platform) -> t.Iterator[None]:
    lms.set_faults()
    yield
    lms.set_faults()


def test_service_claims_in_launches(lms: Platform, tool: FakeTool) -> None:
    cid, c = new_course(lms, tool, resource_link={"id": "rl-sc-1", "title": "Week 1 video"})
    ags = c[AGS_CLAIM]
    assert ags["lineitems"] == f"{lms.base}/api/courses/{cid}/lineitems"
    assert ags["lineitem"].startswith(ags["lineitems"] + "/")
    assert set(ags["scope"]) == {S_LINEITEM, S_RESULT, S_SCORE}
    assert c[NRPS_CLAIM] == {"context_memberships_url": f"{lms.base}/api/courses/{cid}/memberships",
                             "service_versions": ["2.0"]}
    # the platform created the resource link's line item; the same one on the next launch
    items = lms.lineitems(cid)
    assert [i["id"] for i in items] == [ags["lineitem"]]
    assert items[0]["resourceLinkId"] == "rl-sc-1" and items[0]["label"] == "Week 1 video"
    again = id_token_for(lms, tool, course={"id": cid}, resource_link={"id": "rl-sc-1"})
    assert again[AGS_CLAIM]["lineitem"] == ags["lineitem"]
    other = id_token_for(lms, tool, course={"id": cid}, resource_link={"id": "rl-sc-2"})
    assert other[AGS_CLAIM]["lineitem"] != ags["lineitem"] and len(lms.lineitems(cid)) == 2

    c = id_token_for(lms, tool, ags=False, nrps=False)
    assert AGS_CLAIM not in c and NRPS_CLAIM not in c
    c = id_token_for(lms, tool, ags={"scope": [S_SCORE]})
    assert c[AGS_CLAIM]["scope"] == [S_SCORE] and "lineitem" in c[AGS_CLAIM] and NRPS_CLAIM in c
    c = id_token_for(lms, tool, ags={"lineitem": False})
    assert "lineitem" not in c[AGS_CLAIM] and "lineitems" in c[AGS_CLAIM]


def test_deep_linking_settings_from_spec(lms: Platform, tool: FakeTool) -> None:
    c = id_token_for(lms, tool, placement="browseembed", deep_linking={
        "accept_types": ["ltiResourceLink"], "accept_multiple": False, "accept_lineitem": True,
        "accept_presentation_document_targets": ["iframe"], "data": "opaque-123"})
    dl = c[CLAIM_DL]
    assert dl["accept_types"] == ["ltiResourceLink"] and dl["accept_multiple"] is False
    assert dl["accept_lineitem"] is True and dl["accept_presentation_document_targets"] == ["iframe"]
    assert dl["data"] == "opaque-123" and dl["deep_link_return_url"] == lms.base + "/deep-link-return"
    assert "lineitem" not in c[AGS_CLAIM] and "lineitems" in c[AGS_CLAIM]


def test_token_scopes_expiry_and_faults(lms: Platform, tool: FakeTool, reset_faults: None) -> None:
    lms.create_launch(client_id="selfcheck-other")  # a second client of the same tool
    before = lms.counters("lti-edge-local")
    r = token_request(lms, tool, [S_LINEITEM, S_SCORE, S_NRPS, "https://example.test/not-a-scope"])
    assert r.status_code == 200, describe(r)
    tok = r.json()
    assert tok["scope"].split() == [S_LINEITEM, S_SCORE, S_NRPS] and tok["expires_in"] == 3600
    claims = jwt.decode(tok["access_token"], options={"verify_signature": False})
    assert claims["scopes"] == tok["scope"] and claims["sub"] == "lti-edge-local"

    lms.set_faults(granted_scopes=[S_SCORE, S_RESULT], expires_in=7)
    tok = token_request(lms, tool, [S_LINEITEM, S_SCORE, S_RESULT]).json()
    assert tok["scope"].split() == [S_SCORE, S_RESULT] and tok["expires_in"] == 7
    claims = jwt.decode(tok["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 7 and claims["scopes"] == tok["scope"]
    r = token_request(lms, tool, [S_LINEITEM])
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope", describe(r)

    lms.set_faults(client_id="lti-edge-local", token_statuses=[401, 500])
    assert token_request(lms, tool, [S_SCORE], client_id="selfcheck-other").status_code == 200
    assert token_request(lms, tool, [S_SCORE]).status_code == 401
    assert token_request(lms, tool, [S_SCORE]).status_code == 500
    assert token_request(lms, tool, [S_SCORE]).status_code == 200
    lms.set_faults(token_status=500)
    for _ in range(2):
        r = token_request(lms, tool, [S_SCORE])
        assert r.status_code == 500 and r.json()["error"] == "server_error"
    after = lms.counters("lti-edge-local")
    assert after["token"] - before["token"] == 8
    r = http("POST", lms.base + "/__control/faults", json={"no_such_fault": True})
    assert r.status_code == 400


def test_ags_lineitems(lms: Platform, tool: FakeTool) -> None:
    cid, c = new_course(lms, tool, resource_link={"id": "rl-ags-1"})
    url = c[AGS_CLAIM]["lineitems"]
    tok = token_request(lms, tool, [S_LINEITEM, S_RESULT, S_SCORE]).json()["access_token"]
    created = []
    for i in range(6):
        r = http("POST", url, headers=bearer(tok, **{"Content-Type": LINEITEM_TYPE}),
                 json={"label": f"Quiz {i}", "scoreMaximum": 10 + i, "resourceId": f"res-{i % 2}",
                       "tag": "quiz" if i < 3 else "exam", "resourceLinkId": "rl-ags-1"})
        assert r.status_code == 201, describe(r)
        assert r.headers["Content-Type"].startswith(LINEITEM_TYPE)
        item = r.json()
        assert item["id"].startswith(url + "/") and item["label"] == f"Quiz {i}"
        created.append(item)
    # paging: limit=3 over 7 items (the resource link's own one + 6)
    pages, seen = walk(url + "?limit=3", tok)
    assert [len(p) for p in pages] == [3, 3, 1] and len(set(seen)) == 3
    assert [i["id"] for p in pages for i in p] == [c[AGS_CLAIM]["lineitem"]] + [i["id"] for i in created]
    r = http("GET", url, headers=bearer(tok))
    assert r.headers["Content-Type"].startswith("application/vnd.ims.lis.v2.lineitemcontainer+json")
    assert len(r.json()) == 5 and "next" in links(r)  # default page size 5
    # filters
    def ids(query: str) -> t.List[str]:
        return [i["id"] for p in walk(url + "?" + query, tok)[0] for i in p]
    assert ids("resource_id=res-1") == [created[i]["id"] for i in (1, 3, 5)]
    assert ids("tag=exam") == [created[i]["id"] for i in (3, 4, 5)]
    assert len(ids("resource_link_id=rl-ags-1")) == 7 and ids("resource_link_id=nope") == []
    # get, update, delete
    one = created[0]["id"]
    r = http("GET", one, headers=bearer(tok))
    assert r.status_code == 200 and r.json() == created[0], describe(r)
    r = http("PUT", one, headers=bearer(tok, **{"Content-Type": LINEITEM_TYPE}),
             json=dict(created[0], label="Quiz zero", scoreMaximum=50))
    assert r.status_code == 200 and r.json()["label"] == "Quiz zero" and r.json()["scoreMaximum"] == 50
    assert http("GET", one, headers=bearer(tok)).json()["label"] == "Quiz zero"
    r = http("PUT", one, headers=bearer(tok), json={"label": "", "scoreMaximum": 5})
    assert r.status_code == 400, describe(r)
    r = http("DELETE", one, headers=bearer(tok))
    assert r.status_code == 204, describe(r)
    assert http("GET", one, headers=bearer(tok)).status_code == 404
    assert http("DELETE", one, headers=bearer(tok)).status_code == 404
    # validation and auth
    for bad in ({"label": "x"}, {"label": "x", "scoreMaximum": 0}, {"scoreMaximum": 3},
                {"label": "x", "scoreMaximum": "ten"}):
        r = http("POST", url, headers=bearer(tok), json=bad)
        assert r.status_code == 400, (bad, describe(r))
    assert http("GET", url).status_code == 401
    assert http("GET", url, headers=bearer("not-a-token")).status_code == 401
    expired = lms.access_token(scope=[S_LINEITEM], expires_in=1)
    time.sleep(2)
    r = http("GET", url, headers=bearer(expired))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token", describe(r)
    score_only = lms.access_token(scope=[S_SCORE])
    r = http("GET", url, headers=bearer(score_only))
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope", describe(r)
    readonly = lms.access_token(scope=[S_LINEITEM_RO])
    assert http("GET", url, headers=bearer(readonly)).status_code == 200
    assert http("POST", url, headers=bearer(readonly), json={"label": "x", "scoreMaximum": 1}).status_code == 403
    assert http("GET", lms.base + "/api/courses/no-such-course/lineitems", headers=bearer(tok)).status_code == 404


def test_ags_scores_and_results(lms: Platform, tool: FakeTool) -> None:
    cid, c = new_course(lms, tool, resource_link={"id": "rl-scores"})
    lineitem = c[AGS_CLAIM]["lineitem"]
    tok = token_request(lms, tool, [S_SCORE, S_RESULT]).json()["access_token"]
    before = lms.counters("lti-edge-local")

    def score(user: str, given: t.Optional[float], ts: str, **extra: t.Any) -> t.Any:
        body = {"userId": user, "activityProgress": "Completed", "gradingProgress": "FullyGraded",
                "timestamp": ts, **extra}
        if given is not None:
            body.update(scoreGiven=given, scoreMaximum=10)
        return http("POST", lineitem + "/scores", headers=bearer(tok, **{"Content-Type": SCORE_TYPE}),
                    data=json.dumps(body))

    users = [f"user-{1000 + i}" for i in range(1, 8)]
    for i, u in enumerate(users):
        r = score(u, i, "2030-01-01T10:00:00Z", comment=f"c{i}")
        assert r.status_code == 200, describe(r)
    assert score(users[0], 9.5, "2030-01-01T11:00:00.250+00:00").status_code == 200
    r = score(users[0], 1, "2030-01-01T09:00:00Z")
    assert r.status_code == 409, "an older timestamp is refused\n" + describe(r)
    r = http("POST", lineitem + "/scores", headers=bearer(tok), json={"userId": "x"})
    assert r.status_code == 415, describe(r)
    for bad in ({"scoreGiven": -1, "scoreMaximum": 10}, {"scoreGiven": 1},
                {"activityProgress": "Done"}, {"gradingProgress": None}, {"timestamp": "yesterday"}):
        body = {"userId": "user-1001", "activityProgress": "Completed", "gradingProgress": "FullyGraded",
                "timestamp": "2030-01-02T00:00:00Z", **bad}
        r = http("POST", lineitem + "/scores", headers=bearer(tok, **{"Content-Type": SCORE_TYPE}),
                 data=json.dumps(body))
        assert r.status_code == 400, (bad, describe(r))
    recorded = lms.scores(lineitem=lineitem)
    assert len(recorded) == 8 and recorded[-1]["score"]["scoreGiven"] == 9.5
    assert all(s["client_id"] == "lti-edge-local" and s["course_id"] == cid for s in recorded)
    after = lms.counters("lti-edge-local")
    assert after["scores"] - before["scores"] == 8

    pages, _ = walk(lineitem + "/results?limit=3", tok)
    assert [len(p) for p in pages] == [3, 3, 1]
    results = {r["userId"]: r for p in pages for r in p}
    assert results[users[0]]["resultScore"] == 9.5 and results[users[0]]["resultMaximum"] == 10
    assert results[users[2]]["comment"] == "c2" and results[users[2]]["scoreOf"] == lineitem
    r = http("GET", lineitem + "/results?user_id=" + users[3], headers=bearer(tok))
    assert r.status_code == 200 and [x["userId"] for x in r.json()] == [users[3]], describe(r)
    assert r.headers["Content-Type"].startswith("application/vnd.ims.lis.v2.resultcontainer+json")
    # a score without scoreGiven clears the result's score
    assert score(users[1], None, "2030-01-03T00:00:00Z", activityProgress="InProgress",
                 gradingProgress="NotReady").status_code == 200
    r = http("GET", lineitem + "/results?user_id=" + users[1], headers=bearer(tok))
    assert "resultScore" not in r.json()[0]
    # scopes: results need result.readonly, scores need score
    ro = lms.access_token(scope=[S_LINEITEM_RO, S_RESULT])
    r = http("POST", lineitem + "/scores", headers=bearer(ro, **{"Content-Type": SCORE_TYPE}),
             data=json.dumps({"userId": "u", "activityProgress": "Completed",
                              "gradingProgress": "FullyGraded", "timestamp": "2030-01-04T00:00:00Z"}))
    assert r.status_code == 403, describe(r)
    assert http("GET", lineitem + "/results", headers=bearer(lms.access_token(scope=[S_SCORE]))).status_code == 403
    assert http("GET", c[AGS_CLAIM]["lineitems"] + "/999999/results", headers=bearer(tok)).status_code == 404


def test_nrps_pages_roles_and_differences(lms: Platform, tool: FakeTool) -> None:
    cid, c = new_course(lms, tool)
    url = c[NRPS_CLAIM]["context_memberships_url"]
    tok = token_request(lms, tool, [S_NRPS]).json()["access_token"]
    pages, seen = walk(url, tok)
    assert len(pages) >= 3 and len(set(seen)) == len(pages)
    members = [m for p in pages for m in p["members"]]
    assert len(members) == 12 and len({m["user_id"] for m in members}) == 12
    assert all(p["context"]["id"] == cid and p["id"] == url for p in pages)
    ada = next(m for m in members if m["user_id"] == "user-1001")
    assert ada["roles"] == [ROLE_INSTRUCTOR] and ada["email"]
    assert all(m["status"] == "Active" for m in members)
    r = http("GET", url + "?limit=5", headers=bearer(tok))
    assert len(r.json()["members"]) == 5 and "limit=5" in links(r)["next"]
    learners = [m for p in walk(url + "?role=Learner", tok)[0] for m in p["members"]]
    assert len(learners) == 8 and all(ROLE_LEARNER in m["roles"] for m in learners)
    full = [m for p in walk(url + "?" + urlencode({"role": ROLE_LEARNER}), tok)[0] for m in p["members"]]
    assert [m["user_id"] for m in full] == [m["user_id"] for m in learners]
    # differences
    diff = links(http("GET", url, headers=bearer(tok)))["differences"]
    assert diff.startswith(url + "?since=")
    r = http("GET", diff, headers=bearer(tok))
    assert r.status_code == 200 and r.json()["members"] == [], describe(r)
    lms.change_roster(cid, add=[{"user_id": "user-3001", "roles": [ROLE_LEARNER], "name": "New Student"}],
                      remove=["user-2002"], status={"user-1004": "Inactive"})
    changed = {m["user_id"]: m["status"] for p in walk(diff, tok)[0] for m in p["members"]}
    assert changed == {"user-3001": "Active", "user-2002": "Deleted", "user-1004": "Inactive"}
    now_members = {m["user_id"] for p in walk(url, tok)[0] for m in p["members"]}
    assert "user-2002" not in now_members and {"user-3001", "user-1004"} <= now_members
    # auth
    assert http("GET", url).status_code == 401
    r = http("GET", url, headers=bearer(lms.access_token(scope=[S_SCORE])))
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    assert http("GET", lms.base + "/api/courses/no-such-course/memberships", headers=bearer(tok)).status_code == 404


def test_service_faults(lms: Platform, tool: FakeTool, reset_faults: None) -> None:
    cid, c = new_course(lms, tool, resource_link={"id": "rl-faults"})
    url = c[NRPS_CLAIM]["context_memberships_url"]
    lineitems = c[AGS_CLAIM]["lineitems"]
    tok = lms.access_token()
    before = lms.counters("lti-edge-local")
    lms.set_faults(service_401_once=True)
    r = http("GET", url, headers=bearer(tok))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert "invalid_token" in r.headers.get("WWW-Authenticate", "")
    assert http("GET", lineitems, headers=bearer(tok)).status_code == 200
    assert http("GET", url, headers=bearer(tok)).status_code == 200
    after = lms.counters("lti-edge-local")
    assert after["nrps"] - before["nrps"] == 2 and after["ags"] - before["ags"] == 1

    lms.set_faults(client_id="someone-else", nrps_malformed=True, ags_malformed=True)
    assert http("GET", url, headers=bearer(tok)).json()["members"]  # another client's faults
    lms.set_faults(nrps_malformed=True, ags_malformed=True)
    for u in (url, lineitems):
        r = http("GET", u, headers=bearer(tok))
        assert r.status_code == 200, describe(r)
        with pytest.raises(ValueError):
            r.json()
    lms.set_faults(nrps_oversized=True)
    r = http("GET", url, headers=bearer(tok))
    assert r.status_code == 200 and len(r.content) > 5 * 1024 * 1024
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert r.json()["context"]["id"] == cid
    lms.set_faults(ags_status=500, nrps_status=503)
    assert http("GET", lineitems, headers=bearer(tok)).status_code == 500
    assert http("GET", url, headers=bearer(tok)).status_code == 503
    assert http("GET", url, headers=bearer("not-a-token")).status_code == 401  # the token check first
    lms.set_faults(nrps_loop=True)
    fetched, nxt = [], url
    for _ in range(6):
        r = http("GET", nxt, headers=bearer(tok))
        assert r.status_code == 200, describe(r)
        fetched.append(nxt)
        nxt = links(r)["next"]
        if nxt in fetched:
            break
    assert nxt in fetched, f"the next link never pointed back: {fetched}"
    assert len(fetched) == 3, fetched


# ---------------------------------------------------------------------------------------------
# LTI 1.1: the lti1p1 migration claim of 1.3 launches, and Basic Outcomes (this file as the tool)
# ---------------------------------------------------------------------------------------------

LTI1P1 = CLAIM + "lti1p1"
POX_NS = "{http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0}"


def test_lti1p1_claim(lms: Platform, tool: FakeTool) -> None:
    """The claim's oauth_consumer_key_sign is computed from the id_token's own deployment_id, iss,
    aud (client id), exp and nonce: "good" verifies, "wrong" (Canvas: another nonce) does not,
    "absent" has none."""
    secret = "lti11-secret-" + secrets.token_hex(6)
    spec = {"user_id": "legacy-42", "context_id": "legacy-ctx-7", "resource_link_id": "legacy-rl-9",
            "consumer_key": "key-" + secrets.token_hex(4), "secret": secret}
    seen = {}
    for sign in ("good", "wrong", "absent"):
        launch = lms.create_launch(user="ada", lti1p1=dict(spec, sign=sign))
        assert launch["spec"]["lti1p1"]["sign"] == sign
        params = auth_params(launch, tool, nonce="nonce-" + secrets.token_hex(6))
        r = http("GET", lms.base + "/auth?" + urlencode(params), headers=JSON)
        assert r.status_code == 200, describe(r)
        c = verify_id_token(lms, r.json()["id_token"], "lti-edge-local")
        assert c["nonce"] == params["nonce"] and c["sub"] == "user-1001"
        claim = c[LTI1P1]
        assert claim["user_id"] == "legacy-42" and claim["oauth_consumer_key"] == spec["consumer_key"]
        assert claim["context_id"] == "legacy-ctx-7" and claim["resource_link_id"] == "legacy-rl-9"
        expected = lti1p1_sign(secret, spec["consumer_key"], c[CLAIM + "deployment_id"], c["iss"], c["aud"],
                               c["exp"], c["nonce"])
        if sign == "good":
            assert claim["oauth_consumer_key_sign"] == expected
        elif sign == "wrong":
            assert claim["oauth_consumer_key_sign"] != expected
            assert base64.b64decode(claim["oauth_consumer_key_sign"], validate=True)
        else:
            assert "oauth_consumer_key_sign" not in claim
        seen[sign] = claim
    # the migration guide's worked example, through the same formula
    assert lti1p1_sign("my-lti11-secret", "179248902", "689302", "https://lmsvendor.com", "PM48OJSfGDTAzAo",
                       1551290856, "172we8671fd8z") == "lWd54kFo5qU7xshAna6v8BwoBm6tmUjc6GTax6+12ps="
    # optional members stay out when not given; bad specs are refused
    bare = id_token_for(lms, tool, lti1p1={"user_id": "u1", "consumer_key": "k1", "secret": "s" * 8})
    assert set(bare[LTI1P1]) == {"user_id", "oauth_consumer_key", "oauth_consumer_key_sign"}
    for bad in ({"user_id": "u"}, dict(spec, sign="maybe"), dict(spec, extra=1), "legacy-42"):
        r = http("POST", lms.base + "/__control/launch", json={"lti1p1": bad})
        assert r.status_code == 400, describe(r)


def pox_request(operation: str, sourcedid: str, score: t.Optional[str] = None) -> str:
    result = (f"<result><resultScore><language>en</language><textString>{score}</textString></resultScore></result>"
              if score is not None else "")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<imsx_POXEnvelopeRequest xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">'
            "<imsx_POXHeader><imsx_POXRequestHeaderInfo><imsx_version>V1.0</imsx_version>"
            f"<imsx_messageIdentifier>msg-{secrets.token_hex(4)}</imsx_messageIdentifier></imsx_POXRequestHeaderInfo>"
            f"</imsx_POXHeader><imsx_POXBody><{operation}Request><resultRecord><sourcedGUID><sourcedId>{sourcedid}"
            f"</sourcedId></sourcedGUID>{result}</resultRecord></{operation}Request></imsx_POXBody>"
            "</imsx_POXEnvelopeRequest>")


def signed_pox(url: str, xml: str, key: str, secret: str) -> t.Tuple[bytes, t.Dict[str, str]]:
    """The POX body and headers as a tool sends them: oauthlib signs in the Authorization header
    and adds oauth_body_hash for the XML body."""
    client = Client(key, client_secret=secret, signature_type=SIGNATURE_TYPE_AUTH_HEADER)
    _uri, headers, body = client.sign(url, http_method="POST", body=xml,
                                      headers={"Content-Type": "application/xml"})
    fields = dict(utils.parse_authorization_header(headers["Authorization"]))
    assert utils.unescape(fields["oauth_body_hash"]) == oauth_body_hash(body.encode()), fields
    return body.encode(), headers


def pox_reply(r: t.Any) -> t.Tuple[str, str, t.Optional[str]]:
    """(codeMajor, description, readResult textString) of a POX reply."""
    assert r.status_code == 200, describe(r)
    root = ElementTree.fromstring(r.content)
    assert root.tag == POX_NS + "imsx_POXEnvelopeResponse", r.text
    code = root.findtext(f".//{POX_NS}imsx_codeMajor")
    desc = root.findtext(f".//{POX_NS}imsx_description") or ""
    text = root.findtext(f".//{POX_NS}readResultResponse/{POX_NS}result/{POX_NS}resultScore/{POX_NS}textString")
    return str(code), desc, text


def test_basic_outcomes(lms: Platform, reset_faults: None) -> None:
    key, secret = "key-" + secrets.token_hex(5), "secret-" + secrets.token_hex(8)
    assert key in lms.add_lti11_consumer(key, secret)
    course = "course-" + secrets.token_hex(4)
    url = lms.outcome_url(course)
    sid = "sourcedid-" + secrets.token_hex(6)

    def send(xml: str, k: str = key, s: str = secret, body: t.Optional[bytes] = None) -> t.Any:
        raw, headers = signed_pox(url, xml, k, s)
        return http("POST", url, data=raw if body is None else body, headers=headers)

    def last() -> t.Dict[str, t.Any]:
        return lms.outcomes(consumer_key=key)["requests"][-1]

    assert pox_reply(send(pox_request("replaceResult", sid, "0.92")))[0] == "success"
    got = lms.outcomes(consumer_key=key)
    assert got["scores"][sid]["score"] == 0.92 and got["scores"][sid]["course_id"] == course
    req = last()
    assert req["verified"] and req["signature_verified"] and req["body_hash_verified"], req
    assert req["operation"] == "replaceResult" and req["sourcedid"] == sid and req["score_text"] == "0.92"
    assert req["signature_method"] == "HMAC-SHA1" and req["content_type"] == "application/xml"
    code, _desc, text = pox_reply(send(pox_request("readResult", sid)))
    assert code == "success" and text == "0.92"
    for bad in ("1.5", "-0.1", "abc", ""):
        code, desc, _ = pox_reply(send(pox_request("replaceResult", sid, bad)))
        assert code == "failure" and "0.0" in desc, (bad, desc)
    assert lms.outcomes(consumer_key=key)["scores"][sid]["score"] == 0.92
    assert pox_reply(send(pox_request("deleteResult", sid)))[0] == "success"
    assert sid not in lms.outcomes(consumer_key=key)["scores"]
    code, _desc, text = pox_reply(send(pox_request("readResult", sid)))
    assert code == "success" and text == ""
    assert pox_reply(send(pox_request("fooResult", sid)))[0] == "unsupported"

    # refusals: POX failure, nothing stored
    code, desc, _ = pox_reply(send(pox_request("replaceResult", sid, "0.5"), s="not-the-secret"))
    assert code == "failure" and "signature" in desc.lower(), desc
    assert not last()["signature_verified"] and not last()["verified"]
    code, desc, _ = pox_reply(send(pox_request("replaceResult", sid, "0.5"), k="key-unknown-" + secrets.token_hex(3)))
    assert code == "failure" and "consumer" in desc.lower(), desc
    xml = pox_request("replaceResult", sid, "0.5")
    raw, headers = signed_pox(url, xml, key, secret)
    code, desc, _ = pox_reply(send(xml, body=raw.replace(b"0.5", b"0.9")))  # body changed after signing
    assert code == "failure" and "body_hash" in desc, desc
    assert last()["signature_verified"] and not last()["body_hash_verified"]
    assert pox_reply(http("POST", url, data=raw, headers=headers))[0] == "success"
    code, desc, _ = pox_reply(http("POST", url, data=raw, headers=headers))  # the same nonce again
    assert code == "failure" and "nonce" in desc, desc
    r = http("POST", url, data=xml.encode(), headers={"Content-Type": "application/xml"})  # unsigned
    assert pox_reply(r)[0] == "failure"
    assert lms.outcomes(consumer_key=key)["scores"][sid]["score"] == 0.5

    # faults
    lms.set_faults(outcome_reply="failure")
    code, desc, _ = pox_reply(send(pox_request("replaceResult", sid, "0.1")))
    assert code == "failure" and "test control" in desc
    lms.set_faults(outcome_reply="malformed")
    r = send(pox_request("replaceResult", sid, "0.1"))
    assert r.status_code == 200
    with pytest.raises(ElementTree.ParseError):
        ElementTree.fromstring(r.content)
    lms.set_faults(tamper_body=True)
    code, desc, _ = pox_reply(send(pox_request("replaceResult", sid, "0.1")))
    assert code == "failure" and "body_hash" in desc, desc
    assert last()["signature_verified"] and not last()["body_hash_verified"]
    lms.set_faults(outcome_reply="failure", consumer_key="someone-else")
    assert pox_reply(send(pox_request("replaceResult", sid, "0.3")))[0] == "success"
    assert lms.outcomes(consumer_key=key)["scores"][sid]["score"] == 0.3
    for bad in ({"outcome_reply": "sometimes"}, {"tamper_body": "yes"}):
        assert http("POST", lms.base + "/__control/faults", json=bad).status_code == 400
    assert http("POST", lms.base + "/__control/lti11-consumer", json={"key": "k"}).status_code == 400


def test_lti11_consumer_signer() -> None:
    """The suite's LTI 1.1 side (ltihelpers.Lti11Consumer, oauthlib) against oauthlib's own
    verifier: what the worker tests send is a correctly signed launch, and each knob breaks
    exactly what it should."""
    public = "https://tool.example.test"
    c = Lti11Consumer(key="key-" + secrets.token_hex(4), secret="secret-" + secrets.token_hex(8),
                      worker=Worker(kind="none", base=public, admin_token="", log=Path("/dev/null")))
    url = c.launch_url
    assert url == public + "/lti/launch"

    def ok(form: t.Any, at: str = url) -> bool:
        return oauth_verify_form(at, form.pairs, c.key, c.secret)[0]

    form = c.form(user_id="u-1", custom_username="ada l", context_title="Café & Crème = 100%")
    assert ok(form)
    assert form.get("oauth_signature_method") == "HMAC-SHA1" and form.get("oauth_consumer_key") == c.key
    assert form.get("lti_message_type") == "basic-lti-launch-request" and form.get("resource_link_id")
    assert not ok(form.tampered(roles="Learner")) and not ok(form.tampered(custom_extra="x"))
    assert not ok(form, at=url + "?x=1") and not ok(form, at="http://127.0.0.1:1/lti/launch")
    assert not ok(c.form(secret="wrong-secret"))
    fixed = c.form(nonce="fixed-nonce-1234")
    assert fixed.get("oauth_nonce") == "fixed-nonce-1234" and ok(fixed)
    old = c.form(timestamp_offset=-330)
    assert abs(int(old.get("oauth_timestamp") or 0) - (now() - 330)) <= 2 and not ok(old)
    assert ok(c.form(timestamp_offset=-200))
    proxy = c.form(sign_url="http://10.0.0.5:8080/lti/launch")
    assert proxy.signed_url == "http://10.0.0.5:8080/lti/launch" and ok(proxy, at=proxy.signed_url)
    assert not ok(proxy)
    assert c.form(drop=["oauth_nonce"]).get("oauth_nonce") is None
    assert c.form(user_id=None).get("user_id") is None
    cis = c.form(message_type="ContentItemSelectionRequest", content_item_return_url="https://lms.test/r?c=1",
                 data="x&y=1")
    assert ok(cis) and cis.get("resource_link_id") is None and cis.get("accept_media_types")
    plaintext = c.form(signature_method="PLAINTEXT")
    assert plaintext.get("oauth_signature_method") == "PLAINTEXT" and not ok(plaintext)

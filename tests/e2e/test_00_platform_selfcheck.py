"""The local platform on its own (no worker needed): this file plays the tool.

A tiny in-process "tool" serves a JWKS, so the platform's library paths that read the tool's keys
(client-credentials token endpoint, deep linking response, NRPS) are exercised too.
"""
from __future__ import annotations

import json
import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ltihelpers import (CLAIM, CLAIM_DL, JSON, ROLE_LEARNER, Platform, describe, http, now,
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

"""The admin console's sessions and the launch inspector, against the real worker.

Console: the admin token (or Cloudflare Access) is exchanged for an HttpOnly, Secure,
SameSite=Strict cookie; every admin route accepts it; a call that changes something must carry the
tool's own Origin; forged, signed-out and idle sessions are refused; with Cloudflare Access
configured, the Access JWT is verified against the team's key set (RS256, issuer, audience, time).

Inspector: each registration's newest attempts (admitted and refused, 1.3 and 1.1) with claims and
decisions; unknown platforms with what to create; suggestions from a chosen attempt; applying one
changes what the next launch does; the count kept is bounded."""
from __future__ import annotations

import http.server as httpserver
import json
import threading
import time
import typing as t

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from ltihelpers import (Platform, Tenant, Worker, assert_error, assert_ok, http, login_request, parse_launch,
                        post_launch, start_platform, start_worker, unique)
from supervisor import free_port

EVIL = "https://evil.example"
COOKIE = "lti_edge_console"


# ---------------------------------------------------------------- helpers

def sign_in(w: Worker, token: t.Optional[str] = None, origin: t.Optional[str] = "__tool__",
            headers: t.Optional[t.Dict[str, str]] = None) -> t.Any:
    hdrs = {"Accept": "application/json", **(headers or {})}
    if origin == "__tool__":
        origin = w.public
    if origin is not None:
        hdrs["Origin"] = origin
    body = {"token": w.admin_token if token is None else token}
    return http("POST", w.url("/lti/admin/session"), headers=hdrs, json=body)


def cookie_of(resp: t.Any) -> str:
    """The console cookie's value from a Set-Cookie header (requests' jar keeps no Secure cookie
    over http, so it is read by hand)."""
    raw = resp.headers.get("set-cookie", "")
    assert raw.startswith(COOKIE + "="), raw
    return raw.split(";", 1)[0].split("=", 1)[1]


def console(w: Worker, method: str, path: str, cookie: t.Optional[str], origin: t.Optional[str] = "__tool__",
            headers: t.Optional[t.Dict[str, str]] = None, **kw: t.Any) -> t.Any:
    hdrs = {"Accept": "application/json", **(headers or {})}
    if cookie is not None:
        hdrs["Cookie"] = f"{COOKIE}={cookie}"
    if origin == "__tool__":
        origin = w.public
    if origin is not None:
        hdrs["Origin"] = origin
    return http(method, w.url(path), headers=hdrs, **kw)


def names(w: Worker) -> t.List[str]:
    return [r.get("name", "") for r in w.registrations()]


# ---------------------------------------------------------------- console sessions

def test_sign_in_sets_a_first_party_cookie_only_for_the_right_token_from_the_tools_origin(worker: Worker) -> None:
    assert_error(sign_in(worker, token="wrong-" + unique("t")), 401, "console_token_invalid")
    assert_error(sign_in(worker, token=""), 401, "console_token_invalid")
    assert_error(sign_in(worker, token=worker.services_token), 401, "console_token_invalid")
    assert_error(sign_in(worker, origin=None), 403, "console_origin_refused")
    assert_error(sign_in(worker, origin=EVIL), 403, "console_origin_refused")
    refused = sign_in(worker, origin=EVIL)
    assert "set-cookie" not in {k.lower() for k in refused.headers}, refused.headers
    ok = sign_in(worker)
    data = assert_ok(ok)
    assert data["signedIn"] is True and data["via"] == "token" and data["idleTimeoutSecs"] == 1800, data
    raw = ok.headers["set-cookie"]
    for attr in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/lti"):
        assert attr in raw, raw
    assert worker.admin_token not in raw and worker.admin_token not in ok.text
    who = console(worker, "GET", "/lti/admin/session", cookie_of(ok))
    assert assert_ok(who)["signedIn"] is True
    assert cookie_of(who), "each console call renews the session"


def test_every_admin_route_takes_the_console_cookie_and_changes_need_the_tools_origin(
        worker: Worker, platform: Platform) -> None:
    c = cookie_of(sign_in(worker))
    listed = console(worker, "GET", "/lti/platforms", c)
    assert isinstance(assert_ok(listed), list)
    assert COOKIE + "=" in listed.headers.get("set-cookie", "")
    body = dict(platform.registration_body(client_id=unique("console")), name=unique("via-console"))
    # A cross-site page (or a client sending the cookie without an Origin) changes nothing.
    assert_error(console(worker, "POST", "/lti/platforms", c, origin=EVIL, json=body), 403, "console_origin_refused")
    assert_error(console(worker, "POST", "/lti/platforms", c, origin=None, json=body), 403, "console_origin_refused")
    assert_error(console(worker, "POST", "/lti/keys/next", c, origin=EVIL), 403, "console_origin_refused")
    assert body["name"] not in names(worker)
    created = assert_ok(console(worker, "POST", "/lti/platforms", c, json=body), (200, 201))
    assert created["name"] == body["name"]
    assert_ok(console(worker, "DELETE", f"/lti/platforms/{created['id']}", c))
    # No cookie, no bearer: the admin API says how to get in; a forged cookie is a dead session.
    assert_error(console(worker, "GET", "/lti/platforms", None), 401, "admin_unauthorized")
    forged = c[:-4] + ("AAAA" if not c.endswith("AAAA") else "BBBB")
    assert_error(console(worker, "GET", "/lti/platforms", forged), 401, "console_session_expired")
    assert_error(console(worker, "GET", "/lti/platforms", "x" * 5000), 401, "console_session_expired")


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(worker: Worker) -> None:
    c = cookie_of(sign_in(worker))
    assert_ok(console(worker, "GET", "/lti/keys", c))
    assert_error(console(worker, "DELETE", "/lti/admin/session", c, origin=EVIL), 403, "console_origin_refused")
    out = console(worker, "DELETE", "/lti/admin/session", c)
    assert assert_ok(out)["signedIn"] is False
    assert "Max-Age=0" in out.headers["set-cookie"]
    # KV is eventually consistent across locations; locally the record is there at once.
    assert_error(console(worker, "GET", "/lti/keys", c), 401, "console_session_expired")
    assert_error(console(worker, "GET", "/lti/admin/session", c), 401, "console_session_expired")


def test_the_bearer_token_still_needs_no_origin(worker: Worker) -> None:
    # Scripts keep working unchanged: the token in the header is not a browser credential.
    assert_ok(worker.admin("GET", "/lti/platforms"))
    assert_error(worker.admin("GET", "/lti/platforms", token="nope"), 401, "admin_unauthorized")


# ---------------------------------------------------------------- idle timeout, Access, bounds

class AccessTeam:
    """Cloudflare Access's side: a team domain serving its key set at /cdn-cgi/access/certs, and
    tokens signed like Access signs them."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.aud = "aud-" + unique("app")
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid="access-1", alg="RS256", use="sig")
        certs = json.dumps({"keys": [jwk]}).encode()

        class Handler(httpserver.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path != "/cdn-cgi/access/certs":
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(certs)))
                self.end_headers()
                self.wfile.write(certs)

            def log_message(self, *a: t.Any) -> None:
                pass

        self.server = httpserver.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, email: str = "ada@example.edu", aud: t.Optional[str] = None, iss: t.Optional[str] = None,
              exp_in: int = 300, key: t.Any = None, kid: str = "access-1") -> str:
        now = int(time.time())
        claims = {"iss": iss or self.origin, "aud": [aud or self.aud], "email": email, "sub": "u-" + email,
                  "iat": now, "nbf": now - 5, "exp": now + exp_in, "type": "app"}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
def access_team() -> t.Iterator[AccessTeam]:
    team = AccessTeam()
    yield team
    team.server.shutdown()


@pytest.fixture(scope="module")
def worker_console(tmp_path_factory: pytest.TempPathFactory, access_team: AccessTeam) -> t.Iterator[Worker]:
    """A worker with a 3 s idle timeout, Cloudflare Access in front, and 3 attempts kept."""
    w = start_worker("console", tmp_path_factory.mktemp("worker-console"), "kv", vars={
        "CONSOLE_IDLE_SECONDS": "3", "CF_ACCESS_TEAM_DOMAIN": access_team.origin, "CF_ACCESS_AUD": access_team.aud,
        "INSPECTOR_MAX_ATTEMPTS": "3"})
    try:
        yield w
    finally:
        assert w.proc is not None
        w.proc.stop()


def test_cloudflare_access_is_verified_on_every_console_call(worker_console: Worker, access_team: AccessTeam) -> None:
    w = worker_console
    assert_error(console(w, "GET", "/lti/admin/session", None), 401, "access_token_invalid")
    for bad in (access_team.token(aud="another-app"), access_team.token(iss="https://other.cloudflareaccess.com"),
                access_team.token(exp_in=-120), access_team.token(key=access_team.other),
                access_team.token(kid="unknown-kid"), "not-a-jwt"):
        assert_error(console(w, "GET", "/lti/admin/session", None, headers={"Cf-Access-Jwt-Assertion": bad}),
                     401, "access_token_invalid")
    good = {"Cf-Access-Jwt-Assertion": access_team.token()}
    signed = console(w, "GET", "/lti/admin/session", None, headers=good)
    data = assert_ok(signed)
    assert data["via"] == "access" and data["email"] == "ada@example.edu", data
    c = cookie_of(signed)
    assert_ok(console(w, "GET", "/lti/platforms", c, headers=good))
    # The cookie alone is not enough while Access is in front; nor is another person's token.
    assert_error(console(w, "GET", "/lti/platforms", c), 401, "access_token_invalid")
    other = {"Cf-Access-Jwt-Assertion": access_team.token(email="eve@example.edu")}
    assert_error(console(w, "GET", "/lti/platforms", c, headers=other), 401, "console_session_expired")
    # The admin token signs in too, but only with Access's word as well.
    assert_error(sign_in(w), 401, "access_token_invalid")
    assert_ok(sign_in(w, headers=good))


def test_an_idle_session_ends_and_a_busy_one_does_not(worker_console: Worker, access_team: AccessTeam) -> None:
    w = worker_console
    good = {"Cf-Access-Jwt-Assertion": access_team.token()}
    busy = cookie_of(sign_in(w, headers=good))
    idle = cookie_of(sign_in(w, headers=good))
    for _ in range(3):
        time.sleep(1.5)
        busy = cookie_of(console(w, "GET", "/lti/keys", busy, headers=good))
    assert_ok(console(w, "GET", "/lti/keys", busy, headers=good))
    assert_error(console(w, "GET", "/lti/keys", idle, headers=good), 401, "console_session_expired")


@pytest.mark.parametrize("groups", [[5], [2, 2, 1], [1, 3, 1]], ids=["one-write", "three-writes", "cut-mid-write"])
def test_the_inspector_keeps_a_bounded_number_of_attempts(worker_console: Worker,
                                                          tmp_path_factory: pytest.TempPathFactory,
                                                          groups: t.List[int]) -> None:
    """5 launches, 3 kept (the newest), whether they reach the store in one write or in several
    (an isolate writes what it gathered every 300 ms; a pause of 1 s between groups makes each
    group its own write, so the trim works across writes and inside one)."""
    w = worker_console
    platform = start_platform(tmp_path_factory.mktemp("platform-console"), w.base, name="platform-console")
    reg = w.register(platform, client_id=unique("bounded"), deploymentIds=["local-deployment-1"])
    t_ = Tenant(worker=w, platform=platform, client_id=reg["lti13ClientId"], deployment_id="local-deployment-1",
                registration=reg)
    i = 0
    for n in groups:
        for _ in range(n):
            t_.launch(user={"id": f"user-u{i}", "name": f"User {i}"})
            i += 1
        time.sleep(1.0)
    kept = wait_attempts(w, reg["id"], lambda a: len(a) >= 3 and a[0]["decided"]["userId"] == "user-u4"
                         if a and a[0].get("decided") else False)
    try:
        assert len(kept) == 3, [a["decided"]["userId"] for a in kept]
        assert [a["decided"]["userId"] for a in kept] == ["user-u4", "user-u3", "user-u2"]
    finally:
        assert platform.proc is not None
        platform.proc.stop()


# ---------------------------------------------------------------- the inspector

def wait_attempts(w: Worker, reg_id: str, done: t.Callable[[t.List[t.Dict[str, t.Any]]], bool]) -> t.List[t.Any]:
    """The registration's attempts once ``done`` holds (kept in the launch's background)."""
    got: t.List[t.Any] = []
    for _ in range(40):
        got = assert_ok(w.admin("GET", f"/lti/platforms/{reg_id}/launches"))["attempts"]
        if done(got):
            return got
        time.sleep(0.25)
    raise AssertionError(f"attempts never got there: {got}")


def test_admitted_and_refused_launches_are_shown_with_claims_and_decisions(make_tenant) -> None:
    t_: Tenant = make_tenant(ltiUserIdAttribute="custom_employee_no")
    long_value = "L" * 400
    refused = t_.attempt(user="grace", custom={"username": "grace.hopper", "essay": long_value})
    assert_error(refused, 400, "user_id_missing")
    login, auth = t_.authorized(user="ada", custom={"employee_no": "E-1", "essay": long_value})
    parse_launch(t_.worker, post_launch(auth["action"], auth["id_token"], auth["state"], cookie=login.cookie_header()))
    got = wait_attempts(t_.worker, t_.registration["id"], lambda a: len(a) >= 2)
    admitted, no = got[0], got[1]
    assert admitted["outcome"] == "admitted" and "code" not in admitted, admitted
    assert admitted["ltiVersion"] == "1.3" and admitted["deploymentId"] == t_.deployment_id
    assert admitted["messageType"] == "LtiResourceLinkRequest"
    assert admitted["decided"]["userId"] == "E-1" and admitted["decided"]["userIdSource"] == "ltiUserIdAttribute", admitted
    assert admitted["decided"]["role"] and admitted["decided"]["module"] and admitted["decided"]["category"]
    custom = admitted["claims"]["https://purl.imsglobal.org/spec/lti/claim/custom"]
    assert custom["essay"].startswith("L" * 120) and custom["essay"].endswith("(400 characters)"), custom["essay"]
    assert no["outcome"] == "refused" and no["code"] == "user_id_missing" and "decided" not in no, no
    assert no["claims"]["https://purl.imsglobal.org/spec/lti/claim/custom"]["username"] == "grace.hopper"
    # Never the token or its signature.
    text = json.dumps(got)
    assert auth["id_token"] not in text and auth["id_token"].split(".")[2] not in text


def test_a_refused_signature_is_shown_without_claims(make_tenant) -> None:
    t_: Tenant = make_tenant()
    resp = t_.crafted(lambda c: c, key="stranger")
    assert resp.status_code == 401, resp.text
    got = wait_attempts(t_.worker, t_.registration["id"], lambda a: len(a) >= 1)
    assert got[0]["outcome"] == "refused" and got[0]["code"] in ("key_not_found", "signature_invalid"), got[0]
    assert "claims" not in got[0], "claims that did not verify are not shown"


def test_an_unknown_platform_is_shown_with_what_to_create(worker: Worker, tenant: Tenant) -> None:
    client = unique("unregistered")
    info = tenant.create_launch()
    params = dict(info["params"], client_id=client)
    assert_error(login_request(info, params=params), 401, "platform_unregistered")
    found: t.List[t.Any] = []
    for _ in range(40):
        found = [a for a in assert_ok(worker.admin("GET", "/lti/launches/unknown"))["attempts"]
                 if a.get("presented", {}).get("clientId") == client]
        if found:
            break
        time.sleep(0.25)
    assert found, "the unknown login is listed"
    a = found[0]
    assert a["code"] == "platform_unregistered" and a["presented"]["issuer"] == tenant.platform.issuer
    assert client in a["whatToCreate"] and tenant.platform.issuer in a["whatToCreate"], a
    assert_error(worker.admin("GET", "/lti/launches/unknown", token=None), 401, "admin_unauthorized")


def test_suggestions_from_a_chosen_attempt_and_apply_changes_the_next_launch(make_tenant) -> None:
    t_: Tenant = make_tenant()
    reg_id = t_.registration["id"]
    t_.launch(user="ada", custom={"username": "ada.lovelace"})
    t_.launch(user="ada", custom={"username": "countess"})
    got = wait_attempts(t_.worker, reg_id, lambda a: len(a) >= 2)
    older = got[1]["id"]
    picked = assert_ok(t_.worker.admin("GET", f"/lti/platforms/{reg_id}/user-id-suggestions?attempt={older}"))
    assert picked["launch"]["attempt"] == older
    by = {s["attribute"]: s for s in picked["suggestions"]}
    assert by["custom: username"]["value"] == "ada.lovelace", by["custom: username"]
    missing = assert_ok(t_.worker.admin("GET", f"/lti/platforms/{reg_id}/user-id-suggestions?attempt=nope"))
    assert missing["launch"] is None and missing["hint"]
    # Apply: the rule the suggestion names, nothing else.
    path = f"/lti/platforms/{reg_id}/user-id-rule"
    before = assert_ok(t_.worker.admin("GET", f"/lti/platforms/{reg_id}"))
    applied = assert_ok(t_.worker.admin("PUT", path, json=by["custom: username"]["configuration"]))
    assert applied["userIdRule"]["ltiUserIdAttribute"] == "custom_username"
    after = assert_ok(t_.worker.admin("GET", f"/lti/platforms/{reg_id}"))
    assert {k: v for k, v in after.items() if k not in ("ltiUserIdAttribute", "updatedAt")} == \
        {k: v for k, v in before.items() if k not in ("ltiUserIdAttribute", "updatedAt")}
    assert t_.launch(user="ada", custom={"username": "ada.lovelace"}).claims["sub"] == "ada.lovelace"
    # Bad rules change nothing and say which field.
    bad = assert_error(t_.worker.admin("PUT", path, json={"lti13UserIdClaimProperty": "login"}), 400, "request_invalid")
    assert "lti13UserIdClaimProperty" in bad["fields"], bad
    assert "roleMap" in assert_error(t_.worker.admin("PUT", path, json={"roleMap": {}}), 400,
                                     "request_invalid")["fields"]
    assert_error(t_.worker.admin("PUT", path, data="[1]", headers={"content-type": "application/json"}), 400,
                 "request_invalid")
    assert_error(t_.worker.admin("PUT", f"/lti/platforms/{unique('nope')}/user-id-rule", json={}), 404, "not_found")
    assert_error(t_.worker.admin("PUT", path, token=None, json={}), 401, "admin_unauthorized")
    assert assert_ok(t_.worker.admin("GET", f"/lti/platforms/{reg_id}"))["ltiUserIdAttribute"] == "custom_username"


def test_an_lti11_launch_is_shown_and_its_user_id_is_marked(lti11_tenant: Tenant) -> None:
    t_ = lti11_tenant
    assert t_.lti11 is not None
    t_.lti11.launch(user_id="legacy-77", custom_username="ada11")
    got = wait_attempts(t_.worker, t_.registration["id"], lambda a: len(a) >= 1)
    assert got[0]["ltiVersion"] == "1.1" and got[0]["outcome"] == "admitted", got[0]
    assert got[0]["messageType"] == "basic-lti-launch-request"
    sug = assert_ok(t_.worker.admin("GET", f"/lti/platforms/{t_.registration['id']}/user-id-suggestions"))
    assert sug["launch"]["ltiVersion"] == "1.1" and sug["launch"]["lti11UserIdKnown"] is True
    marked = [s["attribute"] for s in sug["suggestions"] if s["matchesLti11UserId"]]
    assert "sub" in marked, sug["suggestions"]
    by = {s["attribute"]: s for s in sug["suggestions"]}
    assert by["custom: username"]["value"] == "ada11"


def test_a_13_launch_marks_the_user_id_a_kept_11_launch_of_the_registration_used(lti11_tenant: Tenant) -> None:
    t_ = lti11_tenant
    assert t_.lti11 is not None
    old_id = unique("legacy")
    t_.lti11.launch(user_id=old_id)
    # The same person, upgraded, launching by 1.3 without an lti1p1 claim: the LMS sends the old
    # id in a custom parameter.
    t_.launch(user="ada", custom={"old_user_id": old_id})
    got = wait_attempts(t_.worker, t_.registration["id"], lambda a: len(a) >= 2 and a[0]["ltiVersion"] == "1.3")
    sug = assert_ok(t_.worker.admin("GET", f"/lti/platforms/{t_.registration['id']}/user-id-suggestions"))
    assert sug["launch"]["attempt"] == got[0]["id"] and sug["launch"]["ltiVersion"] == "1.3"
    marked = [s["attribute"] for s in sug["suggestions"] if s["matchesLti11UserId"]]
    assert marked == ["custom: old_user_id"], sug["suggestions"]
    assert sug["launch"]["lti11UserIdsFromOtherLaunches"] == 1

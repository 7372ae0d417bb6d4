"""LTI Dynamic Registration, tool side, against the local LMS's Dynamic Registration endpoints in
Moodle's and Canvas's dialects: round trips that end in a registration that launches, one-time
expiring invitations, and every failure of the flow refused with its own code, registering nothing
and leaving the invitation usable."""
from __future__ import annotations

import threading
import time
import typing as t
from urllib.parse import urlencode

import pytest

from ltihelpers import (JSON, Platform, Worker, assert_error, assert_ok, call, describe, free_port, http,
                        launch_with)

CLOSE = "org.imsglobal.lti.close"
LTI_TOOL = "https://purl.imsglobal.org/spec/lti-tool-configuration"


def open_registration(url: str, start: t.Optional[t.Dict[str, str]] = None, html: bool = False,
                      **params: str) -> t.Any:
    """The LMS opening the tool's registration URL (as its iframe or popup does)."""
    query = dict(params)
    if start:
        query.setdefault("openid_configuration", start["openid_configuration"])
        query.setdefault("registration_token", start["registration_token"])
    headers = {"Accept": "text/html"} if html else dict(JSON)
    return http("GET", url + ("?" + urlencode(query) if query else ""), headers=headers)


def registration_for(worker: Worker, client_id: str) -> t.Optional[t.Dict[str, t.Any]]:
    return next((r for r in worker.registrations() if r["lti13ClientId"] == client_id), None)


class Watch:
    """What must not change when a registration attempt fails: the worker's registrations, the
    LMS's registered tools."""

    def __init__(self, worker: Worker, platform: Platform) -> None:
        self.worker, self.platform = worker, platform
        self.regs = len(worker.registrations())
        self.tools = len(platform.dr_registrations())

    def nothing_registered(self) -> None:
        assert len(self.worker.registrations()) == self.regs, "the worker saved a registration"
        assert len(self.platform.dr_registrations()) == self.tools, "the LMS registered a tool"


# -- round trips ----------------------------------------------------------------------------------


def test_moodle_round_trip_registers_a_platform_that_launches(worker: Worker, platform: Platform) -> None:
    inv = worker.invite(name="Moodle (local)")
    start = platform.dr_start("moodle")
    r = open_registration(inv["url"], start, html=True)
    assert r.status_code == 200, describe(r)
    # The confirmation closes the LMS's window: the close message, by a nonce'd script only.
    assert CLOSE in r.text and "postMessage" in r.text, r.text
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'nonce-" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], csp
    # What the tool sent the LMS (the LMS checked Moodle's required fields).
    tool = platform.dr_registrations()[-1]
    sent = tool["request"]
    assert sent["initiate_login_uri"] == worker.public + "/lti/login"
    assert sent["redirect_uris"] == [worker.public + "/lti/launch", worker.public + "/hosted/index/oauth2-launch"]
    assert sent["jwks_uri"] == worker.public + "/lti/jwks"
    assert sent["token_endpoint_auth_method"] == "private_key_jwt" and sent["response_types"] == ["id_token"]
    assert set(sent["scope"].split()) >= {"https://purl.imsglobal.org/spec/lti-ags/scope/score",
                                           "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"}
    conf = sent[LTI_TOOL]
    assert conf["custom_parameters"] == {"username": "$User.username"}
    assert conf["messages"] == [{"type": "LtiDeepLinkingRequest", "label": "Content Picker",
                                 "target_link_uri": worker.public + "/browseandembed/index/browseandembed",
                                 "placements": ["AddContentMenu"]}]
    assert "https://canvas.instructure.com/lti/privacy_level" not in conf
    # What the worker saved: the LMS's endpoints, the client id and deployment it issued.
    reg = registration_for(worker, tool["client_id"])
    assert reg is not None, worker.registrations()
    assert reg["issuer"] == platform.base and reg["name"] == "Moodle (local)"
    assert reg["lti13PlatformOidcAuthUrl"] == platform.base + "/mod/lti/auth.php"
    assert reg["lti13AuthTokenUrl"] == platform.base + "/mod/lti/token.php"
    assert reg["lti13KeysUrl"] == platform.base + "/mod/lti/certs.php"
    assert reg["deploymentIds"] == [tool["deployment_id"]] and reg["deploymentPolicy"] == "allowList"
    assert reg["platformFamily"] == "moodle"
    assert f'id="client-id">{tool["client_id"]}<' in r.text
    listed = worker.invitation(inv["id"])
    assert listed and listed["state"] == "used" and listed["registrationId"] == reg["id"], listed
    # It launches, and gets service tokens from Moodle's token path.
    launched = launch_with(worker, platform, tool["client_id"], tool["deployment_id"], auth_path="/mod/lti/auth.php")
    assert launched.claims["deployment_id"] == tool["deployment_id"]
    assert call(worker, "GET", "/lti/ags/lineitems", launched.token).status_code == 200
    # The custom parameter it asked for feeds the username user-id rule.
    assert_ok(worker.admin("POST", "/lti/platforms", json={
        "issuer": reg["issuer"], "lti13ClientId": reg["lti13ClientId"], "name": reg["name"],
        "lti13PlatformOidcAuthUrl": reg["lti13PlatformOidcAuthUrl"], "lti13AuthTokenUrl": reg["lti13AuthTokenUrl"],
        "lti13KeysUrl": reg["lti13KeysUrl"], "deploymentIds": reg["deploymentIds"],
        "ltiUserIdAttribute": "custom_username"}), 200)
    again = launch_with(worker, platform, tool["client_id"], tool["deployment_id"], auth_path="/mod/lti/auth.php",
                        custom={"username": "ada.lovelace"})
    assert again.claims["sub"] == "ada.lovelace", again.claims


def test_canvas_round_trip_uses_canvas_placements(worker: Worker, platform: Platform) -> None:
    inv = worker.invite()
    r = open_registration(inv["url"], platform.dr_start("canvas"), html=True)
    assert r.status_code == 200, describe(r)
    tool = platform.dr_registrations()[-1]
    assert tool["dialect"] == "canvas"
    conf = tool["request"][LTI_TOOL]
    assert conf["https://canvas.instructure.com/lti/privacy_level"] == "public"
    assert conf["https://canvas.instructure.com/lti/tool_id"] == "lti-edge"
    placements = {m["label"]: m["placements"] for m in conf["messages"]}
    assert placements == {"My Media": ["user_navigation"], "Media Gallery": ["course_navigation"],
                          "Content Picker": ["editor_button", "link_selection"]}, conf["messages"]
    assert {m["type"] for m in conf["messages"]} == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
    reg = registration_for(worker, tool["client_id"])
    assert reg is not None
    assert reg["name"] == "Canvas (Local University)", "named from Canvas's account name"
    assert reg["platformFamily"] == "canvas"
    assert reg["lti13PlatformOidcAuthUrl"] == platform.base + "/api/lti/authorize_redirect"
    assert reg["deploymentIds"] == [] and reg["deploymentPolicy"] == "acceptAndRecord", reg
    # Canvas makes the deployment when the app is installed: the first launch records it.
    launch_with(worker, platform, tool["client_id"], "canvas-install-1", auth_path="/api/lti/authorize_redirect",
                placement="coursegallery")
    assert registration_for(worker, tool["client_id"])["deploymentIds"] == ["canvas-install-1"]


def test_head_of_a_registration_url_uses_nothing(worker: Worker, platform: Platform) -> None:
    inv = worker.invite()
    r = http("HEAD", inv["url"])
    assert r.status_code == 200, describe(r)
    assert worker.invitation(inv["id"])["state"] == "open"
    assert open_registration(inv["url"], platform.dr_start("moodle")).status_code == 200


# -- invitations ------------------------------------------------------------------------------------


def test_an_invitation_registers_one_lms_only(worker: Worker, platform: Platform) -> None:
    inv = worker.invite()
    assert open_registration(inv["url"], platform.dr_start("moodle")).status_code == 200
    watch = Watch(worker, platform)
    seq = platform.request_seq()
    assert_error(open_registration(inv["url"], platform.dr_start("moodle")), 409, "invitation_used")
    watch.nothing_registered()
    assert platform.paths_since(seq, "/mod/lti/") == [], "the LMS was not even asked"


def test_concurrent_uses_of_one_invitation_register_once(worker: Worker, platform: Platform) -> None:
    inv = worker.invite()
    starts = [platform.dr_start("moodle") for _ in range(4)]
    answers: t.List[t.Any] = [None] * len(starts)

    def go(i: int) -> None:
        answers[i] = open_registration(inv["url"], starts[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(starts))]
    before = len(platform.dr_registrations())
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) == 1, [describe(a) for a in answers]
    for a in answers:
        if a.status_code != 200:
            assert_error(a, 409, "invitation_used")
    assert len(platform.dr_registrations()) == before + 1


@pytest.mark.parametrize("path", ["/lti/register/" + "A" * 43, "/lti/register/not-an-invitation"])
def test_unknown_invitations_are_refused(worker: Worker, platform: Platform, path: str) -> None:
    watch = Watch(worker, platform)
    seq = platform.request_seq()
    assert_error(open_registration(worker.url(path), platform.dr_start("moodle")), 403, "invitation_invalid")
    page = open_registration(worker.url(path), platform.dr_start("moodle"), html=True)
    assert page.status_code == 403 and "invitation_invalid" in page.text, describe(page)
    watch.nothing_registered()
    assert platform.paths_since(seq, "/mod/lti/") == []


def test_a_revoked_invitation_registers_nothing(worker: Worker, platform: Platform) -> None:
    inv = worker.invite()
    assert_ok(worker.admin("DELETE", f"/lti/invitations/{inv['id']}"))
    assert worker.invitation(inv["id"]) is None
    watch = Watch(worker, platform)
    assert_error(open_registration(inv["url"], platform.dr_start("moodle")), 403, "invitation_invalid")
    watch.nothing_registered()
    assert_error(worker.admin("DELETE", f"/lti/invitations/{inv['id']}"), 404, "not_found")


def test_an_expired_invitation_registers_nothing(worker: Worker, platform: Platform) -> None:
    inv = worker.invite(expiresInSeconds=30)
    # Valid until then: a well-formed request that is refused for another reason first proves the
    # invitation itself was accepted.
    assert_error(open_registration(inv["url"]), 400, "registration_url_invalid")
    time.sleep(max(0.0, inv["expiresAt"] - time.time()) + 1.5)
    watch = Watch(worker, platform)
    assert_error(open_registration(inv["url"], platform.dr_start("moodle")), 403, "invitation_expired")
    watch.nothing_registered()
    assert worker.invitation(inv["id"])["state"] == "expired"


def test_invitations_are_admin_only_and_checked(worker: Worker) -> None:
    assert_error(worker.admin("POST", "/lti/invitations", token=None, json={}), 401, "admin_unauthorized")
    assert_error(worker.admin("GET", "/lti/invitations", token="wrong"), 401, "admin_unauthorized")
    err = assert_error(worker.admin("POST", "/lti/invitations", json={"expiresInSeconds": 5, "name": "", "x": 1}),
                       400, "request_invalid")
    assert sorted(err["fields"]) == ["expiresInSeconds", "name", "x"], err
    inv = worker.invite(name="Sakai prod", expiresInSeconds=3600)
    assert inv["url"].startswith(worker.public + "/lti/register/")
    assert inv["expiresAt"] - inv["createdAt"] == 3600
    secret = inv["url"].rsplit("/", 1)[1]
    listing = worker.admin("GET", "/lti/invitations")
    assert secret not in listing.text, "the list never shows a secret"
    assert worker.invitation(inv["id"]) == {"id": inv["id"], "name": "Sakai prod", "createdAt": inv["createdAt"],
                                            "expiresAt": inv["expiresAt"], "state": "open", "registrationId": None}


# -- every failure of the flow -------------------------------------------------------------------


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/mod/lti/openid-configuration.php"


FAILURES = [
    # (id, dialect, how the configuration URL is changed, send the token, status, code)
    ("unreachable", "moodle", lambda u: closed_port_url(), True, 502, "platform_config_unreachable"),
    ("config-500", "moodle", lambda u: u + "?fault=http_500", True, 502, "platform_config_unreachable"),
    ("config-redirect", "moodle", lambda u: u + "?fault=redirect", True, 502, "platform_config_unreachable"),
    ("canvas-without-token", "canvas", lambda u: u, False, 502, "platform_config_unreachable"),
    ("not-json", "moodle", lambda u: u + "?fault=not_json", True, 502, "platform_config_invalid"),
    ("no-platform-claim", "moodle", lambda u: u + "?fault=no_platform_claim", True, 502, "platform_config_invalid"),
    ("no-rs256", "canvas", lambda u: u + "?fault=no_rs256", True, 502, "platform_config_invalid"),
    ("http-registration-endpoint", "moodle", lambda u: u + "?fault=http_endpoint", True, 502, "platform_config_invalid"),
    ("issuer-mismatch", "moodle", lambda u: u + "?fault=bad_issuer", True, 502, "platform_issuer_mismatch"),
    ("registration-endpoint-down", "moodle", lambda u: u + "?fault=dead_endpoint", True, 502,
     "platform_registration_failed"),
    ("refused", "canvas", lambda u: u + "?fault=refuse", True, 502, "platform_registration_refused"),
    ("moodle-without-token", "moodle", lambda u: u, False, 502, "platform_registration_refused"),
    ("no-client-id", "moodle", lambda u: u + "?fault=no_client_id", True, 502, "platform_registration_invalid"),
    ("http-configuration-url", "moodle", lambda u: "http://lms.example.test/mod/lti/openid-configuration.php", True,
     400, "registration_url_invalid"),
]


@pytest.mark.parametrize("name, dialect, url, token, status, code", FAILURES, ids=[f[0] for f in FAILURES])
def test_each_failure_has_its_code_registers_nothing_and_keeps_the_invitation(
        worker: Worker, platform: Platform, name: str, dialect: str, url: t.Callable[[str], str], token: bool,
        status: int, code: str) -> None:
    inv = worker.invite()

    def attempt(html: bool) -> t.Any:
        start = platform.dr_start(dialect)  # a fresh registration token each time, as the LMS gives
        params = {"openid_configuration": url(start["openid_configuration"])}
        if token:
            params["registration_token"] = start["registration_token"]
        return open_registration(inv["url"], html=html, **params)

    watch = Watch(worker, platform)
    assert_error(attempt(html=False), status, code)
    page = attempt(html=True)
    assert page.status_code == status and f"<code>{code}</code>" in page.text, describe(page)
    watch.nothing_registered()
    # The invitation was given back: the same link registers once the LMS side is right.
    assert worker.invitation(inv["id"])["state"] == "open"
    assert open_registration(inv["url"], platform.dr_start(dialect)).status_code == 200


def test_a_used_registration_token_is_refused_by_the_lms(worker: Worker, platform: Platform) -> None:
    start = platform.dr_start("moodle")
    assert open_registration(worker.invite()["url"], start).status_code == 200
    watch = Watch(worker, platform)
    assert_error(open_registration(worker.invite()["url"], start), 502, "platform_registration_refused")
    watch.nothing_registered()


def test_a_client_id_already_registered_is_not_overwritten(worker: Worker, platform: Platform) -> None:
    assert open_registration(worker.invite()["url"], platform.dr_start("moodle")).status_code == 200
    existing = registration_for(worker, platform.dr_registrations()[-1]["client_id"])
    assert existing is not None
    start = platform.dr_start("moodle")
    r = open_registration(worker.invite()["url"], openid_configuration=start["openid_configuration"] + "?fault=repeat_client",
                          registration_token=start["registration_token"])
    assert_error(r, 409, "platform_already_registered")
    assert registration_for(worker, existing["lti13ClientId"]) == existing, "left as it was"


def test_the_registration_url_needs_the_lmss_parameters(worker: Worker, platform: Platform) -> None:
    inv = worker.invite()
    start = platform.dr_start("moodle")
    for params in ({}, {"registration_token": start["registration_token"]},
                   {"openid_configuration": "not a url"}):
        assert_error(open_registration(inv["url"], **params), 400, "registration_url_invalid")
    twice = http("GET", inv["url"] + "?" + urlencode([("openid_configuration", start["openid_configuration"]),
                                                     ("openid_configuration", "https://evil.example/c")]), headers=JSON)
    assert_error(twice, 400, "registration_url_invalid")
    assert worker.invitation(inv["id"])["state"] == "open"

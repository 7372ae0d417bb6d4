"""LMS presets in the admin API (POST /lti/platforms with "preset"): what each fills, what it asks
for, that missing inputs are field errors, and that a preset registration launches (the local LMS
answers under Moodle's and Sakai's own paths, so siteUrl = the local LMS is a real Moodle/Sakai
as far as the worker can tell)."""
from __future__ import annotations

import typing as t

import pytest

from ltihelpers import (Platform, Worker, assert_error, assert_ok, call, describe, http, launch_with, unique)


def create(worker: Worker, **body: t.Any) -> t.Dict[str, t.Any]:
    return assert_ok(worker.admin("POST", "/lti/platforms", json=body), 201)


def test_canvas_preset_needs_only_the_client_id(worker: Worker) -> None:
    cid = unique("canvas")
    reg = create(worker, preset="canvas", lti13ClientId=cid, deploymentIds=["d-1"])
    assert reg["issuer"] == "https://canvas.instructure.com"
    assert reg["lti13PlatformOidcAuthUrl"] == "https://sso.canvaslms.com/api/lti/authorize_redirect"
    assert reg["lti13AuthTokenUrl"] == "https://sso.canvaslms.com/login/oauth2/token"
    assert reg["lti13KeysUrl"] == "https://sso.canvaslms.com/api/lti/security/jwks"
    assert reg["platformFamily"] == "canvas" and reg["name"] == f"Canvas (client {cid})"
    assert reg["deploymentIds"] == ["d-1"]
    beta = create(worker, preset="canvas", lti13ClientId=unique("canvas"), canvasEnvironment="beta")
    assert beta["issuer"] == "https://canvas.beta.instructure.com"
    assert beta["lti13KeysUrl"] == "https://sso.beta.canvaslms.com/api/lti/security/jwks"
    assert beta["deploymentPolicy"] == "acceptAndRecord", "no deployment given: the first launch's is recorded"


@pytest.mark.parametrize("body, expected", [
    ({"preset": "blackboard", "applicationId": "APP"},
     {"issuer": "https://blackboard.com", "lti13ClientId": "APP",
      "lti13PlatformOidcAuthUrl": "https://developer.blackboard.com/api/v1/gateway/oidcauth",
      "lti13AuthTokenUrl": "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken",
      "lti13KeysUrl": "https://developer.blackboard.com/api/v1/management/applications/APP/jwks.json",
      "platformFamily": "blackboard"}),
    ({"preset": "brightspace", "siteUrl": "https://school.brightspace.com/", "lti13ClientId": "CID"},
     {"issuer": "https://school.brightspace.com",
      "lti13PlatformOidcAuthUrl": "https://school.brightspace.com/d2l/lti/authenticate",
      "lti13AuthTokenUrl": "https://auth.brightspace.com/core/connect/token",
      "lti13KeysUrl": "https://school.brightspace.com/d2l/.well-known/jwks", "platformFamily": "brightspace"}),
    ({"preset": "schoology", "lti13ClientId": "CID"},
     {"issuer": "https://schoology.schoology.com",
      "lti13PlatformOidcAuthUrl": "https://lti-service.svc.schoology.com/lti-service/authorize-redirect",
      "lti13AuthTokenUrl": "https://lti-service.svc.schoology.com/lti-service/access-token",
      "lti13KeysUrl": "https://lti-service.svc.schoology.com/lti-service/.well-known/jwks",
      "platformFamily": "schoology"}),
], ids=["blackboard", "brightspace", "schoology"])
def test_preset_fills_its_patterns(worker: Worker, body: t.Dict[str, t.Any], expected: t.Dict[str, str]) -> None:
    tag = unique("x")
    body = {k: (v.replace("APP", tag).replace("CID", tag) if isinstance(v, str) else v) for k, v in body.items()}
    reg = create(worker, **body)
    for k, v in expected.items():
        assert reg[k] == v.replace("APP", tag).replace("CID", tag), (k, reg)


@pytest.mark.parametrize("body, fields", [
    ({"preset": "sakai"}, ["lti13ClientId", "siteUrl", "toolId"]),
    ({"preset": "moodle", "lti13ClientId": "c"}, ["siteUrl"]),
    ({"preset": "moodle", "siteUrl": "ftp://moodle.example.edu", "lti13ClientId": "c"}, ["siteUrl"]),
    ({"preset": "moodle", "siteUrl": "http://moodle.example.edu", "lti13ClientId": "c"}, ["siteUrl"]),
    ({"preset": "canvas"}, ["lti13ClientId"]),
    ({"preset": "canvas", "lti13ClientId": "c", "canvasEnvironment": "staging"}, ["canvasEnvironment"]),
    ({"preset": "blackboard"}, ["applicationId"]),
    ({"preset": "sakai", "siteUrl": "https://s.example.edu", "toolId": "1/../2", "lti13ClientId": "c"}, ["toolId"]),
    ({"preset": "blackboard", "applicationId": "a", "lti13ClientId": "b"}, ["applicationId"]),
    ({"preset": "d2l", "lti13ClientId": "c"}, ["preset"]),
    ({"preset": "other", "lti13ClientId": "c"},
     ["issuer", "lti13AuthTokenUrl", "lti13KeysUrl", "lti13PlatformOidcAuthUrl"]),
], ids=["sakai-empty", "moodle-no-site", "moodle-ftp", "moodle-http", "canvas-no-client", "canvas-env",
        "blackboard-no-app", "sakai-bad-tool-id", "blackboard-ids-differ", "unknown-preset", "other"])
def test_missing_or_bad_preset_inputs_are_field_errors(worker: Worker, body: t.Dict[str, t.Any],
                                                      fields: t.List[str]) -> None:
    before = len(worker.registrations())
    err = assert_error(worker.admin("POST", "/lti/platforms", json=body), 400, "registration_invalid")
    assert sorted(err["fields"]) == fields, err
    assert len(worker.registrations()) == before, "nothing registered"


def test_preset_inputs_accepted_once_given(worker: Worker) -> None:
    """The refused bodies above, completed, are accepted (so the refusals are about the inputs)."""
    create(worker, preset="sakai", siteUrl="https://sakai.example.edu", toolId="18", lti13ClientId=unique("s"))
    create(worker, preset="moodle", siteUrl="https://moodle.example.edu", lti13ClientId=unique("m"))
    create(worker, preset="blackboard", applicationId=unique("b"))


def test_explicit_fields_override_the_preset_and_upsert_finds_it(worker: Worker) -> None:
    cid = unique("canvas")
    first = create(worker, preset="canvas", lti13ClientId=cid, issuer="https://canvas.example.edu")
    assert first["issuer"] == "https://canvas.example.edu"
    again = assert_ok(worker.admin("POST", "/lti/platforms", json={
        "preset": "canvas", "lti13ClientId": cid, "issuer": "https://canvas.example.edu", "name": "Self-hosted"}), 200)
    assert again["id"] == first["id"] and again["name"] == "Self-hosted"


def test_moodle_preset_registration_launches_and_gets_service_tokens(worker: Worker, platform: Platform) -> None:
    """siteUrl = the local LMS: the worker logs in at {site}/mod/lti/auth.php, verifies against
    {site}/mod/lti/certs.php and gets service tokens from {site}/mod/lti/token.php."""
    cid = unique("moodle")
    reg = create(worker, preset="moodle", siteUrl=platform.base + "/", lti13ClientId=cid,
                 deploymentIds=["moodle-dep-1"])
    assert reg["issuer"] == platform.base
    assert reg["lti13PlatformOidcAuthUrl"] == platform.base + "/mod/lti/auth.php"
    launched = launch_with(worker, platform, cid, "moodle-dep-1", auth_path="/mod/lti/auth.php",
                           placement="coursegallery")
    assert launched.claims["module"] == "coursegallery"
    r = call(worker, "GET", "/lti/ags/lineitems", launched.token)
    assert r.status_code == 200, describe(r)
    sent = platform.token_requests(cid)
    assert sent and sent[-1]["status"] == 200, sent
    assert sent[-1]["assertion_claims"]["aud"] == platform.base + "/mod/lti/token.php"


def test_sakai_preset_registration_launches(worker: Worker, platform: Platform) -> None:
    cid = unique("sakai")
    create(worker, preset="sakai", siteUrl=platform.base, toolId="7", lti13ClientId=cid, deploymentIds=["1"])
    launched = launch_with(worker, platform, cid, "1", auth_path="/imsoidc/lti13/oidc_auth")
    r = call(worker, "GET", "/lti/nrps/members", launched.token)
    assert r.status_code == 200, describe(r)
    sent = platform.token_requests(cid)
    assert sent[-1]["assertion_claims"]["aud"] == platform.base + "/imsblis/lti13/token/7", sent[-1]


def test_the_preset_listing_is_what_registrations_apply(worker: Worker) -> None:
    listed = assert_ok(http("GET", worker.url("/lti/presets"), headers={"Accept": "application/json"}))
    by = {p["preset"]: p for p in listed}
    assert set(by) == {"moodle", "canvas", "blackboard", "brightspace", "sakai", "schoology", "other"}, list(by)
    moodle = by["moodle"]
    assert [a["field"] for a in moodle["asks"] if a["required"]][:1] == ["siteUrl"], moodle
    assert moodle["fills"]["lti13KeysUrl"] == "{siteUrl}/mod/lti/certs.php"
    # What the listing says Moodle fills is what a registration from the preset gets.
    client = unique("listed")
    reg = assert_ok(worker.admin("POST", "/lti/platforms", json={
        "preset": "moodle", "siteUrl": "https://moodle.example.edu", "lti13ClientId": client,
        "deploymentIds": ["1"]}), 201)
    for field, template in moodle["fills"].items():
        assert reg[field] == template.replace("{siteUrl}", "https://moodle.example.edu"), (field, reg[field])

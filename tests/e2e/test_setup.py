"""What an LMS admin pastes: the per-LMS pages (HTML, and JSON on request), Canvas's developer-key
JSON configuration, and a registration's own sheet (admin), with the custom parameter its user-id
rule needs — and that parameter, sent by the LMS, really selects the user id."""
from __future__ import annotations

import re

import pytest

from ltihelpers import (JSON, Tenant, Worker, assert_error, assert_ok, describe, http, unique)

LMSS = ["moodle", "canvas", "blackboard", "brightspace", "sakai", "schoology", "other"]


@pytest.mark.parametrize("lms", LMSS)
def test_each_lms_has_a_page_with_what_to_paste(worker: Worker, lms: str) -> None:
    r = http("GET", worker.url(f"/lti/setup/{lms}"), headers={"Accept": "text/html"})
    assert r.status_code == 200, describe(r)
    assert r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp, csp
    assert "<script" not in r.text
    page = r.text
    assert '<html lang="en">' in page and page.count("<h1>") == 1
    for url in (worker.public + "/lti/login", worker.public + "/lti/launch", worker.public + "/lti/jwks",
                worker.public + "/hosted/index/oauth2-launch"):
        assert url in page, url
    # Tables have header cells for screen readers; the current LMS is marked in the navigation.
    assert '<th scope="col">Placement</th>' in page and "<caption>" in page
    assert re.search(rf'href="/lti/setup/{lms}" aria-current="page"', page), page
    assert "username=$User.username" in page
    data = assert_ok(http("GET", worker.url(f"/lti/setup/{lms}"), headers=JSON))
    assert data["lms"] == lms
    assert data["toolUrls"]["redirectUris"] == [worker.public + "/lti/launch",
                                                worker.public + "/hosted/index/oauth2-launch"]
    kinds = {p["messageType"] for p in data["placements"]}
    assert "LtiDeepLinkingRequest" in kinds and "LtiResourceLinkRequest" in kinds
    for p in data["placements"]:
        assert p["targetLinkUri"].startswith(worker.public + "/"), p
    assert data["preset"]["preset"] == lms
    assert {o["id"] for o in data["userIdOptions"]} == {"sub", "username", "sourcedid", "email"}


def test_the_index_lists_every_lms_and_unknown_ones_are_not_found(worker: Worker) -> None:
    listed = assert_ok(http("GET", worker.url("/lti/setup"), headers=JSON))
    assert [x["lms"] for x in listed] == LMSS
    page = http("GET", worker.url("/lti/setup"), headers={"Accept": "text/html"})
    assert page.status_code == 200 and all(f'href="/lti/setup/{x}"' in page.text for x in LMSS), describe(page)
    assert_error(http("GET", worker.url("/lti/setup/webct"), headers=JSON), 404, "not_found")
    r = http("GET", worker.url("/lti/setup/webct"), headers={"Accept": "text/html"})
    assert r.status_code == 404 and "not_found" in r.text


def test_canvas_json_configuration_is_importable(worker: Worker) -> None:
    r = http("GET", worker.url("/lti/config/canvas.json"))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json"), describe(r)
    c = r.json()
    assert "success" not in c, "Canvas reads the configuration itself, no envelope"
    for field in ("title", "description", "oidc_initiation_url", "target_link_uri", "public_jwk_url"):
        assert isinstance(c.get(field), str) and c[field], field
    assert c["oidc_initiation_url"] == worker.public + "/lti/login"
    ext = c["extensions"][0]
    assert ext["platform"] == "canvas.instructure.com" and ext["privacy_level"] == "public"
    assert {p["placement"] for p in ext["settings"]["placements"]} == {
        "course_navigation", "user_navigation", "editor_button", "link_selection"}
    keys = http("GET", c["public_jwk_url"]).json()["keys"]
    assert any(k["kty"] == "RSA" and k["alg"] == "RS256" for k in keys), keys


def test_a_registrations_sheet_is_admin_only_and_names_its_rule(worker: Worker, make_tenant) -> None:
    t_: Tenant = make_tenant(platformFamily="canvas", ltiUserIdAttribute="custom_username")
    rid = t_.registration["id"]
    assert_error(worker.admin("GET", f"/lti/platforms/{rid}/setup", token=None), 401, "admin_unauthorized")
    assert_error(worker.admin("GET", f"/lti/platforms/{unique('nope')}/setup"), 404, "not_found")
    sheet = assert_ok(worker.admin("GET", f"/lti/platforms/{rid}/setup"))
    assert sheet["lms"] == "canvas"
    reg = sheet["registration"]
    assert reg["clientId"] == t_.client_id and reg["deploymentIds"] == [t_.deployment_id]
    assert reg["customParametersForUserIdRule"] == {"username": "$User.username"}


def test_the_username_parameter_selects_the_user_id_and_is_required_once_chosen(make_tenant) -> None:
    t_: Tenant = make_tenant(ltiUserIdAttribute="custom_username")
    launched = t_.launch(custom={"username": "grace.hopper"}, user="grace")
    assert launched.claims["sub"] == "grace.hopper", launched.claims
    assert launched.claims["user_id_source"] == "ltiUserIdAttribute"
    # Without the parameter the LMS admin was told to add, no silent fallback to sub.
    assert_error(t_.attempt(user="grace"), 400, "user_id_missing")

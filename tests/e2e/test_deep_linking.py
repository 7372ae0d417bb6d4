"""Deep Linking responses (POST /lti/deep-link): the tool's signed LtiDeepLinkingResponse, checked
by us against /lti/jwks and accepted by the platform library at its deep_link_return_url.

The session comes from a real LtiDeepLinkingRequest launch (303 to .../ks/<token>); the platform's
deep_linking_settings come from the launch spec (``deep_linking``).
"""
from __future__ import annotations

import html
import typing as t
from html.parser import HTMLParser

import jwt
import pytest

from ltihelpers import (CLAIM, JSON, Launched, Platform, Tenant, Worker, assert_error, assert_ok, call,
                        describe, http, unique)

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
ALL_TYPES = ["ltiResourceLink", "link", "html", "image", "file"]

RL = {"type": "ltiResourceLink", "title": "Mitosis in 2 minutes", "entryId": "1_mitosis"}
LINK = {"type": "link", "title": "Syllabus", "url": "https://example.edu/syllabus"}


def dl_launch(t_: Tenant, **settings: t.Any) -> Launched:
    settings.setdefault("accept_types", ALL_TYPES)
    launched = t_.launch(placement="browseembed", message_type="LtiDeepLinkingRequest",
                         deep_linking=settings)
    assert launched.claims["message_type"] == "LtiDeepLinkingRequest"
    return launched


def deep_link(worker: Worker, token: t.Optional[str], body: t.Any) -> t.Any:
    return call(worker, "POST", "/lti/deep-link", token, json=body)


def respond(t_: Tenant, launched: Launched, items: t.List[t.Dict[str, t.Any]],
            ttl: int = 300) -> t.Tuple[str, t.Dict[str, t.Any], t.Dict[str, t.Any]]:
    """POST the items; returns (jwt, header, claims) after verifying it against /lti/jwks."""
    data = assert_ok(deep_link(t_.worker, launched.token, {"contents": items}))
    assert data["returnUrl"] == t_.platform.base + "/deep-link-return", data
    header, claims = t_.worker.verify_tool_jwt(data["jwt"], audience=t_.platform.issuer,
                                               issuer=t_.client_id, ttl=ttl)
    return data["jwt"], header, claims


def platform_accepts(platform: Platform, token: str) -> t.List[t.Dict[str, t.Any]]:
    """The platform library (validate_deeplinking_resp) verifies it with the tool's JWKS."""
    r = http("POST", platform.base + "/deep-link-return", data={"JWT": token}, headers=JSON)
    assert r.status_code == 200, describe(r)
    return r.json()["content_items"]


def tool_launch_url(worker: Worker) -> str:
    return assert_ok(http("GET", worker.url("/lti/config")))["launchUrl"]


class Page(HTMLParser):
    """Forms, inputs and scripts of an HTML page (attribute order and quoting do not matter)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.forms: t.List[t.Dict[str, t.Optional[str]]] = []
        self.inputs: t.List[t.Dict[str, t.Optional[str]]] = []
        self.scripts: t.List[t.Dict[str, t.Optional[str]]] = []
        self.buttons = 0
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: t.List[t.Tuple[str, t.Optional[str]]]) -> None:
        a = {k.lower(): v for k, v in attrs}
        if tag == "form":
            self.forms.append(a)
        elif tag == "input":
            self.inputs.append(a)
            if (a.get("type") or "").lower() == "submit":
                self.buttons += 1
        elif tag == "script":
            self.scripts.append(a)
        elif tag == "button":
            self.buttons += 1


# ---------------------------------------------------------------------------------------------
# the response JWT
# ---------------------------------------------------------------------------------------------


def test_session_carries_deep_linking_settings(tenant: Tenant) -> None:
    data_value = unique("dl-data")
    launched = dl_launch(tenant, accept_types=["ltiResourceLink", "link"], accept_multiple=False,
                         accept_lineitem=True, accept_presentation_document_targets=["iframe"],
                         data=data_value)
    s = assert_ok(call(tenant.worker, "GET", "/lti/session", launched.token))
    dl = s["dl"]
    assert dl["return_url"] == tenant.platform.base + "/deep-link-return"
    assert sorted(dl["accept_types"]) == ["link", "ltiResourceLink"]
    assert dl["accept_multiple"] is False and dl["accept_lineitem"] is True
    assert dl["targets"] == ["iframe"] and dl["data"] == data_value
    assert s["lti_sub"] == launched.id_token_claims["sub"]


def test_deep_link_response_roundtrip(tenant: Tenant) -> None:
    data_value = unique("dl-data")
    launched = dl_launch(tenant, accept_multiple=True, accept_lineitem=True,
                         accept_presentation_document_targets=["iframe", "window"], data=data_value)
    items = [
        dict(RL, text="Cell division, quickly", thumbnailUrl="https://cdn.example.edu/t/1_mitosis.jpg",
             duration=124, width=640, height=360, custom={"start": "10"},
             lineItem={"scoreMaximum": 10, "label": "Mitosis quiz", "tag": "video"}),
        {"type": "ltiResourceLink", "title": "Meiosis explained", "contentId": "1_meiosis",
         "url": tenant.worker.base + "/browseandembed/index/media/entryid/1_meiosis",
         "thumbnail": {"url": "https://cdn.example.edu/t/1_meiosis.jpg", "width": 320, "height": 180},
         "lineItem": {"scoreMaximum": 5, "resourceId": "meiosis-quiz"}},
        dict(LINK, text="Read before week 2"),
        {"type": "html", "title": "Note", "html": "<p>Watch both videos.</p>"},
        {"type": "image", "title": "Diagram", "url": "https://cdn.example.edu/img/cell.png"},
        {"type": "file", "title": "Worksheet", "url": "https://cdn.example.edu/files/ws.pdf",
         "mediaType": "application/pdf"},
    ]
    token, header, c = respond(tenant, launched, items)
    assert header["alg"] == "RS256" and header["kid"]
    assert c["iss"] == tenant.client_id
    assert c["aud"] == tenant.platform.issuer and isinstance(c["aud"], str)
    assert isinstance(c["iat"], int) and c["exp"] - c["iat"] == 300
    assert isinstance(c.get("nonce"), str) and c["nonce"]
    assert c[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert c[CLAIM + "version"] == "1.3.0"
    assert c[CLAIM + "deployment_id"] == tenant.deployment_id
    assert c[DL + "data"] == data_value

    got = c[DL + "content_items"]
    assert [i["type"] for i in got] == [i["type"] for i in items]
    mitosis, meiosis, link, note, image, file_ = got
    assert mitosis["title"] == RL["title"] and mitosis["text"] == "Cell division, quickly"
    assert mitosis["url"] == tool_launch_url(tenant.worker)
    assert mitosis["custom"]["entry_id"] == "1_mitosis"
    assert mitosis["custom"]["duration"] == "124"
    assert mitosis["custom"]["start"] == "10"
    assert mitosis["thumbnail"]["url"] == "https://cdn.example.edu/t/1_mitosis.jpg"
    assert mitosis["iframe"]["width"] == 640 and mitosis["iframe"]["height"] == 360
    expected_li = {"scoreMaximum": 10, "label": "Mitosis quiz", "tag": "video", "resourceId": "1_mitosis"}
    assert {k: mitosis["lineItem"].get(k) for k in expected_li} == expected_li, mitosis
    assert meiosis["url"] == tenant.worker.base + "/browseandembed/index/media/entryid/1_meiosis"
    assert meiosis["custom"]["entry_id"] == "1_meiosis" and "duration" not in meiosis["custom"]
    thumb = {"url": "https://cdn.example.edu/t/1_meiosis.jpg", "width": 320, "height": 180}
    assert {k: meiosis["thumbnail"].get(k) for k in thumb} == thumb, meiosis
    assert meiosis["lineItem"]["resourceId"] == "meiosis-quiz" and meiosis["lineItem"]["scoreMaximum"] == 5
    assert "iframe" not in meiosis
    assert link["url"] == LINK["url"] and link["title"] == "Syllabus" and link["text"] == "Read before week 2"
    assert note["html"] == "<p>Watch both videos.</p>"
    assert image["url"] == "https://cdn.example.edu/img/cell.png"
    assert file_["url"] == "https://cdn.example.edu/files/ws.pdf" and file_["mediaType"] == "application/pdf"

    assert platform_accepts(tenant.platform, token) == got
    returned = http("GET", tenant.platform.base + "/__control/deep-link-returns").json()["returns"]
    assert any(r["claims"].get("nonce") == c["nonce"] for r in returned)

    # a second response from the same session: a fresh nonce, the same signer
    token2, header2, c2 = respond(tenant, launched, [LINK])
    assert c2["nonce"] != c["nonce"] and header2["kid"] == header["kid"]
    assert platform_accepts(tenant.platform, token2) == c2[DL + "content_items"]


def test_no_data_no_data_claim_and_items_alias(tenant: Tenant) -> None:
    launched = dl_launch(tenant)  # the platform sends no data
    data = assert_ok(deep_link(tenant.worker, launched.token, {"items": [dict(RL)]}))
    _header, c = tenant.worker.verify_tool_jwt(data["jwt"], audience=tenant.platform.issuer,
                                               issuer=tenant.client_id, ttl=300)
    assert DL + "data" not in c
    (item,) = c[DL + "content_items"]
    assert item["custom"]["entry_id"] == "1_mitosis" and "lineItem" not in item
    assert platform_accepts(tenant.platform, data["jwt"]) == [item]


# ---------------------------------------------------------------------------------------------
# refusals
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body,fields", [
    ({"contents": []}, ("contents", "items")),
    ({"contents": [dict(RL, entryId=f"1_e{i}") for i in range(51)]}, ("contents", "items")),
    ({}, ("contents", "items")),
    ({"contents": "1_mitosis"}, ("contents", "items")),
    ({"contents": [dict(LINK, title="")]}, ("title",)),
    ({"contents": [dict(LINK, title="x" * 501)]}, ("title",)),
    ({"contents": [dict(LINK, url="javascript:alert(1)")]}, ("url",)),
    ({"contents": [dict(LINK, url="not a url")]}, ("url",)),
    ({"contents": [{"type": "link", "title": "No URL"}]}, ("url",)),
    ({"contents": [{"type": "image", "title": "No URL"}]}, ("url",)),
    ({"contents": [{"type": "video", "title": "Unknown type", "url": "https://example.edu/v"}]}, ("type",)),
    ({"contents": [dict(RL, lineItem={"scoreMaximum": 0})]}, ("scoremaximum", "lineitem")),
    ({"contents": [dict(LINK, lineItem={"scoreMaximum": 10})]}, ("lineitem",)),
], ids=["zero-items", "51-items", "no-contents", "contents-not-a-list", "empty-title", "title-501",
        "javascript-url", "not-a-url", "link-without-url", "image-without-url", "unknown-type", "lineitem-score-max-0", "lineitem-on-link"])
def test_deep_link_invalid(tenant: Tenant, body: t.Dict[str, t.Any], fields: t.Tuple[str, ...]) -> None:
    launched = dl_launch(tenant, accept_multiple=True, accept_lineitem=True)
    err = assert_error(deep_link(tenant.worker, launched.token, body), 422, "deep_link_invalid")
    named = (err["message"] + " " + " ".join(err.get("fields") or {})).lower()
    assert any(f in named for f in fields), f"the error names the field {fields}: {err}"


def test_limits_are_inclusive(tenant: Tenant) -> None:
    launched = dl_launch(tenant, accept_multiple=True)
    items = [dict(LINK, title="x" * 500, url=f"https://example.edu/{i}") for i in range(50)]
    data = assert_ok(deep_link(tenant.worker, launched.token, {"contents": items}))
    _h, c = tenant.worker.verify_tool_jwt(data["jwt"], audience=tenant.platform.issuer,
                                          issuer=tenant.client_id)
    assert len(c[DL + "content_items"]) == 50


def test_type_not_accepted(tenant: Tenant) -> None:
    launched = dl_launch(tenant, accept_types=["ltiResourceLink"])
    for item in (LINK, {"type": "html", "title": "Note", "html": "<p>x</p>"}):
        assert_error(deep_link(tenant.worker, launched.token, {"contents": [item]}), 422,
                     "deep_link_type_not_accepted")
    assert_ok(deep_link(tenant.worker, launched.token, {"contents": [RL]}))


def test_multiple_not_accepted(tenant: Tenant) -> None:
    launched = dl_launch(tenant, accept_multiple=False)
    two = [RL, dict(RL, entryId="1_meiosis", title="Meiosis explained")]
    assert_error(deep_link(tenant.worker, launched.token, {"contents": two}), 422,
                 "deep_link_multiple_not_accepted")
    data = assert_ok(deep_link(tenant.worker, launched.token, {"contents": two[:1]}))
    assert platform_accepts(tenant.platform, data["jwt"])


def test_lineitem_not_accepted(tenant: Tenant) -> None:
    launched = dl_launch(tenant, accept_lineitem=False)
    assert_error(deep_link(tenant.worker, launched.token,
                           {"contents": [dict(RL, lineItem={"scoreMaximum": 10, "label": "Quiz"})]}),
                 422, "deep_link_lineitem_not_accepted")
    assert_ok(deep_link(tenant.worker, launched.token, {"contents": [RL]}))


def test_target_not_accepted(tenant: Tenant) -> None:
    launched = dl_launch(tenant, accept_presentation_document_targets=["window"])
    assert_error(deep_link(tenant.worker, launched.token,
                           {"contents": [dict(RL, width=640, height=360)]}),
                 422, "deep_link_target_not_accepted")
    data = assert_ok(deep_link(tenant.worker, launched.token, {"contents": [RL]}))
    _h, c = tenant.worker.verify_tool_jwt(data["jwt"], audience=tenant.platform.issuer,
                                          issuer=tenant.client_id)
    assert "iframe" not in c[DL + "content_items"][0]


def test_resource_link_session_refused(tenant: Tenant) -> None:
    launched = tenant.launch(placement="mymedia")
    assert launched.claims["message_type"] == "LtiResourceLinkRequest"
    assert_error(deep_link(tenant.worker, launched.token, {"contents": [RL]}), 403,
                 "deep_link_session_required")


def test_requires_a_session(tenant: Tenant) -> None:
    assert_error(deep_link(tenant.worker, None, {"contents": [RL]}), 401, "session_invalid")
    assert_error(deep_link(tenant.worker, "not-a-token", {"contents": [RL]}), 401, "session_invalid")
    launched = dl_launch(tenant)
    head, body, sig = launched.token.split(".")
    forged = f"{head}.{body}.{sig[:-6]}{'AAAAAA' if sig[-6:] != 'AAAAAA' else 'BBBBBB'}"
    assert_error(deep_link(tenant.worker, forged, {"contents": [RL]}), 401, "session_invalid")


# ---------------------------------------------------------------------------------------------
# the picker's form variant
# ---------------------------------------------------------------------------------------------


def test_form_variant_auto_posts_to_the_platform(tenant: Tenant) -> None:
    launched = dl_launch(tenant, accept_multiple=True)
    picker = http("GET", launched.location, headers={"Accept": "text/html"})
    assert picker.status_code == 200, describe(picker)
    offered = [i["value"] for i in Page(picker.text).inputs if i.get("name") == "entry" and i.get("value")]
    assert len(offered) >= 2, f"the picker offers entries as form inputs named entry:\n{picker.text[:2000]}"

    r = http("POST", tenant.worker.url("/lti/deep-link"), headers={"Accept": "text/html"},
             data={"session": launched.token, "entry": offered[:2]})
    assert r.status_code == 200, describe(r)
    assert r.headers.get("Content-Type", "").startswith("text/html"), describe(r)
    page = Page(r.text)
    return_url = tenant.platform.base + "/deep-link-return"
    forms = [f for f in page.forms if html.unescape(f.get("action") or "") == return_url]
    assert forms and (forms[0].get("method") or "").lower() == "post", r.text
    fields = [i for i in page.inputs if i.get("name") == "JWT"]
    assert len(fields) == 1 and (fields[0].get("type") or "").lower() == "hidden", r.text
    token = html.unescape(fields[0]["value"] or "")
    nonces = [s["nonce"] for s in page.scripts if s.get("nonce")]
    assert nonces, "the page auto-submits with a nonce'd script"
    csp = r.headers.get("Content-Security-Policy", "")
    assert f"'nonce-{nonces[0]}'" in csp, (csp, nonces)
    assert page.buttons >= 1, "a button for when scripts do not run"

    _h, c = tenant.worker.verify_tool_jwt(token, audience=tenant.platform.issuer,
                                          issuer=tenant.client_id, ttl=300)
    items = c[DL + "content_items"]
    assert [i["custom"]["entry_id"] for i in items] == offered[:2]
    assert all(i["type"] == "ltiResourceLink" and i["title"] for i in items)
    assert platform_accepts(tenant.platform, token) == items


def assert_refused(resp: t.Any, status: int, code: str) -> None:
    """A refusal of the form variant: the JSON error envelope, or (the picker is a browser page)
    an HTML error page naming the code."""
    if resp.headers.get("Content-Type", "").startswith("application/json"):
        assert_error(resp, status, code)
    else:
        assert resp.status_code == status and code in resp.text, describe(resp)
        assert 'name="JWT"' not in resp.text and "name='JWT'" not in resp.text, describe(resp)


def test_form_variant_refusals(tenant: Tenant) -> None:
    launched = dl_launch(tenant)
    offered = "1_mitosis"
    for accept in ("application/json", "text/html"):
        h = {"Accept": accept}
        r = http("POST", tenant.worker.url("/lti/deep-link"), headers=h, data={"entry": offered})
        assert_refused(r, 401, "session_invalid")
        rl = tenant.launch(placement="mymedia")
        r = http("POST", tenant.worker.url("/lti/deep-link"), headers=h,
                 data={"session": rl.token, "entry": offered})
        assert_refused(r, 403, "deep_link_session_required")
        bad = launched.token[:-4] + ("abcd" if launched.token[-4:] != "abcd" else "wxyz")
        r = http("POST", tenant.worker.url("/lti/deep-link"), headers=h,
                 data={"session": bad, "entry": offered})
        assert_refused(r, 401, "session_invalid")


def test_response_jwt_not_valid_for_another_platform(tenant: Tenant) -> None:
    """aud is this registration's platform issuer: the JWT means nothing elsewhere."""
    launched = dl_launch(tenant)
    data = assert_ok(deep_link(tenant.worker, launched.token, {"contents": [RL]}))
    with pytest.raises(jwt.InvalidAudienceError):
        tenant.worker.verify_tool_jwt(data["jwt"], audience="https://other-lms.example.edu",
                                      issuer=tenant.client_id)

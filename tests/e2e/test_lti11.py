"""LTI 1.1 beside LTI 1.3 (issue 5): launches signed with OAuth 1.0a by oauthlib (PyPI) as an LMS
signs them, Basic Outcomes against the local LMS's POX service (which checks the worker's
signature and oauth_body_hash with oauthlib), and the content-item answer verified with oauthlib.

Every registration here has the 1.3 fields and an LTI 1.1 consumer key + secret
(``make_lti11_tenant``); ``tenant.lti11`` is the LMS's 1.1 side. Each refusal asserts the exact
status and code, so it fails if the worker accepted the input; most also show the same launch
accepted when nothing is wrong with it.
"""
from __future__ import annotations

import base64
import json
import typing as t
from html.parser import HTMLParser

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_PLAINTEXT, SIGNATURE_RSA_SHA1

from ltihelpers import (CONTENT_ITEM_CONTEXT, LTI_LINK_MEDIA_TYPE, MODULE_PATHS, Launched,
                        Lti11Consumer, Tenant, Worker, assert_error, assert_ok, call, describe, http,
                        new_course, oauth_verify_form, parse_launch, unique)

PROXY_PUBLIC_BASE = "https://tool.example.test"
RL = {"type": "ltiResourceLink", "title": "Mitosis in 2 minutes", "entryId": "1_mitosis"}


def consumer(t_: Tenant) -> Lti11Consumer:
    assert t_.lti11 is not None, "a registration with an LTI 1.1 consumer (make_lti11_tenant)"
    return t_.lti11


def session_data(worker: Worker, launched: Launched) -> t.Dict[str, t.Any]:
    return assert_ok(call(worker, "GET", "/lti/session", launched.token))


class Page(HTMLParser):
    """Forms and inputs of an HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.forms: t.List[t.Dict[str, t.Optional[str]]] = []
        self.inputs: t.List[t.Dict[str, t.Optional[str]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: t.List[t.Tuple[str, t.Optional[str]]]) -> None:
        a = {k.lower(): v for k, v in attrs}
        if tag == "form":
            self.forms.append(a)
        elif tag == "input":
            self.inputs.append(a)


# ---------------------------------------------------------------------------------------------
# registration
# ---------------------------------------------------------------------------------------------


def test_registration_never_returns_the_secret(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_lti11_tenant(platformFamily="moodle")
    c = consumer(t_)
    reg = t_.registration
    assert reg["lti11ConsumerKey"] == c.key and reg["lti11SecretSet"] is True, reg
    assert reg["platformFamily"] == "moodle"
    body = dict(t_.platform.registration_body(client_id=t_.client_id), lti11ConsumerKey=c.key,
                lti11Secret=c.secret, platformFamily="moodle")
    answers = [
        t_.worker.admin("POST", "/lti/platforms", json=body),  # upsert
        t_.worker.admin("GET", f"/lti/platforms/{reg['id']}"),
        t_.worker.admin("GET", "/lti/platforms"),
    ]
    for r in answers:
        assert r.status_code in (200, 201), describe(r)
        assert c.secret not in r.text, f"the 1.1 secret is write-only:\n{describe(r)}"
        assert '"lti11Secret"' not in r.text, describe(r)
    got = assert_ok(answers[1])
    assert got["lti11SecretSet"] is True and got["lti11ConsumerKey"] == c.key and "lti11Secret" not in got
    listed = [p for p in assert_ok(answers[2]) if p["id"] == reg["id"]]
    assert listed and "lti11Secret" not in listed[0] and listed[0]["lti11SecretSet"] is True


def test_registration_without_lti11(tenant: Tenant) -> None:
    assert tenant.registration.get("lti11SecretSet") is False, tenant.registration
    assert "lti11Secret" not in tenant.registration


def test_consumer_key_belongs_to_one_registration(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_lti11_tenant()
    c = consumer(t_)
    other = dict(t_.platform.registration_body(client_id=unique("client")), lti11ConsumerKey=c.key,
                 lti11Secret="another-secret-123")
    err = assert_error(t_.worker.admin("POST", "/lti/platforms", json=other), 400, "registration_invalid")
    assert "lti11ConsumerKey" in (err.get("fields") or {}), err
    # the registration that owns the key keeps it (an upsert of itself is fine)
    own = dict(t_.platform.registration_body(client_id=t_.client_id), lti11ConsumerKey=c.key,
               lti11Secret=c.secret)
    assert assert_ok(t_.worker.admin("POST", "/lti/platforms", json=own), (200, 201))["id"] == t_.registration["id"]
    # and launches with that key still land in the owning registration
    assert c.launch().claims["platform_id"] == t_.registration["id"]


# ---------------------------------------------------------------------------------------------
# launches
# ---------------------------------------------------------------------------------------------


def test_launch_instructor(lti11_tenant: Tenant) -> None:
    c = consumer(lti11_tenant)
    user = unique("u11")
    launched = c.launch(user_id=user, roles="urn:lti:role:ims/lis/Instructor", context_id="course-bio101",
                        context_title="Cell Biology", resource_link_id="rl11-week1")
    s = launched.claims
    assert launched.module_path == MODULE_PATHS["mymedia"] and s["module"] == "mymedia", launched.location
    assert s["lti_version"] == "1.1"
    assert s["sub"] == user and s["lti_sub"] == user
    assert s["role"] == "admin"
    assert s["platform_id"] == lti11_tenant.registration["id"]
    assert s["deployment_id"] == lti11_tenant.deployment_id  # lti11DeploymentId defaults to the first
    assert s["context_id"] == "course-bio101" and s["resource_link_id"] == "rl11-week1"
    assert s["context_title"] == "Cell Biology"
    assert isinstance(s["category"], str) and s["category"]
    assert "svc" not in s, "1.1 sessions carry no LTI Advantage services"
    assert "outcome" not in (s.get("lti11") or {}), "no outcome service was offered"
    data = session_data(lti11_tenant.worker, launched)
    for k in ("sub", "role", "category", "module", "platform_id", "deployment_id", "context_id"):
        assert data[k] == s[k], (k, data, s)
    page = http("GET", launched.location, headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers.get("Content-Type", "").startswith("text/html"), describe(page)
    assert page.headers.get("Referrer-Policy", "").lower() == "no-referrer", describe(page)


@pytest.mark.parametrize("roles,expected", [
    ("urn:lti:role:ims/lis/Instructor", "admin"),
    ("Instructor", "admin"),
    ("Learner", "viewer"),
    ("urn:lti:role:ims/lis/Learner", "viewer"),
    ("urn:lti:role:ims/lis/TeachingAssistant", "moderator"),
    ("urn:lti:instrole:ims/lis/Administrator", "admin"),
    ("Learner,urn:lti:role:ims/lis/Instructor", "admin"),
])
def test_role_mapping(lti11_tenant: Tenant, roles: str, expected: str) -> None:
    launched = consumer(lti11_tenant).launch(roles=roles)
    assert launched.claims["role"] == expected, launched.claims


def test_unmapped_role(lti11_tenant: Tenant) -> None:
    err = assert_error(consumer(lti11_tenant).attempt(roles="urn:local-lms:role:Auditor"), 403, "role_unmapped")
    assert err["message"]


def test_category_same_as_lti13(lti11_tenant: Tenant) -> None:
    course = new_course()
    l13 = lti11_tenant.launch(user="ada", role="Instructor", course=course)
    c = consumer(lti11_tenant)
    l11 = c.launch(context_id=course["id"], context_title=course["title"], roles="Learner")
    assert l11.claims["category"] == l13.claims["category"], (l11.claims, l13.claims)
    assert l11.claims["context_id"] == course["id"]
    elsewhere = c.launch(context_id=unique("other-course"))
    assert elsewhere.claims["category"] != l13.claims["category"]


def test_category_uses_lti11_deployment_id(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_lti11_tenant(deployment_id="dep-a", deploymentIds=["dep-a", "dep-b"], lti11DeploymentId="dep-b")
    assert t_.registration["lti11DeploymentId"] == "dep-b"
    course = new_course()
    on_a = t_.launch(course=course, deployment_id="dep-a").claims
    on_b = t_.launch(course=course, deployment_id="dep-b").claims
    assert on_a["category"] != on_b["category"]
    l11 = consumer(t_).launch(context_id=course["id"]).claims
    assert l11["category"] == on_b["category"] and l11["deployment_id"] == "dep-b", l11


def test_kaf_launch_alias(lti11_tenant: Tenant) -> None:
    c = consumer(lti11_tenant)
    url = lti11_tenant.worker.url("/hosted/index/oauth2-launch")
    launched = c.launch(url=url)
    assert launched.claims["lti_version"] == "1.1" and launched.claims["module"] == "mymedia"
    # signed for /lti/launch, posted to the alias: another URL, another signature base string
    assert_error(c.attempt(url=url, sign_url=c.launch_url), 401, "oauth_signature_invalid")


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def test_blackboard_base64(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    bb = make_lti11_tenant(platformFamily="blackboard")
    user, title, name = unique("bb-user"), "Biologie für Anfänger", "Jürgen Groß"
    params = dict(user_id=b64(user), context_title=b64(title), lis_person_name_full=b64(name),
                  lis_person_name_given=b64("Jürgen"), lis_person_name_family="Groß", context_id="_77_1")
    s = consumer(bb).launch(**params).claims
    assert s["sub"] == user and s["lti_sub"] == user, s
    assert s["context_title"] == title and s["name"] == name, s
    # the same parameters from a registration that is not Blackboard stay as sent
    plain = make_lti11_tenant(platformFamily="moodle")
    s = consumer(plain).launch(**params).claims
    assert s["sub"] == b64(user) and s["context_title"] == b64(title), s


# ---------------------------------------------------------------------------------------------
# refusals
# ---------------------------------------------------------------------------------------------


def test_wrong_secret(lti11_tenant: Tenant) -> None:
    c = consumer(lti11_tenant)
    assert_error(c.attempt(secret="not-the-shared-secret"), 401, "oauth_signature_invalid")
    assert_error(c.attempt(secret=c.secret + "x"), 401, "oauth_signature_invalid")
    assert c.launch().claims["lti_version"] == "1.1"  # the right secret


@pytest.mark.parametrize("tamper", [
    {"roles": "urn:lti:role:ims/lis/Instructor"},
    {"user_id": "someone-else"},
    {"context_id": "course-his200"},
    {"custom_entry_id": "1_injected"},
    {"lti_message_type": "ContentItemSelectionRequest", "content_item_return_url": "https://evil.example/cb",
     "accept_media_types": "*/*", "accept_presentation_document_targets": "iframe"},
], ids=["roles", "user_id", "context_id", "added-param", "message-type"])
def test_tampered_parameter(lti11_tenant: Tenant, tamper: t.Dict[str, str]) -> None:
    c = consumer(lti11_tenant)
    r = c.attempt(roles="Learner", tamper=tamper)
    assert_error(r, 401, "oauth_signature_invalid")


def test_refusal_html_page(lti11_tenant: Tenant) -> None:
    r = consumer(lti11_tenant).attempt(secret="wrong-secret", html=True)
    assert r.status_code == 401 and r.headers.get("Content-Type", "").startswith("text/html"), describe(r)
    assert "oauth_signature_invalid" in r.text, describe(r)


@pytest.mark.parametrize("offset", [-330, 330], ids=["old", "ahead"])
def test_timestamp_outside_window(lti11_tenant: Tenant, offset: int) -> None:
    c = consumer(lti11_tenant)
    assert_error(c.attempt(timestamp_offset=offset), 401, "oauth_timestamp_invalid")
    # well inside the 300 s window either way: accepted
    assert c.launch(timestamp_offset=offset * 200 // 330).claims["lti_version"] == "1.1"


def test_replayed_nonce(lti11_tenant: Tenant) -> None:
    c = consumer(lti11_tenant)
    form = c.form(nonce=unique("nonce"))
    first = c.post(form, url=c.launch_url)
    assert first.status_code == 303, describe(first)
    assert_error(c.post(form, url=c.launch_url), 401, "oauth_nonce_reused")


def test_unknown_consumer_key(lti11_tenant: Tenant) -> None:
    # Answered exactly like a known key with a wrong signature: no consumer-key oracle.
    c = consumer(lti11_tenant)
    stranger = Lti11Consumer(key=unique("unknown-key"), secret=c.secret, worker=lti11_tenant.worker)
    unknown = assert_error(stranger.attempt(), 401, "oauth_signature_invalid")
    wrong = Lti11Consumer(key=c.key, secret="not-the-secret-at-all", worker=lti11_tenant.worker)
    bad_sig = assert_error(wrong.attempt(), 401, "oauth_signature_invalid")
    assert unknown.get("message") == bad_sig.get("message")


@pytest.mark.parametrize("missing", ["oauth_signature", "oauth_nonce", "oauth_timestamp",
                                     "oauth_signature_method"])
def test_missing_oauth_param(lti11_tenant: Tenant, missing: str) -> None:
    assert_error(consumer(lti11_tenant).attempt(drop=[missing]), 400, "oauth_param_missing")


def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize("method", [SIGNATURE_PLAINTEXT, SIGNATURE_HMAC_SHA256, SIGNATURE_RSA_SHA1])
def test_unsupported_signature_method(lti11_tenant: Tenant, method: str) -> None:
    c = consumer(lti11_tenant)
    form = c.form(signature_method=method, rsa_key=rsa_pem() if method == SIGNATURE_RSA_SHA1 else None)
    assert form.get("oauth_signature_method") == method
    assert_error(c.post(form, url=c.launch_url), 400, "oauth_invalid")


@pytest.mark.parametrize("message_type,missing,code", [
    ("basic-lti-launch-request", "resource_link_id", "lti11_param_missing"),
    # user_id is optional in LTI 1.1 (anonymous launches); with the default user-id rule the
    # launch has no user, which is the user-id rule's error, as for 1.3.
    ("basic-lti-launch-request", "user_id", "user_id_missing"),
    ("ContentItemSelectionRequest", "content_item_return_url", "lti11_param_missing"),
])
def test_lti11_param_missing(lti11_tenant: Tenant, message_type: str, missing: str, code: str) -> None:
    c = consumer(lti11_tenant)
    extra = {"content_item_return_url": "https://lms.example.edu/ci-return"} \
        if message_type == "ContentItemSelectionRequest" else {}
    extra[missing] = None  # signed without it: the signature is good, the launch is incomplete
    assert_error(c.attempt(message_type=message_type, **extra), 400, code)


def test_conflicting_duplicate_parameters(lti11_tenant: Tenant) -> None:
    # Signed correctly, but user_id twice with different values: which user is it? Refused.
    c = consumer(lti11_tenant)
    pairs = list(c.params().items()) + [("user_id", "someone-else")]
    err = assert_error(c.post(c.sign(pairs)), 400, "lti11_param_invalid")
    assert err["message"]
    # the same pair repeated with the same value is harmless
    same = list(c.params().items())
    same.append(next(p for p in same if p[0] == "user_id"))
    parse_launch(c.worker, c.post(c.sign(same)))


# ---------------------------------------------------------------------------------------------
# the public URL (a TLS proxy in front of the worker)
# ---------------------------------------------------------------------------------------------


def test_proxy_signed_for_public_url(make_lti11_tenant: t.Callable[..., Tenant], worker_proxy: Worker) -> None:
    """The LMS signs https://tool.example.test/lti/launch (PUBLIC_BASE_URL); the request reaches
    the worker over http://127.0.0.1:port: the base string uses the public URL, so it verifies."""
    assert worker_proxy.public == PROXY_PUBLIC_BASE
    t_ = make_lti11_tenant(on=worker_proxy)
    c = consumer(t_)
    posted_to = worker_proxy.url("/lti/launch")
    launched = c.launch(url=posted_to, sign_url=PROXY_PUBLIC_BASE + "/lti/launch")
    assert launched.location.startswith(PROXY_PUBLIC_BASE + MODULE_PATHS["mymedia"] + "/ks/"), launched.location
    assert launched.claims["iss"] == PROXY_PUBLIC_BASE and launched.claims["lti_version"] == "1.1"
    # signed for the URL the request really arrived on: not the public URL, refused
    assert_error(c.attempt(url=posted_to, sign_url=posted_to), 401, "oauth_signature_invalid")


def test_signed_for_another_url(lti11_tenant: Tenant) -> None:
    c = consumer(lti11_tenant)
    for signed in (PROXY_PUBLIC_BASE + "/lti/launch", c.launch_url + "?x=1",
                   c.launch_url.replace("/lti/launch", "/lti/launch2")):
        assert_error(c.attempt(url=c.launch_url, sign_url=signed), 401, "oauth_signature_invalid")


# ---------------------------------------------------------------------------------------------
# Basic Outcomes through /lti/ags/*
# ---------------------------------------------------------------------------------------------


def outcome_launch(t_: Tenant, roles: str = "Learner", user_id: t.Optional[str] = None,
                   **params: t.Any) -> t.Tuple[Launched, str, str]:
    """A 1.1 launch offering Basic Outcomes: (launched, sourcedid, service URL)."""
    course = unique("course11")
    sourcedid = unique("sourcedid")
    url = t_.platform.outcome_url(course)
    launched = consumer(t_).launch(roles=roles, user_id=user_id or unique("learner"), context_id=course,
                                   lis_outcome_service_url=url, lis_result_sourcedid=sourcedid, **params)
    return launched, sourcedid, url


@pytest.fixture
def lti11_tenant(make_lti11_tenant: t.Callable[..., Tenant]) -> Tenant:
    """This file's 1.1 registrations let learners post their own scores (learnerScores: the
    Basic Outcomes tests post as the launching learner; the default refuses learners)."""
    return make_lti11_tenant(learnerScores=True)


def post_score(t_: Tenant, token: str, **body: t.Any) -> t.Any:
    return call(t_.worker, "POST", "/lti/ags/scores", token, json=body)


def lms_scores(t_: Tenant) -> t.Dict[str, t.Any]:
    return t_.platform.outcomes(consumer_key=consumer(t_).key)["scores"]


def lms_requests(t_: Tenant) -> t.List[t.Dict[str, t.Any]]:
    return t_.platform.outcomes(consumer_key=consumer(t_).key)["requests"]


def test_outcome_claims_in_session(lti11_tenant: Tenant) -> None:
    launched, sourcedid, url = outcome_launch(lti11_tenant)
    assert launched.claims["lti11"]["outcome"] == {"url": url, "sourcedid": sourcedid}, launched.claims
    assert "svc" not in launched.claims


def test_outcome_replace_read_delete(lti11_tenant: Tenant) -> None:
    t_, c = lti11_tenant, consumer(lti11_tenant)
    user = unique("learner")
    launched, sourcedid, url = outcome_launch(t_, user_id=user)

    posted = assert_ok(post_score(t_, launched.token, scoreGiven=7, scoreMaximum=10))
    contract = {"posted": True, "userId": user, "outcome": "replaceResult"}
    assert {k: posted.get(k) for k in contract} == contract, posted
    stored = lms_scores(t_)
    assert stored[sourcedid]["score"] == pytest.approx(0.7) and stored[sourcedid]["consumer_key"] == c.key
    (req,) = lms_requests(t_)
    assert req["operation"] == "replaceResult" and req["sourcedid"] == sourcedid, req
    assert req["signature_verified"] and req["body_hash_verified"] and req["verified"], req
    assert req["signature_method"] == "HMAC-SHA1" and req["code_major"] == "success", req
    assert req["authorization"] is True, "POX requests carry OAuth in the Authorization header"
    assert (req["content_type"] or "").startswith("application/xml"), req
    assert req["course_id"] == url.rsplit("/", 1)[1]

    data = assert_ok(call(t_.worker, "GET", "/lti/ags/results", launched.token))
    (result,) = data["results"]
    assert result["userId"] == user and result["resultScore"] == pytest.approx(0.7), data
    assert result["resultMaximum"] == 1, data

    assert_ok(post_score(t_, launched.token, scoreGiven=10, scoreMaximum=10))
    assert lms_scores(t_)[sourcedid]["score"] == pytest.approx(1.0)

    deleted = assert_ok(call(t_.worker, "DELETE", "/lti/ags/scores", launched.token))
    assert deleted["deleted"] is True, deleted
    assert sourcedid not in lms_scores(t_)
    assert assert_ok(call(t_.worker, "GET", "/lti/ags/results", launched.token))["results"] == []
    ops = [r["operation"] for r in lms_requests(t_)]
    assert ops == ["replaceResult", "readResult", "replaceResult", "deleteResult", "readResult"], ops
    assert all(r["verified"] for r in lms_requests(t_)), lms_requests(t_)


def test_outcome_platform_failure(lti11_tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched, sourcedid, _url = outcome_launch(lti11_tenant)
    faults(consumer_key=consumer(lti11_tenant).key, outcome_reply="failure")
    err = assert_error(post_score(lti11_tenant, launched.token, scoreGiven=1, scoreMaximum=2), 502, "outcome_failed")
    assert "refused" in err["message"].lower(), err
    assert sourcedid not in lms_scores(lti11_tenant)
    faults()
    assert_ok(post_score(lti11_tenant, launched.token, scoreGiven=1, scoreMaximum=2))
    assert lms_scores(lti11_tenant)[sourcedid]["score"] == pytest.approx(0.5)


def test_outcome_malformed_reply(lti11_tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched, sourcedid, _url = outcome_launch(lti11_tenant)
    faults(consumer_key=consumer(lti11_tenant).key, outcome_reply="malformed")
    assert_error(post_score(lti11_tenant, launched.token, scoreGiven=1, scoreMaximum=2), 502,
                 "platform_response_invalid")
    assert_error(call(lti11_tenant.worker, "GET", "/lti/ags/results", launched.token), 502,
                 "platform_response_invalid")
    assert sourcedid not in lms_scores(lti11_tenant)


def test_outcome_body_hash_mismatch(lti11_tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    """The LMS checks oauth_body_hash against a body that differs from what the worker signed:
    the signature still verifies, the body hash does not, the LMS answers failure."""
    launched, sourcedid, _url = outcome_launch(lti11_tenant)
    faults(consumer_key=consumer(lti11_tenant).key, tamper_body=True)
    assert_error(post_score(lti11_tenant, launched.token, scoreGiven=3, scoreMaximum=4), 502, "outcome_failed")
    (req,) = lms_requests(lti11_tenant)
    assert req["signature_verified"] and not req["body_hash_verified"] and req["code_major"] == "failure", req
    assert sourcedid not in lms_scores(lti11_tenant)


def test_outcome_signed_with_a_secret_the_lms_does_not_hold(
        make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_lti11_tenant(lms_knows_key=False, learnerScores=True)
    t_.platform.add_lti11_consumer(consumer(t_).key, "the-lms-has-another-secret")
    launched, sourcedid, _url = outcome_launch(t_)
    assert_error(post_score(t_, launched.token, scoreGiven=3, scoreMaximum=4), 502, "outcome_failed")
    (req,) = lms_requests(t_)
    assert not req["signature_verified"] and req["body_hash_verified"] and req["code_major"] == "failure", req
    assert sourcedid not in lms_scores(t_)


def test_outcome_learner_for_another_user(lti11_tenant: Tenant) -> None:
    user = unique("learner")
    launched, sourcedid, _url = outcome_launch(lti11_tenant, user_id=user)
    assert launched.claims["role"] == "viewer"
    assert_error(post_score(lti11_tenant, launched.token, userId="someone-else", scoreGiven=1, scoreMaximum=1),
                 403, "role_forbidden")
    assert lms_requests(lti11_tenant) == [] and sourcedid not in lms_scores(lti11_tenant)
    assert assert_ok(post_score(lti11_tenant, launched.token, userId=user, scoreGiven=1, scoreMaximum=4))["posted"]
    assert lms_scores(lti11_tenant)[sourcedid]["score"] == pytest.approx(0.25)


@pytest.mark.parametrize("params", [
    {},
    {"lis_outcome_service_url": "SERVICE"},
    {"lis_result_sourcedid": "sourcedid-alone"},
], ids=["none", "url-only", "sourcedid-only"])
def test_outcome_not_offered(lti11_tenant: Tenant, params: t.Dict[str, str]) -> None:
    t_ = lti11_tenant
    params = {k: (t_.platform.outcome_url("c11") if v == "SERVICE" else v) for k, v in params.items()}
    launched = consumer(t_).launch(roles="Learner", **params)
    assert "outcome" not in (launched.claims.get("lti11") or {}), launched.claims
    assert_error(post_score(t_, launched.token, scoreGiven=1, scoreMaximum=1), 403, "ags_not_enabled")
    assert lms_requests(t_) == []


# ---------------------------------------------------------------------------------------------
# ContentItemSelectionRequest -> the picker -> a signed ContentItemSelection
# ---------------------------------------------------------------------------------------------


def cis_launch(t_: Tenant, **params: t.Any) -> t.Tuple[Launched, str, str]:
    return_url = t_.platform.base + "/lti11/content-item-return?course=" + unique("c")
    data = unique("opaque") + "&state=1"
    launched = consumer(t_).launch(message_type="ContentItemSelectionRequest", content_item_return_url=return_url,
                                   data=data, **params)
    return launched, return_url, data


def check_selection(t_: Tenant, action: str, fields: t.Dict[str, str], return_url: str, data: str,
                    entry_ids: t.List[str]) -> t.List[t.Dict[str, t.Any]]:
    c = consumer(t_)
    assert action == return_url
    valid, log = oauth_verify_form(return_url, fields, c.key, c.secret)
    assert valid, f"oauthlib does not verify the tool's form ({log}): {fields}"
    assert not oauth_verify_form(return_url, fields, c.key, "another-secret")[0]
    assert not oauth_verify_form(return_url + "&x=1", fields, c.key, c.secret)[0]
    assert fields["oauth_consumer_key"] == c.key and fields["oauth_signature_method"] == "HMAC-SHA1"
    assert fields["lti_message_type"] == "ContentItemSelection" and fields["lti_version"] == "LTI-1p0"
    assert fields["data"] == data
    items = json.loads(fields["content_items"])
    assert items["@context"] == CONTENT_ITEM_CONTEXT and isinstance(items["@graph"], list), items
    graph = items["@graph"]
    assert [i["custom"]["entry_id"] for i in graph] == entry_ids, graph
    for item in graph:
        assert item["@type"] == "LtiLinkItem" and item["mediaType"] == LTI_LINK_MEDIA_TYPE, item
        assert item["url"].startswith(t_.worker.public + "/") and item["title"], item
    return graph


def test_content_item_session(lti11_tenant: Tenant) -> None:
    launched, return_url, _data = cis_launch(lti11_tenant, roles="Instructor")
    assert launched.module_path == MODULE_PATHS["browseembed"] and launched.claims["module"] == "browseembed"
    assert launched.claims["lti_version"] == "1.1"
    assert launched.claims["lti11"]["contentItem"]["return_url"] == return_url, launched.claims


def test_content_item_selection(lti11_tenant: Tenant) -> None:
    launched, return_url, data = cis_launch(lti11_tenant, roles="Instructor")
    answer = assert_ok(call(lti11_tenant.worker, "POST", "/lti/deep-link", launched.token, json={"contents": [RL]}))
    form = answer["form"]
    (item,) = check_selection(lti11_tenant, form["action"], form["fields"], return_url, data, ["1_mitosis"])
    assert item["title"] == RL["title"]


def test_content_item_picker_form(lti11_tenant: Tenant) -> None:
    launched, return_url, data = cis_launch(lti11_tenant, roles="Instructor")
    # The picker page the LMS iframe shows offers the form that returns the selection.
    picker = http("GET", launched.location)
    assert picker.status_code == 200, describe(picker)
    assert 'id="deep-link-form"' in picker.text and 'action="/lti/deep-link"' in picker.text, picker.text[-1500:]
    r = http("POST", lti11_tenant.worker.url("/lti/deep-link"), headers={"Accept": "text/html"},
             data={"session": launched.token, "entry": "1_mitosis"})
    assert r.status_code == 200 and r.headers.get("Content-Type", "").startswith("text/html"), describe(r)
    page = Page(r.text)
    # (HTMLParser gives attribute values unescaped)
    forms = [f for f in page.forms if f.get("action") == return_url]
    assert forms and (forms[0].get("method") or "").lower() == "post", r.text
    fields = {str(i["name"]): i.get("value") or ""
              for i in page.inputs if i.get("name") and (i.get("type") or "").lower() == "hidden"}
    check_selection(lti11_tenant, return_url, fields, return_url, data, ["1_mitosis"])


def test_basic_launch_session_cannot_select(lti11_tenant: Tenant) -> None:
    launched = consumer(lti11_tenant).launch()
    assert_error(call(lti11_tenant.worker, "POST", "/lti/deep-link", launched.token, json={"contents": [RL]}),
                 403, "deep_link_session_required")

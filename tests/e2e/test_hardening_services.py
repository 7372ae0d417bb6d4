"""Hardening (issue 10), the LTI Advantage services side: service URL scope on normalised URLs
(spec §1), bounded platform answers (§3, services), learners and the services credential (§5).

Every test launches into a course of its own with a fresh registration. "The LMS received no
request outside the container" is checked on the platform's request log
(``GET /__control/requests``): the raw paths the LMS received, normalised here the way a server
would read them.
"""
from __future__ import annotations

import posixpath
import typing as t
from urllib.parse import unquote, urlparse

import pytest

from ltihelpers import (Launched, Tenant, assert_error, assert_ok, call, describe, http, new_course,
                        unique)

AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
ALL_AGS = [AGS + "lineitem", AGS + "lineitem.readonly", AGS + "result.readonly", AGS + "score"]


def ags_launch(t_: Tenant, course: t.Optional[t.Dict[str, str]] = None, role: str = "Instructor",
               **spec: t.Any) -> Launched:
    spec.setdefault("user", "ada" if role == "Instructor" else "alan")
    return t_.launch(course=course or new_course(), role=role, placement="mymedia",
                     resource_link={"id": unique("rl"), "title": "Quiz"}, **spec)


def ags_claim(launched: Launched) -> t.Dict[str, t.Any]:
    return launched.id_token_claims[AGS_CLAIM]


def score(t_: Tenant, token: t.Optional[str], headers: t.Optional[t.Dict[str, str]] = None,
          **body: t.Any) -> t.Any:
    return call(t_.worker, "POST", "/lti/ags/scores", token, json=body, headers=headers)


def server_path(raw: str) -> str:
    """How a server reads a raw request path: percent-decoded, dot segments resolved."""
    path = unquote(urlparse(raw).path)
    norm = posixpath.normpath(path)
    return norm if norm != "." else "/"


def outside(paths: t.List[str], container_path: str) -> t.List[str]:
    """Raw paths (of /api/ requests) that are not the container or below it, as a server reads
    them, or that still carry dot segments / encoded dots or slashes."""
    bad = []
    for p in paths:
        only = urlparse(p).path
        read = server_path(p)
        if not (read == container_path or read.startswith(container_path + "/")):
            bad.append(p)
        elif any(x in only.lower() for x in ("/..", "/./", "%2e", "%2f", "%5c")):
            bad.append(p)
    return bad


# ---------------------------------------------------------------------------------------------
# §1 service URL scope, on normalised URLs
# ---------------------------------------------------------------------------------------------

TRAVERSALS = {
    "pct-dots": "/%2e%2e/%2e%2e/%2e%2e/other/secret",
    "dot-pct": "/.%2E/.%2E/.%2E/other/secret",
    "pct-mixed": "/%2E%2e/%2E%2e/%2E%2e/other/secret",
    "trailing-dotdot": "/1/..",
    "dot-then-dotdot": "/./..",
    "encoded-slash": "/%2F..%2F..%2F..%2Fother%2Fsecret",
}


@pytest.mark.parametrize("suffix", list(TRAVERSALS.values()), ids=list(TRAVERSALS))
def test_lineitem_traversal_is_out_of_scope_and_never_sent(tenant: Tenant, suffix: str) -> None:
    course = new_course()
    launched = ags_launch(tenant, course=course)
    container = ags_claim(launched)["lineitems"]
    container_path = urlparse(container).path
    url = container + suffix
    mark = tenant.platform.request_seq()
    w, tok = tenant.worker, launched.token
    answers = {
        "GET lineitem": call(w, "GET", "/lti/ags/lineitem", tok, params={"lineItemUrl": url}),
        "POST scores": score(tenant, tok, lineItemUrl=url, scoreGiven=1, scoreMaximum=1),
        "GET results": call(w, "GET", "/lti/ags/results", tok, params={"lineItemUrl": url}),
        "PUT lineitem": call(w, "PUT", "/lti/ags/lineitem", tok, json={"lineItemUrl": url, "label": "x"}),
        "DELETE lineitem": call(w, "DELETE", "/lti/ags/lineitem", tok, params={"lineItemUrl": url}),
        # the services credential with platform + context (no resource-link check behind it)
        "POST scores (services token)": score(
            tenant, w.services_token, lineItemUrl=url, userId="user-1002", scoreGiven=1, scoreMaximum=1,
            platformId=tenant.registration["id"], contextId=course["id"]),
        "POST scores (admin token)": score(
            tenant, w.admin_token, lineItemUrl=url, userId="user-1002", scoreGiven=1, scoreMaximum=1,
            platformId=tenant.registration["id"], contextId=course["id"]),
    }
    sent = tenant.platform.paths_since(mark, prefix="/api/")
    problems = []
    for what, r in answers.items():
        code = r.json().get("error", {}).get("code") if r.headers.get("content-type", "").startswith(
            "application/json") else None
        if (r.status_code, code) != (403, "lineitem_out_of_scope"):
            problems.append(f"{what}: expected 403 lineitem_out_of_scope, got {r.status_code} {code}: "
                            f"{r.text[:300]}")
    bad = outside(sent, container_path)
    assert not problems and not bad, (
        f"lineItemUrl {url!r}\n" + "\n".join(problems) +
        f"\nrequests the LMS received outside {container_path}: {bad}")
    assert tenant.platform.scores(course_id=course["id"]) == []


def test_worker_sends_the_normalised_url(tenant: Tenant) -> None:
    """A line item URL with a percent-encoded unreserved character (``%35`` is ``5``) is the
    same URL normalised: in scope, and the LMS receives exactly the normalised path."""
    course = new_course()
    launched = ags_launch(tenant, course=course)
    own = ags_claim(launched)["lineitem"]
    head, n = own.rsplit("/", 1)
    spelled = head + "/" + "".join(f"%{ord(ch):02X}" for ch in n)
    assert spelled != own
    mark = tenant.platform.request_seq()
    r = score(tenant, launched.token, lineItemUrl=spelled, scoreGiven=2, scoreMaximum=4)
    sent = tenant.platform.paths_since(mark, prefix="/api/")
    assert r.status_code == 200, (
        f"{spelled} is {own} normalised: expected the score posted, got\n{describe(r)}\nLMS saw {sent}")
    assert urlparse(own).path + "/scores" in sent, sent
    assert all("%" not in p for p in sent), f"the worker sent a non-normalised URL: {sent}"
    assert len(tenant.platform.scores(lineitem=own)) == 1


def test_nrps_since_outside_the_roster_is_refused(tenant: Tenant) -> None:
    course = new_course()
    launched = ags_launch(tenant, course=course)
    roster = launched.id_token_claims[NRPS_CLAIM]["context_memberships_url"]
    roster_path = urlparse(roster).path
    mark = tenant.platform.request_seq()
    for since in (roster + "/%2e%2e/%2e%2e/other/secret?since=1", roster + "/.%2E/.%2E/x?since=1",
                  roster + "/%2F..%2F..%2Fx?since=1", roster + "/../../../../other?since=1"):
        r = call(tenant.worker, "GET", "/lti/nrps/members", launched.token, params={"since": since})
        assert_error(r, 400, "request_invalid")
    bad = outside(tenant.platform.paths_since(mark, prefix="/api/"), roster_path)
    assert not bad, f"the LMS received requests outside the roster {roster_path}: {bad}"


@pytest.mark.parametrize("escape", ["/%2e%2e/%2e%2e/other/secret?page=2", "/.%2E/.%2E/x?page=2",
                                    "/../../../other/secret?page=2"],
                         ids=["pct-dots", "dot-pct", "plain-dots"])
def test_nrps_next_link_leaving_the_roster_is_not_followed(tenant: Tenant, faults: t.Callable[..., t.Any],
                                                           escape: str) -> None:
    course = new_course()
    launched = ags_launch(tenant, course=course)
    roster = launched.id_token_claims[NRPS_CLAIM]["context_memberships_url"]
    faults(client_id=tenant.client_id, nrps_next=roster + escape)
    mark = tenant.platform.request_seq()
    r = call(tenant.worker, "GET", "/lti/nrps/members", launched.token)
    bad = outside(tenant.platform.paths_since(mark, prefix="/api/"), urlparse(roster).path)
    assert not bad, f"the worker followed a next link out of the roster: {bad}\n{describe(r)}"
    assert r.status_code in (200, 502), describe(r)


@pytest.mark.parametrize("host", ["lms.example.invalid", "127.0.0.1.evil.invalid"])
def test_plain_http_service_urls_are_not_granted(tenant: Tenant, host: str) -> None:
    course = new_course()
    base = f"http://{host}/api/courses/{course['id']}"
    ags = {"scope": ALL_AGS, "lineitems": base + "/lineitems", "lineitem": base + "/lineitems/1"}
    nrps = {"context_memberships_url": base + "/memberships", "service_versions": ["2.0"]}
    launched = ags_launch(tenant, course=course, extra_claims={AGS_CLAIM: ags, NRPS_CLAIM: nrps})
    before = tenant.platform.counters(tenant.client_id)
    assert_error(score(tenant, launched.token, scoreGiven=1, scoreMaximum=1), 403, "ags_not_enabled")
    assert_error(call(tenant.worker, "GET", "/lti/ags/lineitems", launched.token), 403, "ags_not_enabled")
    assert_error(call(tenant.worker, "GET", "/lti/nrps/members", launched.token), 403, "nrps_not_enabled")
    after = tenant.platform.counters(tenant.client_id)
    assert after["token"] == before["token"], "no service token is requested for URLs never granted"


def test_plain_http_outcome_url_is_not_granted(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_lti11_tenant()
    assert t_.lti11 is not None
    launched = t_.lti11.launch(roles="Instructor", user_id=unique("teacher"), context_id=unique("c11"),
                               lis_outcome_service_url="http://lms.example.invalid/outcomes/c11",
                               lis_result_sourcedid=unique("sourcedid"))
    assert_error(score(t_, launched.token, scoreGiven=1, scoreMaximum=2), 403, "ags_not_enabled")


# ---------------------------------------------------------------------------------------------
# §3 platform answers read as bounded streams
# ---------------------------------------------------------------------------------------------

BIG = 48 * 1024 * 1024  # far above the 4 MB cap and above what socket buffers hold


@pytest.mark.parametrize("service", ["ags", "nrps"])
def test_oversized_chunked_service_answer(tenant: Tenant, faults: t.Callable[..., t.Any], service: str) -> None:
    launched = ags_launch(tenant)
    faults(client_id=tenant.client_id, service_oversized=BIG)
    path = "/lti/ags/lineitems" if service == "ags" else "/lti/nrps/members"
    r = call(tenant.worker, "GET", path, launched.token)
    assert_error(r, 502, "platform_response_invalid")
    streams = [s for s in tenant.platform.streams() if s["total"] == BIG]
    assert streams, "the LMS streamed no oversized answer"
    complete = [s for s in streams if s["complete"]]
    assert not complete, (
        f"the worker read the whole {BIG} byte chunked answer instead of stopping at the 4 MB cap: {streams}")


# ---------------------------------------------------------------------------------------------
# §5 learners do not grade themselves by default; the services credential
# ---------------------------------------------------------------------------------------------


def _learner_message_ok(err: t.Dict[str, t.Any]) -> None:
    m = err["message"]
    assert "learnerScores" in m, f"the message names the registration field learnerScores: {m!r}"
    assert "services credential" in m.lower() or "LTI_SERVICES_TOKEN" in m, (
        f"the message says the tool's server must post with the services credential: {m!r}")


def test_learner_cannot_post_scores_by_default(tenant: Tenant) -> None:
    course = new_course()
    learner = ags_launch(tenant, course=course, role="Learner", user="alan")
    assert learner.claims["role"] == "viewer"
    for body in ({"scoreGiven": 3, "scoreMaximum": 4}, {"userId": "user-1002", "scoreGiven": 4, "scoreMaximum": 4}):
        err = assert_error(score(tenant, learner.token, **body), 403, "learner_scores_disabled")
        _learner_message_ok(err)
    assert tenant.platform.scores(course_id=course["id"]) == []


def test_guest_cannot_post_scores_by_default(make_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_tenant(roleMap={"urn:local-lms:role:Auditor": "guest"})
    course = new_course()
    guest = ags_launch(t_, course=course, role="Auditor", user="katherine")
    assert guest.claims["role"] == "guest", guest.claims
    assert_error(score(t_, guest.token, scoreGiven=1, scoreMaximum=1), 403, "learner_scores_disabled")


def test_learner_scores_true_allows_own_score_only(make_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_tenant(learnerScores=True)
    assert t_.registration.get("learnerScores") is True, t_.registration
    course = new_course()
    learner = ags_launch(t_, course=course, role="Learner", user="alan")
    posted = assert_ok(score(t_, learner.token, scoreGiven=3, scoreMaximum=4))
    assert posted["userId"] == "user-1002"
    assert_error(score(t_, learner.token, userId="user-1001", scoreGiven=4, scoreMaximum=4), 403, "role_forbidden")


def test_learner_scores_defaults_to_false(tenant: Tenant) -> None:
    assert tenant.registration.get("learnerScores") is False, (
        f"registrations carry learnerScores (default false): {tenant.registration}")


def test_instructor_posts_as_today(tenant: Tenant) -> None:
    launched = ags_launch(tenant)
    assert_ok(score(tenant, launched.token, userId="user-1002", scoreGiven=5, scoreMaximum=5))


def _lti11_learner(make_lti11_tenant: t.Callable[..., Tenant], **fields: t.Any) -> t.Tuple[Tenant, Launched, str]:
    t_ = make_lti11_tenant(**fields)
    assert t_.lti11 is not None
    user = unique("learner")
    course = unique("course11")
    launched = t_.lti11.launch(roles="Learner", user_id=user, context_id=course,
                               lis_outcome_service_url=t_.platform.outcome_url(course),
                               lis_result_sourcedid=unique("sourcedid"))
    return t_, launched, user


def test_lti11_learner_cannot_post_or_delete_by_default(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_, launched, _user = _lti11_learner(make_lti11_tenant)
    assert launched.claims["role"] == "viewer"
    err = assert_error(score(t_, launched.token, scoreGiven=1, scoreMaximum=2), 403, "learner_scores_disabled")
    _learner_message_ok(err)
    assert_error(call(t_.worker, "DELETE", "/lti/ags/scores", launched.token), 403, "learner_scores_disabled")
    assert t_.platform.outcomes(consumer_key=t_.lti11.key)["requests"] == []  # type: ignore[union-attr]


def test_services_token_with_platform_and_context(tenant: Tenant) -> None:
    course = new_course()
    launched = ags_launch(tenant, course=course)
    w = tenant.worker
    ctx = {"platformId": tenant.registration["id"], "contextId": course["id"]}
    lineitem = ags_claim(launched)["lineitem"]
    posted = assert_ok(score(tenant, w.services_token, lineItemUrl=lineitem, userId="user-1004",
                             scoreGiven=7, scoreMaximum=10, **ctx))
    assert posted == {"lineItemUrl": lineitem, "userId": "user-1004", "posted": True}
    listed = assert_ok(call(w, "GET", "/lti/ags/lineitems", w.services_token, params=ctx))["lineItems"]
    assert lineitem in [i["id"] for i in listed]
    roster = assert_ok(call(w, "GET", "/lti/nrps/members", w.services_token, params=ctx))
    assert roster["members"], roster


def test_services_token_with_learner_session(tenant: Tenant) -> None:
    """Services credential + ``LTI-Session``: acts for that learner; their own score is posted
    whatever learnerScores says."""
    course = new_course()
    learner = ags_launch(tenant, course=course, role="Learner", user="alan")
    w = tenant.worker
    posted = assert_ok(score(tenant, w.services_token, headers={"LTI-Session": learner.token},
                             scoreGiven=9, scoreMaximum=10))
    assert posted["userId"] == "user-1002" and posted["lineItemUrl"] == ags_claim(learner)["lineitem"], posted
    (got,) = tenant.platform.scores(lineitem=ags_claim(learner)["lineitem"])
    assert got["score"]["userId"] == "user-1002" and got["score"]["scoreGiven"] == 9
    # on behalf of that learner only
    r = score(tenant, w.services_token, headers={"LTI-Session": learner.token}, userId="user-1001",
              scoreGiven=1, scoreMaximum=1)
    assert r.status_code == 403, describe(r)
    assert len(tenant.platform.scores(lineitem=ags_claim(learner)["lineitem"])) == 1


def test_services_token_with_lti11_learner_session(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_, launched, user = _lti11_learner(make_lti11_tenant)
    posted = assert_ok(score(t_, t_.worker.services_token, headers={"LTI-Session": launched.token},
                             scoreGiven=3, scoreMaximum=4))
    assert posted.get("userId") == user and posted.get("posted") is True, posted


def test_a_forged_session_with_the_services_token_is_refused(tenant: Tenant) -> None:
    r = score(tenant, tenant.worker.services_token, headers={"LTI-Session": "not-a-session"},
              scoreGiven=1, scoreMaximum=1)
    assert_error(r, 401, "session_invalid")


@pytest.mark.parametrize("method,path", [("GET", "/lti/platforms"), ("POST", "/lti/platforms"),
                                         ("GET", "/lti/keys"), ("GET", "/lti/backup"),
                                         ("POST", "/lti/keys/next")])
def test_services_token_is_not_an_admin_token(tenant: Tenant, method: str, path: str) -> None:
    kw: t.Dict[str, t.Any] = {"json": {}} if method == "POST" else {}
    assert_error(tenant.worker.admin(method, path, token=tenant.worker.services_token, **kw), 401,
                 "admin_unauthorized")


def test_services_token_does_not_open_deep_linking(tenant: Tenant) -> None:
    r = call(tenant.worker, "POST", "/lti/deep-link", tenant.worker.services_token,
             json={"items": [{"type": "link", "url": "https://example.com/"}]})
    assert_error(r, 401, "session_invalid")


def test_services_token_is_configured(tenant: Tenant) -> None:
    """The suite's worker runs with LTI_SERVICES_TOKEN (and a wrong one is no credential)."""
    assert tenant.worker.services_token.startswith("svc_")
    r = http("GET", tenant.worker.url("/lti/ags/lineitems"),
             headers={"Accept": "application/json", "Authorization": f"Bearer {tenant.worker.services_token}x"},
             params={"platformId": tenant.registration["id"], "contextId": "x"})
    assert_error(r, 401, "session_invalid")

"""Assignment and Grade Services through the worker (/lti/ags/*) against the platform's AGS
(lti1p3platform's AssignmentsGradesService, in memory): service tokens by client credentials,
line items, scores, results, session scoping, what is not granted, platform failures.

Every test launches into a course of its own (``new_course``) with a fresh registration
(``tenant``: a unique client id), so line items, scores and the platform's per-client counters
belong to that test alone.
"""
from __future__ import annotations

import time
import typing as t
from datetime import datetime, timezone

import pytest

from ltihelpers import Launched, Tenant, assert_error, assert_ok, call, new_course, unique

AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
S_LINEITEM, S_LINEITEM_RO = AGS + "lineitem", AGS + "lineitem.readonly"
S_RESULT, S_SCORE = AGS + "result.readonly", AGS + "score"
S_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NOT_ENABLED = "Grade passback is not enabled for this deployment"


def ags_launch(t_: Tenant, course: t.Optional[t.Dict[str, str]] = None, role: str = "Instructor",
               link: t.Optional[t.Dict[str, str]] = None, **spec: t.Any) -> Launched:
    spec.setdefault("user", "ada" if role == "Instructor" else "alan")
    return t_.launch(course=course or new_course(), role=role, placement="mymedia",
                     resource_link=link or {"id": unique("rl"), "title": "Week 1 quiz"}, **spec)


def claim(launched: Launched) -> t.Dict[str, t.Any]:
    return launched.id_token_claims[AGS_CLAIM]


def score(t_: Tenant, token: str, **body: t.Any) -> t.Any:
    return call(t_.worker, "POST", "/lti/ags/scores", token, json=body)


def create(t_: Tenant, token: str, **body: t.Any) -> t.Any:
    return call(t_.worker, "POST", "/lti/ags/lineitems", token, json=body)


def lineitems(t_: Tenant, token: str, **query: t.Any) -> t.Any:
    return call(t_.worker, "GET", "/lti/ags/lineitems", token, params=query)


def results(t_: Tenant, token: str, **query: t.Any) -> t.Any:
    return call(t_.worker, "GET", "/lti/ags/results", token, params=query)


def admin_ctx(t_: Tenant, course: t.Dict[str, str]) -> t.Dict[str, str]:
    return {"platformId": t_.registration["id"], "contextId": course["id"]}


def delta(before: t.Dict[str, int], after: t.Dict[str, int]) -> t.Dict[str, int]:
    return {k: after[k] - before[k] for k in before}


# ---------------------------------------------------------------------------------------------
# the session and the service token
# ---------------------------------------------------------------------------------------------


def test_session_claims_name_the_services(tenant: Tenant) -> None:
    launched = ags_launch(tenant)
    s = assert_ok(call(tenant.worker, "GET", "/lti/session", launched.token))
    assert s["lti_sub"] == "user-1001"
    c = claim(launched)
    assert s["svc"]["ags"]["lineitems"] == c["lineitems"]
    assert s["svc"]["ags"]["lineitem"] == c["lineitem"]
    assert sorted(s["svc"]["ags"]["scope"]) == sorted(c["scope"])
    nrps = launched.id_token_claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"]
    assert s["svc"]["nrps"]["url"] == nrps["context_memberships_url"]

    bare = ags_launch(tenant, ags=False, nrps=False)
    s = assert_ok(call(tenant.worker, "GET", "/lti/session", bare.token))
    assert not s.get("svc", {}).get("ags") and not s.get("svc", {}).get("nrps"), s


def test_lineitem_score_results_flow(tenant: Tenant) -> None:
    course = new_course()
    launched = ags_launch(tenant, course=course)
    c = claim(launched)
    p = tenant.platform
    before = p.counters(tenant.client_id)

    item = assert_ok(create(tenant, launched.token, label="Quiz 1", scoreMaximum=20,
                            resourceId="quiz-1", tag="quiz"), 201)
    assert item["id"].startswith(c["lineitems"] + "/"), item
    assert item["label"] == "Quiz 1" and item["scoreMaximum"] == 20
    assert item["resourceLinkId"] == launched.claims["resource_link_id"]
    on_platform = {i["id"]: i for i in p.lineitems(course["id"])}
    assert on_platform[item["id"]]["resourceId"] == "quiz-1"

    posted = assert_ok(score(tenant, launched.token, lineItemUrl=item["id"], userId="user-1002",
                             scoreGiven=15, scoreMaximum=20, comment="Well done"))
    assert posted == {"lineItemUrl": item["id"], "userId": "user-1002", "posted": True}
    (got,) = p.scores(lineitem=item["id"])
    s = got["score"]
    assert s["userId"] == "user-1002" and s["scoreGiven"] == 15 and s["scoreMaximum"] == 20
    assert s["comment"] == "Well done"
    assert s["activityProgress"] == "Completed" and s["gradingProgress"] == "FullyGraded"
    stamp = datetime.fromisoformat(s["timestamp"].replace("Z", "+00:00"))
    assert stamp.tzinfo is not None
    assert abs((datetime.now(timezone.utc) - stamp).total_seconds()) < 600, s["timestamp"]
    assert got["client_id"] == tenant.client_id

    data = assert_ok(results(tenant, launched.token, lineItemUrl=item["id"]))
    (r,) = data["results"]
    assert r["userId"] == "user-1002" and r["resultScore"] == 15 and r["resultMaximum"] == 20
    assert r["scoreOf"] == item["id"]

    d = delta(before, p.counters(tenant.client_id))
    assert d["token"] >= 1 and d["ags"] >= 3 and d["scores"] == 1, d

    # the client credentials grant the platform received
    reqs = p.token_requests(tenant.client_id)
    assert reqs and all(r["status"] == 200 for r in reqs), reqs
    jwks_kids = {k["kid"] for k in tenant.worker.jwks()["keys"]}
    for req in reqs:
        assert req["grant_type"] == "client_credentials"
        assert req["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        assert (req["content_type"] or "").startswith("application/x-www-form-urlencoded")
        h, a = req["assertion_header"], req["assertion_claims"]
        assert h["alg"] == "RS256" and h.get("kid") in jwks_kids, h
        assert a["iss"] == a["sub"] == tenant.client_id
        assert a["aud"] in (p.base + "/token", [p.base + "/token"]), a
        assert isinstance(a["iat"], int) and isinstance(a["exp"], int) and a["exp"] > a["iat"]
        assert isinstance(a.get("jti"), str) and a["jti"]
        requested = set((req["scope"] or "").split())
        granted_in_launch = set(c["scope"]) | {S_NRPS}  # the launch granted AGS and NRPS
        assert requested and requested <= granted_in_launch, (requested, c["scope"])
        assert requested & set(c["scope"]), "an AGS call asks for AGS scopes"
    assert len({r["assertion_claims"]["jti"] for r in reqs}) == len(reqs), "jti is unique"


def test_default_lineitem_and_own_user(tenant: Tenant) -> None:
    launched = ags_launch(tenant)
    c = claim(launched)
    posted = assert_ok(score(tenant, launched.token, scoreGiven=8, scoreMaximum=10))
    assert posted == {"lineItemUrl": c["lineitem"], "userId": "user-1001", "posted": True}
    (got,) = tenant.platform.scores(lineitem=c["lineitem"])
    assert got["score"]["userId"] == "user-1001" and got["score"]["scoreGiven"] == 8
    # a score without scoreGiven (progress only) is valid too
    assert_ok(score(tenant, launched.token, activityProgress="InProgress", gradingProgress="Pending"))
    last = tenant.platform.scores(lineitem=c["lineitem"])[-1]["score"]
    assert last["activityProgress"] == "InProgress" and last["gradingProgress"] == "Pending"
    assert "scoreGiven" not in last


def test_list_all_pages_of_own_resource_link(tenant: Tenant) -> None:
    course = new_course()
    launched = ags_launch(tenant, course=course)
    rl = launched.claims["resource_link_id"]
    created = [assert_ok(create(tenant, launched.token, label=f"Part {i}", scoreMaximum=10,
                                resourceId=f"res-{i % 2}", tag="exam" if i % 3 == 0 else "quiz"), 201)
               for i in range(11)]
    forced = assert_ok(create(tenant, launched.token, label="Sneaky", scoreMaximum=1,
                              resourceLinkId="rl-someone-else"), 201)
    assert forced["resourceLinkId"] == rl, "a session's line items belong to its resource link"
    # an item of another resource link in the same course (created with the admin token)
    other = assert_ok(call(tenant.worker, "POST", "/lti/ags/lineitems", tenant.worker.admin_token,
                           json={**admin_ctx(tenant, course), "label": "Other link", "scoreMaximum": 5,
                                 "resourceLinkId": "rl-other-link"}), 201)

    before = tenant.platform.counters(tenant.client_id)
    data = assert_ok(lineitems(tenant, launched.token, limit=3))
    got = [i["id"] for i in data["lineItems"]]
    expected = [claim(launched)["lineitem"]] + [i["id"] for i in created] + [forced["id"]]
    assert sorted(got) == sorted(expected), "all pages, only this resource link's items"
    assert other["id"] not in got
    assert all(i["resourceLinkId"] == rl for i in data["lineItems"])
    assert delta(before, tenant.platform.counters(tenant.client_id))["ags"] >= 3, "followed rel=next"

    exams = assert_ok(lineitems(tenant, launched.token, tag="exam"))["lineItems"]
    assert sorted(i["id"] for i in exams) == sorted(created[i]["id"] for i in (0, 3, 6, 9))
    res1 = assert_ok(lineitems(tenant, launched.token, resourceId="res-1"))["lineItems"]
    assert sorted(i["id"] for i in res1) == sorted(created[i]["id"] for i in range(1, 11, 2))

    everything = assert_ok(call(tenant.worker, "GET", "/lti/ags/lineitems", tenant.worker.admin_token,
                                params=admin_ctx(tenant, course)))["lineItems"]
    assert other["id"] in [i["id"] for i in everything] and len(everything) == len(expected) + 1


def test_get_update_delete(tenant: Tenant) -> None:
    course = new_course()
    launched = ags_launch(tenant, course=course)
    item = assert_ok(create(tenant, launched.token, label="Essay", scoreMaximum=50, tag="essay"), 201)
    url = item["id"]
    got = assert_ok(call(tenant.worker, "GET", "/lti/ags/lineitem", launched.token,
                         params={"lineItemUrl": url}))
    assert got["id"] == url and got["label"] == "Essay" and got["scoreMaximum"] == 50

    updated = assert_ok(call(tenant.worker, "PUT", "/lti/ags/lineitem", launched.token,
                             json={"lineItemUrl": url, "label": "Final essay", "scoreMaximum": 60}))
    assert updated["id"] == url and updated["label"] == "Final essay" and updated["scoreMaximum"] == 60
    on_platform = {i["id"]: i for i in tenant.platform.lineitems(course["id"])}[url]
    assert on_platform["label"] == "Final essay" and on_platform["scoreMaximum"] == 60
    assert on_platform["tag"] == "essay" and on_platform["resourceLinkId"] == launched.claims["resource_link_id"]

    deleted = assert_ok(call(tenant.worker, "DELETE", "/lti/ags/lineitem", launched.token,
                             params={"lineItemUrl": url}))
    assert deleted["deleted"] is True, deleted
    assert url not in [i["id"] for i in tenant.platform.lineitems(course["id"])]
    assert url not in [i["id"] for i in assert_ok(lineitems(tenant, launched.token))["lineItems"]]


def test_invalid_requests_are_refused(tenant: Tenant) -> None:
    course = new_course()
    launched = ags_launch(tenant, course=course)
    before = len(tenant.platform.lineitems(course["id"]))
    for body in ({"label": "", "scoreMaximum": 10}, {"label": "Quiz", "scoreMaximum": 0}, {"label": "Quiz"},
                 {"label": "Quiz", "scoreMaximum": 5, "startDateTime": "next week"}):
        err = assert_error(create(tenant, launched.token, **body), 422, "lineitem_invalid")
        assert err["fields"], err
    assert len(tenant.platform.lineitems(course["id"])) == before, "nothing was created"
    item = assert_ok(create(tenant, launched.token, label="Quiz", scoreMaximum=10), 201)
    assert_error(call(tenant.worker, "PUT", "/lti/ags/lineitem", launched.token,
                      json={"lineItemUrl": item["id"], "scoreMaximum": -1}), 422, "lineitem_invalid")
    assert {i["id"]: i for i in tenant.platform.lineitems(course["id"])}[item["id"]]["scoreMaximum"] == 10
    # malformed requests: no lineItemUrl, a body that is not JSON, admin calls without the context
    err = assert_error(call(tenant.worker, "GET", "/lti/ags/lineitem", launched.token), 400, "request_invalid")
    assert "lineItemUrl" in err["fields"]
    assert_error(call(tenant.worker, "POST", "/lti/ags/scores", launched.token, data="not json",
                      headers={"Content-Type": "application/json"}), 400, "request_invalid")
    err = assert_error(call(tenant.worker, "GET", "/lti/ags/lineitems", tenant.worker.admin_token,
                            params={"contextId": course["id"]}), 400, "request_invalid")
    assert "platformId" in err["fields"]
    # AGS scores cannot be deleted (only LTI 1.1 Basic Outcomes has deleteResult)
    assert_error(call(tenant.worker, "DELETE", "/lti/ags/scores", launched.token), 405, "method_not_allowed")


# ---------------------------------------------------------------------------------------------
# scoping
# ---------------------------------------------------------------------------------------------


def test_lineitem_out_of_scope(tenant: Tenant) -> None:
    course, other_course = new_course(), new_course()
    mine = ags_launch(tenant, course=course)
    neighbour = ags_launch(tenant, course=course)  # another resource link, same course
    elsewhere = ags_launch(tenant, course=other_course)
    base = claim(mine)["lineitems"]
    n = claim(elsewhere)["lineitem"].rsplit("/", 1)[1]
    foreign = [
        claim(neighbour)["lineitem"],
        claim(elsewhere)["lineitem"],
        "https://evil.example.edu/api/courses/" + course["id"] + "/lineitems/1",
        f"{base}/../../{other_course['id']}/lineitems/{n}",
        f"{base}/%2e%2e/%2e%2e/{other_course['id']}/lineitems/{n}",
    ]
    w, tok = tenant.worker, mine.token
    for url in foreign:
        assert_error(call(w, "GET", "/lti/ags/lineitem", tok, params={"lineItemUrl": url}), 403,
                     "lineitem_out_of_scope")
        assert_error(call(w, "PUT", "/lti/ags/lineitem", tok, json={"lineItemUrl": url, "label": "x"}),
                     403, "lineitem_out_of_scope")
        assert_error(call(w, "DELETE", "/lti/ags/lineitem", tok, params={"lineItemUrl": url}), 403,
                     "lineitem_out_of_scope")
        assert_error(score(tenant, tok, lineItemUrl=url, scoreGiven=1, scoreMaximum=1), 403,
                     "lineitem_out_of_scope")
        assert_error(results(tenant, tok, lineItemUrl=url), 403, "lineitem_out_of_scope")
    for url in (claim(neighbour)["lineitem"], claim(elsewhere)["lineitem"]):
        assert tenant.platform.scores(lineitem=url) == []
    assert claim(neighbour)["lineitem"] in [i["id"] for i in tenant.platform.lineitems(course["id"])]
    assert claim(elsewhere)["lineitem"] in [i["id"] for i in tenant.platform.lineitems(other_course["id"])]


def test_session_decides_the_context(tenant: Tenant) -> None:
    course, other_course = new_course(), new_course()
    launched = ags_launch(tenant, course=course)
    ags_launch(tenant, course=other_course)  # the other context is known to the worker
    body = {**admin_ctx(tenant, other_course), "label": "Where am I", "scoreMaximum": 3}
    item = assert_ok(call(tenant.worker, "POST", "/lti/ags/lineitems", launched.token, json=body), 201)
    assert item["id"].startswith(claim(launched)["lineitems"] + "/")
    listed = assert_ok(call(tenant.worker, "GET", "/lti/ags/lineitems", launched.token,
                            params=admin_ctx(tenant, other_course)))["lineItems"]
    assert item["id"] in [i["id"] for i in listed]
    assert all(i["id"].startswith(claim(launched)["lineitems"] + "/") for i in listed)
    assert all(i["label"] != "Where am I" for i in tenant.platform.lineitems(other_course["id"]))


def test_learner_session(make_tenant: t.Callable[..., Tenant]) -> None:
    # learners post their own scores only where the registration allows it (learnerScores)
    tenant = make_tenant(learnerScores=True)
    course = new_course()
    ags_launch(tenant, course=course, role="Instructor")
    learner = ags_launch(tenant, course=course, role="Learner", user="alan")
    assert learner.claims["role"] == "viewer"
    lineitem = claim(learner)["lineitem"]
    posted = assert_ok(score(tenant, learner.token, scoreGiven=3, scoreMaximum=4))
    assert posted["userId"] == "user-1002" and posted["lineItemUrl"] == lineitem
    assert_ok(score(tenant, learner.token, userId="user-1002", scoreGiven=4, scoreMaximum=4))
    assert_error(score(tenant, learner.token, userId="user-1001", scoreGiven=4, scoreMaximum=4), 403,
                 "role_forbidden")
    assert [s["score"]["userId"] for s in tenant.platform.scores(lineitem=lineitem)] == ["user-1002"] * 2
    assert_error(create(tenant, learner.token, label="Mine", scoreMaximum=1), 403, "role_forbidden")
    assert all(i["label"] != "Mine" for i in tenant.platform.lineitems(course["id"]))


def test_admin_token_with_platform_and_context(tenant: Tenant) -> None:
    course = new_course()
    launched = ags_launch(tenant, course=course)
    admin, ctx = tenant.worker.admin_token, admin_ctx(tenant, course)
    listed = assert_ok(call(tenant.worker, "GET", "/lti/ags/lineitems", admin, params=ctx))["lineItems"]
    assert claim(launched)["lineitem"] in [i["id"] for i in listed]
    item = assert_ok(call(tenant.worker, "POST", "/lti/ags/lineitems", admin,
                          json={**ctx, "label": "Midterm", "scoreMaximum": 100,
                                "resourceLinkId": launched.claims["resource_link_id"]}), 201)
    assert item["id"].startswith(claim(launched)["lineitems"] + "/")
    for user, given in (("user-1003", 71), ("user-1004", 88)):
        posted = assert_ok(call(tenant.worker, "POST", "/lti/ags/scores", admin,
                                json={**ctx, "lineItemUrl": item["id"], "userId": user,
                                      "scoreGiven": given, "scoreMaximum": 100}))
        assert posted == {"lineItemUrl": item["id"], "userId": user, "posted": True}
    data = assert_ok(call(tenant.worker, "GET", "/lti/ags/results", admin,
                          params={**ctx, "lineItemUrl": item["id"]}))
    assert sorted((r["userId"], r["resultScore"]) for r in data["results"]) == [("user-1003", 71),
                                                                                ("user-1004", 88)]
    one = assert_ok(call(tenant.worker, "GET", "/lti/ags/results", admin,
                         params={**ctx, "lineItemUrl": item["id"], "userId": "user-1004"}))
    assert [r["userId"] for r in one["results"]] == ["user-1004"]
    got = assert_ok(call(tenant.worker, "GET", "/lti/ags/lineitem", admin,
                         params={**ctx, "lineItemUrl": item["id"]}))
    assert got["label"] == "Midterm"


def test_admin_unknown_context(tenant: Tenant) -> None:
    ags_launch(tenant)
    ctx = {"platformId": tenant.registration["id"], "contextId": unique("never-launched")}
    admin = tenant.worker.admin_token
    assert_error(call(tenant.worker, "GET", "/lti/ags/lineitems", admin, params=ctx), 404, "context_unknown")
    assert_error(call(tenant.worker, "POST", "/lti/ags/scores", admin,
                      json={**ctx, "lineItemUrl": tenant.platform.base + "/api/courses/x/lineitems/1",
                            "userId": "user-1001", "scoreGiven": 1, "scoreMaximum": 1}),
                 404, "context_unknown")


def test_requires_a_session_or_admin(tenant: Tenant) -> None:
    assert_error(lineitems(tenant, None), 401, "session_invalid")  # type: ignore[arg-type]
    assert_error(score(tenant, "not-a-token", scoreGiven=1, scoreMaximum=1), 401, "session_invalid")


# ---------------------------------------------------------------------------------------------
# what the platform did not grant
# ---------------------------------------------------------------------------------------------


def test_ags_not_granted(tenant: Tenant) -> None:
    launched = ags_launch(tenant, ags=False)  # the launch itself still succeeds (303)
    assert AGS_CLAIM not in launched.id_token_claims
    before = tenant.platform.counters(tenant.client_id)
    for r in (score(tenant, launched.token, scoreGiven=1, scoreMaximum=1),
              lineitems(tenant, launched.token),
              create(tenant, launched.token, label="x", scoreMaximum=1)):
        err = assert_error(r, 403, "ags_not_enabled")
        assert err["message"].startswith(NOT_ENABLED), err
    assert delta(before, tenant.platform.counters(tenant.client_id)) == {"token": 0, "ags": 0, "nrps": 0,
                                                                           "scores": 0}


def test_scope_missing(tenant: Tenant) -> None:
    readonly = ags_launch(tenant, ags={"scope": [S_LINEITEM_RO, S_RESULT]})
    assert_error(score(tenant, readonly.token, scoreGiven=1, scoreMaximum=1), 403, "ags_not_enabled")
    assert_error(create(tenant, readonly.token, label="x", scoreMaximum=1), 403, "ags_not_enabled")
    listed = assert_ok(lineitems(tenant, readonly.token))["lineItems"]
    assert claim(readonly)["lineitem"] in [i["id"] for i in listed]
    assert assert_ok(results(tenant, readonly.token, lineItemUrl=claim(readonly)["lineitem"]))["results"] == []

    score_only = ags_launch(tenant, ags={"scope": [S_SCORE]})
    assert_ok(score(tenant, score_only.token, scoreGiven=1, scoreMaximum=2))
    assert len(tenant.platform.scores(lineitem=claim(score_only)["lineitem"])) == 1
    assert_error(lineitems(tenant, score_only.token), 403, "ags_not_enabled")
    assert_error(results(tenant, score_only.token, lineItemUrl=claim(score_only)["lineitem"]), 403,
                 "ags_not_enabled")
    assert_error(create(tenant, score_only.token, label="x", scoreMaximum=1), 403, "ags_not_enabled")


def test_granted_scopes_smaller_than_the_claim(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    """The launch claims score, the token endpoint grants only read scopes: no grade reaches the
    gradebook and the tool app gets one of the documented refusals, not a success."""
    launched = ags_launch(tenant)
    faults(client_id=tenant.client_id, granted_scopes=[S_LINEITEM_RO, S_RESULT])
    r = score(tenant, launched.token, scoreGiven=1, scoreMaximum=1)
    assert r.status_code in (403, 502), r.text
    assert r.json()["error"]["code"] in ("platform_token_failed", "platform_service_failed",
                                         "ags_not_enabled"), r.text
    assert tenant.platform.scores(lineitem=claim(launched)["lineitem"]) == []


# ---------------------------------------------------------------------------------------------
# platform failures, retries, the token cache
# ---------------------------------------------------------------------------------------------


def test_token_endpoint_401_then_success(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = ags_launch(tenant)
    faults(client_id=tenant.client_id, token_statuses=[401])
    before = tenant.platform.counters(tenant.client_id)
    assert_ok(score(tenant, launched.token, scoreGiven=5, scoreMaximum=5))
    d = delta(before, tenant.platform.counters(tenant.client_id))
    assert d["token"] == 2 and d["scores"] == 1, f"exactly one retry of the token request: {d}"
    assert [r["status"] for r in tenant.platform.token_requests(tenant.client_id)] == [401, 200]


def test_token_endpoint_401_twice(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = ags_launch(tenant)
    faults(client_id=tenant.client_id, token_statuses=[401, 401])
    before = tenant.platform.counters(tenant.client_id)
    assert_error(score(tenant, launched.token, scoreGiven=5, scoreMaximum=5), 502, "platform_token_failed")
    d = delta(before, tenant.platform.counters(tenant.client_id))
    assert d["token"] == 2 and d["ags"] == 0 and d["scores"] == 0, d
    # the failure is not cached: the next call gets a token and posts
    assert_ok(score(tenant, launched.token, scoreGiven=5, scoreMaximum=5))
    assert len(tenant.platform.scores(lineitem=claim(launched)["lineitem"])) == 1


def test_token_endpoint_500(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = ags_launch(tenant)
    faults(client_id=tenant.client_id, token_status=500)
    before = tenant.platform.counters(tenant.client_id)
    assert_error(score(tenant, launched.token, scoreGiven=5, scoreMaximum=5), 502, "platform_token_failed")
    assert_error(lineitems(tenant, launched.token), 502, "platform_token_failed")
    d = delta(before, tenant.platform.counters(tenant.client_id))
    assert 2 <= d["token"] <= 4 and d["ags"] == 0 and d["scores"] == 0, d
    faults()
    assert_ok(score(tenant, launched.token, scoreGiven=5, scoreMaximum=5))


def test_service_401_once_gets_a_fresh_token(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = ags_launch(tenant)
    assert_ok(score(tenant, launched.token, scoreGiven=1, scoreMaximum=5))
    faults(client_id=tenant.client_id, service_401_once=True)
    before = tenant.platform.counters(tenant.client_id)
    assert_ok(score(tenant, launched.token, scoreGiven=2, scoreMaximum=5))
    d = delta(before, tenant.platform.counters(tenant.client_id))
    assert d["token"] == 1 and d["scores"] == 1 and d["ags"] >= 2, d
    assert [s["score"]["scoreGiven"] for s in tenant.platform.scores(lineitem=claim(launched)["lineitem"])] == [1, 2]


def test_service_failure(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = ags_launch(tenant)
    faults(client_id=tenant.client_id, ags_status=500)
    assert_error(lineitems(tenant, launched.token), 502, "platform_service_failed")
    assert_error(score(tenant, launched.token, scoreGiven=1, scoreMaximum=1), 502, "platform_service_failed")
    assert tenant.platform.scores(lineitem=claim(launched)["lineitem"]) == []
    faults()
    assert_ok(score(tenant, launched.token, scoreGiven=1, scoreMaximum=1))


def test_malformed_platform_response(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = ags_launch(tenant)
    faults(client_id=tenant.client_id, ags_malformed=True)
    assert_error(lineitems(tenant, launched.token), 502, "platform_response_invalid")
    assert_error(results(tenant, launched.token, lineItemUrl=claim(launched)["lineitem"]), 502,
                 "platform_response_invalid")
    assert_error(create(tenant, launched.token, label="x", scoreMaximum=1), 502, "platform_response_invalid")


@pytest.mark.parametrize("body", [
    {"scoreGiven": -1, "scoreMaximum": 10},
    {"scoreGiven": 1, "scoreMaximum": 0},
    {"scoreGiven": 1, "scoreMaximum": -5},
    {"scoreGiven": 5},
    {"scoreGiven": 5, "scoreMaximum": 10, "comment": "x" * 1001},
    {"scoreGiven": 5, "scoreMaximum": 10, "activityProgress": "Done"},
    {"scoreGiven": 5, "scoreMaximum": 10, "gradingProgress": "Graded"},
], ids=["negative", "max-zero", "max-negative", "given-without-max", "comment-1001", "activity-enum",
        "grading-enum"])
def test_score_invalid(tenant: Tenant, body: t.Dict[str, t.Any]) -> None:
    launched = ags_launch(tenant)
    assert_error(score(tenant, launched.token, **body), 422, "score_invalid")
    assert tenant.platform.scores(lineitem=claim(launched)["lineitem"]) == []


def test_score_limits_inclusive(tenant: Tenant) -> None:
    launched = ags_launch(tenant)
    assert_ok(score(tenant, launched.token, scoreGiven=0, scoreMaximum=10, comment="x" * 1000,
                    activityProgress="Submitted", gradingProgress="PendingManual"))
    (got,) = tenant.platform.scores(lineitem=claim(launched)["lineitem"])
    assert got["score"]["scoreGiven"] == 0 and len(got["score"]["comment"]) == 1000
    assert got["score"]["activityProgress"] == "Submitted"


def test_token_cache(tenant: Tenant) -> None:
    course = new_course()
    launched = ags_launch(tenant, course=course)
    before = tenant.platform.counters(tenant.client_id)
    users = ["user-1001", "user-1002", "user-1003", "user-1004", "user-2001", "user-2002"]
    for i, user in enumerate(users):
        assert_ok(score(tenant, launched.token, userId=user, scoreGiven=i, scoreMaximum=10))
    d = delta(before, tenant.platform.counters(tenant.client_id))
    assert d["token"] == 1 and d["scores"] == len(users), d
    # another session of the same registration (same issuer, client id, token URL, scopes)
    again = ags_launch(tenant, course=course)
    assert_ok(score(tenant, again.token, scoreGiven=9, scoreMaximum=10))
    d = delta(before, tenant.platform.counters(tenant.client_id))
    assert d["token"] == 1 and d["scores"] == len(users) + 1, d


def test_expired_token_is_replaced(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = ags_launch(tenant)
    # 3 s (iat and exp are whole seconds: the token lives 2 to 3 s, long enough for one call)
    faults(client_id=tenant.client_id, expires_in=3)
    before = tenant.platform.counters(tenant.client_id)
    assert_ok(score(tenant, launched.token, scoreGiven=1, scoreMaximum=2))
    time.sleep(4.5)  # the token (and any cache entry for it) has expired
    assert_ok(score(tenant, launched.token, scoreGiven=2, scoreMaximum=2))
    d = delta(before, tenant.platform.counters(tenant.client_id))
    assert d["token"] == 2 and d["scores"] == 2, d

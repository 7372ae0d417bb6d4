"""Names and Role Provisioning through the worker (GET /lti/nrps/members) against the platform's
NRPS (lti1p3platform's NamesRoleProvisioningService): every page followed, members mapped to tool
roles, role filter, membership differences, a looping or broken platform, session scoping, and no
member data in the worker's log.

Every course roster has 12 members (4 launchable users + 8 roster-only ones), 3 pages at the
platform's default page size of 4.
"""
from __future__ import annotations

import time
import typing as t

from ltihelpers import (ROLE_INSTRUCTOR, ROLE_LEARNER, ROLE_TA, Launched, Tenant, Worker, assert_error,
                        assert_ok, call, new_course, unique)

NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"

# the platform's roster (tests/platform/platform.py USERS + ROSTER_EXTRA)
ROSTER = {
    "user-1001": ("Ada Lovelace", "Ada", "Lovelace", "ada.lovelace@local-lms.test", ROLE_INSTRUCTOR),
    "user-1002": ("Alan Turing", "Alan", "Turing", "alan.turing@local-lms.test", ROLE_LEARNER),
    "user-1003": ("Grace Hopper", "Grace", "Hopper", "grace.hopper@local-lms.test", ROLE_TA),
    "user-1004": ("Katherine Johnson", "Katherine", "Johnson", "katherine.johnson@local-lms.test", ROLE_LEARNER),
    "user-2001": ("Barbara Liskov", "Barbara", "Liskov", "barbara.liskov@local-lms.test", ROLE_LEARNER),
    "user-2002": ("Edsger Dijkstra", "Edsger", "Dijkstra", "edsger.dijkstra@local-lms.test", ROLE_LEARNER),
    "user-2003": ("Frances Allen", "Frances", "Allen", "frances.allen@local-lms.test", ROLE_TA),
    "user-2004": ("Donald Knuth", "Donald", "Knuth", "donald.knuth@local-lms.test", ROLE_LEARNER),
    "user-2005": ("Radia Perlman", "Radia", "Perlman", "radia.perlman@local-lms.test", ROLE_LEARNER),
    "user-2006": ("Tim Berners-Lee", "Tim", "Berners-Lee", "tim.berners-lee@local-lms.test", ROLE_INSTRUCTOR),
    "user-2007": ("Margaret Hamilton", "Margaret", "Hamilton", "margaret.hamilton@local-lms.test", ROLE_LEARNER),
    "user-2008": ("Leslie Lamport", "Leslie", "Lamport", "leslie.lamport@local-lms.test", ROLE_LEARNER),
}
TOOL_ROLE = {ROLE_INSTRUCTOR: "admin", ROLE_TA: "moderator", ROLE_LEARNER: "viewer"}


def nrps_launch(t_: Tenant, course: t.Optional[t.Dict[str, str]] = None, role: str = "Instructor",
                **spec: t.Any) -> Launched:
    spec.setdefault("user", "ada" if role == "Instructor" else "alan")
    return t_.launch(course=course or new_course(), role=role, placement="coursegallery", **spec)


def members(t_: Tenant, token: t.Optional[str], **query: t.Any) -> t.Any:
    return call(t_.worker, "GET", "/lti/nrps/members", token, params=query)


def memberships_url(launched: Launched) -> str:
    return launched.id_token_claims[NRPS_CLAIM]["context_memberships_url"]


def test_all_pages_members_and_tool_roles(tenant: Tenant) -> None:
    course = new_course()
    launched = nrps_launch(tenant, course=course)
    before = tenant.platform.counters(tenant.client_id)
    data = assert_ok(members(tenant, launched.token, limit=4))
    assert data["id"] == memberships_url(launched)
    assert data["context"]["id"] == course["id"] and data["context"]["title"] == course["title"]
    assert data["pages"] == 3 and data["truncated"] is False
    nrps_calls = tenant.platform.counters(tenant.client_id)["nrps"] - before["nrps"]
    assert nrps_calls == 3, f"three pages, three platform calls (rel=next followed): {nrps_calls}"

    got = {m["userId"]: m for m in data["members"]}
    assert len(data["members"]) == 12 and set(got) == set(ROSTER)
    for uid, (name, given, family, email, role) in ROSTER.items():
        m = got[uid]
        assert m["roles"] == [role], m
        assert m["toolRole"] == TOOL_ROLE[role], m
        assert m["name"] == name and m["givenName"] == given and m["familyName"] == family, m
        assert m["email"] == email and m["status"] == "Active", m

    # without limit: the platform's own paging, still every member
    data = assert_ok(members(tenant, launched.token))
    assert {m["userId"] for m in data["members"]} == set(ROSTER) and data["pages"] >= 3


def test_role_filter(tenant: Tenant) -> None:
    launched = nrps_launch(tenant)
    learners = {u for u, v in ROSTER.items() if v[4] == ROLE_LEARNER}
    for role in ("Learner", ROLE_LEARNER):
        data = assert_ok(members(tenant, launched.token, role=role, limit=4))
        assert {m["userId"] for m in data["members"]} == learners, role
        assert all(m["toolRole"] == "viewer" for m in data["members"])
    tas = assert_ok(members(tenant, launched.token, role=ROLE_TA))["members"]
    assert {m["userId"] for m in tas} == {"user-1003", "user-2003"}
    assert all(m["toolRole"] == "moderator" for m in tas)
    instructors = assert_ok(members(tenant, launched.token, role="Instructor"))["members"]
    assert {m["userId"] for m in instructors} == {"user-1001", "user-2006"}


def test_differences(tenant: Tenant) -> None:
    course = new_course()
    launched = nrps_launch(tenant, course=course)
    first = assert_ok(members(tenant, launched.token))
    diff = first["differencesUrl"]
    assert diff.startswith(memberships_url(launched) + "?"), diff
    nothing = assert_ok(members(tenant, launched.token, since=diff))
    assert nothing["members"] == []

    tenant.platform.change_roster(course["id"], add=[{
        "user_id": "user-3001", "roles": [ROLE_LEARNER], "name": "Hedy Lamarr", "given_name": "Hedy",
        "family_name": "Lamarr", "email": "hedy.lamarr@local-lms.test"}],
        remove=["user-2002"], status={"user-1004": "Inactive"})
    changed = assert_ok(members(tenant, launched.token, since=diff))
    got = {m["userId"]: m for m in changed["members"]}
    assert {u: m["status"] for u, m in got.items()} == {"user-3001": "Active", "user-2002": "Deleted",
                                                       "user-1004": "Inactive"}
    assert got["user-3001"]["toolRole"] == "viewer" and got["user-3001"]["name"] == "Hedy Lamarr"
    assert changed["context"]["id"] == course["id"]
    now = {m["userId"] for m in assert_ok(members(tenant, launched.token))["members"]}
    assert "user-3001" in now and "user-2002" not in now


def test_next_link_loop_stops(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = nrps_launch(tenant)
    faults(client_id=tenant.client_id, nrps_loop=True)
    before = tenant.platform.counters(tenant.client_id)
    data = assert_ok(members(tenant, launched.token, limit=4))
    calls = tenant.platform.counters(tenant.client_id)["nrps"] - before["nrps"]
    assert data["truncated"] is True, data
    assert data["pages"] <= 50 and calls <= 50, (data["pages"], calls)
    assert calls == 3, f"a next link already visited ends the walk: {calls} platform calls"
    assert set(ROSTER) <= {m["userId"] for m in data["members"]}


def test_oversized_page(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = nrps_launch(tenant)
    faults(client_id=tenant.client_id, nrps_oversized=True)
    assert_error(members(tenant, launched.token), 502, "platform_response_invalid")


def test_malformed_page(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = nrps_launch(tenant)
    faults(client_id=tenant.client_id, nrps_malformed=True)
    assert_error(members(tenant, launched.token), 502, "platform_response_invalid")


def test_platform_failure(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = nrps_launch(tenant)
    faults(client_id=tenant.client_id, nrps_status=503)
    assert_error(members(tenant, launched.token), 502, "platform_service_failed")
    faults()
    assert len(assert_ok(members(tenant, launched.token))["members"]) == 12


def test_token_endpoint_failure(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = nrps_launch(tenant)  # a fresh client id: no cached service token
    faults(client_id=tenant.client_id, token_status=500)
    assert_error(members(tenant, launched.token), 502, "platform_token_failed")
    assert tenant.platform.counters(tenant.client_id)["nrps"] == 0


def test_service_401_once(tenant: Tenant, faults: t.Callable[..., t.Any]) -> None:
    launched = nrps_launch(tenant)
    assert_ok(members(tenant, launched.token, limit=12))
    faults(client_id=tenant.client_id, service_401_once=True)
    before = tenant.platform.counters(tenant.client_id)
    data = assert_ok(members(tenant, launched.token, limit=12))
    assert len(data["members"]) == 12
    d = tenant.platform.counters(tenant.client_id)
    assert d["token"] - before["token"] == 1 and d["nrps"] - before["nrps"] == 2


def test_learner_forbidden(tenant: Tenant) -> None:
    course = new_course()
    learner = nrps_launch(tenant, course=course, role="Learner")
    assert learner.claims["role"] == "viewer"
    before = tenant.platform.counters(tenant.client_id)
    assert_error(members(tenant, learner.token), 403, "role_forbidden")
    assert tenant.platform.counters(tenant.client_id)["nrps"] == before["nrps"]


def test_ta_allowed(tenant: Tenant) -> None:
    ta = nrps_launch(tenant, role="TeachingAssistant", user="grace")
    assert ta.claims["role"] == "moderator"
    assert len(assert_ok(members(tenant, ta.token))["members"]) == 12


def test_nrps_not_granted(tenant: Tenant) -> None:
    launched = nrps_launch(tenant, nrps=False)
    assert NRPS_CLAIM not in launched.id_token_claims
    assert_error(members(tenant, launched.token), 403, "nrps_not_enabled")
    assert tenant.platform.counters(tenant.client_id)["nrps"] == 0


def test_session_cannot_reach_another_course(tenant: Tenant) -> None:
    mine, theirs = new_course(), new_course()
    launched = nrps_launch(tenant, course=mine)
    other = nrps_launch(tenant, course=theirs)  # known to the worker, same registration
    secret = {"user_id": unique("user-secret"), "roles": [ROLE_LEARNER], "name": "Only In Theirs",
              "email": "only.theirs@local-lms.test"}
    tenant.platform.change_roster(theirs["id"], add=[secret])
    attempts = [
        {"contextId": theirs["id"], "platformId": tenant.registration["id"]},
        {"contextId": theirs["id"]},
        {"since": memberships_url(other) + "?since=0"},
        {"since": memberships_url(other)},
    ]
    for query in attempts:
        r = members(tenant, launched.token, **query)
        if r.status_code == 200:
            data = r.json()["data"]
            assert data["context"]["id"] == mine["id"], (query, data["context"])
            assert secret["user_id"] not in {m["userId"] for m in data["members"]}, query
        else:
            assert 400 <= r.status_code < 500 and r.json()["success"] is False, (query, r.text)
    # the admin token does reach it, by naming it
    data = assert_ok(members(tenant, tenant.worker.admin_token, contextId=theirs["id"],
                             platformId=tenant.registration["id"]))
    assert data["context"]["id"] == theirs["id"]
    assert secret["user_id"] in {m["userId"] for m in data["members"]}


def test_admin_unknown_context(tenant: Tenant) -> None:
    nrps_launch(tenant)
    assert_error(members(tenant, tenant.worker.admin_token, platformId=tenant.registration["id"],
                         contextId=unique("never-launched")), 404, "context_unknown")


def test_requires_a_session(tenant: Tenant) -> None:
    assert_error(members(tenant, None), 401, "session_invalid")
    assert_error(members(tenant, "not-a-token"), 401, "session_invalid")


def test_worker_log_has_no_member_data(make_tenant: t.Callable[..., Tenant],
                                       worker_verbose: Worker) -> None:
    """The worker logs one JSON line per event (wrangler --log-level log shows them): a roster
    read leaves events in the log but no member's name or email."""
    t_ = make_tenant(on=worker_verbose)
    launched = nrps_launch(t_)
    data = assert_ok(members(t_, launched.token, limit=4))
    assert len(data["members"]) == 12
    assert_error(members(t_, "not-a-token"), 401, "session_invalid")  # a logged rejection
    text = ""
    for _ in range(40):  # wrangler writes the worker's console output asynchronously
        text = worker_verbose.log.read_text(errors="replace")
        if '"session_invalid"' in text:
            break
        time.sleep(0.25)
    assert '"event"' in text and '"session_invalid"' in text, "the worker's log lines reach the file"
    for name, given, family, email, _role in ROSTER.values():
        for value in (name, email, f"{given} {family}"):
            assert value not in text, f"member data in the worker log: {value!r}"

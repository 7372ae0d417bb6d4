"""Caliper learning analytics (issue 14), end to end: the local LMS is the platform's event store
(tests/platform/caliper_store.py: profile endpoint, apiKey check, an envelope validator written
from the Caliper 1.2 specification, faults), the worker runs in workerd with its real queue and
dead-letter queue (wrangler dev; retry delays of 1–2 s for the tests, max_retries 5).

What each test proves is in its docstring. Browser-side (a media session from a tool page in
Chromium) is tests/browser/caliper.test.mjs.
"""
from __future__ import annotations

import json
import time
import typing as t

import pytest

from ltihelpers import (Platform, Tenant, Worker, assert_error, assert_ok, call, http, new_course, unique)

FED = "session_{user}_{nonce}"


def lms(resp: t.Any) -> t.Any:
    """A control answer of the local LMS (plain JSON, 200)."""
    assert resp.status_code == 200, f"{resp.status_code} {resp.text[:500]}"
    return resp.json()


def make_store(platform: Platform, **flags: t.Any) -> t.Dict[str, t.Any]:
    return lms(http("POST", platform.base + "/__control/caliper/store", json=flags))


def store_faults(platform: Platform, store: t.Dict[str, t.Any], **body: t.Any) -> None:
    lms(http("POST", platform.base + "/__control/caliper/faults", json={"store": store["store"], **body}))


def received(platform: Platform, store: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    return lms(http("GET", platform.base + "/__control/caliper/received", params={"store": store["store"]}))


def wait_events(platform: Platform, store: t.Dict[str, t.Any], until: t.Callable[[t.List[t.Dict[str, t.Any]]], bool],
                deadline_s: float = 45.0) -> t.Dict[str, t.Any]:
    end = time.monotonic() + deadline_s
    got = received(platform, store)
    while not until(got["events"]):
        if time.monotonic() > end:
            raise AssertionError(f"the store did not get the expected events in {deadline_s:.0f} s: "
                                 f"{json.dumps(got, indent=1)[:4000]}")
        time.sleep(0.3)
        got = received(platform, store)
    return got


def stats(worker: Worker, tenant: Tenant) -> t.Dict[str, t.Any]:
    return assert_ok(worker.admin("GET", f"/lti/platforms/{tenant.registration['id']}/caliper"))


def wait_stats(worker: Worker, tenant: Tenant, until: t.Callable[[t.Dict[str, t.Any]], bool],
               deadline_s: float = 60.0) -> t.Dict[str, t.Any]:
    end = time.monotonic() + deadline_s
    s = stats(worker, tenant)
    while not until(s):
        if time.monotonic() > end:
            raise AssertionError(f"caliper stats never matched in {deadline_s:.0f} s: {json.dumps(s, indent=1)}")
        time.sleep(0.5)
        s = stats(worker, tenant)
    return s


def caliper_custom(store: t.Dict[str, t.Any], fed: t.Optional[str] = None) -> t.Dict[str, str]:
    return {"caliper_profile_url": store["profileUrl"], "caliper_federated_session_id": fed or unique("fedsession")}


def post_events(worker: Worker, token: t.Optional[str], *events: t.Dict[str, t.Any], **kw: t.Any) -> t.Any:
    return call(worker, "POST", "/lti/caliper/events", token, json={"events": list(events)}, **kw)


def media(action: str, position: float, video: str = "https://tool.example/videos/intro") -> t.Dict[str, t.Any]:
    return {"type": "MediaEvent", "action": action, "position": position,
            "object": {"id": video, "name": "Intro", "mediaType": "video/mp4", "duration": 120}}


@pytest.fixture
def caliper_tenant(make_tenant: t.Callable[..., Tenant]) -> Tenant:
    return make_tenant()


def test_launch_with_caliper_parameters_delivers_logged_in(caliper_tenant: Tenant, platform: Platform) -> None:
    """A 1.3 launch with custom caliper_profile_url / caliper_federated_session_id: the worker
    fetches the profile, links a Caliper session to the session token (an id only) and the
    store receives one SessionEvent LoggedIn — accepted by the store's apiKey check and its
    envelope validator — with the launch's actor, course, role and federated session."""
    store = make_store(platform)
    fed = unique("fed")
    course = new_course()
    launched = caliper_tenant.launch(custom=caliper_custom(store, fed), course=course, role="Learner")
    assert isinstance(launched.claims.get("caliper"), str), launched.claims
    assert store["apiKey"] not in json.dumps(launched.claims) and store["apiUrl"] not in json.dumps(launched.claims)
    got = wait_events(platform, store, lambda ev: any(e["type"] == "SessionEvent" for e in ev))
    (e,) = got["events"]
    assert e["action"] == "LoggedIn" and e["profile"] == "SessionProfile", e
    sub = launched.id_token_claims["sub"]
    assert e["actor"] == {"id": f"{platform.base}/users/{sub}", "type": "Person", "name": e["actor"].get("name")}, e
    assert e["object"] == {"id": caliper_tenant.worker.public, "type": "SoftwareApplication"}
    assert e["group"]["id"].endswith("/courses/" + course["id"]) and e["group"]["type"] == "CourseSection", e["group"]
    assert e["membership"]["roles"] == ["Learner"], e["membership"]
    assert e["federatedSession"]["type"] == "LtiSession"
    assert e["federatedSession"]["messageParameters"]["custom_caliper_federated_session_id"] == fed
    assert e["federatedSession"]["id"].endswith("/lti/sessions/" + fed)
    assert all(r["status"] == 200 for r in got["requests"]), got["requests"]
    s = wait_stats(caliper_tenant.worker, caliper_tenant, lambda s: s["delivered"] >= 1)
    assert s["accepted"] == 1 and s["profilesOk"] == 1 and s["caliper"] is True, s


def test_lti11_launch_with_custom_parameters_delivers_logged_in(make_lti11_tenant: t.Callable[..., Tenant],
                                                                platform: Platform) -> None:
    """The same discovery from an LTI 1.1 launch's custom_ parameters."""
    tenant = make_lti11_tenant()
    store = make_store(platform)
    fed = unique("fed11")
    assert tenant.lti11 is not None
    launched = tenant.lti11.launch(custom_caliper_profile_url=store["profileUrl"],
                                   custom_caliper_federated_session_id=fed)
    assert launched.claims.get("caliper"), launched.claims
    got = wait_events(platform, store, lambda ev: len(ev) >= 1)
    e = got["events"][0]
    assert e["action"] == "LoggedIn" and e["actor"]["id"].endswith("/users/lti11-user-1001"), e
    assert e["federatedSession"]["messageParameters"]["custom_caliper_federated_session_id"] == fed
    assert e["membership"]["roles"] == ["Instructor"], e


def test_events_are_validated_per_field_and_delivered(caliper_tenant: Tenant, platform: Platform) -> None:
    """POST /lti/caliper/events: each bad field answered caliper_event_invalid with its name and
    nothing queued; good events answered 202 with their ids, which arrive as Caliper events."""
    store = make_store(platform)
    launched = caliper_tenant.launch(custom=caliper_custom(store))
    w = caliper_tenant.worker
    err = assert_error(post_events(w, launched.token, media("Submitted", 1)), 422, "caliper_event_invalid")
    assert "MediaEvent allows" in err["fields"]["events[0].action"], err
    err = assert_error(post_events(w, launched.token, {"type": "ViewEvent", "action": "Viewed", "object": {"id": "page 1"}},
                                   {"type": "MediaEvent", "action": "Paused", "position": -3, "object": {"id": "urn:v:1"}},
                                   {"type": "ViewEvent", "action": "Viewed", "object": {"id": "urn:p:1"},
                                    "eventTime": "yesterday"}), 422, "caliper_event_invalid")
    assert set(err["fields"]) == {"events[0].object.id", "events[1].position", "events[2].eventTime"}, err["fields"]
    assert_error(post_events(w, launched.token, *[media("Started", 0)] * 101), 422, "caliper_event_invalid")
    view = {"type": "ViewEvent", "action": "Viewed", "object": {"id": "https://tool.example/pages/1", "type": "WebPage"}}
    ok = assert_ok(post_events(w, launched.token, view, media("Started", 0)), 202)
    assert ok["accepted"] == 2 and len(ok["ids"]) == 2
    got = wait_events(platform, store, lambda ev: {e["id"] for e in ev} >= set(ok["ids"]))
    by_id = {e["id"]: e for e in got["events"]}
    assert by_id[ok["ids"][0]]["type"] == "ViewEvent" and by_id[ok["ids"][0]]["object"]["type"] == "WebPage"
    assert by_id[ok["ids"][1]]["target"]["currentTime"] == "PT0S"
    assert len(got["events"]) == 3, "LoggedIn and the two accepted events; nothing of the refused requests"
    # A tool's own id: resending the same event (an answer the page never saw) is one event at
    # the store, the copy recognised by its id.
    own = {**view, "id": "urn:uuid:0b8a6f0e-6f43-4c55-9d7c-3c1e2a9b7d10"}
    assert assert_ok(post_events(w, launched.token, own), 202)["ids"] == [own["id"]]
    assert_ok(post_events(w, launched.token, own), 202)
    got = wait_events(platform, store, lambda ev: any(e["id"] == own["id"] for e in ev))
    deadline = time.monotonic() + 20
    while own["id"] not in got["duplicates"] and time.monotonic() < deadline:
        time.sleep(0.3)
        got = received(platform, store)
    assert [e["id"] for e in got["events"]].count(own["id"]) == 1 and own["id"] in got["duplicates"], got["duplicates"]
    assert_error(post_events(w, launched.token, {**view, "id": "not-a-uuid"}), 422, "caliper_event_invalid")


def test_who_may_post_events(caliper_tenant: Tenant, make_tenant: t.Callable[..., Tenant], platform: Platform) -> None:
    """The session token; the services credential with LTI-Session; a beacon's body session.
    Not: no credential, the services credential alone, a session without an event store."""
    store = make_store(platform)
    launched = caliper_tenant.launch(custom=caliper_custom(store))
    w = caliper_tenant.worker
    view = {"type": "ViewEvent", "action": "Viewed", "object": {"id": "https://tool.example/pages/2"}}
    assert_error(post_events(w, None, view), 401, "session_invalid")
    assert_error(post_events(w, w.services_token, view), 401, "session_invalid")
    assert_ok(post_events(w, w.services_token, view, headers={"LTI-Session": launched.token}), 202)
    beacon = http("POST", w.url("/lti/caliper/events"), data=json.dumps({"session": launched.token, "events": [view]}),
                  headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert_ok(beacon, 202)
    forged = http("POST", w.url("/lti/caliper/events"), data=json.dumps({"session": launched.token[:-4] + "AAAA",
                                                                         "events": [view]}))
    assert_error(forged, 401, "session_invalid")
    plain = make_tenant().launch()
    assert "caliper" not in plain.claims
    assert_error(post_events(w, plain.token, view), 409, "caliper_not_enabled")
    wait_events(platform, store, lambda ev: len(ev) == 3)


@pytest.mark.parametrize("fault,code", [("500", "caliper_profile_unreachable"), ("not_json", "caliper_profile_invalid"),
                                        ("no_key", "caliper_profile_invalid"), ("oversized", "caliper_profile_unreachable"),
                                        ("hang", "caliper_profile_unreachable")])
def test_an_unusable_profile_never_fails_the_launch(caliper_tenant: Tenant, platform: Platform, fault: str,
                                                    code: str) -> None:
    """A profile that fails (status, not JSON, no apiKey, too large, no answer within the 5 s
    timeout): the launch succeeds without Caliper, and admins see the failure with its code."""
    store = make_store(platform, profile_fault=fault)
    launched = caliper_tenant.launch(custom=caliper_custom(store))
    assert "caliper" not in launched.claims
    s = wait_stats(caliper_tenant.worker, caliper_tenant, lambda s: s["profilesFailed"] >= 1)
    assert s["lastErrors"][0]["code"] == code, s
    assert store["apiKey"] not in json.dumps(s)


def test_the_registration_switch_turns_caliper_off(make_tenant: t.Callable[..., Tenant], platform: Platform) -> None:
    """caliper: false on the registration: the profile is not even fetched."""
    tenant = make_tenant(caliper=False)
    assert tenant.registration["caliper"] is False
    store = make_store(platform)
    launched = tenant.launch(custom=caliper_custom(store))
    assert "caliper" not in launched.claims
    time.sleep(1.0)
    assert received(platform, store)["profileHits"] == 0


def test_a_failing_store_gets_every_event_once_it_recovers(caliper_tenant: Tenant, platform: Platform) -> None:
    """The store answers 500, 429, 500 and hangs past the 10 s delivery timeout before it
    recovers: every event still arrives (retried with backoff), each id once in the store's
    list (a redelivered id is recognised as such), and admins see the retries."""
    store = make_store(platform)
    store_faults(platform, store, events=["500", "429", "hang", "500"], hang_s=11)
    launched = caliper_tenant.launch(custom=caliper_custom(store))
    w = caliper_tenant.worker
    ids: t.List[str] = []
    for i in range(3):
        ids += assert_ok(post_events(w, launched.token, media("Started", 0), media("Paused", 10 + i)), 202)["ids"]
    got = wait_events(platform, store, lambda ev: {e["id"] for e in ev} >= set(ids) and len(ev) >= 7, deadline_s=90)
    assert len({e["id"] for e in got["events"]}) == len(got["events"]) == 7, "LoggedIn + 6, each once"
    statuses = [r["status"] for r in got["requests"]]
    assert statuses[:4] == [500, 429, 500, 500] and statuses[-1] == 200, statuses
    s = wait_stats(w, caliper_tenant, lambda s: s["delivered"] == 7)
    assert s["retried"] >= 4 and s["deadLettered"] == 0, s
    assert any(e["code"] == "caliper_delivery_failed" for e in s["lastErrors"]), s


def test_events_past_the_retry_limit_are_dead_lettered(caliper_tenant: Tenant, platform: Platform) -> None:
    """The store fails every attempt (max_retries 5 → 6 attempts): the events go to the
    dead-letter queue, whose consumer lists their ids for admins; the store has none of them."""
    store = make_store(platform)
    store_faults(platform, store, events=["500"] * 40)
    launched = caliper_tenant.launch(custom=caliper_custom(store))
    ids = assert_ok(post_events(caliper_tenant.worker, launched.token, media("Started", 0), media("Ended", 120)),
                    202)["ids"]
    s = wait_stats(caliper_tenant.worker, caliper_tenant, lambda s: s["deadLettered"] >= 3, deadline_s=90)
    assert set(ids) <= set(s["deadEventIds"]), s
    assert s["deadLettered"] == 3 and s["delivered"] == 0, s  # LoggedIn and the two
    assert s["lastErrors"][0]["code"] == "caliper_dead_lettered", s
    assert received(platform, store)["events"] == []


def test_a_refusing_store_drops_with_a_code(caliper_tenant: Tenant, platform: Platform) -> None:
    """A 4xx other than 429 (here 401, a wrong key as the store sees it) is not retried: the
    events are dropped with caliper_delivery_refused, counted and shown to admins."""
    store = make_store(platform)
    store_faults(platform, store, events=["401"])
    caliper_tenant.launch(custom=caliper_custom(store))
    s = wait_stats(caliper_tenant.worker, caliper_tenant, lambda s: s["dropped"] >= 1)
    assert s["lastErrors"][0]["code"] == "caliper_delivery_refused" and s["retried"] == 0, s
    got = received(platform, store)
    assert [r["status"] for r in got["requests"]] == [401] and got["events"] == []


def test_no_api_key_in_any_answer_or_log(make_tenant: t.Callable[..., Tenant], worker_verbose: Worker,
                                         platform: Platform) -> None:
    """The apiKey reaches the store only: not the session token, not the launch answer, not the
    events answer, not the admin view, not one line the worker logged (at log level)."""
    tenant = make_tenant(on=worker_verbose)
    store = make_store(platform)
    store_faults(platform, store, events=["500", "401"])
    launched = tenant.launch(custom=caliper_custom(store))
    answer = post_events(worker_verbose, launched.token, media("Started", 0))
    assert_ok(answer, 202)
    s = wait_stats(worker_verbose, tenant, lambda s: s["dropped"] + s["delivered"] >= 2)
    seen = [launched.response.text, json.dumps(dict(launched.response.headers)), launched.location,
            json.dumps(launched.claims), answer.text, json.dumps(s),
            worker_verbose.admin("GET", f"/lti/platforms/{tenant.registration['id']}").text]
    key = store["apiKey"]
    for text in seen:
        assert key not in text
    log = worker_verbose.log.read_text(errors="replace")
    assert "caliper_delivery_failed" in log, "the worker logged the failure (with its code)"
    assert key not in log, "the apiKey is in the worker's log"

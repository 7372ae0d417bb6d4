"""The local LMS's Caliper event store (KAF guide §9; IMS Caliper Analytics 1.2).

Each store (``POST /__control/caliper/store`` makes one) has
  ``GET  /caliper/<store>/profile``  the profile a launch's ``custom_caliper_profile_url`` names:
                                     ``{id, type: EventStore, apiUrl, apiKey, sendEvents,
                                     includeActors, includeGeneratedValues}`` (or a fault);
  ``POST /caliper/<store>/events``   the event endpoint: ``Authorization: <apiKey>`` exactly
                                     (401 otherwise), then the envelope checked by
                                     ``validate_envelope`` (400 with every problem), then 200.
Faults (``POST /__control/caliper/faults``): the next N event requests answer 429, 500, 401 or
hang (sleep ``hang_s`` then 500); the profile can answer a status, non-JSON or an oversized body.
``GET /__control/caliper/received?store=`` lists what arrived: every accepted event (a
redelivered event id is kept once and counted in ``duplicates``: the store recognises a
redelivery by the event's ``id``), and every request with its answer.

The validator is written from the Caliper 1.2 specification (§5.2 envelope: sensor, sendTime,
dataVersion, data; §4.x events: @context, id urn:uuid, type, action allowed for the type per its
profile, object of an allowed type, eventTime ISO 8601; entities: IRI ids and types).
"""
from __future__ import annotations

import json
import re
import secrets
import threading
import time
import typing as t
from datetime import datetime

CONTEXT = "http://purl.imsglobal.org/ctx/caliper/v1p2"

# Caliper 1.2 profiles: event type -> (allowed actions, allowed object types)
DIGITAL = {"DigitalResource", "DigitalResourceCollection", "Document", "Chapter", "Page", "WebPage", "Frame",
           "MediaObject", "VideoObject", "AudioObject", "ImageObject", "Assessment", "AssessmentItem",
           "AssignableDigitalResource"}
MEDIA = {"MediaObject", "VideoObject", "AudioObject", "ImageObject"}
EVENTS: t.Dict[str, t.Tuple[t.Set[str], t.Set[str]]] = {
    "SessionEvent": ({"LoggedIn", "LoggedOut", "TimedOut"}, {"SoftwareApplication", "Session"}),
    "ViewEvent": ({"Viewed"}, DIGITAL),
    "NavigationEvent": ({"NavigatedTo"}, DIGITAL | {"SoftwareApplication"}),
    "MediaEvent": ({"Started", "Ended", "Paused", "Resumed", "Restarted", "ForwardedTo", "JumpedTo",
                    "ChangedResolution", "ChangedSize", "ChangedSpeed", "ChangedVolume",
                    "EnabledClosedCaptioning", "DisabledClosedCaptioning", "EnteredFullScreen",
                    "ExitedFullScreen", "Muted", "Unmuted", "OpenedPopout", "ClosedPopout"}, MEDIA),
    "AssessmentEvent": ({"Started", "Paused", "Resumed", "Restarted", "Reset", "Submitted"}, {"Assessment"}),
    "AssessmentItemEvent": ({"Started", "Skipped", "Completed"}, {"AssessmentItem"}),
}
URN_UUID = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def _datetime_ok(s: t.Any) -> bool:
    if not isinstance(s, str) or not DATETIME.match(s):
        return False
    try:
        datetime.fromisoformat(s.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def _entity(v: t.Any, at: str, types: t.Set[str], errs: t.List[str]) -> None:
    if isinstance(v, str):
        if not IRI.match(v):
            errs.append(f"{at} is not an IRI")
        return
    if not isinstance(v, dict):
        errs.append(f"{at} must be an IRI or an object")
        return
    if not isinstance(v.get("id"), str) or not IRI.match(v["id"]):
        errs.append(f"{at}.id must be an IRI")
    if v.get("type") not in types:
        errs.append(f"{at}.type {v.get('type')!r} not one of {sorted(types)}")


def validate_event(e: t.Any, at: str = "event") -> t.List[str]:
    """Every problem of one event (empty: valid)."""
    errs: t.List[str] = []
    if not isinstance(e, dict):
        return [f"{at} is not an object"]
    if e.get("@context") != CONTEXT:
        errs.append(f"{at}.@context must be {CONTEXT}")
    if not isinstance(e.get("id"), str) or not URN_UUID.match(e["id"]):
        errs.append(f"{at}.id must be a urn:uuid")
    kind = e.get("type")
    if kind not in EVENTS:
        errs.append(f"{at}.type {kind!r} is not a supported event type")
    else:
        actions, objects = EVENTS[kind]
        if e.get("action") not in actions:
            errs.append(f"{at}.action {e.get('action')!r} not allowed for {kind}")
        if "object" not in e:
            errs.append(f"{at}.object is required")
        else:
            _entity(e["object"], f"{at}.object", objects, errs)
    if "actor" in e:
        _entity(e["actor"], f"{at}.actor", {"Person", "SoftwareApplication"}, errs)
    if not _datetime_ok(e.get("eventTime")):
        errs.append(f"{at}.eventTime must be an ISO 8601 date-time")
    for k, types in (("edApp", {"SoftwareApplication"}), ("group", {"CourseSection", "CourseOffering", "Group", "Organization"}),
                     ("membership", {"Membership"}), ("session", {"Session"}), ("federatedSession", {"LtiSession"}),
                     ("target", {"MediaLocation", "Frame", "DigitalResource"}),
                     ("generated", {"Attempt", "Response", "Score", "Result"})):
        if k in e:
            _entity(e[k], f"{at}.{k}", types, errs)
    target = e.get("target")
    if isinstance(target, dict) and "currentTime" in target:
        if not isinstance(target["currentTime"], str) or not DURATION.match(target["currentTime"]):
            errs.append(f"{at}.target.currentTime must be an ISO 8601 duration")
    return errs


def validate_envelope(env: t.Any) -> t.List[str]:
    """Caliper 1.2 §5.2: sensor (IRI), sendTime (ISO 8601), dataVersion (the v1p2 context),
    data (a non-empty array of events)."""
    if not isinstance(env, dict):
        return ["envelope is not a JSON object"]
    errs: t.List[str] = []
    if not isinstance(env.get("sensor"), str) or not IRI.match(env["sensor"]):
        errs.append("sensor must be an IRI")
    if not _datetime_ok(env.get("sendTime")):
        errs.append("sendTime must be an ISO 8601 date-time")
    if env.get("dataVersion") != CONTEXT:
        errs.append(f"dataVersion must be {CONTEXT}")
    data = env.get("data")
    if not isinstance(data, list) or not data:
        errs.append("data must be a non-empty array")
    else:
        for i, e in enumerate(data):
            errs.extend(validate_event(e, f"data[{i}]"))
    return errs


class Store:
    def __init__(self, sid: str, flags: t.Dict[str, t.Any]) -> None:
        self.id = sid
        self.api_key = "ck_" + secrets.token_urlsafe(24)
        self.flags = {"sendEvents": True, "includeActors": True, "includeGeneratedValues": True}
        self.flags.update({k: v for k, v in flags.items() if k in self.flags})
        self.profile_fault: t.Optional[str] = flags.get("profile_fault")  # "404", "500", "not_json", "oversized", "no_key", "hang"
        self.faults: t.List[str] = []  # per event request, consumed in order: "429", "500", "401", "hang"
        self.events: t.Dict[str, t.Any] = {}  # id -> event (first copy)
        self.order: t.List[str] = []
        self.duplicates: t.List[str] = []
        self.requests: t.List[t.Dict[str, t.Any]] = []
        self.profile_hits = 0


class CaliperStores:
    """Every store of this LMS, with the HTTP side (``handle``) and the controls (``control``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stores: t.Dict[str, Store] = {}
        self.hang_s = 12.0

    def create(self, base: str, flags: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        sid = secrets.token_hex(6)
        with self.lock:
            s = self.stores[sid] = Store(sid, flags)
        return {"store": sid, "profileUrl": f"{base}/caliper/{sid}/profile", "apiUrl": f"{base}/caliper/{sid}/events",
                "apiKey": s.api_key}

    def handle(self, req: t.Any, method: str, path: str, body: t.Any, base: str) -> None:
        parts = path.strip("/").split("/")  # caliper/<store>/<profile|events>
        store = self.stores.get(parts[1]) if len(parts) == 3 else None
        if store is None:
            req.send_json(404, {"error": "no such store"})
            return
        if parts[2] == "profile" and method == "GET":
            self._profile(req, store, base)
        elif parts[2] == "events" and method == "POST":
            self._events(req, store, body)
        else:
            req.send_json(405, {"error": "method not allowed"})

    def _profile(self, req: t.Any, s: Store, base: str) -> None:
        with self.lock:
            s.profile_hits += 1
            fault = s.profile_fault
        if fault in ("404", "500"):
            req.send_json(int(fault), {"error": "profile fault"})
            return
        if fault == "not_json":
            req.send(200, b"<html>not a profile</html>", "text/html")
            return
        if fault == "oversized":
            req.send(200, b'{"pad": "' + b"x" * (64 * 1024) + b'"}', "application/json")
            return
        if fault == "hang":
            time.sleep(self.hang_s)
        profile = {"id": f"platform-lrs-{s.id}", "type": "EventStore", "apiUrl": f"{base}/caliper/{s.id}/events",
                   "apiKey": s.api_key, **s.flags}
        if fault == "no_key":
            profile.pop("apiKey")
        req.send_json(200, profile)

    def _events(self, req: t.Any, s: Store, body: t.Any) -> None:
        auth = req.headers.get("Authorization")
        with self.lock:
            fault = s.faults.pop(0) if s.faults else None
        record: t.Dict[str, t.Any] = {"at": time.time(), "fault": fault,
                                      "ids": [e.get("id") for e in body.get("data", []) if isinstance(e, dict)]
                                      if isinstance(body, dict) else []}
        if fault == "hang":
            time.sleep(self.hang_s)
            fault = "500"
        if fault in ("429", "500", "401"):
            record["status"] = int(fault)
            with self.lock:
                s.requests.append(record)
            req.send_json(int(fault), {"error": f"fault {fault}"})
            return
        if auth != s.api_key:
            record["status"] = 401
            with self.lock:
                s.requests.append(record)
            req.send_json(401, {"error": "Authorization must be the apiKey"})
            return
        errs = validate_envelope(body)
        if errs:
            record["status"] = 400
            record["errors"] = errs
            with self.lock:
                s.requests.append(record)
            req.send_json(400, {"error": "invalid envelope", "problems": errs})
            return
        with self.lock:
            for e in body["data"]:
                if e["id"] in s.events:
                    s.duplicates.append(e["id"])  # a redelivery: same event id, kept once
                else:
                    s.events[e["id"]] = e
                    s.order.append(e["id"])
            record["status"] = 200
            s.requests.append(record)
        req.send_json(200, {"accepted": len(body["data"])})

    def control(self, req: t.Any, method: str, name: str, query: t.Dict[str, str], body: t.Any, base: str) -> bool:
        """``/__control/caliper/…``; False when ``name`` is not one of ours."""
        if name == "caliper/store" and method == "POST":
            req.send_json(200, self.create(base, body if isinstance(body, dict) else {}))
        elif name == "caliper/faults" and method == "POST":
            s = self.stores.get((body or {}).get("store", ""))
            if s is None:
                req.send_json(404, {"error": "no such store"})
                return True
            with self.lock:
                if "events" in body:
                    s.faults = [str(f) for f in body["events"]]
                if "profile" in body:
                    s.profile_fault = body["profile"]
                if "hang_s" in body:
                    self.hang_s = float(body["hang_s"])
            req.send_json(200, {"events": s.faults, "profile": s.profile_fault})
        elif name == "caliper/received" and method == "GET":
            s = self.stores.get(query.get("store", ""))
            if s is None:
                req.send_json(404, {"error": "no such store"})
                return True
            with self.lock:
                req.send_json(200, {"events": [s.events[i] for i in s.order], "duplicates": list(s.duplicates),
                                    "requests": list(s.requests), "pendingFaults": list(s.faults),
                                    "profileHits": s.profile_hits})
        else:
            return False
        return True


def self_check() -> None:
    """The validator against a spec-shaped event (used by the platform's self-check test)."""
    good = {"@context": CONTEXT, "id": "urn:uuid:956b4a02-8de0-4991-b8c5-b6eebb6b4cab", "type": "MediaEvent",
            "action": "Paused", "object": {"id": "https://example.edu/v", "type": "VideoObject"},
            "target": {"id": "https://example.edu/v#t=321", "type": "MediaLocation", "currentTime": "PT05M21S"},
            "eventTime": "2016-11-15T10:15:00.000Z"}
    assert validate_event(good) == [], validate_event(good)
    assert validate_event({**good, "action": "Submitted"}), "an action the type does not allow"
    assert validate_event({**good, "id": "956b4a02"}), "ids are urn:uuid"
    assert validate_event({**good, "eventTime": "2016-11-15 10:15"}), "ISO 8601"
    assert validate_envelope({"sensor": "https://t", "sendTime": "2016-11-15T10:15:00.000Z", "dataVersion": CONTEXT,
                              "data": [good]}) == []
    assert validate_envelope({"sensor": "https://t", "sendTime": "x", "dataVersion": CONTEXT, "data": []})
    print(json.dumps({"caliper_validator": "ok"}))


if __name__ == "__main__":
    self_check()

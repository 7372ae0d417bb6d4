#!/usr/bin/env python3
"""Local LTI 1.3 platform (a small LMS) for LTI Edge, built on PyPI ``lti1p3platform==0.1.8``.

The LTI work goes through the library:

* OIDC third-party login initiation: ``lti1p3platform.oidc_login.OIDCLoginAbstract``
  (``initiate_login`` builds the tool login URL with iss, login_hint, target_link_uri,
  lti_message_hint, client_id, lti_deployment_id);
* the authorization request (``/auth``): ``lti1p3platform.message_launch.LTIAdvantageMessageLaunchAbstract``
  (``lti_launch`` validates the preflight response, ``prepare_launch`` fills user, context,
  resource link, custom, AGS, NRPS and deep linking claims, and the library signs the id_token);
* the platform JWKS: ``LTI1P3PlatformConfAbstract.get_jwks`` / ``Registration.get_jwk``;
* the client-credentials token endpoint: ``LTI1P3PlatformConfAbstract.get_access_token``;
* the deep linking response: ``LTI1P3PlatformConfAbstract.validate_deeplinking_resp``;
* Names and Role Provisioning: ``service_connector.NamesRoleProvisioningService`` (paged, role
  filter, membership differences);
* Assignment and Grade Services: ``service_connector.AssignmentsGradesService`` (line items, scores,
  results; in-memory storage; the library's bearer token check, per-operation scopes).

A course page that embeds the tool through the embed kit (``/embed-host``, the kit's module and
wasm served from ``web/pkg`` at ``/kit/``): the kit answers LTI Platform Storage for the launch's
``lti_storage_target`` (``_parent`` or a named frame); ``kit=0`` embeds a plain iframe instead.

LTI 1.1 beside it (issue 5): a Basic Outcomes service (``POST /outcomes/<course id>``, IMS POX XML)
whose OAuth 1.0a signatures are checked by PyPI ``oauthlib`` (``SignatureOnlyEndpoint`` with a
``RequestValidator`` over the consumers registered through ``/__control/lti11-consumer``) plus the
``oauth_body_hash`` of the XML body; and, for LTI 1.3 launches, the migration claim
``…/claim/lti1p1`` with ``oauth_consumer_key_sign`` computed from the id_token's own
deployment_id, iss, aud, exp and nonce (launch spec ``lti1p1``).

LTI Dynamic Registration, the platform side, in Moodle's and Canvas's dialects (``/dr`` for a
person; ``/__control/dr/start`` for tests): the OpenID configuration at Moodle's
``/mod/lti/openid-configuration.php`` and Canvas's ``/api/lti/security/openid-configuration``
(Canvas's needs the registration token), the registration endpoints
``/mod/lti/openid-registration.php`` and ``/api/lti/registrations`` (single-use bearer token,
each dialect's required fields), and test faults on the configuration URL. The OIDC, token and key
set endpoints also answer under Moodle's, Canvas's, Sakai's and Brightspace's own paths, so
registrations made from an LMS preset with ``siteUrl`` = this platform launch against it.

HTTP is the standard library's ``ThreadingHTTPServer``. Test controls live under ``/__control/``:
``launch``, ``sign``, ``rotate``, ``jwks``, ``state``, ``deep-link-returns``, ``faults`` (token and
service failures), ``access-token`` (mint a service token), ``token-requests`` (what tools sent to
/token), ``scores`` (what the score service received), ``lineitems``, ``roster`` (membership
changes, for NRPS differences), ``lti11-consumer`` (LTI 1.1 consumer key + secret the outcomes
service accepts), ``caliper/store``, ``caliper/faults``, ``caliper/received`` (the Caliper event
store: caliper_store.py), ``outcomes`` (Basic Outcomes scores by sourcedid and the requests received),
``dr/start`` (a registration token and configuration URL for a dialect), ``dr/registrations``
(the tools registered by Dynamic Registration).

Run:  python tests/platform/platform.py --port 9001 --tool-url http://127.0.0.1:8787 \
          --client-id lti-edge-local --deployment-id local-deployment-1 [--kaf-paths]
"""
from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    # This file is named platform.py: keep its folder off sys.path so that libraries importing the
    # standard library's ``platform`` module do not get this script instead.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

import argparse
import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import typing as t
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlparse
from xml.etree import ElementTree
from xml.sax.saxutils import escape as xml_escape

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from lti1p3platform import exceptions as lti_exceptions
from lti1p3platform.constants import LTI_1P3_ACCESS_TOKEN_SCOPES
from lti1p3platform.exceptions import LineItemNotFoundException, LtiServiceException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.response import Response as LtiResponse
from lti1p3platform.score import ActivityProgress, GradeProgress, UpdateScoreStatus
from lti1p3platform.service_connector import (AssignmentsGradesService, NamesRoleProvisioningService,
                                              TPage)
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, RequestValidator, SignatureOnlyEndpoint

# --------------------------------------------------------------------------------------------
# Sample data
# --------------------------------------------------------------------------------------------

LIS = "http://purl.imsglobal.org/vocab/lis/v2"
ROLE_INSTRUCTOR = f"{LIS}/membership#Instructor"
ROLE_LEARNER = f"{LIS}/membership#Learner"
ROLE_TA = f"{LIS}/membership/Instructor#TeachingAssistant"
ROLE_CUSTOM = "urn:local-lms:role:Auditor"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"

COURSES: t.Dict[str, t.Dict[str, str]] = {
    "bio101": {"id": "course-bio101", "label": "BIO101", "title": "Cell Biology"},
    "his200": {"id": "course-his200", "label": "HIS200", "title": "World History"},
    "cs150": {"id": "course-cs150", "label": "CS150", "title": "Introduction to Programming"},
}

USERS: t.Dict[str, t.Dict[str, str]] = {
    "ada": {"id": "user-1001", "name": "Ada Lovelace", "given_name": "Ada",
            "family_name": "Lovelace", "email": "ada.lovelace@local-lms.test",
            "username": "ada.lovelace"},
    "alan": {"id": "user-1002", "name": "Alan Turing", "given_name": "Alan",
             "family_name": "Turing", "email": "alan.turing@local-lms.test",
             "username": "alan.turing"},
    "grace": {"id": "user-1003", "name": "Grace Hopper", "given_name": "Grace",
              "family_name": "Hopper", "email": "grace.hopper@local-lms.test",
              "username": "grace.hopper"},
    "katherine": {"id": "user-1004", "name": "Katherine Johnson", "given_name": "Katherine",
                  "family_name": "Johnson", "email": "katherine.johnson@local-lms.test",
                  "username": "katherine.johnson"},
}

# role choice on the page -> (label, LTI roles sent in the id_token)
ROLE_CHOICES: t.Dict[str, t.Tuple[str, t.List[str]]] = {
    "Instructor": ("Instructor", [ROLE_INSTRUCTOR, f"{LIS}/institution/person#Faculty"]),
    "Learner": ("Learner", [ROLE_LEARNER, f"{LIS}/institution/person#Student"]),
    "TeachingAssistant": ("Teaching assistant", [ROLE_TA]),
    "Auditor": ("Auditor (custom role)", [ROLE_CUSTOM]),
}

# placement -> (label, path on the tool, message type)
PLACEMENTS: t.Dict[str, t.Tuple[str, str, str]] = {
    "mymedia": ("My Media", "/hosted/index/my-media", "LtiResourceLinkRequest"),
    "coursegallery": ("Media Gallery", "/hosted/index/course-gallery", "LtiResourceLinkRequest"),
    "browseembed": ("Content Picker (deep linking)", "/browseandembed/index/browseandembed",
                    "LtiDeepLinkingRequest"),
}

# Course members who never launch (the roster beyond USERS): (id, given, family, role)
ROSTER_EXTRA: t.List[t.Tuple[str, str, str, str]] = [
    ("user-2001", "Barbara", "Liskov", ROLE_LEARNER),
    ("user-2002", "Edsger", "Dijkstra", ROLE_LEARNER),
    ("user-2003", "Frances", "Allen", ROLE_TA),
    ("user-2004", "Donald", "Knuth", ROLE_LEARNER),
    ("user-2005", "Radia", "Perlman", ROLE_LEARNER),
    ("user-2006", "Tim", "Berners-Lee", ROLE_INSTRUCTOR),
    ("user-2007", "Margaret", "Hamilton", ROLE_LEARNER),
    ("user-2008", "Leslie", "Lamport", ROLE_LEARNER),
]
# launchable users' course roles (the roster of every course)
USER_COURSE_ROLES: t.Dict[str, str] = {"ada": ROLE_INSTRUCTOR, "alan": ROLE_LEARNER,
                                       "grace": ROLE_TA, "katherine": ROLE_LEARNER}

NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
AGS_SCOPE_LINEITEM_RO = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
AGS_SCOPE_RESULT_RO = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
AGS_SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"
NRPS_PAGE_SIZE = 4  # default page size: every course roster spans at least 3 pages
AGS_PAGE_SIZE = 5  # default page size of line item and result lists
MAX_PAGE_SIZE = 1000
OVERSIZED_BYTES = 5 * 1024 * 1024 + 512 * 1024  # nrps_oversized: a page body above 5 MB
ACCESS_TOKEN_TTL = 3600
FAULT_KEYS = {"client_id", "token_statuses", "token_status", "service_401_once", "nrps_loop",
              "nrps_oversized", "nrps_malformed", "ags_malformed", "granted_scopes", "expires_in",
              "ags_status", "nrps_status",
              # hardening: service answers streamed chunked (no Content-Length) padded to N bytes;
              # the first NRPS page's rel="next" replaced by this URL
              "service_oversized", "nrps_next",
              # LTI 1.1 Basic Outcomes (filtered by consumer_key, not client_id)
              "outcome_reply", "tamper_body", "consumer_key"}
MAX_BODY = 1024 * 1024
HINT_TTL = 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def origin_of(url: str) -> str:
    p = urlparse(url)
    return f"{p.scheme}://{p.netloc}".lower()


# --------------------------------------------------------------------------------------------
# Keys and platform state
# --------------------------------------------------------------------------------------------


class KeyPair:
    """An RSA-2048 key; kid is the RFC 7638 thumbprint (what lti1p3platform's Registration uses)."""

    def __init__(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key = key
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode("ascii")
        self.public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
        self.jwk = Registration.get_jwk(self.public_pem)
        self.kid: str = self.jwk["kid"]
        self.thumbprint: str = self.jwk["kid"]  # differs from kid after /__control/rekey


class PlatformState:
    def __init__(self, issuer: str, tool_url: str, client_id: str, deployment_id: str,
                 kaf_paths: bool) -> None:
        self.lock = threading.RLock()
        self.issuer = issuer
        self.tool_url = tool_url.rstrip("/")
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.kaf_paths = kaf_paths
        self.current = KeyPair()
        self.previous: t.Optional[KeyPair] = None
        self.extra_published: t.List[KeyPair] = []  # old keys kept in the JWKS (?keep_old=1)
        self.stranger = KeyPair()  # never published
        self.stranger_ec = ec.generate_private_key(ec.SECP256R1())
        self.jwks_status = 200
        self.jwks_cache_control = "max-age=300"
        self.counters: t.Dict[str, int] = {"jwks": 0, "auth": 0, "token": 0, "deep_link_return": 0,
                                           "launch_created": 0, "nrps": 0, "ags": 0, "scores": 0}
        # the same counters per client id (token: the assertion's iss; services: the token's sub)
        self.client_counters: t.Dict[str, t.Dict[str, int]] = {}
        self.hints: t.Dict[str, t.Dict[str, t.Any]] = {}
        self.client_tools: t.Dict[str, str] = {client_id: self.tool_url}
        self.deep_link_returns: t.List[t.Dict[str, t.Any]] = []
        # courses: the sample ones plus any course object a launch spec brought
        self.courses: t.Dict[str, t.Dict[str, str]] = {c["id"]: dict(c) for c in COURSES.values()}
        self.resource_links: t.Set[t.Tuple[str, str]] = set()
        # NRPS rosters per course: {"version": n, "members": {user_id: member + "_v"}}
        self.rosters: t.Dict[str, t.Dict[str, t.Any]] = {}
        # AGS: line items per course (n -> item without "id"), results per line item, scores
        self.lineitems: t.Dict[str, t.Dict[int, t.Dict[str, t.Any]]] = {}
        self.lineitem_seq = 0
        self.default_lineitems: t.Dict[t.Tuple[str, str], int] = {}
        self.results: t.Dict[int, t.Dict[str, t.Dict[str, t.Any]]] = {}
        self.scores: t.List[t.Dict[str, t.Any]] = []
        self.faults: t.Dict[str, t.Any] = {}
        self.token_requests: t.List[t.Dict[str, t.Any]] = []  # what tools sent to /token
        # LTI 1.1: consumer key -> secret; Basic Outcomes scores by sourcedid; requests received;
        # (consumer key, timestamp, nonce) already used -> when
        self.lti11_consumers: t.Dict[str, str] = {}
        self.outcomes: t.Dict[str, t.Dict[str, t.Any]] = {}
        self.outcome_requests: t.List[t.Dict[str, t.Any]] = []
        self.outcome_nonces: t.Dict[t.Tuple[str, str, str], float] = {}
        # every request received (method, raw path as sent), for "the LMS got no request
        # outside the container" assertions: GET /__control/requests?since=<seq>
        self.request_log: t.List[t.Dict[str, t.Any]] = []
        self.request_seq = 0
        # key-set endpoint faults: hang (seconds each request waits before answering, until
        # released) and oversized (a chunked key set of that many bytes, no Content-Length)
        self.jwks_hang = 0.0
        self.jwks_release = threading.Event()
        self.jwks_release.set()
        self.jwks_oversized = 0
        # chunked answers streamed (oversized faults): how far each got
        self.streams: t.List[t.Dict[str, t.Any]] = []
        # LTI Dynamic Registration (platform side): registration tokens handed to tools
        # (token -> {dialect, expires, used}) and the tools registered through them
        self.dr_tokens: t.Dict[str, t.Dict[str, t.Any]] = {}
        self.dr_registrations: t.List[t.Dict[str, t.Any]] = []
        self.dr_seq = 0

    # -- keys --------------------------------------------------------------------------------
    def signing_key(self) -> KeyPair:
        with self.lock:
            return self.current

    def rotate(self, keep_old: bool) -> t.Dict[str, t.Any]:
        new = KeyPair()
        with self.lock:
            old = self.current
            self.previous = old
            self.extra_published = ([old] + self.extra_published) if keep_old else []
            self.current = new
            return {"kid": new.kid, "previous_kid": old.kid, "published_kids": self.published_kids()}

    def rekey_same_kid(self) -> t.Dict[str, t.Any]:
        """A new RSA key published and used under the current kid (what lti-provider-mock does
        on a restart): a tool that cached the old key by kid sees signature failures."""
        new = KeyPair()
        with self.lock:
            old = self.current
            new.kid = old.kid
            new.jwk = dict(new.jwk, kid=old.kid)
            self.previous = old
            self.extra_published = []
            self.current = new
            return {"kid": new.kid, "previous_kid": old.kid, "published_kids": self.published_kids(),
                    "same_kid": True}

    def log_request(self, method: str, path: str) -> None:
        with self.lock:
            self.request_seq += 1
            self.request_log.append({"seq": self.request_seq, "method": method, "path": path,
                                     "time": time.time()})
            del self.request_log[:-20000]

    def published_kids(self) -> t.List[str]:
        with self.lock:
            return [self.current.kid] + [k.kid for k in self.extra_published]

    # -- launches ----------------------------------------------------------------------------
    def put_hint(self, spec: t.Dict[str, t.Any]) -> str:
        hint = "lh-" + secrets.token_urlsafe(18)
        now = time.time()
        with self.lock:
            for key in [k for k, v in self.hints.items() if v["_created"] < now - HINT_TTL]:
                del self.hints[key]
            spec["_created"] = now
            self.hints[hint] = spec
            self.client_tools[spec["client_id"]] = spec["tool_url"]
            self.counters["launch_created"] += 1
        return hint

    def get_hint(self, hint: str) -> t.Optional[t.Dict[str, t.Any]]:
        with self.lock:
            spec = self.hints.get(hint)
            if spec and spec["_created"] < time.time() - HINT_TTL:
                return None
            return spec

    def bump(self, counter: str, client_id: t.Optional[str] = None) -> None:
        with self.lock:
            self.counters[counter] = self.counters.get(counter, 0) + 1
            if client_id:
                per = self.client_counters.setdefault(client_id, {})
                per[counter] = per.get(counter, 0) + 1

    # -- courses and rosters -----------------------------------------------------------------
    def register_course(self, course: t.Dict[str, t.Any]) -> None:
        with self.lock:
            if course["id"] not in self.courses:
                self.courses[course["id"]] = {
                    "id": str(course["id"]), "label": str(course.get("label") or course["id"]),
                    "title": str(course.get("title") or course.get("label") or course["id"])}

    def course(self, course_id: str) -> t.Optional[t.Dict[str, str]]:
        with self.lock:
            c = self.courses.get(course_id)
            return dict(c) if c else None

    def roster(self, course_id: str) -> t.Dict[str, t.Any]:
        """The course's roster (created on first use: USERS + ROSTER_EXTRA, all Active)."""
        with self.lock:
            r = self.rosters.get(course_id)
            if r is None:
                members: t.Dict[str, t.Dict[str, t.Any]] = {}
                for key, role in USER_COURSE_ROLES.items():
                    u = USERS[key]
                    members[u["id"]] = {"user_id": u["id"], "roles": [role], "name": u["name"],
                                        "given_name": u["given_name"], "family_name": u["family_name"],
                                        "email": u["email"], "status": "Active", "_v": 1}
                for uid, given, family, role in ROSTER_EXTRA:
                    members[uid] = {"user_id": uid, "roles": [role], "name": f"{given} {family}",
                                    "given_name": given, "family_name": family,
                                    "email": f"{given}.{family}@local-lms.test".lower(),
                                    "status": "Active", "_v": 1}
                r = {"version": 1, "members": members}
                self.rosters[course_id] = r
            return r

    def change_roster(self, course_id: str, body: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        """add: [member], remove: [user_id] (status Deleted), status: {user_id: status}."""
        add, remove, status = body.get("add") or [], body.get("remove") or [], body.get("status") or {}
        with self.lock:
            r = self.roster(course_id)
            for m in add:
                if not isinstance(m, dict) or not m.get("user_id") or not isinstance(m.get("roles"), list):
                    raise BadRequest("invalid_request", "add: members need user_id and roles")
            for uid in remove:
                if uid not in r["members"]:
                    raise BadRequest("invalid_request", f"remove: no member {uid!r}")
            for uid, value in status.items():
                if uid not in r["members"] or value not in ("Active", "Inactive", "Deleted"):
                    raise BadRequest("invalid_request", f"status: bad member or status {uid!r}")
            version = r["version"] + 1
            for m in add:
                r["members"][str(m["user_id"])] = dict(m, status=m.get("status", "Active"), _v=version)
            for uid in remove:
                r["members"][uid].update(status="Deleted", _v=version)
            for uid, value in status.items():
                r["members"][uid].update(status=value, _v=version)
            r["version"] = version
            return {"course_id": course_id, "version": version}

    # -- AGS storage -------------------------------------------------------------------------
    def lineitems_url(self, course_id: str) -> str:
        return f"{self.issuer}/api/courses/{course_id}/lineitems"

    def lineitem_url(self, course_id: str, n: int) -> str:
        return f"{self.lineitems_url(course_id)}/{n}"

    def add_lineitem(self, course_id: str, item: t.Dict[str, t.Any]) -> int:
        with self.lock:
            self.lineitem_seq += 1
            n = self.lineitem_seq
            self.lineitems.setdefault(course_id, {})[n] = {k: v for k, v in item.items() if k != "id"}
            return n

    def ensure_default_lineitem(self, course: t.Dict[str, t.Any], link: t.Dict[str, t.Any]) -> str:
        """The line item the platform creates for a resource link (the launch's lineitem claim)."""
        with self.lock:
            key = (course["id"], str(link["id"]))
            self.resource_links.add(key)
            n = self.default_lineitems.get(key)
            if n is None or n not in self.lineitems.get(course["id"], {}):
                n = self.add_lineitem(course["id"], {
                    "label": str(link.get("title") or link["id"]), "scoreMaximum": 100,
                    "resourceLinkId": str(link["id"])})
                self.default_lineitems[key] = n
            return self.lineitem_url(course["id"], n)

    # -- faults ------------------------------------------------------------------------------
    def fault(self, name: str, client_id: t.Optional[str]) -> t.Any:
        with self.lock:
            only = self.faults.get("client_id")
            if only is not None and only != client_id:
                return None
            return self.faults.get(name)

    def take_token_status(self, client_id: t.Optional[str]) -> t.Optional[int]:
        with self.lock:
            always = self.fault("token_status", client_id)
            if always:
                return int(always)
            queue = self.fault("token_statuses", client_id)
            if queue:
                return int(queue.pop(0))
            return None

    def take_service_401(self, client_id: t.Optional[str]) -> bool:
        with self.lock:
            if self.fault("service_401_once", client_id):
                self.faults["service_401_once"] = False
                return True
            return False

    def tool_for_client(self, client_id: str) -> str:
        with self.lock:
            return self.client_tools.get(client_id, self.tool_url)

    def outcome_fault(self, name: str, consumer_key: t.Optional[str]) -> t.Any:
        """A Basic Outcomes fault; the optional ``consumer_key`` fault limits it to one consumer."""
        with self.lock:
            only = self.faults.get("consumer_key")
            if only is not None and only != consumer_key:
                return None
            return self.faults.get(name)


STATE: PlatformState  # set in main()


def _load_caliper_stores() -> t.Any:
    """The Caliper event store (caliper_store.py beside this file; loaded by path because this
    folder is kept off sys.path)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "lti_edge_caliper_store", os.path.join(os.path.dirname(os.path.abspath(__file__)), "caliper_store.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.CaliperStores()


CALIPER = _load_caliper_stores()


# --------------------------------------------------------------------------------------------
# lti1p3platform glue
# --------------------------------------------------------------------------------------------


class LocalPlatformConf(LTI1P3PlatformConfAbstract):
    """One tool registration as the platform sees it (per client id / deployment / launch)."""

    def init_platform_config(self, **kwargs: t.Any) -> None:  # type: ignore[override]
        state: PlatformState = kwargs["state"]
        tool_url: str = kwargs.get("tool_url") or state.tool_url
        kaf: bool = kwargs.get("kaf", state.kaf_paths)
        target = kwargs.get("target_link_uri") or tool_url + "/lti/launch"
        key = state.signing_key()
        registration = (
            Registration()
            .set_iss(state.issuer)
            .set_client_id(kwargs.get("client_id") or state.client_id)
            .set_deployment_id(kwargs.get("deployment_id") or state.deployment_id)
            .set_launch_url(target)
            .set_oidc_login_url(tool_url + ("/hosted/index/oidc-init" if kaf else "/lti/login"))
            .set_tool_key_set_url(tool_url + "/lti/jwks")
            .set_platform_public_key(key.public_pem)
            .set_platform_private_key(key.private_pem)
        )
        if kwargs.get("deep_linking"):
            registration.set_deeplink_launch_url(target)
        if key.kid != key.thumbprint:
            # /__control/rekey: the library names a key by its thumbprint; sign under the kid
            # the platform kept instead (same claims handling as the library's signer)
            def sign_same_kid(payload: t.Dict[str, t.Any], expiration: t.Optional[int] = None) -> str:
                if expiration:
                    issued = int(time.time())
                    payload.update({"iat": issued, "exp": issued + int(expiration)})
                return jwt.encode(payload, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
            registration.platform_encode_and_sign = sign_same_kid  # type: ignore[method-assign]
        self._registration = registration
        self._state = state

    def get_registration_by_params(self, **kwargs: t.Any) -> Registration:
        assert self._registration is not None
        return self._registration

    def get_jwks(self):  # type: ignore[override]
        jwks = super().get_jwks()  # the current signing key, through the library
        with self._state.lock:
            extra = list(self._state.extra_published)
            current = self._state.current
        for k in jwks["keys"]:
            if k.get("kid") == current.thumbprint:
                k["kid"] = current.kid  # /__control/rekey keeps the old kid
        for old in extra:
            jwks["keys"].append(Registration.get_jwk(old.public_pem))
        return jwks


def conf_for_spec(spec: t.Dict[str, t.Any]) -> LocalPlatformConf:
    return LocalPlatformConf(
        state=STATE, client_id=spec["client_id"], deployment_id=spec["deployment_id"],
        tool_url=spec["tool_url"], kaf=spec["kaf"], target_link_uri=spec["target_link_uri"],
        deep_linking=spec["message_type"] == "LtiDeepLinkingRequest")


class LocalOIDCLogin(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: t.Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class LocalRequest(Request):
    def build_metadata(self, request: t.Any) -> TRequest:
        return t.cast(TRequest, request)


class LocalMessageLaunch(LTIAdvantageMessageLaunchAbstract):
    """Fills the id_token claims from the launch chosen in the LMS (carried by lti_message_hint)."""

    def __init__(self, request: Request, conf: LocalPlatformConf, spec: t.Dict[str, t.Any]) -> None:
        super().__init__(request, conf)
        self.spec = spec

    def prepare_launch(self, preflight_response: t.Dict[str, t.Any]) -> None:
        spec = self.spec
        issuer = STATE.issuer
        user = spec["user"]
        course = spec["course"]
        self.set_launch_url(spec["target_link_uri"])
        self.set_id_token_expiration(int(spec.get("id_token_ttl") or 300))
        self.set_user_data(user["id"], list(spec["roles"]), full_name=user.get("name"),
                           email_address=user.get("email"),
                           preferred_username=user.get("username"))
        if self.lti_claim_user_data is not None:
            for name in ("given_name", "family_name"):
                if user.get(name):
                    self.lti_claim_user_data[name] = user[name]
        if course:
            self.set_launch_context_claim(
                course["id"], context_types=[f"{LIS}/course#CourseOffering"],
                context_title=course.get("title"), context_label=course.get("label"))
        self.set_launch_presentation_claim(
            document_target="iframe", return_url=f"{issuer}/launch-return")
        if spec.get("custom"):
            self.set_custom_parameters_claim(dict(spec["custom"]))
        link = None
        if spec["message_type"] == "LtiDeepLinkingRequest":
            dl = spec.get("deep_linking") or {}
            self.set_dl(f"{issuer}/deep-link-return",
                        title=dl.get("title", "Embed media"),
                        description=dl.get("text", "Choose media to embed in the course"),
                        accept_types=set(dl.get("accept_types") or ["ltiResourceLink", "link", "html"]),
                        extra_data=dl.get("data"))
            # settings the library does not take as arguments: set on the claim it built
            assert self._deep_linking_launch_data is not None
            claim = self._deep_linking_launch_data[DL_CLAIM]
            for name in ("accept_multiple", "accept_lineitem", "accept_presentation_document_targets",
                         "accept_media_types", "auto_create"):
                if name in dl:
                    claim[name] = dl[name]
            if dl.get("accept_types"):
                claim["accept_types"] = [x for x in dl["accept_types"] if x in claim["accept_types"]]
        else:
            link = spec.get("resource_link")
            if link:
                self.set_resource_link_claim(link["id"], description=link.get("description"),
                                             title=link.get("title"))
                if course:
                    with STATE.lock:
                        STATE.resource_links.add((course["id"], str(link["id"])))
        if course:
            self.set_services(spec, course, link)
        self.set_extra_claims({
            CLAIM + "tool_platform": {
                "guid": "local-lms-" + hashlib.sha256(issuer.encode()).hexdigest()[:16],
                "name": "Local LMS", "product_family_code": "local-lms", "version": "0.1.8",
            },
            CLAIM + "lis": {"person_sourcedid": user["id"],
                            "course_offering_sourcedid": course["id"] if course else None},
        })
        if spec.get("extra_claims"):
            self.set_extra_claims(dict(spec["extra_claims"]))

    def set_services(self, spec: t.Dict[str, t.Any], course: t.Dict[str, t.Any],
                     link: t.Optional[t.Dict[str, t.Any]]) -> None:
        """AGS and NRPS claims through the library. AGS: lineitems of the course, the resource
        link's own line item (created by the platform) as lineitem; spec ``ags``: false (no
        claim) or {"scope": [...], "lineitem": url|false, "lineitems": false}; ``nrps``: false."""
        ags = spec.get("ags", True)
        if ags is not False:
            opts = ags if isinstance(ags, dict) else {}
            lineitem = STATE.ensure_default_lineitem(course, link) if link else None
            if "lineitem" in opts:
                lineitem = opts["lineitem"] or None
            self.set_ags(STATE.lineitems_url(course["id"]), lineitem_url=lineitem,
                         allow_creating_lineitems=True)
            claim = self.extra_claims[AGS_CLAIM]
            if "scope" in opts:
                claim["scope"] = list(opts["scope"])
            if opts.get("lineitems") is False:
                claim.pop("lineitems", None)
        if spec.get("nrps", True) is not False:
            self.set_nrps(f"{STATE.issuer}/api/courses/{course['id']}/memberships")

    def generate_launch_request(self):  # type: ignore[override]
        """The library's launch request; with a spec ``lti1p1``, the migration claim is added just
        before the library signs the id_token, when its deployment_id, iss, aud, exp and nonce are
        all known (iat/exp are set here, the same way the library sets them)."""
        migration = self.spec.get("lti1p1")
        if not migration:
            return super().generate_launch_request()
        registration = self._registration
        assert registration is not None
        library_sign = registration.platform_encode_and_sign

        def sign_with_claim(payload: t.Dict[str, t.Any], expiration: t.Optional[int] = None) -> str:
            issued = int(time.time())
            payload.update({"iat": issued, "exp": issued + int(expiration or self.id_token_expiration)})
            payload[LTI1P1_CLAIM] = lti1p1_claim(migration, payload)
            return library_sign(payload, expiration=None)

        registration.platform_encode_and_sign = sign_with_claim  # type: ignore[method-assign]
        try:
            return super().generate_launch_request()
        finally:
            del registration.platform_encode_and_sign

    def render_launch_form(self, launch_data: t.Dict[str, t.Any], **kwargs: t.Any) -> t.Dict[str, t.Any]:
        return dict(launch_data)


class LocalNRPS(NamesRoleProvisioningService):
    """Context membership from the course roster: paged (``limit``, default NRPS_PAGE_SIZE,
    ``page``), ``role`` filter (full URI or short name), ``since`` (membership differences: the
    members changed after that roster version, deleted ones included with status Deleted)."""

    def __init__(self, request: Request, conf: LocalPlatformConf, course: t.Dict[str, str],
                 url: str) -> None:
        super().__init__(request, conf, url)
        self.course = course

    def get_context_by_id(self) -> Context:
        return Context(id=self.course["id"], label=self.course["label"], title=self.course["title"])

    def is_resource_link_valid(self, context_id: str, resource_link_id: str) -> bool:
        with STATE.lock:
            return (context_id, resource_link_id) in STATE.resource_links

    def get_member_data_page(self, page: t.Any = 1, limit: t.Any = None, role: t.Any = None,
                             since: t.Any = None, **kwargs: t.Any) -> TPage:  # type: ignore[override]
        with STATE.lock:
            roster = STATE.roster(self.course["id"])
            members = [dict(m) for m in roster["members"].values()]
        if since is not None and since != "":
            try:
                version = int(since)
            except ValueError:
                raise LtiServiceException("since: not a differences token of this platform", 400)
            members = [m for m in members if m["_v"] > version]
        else:
            members = [m for m in members if m["status"] != "Deleted"]
        if role:
            members = [m for m in members if any(r == role or r.endswith("#" + role) for r in m["roles"])]
        size = int(limit or NRPS_PAGE_SIZE)
        first = (int(page) - 1) * size
        content = [{k: v for k, v in m.items() if k != "_v"} for m in members[first:first + size]]
        return {"content": content, "has_next": first + size < len(members), "next": None}


class LocalAGS(AssignmentsGradesService):
    """Line items, scores and results of one course, in memory. ``required`` is the scope the
    operation needs (the library's check accepts a token holding any of them)."""

    def __init__(self, request: Request, conf: LocalPlatformConf, course: t.Dict[str, str],
                 n: t.Optional[int], required: t.List[str]) -> None:
        super().__init__(request, conf, STATE.lineitems_url(course["id"]),
                         STATE.lineitem_url(course["id"], n) if n is not None else None,
                         allow_creating_lineitems=True)
        self.course = course
        self.required = list(required)
        self.client_id: t.Optional[str] = None

    @property
    def allowed_scopes(self) -> t.List[str]:
        return self.required

    # -- storage -----------------------------------------------------------------------------
    def _items(self) -> t.Dict[int, t.Dict[str, t.Any]]:
        return STATE.lineitems.setdefault(self.course["id"], {})

    def _item(self, line_item_id: t.Any) -> t.Tuple[int, t.Dict[str, t.Any]]:
        try:
            n = int(line_item_id)
        except (TypeError, ValueError):
            raise LineItemNotFoundException(str(line_item_id))
        item = self._items().get(n)
        if item is None:
            raise LineItemNotFoundException(str(line_item_id))
        return n, item

    def _out(self, n: int, item: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        return {"id": STATE.lineitem_url(self.course["id"], n), **item}

    @staticmethod
    def _clean(data: t.Any, base: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        if not isinstance(data, dict):
            raise LtiServiceException("a line item must be a JSON object", 400)
        item = dict(base or {})
        for name in ("label", "scoreMaximum", "resourceId", "tag", "resourceLinkId",
                     "startDateTime", "endDateTime", "gradesReleased"):
            if name in data and not (base is not None and name == "resourceLinkId"):
                item[name] = data[name]
        label = item.get("label")
        if not isinstance(label, str) or not label.strip():
            raise LtiServiceException("label is required", 400)
        smax = item.get("scoreMaximum")
        if isinstance(smax, bool) or not isinstance(smax, (int, float)) or smax <= 0:
            raise LtiServiceException("scoreMaximum must be a number > 0", 400)
        for name in ("resourceId", "tag", "resourceLinkId", "startDateTime", "endDateTime"):
            if name in item and item[name] is not None and not isinstance(item[name], str):
                raise LtiServiceException(f"{name} must be a string", 400)
        for name in ("startDateTime", "endDateTime"):
            if item.get(name):
                parse_time(item[name], name)
        return {k: v for k, v in item.items() if v is not None}

    @staticmethod
    def _page(rows: t.List[t.Any], page: t.Any, limit: t.Any) -> TPage:
        size = int(limit or AGS_PAGE_SIZE)
        first = (int(page) - 1) * size
        return {"content": rows[first:first + size], "has_next": first + size < len(rows),
                "next": None}

    # -- the library's abstract methods ------------------------------------------------------
    def find_lineitems(self, page: int = 1, limit: t.Optional[int] = None,  # type: ignore[override]
                       line_item_id: t.Optional[str] = None, resource_link_id: t.Optional[str] = None,
                       resource_id: t.Optional[str] = None, tag: t.Optional[str] = None) -> TPage:
        with STATE.lock:
            rows = [self._out(n, i) for n, i in sorted(self._items().items())]
        if resource_link_id is not None:
            rows = [r for r in rows if r.get("resourceLinkId") == resource_link_id]
        if resource_id is not None:
            rows = [r for r in rows if r.get("resourceId") == resource_id]
        if tag is not None:
            rows = [r for r in rows if r.get("tag") == tag]
        return self._page(rows, page, limit)

    def find_lineitem(self, line_item_id: str) -> t.Any:
        with STATE.lock:
            n, item = self._item(line_item_id)
            return self._out(n, item)

    def create_lineitem(self, creation_data: t.Any) -> t.Any:
        item = self._clean(creation_data)
        n = STATE.add_lineitem(self.course["id"], item)
        with STATE.lock:
            return self._out(n, self._items()[n])

    def update_lineitem(self, update_data: t.Any) -> t.Any:
        with STATE.lock:
            n, old = self._item(update_data.get("id"))
            item = self._clean({k: v for k, v in update_data.items() if k != "id"}, base=old)
            self._items()[n] = item
            return self._out(n, item)

    def delete_lineitem(self, line_item_id: str) -> None:
        with STATE.lock:
            n, _item = self._item(line_item_id)
            del self._items()[n]
            STATE.results.pop(n, None)

    def update_score(self, line_item_id: str, score: t.Any) -> UpdateScoreStatus:
        with STATE.lock:
            n, _item = self._item(line_item_id)
        score = validate_score(score)
        url = STATE.lineitem_url(self.course["id"], n)
        user_id = score["userId"]
        ts = parse_time(score["timestamp"], "timestamp")
        with STATE.lock:
            results = STATE.results.setdefault(n, {})
            previous = results.get(user_id)
            if previous is not None and ts < previous["_ts"]:
                return UpdateScoreStatus.OLD_TIMESTAMP
            result: t.Dict[str, t.Any] = {"id": f"{url}/results/{user_id}", "scoreOf": url,
                                          "userId": user_id, "_ts": ts}
            if "scoreGiven" in score:
                result["resultScore"] = score["scoreGiven"]
                result["resultMaximum"] = score["scoreMaximum"]
            if score.get("comment") is not None:
                result["comment"] = score["comment"]
            results[user_id] = result
            STATE.scores.append({"client_id": self.client_id, "course_id": self.course["id"],
                                 "lineitem": url, "score": dict(score), "received": time.time()})
        STATE.bump("scores", self.client_id)
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id: str, page: int = 1,  # type: ignore[override]
                    limit: t.Optional[int] = None, user_id: t.Optional[str] = None) -> TPage:
        with STATE.lock:
            n, _item = self._item(line_item_id)
            rows = [{k: v for k, v in r.items() if k != "_ts"}
                    for _uid, r in sorted(STATE.results.get(n, {}).items())]
        if user_id is not None:
            rows = [r for r in rows if r["userId"] == user_id]
        return self._page(rows, page, limit)


def parse_time(value: t.Any, name: str) -> float:
    if not isinstance(value, str):
        raise LtiServiceException(f"{name} must be an ISO 8601 date-time string", 400)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise LtiServiceException(f"{name} is not an ISO 8601 date-time: {value!r}", 400)
    if parsed.tzinfo is None:
        raise LtiServiceException(f"{name} needs a time zone offset: {value!r}", 400)
    return parsed.timestamp()


def validate_score(score: t.Any) -> t.Dict[str, t.Any]:
    """The AGS score publish rules (https://www.imsglobal.org/spec/lti-ags/v2p0/#score-publish-service)."""
    if not isinstance(score, dict):
        raise LtiServiceException("a score must be a JSON object", 400)
    if not isinstance(score.get("userId"), str) or not score["userId"]:
        raise LtiServiceException("userId is required", 400)
    if score.get("activityProgress") not in {e.value for e in ActivityProgress}:
        raise LtiServiceException("activityProgress is missing or not a known value", 400)
    if score.get("gradingProgress") not in {e.value for e in GradeProgress}:
        raise LtiServiceException("gradingProgress is missing or not a known value", 400)
    if "timestamp" not in score:
        raise LtiServiceException("timestamp is required", 400)
    parse_time(score["timestamp"], "timestamp")
    number = (int, float)
    if "scoreGiven" in score and score["scoreGiven"] is not None:
        given = score["scoreGiven"]
        if isinstance(given, bool) or not isinstance(given, number) or given < 0:
            raise LtiServiceException("scoreGiven must be a number >= 0", 400)
        smax = score.get("scoreMaximum")
        if isinstance(smax, bool) or not isinstance(smax, number) or smax <= 0:
            raise LtiServiceException("scoreMaximum (> 0) is required with scoreGiven", 400)
    else:
        score = {k: v for k, v in score.items() if k != "scoreGiven"}
    if "comment" in score and score["comment"] is not None and not isinstance(score["comment"], str):
        raise LtiServiceException("comment must be a string", 400)
    return score


# --------------------------------------------------------------------------------------------
# LTI 1.1: the migration claim of 1.3 launches, and Basic Outcomes (IMS POX over OAuth 1.0a)
# --------------------------------------------------------------------------------------------

LTI1P1_CLAIM = CLAIM + "lti1p1"
LTI1P1_SIGNS = ("good", "wrong", "absent")
POX_NS = "http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0"
OUTCOME_OPERATIONS = ("replaceResult", "readResult", "deleteResult")
OAUTH_TIMESTAMP_LIFETIME = 300  # seconds either way, as the LTI 1.1 implementation guide suggests


def check_lti1p1_spec(value: t.Any) -> t.Dict[str, t.Any]:
    """Launch spec ``lti1p1``: {user_id, context_id?, resource_link_id?, consumer_key, secret,
    sign: good (default) | wrong | absent}."""
    if not isinstance(value, dict):
        raise BadRequest("invalid_request", "lti1p1 must be an object")
    for name in ("user_id", "consumer_key", "secret"):
        if not isinstance(value.get(name), str) or not value[name]:
            raise BadRequest("invalid_request", f"lti1p1.{name} must be a non-empty string")
    for name in ("context_id", "resource_link_id"):
        if value.get(name) is not None and not isinstance(value[name], str):
            raise BadRequest("invalid_request", f"lti1p1.{name} must be a string")
    sign = value.get("sign", "good")
    if sign not in LTI1P1_SIGNS:
        raise BadRequest("invalid_request", f"lti1p1.sign must be one of {', '.join(LTI1P1_SIGNS)}")
    unknown = sorted(set(value) - {"user_id", "context_id", "resource_link_id", "consumer_key", "secret",
                                   "sign"})
    if unknown:
        raise BadRequest("invalid_request", f"lti1p1: unknown member(s) {', '.join(unknown)}")
    return dict(value, sign=sign)


def lti1p1_sign(secret: str, consumer_key: str, deployment_id: str, iss: str, client_id: str,
                exp: int, nonce: str) -> str:
    """``oauth_consumer_key_sign`` (LTI 1.3 migration guide): base64(HMAC-SHA256(key = the LTI 1.1
    secret, "&".join([consumer_key, deployment_id, iss, client_id, exp, nonce])))."""
    base = "&".join([consumer_key, deployment_id, iss, client_id, str(exp), nonce])
    return base64.b64encode(hmac.new(secret.encode(), base.encode(), hashlib.sha256).digest()).decode()


def lti1p1_claim(migration: t.Dict[str, t.Any], payload: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    """The claim for an id_token ``payload`` about to be signed (its deployment_id, iss, aud, exp
    and nonce are final). ``sign``: good; wrong (what canvas-lms issue #2287 describes: the value
    is computed with a nonce that is not the token's, so it never verifies); absent (no
    oauth_consumer_key_sign member)."""
    claim: t.Dict[str, t.Any] = {"user_id": migration["user_id"]}
    for name in ("context_id", "resource_link_id"):
        if migration.get(name):
            claim[name] = migration[name]
    claim["oauth_consumer_key"] = migration["consumer_key"]
    if migration["sign"] != "absent":
        aud = payload["aud"]
        client_id = aud if isinstance(aud, str) else aud[0]
        nonce = str(payload["nonce"]) if migration["sign"] == "good" else "other-" + secrets.token_hex(8)
        claim["oauth_consumer_key_sign"] = lti1p1_sign(
            migration["secret"], migration["consumer_key"], str(payload[CLAIM + "deployment_id"]),
            str(payload["iss"]), client_id, int(payload["exp"]), nonce)
    return claim


class Lti11Validator(RequestValidator):
    """oauthlib's questions about the LMS's LTI 1.1 consumers: HMAC-SHA1 only, ±300 s, each
    (key, timestamp, nonce) once, plain http allowed (the LMS runs on loopback). Keys and nonces
    may be any printable text up to 255 characters (LMSs do not restrict them the way oauthlib's
    defaults do)."""

    allowed_signature_methods = (SIGNATURE_HMAC_SHA1,)
    timestamp_lifetime = OAUTH_TIMESTAMP_LIFETIME
    enforce_ssl = False
    dummy_client = "dummy-consumer-key"

    def __init__(self, consumers: t.Dict[str, str]) -> None:
        super().__init__()
        self.consumers = consumers

    def check_client_key(self, client_key: str) -> bool:
        return 0 < len(client_key) <= 255 and client_key.isprintable()

    def check_nonce(self, nonce: str) -> bool:
        return 0 < len(nonce) <= 255 and nonce.isprintable()

    def validate_client_key(self, client_key: str, request: t.Any) -> bool:
        return client_key in self.consumers

    def get_client_secret(self, client_key: str, request: t.Any) -> str:
        return self.consumers.get(client_key, "dummy-secret-" + secrets.token_hex(8))

    def validate_timestamp_and_nonce(self, client_key: str, timestamp: str, nonce: str, request: t.Any,
                                     request_token: t.Any = None, access_token: t.Any = None) -> bool:
        now = time.time()
        with STATE.lock:
            for key in [k for k, at in STATE.outcome_nonces.items() if at < now - 2 * OAUTH_TIMESTAMP_LIFETIME]:
                del STATE.outcome_nonces[key]
            seen = (client_key, timestamp, nonce)
            if seen in STATE.outcome_nonces:
                return False
            STATE.outcome_nonces[seen] = now
            return True


def verify_oauth_request(url: str, method: str, body: str, headers: t.Dict[str, str]) -> t.Dict[str, t.Any]:
    """Verify an OAuth 1.0a-signed request with oauthlib's SignatureOnlyEndpoint against the
    registered consumers. Returns {verified, signature_verified, reason, consumer_key,
    oauth_params}."""
    with STATE.lock:
        consumers = dict(STATE.lti11_consumers)
    endpoint = SignatureOnlyEndpoint(Lti11Validator(consumers))
    verified, request = endpoint.validate_request(url, http_method=method, body=body, headers=headers)
    log = request.validator_log if request is not None else {}
    oauth_params = dict(request.oauth_params) if request is not None else {}
    if verified:
        reason = None
    elif request is None:
        reason = "OAuth parameters missing or repeated"
    elif "signature" not in log:
        reason = ("OAuth parameters refused (missing parameter, signature method other than HMAC-SHA1, "
                  "timestamp outside 300 s, or nonce already used)")
    elif not log.get("client"):
        reason = "unknown oauth_consumer_key"
    else:
        reason = "OAuth signature invalid"
    return {"verified": bool(verified), "signature_verified": bool(log.get("signature")) and bool(log.get("client")),
            "reason": reason, "consumer_key": oauth_params.get("oauth_consumer_key"),
            "oauth_params": oauth_params}


def body_hash(raw: bytes) -> str:
    """``oauth_body_hash``: base64 of the SHA-1 of the raw body (OAuth Request Body Hash)."""
    return base64.b64encode(hashlib.sha1(raw).digest()).decode()


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def pox_find(elem: ElementTree.Element, *path: str) -> t.Optional[ElementTree.Element]:
    """The first descendant chain matching ``path`` by local names (namespaces ignored)."""
    current: t.Optional[ElementTree.Element] = elem
    for name in path:
        if current is None:
            return None
        current = next((c for c in current.iter() if c is not current and local_name(c.tag) == name), None)
    return current


def pox_text(elem: ElementTree.Element, *path: str) -> t.Optional[str]:
    found = pox_find(elem, *path)
    return None if found is None else (found.text or "").strip()


def pox_response(code_major: str, description: str, message_ref: str, operation: str,
                 inner: str = "") -> bytes:
    """An imsx_POXEnvelopeResponse (LTI 1.1 §6)."""
    severity = "status" if code_major == "success" else "error"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<imsx_POXEnvelopeResponse xmlns="{POX_NS}"><imsx_POXHeader><imsx_POXResponseHeaderInfo>'
        f"<imsx_version>V1.0</imsx_version><imsx_messageIdentifier>{secrets.token_hex(8)}</imsx_messageIdentifier>"
        f"<imsx_statusInfo><imsx_codeMajor>{code_major}</imsx_codeMajor><imsx_severity>{severity}</imsx_severity>"
        f"<imsx_description>{xml_escape(description)}</imsx_description>"
        f"<imsx_messageRefIdentifier>{xml_escape(message_ref)}</imsx_messageRefIdentifier>"
        f"<imsx_operationRefIdentifier>{xml_escape(operation)}</imsx_operationRefIdentifier>"
        "</imsx_statusInfo></imsx_POXResponseHeaderInfo></imsx_POXHeader>"
        f"<imsx_POXBody>{inner}</imsx_POXBody></imsx_POXEnvelopeResponse>"
    ).encode()


def parse_pox_request(raw: bytes) -> t.Tuple[str, str, str, t.Optional[str]]:
    """(operation, message identifier, sourcedid, textString) of a POX request; ValueError with why."""
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise ValueError("DOCTYPE and entity declarations are not accepted")
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        raise ValueError(f"not well-formed XML: {exc}")
    if local_name(root.tag) != "imsx_POXEnvelopeRequest":
        raise ValueError("not an imsx_POXEnvelopeRequest")
    body = pox_find(root, "imsx_POXBody")
    request = next(iter(body), None) if body is not None else None
    if request is None or not local_name(request.tag).endswith("Request"):
        raise ValueError("imsx_POXBody holds no operation")
    operation = local_name(request.tag)[:-len("Request")]
    message_id = pox_text(root, "imsx_POXHeader", "imsx_messageIdentifier") or ""
    sourcedid = pox_text(request, "resultRecord", "sourcedGUID", "sourcedId") or ""
    score = pox_text(request, "resultRecord", "result", "resultScore", "textString")
    return operation, message_id, sourcedid, score


def process_outcome(course_id: str, consumer_key: str, operation: str, sourcedid: str,
                    score_text: t.Optional[str]) -> t.Tuple[str, str, str]:
    """Apply a verified POX operation: (codeMajor, description, body inner XML)."""
    if operation not in OUTCOME_OPERATIONS:
        return "unsupported", f"{operation} is not supported", ""
    if not sourcedid:
        return "failure", "sourcedId is missing", ""
    if operation == "replaceResult":
        try:
            value = float(score_text or "")
        except ValueError:
            value = float("nan")
        if not (0.0 <= value <= 1.0):  # also false for NaN
            return "failure", f"the score must be a number between 0.0 and 1.0, got {score_text!r}", ""
        with STATE.lock:
            STATE.outcomes[sourcedid] = {"score": value, "text": score_text, "course_id": course_id,
                                         "consumer_key": consumer_key, "updated": time.time()}
        return "success", f"Score for {sourcedid} is now {score_text}", "<replaceResultResponse/>"
    if operation == "readResult":
        with STATE.lock:
            stored = STATE.outcomes.get(sourcedid)
        text = stored["text"] if stored else ""
        inner = ("<readResultResponse><result><resultScore><language>en</language>"
                 f"<textString>{xml_escape(text)}</textString></resultScore></result></readResultResponse>")
        return "success", f"Result read for {sourcedid}", inner
    with STATE.lock:
        STATE.outcomes.pop(sourcedid, None)
    return "success", f"Result deleted for {sourcedid}", "<deleteResultResponse/>"


def handle_outcome_request(url: str, course_id: str, headers: t.Dict[str, str],
                           raw: bytes) -> t.Tuple[int, bytes, str]:
    """POST /outcomes/<course id>: verify OAuth (header) + oauth_body_hash, then the POX operation.
    Answers (status, body, content type); refusals are POX ``failure`` replies with status 200,
    as LMSs answer them."""
    check = verify_oauth_request(url, "POST", "", headers)
    consumer_key = check["consumer_key"]
    verified_bytes = raw + b"<!-- tampered by test control -->" if STATE.outcome_fault(
        "tamper_body", consumer_key) else raw
    sent_hash = check["oauth_params"].get("oauth_body_hash")
    body_hash_verified = bool(sent_hash) and hmac.compare_digest(sent_hash, body_hash(verified_bytes))
    record: t.Dict[str, t.Any] = {
        "time": time.time(), "course_id": course_id, "consumer_key": consumer_key,
        "content_type": headers.get("Content-Type"), "authorization": bool(headers.get("Authorization")),
        "signature_verified": check["signature_verified"], "body_hash_verified": body_hash_verified,
        "verified": check["verified"] and body_hash_verified, "oauth_reason": check["reason"],
        "signature_method": check["oauth_params"].get("oauth_signature_method"),
        "operation": None, "message_identifier": None, "sourcedid": None, "score_text": None,
        "code_major": None, "description": None}
    with STATE.lock:
        STATE.outcome_requests.append(record)
        del STATE.outcome_requests[:-500]
    try:
        operation, message_id, sourcedid, score_text = parse_pox_request(raw)
        record.update(operation=operation, message_identifier=message_id, sourcedid=sourcedid,
                      score_text=score_text)
    except ValueError as exc:
        operation, message_id, sourcedid, score_text = "", "", "", None
        parse_error: t.Optional[str] = str(exc)
    else:
        parse_error = None

    def answer(code: str, description: str, inner: str = "") -> t.Tuple[int, bytes, str]:
        record.update(code_major=code, description=description)
        return 200, pox_response(code, description, message_id, operation, inner), "application/xml"

    reply_fault = STATE.outcome_fault("outcome_reply", consumer_key)
    if reply_fault == "malformed":
        record.update(code_major="malformed", description="forced by test control (outcome_reply)")
        return 200, b"<html><body><h1>Gradebook temporarily unavailable</h1><p>Try again", "text/html"
    if reply_fault == "failure":
        return answer("failure", "forced by test control (outcome_reply)")
    if not check["verified"]:
        return answer("failure", f"Request refused: {check['reason']}")
    if not sent_hash:
        return answer("failure", "Request refused: oauth_body_hash is missing")
    if not body_hash_verified:
        return answer("failure", "Request refused: oauth_body_hash does not match the body received")
    if parse_error is not None:
        return answer("failure", f"Request refused: {parse_error}")
    code, description, inner = process_outcome(course_id, str(consumer_key), operation, sourcedid, score_text)
    return answer(code, description, inner)


# --------------------------------------------------------------------------------------------
# Launch specs (what the LMS user chose); lti_message_hint points to one
# --------------------------------------------------------------------------------------------


class BadRequest(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def build_spec(data: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    """Normalise a launch choice. Keys (all optional): user (key or object), role (key) or roles
    (list), course (key, object or null), placement, target_link_uri, message_type, resource_link
    (object or null), custom, extra_claims, client_id, deployment_id, tool_url, kaf, login_hint,
    lti_storage_target, deep_linking {accept_types, accept_multiple, accept_lineitem,
    accept_presentation_document_targets, accept_media_types, auto_create, title, text, data},
    id_token_ttl, ags (false | {scope, lineitem, lineitems}), nrps (false), lti1p1 ({user_id,
    context_id?, resource_link_id?, consumer_key, secret, sign: good|wrong|absent}: the LTI 1.3
    migration claim, see lti1p1_claim)."""
    user = data.get("user", "ada")
    if isinstance(user, str):
        if user not in USERS:
            raise BadRequest("invalid_request", f"unknown user {user!r}")
        user = dict(USERS[user])
    elif not isinstance(user, dict) or not user.get("id"):
        raise BadRequest("invalid_request", "user must be a known key or an object with an id")

    if "roles" in data:
        roles = data["roles"]
        if not isinstance(roles, list):
            raise BadRequest("invalid_request", "roles must be a list")
    else:
        role = data.get("role", "Instructor")
        if role not in ROLE_CHOICES:
            raise BadRequest("invalid_request", f"unknown role {role!r}")
        roles = list(ROLE_CHOICES[role][1])

    course = data.get("course", "bio101")
    if isinstance(course, str):
        if course not in COURSES:
            raise BadRequest("invalid_request", f"unknown course {course!r}")
        course = dict(COURSES[course])
    elif course is not None and (not isinstance(course, dict) or not course.get("id")):
        raise BadRequest("invalid_request", "course must be a known key, an object with an id, or null")
    if course is not None:
        course = dict(course, id=str(course["id"]))
        STATE.register_course(course)  # its AGS and NRPS endpoints answer from now on

    ags = data.get("ags", True)
    if not isinstance(ags, (bool, dict)):
        raise BadRequest("invalid_request", "ags must be true, false or an object")
    if isinstance(ags, dict) and "scope" in ags and not isinstance(ags["scope"], list):
        raise BadRequest("invalid_request", "ags.scope must be a list")
    nrps = data.get("nrps", True)
    if not isinstance(nrps, bool):
        raise BadRequest("invalid_request", "nrps must be true or false")
    dl = data.get("deep_linking") or {}
    if not isinstance(dl, dict):
        raise BadRequest("invalid_request", "deep_linking must be an object")
    migration = data.get("lti1p1")
    if migration is not None:
        migration = check_lti1p1_spec(migration)

    tool_url = str(data.get("tool_url") or STATE.tool_url).rstrip("/")
    placement = data.get("placement", "mymedia")
    if placement not in PLACEMENTS:
        raise BadRequest("invalid_request", f"unknown placement {placement!r}")
    _label, path, default_type = PLACEMENTS[placement]
    target = data.get("target_link_uri") or tool_url + path
    message_type = data.get("message_type") or default_type
    if message_type not in ("LtiResourceLinkRequest", "LtiDeepLinkingRequest"):
        raise BadRequest("invalid_request", "message_type must be LtiResourceLinkRequest or "
                         "LtiDeepLinkingRequest (craft other types with /__control/sign)")

    if "resource_link" in data:
        link = data["resource_link"]
    else:
        cid = course["id"] if course else "none"
        link = {"id": f"rl-{cid}-{placement}",
                "title": f"{course['label'] if course else 'Site'} {PLACEMENTS[placement][0]}"}

    return {
        "user": user,
        "roles": roles,
        "course": course,
        "placement": placement,
        "target_link_uri": target,
        "message_type": message_type,
        "resource_link": link,
        "custom": data.get("custom") or {},
        "extra_claims": data.get("extra_claims") or {},
        "client_id": str(data.get("client_id") or STATE.client_id),
        "deployment_id": str(data.get("deployment_id") or STATE.deployment_id),
        "tool_url": tool_url,
        "kaf": bool(data["kaf"]) if "kaf" in data else STATE.kaf_paths,
        "login_hint": str(data.get("login_hint") or user["id"]),
        "lti_storage_target": data.get("lti_storage_target"),
        "deep_linking": dl,
        "id_token_ttl": data.get("id_token_ttl"),
        "ags": ags,
        "nrps": nrps,
        "lti1p1": migration,
    }


def create_launch(data: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    """Register a launch and build the tool's OIDC login initiation URL through the library."""
    spec = build_spec(data)
    hint = STATE.put_hint(spec)
    conf = conf_for_spec(spec)
    login = LocalOIDCLogin(None, conf)
    login.set_lti_message_hint(hint=hint)
    login.set_launch_url(spec["target_link_uri"])
    login_url: str = login.initiate_login(spec["login_hint"])
    if spec.get("lti_storage_target"):
        login_url += "&" + urlencode({"lti_storage_target": spec["lti_storage_target"]})
    parsed = urlparse(login_url)
    return {
        "login_url": login_url,
        "login_endpoint": f"{parsed.scheme}://{parsed.netloc}{parsed.path}",
        "params": dict(parse_qsl(parsed.query)),
        "lti_message_hint": hint,
        "login_hint": spec["login_hint"],
        "target_link_uri": spec["target_link_uri"],
        "message_type": spec["message_type"],
        "client_id": spec["client_id"],
        "deployment_id": spec["deployment_id"],
        "issuer": STATE.issuer,
        "spec": {k: v for k, v in spec.items() if not k.startswith("_")},
    }


def authorize(params: t.Dict[str, str], method: str) -> t.Dict[str, t.Any]:
    """OIDC authorization endpoint: validate the tool's auth request, then build the id_token."""
    STATE.bump("auth")
    expected = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
                "prompt": "none"}
    for name, value in expected.items():
        got = params.get(name)
        if got is None or got == "":
            raise BadRequest("invalid_request", f"missing parameter {name}")
        if name == "scope":
            if "openid" not in got.split():
                raise BadRequest("invalid_scope", "scope must include openid")
        elif got != value:
            code = "unsupported_response_type" if name == "response_type" else "invalid_request"
            raise BadRequest(code, f"{name} must be {value!r}, got {got!r}")
    for name in ("client_id", "redirect_uri", "nonce", "state", "login_hint", "lti_message_hint"):
        if not params.get(name):
            raise BadRequest("invalid_request", f"missing parameter {name}")
    spec = STATE.get_hint(params["lti_message_hint"])
    if spec is None:
        raise BadRequest("invalid_request", "unknown or expired lti_message_hint")
    if params["login_hint"] != spec["login_hint"]:
        raise BadRequest("login_required", "login_hint does not match the launching user")
    if params["client_id"] != spec["client_id"]:
        raise BadRequest("unauthorized_client", "client_id does not match the launched tool")
    redirect = params["redirect_uri"]
    rp = urlparse(redirect)
    if rp.scheme not in ("http", "https") or origin_of(redirect) != origin_of(spec["tool_url"]) \
            or rp.fragment:
        raise BadRequest("invalid_request", "redirect_uri is not on the tool's origin")

    conf = conf_for_spec(spec)
    req = LocalRequest({"method": method, "get_data": dict(params) if method == "GET" else {},
                        "form_data": dict(params) if method != "GET" else {}, "headers": {},
                        "content_type": None, "path": "/auth", "json": None})
    launch = LocalMessageLaunch(req, conf, spec)
    try:
        data = launch.lti_launch()
    except lti_exceptions.PreflightRequestValidationException as exc:
        raise BadRequest("invalid_request", "authorization request rejected by lti1p3platform") from exc
    return {"action": data["launch_url"], "id_token": data["id_token"], "state": data["state"]}


# --------------------------------------------------------------------------------------------
# Service tokens and faults
# --------------------------------------------------------------------------------------------


def mint_access_token(client_id: str, scope: str, ttl: int) -> str:
    """A service access token like the library's get_access_token issues (same claims, same
    signing path), with another lifetime."""
    return Registration.encode_and_sign({"sub": client_id, "iss": STATE.issuer, "scopes": scope},
                                        STATE.signing_key().private_pem, expiration=max(1, ttl))


def set_faults(body: t.Any) -> t.Dict[str, t.Any]:
    """Replace the fault set ({} resets). Keys: client_id (only that client's requests),
    token_statuses [status, ...] (answered by the token endpoint first, one per request),
    token_status (always), service_401_once, nrps_loop, nrps_oversized, nrps_malformed,
    ags_malformed, granted_scopes [...], expires_in (seconds), ags_status / nrps_status (every AGS /
    NRPS call answers that status, after the token check). LTI 1.1 Basic Outcomes: outcome_reply
    ("failure": a POX failure reply, nothing stored; "malformed": a 200 HTML page instead of POX),
    tamper_body (true: the body the LMS checks oauth_body_hash against is altered, so the hash
    mismatches and the LMS answers failure), consumer_key (these only for that consumer key)."""
    if not isinstance(body, dict):
        raise BadRequest("invalid_request", "send a JSON object")
    unknown = sorted(set(body) - FAULT_KEYS)
    if unknown:
        raise BadRequest("invalid_request", f"unknown fault(s): {', '.join(unknown)}")
    faults = dict(body)
    if "token_statuses" in faults:
        if not isinstance(faults["token_statuses"], list) or not all(
                isinstance(x, int) and 100 <= x <= 599 for x in faults["token_statuses"]):
            raise BadRequest("invalid_request", "token_statuses must be a list of HTTP statuses")
        faults["token_statuses"] = list(faults["token_statuses"])
    if faults.get("token_status") is not None and not (
            isinstance(faults["token_status"], int) and 100 <= faults["token_status"] <= 599):
        raise BadRequest("invalid_request", "token_status must be an HTTP status")
    for name in ("ags_status", "nrps_status"):
        if faults.get(name) is not None and not (isinstance(faults[name], int) and 100 <= faults[name] <= 599):
            raise BadRequest("invalid_request", f"{name} must be an HTTP status")
    if "granted_scopes" in faults and not isinstance(faults["granted_scopes"], list):
        raise BadRequest("invalid_request", "granted_scopes must be a list")
    if faults.get("expires_in") is not None and not (
            isinstance(faults["expires_in"], int) and faults["expires_in"] >= 1):
        raise BadRequest("invalid_request", "expires_in must be an integer >= 1")
    if faults.get("outcome_reply") is not None and faults["outcome_reply"] not in ("failure", "malformed"):
        raise BadRequest("invalid_request", "outcome_reply must be \"failure\" or \"malformed\"")
    if "tamper_body" in faults and not isinstance(faults["tamper_body"], bool):
        raise BadRequest("invalid_request", "tamper_body must be true or false")
    if faults.get("consumer_key") is not None and not isinstance(faults["consumer_key"], str):
        raise BadRequest("invalid_request", "consumer_key must be a string")
    if faults.get("service_oversized") is not None and not (
            isinstance(faults["service_oversized"], int) and 0 <= faults["service_oversized"] <= 512 * 1024 * 1024):
        raise BadRequest("invalid_request", "service_oversized must be a byte count")
    if faults.get("nrps_next") is not None and not isinstance(faults["nrps_next"], str):
        raise BadRequest("invalid_request", "nrps_next must be a URL string")
    with STATE.lock:
        STATE.faults = faults
        return dict(faults)


# --------------------------------------------------------------------------------------------
# Crafted tokens for tests (/__control/sign)
# --------------------------------------------------------------------------------------------


def sign_custom(body: t.Dict[str, t.Any]) -> str:
    claims = body.get("claims") or {}
    if not isinstance(claims, dict):
        raise BadRequest("invalid_request", "claims must be an object")
    header_in = body.get("header") or {}
    which = body.get("key", "current")
    with STATE.lock:
        keys = {"current": STATE.current, "stranger": STATE.stranger, "previous": STATE.previous}
    if which not in keys or keys[which] is None:
        raise BadRequest("invalid_request", f"key must be one of current, stranger, previous (set): {which!r}")
    kp = t.cast(KeyPair, keys[which])
    raw_header, raw_payload = body.get("raw_header"), body.get("raw_payload")
    if raw_header is not None or raw_payload is not None:
        # exact JSON texts (e.g. with duplicate keys, which dicts cannot carry), RS256 over them
        if not isinstance(raw_header, str) or not isinstance(raw_payload, str):
            raise BadRequest("invalid_request", "raw_header and raw_payload must both be strings")
        signing = b64url(raw_header.encode()) + "." + b64url(raw_payload.encode())
        return signing + "." + b64url(jwt.get_algorithm_by_name("RS256").sign(signing.encode(), kp.private_key))
    alg = header_in.get("alg", "RS256")
    header: t.Dict[str, t.Any] = {"alg": alg, "typ": "JWT", "kid": kp.kid}
    for name, value in header_in.items():
        if value is None:
            header.pop(name, None)
        else:
            header[name] = value
    simple = set(header) <= {"alg", "typ", "kid"} and header.get("typ") == "JWT"
    if alg == "RS256" and simple and not body.get("raw"):
        # the library's signing path (PyJWT under the hood), same as real launches
        extra = {k: v for k, v in header.items() if k == "kid"}
        return Registration.encode_and_sign(dict(claims), kp.private_pem, headers=extra or None)
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    algo = str(header.get("alg", "none"))
    if algo.lower() == "none":
        sig = b""
    elif algo in ("HS256", "HS384", "HS512"):
        secret = body.get("secret")
        # default: the platform's public key as HMAC secret (the classic alg-confusion attack)
        key_bytes = secret.encode() if isinstance(secret, str) else kp.public_pem.encode()
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[algo]
        sig = hmac.new(key_bytes, signing_input.encode(), digest).digest()
    elif algo in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"):
        algorithm = jwt.get_algorithm_by_name(algo)
        sig = algorithm.sign(signing_input.encode(), kp.private_key)
    elif algo == "ES256":
        algorithm = jwt.get_algorithm_by_name(algo)
        sig = algorithm.sign(signing_input.encode(), STATE.stranger_ec)
    else:
        sig = secrets.token_bytes(32)  # arbitrary algorithm name: random signature bytes
    return signing_input + "." + b64url(sig)


# --------------------------------------------------------------------------------------------
# LTI Dynamic Registration, the platform side (both dialects)
# --------------------------------------------------------------------------------------------
#
# Moodle's dialect (mod/lti/openid-configuration.php, openid-registration.php,
# classes/local/ltiopenid/registration_helper.php): the configuration is public, the registration
# needs the registration token as bearer, requires response_types id_token, initiate_login_uri,
# redirect_uris (a list), client_name, jwks_uri, token_endpoint_auth_method private_key_jwt and
# the tool configuration's domain and target_link_uri, and answers with the client id and the
# deployment id (the tool type's id) in the tool configuration.
#
# Canvas's dialect (doc/api/registration.md): the configuration needs the token as bearer too and
# lists placements per message type; the registration must also carry grant_types, scope, claims
# and messages whose placements Canvas offers; the answer has the client id and no deployment id
# (the admin installs the app later, which makes the deployment).
#
# Test faults ride on the configuration URL the tool is given (``?fault=...``): bad_issuer,
# no_platform_claim, no_rs256, http_500, not_json, redirect, http_endpoint (an http registration
# endpoint off loopback), dead_endpoint (a registration endpoint nobody listens on), refuse /
# no_client_id / repeat_client (the registration endpoint refuses / answers without a client id /
# answers the client id of the previous registration in this dialect again).

DR_DIALECTS = ("moodle", "canvas")
DR_TOKEN_TTL = 3600
DR_PATHS = {
    "moodle": {"config": "/mod/lti/openid-configuration.php", "register": "/mod/lti/openid-registration.php",
               "auth": "/mod/lti/auth.php", "token": "/mod/lti/token.php", "jwks": "/mod/lti/certs.php"},
    "canvas": {"config": "/api/lti/security/openid-configuration", "register": "/api/lti/registrations",
               "auth": "/api/lti/authorize_redirect", "token": "/login/oauth2/token", "jwks": "/api/lti/security/jwks"},
}
CANVAS_PLACEMENTS = {
    "LtiResourceLinkRequest": ["course_navigation", "user_navigation", "account_navigation", "link_selection"],
    "LtiDeepLinkingRequest": ["editor_button", "link_selection", "assignment_selection", "course_assignments_menu"],
}
DR_FAULTS = ("bad_issuer", "no_platform_claim", "no_rs256", "http_500", "not_json", "redirect",
             "http_endpoint", "dead_endpoint", "refuse", "no_client_id", "repeat_client")
# Aliases of the platform's OIDC, token and key set endpoints under each LMS's own paths, so a
# registration made from an LMS preset (siteUrl = this platform) launches against it.
AUTH_ALIASES = ("/auth", "/mod/lti/auth.php", "/api/lti/authorize_redirect", "/imsoidc/lti13/oidc_auth",
                "/d2l/lti/authenticate")
JWKS_ALIASES = ("/jwks", "/mod/lti/certs.php", "/api/lti/security/jwks", "/d2l/.well-known/jwks")
TOKEN_ALIASES = ("/token", "/mod/lti/token.php", "/login/oauth2/token")


def is_jwks_path(path: str) -> bool:
    return path in JWKS_ALIASES or (path.startswith("/imsblis/lti13/keyset/") and path.count("/") == 4)


def is_token_path(path: str) -> bool:
    return path in TOKEN_ALIASES or (path.startswith("/imsblis/lti13/token/") and path.count("/") == 4)


def dr_start(dialect: str, ttl: int = DR_TOKEN_TTL) -> t.Dict[str, str]:
    """A registration token for a tool and the configuration URL the tool is sent."""
    if dialect not in DR_DIALECTS:
        raise BadRequest("invalid_request", f"dialect must be one of {', '.join(DR_DIALECTS)}")
    token = "rt-" + secrets.token_urlsafe(24)
    with STATE.lock:
        STATE.dr_tokens[token] = {"dialect": dialect, "expires": time.time() + ttl, "used": False}
    return {"openid_configuration": STATE.issuer + DR_PATHS[dialect]["config"], "registration_token": token,
            "dialect": dialect}


def dr_bearer(auth: t.Optional[str], dialect: str, consume: bool) -> t.Optional[str]:
    """The registration token of an ``Authorization: Bearer`` header if it is one this platform
    issued for ``dialect``, unexpired and unused (``consume``: now used). Else None."""
    if not auth or not auth.startswith("Bearer "):
        return None
    token = auth[len("Bearer "):].strip()
    with STATE.lock:
        rec = STATE.dr_tokens.get(token)
        if not rec or rec["dialect"] != dialect or rec["expires"] < time.time() or rec["used"]:
            return None
        if consume:
            rec["used"] = True
    return token


def dr_configuration(dialect: str, fault: t.Optional[str]) -> t.Dict[str, t.Any]:
    paths = DR_PATHS[dialect]
    iss = STATE.issuer
    register = iss + paths["register"] + (f"?fault={fault}" if fault in ("refuse", "no_client_id", "repeat_client") else "")
    if fault == "http_endpoint":
        register = "http://lms.example.test" + paths["register"]
    if fault == "dead_endpoint":
        register = "http://127.0.0.1:1" + paths["register"]
    if dialect == "canvas":
        messages: t.List[t.Any] = [{"type": k, "placements": v} for k, v in CANVAS_PLACEMENTS.items()]
        platform: t.Dict[str, t.Any] = {"product_family_code": "canvas", "version": "vLocal",
                                        "messages_supported": messages,
                                        "https://canvas.instructure.com/lti/account_name": "Local University"}
    else:
        platform = {"product_family_code": "moodle", "version": "4.3+ (local)",
                    "messages_supported": ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"],
                    "placements": ["AddContentMenu"], "variables": ["User.username", "Person.sourcedId"]}
    conf: t.Dict[str, t.Any] = {
        "issuer": iss + "/elsewhere" if fault == "bad_issuer" else iss,
        "authorization_endpoint": iss + paths["auth"],
        "token_endpoint": iss + paths["token"],
        "jwks_uri": iss + paths["jwks"],
        "registration_endpoint": register,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "scopes_supported": list(LTI_1P3_ACCESS_TOKEN_SCOPES) + ["openid"],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["HS256"] if fault == "no_rs256" else ["RS256"],
        "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
        "https://purl.imsglobal.org/spec/lti-platform-configuration": platform,
    }
    if fault == "no_platform_claim":
        del conf["https://purl.imsglobal.org/spec/lti-platform-configuration"]
    return conf


def dr_check_registration(dialect: str, body: t.Any) -> None:
    """The registration request's rules of each dialect (BadRequest invalid_client_metadata)."""
    def bad(why: str) -> BadRequest:
        return BadRequest("invalid_client_metadata", why)
    if not isinstance(body, dict):
        raise bad("the registration must be a JSON object")
    for name in ("response_types", "initiate_login_uri", "redirect_uris", "client_name", "jwks_uri",
                 "token_endpoint_auth_method"):
        if not body.get(name):
            raise bad(f"missing required attribute {name}")
    if "id_token" not in body["response_types"]:
        raise bad("invalid_response_types")
    if not isinstance(body["redirect_uris"], list):
        raise bad("invalid_redirect_uris")
    if body["token_endpoint_auth_method"] != "private_key_jwt":
        raise bad("invalid_token_endpoint_auth_method")
    if body.get("application_type", "web") != "web":
        raise bad("invalid_application_type")
    tool = body.get("https://purl.imsglobal.org/spec/lti-tool-configuration")
    if not isinstance(tool, dict) or not tool.get("domain") or not tool.get("target_link_uri"):
        raise bad("the tool configuration needs domain and target_link_uri")
    origins = {origin_of(body["initiate_login_uri"]), origin_of(body["jwks_uri"])}
    origins |= {origin_of(u) for u in body["redirect_uris"]}
    if len(origins) != 1:
        raise bad("login, redirect and key set URLs must share one origin")
    if dialect == "canvas":
        if set(body.get("grant_types") or []) != {"client_credentials", "implicit"}:
            raise bad("grant_types must be client_credentials and implicit")
        if not isinstance(body.get("scope"), str):
            raise bad("scope is required")
        if not isinstance(tool.get("claims"), list) or not isinstance(tool.get("messages"), list):
            raise bad("claims and messages are required")
        for m in tool["messages"]:
            offered = CANVAS_PLACEMENTS.get(m.get("type"))
            if offered is None:
                raise bad(f"unknown message type {m.get('type')!r}")
            for placement in m.get("placements") or []:
                if placement not in offered:
                    raise bad(f"placement {placement!r} is not offered for {m['type']}")
        level = tool.get("https://canvas.instructure.com/lti/privacy_level", "anonymous")
        if level not in ("public", "name_only", "email_only", "anonymous"):
            raise bad("privacy_level")


def dr_register(dialect: str, fault: t.Optional[str], auth: t.Optional[str], body: t.Any) -> t.Tuple[int, t.Any]:
    token = dr_bearer(auth, dialect, consume=True)
    if token is None:
        return 401, {"error": "invalid_token", "error_description": "unknown, expired or used registration token"}
    if fault == "refuse":
        return 400, {"error": "invalid_client_metadata", "error_description": "refused by test control"}
    dr_check_registration(dialect, body)
    if fault == "no_client_id":
        return 200, dict(body)  # a broken LMS: "registered", but no client id (and nothing kept)
    client_id = "dr-" + secrets.token_hex(8)
    if fault == "repeat_client":
        with STATE.lock:
            previous = [r for r in STATE.dr_registrations if r["dialect"] == dialect]
        if not previous:
            return 400, {"error": "invalid_request", "error_description": "no previous registration to repeat"}
        return 200, dict(body, client_id=previous[-1]["client_id"])
    with STATE.lock:
        STATE.dr_seq += 1
        deployment_id = f"{dialect}-deployment-{STATE.dr_seq}"
        tool_url = origin_of(body["jwks_uri"])
        STATE.client_tools[client_id] = tool_url
        STATE.dr_registrations.append({
            "client_id": client_id, "deployment_id": deployment_id, "dialect": dialect, "tool_url": tool_url,
            "name": str(body["client_name"])[:100], "time": time.time(), "request": body})
    answer = dict(body, client_id=client_id)
    if dialect == "moodle":
        # Moodle answers the deployment id (the tool type's id) in the tool configuration
        answer["https://purl.imsglobal.org/spec/lti-tool-configuration"] = dict(
            body["https://purl.imsglobal.org/spec/lti-tool-configuration"], deployment_id=deployment_id)
    return 200, answer


def dialect_for(path: str, what: str) -> t.Optional[str]:
    """The dialect whose ``what`` path (config, register) this is."""
    return next((d for d, p in DR_PATHS.items() if p[what] == path), None)


def dr_registration(client_id: str) -> t.Optional[t.Dict[str, t.Any]]:
    with STATE.lock:
        return next((dict(r) for r in STATE.dr_registrations if r["client_id"] == client_id), None)


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

CSS = """
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1f2933;background:#f4f6f8}header{background:#1d3557;color:#fff;padding:12px 24px;display:flex;
align-items:center;gap:14px}header .logo{font-weight:700;font-size:18px;letter-spacing:.3px}
header .iss{margin-left:auto;font-size:12px;opacity:.75}main{max-width:1200px;margin:20px auto;padding:0 20px}
.card{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:16px 20px;margin-bottom:18px}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:0 0 10px}
form.launch{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end}
label{display:flex;flex-direction:column;font-size:12px;font-weight:600;color:#52606d;gap:4px}
select,input{font:inherit;padding:6px 8px;border:1px solid #cbd2d9;border-radius:5px;min-width:150px;background:#fff}
button{font:inherit;font-weight:600;background:#e63946;color:#fff;border:0;border-radius:5px;padding:8px 22px;cursor:pointer}
.meta{font-size:13px;color:#52606d;margin:0 0 10px}.meta b{color:#1f2933}
iframe.tool{width:100%;min-height:800px;height:800px;border:1px solid #cbd2d9;border-radius:6px;background:#fff}
code{background:#eef2f6;padding:1px 4px;border-radius:3px;font-size:12px}
ul.items li{margin:4px 0}
"""


def page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{CSS}</style></head>"
            f"<body><header><span class=logo>Local LMS</span><span>LTI 1.3 test platform</span>"
            f"<span class=iss>issuer {html.escape(STATE.issuer)}</span></header><main>{body}</main>"
            f"</body></html>").encode()


def options(choices: t.Dict[str, str], selected: str) -> str:
    return "".join(f"<option value='{html.escape(k)}'{' selected' if k == selected else ''}>"
                   f"{html.escape(v)}</option>" for k, v in choices.items())


def home_page(query: t.Dict[str, str]) -> bytes:
    course = query.get("course", "bio101")
    user = query.get("user", "ada")
    role = query.get("role", "Instructor")
    placement = query.get("placement", "mymedia")
    client = query.get("client", "")
    with STATE.lock:
        registered = [dict(r) for r in STATE.dr_registrations]
    clients = {"": f"seeded registration (client {STATE.client_id})"}
    clients.update({r["client_id"]: f"Dynamic Registration, {r['dialect']} (client {r['client_id']})" for r in registered})
    form = (
        "<div class=card><h1>Launch a tool</h1><form class=launch method=get action='/'>"
        f"<label>Course<select name=course>{options({k: c['label'] + ' ' + c['title'] for k, c in COURSES.items()}, course)}</select></label>"
        f"<label>User<select name=user>{options({k: u['name'] for k, u in USERS.items()}, user)}</select></label>"
        f"<label>Role<select name=role>{options({k: v[0] for k, v in ROLE_CHOICES.items()}, role)}</select></label>"
        f"<label>Placement<select name=placement>{options({k: v[0] for k, v in PLACEMENTS.items()}, placement)}</select></label>"
        + (f"<label>Tool registration<select name=client>{options(clients, client)}</select></label>" if registered else "")
        + "<input type=hidden name=launch value=1><button type=submit>Launch</button></form>"
        "<p class=meta>New tool? <a href='/dr'>Register a tool with LTI Dynamic Registration</a>.</p></div>")
    frame = ("<div class=card><p class=meta>Pick a course, a user with a role and a tool placement, then "
             "<b>Launch</b>: the tool opens below, inside the course page.</p></div>")
    if query.get("launch"):
        choice: t.Dict[str, t.Any] = {"course": course, "user": user, "role": role, "placement": placement}
        reg = dr_registration(client) if client else None
        if reg:
            choice.update(client_id=reg["client_id"], deployment_id=reg["deployment_id"], tool_url=reg["tool_url"])
        info = create_launch(choice)
        spec = info["spec"]
        name = "lti-tool-" + secrets.token_hex(6)
        c = spec["course"]
        frame = (
            f"<div class=card><h2>{html.escape(c['label'] + ' ' + c['title'])} &middot; "
            f"{html.escape(PLACEMENTS[placement][0])}</h2>"
            f"<p class=meta>Signed in as <b>{html.escape(spec['user']['name'])}</b> &middot; "
            f"{html.escape(ROLE_CHOICES[role][0])} &middot; message <code>{html.escape(spec['message_type'])}</code>"
            f" &middot; deployment <code>{html.escape(spec['deployment_id'])}</code></p>"
            f"<iframe class=tool name='{name}' title='{html.escape(PLACEMENTS[placement][0])}' "
            f"src='{html.escape(info['login_url'])}' "
            "allow='autoplay; fullscreen; encrypted-media; picture-in-picture'></iframe></div>")
    return page("Local LMS", form + frame)


DR_PAGE_SCRIPT = """
const cfg = JSON.parse(document.getElementById('dr-config').textContent);
window.addEventListener('message', (event) => {
  if (event.origin !== cfg.toolOrigin) return;
  const data = typeof event.data === 'string' ? (() => { try { return JSON.parse(event.data); } catch (_) { return null; } })() : event.data;
  if (!data || data.subject !== 'org.imsglobal.lti.close') return;
  document.getElementById('dr-status').textContent = 'The tool finished registering. Closing…';
  location.href = '/dr?done=1';
});
"""


def dr_page(query: t.Dict[str, str]) -> bytes:
    """GET /dr[?url=..][&dialect=..&go=1]: register a tool by LTI Dynamic Registration, as an LMS
    admin does: paste the tool's registration URL (from its admin API, POST /lti/invitations;
    ``url`` prefills it), pick the LMS dialect, press Register (``go=1``), and the tool's page
    opens below with openid_configuration and registration_token; when it posts
    org.imsglobal.lti.close the page lists the new registration, ready to launch."""
    url = query.get("url", "").strip()
    dialect = query.get("dialect", "moodle")
    with STATE.lock:
        registered = [dict(r) for r in STATE.dr_registrations]
    rows = "".join(
        f"<li><code>{html.escape(r['client_id'])}</code> ({html.escape(r['dialect'])}, deployment "
        f"<code>{html.escape(r['deployment_id'])}</code>) &middot; <a href='/?client={html.escape(r['client_id'])}'>"
        "launch with it</a></li>" for r in reversed(registered))
    listing = (f"<div class=card><h2>Registered tools</h2><ul class=items>{rows}</ul></div>" if registered else "")
    done = ("<div class=card><p class=meta role=status>The tool is registered.</p></div>"
            if query.get("done") else "")
    form = (
        "<div class=card><h1>Register a tool (LTI Dynamic Registration)</h1>"
        "<form class=launch method=get action='/dr'>"
        f"<label>Tool registration URL<input name=url type=url required size=60 value='{html.escape(url)}'></label>"
        f"<label>LMS dialect<select name=dialect>{options({'moodle': 'Moodle', 'canvas': 'Canvas'}, dialect)}</select></label>"
        "<input type=hidden name=go value=1><button type=submit>Register</button></form>"
        "<p class=meta>Get a registration URL from the tool's admin API: "
        "<code>POST /lti/invitations</code>.</p></div>")
    if not url or not query.get("go"):
        return page("Local LMS · Dynamic Registration", done + form + listing)
    p = urlparse(url)
    if p.scheme not in ("http", "https") or not p.netloc:
        raise BadRequest("invalid_request", "url must be an http(s) URL")
    started = dr_start(dialect)
    params = urlencode({"openid_configuration": started["openid_configuration"],
                        "registration_token": started["registration_token"]})
    src = url + ("&" if p.query else "?") + params
    cfg = json.dumps({"toolOrigin": origin_of(url)}).replace("<", "\\u003c")
    body = (form + "<div class=card><p class=meta id=dr-status role=status>The tool's registration page is below; "
            "finish there.</p>"
            f"<iframe class=tool title='Tool registration' src='{html.escape(src)}'></iframe></div>"
            f"<script type=application/json id=dr-config>{cfg}</script><script>{DR_PAGE_SCRIPT}</script>" + listing)
    return page("Local LMS · Dynamic Registration", body)


def auto_post_form(action: str, fields: t.Dict[str, str]) -> bytes:
    inputs = "".join(f"<input type=hidden name='{html.escape(k)}' value='{html.escape(v)}'>"
                     for k, v in fields.items())
    return (f"<!doctype html><html><head><meta charset=utf-8><title>Launching&hellip;</title></head>"
            f"<body onload='document.forms[0].submit()' style='font:14px system-ui;color:#52606d'>"
            f"<form method=post action='{html.escape(action)}'>{inputs}"
            f"<noscript><button type=submit>Continue</button></noscript></form></body></html>").encode()


# The embed kit (web/pkg, built from crates/lti-embed), served same-origin at /kit/ for the
# course page that embeds the tool through it (/embed-host). --kit-dir overrides the folder.
KIT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "web", "pkg")
KIT_FILES = {"lti_embed.js": "text/javascript; charset=utf-8", "lti_embed_bg.wasm": "application/wasm"}
EMBED_HOST_PARAMS = ("course", "user", "role", "placement", "lti_storage_target", "kit")

EMBED_HOST_SCRIPT = """
const cfg = JSON.parse(document.getElementById('lms-embed').textContent);
const { default: init, Embed } = await import('/kit/lti_embed.js');
await init();
const options = { url: cfg.url, allowedOrigins: [cfg.toolOrigin], title: cfg.title };
if (cfg.storageFrame) options.storageFrame = cfg.storageFrame;
const embed = new Embed(document.getElementById('tool-slot'), options);
const events = [];
for (const ev of ['resize', 'message', 'dropped']) embed.on(ev, (detail) => events.push({ event: ev, detail }));
window.lms = { embed, events };
document.body.dataset.ready = 'true';
"""


def embed_host_page(query: t.Dict[str, str]) -> bytes:
    """GET /embed-host?course=..&user=..&role=..&placement=..[&lti_storage_target=..][&kit=0]: a
    course page that embeds the tool through the embed kit (served from /kit/): the kit's Embed
    loads the tool's OIDC login initiation (with ``lti_storage_target`` when given) in its iframe
    and answers LTI Platform Storage (``lti.capabilities``, ``lti.put_data``, ``lti.get_data``)
    for the tool's origin — in this window for ``_parent``, in a hidden frame of that name
    otherwise. ``kit=0``: a plain iframe and no script, so nobody answers storage. The page sets
    ``data-ready`` on <body> once the tool frame exists; ``window.lms`` = {embed, events}."""
    unknown = sorted(k for k in query if k not in EMBED_HOST_PARAMS)
    if unknown:
        raise BadRequest("invalid_request", f"unknown parameter(s): {', '.join(unknown)}")
    kit = query.get("kit", "1") not in ("0", "false", "no")
    target = query.get("lti_storage_target") or None
    choice = {k: query[k] for k in ("course", "user", "role", "placement") if query.get(k)}
    if target:
        choice["lti_storage_target"] = target
    info = create_launch(choice)
    spec = info["spec"]
    placement = spec["placement"]
    title = PLACEMENTS[placement][0]
    c = spec["course"] or {"label": "Site", "title": ""}
    storage = ("none" if not target else ("this window (_parent)" if target == "_parent"
                                          else f"frame {target}")) + (" · embed kit" if kit else " · no embed kit")
    head = (f"<div class=card><h2>{html.escape(c['label'] + ' ' + c['title'])} &middot; {html.escape(title)}</h2>"
            f"<p class=meta>Signed in as <b>{html.escape(spec['user']['name'])}</b> &middot; platform storage: "
            f"<code id=storage-mode>{html.escape(storage)}</code></p>")
    if kit:
        cfg = {"url": info["login_url"], "toolOrigin": origin_of(spec["tool_url"]), "title": title,
               "storageFrame": target if target and target != "_parent" else None}
        data = json.dumps(cfg).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        body = (head + "<div id=tool-slot></div></div>"
                f"<script type=application/json id=lms-embed>{data}</script>"
                f"<script type=module>{EMBED_HOST_SCRIPT}</script>")
    else:
        name = "lti-tool-" + secrets.token_hex(6)
        body = (head + f"<div id=tool-slot><iframe class=tool name='{name}' title='{html.escape(title)}' "
                f"src='{html.escape(info['login_url'])}'></iframe></div></div>")
    out = page("Local LMS", body)
    if not kit:
        out = out.replace(b"<body>", b"<body data-ready=true>", 1)
    return out


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server_version = "LocalLMS/0.1"
    protocol_version = "HTTP/1.1"
    quiet = False

    def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002
        if not self.quiet:
            sys.stderr.write("[platform] %s %s\n" % (self.address_string(), format % args))

    # -- helpers -----------------------------------------------------------------------------
    def send(self, status: int, body: bytes, ctype: str, headers: t.Optional[t.Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", (headers or {}).pop("Cache-Control", "no-store"))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, obj: t.Any, headers: t.Optional[t.Dict[str, str]] = None) -> None:
        self.send(status, json.dumps(obj).encode(), "application/json", headers)

    def send_chunked(self, status: int, ctype: str, prefix: bytes, total: int, suffix: bytes,
                     headers: t.Optional[t.Dict[str, str]] = None) -> None:
        """An answer streamed with Transfer-Encoding: chunked and no Content-Length: ``prefix``,
        ASCII ``x`` filler, ``suffix`` (together ``total`` bytes, so a reader that reads it all
        gets valid JSON). Recorded in STATE.streams: sent bytes, whether the reader took it all
        (complete) or went away first (error)."""
        record: t.Dict[str, t.Any] = {"path": self.path, "total": total, "sent": 0, "complete": False,
                                      "error": None, "time": time.time()}
        with STATE.lock:
            STATE.streams.append(record)
            del STATE.streams[:-200]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True
        filler = max(0, total - len(prefix) - len(suffix))
        piece = b"x" * 65536

        def chunks() -> t.Iterator[bytes]:
            yield prefix
            left = filler
            while left > 0:
                n = min(left, len(piece))
                yield piece[:n]
                left -= n
            yield suffix

        try:
            self.connection.settimeout(20)  # a reader that stopped reading: give up, bounded
            for c in chunks():
                if c:
                    self.wfile.write(b"%x\r\n" % len(c) + c + b"\r\n")
                    record["sent"] += len(c)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            record["complete"] = True
        except OSError as exc:
            record["error"] = repr(exc)

    def wants_json(self) -> bool:
        return "application/json" in (self.headers.get("Accept") or "")

    def send_error_page(self, exc: BadRequest) -> None:
        if self.wants_json():
            self.send_json(exc.status, {"error": exc.error, "error_description": exc.description})
        else:
            body = page("Error", f"<div class=card><h1>Request refused</h1><p><code>{html.escape(exc.error)}</code> "
                        f"{html.escape(exc.description)}</p></div>")
            self.send(exc.status, body, "text/html; charset=utf-8")

    def read_body(self) -> t.Tuple[t.Dict[str, t.Any], t.Any]:
        """Returns (form-or-empty, json-or-None)."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise BadRequest("invalid_request", "body too large", 413)
        raw = self.rfile.read(length) if length else b""
        self.raw_body = raw  # exactly as received (Basic Outcomes checks its oauth_body_hash)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/json" or (ctype.startswith("application/") and ctype.endswith("+json")):
            try:
                return {}, json.loads(raw or b"null")
            except ValueError as exc:
                raise BadRequest("invalid_request", "body is not JSON") from exc
        if raw:
            return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)), None
        return {}, None

    # -- dispatch ----------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_HEAD(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def dispatch(self, method: str) -> None:
        STATE.log_request(self.command, self.path)
        url = urlparse(self.path)
        path = url.path
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            form, body = self.read_body() if method in ("POST", "PUT") else ({}, None)
            if path == "/" and method == "GET":
                self.send(200, home_page(query), "text/html; charset=utf-8")
            elif path == "/launch":
                self.handle_launch_redirect(query if method == "GET" else {**query, **form})
            elif path in AUTH_ALIASES:
                params = query if method == "GET" else {**query, **form}
                result = authorize(params, method)
                if self.wants_json():
                    self.send_json(200, result)
                else:
                    self.send(200, auto_post_form(result["action"], {"id_token": result["id_token"],
                                                                    "state": result["state"]}),
                              "text/html; charset=utf-8")
            elif is_jwks_path(path) and method == "GET":
                self.handle_jwks()
            elif is_token_path(path) and method == "POST":
                self.handle_token(form, path)
            elif dialect_for(path, "config") and method == "GET":
                self.handle_dr_configuration(dialect_for(path, "config"), query)
            elif dialect_for(path, "register") and method == "POST":
                status, answer = dr_register(dialect_for(path, "register"), query.get("fault"),
                                             self.headers.get("Authorization"), body)
                self.send_json(status, answer)
            elif path == "/dr" and method == "GET":
                self.send(200, dr_page(query), "text/html; charset=utf-8")
            elif path == "/deep-link-return" and method == "POST":
                self.handle_deep_link_return(form)
            elif path == "/embed-host" and method == "GET":
                self.send(200, embed_host_page(query), "text/html; charset=utf-8")
            elif path.startswith("/kit/") and method == "GET":
                self.handle_kit(path[len("/kit/"):])
            elif path == "/launch-return":
                self.send(200, page("Back in the LMS", "<div class=card><h1>Back in the LMS</h1>"
                                    "<p>The tool returned control to the course.</p></div>"),
                          "text/html; charset=utf-8")
            elif path.startswith("/api/courses/"):
                self.handle_service(method, path, query, body)
            elif path.startswith("/outcomes/"):
                self.handle_outcomes(method, path)
            elif path.startswith("/caliper/"):
                CALIPER.handle(self, method, path, body, STATE.issuer)
            elif path.startswith("/__control/caliper/"):
                if not CALIPER.control(self, method, path[len("/__control/"):], query, body, STATE.issuer):
                    self.send_json(404, {"error": "not_found", "error_description": f"no route {method} {path}"})
            elif path.startswith("/__control/"):
                self.handle_control(method, path, query, body)
            else:
                self.send_json(404, {"error": "not_found", "error_description": f"no route {method} {path}"})
        except BadRequest as exc:
            self.send_error_page(exc)
        except Exception as exc:  # pragma: no cover - keeps the server alive and visible
            import traceback
            traceback.print_exc()
            self.send_json(500, {"error": "server_error", "error_description": repr(exc)})

    # -- endpoints ---------------------------------------------------------------------------
    def handle_launch_redirect(self, params: t.Dict[str, str]) -> None:
        """GET/POST /launch?course=..&user=..&role=..&placement=..[&lti_storage_target=..]: start
        the OIDC flow directly — a 302 to the tool's login URL with iss, login_hint,
        target_link_uri, lti_message_hint, client_id, lti_deployment_id, exactly the URL the home
        page's iframe loads (same create_launch). For host pages that embed the tool themselves
        (web/demo), by URL or by a form posted into their iframe."""
        allowed = ("course", "user", "role", "placement", "lti_storage_target")
        unknown = sorted(k for k in params if k not in allowed)
        if unknown:
            raise BadRequest("invalid_request", f"unknown launch parameter(s): {', '.join(unknown)}")
        info = create_launch({k: v for k, v in params.items() if v != ""})
        self.send(302, b"", "text/plain; charset=utf-8",
                  {"Location": info["login_url"], "Referrer-Policy": "no-referrer"})

    def handle_kit(self, name: str) -> None:
        """GET /kit/<file>: the embed kit's module and wasm (only those two files)."""
        ctype = KIT_FILES.get(name)
        file = os.path.join(KIT_DIR, name)
        if ctype is None or not os.path.isfile(file):
            self.send_json(404, {"error": "not_found", "error_description": f"no kit file {name!r} (build web/pkg)"})
            return
        with open(file, "rb") as f:
            self.send(200, f.read(), ctype, {"X-Content-Type-Options": "nosniff"})

    def handle_jwks(self) -> None:
        STATE.bump("jwks")
        with STATE.lock:
            status, cache_control = STATE.jwks_status, STATE.jwks_cache_control
            hang, oversized = STATE.jwks_hang, STATE.jwks_oversized
        if hang > 0:
            STATE.jwks_release.wait(timeout=hang)  # until released or the hang is over
        if oversized and status == 200:
            body = json.dumps(LocalPlatformConf(state=STATE).get_jwks()).encode()
            self.send_chunked(200, "application/json", body[:-1] + b', "padding": "', oversized, b'"}',
                              {"Cache-Control": cache_control})
            return
        if status != 200:
            self.send_json(status, {"error": "jwks_unavailable", "error_description": "forced by test control"})
            return
        conf = LocalPlatformConf(state=STATE)
        self.send_json(200, conf.get_jwks(), {"Cache-Control": cache_control})

    def handle_dr_configuration(self, dialect: str, query: t.Dict[str, str]) -> None:
        """GET the OpenID configuration of a dialect (Canvas: only with a registration token as
        bearer), with the test fault named in ``?fault=``."""
        fault = query.get("fault")
        if fault is not None and fault not in DR_FAULTS:
            raise BadRequest("invalid_request", f"fault must be one of {', '.join(DR_FAULTS)}")
        if dialect == "canvas" and dr_bearer(self.headers.get("Authorization"), dialect, consume=False) is None:
            self.send_json(401, {"error": "invalid_token", "error_description": "registration token required"})
        elif fault == "http_500":
            self.send_json(500, {"error": "server_error", "error_description": "forced by test control"})
        elif fault == "not_json":
            self.send(200, b"<html><body>Moodle maintenance</body></html>", "text/html; charset=utf-8")
        elif fault == "redirect":
            self.send(302, b"", "text/plain", {"Location": "http://lms.example.test/openid-configuration"})
        else:
            self.send_json(200, dr_configuration(dialect, fault))

    def handle_token(self, form: t.Dict[str, str], path: str = "/token") -> None:
        """Client credentials (the library validates the assertion and signs the token). Granted
        scopes = requested ∩ the platform's allowed set (faults ``granted_scopes``); ``expires_in``
        from faults (default 3600); faults ``token_statuses``/``token_status`` answer first."""
        assertion = form.get("client_assertion", "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            STATE.bump("token")
            self.send_json(400, {"error": "invalid_request", "error_description": "client_assertion is not a JWT"})
            return
        client_id = str(unverified.get("iss") or unverified.get("sub") or "")
        STATE.bump("token", client_id)
        record: t.Dict[str, t.Any] = {
            "client_id": client_id, "time": time.time(), "scope": form.get("scope"),
            "grant_type": form.get("grant_type"), "client_assertion_type": form.get("client_assertion_type"),
            "assertion_header": jwt.get_unverified_header(assertion), "assertion_claims": unverified,
            "content_type": self.headers.get("Content-Type"), "status": None}
        with STATE.lock:
            STATE.token_requests.append(record)
            del STATE.token_requests[:-500]
        forced = STATE.take_token_status(client_id)
        if forced is not None:
            record["status"] = forced
            error = {400: "invalid_request", 401: "invalid_client", 403: "unauthorized_client"}.get(
                forced, "server_error" if forced >= 500 else "invalid_request")
            self.send_json(forced, {"error": error, "error_description": "forced by test control"})
            return
        record["status"] = 400  # until granted below
        aud = unverified.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        token_url = STATE.issuer + path  # the token URL as the tool reached it (LMS paths too)
        if token_url not in auds and STATE.issuer not in auds:
            # lti1p3platform does not check aud: check it here
            self.send_json(400, {"error": "invalid_client", "error_description": "aud must name the token endpoint"})
            return
        allowed = STATE.fault("granted_scopes", client_id)
        allowed = list(LTI_1P3_ACCESS_TOKEN_SCOPES) if allowed is None else list(allowed)
        if "scope" in form:
            requested = form["scope"].split()
            granted = [x for x in requested if x in allowed]
            if requested and not granted:
                self.send_json(400, {"error": "invalid_scope",
                                     "error_description": "none of the requested scopes is granted"})
                return
            form = dict(form, scope=" ".join(granted))
        conf = LocalPlatformConf(state=STATE, client_id=client_id,
                                 tool_url=STATE.tool_for_client(client_id))
        try:
            answer = dict(conf.get_access_token(form))
        except lti_exceptions.UnsupportedGrantType:
            self.send_json(400, {"error": "unsupported_grant_type"})
            return
        except (lti_exceptions.MissingRequiredClaim, lti_exceptions.LtiException, jwt.PyJWTError) as exc:
            self.send_json(400, {"error": "invalid_client", "error_description": str(exc)})
            return
        ttl = STATE.fault("expires_in", client_id)
        if ttl is not None and int(ttl) != answer["expires_in"]:
            answer["access_token"] = mint_access_token(client_id, answer["scope"], int(ttl))
            answer["expires_in"] = int(ttl)
        record.update(status=200, granted=answer["scope"])
        self.send_json(200, answer)

    def handle_deep_link_return(self, form: t.Dict[str, str]) -> None:
        STATE.bump("deep_link_return")
        token = form.get("JWT", "")
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise BadRequest("invalid_request", "JWT form field missing or malformed")
        client_id = str(unverified.get("iss") or "")
        conf = LocalPlatformConf(state=STATE, client_id=client_id,
                                 tool_url=STATE.tool_for_client(client_id))
        try:
            items = conf.validate_deeplinking_resp({"JWT": token})
        except (lti_exceptions.LtiException, lti_exceptions.LtiDeepLinkingResponseException,
                jwt.PyJWTError) as exc:
            raise BadRequest("invalid_request", f"deep linking response rejected: {exc}")
        if unverified.get("aud") != STATE.issuer and STATE.issuer not in (unverified.get("aud") or []):
            raise BadRequest("invalid_request", "deep linking response aud is not this platform")
        record = {"client_id": client_id, "items": items, "claims": unverified}
        with STATE.lock:
            STATE.deep_link_returns.append(record)
        if self.wants_json():
            self.send_json(200, {"content_items": items})
            return
        lis = "".join(f"<li><b>{html.escape(str(i.get('type')))}</b> {html.escape(str(i.get('title') or i.get('url') or ''))}</li>"
                      for i in items) or "<li>(nothing selected)</li>"
        self.send(200, page("Content added", f"<div class=card><h1>Content added to the course</h1>"
                            f"<ul class=items>{lis}</ul></div>"), "text/html; charset=utf-8")

    # -- LTI 1.1 Basic Outcomes --------------------------------------------------------------
    def handle_outcomes(self, method: str, path: str) -> None:
        """POST /outcomes/<course id>: the course's Basic Outcomes service (IMS POX XML, OAuth
        1.0a in the Authorization header with oauth_body_hash), see handle_outcome_request."""
        course_id = path[len("/outcomes/"):]
        if method != "POST" or not course_id or "/" in course_id:
            self.send_json(405 if course_id else 404, {"error": "method_not_allowed" if course_id else "not_found"})
            return
        headers = {k: v for k, v in self.headers.items()}
        status, body, ctype = handle_outcome_request(STATE.issuer + self.path, course_id, headers,
                                                     getattr(self, "raw_body", b""))
        self.send(status, body, ctype)

    # -- LTI Advantage services (AGS, NRPS) ---------------------------------------------------
    def send_service_error(self, status: int, error: str, description: str) -> None:
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = f'Bearer error="{error}"'
        self.send_json(status, {"error": error, "error_description": description}, headers)

    def handle_service(self, method: str, path: str, query: t.Dict[str, str], body: t.Any) -> None:
        """/api/courses/<course>/memberships (NRPS) and /api/courses/<course>/lineitems[/<n>
        [/scores|/results]] (AGS). The bearer token is checked by the library's service
        connector; a valid token without the operation's scope answers 403 insufficient_scope."""
        parts = path[len("/api/courses/"):].split("/")
        course = STATE.course(parts[0]) if parts and parts[0] else None
        kind = parts[1] if len(parts) > 1 else ""
        auth = (self.headers.get("Authorization") or "").split()
        token = auth[1] if len(auth) == 2 and auth[0].lower() == "bearer" else ""
        try:
            client_id = str(jwt.decode(token, options={"verify_signature": False}).get("sub") or "") or None
        except jwt.PyJWTError:
            client_id = None
        STATE.bump("nrps" if kind == "memberships" else "ags", client_id)
        if course is None or kind not in ("memberships", "lineitems"):
            self.send_json(404, {"error": "not_found", "error_description": f"no service at {path}"})
            return
        # page/limit as integers (the library adds 1 to page for its next links)
        get_data: t.Dict[str, t.Any] = dict(query)
        for name in ("page", "limit"):
            if name in get_data:
                try:
                    get_data[name] = int(get_data[name])
                except ValueError:
                    self.send_json(400, {"error": "invalid_request", "error_description": f"{name} must be an integer"})
                    return
                if not 1 <= get_data[name] <= (MAX_PAGE_SIZE if name == "limit" else 10 ** 6):
                    self.send_json(400, {"error": "invalid_request", "error_description": f"{name} out of range"})
                    return
        req = LocalRequest({"method": method, "get_data": get_data, "form_data": {},
                            "headers": {"Authorization": self.headers.get("Authorization", "")},
                            "content_type": self.headers.get("Content-Type"), "path": path,
                            "json": body})
        conf = LocalPlatformConf(state=STATE)
        try:
            # the library's token check (signature by the platform key, iss, exp), scopes aside
            if not token or not conf.validate_token(token):
                raise lti_exceptions.LtiException("invalid token")
        except (lti_exceptions.LtiException, jwt.PyJWTError) as exc:
            self.send_service_error(401, "invalid_token", f"access token rejected: {exc}")
            return
        if STATE.take_service_401(client_id):
            self.send_service_error(401, "invalid_token", "forced by test control (service_401_once)")
            return
        forced = STATE.fault("nrps_status" if kind == "memberships" else "ags_status", client_id)
        if forced:
            self.send_json(int(forced), {"error": "server_error" if forced >= 500 else "forced",
                                         "error_description": "forced by test control"})
            return
        if kind == "memberships":
            self.handle_nrps(path, course, req, get_data, client_id)
        else:
            self.handle_ags(method, parts, course, req, body, client_id)

    def handle_nrps(self, path: str, course: t.Dict[str, str], req: LocalRequest,
                    get_data: t.Dict[str, t.Any], client_id: t.Optional[str]) -> None:
        if req.method != "GET":
            self.send_json(405, {"error": "method_not_allowed"})
            return
        url = STATE.issuer + path
        if "limit" not in get_data:
            get_data["limit"] = NRPS_PAGE_SIZE  # the library pages only when limit is present
        page = int(get_data.get("page", 1))
        service = LocalNRPS(req, LocalPlatformConf(state=STATE), course, url)
        resp = service.handle_resp(service.handle_get_members)
        if resp.code == 401:  # the token verified above: what is missing is the scope
            self.send_service_error(403, "insufficient_scope", f"the token lacks {NRPS_SCOPE}")
            return
        if resp.code != 200:
            self.send_json(resp.code, {"error": resp.message})
            return
        result = dict(resp.result)
        links = []
        nxt = result.get("next")
        forced_next = STATE.fault("nrps_next", client_id)
        if forced_next and page == 1:
            nxt = forced_next
            result["next"] = nxt
        if STATE.fault("nrps_loop", client_id):
            # the last page (or page 3) points back to an earlier page
            if not nxt or page >= 3:
                back = dict(get_data, page=max(page - 1, 2) if page >= 2 else 1)
                nxt = f"{url}?{urlencode(back)}"
                result["next"] = nxt
        if nxt:
            links.append(f'<{nxt}>; rel="next"')
        with STATE.lock:
            version = STATE.roster(course["id"])["version"]
        links.append(f'<{url}?{urlencode({"since": version})}>; rel="differences"')
        headers = {"Link": ", ".join(links)}
        if STATE.fault("nrps_malformed", client_id):
            self.send(200, b"<!doctype html><title>Maintenance</title>members: [oops",
                      resp.media_type, headers)
            return
        raw = json.dumps(result).encode()
        big = STATE.fault("service_oversized", client_id)
        if big:
            self.send_chunked(200, resp.media_type, raw[:-1] + b', "padding": "', int(big), b'"}', headers)
            return
        if STATE.fault("nrps_oversized", client_id):
            filler = {"user_id": "filler", "roles": [ROLE_LEARNER], "status": "Active",
                      "name": "x" * 1000}
            one = len(json.dumps(filler)) + 2
            result["members"] = list(result["members"]) + [
                dict(filler, user_id=f"filler-{i}") for i in range(OVERSIZED_BYTES // one + 1)]
            raw = json.dumps(result).encode()
        self.send(200, raw, resp.media_type, headers)

    def handle_ags(self, method: str, parts: t.List[str], course: t.Dict[str, str],
                   req: LocalRequest, body: t.Any, client_id: t.Optional[str]) -> None:
        rest = parts[2:]
        n: t.Optional[int] = None
        if rest:
            try:
                n = int(rest[0])
            except ValueError:
                self.send_json(404, {"error": "not_found", "error_description": "no such line item"})
                return
        sub = rest[1] if len(rest) > 1 else ""
        if len(rest) > 2 or sub not in ("", "scores", "results"):
            self.send_json(404, {"error": "not_found"})
            return
        read = [AGS_SCOPE_LINEITEM, AGS_SCOPE_LINEITEM_RO]
        write = [AGS_SCOPE_LINEITEM]
        route: t.Dict[t.Tuple[bool, str, str], t.Tuple[t.List[str], str]] = {
            (False, "", "GET"): (read, "handle_get_lineitems"),
            (False, "", "POST"): (write, "handle_create_lineitem"),
            (True, "", "GET"): (read, "handle_get_lineitem"),
            (True, "", "PUT"): (write, "handle_update_lineitem"),
            (True, "", "DELETE"): (write, "handle_delete_lineitem"),
            (True, "scores", "POST"): ([AGS_SCOPE_SCORE], "handle_update_score"),
            (True, "results", "GET"): ([AGS_SCOPE_RESULT_RO], "handle_get_results"),
        }
        found = route.get((n is not None, sub, method))
        if found is None:
            self.send_json(405, {"error": "method_not_allowed", "error_description": f"{method} not allowed here"})
            return
        required, handler = found
        params = {"handle_get_lineitems": ("page", "limit", "resource_link_id", "resource_id", "tag"),
                  "handle_get_results": ("page", "limit", "user_id")}.get(handler, ())
        req.request["get_data"] = {k: v for k, v in req.get_data.items() if k in params}
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if handler == "handle_update_score" and ctype != SCORE_MEDIA_TYPE:
            self.send_json(415, {"error": "unsupported_media_type",
                                 "error_description": f"scores are {SCORE_MEDIA_TYPE}, got {ctype!r}"})
            return
        if method in ("POST", "PUT") and not isinstance(body, dict):
            self.send_json(400, {"error": "invalid_request", "error_description": "send a JSON object"})
            return
        service = LocalAGS(req, LocalPlatformConf(state=STATE), course, n, required)
        service.client_id = client_id
        func = getattr(service, handler)
        resp: LtiResponse = (service.handle_resp(func) if n is None
                             else service.handle_resp(func, line_item_id=n))
        if resp.code == 401:  # the token verified above: what is missing is the scope
            self.send_service_error(403, "insufficient_scope", "the token lacks " + " or ".join(required))
            return
        if resp.code >= 400:
            self.send_json(resp.code, {"error": resp.message})
            return
        if resp.code == 204:
            self.send(204, b"", "text/plain")
            return
        headers: t.Dict[str, str] = {}
        result = resp.result
        if isinstance(result, dict) and "content" in result and "has_next" in result:
            if result.get("next"):
                headers["Link"] = f'<{result["next"]}>; rel="next"'
            result = result["content"]
        if handler == "handle_update_score":
            result = {"resultUrl": f"{STATE.lineitem_url(course['id'], t.cast(int, n))}/results/"
                                   f"{body.get('userId')}"}
            media = "application/json"
        else:
            media = resp.media_type
        if STATE.fault("ags_malformed", client_id):
            self.send(resp.code, b"<html>Gradebook temporarily unavailable", media, headers)
            return
        big = STATE.fault("service_oversized", client_id)
        if big:
            raw = json.dumps(result).encode()
            if isinstance(result, list):  # a list answer: one more (filler) element
                prefix = raw[:-1] + (b', {"padding": "' if result else b'{"padding": "')
                self.send_chunked(resp.code, media, prefix, int(big), b'"}]', headers)
            else:
                self.send_chunked(resp.code, media, raw[:-1] + b', "padding": "', int(big), b'"}', headers)
            return
        self.send(resp.code, json.dumps(result).encode(), media, headers)

    def handle_control(self, method: str, path: str, query: t.Dict[str, str], body: t.Any) -> None:
        name = path[len("/__control/"):]
        if name == "state" and method == "GET":
            with STATE.lock:
                self.send_json(200, {
                    "issuer": STATE.issuer, "kid": STATE.current.kid,
                    "previous_kid": STATE.previous.kid if STATE.previous else None,
                    "stranger_kid": STATE.stranger.kid, "published_kids": STATE.published_kids(),
                    "jwks_status": STATE.jwks_status, "jwks_hits": STATE.counters["jwks"],
                    "counters": dict(STATE.counters), "client_id": STATE.client_id,
                    "deployment_id": STATE.deployment_id, "tool_url": STATE.tool_url,
                    "deep_link_returns": len(STATE.deep_link_returns),
                    "client_counters": {k: dict(v) for k, v in STATE.client_counters.items()},
                    "faults": dict(STATE.faults),
                })
        elif name == "faults" and method == "GET":
            with STATE.lock:
                self.send_json(200, {"faults": dict(STATE.faults)})
        elif name == "faults" and method == "POST":
            self.send_json(200, {"faults": set_faults(body)})
        elif name == "access-token" and method == "POST":
            if not isinstance(body, dict):
                raise BadRequest("invalid_request", "send a JSON object")
            scope = body.get("scope", " ".join(LTI_1P3_ACCESS_TOKEN_SCOPES))
            if isinstance(scope, list):
                scope = " ".join(scope)
            ttl = int(body.get("expires_in") or ACCESS_TOKEN_TTL)
            client_id = str(body.get("client_id") or STATE.client_id)
            self.send_json(200, {"access_token": mint_access_token(client_id, str(scope), ttl),
                                 "token_type": "bearer", "expires_in": ttl, "scope": scope})
        elif name == "token-requests" and method == "GET":
            with STATE.lock:
                rows = [dict(r) for r in STATE.token_requests
                        if query.get("client_id") in (None, r["client_id"])]
            self.send_json(200, {"requests": rows})
        elif name == "scores" and method == "GET":
            with STATE.lock:
                rows = [dict(r) for r in STATE.scores
                        if query.get("client_id") in (None, r["client_id"])
                        and query.get("lineitem") in (None, r["lineitem"])
                        and query.get("course_id") in (None, r["course_id"])]
            self.send_json(200, {"scores": rows})
        elif name == "lineitems" and method == "GET":
            course_id = query.get("course_id", "")
            if STATE.course(course_id) is None:
                raise BadRequest("invalid_request", f"unknown course_id {course_id!r}", 404)
            with STATE.lock:
                items = [{"id": STATE.lineitem_url(course_id, n), **i}
                         for n, i in sorted(STATE.lineitems.get(course_id, {}).items())]
            self.send_json(200, {"lineitems": items})
        elif name == "roster" and method == "POST":
            if not isinstance(body, dict) or STATE.course(str(body.get("course_id"))) is None:
                raise BadRequest("invalid_request", "send {course_id (a known course), add?, remove?, status?}")
            self.send_json(200, STATE.change_roster(str(body["course_id"]), body))
        elif name == "requests" and method == "GET":
            try:
                since = int(query.get("since", "0"))
            except ValueError:
                raise BadRequest("invalid_request", "since must be an integer")
            prefix = query.get("prefix", "")
            with STATE.lock:
                rows = [dict(r) for r in STATE.request_log
                        if r["seq"] > since and r["path"].startswith(prefix)]
                seq = STATE.request_seq
            self.send_json(200, {"requests": rows, "seq": seq})
        elif name == "streams" and method == "GET":
            with STATE.lock:
                self.send_json(200, {"streams": [dict(r) for r in STATE.streams]})
        elif name == "rekey" and method == "POST":
            self.send_json(200, STATE.rekey_same_kid())
        elif name == "rotate" and method == "POST":
            self.send_json(200, STATE.rotate(keep_old=query.get("keep_old") in ("1", "true", "yes")))
        elif name == "jwks" and method == "POST":
            try:
                status = int(query.get("status", "200"))
            except ValueError:
                raise BadRequest("invalid_request", "status must be an integer")
            if not 100 <= status <= 599:
                raise BadRequest("invalid_request", "status out of range")
            try:
                hang = float(query["hang"]) if "hang" in query else None
                oversized = int(query["oversized"]) if "oversized" in query else None
            except ValueError:
                raise BadRequest("invalid_request", "hang (seconds) and oversized (bytes) are numbers")
            if hang is not None and not 0 <= hang <= 60:
                raise BadRequest("invalid_request", "hang: 0 to 60 seconds")
            if oversized is not None and not 0 <= oversized <= 512 * 1024 * 1024:
                raise BadRequest("invalid_request", "oversized: 0 to 512 MiB")
            with STATE.lock:
                if "status" in query or not ({"hang", "oversized"} & set(query)):
                    STATE.jwks_status = status
                if "cache_control" in query:
                    STATE.jwks_cache_control = query["cache_control"]
                if hang is not None:
                    STATE.jwks_hang = hang
                    if hang > 0:
                        STATE.jwks_release.clear()
                    else:
                        STATE.jwks_release.set()  # waiting requests answer now
                if oversized is not None:
                    STATE.jwks_oversized = oversized
                out = {"jwks_status": STATE.jwks_status, "hang": STATE.jwks_hang,
                       "oversized": STATE.jwks_oversized}
            self.send_json(200, out)
        elif name == "sign" and method == "POST":
            if not isinstance(body, dict):
                raise BadRequest("invalid_request", "send a JSON object")
            self.send_json(200, {"jwt": sign_custom(body)})
        elif name == "dr/start" and method == "POST":
            spec = body if isinstance(body, dict) else {}
            self.send_json(200, dr_start(str(spec.get("dialect", "moodle")), int(spec.get("ttl") or DR_TOKEN_TTL)))
        elif name == "dr/registrations" and method == "GET":
            with STATE.lock:
                self.send_json(200, {"registrations": [dict(r) for r in STATE.dr_registrations]})
        elif name == "launch" and method == "POST":
            if not isinstance(body, dict):
                raise BadRequest("invalid_request", "send a JSON object")
            self.send_json(200, create_launch(body))
        elif name == "lti11-consumer" and method == "POST":
            if not isinstance(body, dict) or not all(
                    isinstance(body.get(k), str) and body[k] for k in ("key", "secret")):
                raise BadRequest("invalid_request", "send {\"key\": \"...\", \"secret\": \"...\"}")
            with STATE.lock:
                STATE.lti11_consumers[body["key"]] = body["secret"]
                keys = sorted(STATE.lti11_consumers)
            self.send_json(200, {"consumers": keys})
        elif name == "outcomes" and method == "GET":
            def wanted(row: t.Dict[str, t.Any]) -> bool:
                return all(query.get(k) in (None, row.get(k)) for k in ("consumer_key", "course_id", "sourcedid"))
            with STATE.lock:
                scores = {sid: dict(v) for sid, v in STATE.outcomes.items() if wanted(dict(v, sourcedid=sid))}
                requests_seen = [dict(r) for r in STATE.outcome_requests if wanted(r)]
            self.send_json(200, {"scores": scores, "requests": requests_seen})
        elif name == "deep-link-returns" and method == "GET":
            with STATE.lock:
                self.send_json(200, {"returns": list(STATE.deep_link_returns)})
        else:
            self.send_json(404, {"error": "not_found", "error_description": f"no control {method} {name}"})


def main(argv: t.Optional[t.List[str]] = None) -> None:
    global STATE, KIT_DIR
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9001)
    ap.add_argument("--tool-url", default="http://127.0.0.1:8787")
    ap.add_argument("--client-id", default="lti-edge-local")
    ap.add_argument("--deployment-id", default="local-deployment-1")
    ap.add_argument("--kaf-paths", action="store_true",
                    help="start launches at the tool's KAF login alias /hosted/index/oidc-init")
    ap.add_argument("--quiet", action="store_true", help="no access log")
    ap.add_argument("--kit-dir", default=None, help=f"the embed kit served at /kit/ (default {KIT_DIR})")
    args = ap.parse_args(argv)
    if args.kit_dir:
        KIT_DIR = args.kit_dir
    issuer = f"http://{args.host}:{args.port}"
    STATE = PlatformState(issuer, args.tool_url, args.client_id, args.deployment_id, args.kaf_paths)
    Handler.quiet = args.quiet
    # The default listen backlog (5) refuses connections under a burst of concurrent service calls.
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"Local LMS (lti1p3platform) on {issuer} -> tool {STATE.tool_url} "
          f"client_id={args.client_id} deployment_id={args.deployment_id} kid={STATE.current.kid}",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

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
* Names and Role Provisioning: ``service_connector.NamesRoleProvisioningService``.

HTTP is the standard library's ``ThreadingHTTPServer``. Test controls live under ``/__control/``.

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from lti1p3platform import exceptions as lti_exceptions
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.service_connector import NamesRoleProvisioningService

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

NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
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
                                           "launch_created": 0, "nrps": 0}
        self.hints: t.Dict[str, t.Dict[str, t.Any]] = {}
        self.client_tools: t.Dict[str, str] = {client_id: self.tool_url}
        self.deep_link_returns: t.List[t.Dict[str, t.Any]] = []

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

    def bump(self, counter: str) -> None:
        with self.lock:
            self.counters[counter] = self.counters.get(counter, 0) + 1

    def tool_for_client(self, client_id: str) -> str:
        with self.lock:
            return self.client_tools.get(client_id, self.tool_url)


STATE: PlatformState  # set in main()


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
        self._registration = registration
        self._state = state

    def get_registration_by_params(self, **kwargs: t.Any) -> Registration:
        assert self._registration is not None
        return self._registration

    def get_jwks(self):  # type: ignore[override]
        jwks = super().get_jwks()  # the current signing key, through the library
        with self._state.lock:
            extra = list(self._state.extra_published)
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
        if spec["message_type"] == "LtiDeepLinkingRequest":
            dl = spec.get("deep_linking") or {}
            self.set_dl(f"{issuer}/deep-link-return",
                        title=dl.get("title", "Embed media"),
                        description=dl.get("text", "Choose media to embed in the course"),
                        accept_types=set(dl.get("accept_types") or ["ltiResourceLink", "link", "html"]),
                        extra_data=dl.get("data"))
        else:
            link = spec.get("resource_link")
            if link:
                self.set_resource_link_claim(link["id"], description=link.get("description"),
                                             title=link.get("title"))
            if course:
                self.set_ags(f"{issuer}/api/courses/{course['id']}/lineitems",
                             allow_creating_lineitems=True)
                self.set_nrps(f"{issuer}/api/courses/{course['id']}/memberships")
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

    def render_launch_form(self, launch_data: t.Dict[str, t.Any], **kwargs: t.Any) -> t.Dict[str, t.Any]:
        return dict(launch_data)


class LocalNRPS(NamesRoleProvisioningService):
    def __init__(self, request: Request, conf: LocalPlatformConf, course: t.Dict[str, str],
                 url: str) -> None:
        super().__init__(request, conf, url)
        self.course = course

    def get_context_by_id(self) -> Context:
        return Context(id=self.course["id"], label=self.course["label"], title=self.course["title"])

    def get_member_data_page(self, page: t.Any = 1, limit: t.Any = None, role: t.Any = None,
                             since: t.Any = None, **kwargs: t.Any):  # type: ignore[override]
        members = [
            {"user_id": USERS["ada"]["id"], "roles": [ROLE_INSTRUCTOR], "name": USERS["ada"]["name"]},
            {"user_id": USERS["alan"]["id"], "roles": [ROLE_LEARNER], "name": USERS["alan"]["name"]},
            {"user_id": USERS["grace"]["id"], "roles": [ROLE_TA], "name": USERS["grace"]["name"]},
            {"user_id": USERS["katherine"]["id"], "roles": [ROLE_LEARNER],
             "name": USERS["katherine"]["name"]},
        ]
        if role:
            members = [m for m in members if any(r == role or r.endswith("#" + role) for r in m["roles"])]
        return {"content": members, "has_next": False, "next": None}


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
    lti_storage_target, deep_linking {accept_types, title, text, data}, id_token_ttl."""
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
        "deep_linking": data.get("deep_linking") or {},
        "id_token_ttl": data.get("id_token_ttl"),
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
select{font:inherit;padding:6px 8px;border:1px solid #cbd2d9;border-radius:5px;min-width:150px;background:#fff}
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
    form = (
        "<div class=card><h1>Launch a tool</h1><form class=launch method=get action='/'>"
        f"<label>Course<select name=course>{options({k: c['label'] + ' ' + c['title'] for k, c in COURSES.items()}, course)}</select></label>"
        f"<label>User<select name=user>{options({k: u['name'] for k, u in USERS.items()}, user)}</select></label>"
        f"<label>Role<select name=role>{options({k: v[0] for k, v in ROLE_CHOICES.items()}, role)}</select></label>"
        f"<label>Placement<select name=placement>{options({k: v[0] for k, v in PLACEMENTS.items()}, placement)}</select></label>"
        "<input type=hidden name=launch value=1><button type=submit>Launch</button></form></div>")
    frame = ("<div class=card><p class=meta>Pick a course, a user with a role and a tool placement, then "
             "<b>Launch</b>: the tool opens below, inside the course page.</p></div>")
    if query.get("launch"):
        info = create_launch({"course": course, "user": user, "role": role, "placement": placement})
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


def auto_post_form(action: str, fields: t.Dict[str, str]) -> bytes:
    inputs = "".join(f"<input type=hidden name='{html.escape(k)}' value='{html.escape(v)}'>"
                     for k, v in fields.items())
    return (f"<!doctype html><html><head><meta charset=utf-8><title>Launching&hellip;</title></head>"
            f"<body onload='document.forms[0].submit()' style='font:14px system-ui;color:#52606d'>"
            f"<form method=post action='{html.escape(action)}'>{inputs}"
            f"<noscript><button type=submit>Continue</button></noscript></form></body></html>").encode()


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
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/json":
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

    def dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        path = url.path
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            form, body = self.read_body() if method == "POST" else ({}, None)
            if path == "/" and method == "GET":
                self.send(200, home_page(query), "text/html; charset=utf-8")
            elif path == "/launch":
                self.handle_launch_redirect(query if method == "GET" else {**query, **form})
            elif path == "/auth":
                params = query if method == "GET" else {**query, **form}
                result = authorize(params, method)
                if self.wants_json():
                    self.send_json(200, result)
                else:
                    self.send(200, auto_post_form(result["action"], {"id_token": result["id_token"],
                                                                    "state": result["state"]}),
                              "text/html; charset=utf-8")
            elif path == "/jwks" and method == "GET":
                self.handle_jwks()
            elif path == "/token" and method == "POST":
                self.handle_token(form)
            elif path == "/deep-link-return" and method == "POST":
                self.handle_deep_link_return(form)
            elif path == "/launch-return":
                self.send(200, page("Back in the LMS", "<div class=card><h1>Back in the LMS</h1>"
                                    "<p>The tool returned control to the course.</p></div>"),
                          "text/html; charset=utf-8")
            elif path.startswith("/api/courses/") and path.endswith("/memberships") and method == "GET":
                self.handle_nrps(path, query)
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

    def handle_jwks(self) -> None:
        STATE.bump("jwks")
        with STATE.lock:
            status, cache_control = STATE.jwks_status, STATE.jwks_cache_control
        if status != 200:
            self.send_json(status, {"error": "jwks_unavailable", "error_description": "forced by test control"})
            return
        conf = LocalPlatformConf(state=STATE)
        self.send_json(200, conf.get_jwks(), {"Cache-Control": cache_control})

    def handle_token(self, form: t.Dict[str, str]) -> None:
        STATE.bump("token")
        assertion = form.get("client_assertion", "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            self.send_json(400, {"error": "invalid_request", "error_description": "client_assertion is not a JWT"})
            return
        client_id = str(unverified.get("iss") or unverified.get("sub") or "")
        aud = unverified.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        token_url = STATE.issuer + "/token"
        if token_url not in auds and STATE.issuer not in auds:
            # lti1p3platform does not check aud: check it here
            self.send_json(400, {"error": "invalid_client", "error_description": "aud must name the token endpoint"})
            return
        conf = LocalPlatformConf(state=STATE, client_id=client_id,
                                 tool_url=STATE.tool_for_client(client_id))
        try:
            self.send_json(200, conf.get_access_token(form))
        except lti_exceptions.UnsupportedGrantType:
            self.send_json(400, {"error": "unsupported_grant_type"})
        except (lti_exceptions.MissingRequiredClaim, lti_exceptions.LtiException, jwt.PyJWTError) as exc:
            self.send_json(400, {"error": "invalid_client", "error_description": str(exc)})

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

    def handle_nrps(self, path: str, query: t.Dict[str, str]) -> None:
        STATE.bump("nrps")
        course_id = path[len("/api/courses/"):-len("/memberships")]
        course = next((c for c in COURSES.values() if c["id"] == course_id), None)
        if course is None:
            self.send_json(404, {"error": "not_found"})
            return
        conf = LocalPlatformConf(state=STATE)
        req = LocalRequest({"method": "GET", "get_data": dict(query), "form_data": {},
                            "headers": {"Authorization": self.headers.get("Authorization", "")},
                            "content_type": None, "path": path, "json": None})
        service = LocalNRPS(req, conf, course, STATE.issuer + path)
        try:
            resp = service.handle_resp(service.handle_get_members)
        except (lti_exceptions.LtiException, jwt.PyJWTError) as exc:
            self.send_json(401, {"error": "invalid_token", "error_description": str(exc)})
            return
        if resp.code != 200:
            self.send_json(resp.code, {"error": resp.message})
            return
        self.send(200, json.dumps(resp.result).encode(), resp.media_type)

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
                })
        elif name == "rotate" and method == "POST":
            self.send_json(200, STATE.rotate(keep_old=query.get("keep_old") in ("1", "true", "yes")))
        elif name == "jwks" and method == "POST":
            try:
                status = int(query.get("status", "200"))
            except ValueError:
                raise BadRequest("invalid_request", "status must be an integer")
            if not 100 <= status <= 599:
                raise BadRequest("invalid_request", "status out of range")
            with STATE.lock:
                STATE.jwks_status = status
                if "cache_control" in query:
                    STATE.jwks_cache_control = query["cache_control"]
            self.send_json(200, {"jwks_status": status})
        elif name == "sign" and method == "POST":
            if not isinstance(body, dict):
                raise BadRequest("invalid_request", "send a JSON object")
            self.send_json(200, {"jwt": sign_custom(body)})
        elif name == "launch" and method == "POST":
            if not isinstance(body, dict):
                raise BadRequest("invalid_request", "send a JSON object")
            self.send_json(200, create_launch(body))
        elif name == "deep-link-returns" and method == "GET":
            with STATE.lock:
                self.send_json(200, {"returns": list(STATE.deep_link_returns)})
        else:
            self.send_json(404, {"error": "not_found", "error_description": f"no control {method} {name}"})


def main(argv: t.Optional[t.List[str]] = None) -> None:
    global STATE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9001)
    ap.add_argument("--tool-url", default="http://127.0.0.1:8787")
    ap.add_argument("--client-id", default="lti-edge-local")
    ap.add_argument("--deployment-id", default="local-deployment-1")
    ap.add_argument("--kaf-paths", action="store_true",
                    help="start launches at the tool's KAF login alias /hosted/index/oidc-init")
    ap.add_argument("--quiet", action="store_true", help="no access log")
    args = ap.parse_args(argv)
    issuer = f"http://{args.host}:{args.port}"
    STATE = PlatformState(issuer, args.tool_url, args.client_id, args.deployment_id, args.kaf_paths)
    Handler.quiet = args.quiet
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

"""A worker without LTI_ENCRYPTION_KEY: every /lti/* endpoint (and its KAF alias) answers
503 not_configured; /version still answers."""
from __future__ import annotations

import typing as t
from urllib.parse import parse_qsl, urlencode

import pytest

from ltihelpers import JSON, Worker, assert_error, describe, http


def login_query(w: Worker) -> str:
    return urlencode({"iss": "http://127.0.0.1:9/", "login_hint": "user-1001",
                      "target_link_uri": w.base + "/hosted/index/my-media", "client_id": "c"})


@pytest.mark.parametrize("method,path,kind", [
    ("GET", "/lti/jwks", None),
    ("GET", "/hosted/index/lti-advantage-key-set", None),
    ("GET", "/lti/login", "query"),
    ("POST", "/lti/login", "form"),
    ("GET", "/hosted/index/oidc-init", "query"),
    ("POST", "/lti/launch", "launch"),
    ("POST", "/hosted/index/oauth2-launch", "launch"),
    ("GET", "/lti/config", None),
    ("GET", "/lti/session", "bearer"),
    ("GET", "/lti/platforms", "admin"),
])
def test_not_configured(worker_unconfigured: Worker, method: str, path: str,
                        kind: t.Optional[str]) -> None:
    w = worker_unconfigured
    headers = dict(JSON)
    kw: t.Dict[str, t.Any] = {}
    url = w.url(path)
    if kind == "query":
        url += "?" + login_query(w)
    elif kind == "form":
        kw["data"] = dict(parse_qsl(login_query(w)))
    elif kind == "launch":
        kw["data"] = {"id_token": "a.b.c", "state": "s"}
    elif kind == "bearer":
        headers["Authorization"] = "Bearer a.b.c"
    elif kind == "admin":
        headers["Authorization"] = f"Bearer {w.admin_token}"
    assert_error(http(method, url, headers=headers, **kw), 503, "not_configured")


def test_version_still_answers(worker_unconfigured: Worker) -> None:
    r = http("GET", worker_unconfigured.url("/version"))
    assert r.status_code == 200 and r.json()["name"] == "lti-edge", describe(r)

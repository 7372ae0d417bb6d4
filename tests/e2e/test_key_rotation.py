"""Tool key rotation (admin: /lti/keys, /lti/keys/next, /lti/keys/promote, /lti/keys/retire) and
what platforms see of it at /lti/jwks: a response signed before a promotion still verifies after
it, new signatures use the new key, a retired key leaves the key set.

Rotation changes the worker's global keys, so these tests run on a worker of their own
(``worker_rotation``); nothing else uses it.
"""
from __future__ import annotations

import re
import time
import typing as t

import jwt
import pytest

from ltihelpers import (JSON, Launched, Tenant, Worker, assert_error, assert_ok, call, describe, http)

DL_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
ITEM = {"type": "ltiResourceLink", "title": "Mitosis in 2 minutes", "entryId": "1_mitosis"}


@pytest.fixture
def rot(make_tenant: t.Callable[..., Tenant], worker_rotation: Worker) -> Tenant:
    return make_tenant(on=worker_rotation)


def keys(w: Worker) -> t.Dict[str, t.Any]:
    return assert_ok(w.admin("GET", "/lti/keys"))


def by_status(listing: t.Dict[str, t.Any], status: str) -> t.List[str]:
    return [k["kid"] for k in listing["keys"] if k["status"] == status]


def jwks_kids(w: Worker) -> t.Set[str]:
    return {k["kid"] for k in w.jwks()["keys"]}


def dl_session(t_: Tenant) -> Launched:
    return t_.launch(placement="browseembed", deep_linking={"accept_types": ["ltiResourceLink", "link"]})


def dl_response(t_: Tenant, launched: Launched) -> str:
    return assert_ok(call(t_.worker, "POST", "/lti/deep-link", launched.token, json={"contents": [ITEM]}))["jwt"]


def session_kid(listing: t.Dict[str, t.Any], kid: str) -> str:
    """The ES256 session key created with ring key `kid` (the admin listing's sessionKid)."""
    (entry,) = [k for k in listing["keys"] if k["kid"] == kid]
    assert entry.get("sessionKid"), entry
    return entry["sessionKid"]


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def platform_accepts(t_: Tenant, token: str) -> bool:
    """The platform library verifies the response with the tool's JWKS, fetched now."""
    r = http("POST", t_.platform.base + "/deep-link-return", data={"JWT": token}, headers=JSON)
    assert r.status_code in (200, 400), describe(r)
    return r.status_code == 200


def verifies(t_: Tenant, token: str) -> None:
    _h, c = t_.worker.verify_tool_jwt(token, audience=t_.platform.issuer, issuer=t_.client_id, ttl=300)
    assert c[DL_ITEMS][0]["custom"]["entry_id"] == "1_mitosis"


def step(w: Worker, name: str, body: t.Optional[t.Dict[str, t.Any]] = None) -> t.Any:
    return w.admin("POST", f"/lti/keys/{name}", json=body if body is not None else {})


def test_keys_listing_and_jwks_cache_control(worker_rotation: Worker) -> None:
    w = worker_rotation
    listing = keys(w)
    max_age = listing["jwksMaxAge"]
    assert isinstance(max_age, int) and max_age > 0, listing
    assert len(by_status(listing, "current")) == 1, listing
    for k in listing["keys"]:
        assert k["kid"] and k["status"] in ("current", "next", "retired") and k["createdAt"], k
        assert "d" not in k and "privateKey" not in k, "no private key material in the listing"
    assert set(by_status(listing, "current")) <= jwks_kids(w)
    r = http("GET", w.url("/lti/jwks"))
    assert r.status_code == 200, describe(r)
    cc = [p.strip().lower() for p in r.headers.get("Cache-Control", "").split(",")]
    assert "public" in cc and f"max-age={max_age}" in cc, r.headers.get("Cache-Control")


@pytest.mark.parametrize("method,path", [("GET", "/lti/keys"), ("POST", "/lti/keys/next"),
                                         ("POST", "/lti/keys/promote"), ("POST", "/lti/keys/retire")])
def test_key_api_is_admin_only(rot: Tenant, method: str, path: str) -> None:
    w = rot.worker
    before = keys(w)
    session = rot.launch().token
    for token in (None, "wrong-token", session, w.admin_token + "x"):
        kw: t.Dict[str, t.Any] = {"json": {"force": True}} if method == "POST" else {}
        assert_error(w.admin(method, path, token=token, **kw), 401, "admin_unauthorized")
    assert keys(w)["keys"] == before["keys"], "nothing changed"


def test_rotation_lifecycle(rot: Tenant) -> None:
    w = rot.worker
    start = keys(w)
    assert by_status(start, "next") == [], "a worker of its own: no rotation started yet"
    (k1,) = by_status(start, "current")

    # signed with the current key before anything happens
    dl = dl_session(rot)
    s1 = session_kid(start, k1)
    assert kid_of(dl.token) == s1, "session tokens are signed with the current key's session key"
    assert jwt.get_unverified_header(dl.token)["alg"] == "ES256"
    before = dl_response(rot, dl)
    assert kid_of(before) == k1
    verifies(rot, before)
    assert platform_accepts(rot, before)

    # next: published, not yet used
    nxt = assert_ok(step(w, "next"), 201)
    k2 = nxt["kid"]
    assert nxt["status"] == "next" and k2 != k1 and nxt["createdAt"], nxt
    assert {k1, k2} <= jwks_kids(w)
    listing = keys(w)
    assert by_status(listing, "current") == [k1] and by_status(listing, "next") == [k2]
    s2 = session_kid(listing, k2)
    assert s2 not in (s1, k1, k2) and {s1, s2} <= jwks_kids(w), "the next session key is published with it"
    assert_error(step(w, "next"), 409, "key_next_exists")
    assert kid_of(dl_response(rot, dl)) == k1, "a next key does not sign yet"
    assert_error(step(w, "promote"), 409, "key_next_too_new")  # published less than jwksMaxAge ago
    # an overlap shorter than the key set cache (plus token lifetimes) is refused unless forced
    err = assert_error(step(w, "promote", {"overlapSeconds": 10}), 400, "request_invalid")
    assert "overlapSeconds" in err["fields"]
    assert_error(step(w, "promote", {"overlapSeconds": "soon", "force": True}), 400, "request_invalid")
    assert by_status(keys(w), "current") == [k1]

    # promote (forced): k2 signs, k1 is retired but still published
    assert_ok(step(w, "promote", {"force": True}))
    listing = keys(w)
    assert by_status(listing, "current") == [k2] and by_status(listing, "retired") == [k1]
    assert by_status(listing, "next") == []
    retired = next(k for k in listing["keys"] if k["kid"] == k1)
    assert retired.get("retireAt"), retired
    assert {k1, k2, s1, s2} <= jwks_kids(w)
    kaf = http("GET", w.url("/hosted/index/lti-advantage-key-set"))
    assert kaf.status_code == 200 and {k["kid"] for k in kaf.json()["keys"]} == jwks_kids(w)

    verifies(rot, before)  # signed before the promotion, verifies after it
    assert platform_accepts(rot, before)
    assert_ok(call(w, "GET", "/lti/session", dl.token))  # a session signed with k1 still works
    after = dl_response(rot, dl)
    assert kid_of(after) == k2, "new signatures use the promoted key"
    verifies(rot, after)
    assert platform_accepts(rot, after)
    fresh = dl_session(rot)
    assert kid_of(fresh.token) == s2, "new sessions use the promoted key's session key"
    assert_error(step(w, "promote", {"force": True}), 409, "key_no_next")

    # retire: nothing is past its retireAt yet; the named key goes now with force
    assert assert_ok(step(w, "retire"))["removed"] == []
    assert k1 in jwks_kids(w)
    assert assert_ok(step(w, "retire", {"kid": k1, "force": True}))["removed"] == [k1]
    assert not {k1, s1} & jwks_kids(w) and {k2, s2} <= jwks_kids(w), "a key and its session key go together"
    assert k1 not in [k["kid"] for k in keys(w)["keys"]]
    with pytest.raises(AssertionError):
        verifies(rot, before)  # its kid is gone from /lti/jwks
    assert not platform_accepts(rot, before), "the platform no longer finds the retired key"
    assert_error(call(w, "GET", "/lti/session", dl.token), 401, "session_invalid")
    assert_ok(call(w, "GET", "/lti/session", fresh.token))
    assert platform_accepts(rot, after)

    # the current key is never retired
    assert_error(step(w, "retire", {"kid": k2, "force": True}), 409, "key_not_retired")
    assert k2 in jwks_kids(w) and by_status(keys(w), "current") == [k2]

    # a second rotation with a short overlap: the retired key expires and retire removes it
    k3 = assert_ok(step(w, "next"), 201)["kid"]
    assert_ok(step(w, "promote", {"force": True, "overlapSeconds": 1}))
    assert by_status(keys(w), "current") == [k3]
    time.sleep(2.2)
    assert k2 not in jwks_kids(w), "a retired key past its retireAt is no longer published"
    assert assert_ok(step(w, "retire"))["removed"] == [k2]
    assert [k["kid"] for k in keys(w)["keys"]] == [k3]
    assert jwks_kids(w) == {k3, session_kid(keys(w), k3)}
    r = http("GET", w.url("/lti/jwks"))
    assert re.search(r"max-age=\d+", r.headers.get("Cache-Control", "")), r.headers
    assert platform_accepts(rot, dl_response(rot, dl_session(rot)))


def test_operator_key_signs_everything_rs256(worker_operator_key: Worker, make_tenant: t.Any) -> None:
    """With LTI_TOOL_PRIVATE_JWK there is no key ring: that one RSA key is published and signs
    sessions (RS256) as well as what platforms verify; rotation is the operator's."""
    from conftest import OPERATOR_KID
    w = worker_operator_key
    jwks = w.jwks()["keys"]
    assert [(k["kid"], k["kty"], k["alg"]) for k in jwks] == [(OPERATOR_KID, "RSA", "RS256")], jwks
    tenant = make_tenant(on=w)
    launched = tenant.launch()  # verify_session: RS256 under the operator's kid
    assert jwt.get_unverified_header(launched.token)["kid"] == OPERATOR_KID
    assert assert_ok(call(w, "GET", "/lti/session", launched.token))["sub"] == launched.claims["sub"]
    assert_error(step(w, "next"), 400, "request_invalid")

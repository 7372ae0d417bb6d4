"""Hardening (issue 10): loopback registrations (spec §2), bodies streamed with caps and
authentication first (§3), platform key sets (§7), the smaller items (§8) and conformance
(deep-linking presentations, anonymous launches, empty roles).

The streaming tests use ``ltihelpers.stream_request``: a raw socket sends ~1 MB of a chunked body
with no Content-Length, then holds the rest and waits (bounded) for the answer, which must come
while the client still holds data. Key-set tests use a platform of their own (``fresh_platform``)
with its fault controls: ``/__control/jwks?hang=…|oversized=…`` and ``/__control/rekey``.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests

from ltihelpers import (CLAIM, JSON, Platform, Tenant, Worker, assert_error, assert_ok, call, describe,
                        http, new_course, parse_launch, post_launch, stream_request, unique)

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def reg(platform: Platform, **over: t.Any) -> t.Dict[str, t.Any]:
    b = platform.registration_body(client_id=unique("client"))
    b.update(over)
    return b


# ---------------------------------------------------------------------------------------------
# §2 loopback is exactly loopback
# ---------------------------------------------------------------------------------------------

SPOOFED = ["http://127.0.0.1.evil.example/jwks", "http://localhost.evil.example/jwks",
           "http://127.0.0.1.nip.io/jwks", "http://0x7f.0.0.1/jwks", "http://127.1/jwks"]


@pytest.mark.parametrize("url", SPOOFED)
@pytest.mark.parametrize("field", ["lti13KeysUrl", "lti13PlatformOidcAuthUrl", "lti13AuthTokenUrl"])
def test_loopback_lookalikes_are_refused(worker: Worker, platform: Platform, field: str, url: str) -> None:
    r = worker.admin("POST", "/lti/platforms", json=reg(platform, **{field: url}))
    err = assert_error(r, 400, "registration_invalid")
    assert field in (err.get("fields") or {}), err


@pytest.mark.parametrize("host", ["127.0.0.1:9", "127.5.6.7", "localhost:9", "[::1]:9"])
def test_real_loopback_stays_accepted(worker: Worker, platform: Platform, host: str) -> None:
    r = worker.admin("POST", "/lti/platforms", json=reg(platform, lti13KeysUrl=f"http://{host}/jwks"))
    assert_ok(r, (200, 201))


# ---------------------------------------------------------------------------------------------
# §3 authentication before the body; the launch body cap
# ---------------------------------------------------------------------------------------------

AUTH_FIRST = [
    ("POST", "/lti/ags/scores", "session_invalid"),
    ("POST", "/lti/ags/lineitems", "session_invalid"),
    ("PUT", "/lti/ags/lineitem", "session_invalid"),
    ("POST", "/lti/deep-link", "session_invalid"),
    ("POST", "/lti/platforms", "admin_unauthorized"),
    ("POST", "/lti/restore", "admin_unauthorized"),
    ("POST", "/lti/keys/next", "admin_unauthorized"),
]


BIG = 48 * 1024 * 1024  # a chunked body with no Content-Length


def _chunks(total: int, first: bytes = b'{"padding": "') -> t.Iterator[bytes]:
    piece = b"x" * (64 * 1024)
    yield first
    sent = len(first)
    while sent < total:
        yield piece
        sent += len(piece)


def test_unauthenticated_huge_bodies_are_refused_before_reading(worker: Worker) -> None:
    """No or a wrong bearer + a 48 MB chunked body (no Content-Length) on every route with a
    credential: 401 with the route's code — the credential is checked before the body is read
    (before, the body was read first and the answer was 413 payload_too_large). The unread body
    is discarded without being kept (piped to a sink, not buffered)."""
    cases = [(m, p, code, auth) for (m, p, code) in AUTH_FIRST for auth in (None, "wrong-token")]

    def go(case: t.Tuple[str, str, str, t.Optional[str]]) -> requests.Response:
        method, path, _code, auth = case
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {auth}"
        return requests.request(method, worker.base + path, data=_chunks(BIG), headers=headers, timeout=120)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(go, cases))
    problems = [f"{m} {p} (bearer {a!r}): {describe(r)[:300]}" for (m, p, code, a), r in zip(cases, results)
                if not (r.status_code == 401 and r.headers.get("content-type", "").startswith("application/json")
                        and r.json().get("error", {}).get("code") == code)]
    assert not problems, "\n".join(problems)


def test_launch_chunked_body_over_the_cap(worker: Worker) -> None:
    """A public route: the 64 KB cap is enforced on the stream (no Content-Length to trust),
    nothing past it is buffered, and concurrent launches are unaffected."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: requests.post(worker.base + "/lti/launch", data=_chunks(BIG, b"state=x&id_token="),
                                                        headers=headers, timeout=120), range(8)))
        health = [pool.submit(http, "GET", worker.base + "/version") for _ in range(8)]
        assert all(h.result().status_code == 200 for h in health), "concurrent requests unaffected"
    for r in results:
        assert_error(r, 413, "payload_too_large")


def test_oversized_chunked_key_set(make_tenant: t.Callable[..., Tenant], fresh_platform: Platform) -> None:
    """A key set of 48 MB, chunked, no Content-Length, nothing cached: 502
    platform_jwks_unavailable, and the worker stops reading at its 1 MB cap."""
    t_ = make_tenant(via=fresh_platform)
    big = 48 * 1024 * 1024
    fresh_platform.jwks_control(oversized=big)
    try:
        assert_error(t_.attempt(), 502, "platform_jwks_unavailable")
        streams = [s for s in fresh_platform.streams() if s["total"] == big]
        assert streams, "the platform streamed no key set"
        assert not [s for s in streams if s["complete"]], (
            f"the worker read the whole {big} byte key set instead of stopping at 1 MB: {streams}")
    finally:
        fresh_platform.jwks_control(oversized=0)
    t_.launch()


# ---------------------------------------------------------------------------------------------
# §7 platform key sets
# ---------------------------------------------------------------------------------------------


def test_unknown_kid_does_not_hold_back_a_rotation(make_tenant: t.Callable[..., Tenant],
                                                   fresh_platform: Platform) -> None:
    t_ = make_tenant(via=fresh_platform)
    t_.launch()
    forged = t_.crafted(lambda c: None, header={"kid": "random-" + secrets.token_hex(6)}, key="stranger")
    assert_error(forged, 401, "key_not_found")
    rot = fresh_platform.rotate()
    r = t_.attempt()
    assert r.status_code == 303, (
        f"after a random kid was refused, the platform's real rotation to {rot['kid']} must be accepted at "
        f"once:\n{describe(r)}")


def test_concurrent_unknown_kid_single_fetch(make_tenant: t.Callable[..., Tenant],
                                             fresh_platform: Platform) -> None:
    """8 launches with a kid the cache does not know while the key-set endpoint hangs: at most
    one fetch per key-set URL in flight (the platform sees 1-2 key-set requests, not 8)."""
    t_ = make_tenant(via=fresh_platform)
    t_.launch()
    fresh_platform.rotate()
    prepared = [t_.authorized(user="alan", role="Learner") for _ in range(8)]
    hits = fresh_platform.state()["jwks_hits"]
    fresh_platform.jwks_control(hang=20)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(post_launch, auth["action"], auth["id_token"], auth["state"],
                                   lg.cookie_header()) for lg, auth in prepared]
            end = time.monotonic() + 5
            while time.monotonic() < end and fresh_platform.state()["jwks_hits"] == hits:
                time.sleep(0.1)
            time.sleep(1.0)  # let every launch reach the worker while the endpoint hangs
            during = fresh_platform.state()["jwks_hits"] - hits
            fresh_platform.jwks_control(hang=0)
            answers = [f.result(timeout=30) for f in futures]
    finally:
        fresh_platform.jwks_control(hang=0)
    assert during <= 2, f"{during} key-set requests for one URL in flight at once (expected 1-2)"
    for r in answers:
        assert r.status_code == 303 or r.json()["error"]["code"] in ("key_not_found", "platform_jwks_unavailable"), \
            describe(r)


def test_cached_launch_answered_while_key_set_endpoint_hangs(make_tenant: t.Callable[..., Tenant],
                                                             fresh_platform: Platform) -> None:
    """A kid the cache knows is verified from the last good set at once, even while a refetch
    for another kid hangs (the answer comes while the endpoint still hangs)."""
    t_ = make_tenant(via=fresh_platform)
    t_.launch()
    fresh_platform.rotate(keep_old=True)
    lg_new, auth_new = t_.authorized()
    lg_old, auth_old = t_.authorized()
    old_token = t_.platform.sign(jwt.decode(auth_old["id_token"], options={"verify_signature": False}),
                                 key="previous")
    fresh_platform.jwks_control(hang=20)
    try:
        background = threading.Thread(target=post_launch, args=(auth_new["action"], auth_new["id_token"],
                                                                auth_new["state"], lg_new.cookie_header()),
                                      daemon=True)
        background.start()
        time.sleep(0.5)
        r = http("POST", auth_old["action"], data={"id_token": old_token, "state": auth_old["state"]},
                 headers={**JSON, **lg_old.cookie_header()}, timeout=4)
        parse_launch(t_.worker, r)
    finally:
        fresh_platform.jwks_control(hang=0)


def test_reused_kid_new_key_accepted_after_the_floor(make_tenant: t.Callable[..., Tenant],
                                                     fresh_platform: Platform) -> None:
    """The platform replaces its key and keeps the kid. Within the floor forged signatures get
    signature_invalid without a refetch storm; after it (<= 10 s since the set was fetched) a
    launch signed by the new key is accepted (one refetch after the signature failure)."""
    t_ = make_tenant(via=fresh_platform)
    t_.launch()
    fetched_at = time.monotonic()
    kid = fresh_platform.state()["kid"]
    fresh_platform.rekey()
    assert fresh_platform.state()["kid"] == kid
    hits = fresh_platform.state()["jwks_hits"]
    for _ in range(4):
        assert_error(t_.crafted(lambda c: None, header={"kid": kid}, key="stranger"), 401, "signature_invalid")
    storm = fresh_platform.state()["jwks_hits"] - hits
    assert storm <= 1, f"{storm} key-set fetches for 4 forged signatures within the floor"
    time.sleep(max(0.0, fetched_at + 11 - time.monotonic()))
    r = t_.attempt()
    assert r.status_code == 303, (
        f"a launch signed by the platform's new key under the re-used kid {kid}, 11 s after the set was "
        f"fetched, must be accepted after one refetch:\n{describe(r)}")
    assert fresh_platform.state()["jwks_hits"] > hits


# ---------------------------------------------------------------------------------------------
# §8 smaller items
# ---------------------------------------------------------------------------------------------


def test_html_error_pages_carry_a_csp(tenant: Tenant) -> None:
    r = http("GET", tenant.worker.url("/lti/login"), headers={"Accept": "text/html"})
    assert r.status_code == 400 and r.headers.get("Content-Type", "").startswith("text/html"), describe(r)
    csp = r.headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp, f"HTML error page without a CSP: {dict(r.headers)}"
    login, auth = tenant.authorized()
    r = post_launch(auth["action"], auth["id_token"], "forged", json_errors=False)
    assert r.headers.get("Content-Type", "").startswith("text/html"), describe(r)
    assert "default-src 'none'" in r.headers.get("Content-Security-Policy", ""), dict(r.headers)


def test_lti11_unknown_key_answers_like_a_bad_signature(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_lti11_tenant()
    assert t_.lti11 is not None
    bad_sig = t_.lti11.attempt(secret="not-the-secret")
    from ltihelpers import Lti11Consumer
    stranger = Lti11Consumer(key=unique("unknown-key"), secret="whatever", worker=t_.worker)
    unknown = stranger.attempt()
    e1 = assert_error(bad_sig, 401, "oauth_signature_invalid")
    e2 = assert_error(unknown, 401, "oauth_signature_invalid")
    assert e1["message"] == e2["message"], (e1, e2)


def _high_s(token: str) -> str:
    head, body, sig = token.split(".")
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    assert len(raw) == 64
    r, s = raw[:32], int.from_bytes(raw[32:], "big")
    s2 = (P256_N - s).to_bytes(32, "big")
    return f"{head}.{body}." + base64.urlsafe_b64encode(r + s2).rstrip(b"=").decode()


def test_high_s_session_token_is_refused(tenant: Tenant) -> None:
    launched = tenant.launch()
    assert jwt.get_unverified_header(launched.token)["alg"] == "ES256"
    assert_ok(call(tenant.worker, "GET", "/lti/session", launched.token))
    twin = _high_s(launched.token)
    # the twin is a valid ECDSA signature too (PyJWT accepts it): only a low-S rule refuses it
    tenant.worker.verify_session(twin)
    assert_error(call(tenant.worker, "GET", "/lti/session", twin), 401, "session_invalid")


def _crafted_raw(t_: Tenant, dup_in: str) -> t.Any:
    """A real login; the platform's id_token claims re-serialised with a duplicate key in the
    payload (``sub`` twice) or the header (``alg`` twice), signed over those exact bytes by the
    platform's own key (``/__control/sign`` with ``raw_header``/``raw_payload``)."""
    login, auth = t_.authorized()
    claims = jwt.decode(auth["id_token"], options={"verify_signature": False})
    kid = t_.platform.state()["kid"]
    header = json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}, separators=(",", ":"))
    payload = json.dumps(claims, separators=(",", ":"))
    if dup_in == "payload":
        payload = payload[:-1] + ',"sub":"someone-else"}'
    else:
        header = header[:-1] + ',"alg":"none"}'
    r = http("POST", t_.platform.base + "/__control/sign",
             json={"raw_header": header, "raw_payload": payload, "key": "current"})
    assert r.status_code == 200, describe(r)
    return post_launch(auth["action"], r.json()["jwt"], auth["state"], cookie=login.cookie_header())


@pytest.mark.parametrize("where", ["payload", "header"])
def test_duplicate_json_keys_in_id_token(tenant: Tenant, where: str) -> None:
    assert_error(_crafted_raw(tenant, where), 400, "token_malformed")


@pytest.mark.parametrize("path", ["/lti/jwks", "/lti/config", "/version"])
def test_head_answers_like_get(worker: Worker, path: str) -> None:
    g = http("GET", worker.url(path))
    h = http("HEAD", worker.url(path))
    assert h.status_code == 200 == g.status_code, describe(h)
    assert h.content == b"", describe(h)
    assert h.headers.get("Content-Type") == g.headers.get("Content-Type"), (dict(h.headers), dict(g.headers))


@pytest.mark.parametrize("method,path,allow", [
    ("POST", "/lti/jwks", "GET, HEAD"),
    ("GET", "/lti/launch", "POST"),
    ("PATCH", "/lti/platforms", "GET, HEAD, POST"),
    ("PUT", "/version", "GET, HEAD"),
    # A KAF module URL takes only the LTI 1.1 launch posted to it.
    ("GET", "/hosted/index/my-media", "POST"),
    ("PATCH", "/lti/platforms/some-id", "GET, HEAD, PUT, DELETE"),
])
def test_405_allow_header(worker: Worker, method: str, path: str, allow: str) -> None:
    r = http(method, worker.url(path), headers=JSON)
    assert_error(r, 405, "method_not_allowed")
    got = sorted(x.strip() for x in r.headers.get("Allow", "").split(",") if x.strip())
    assert got == sorted(allow.split(", ")), f"Allow: {r.headers.get('Allow')!r}, expected {allow!r}"


def test_module_urls_outside_the_lti_prefixes_take_no_launch(worker: Worker) -> None:
    """Only module URLs under /hosted/ (KAF's) accept a posted LTI 1.1 launch; the others are
    no route at all, whatever is posted."""
    r = http("POST", worker.url("/contentlab"), data={"lti_message_type": "basic-lti-launch-request"}, headers=JSON)
    assert_error(r, 404, "not_found")


@pytest.mark.parametrize("path", ["/lti/ags/nope", "/lti/platforms/a/b", "/hosted/index/lti-advantage-key-set"])
def test_api_paths_answer_errors_as_json_even_to_a_browser(worker: Worker, path: str) -> None:
    """Errors of API routes (and unknown paths in an API family) are JSON whatever `Accept`
    says: a script calling them never has to parse a page. The KAF key-set path is an API route
    like /lti/jwks."""
    method = "POST" if path.endswith("key-set") else "GET"
    r = http(method, worker.url(path), headers={"Accept": "text/html"})
    assert r.status_code in (404, 405), describe(r)
    assert r.headers.get("Content-Type", "").startswith("application/json"), describe(r)


def test_rejected_launch_is_in_the_worker_log(tenant: Tenant) -> None:
    """The suite's worker (wrangler dev --log-level warn): a rejection's log line, with its
    correlation id and internal reason, reaches the worker's output."""
    login, auth = tenant.authorized()
    err = assert_error(post_launch(auth["action"], auth["id_token"], "forged-" + secrets.token_hex(4)),
                       401, "state_invalid")
    cid = err["correlationId"]
    end = time.monotonic() + 5
    text = ""
    while time.monotonic() < end:
        text = tenant.worker.log.read_text(errors="replace")
        if cid in text:
            break
        time.sleep(0.2)
    lines = [ln for ln in text.splitlines() if cid in ln]
    assert lines, f"correlation id {cid} not in the worker's log {tenant.worker.log}"
    assert any("state_invalid" in ln for ln in lines), lines


# ---------------------------------------------------------------------------------------------
# conformance: deep-linking presentations, anonymous launches, empty roles
# ---------------------------------------------------------------------------------------------


def dl_launch(t_: Tenant) -> t.Any:
    return t_.launch(placement="browseembed", message_type="LtiDeepLinkingRequest",
                     deep_linking={"accept_types": ["ltiResourceLink", "link", "html"], "accept_multiple": True,
                                   "accept_presentation_document_targets": ["iframe", "window", "embed"]})


def test_deep_link_embed_requires_html(tenant: Tenant) -> None:
    launched = dl_launch(tenant)
    r = call(tenant.worker, "POST", "/lti/deep-link", launched.token,
             json={"contents": [{"type": "link", "title": "Clip", "url": "https://example.edu/clip",
                                 "presentation": "embed"}]})
    err = assert_error(r, 422, "deep_link_invalid")
    assert err.get("fields"), err


def test_deep_link_embed_and_iframe_presentations(tenant: Tenant) -> None:
    launched = dl_launch(tenant)
    html = '<iframe src="https://example.edu/player/1"></iframe>'
    items = [
        {"type": "link", "title": "Embedded", "url": "https://example.edu/clip", "presentation": "embed",
         "embed": {"html": html}},
        {"type": "link", "title": "Framed", "url": "https://example.edu/framed", "presentation": "iframe",
         "width": 640, "height": 360},
        {"type": "ltiResourceLink", "title": "Mitosis", "entryId": "1_mitosis", "presentation": "iframe",
         "height": 360},
    ]
    # A resource link cannot be presented as embed (it has no markup): refused by field, not
    # silently changed.
    bad = [dict(items[2], presentation="embed", embed={"html": html})]
    err = assert_error(call(tenant.worker, "POST", "/lti/deep-link", launched.token, json={"contents": bad}),
                       422, "deep_link_invalid")
    assert "contents[0].presentation" in (err.get("fields") or {}), err
    data = assert_ok(call(tenant.worker, "POST", "/lti/deep-link", launched.token, json={"contents": items}))
    _h, c = tenant.worker.verify_tool_jwt(data["jwt"], audience=tenant.platform.issuer, issuer=tenant.client_id)
    embedded, framed, rl = c[DL + "content_items"]
    assert embedded.get("embed") == {"html": html}, embedded
    assert framed.get("iframe", {}).get("src") == "https://example.edu/framed", framed
    assert framed["iframe"].get("width") == 640 and framed["iframe"].get("height") == 360, framed
    assert "embed" not in rl, rl
    r = http("POST", tenant.platform.base + "/deep-link-return", data={"JWT": data["jwt"]}, headers=JSON)
    assert r.status_code == 200, describe(r)


def test_anonymous_launch_refused_by_default(tenant: Tenant) -> None:
    err = assert_error(tenant.crafted(lambda c: c.pop("sub")), 403, "anonymous_launch_refused")
    m = err["message"].lower()
    assert "user" in m and "guest" in m, err


def test_anonymous_launch_as_guest(make_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_tenant(anonymousLaunches="guest")
    r = t_.crafted(lambda c: c.pop("sub"))
    launched = parse_launch(t_.worker, r)
    assert launched.claims["role"] == "guest", launched.claims
    s = assert_ok(call(t_.worker, "GET", "/lti/session", launched.token))
    assert s.get("user_id") in (None, ""), s
    disabled = make_tenant(anonymousLaunches="guest", disabledModules=["mymedia"])
    r = disabled.crafted(lambda c: c.pop("sub"))
    assert r.status_code == 403, describe(r)


@pytest.mark.parametrize("roles", [[], ["urn:local-lms:role:Auditor"]], ids=["empty", "unmapped"])
def test_default_role(make_tenant: t.Callable[..., Tenant], roles: t.List[str]) -> None:
    plain = make_tenant()
    assert_error(plain.attempt(roles=roles, course=new_course()), 403, "role_unmapped")
    for role in ("guest", "viewer"):
        t_ = make_tenant(defaultRole=role)
        launched = t_.launch(roles=roles, course=new_course())
        assert launched.claims["role"] == role, launched.claims

"""Public metadata endpoints and the registration admin API (/lti/platforms)."""
from __future__ import annotations

import secrets
import typing as t

import pytest

from ltihelpers import JSON, Worker, assert_error, assert_ok, describe, http, unique


def body(**over: t.Any) -> t.Dict[str, t.Any]:
    host = unique("lms") + ".example.edu"
    b: t.Dict[str, t.Any] = {
        "issuer": f"https://{host}",
        "lti13ClientId": unique("client"),
        "name": "Example University LMS",
        "lti13PlatformOidcAuthUrl": f"https://{host}/api/lti/authorize_redirect",
        "lti13AuthTokenUrl": f"https://{host}/login/oauth2/token",
        "lti13KeysUrl": f"https://{host}/api/lti/security/jwks",
        "deploymentIds": ["1:abc"],
        "deploymentPolicy": "allowList",
    }
    b.update(over)
    return {k: v for k, v in b.items() if v is not None}


def assert_ok_upsert(resp: t.Any) -> t.Any:
    """Upserts answer 200 per the contract; tolerated here as 201 so that one strict test
    (test_upsert_status) reports it instead of every test that registers."""
    return assert_ok(resp, (200, 201))


def test_upsert_status(worker: Worker) -> None:
    b = body()
    r = worker.admin("POST", "/lti/platforms", json=b)
    assert r.status_code == 201, "create answers 201 Created\n" + describe(r)
    first = r.json()["data"]
    r = worker.admin("POST", "/lti/platforms", json=dict(b, name="Renamed"))
    assert r.status_code == 200, "an update (same issuer + client id) answers 200\n" + describe(r)
    again = r.json()["data"]
    assert again["id"] == first["id"] and again["name"] == "Renamed" and again["createdAt"] == first["createdAt"]


def test_version(worker: Worker) -> None:
    r = http("GET", worker.url("/version"))
    assert r.status_code == 200, describe(r)
    v = r.json()
    assert v["name"] == "lti-edge" and isinstance(v["version"], str) and v["version"]


def test_config(worker: Worker) -> None:
    r = http("GET", worker.url("/lti/config"))
    data = assert_ok(r)
    b = worker.base
    assert data["loginUrl"] == b + "/lti/login"
    assert data["launchUrl"] == b + "/lti/launch"
    assert data["jwksUrl"] == b + "/lti/jwks"
    assert b + "/lti/launch" in data["redirectUris"]
    assert b + "/hosted/index/oauth2-launch" in data["redirectUris"]
    assert isinstance(data["deepLinkUrl"], str) and data["deepLinkUrl"].startswith(b + "/")
    assert data["kaf"] == {"oidcInitUrl": b + "/hosted/index/oidc-init",
                           "launchUrl": b + "/hosted/index/oauth2-launch",
                           "jwksUrl": b + "/hosted/index/lti-advantage-key-set"}


def test_tool_jwks_and_kaf_alias(worker: Worker) -> None:
    jwks = worker.jwks()
    assert jwks["keys"], jwks
    kinds = []
    for k in jwks["keys"]:
        assert k["use"] == "sig" and k["kid"], k
        if k["kty"] == "RSA":  # what platforms verify: client assertions, deep-linking responses
            assert k["alg"] == "RS256" and k["n"] and k["e"], k
        else:  # the session key
            assert (k["kty"], k["crv"], k["alg"]) == ("EC", "P-256", "ES256") and k["x"] and k["y"], k
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(k), "private key material published"
        kinds.append(k["alg"])
    assert sorted(kinds) == ["ES256", "RS256"], kinds
    assert len({k["kid"] for k in jwks["keys"]}) == len(jwks["keys"]), "kids are unique"
    r = http("GET", worker.url("/hosted/index/lti-advantage-key-set"))
    assert r.status_code == 200, describe(r)
    assert r.json() == jwks


@pytest.mark.parametrize("method,path", [
    ("GET", "/lti/platforms"), ("POST", "/lti/platforms"),
    ("GET", "/lti/platforms/some-id"), ("DELETE", "/lti/platforms/some-id"),
])
@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_admin_requires_token(worker: Worker, method: str, path: str, token: t.Optional[str]) -> None:
    kw: t.Dict[str, t.Any] = {"json": body()} if method == "POST" else {}
    r = worker.admin(method, path, token=token, **kw)
    assert_error(r, 401, "admin_unauthorized")


def test_admin_rejects_other_schemes(worker: Worker) -> None:
    r = http("GET", worker.url("/lti/platforms"),
             headers={"Accept": "application/json", "Authorization": f"Basic {worker.admin_token}"})
    assert_error(r, 401, "admin_unauthorized")
    r = http("GET", worker.url("/lti/platforms"),
             headers={"Accept": "application/json", "Authorization": f"Bearer {worker.admin_token}x"})
    assert_error(r, 401, "admin_unauthorized")


def test_create_get_list_delete(worker: Worker) -> None:
    b = body(leewaySeconds=30, roleMap={"urn:example:role:Reviewer": "moderator"},
             disabledModules=["coursegallery"], ltiUserIdAttribute="email")
    data = assert_ok_upsert(worker.admin("POST", "/lti/platforms", json=b))
    for k in ("issuer", "lti13ClientId", "name", "lti13PlatformOidcAuthUrl", "lti13AuthTokenUrl",
              "lti13KeysUrl", "deploymentIds", "deploymentPolicy", "leewaySeconds",
              "ltiUserIdAttribute", "disabledModules"):
        assert data[k] == b[k], (k, data)
    assert data["roleMap"].get("urn:example:role:Reviewer") == "moderator", data
    assert data["id"] and data["createdAt"] and data["updatedAt"]
    pid = data["id"]

    got = assert_ok(worker.admin("GET", f"/lti/platforms/{pid}"))
    assert got["id"] == pid and got["issuer"] == b["issuer"]
    listed = assert_ok(worker.admin("GET", "/lti/platforms"))
    assert isinstance(listed, list) and pid in [p["id"] for p in listed]

    r = worker.admin("DELETE", f"/lti/platforms/{pid}")
    assert r.status_code in (200, 204), describe(r)
    assert_error(worker.admin("GET", f"/lti/platforms/{pid}"), 404, "not_found")
    assert pid not in [p["id"] for p in assert_ok(worker.admin("GET", "/lti/platforms"))]
    assert_error(worker.admin("DELETE", f"/lti/platforms/{pid}"), 404, "not_found")


def test_defaults(worker: Worker) -> None:
    data = assert_ok_upsert(worker.admin("POST", "/lti/platforms", json=body()))
    assert data["leewaySeconds"] == 60


def test_upsert_on_issuer_and_client_id(worker: Worker) -> None:
    b = body()
    first = assert_ok_upsert(worker.admin("POST", "/lti/platforms", json=b))
    second = assert_ok_upsert(worker.admin("POST", "/lti/platforms",
                                    json=dict(b, name="Renamed LMS", deploymentIds=["1:abc", "2:def"])))
    assert second["id"] == first["id"]
    assert second["name"] == "Renamed LMS" and second["deploymentIds"] == ["1:abc", "2:def"]
    assert second["createdAt"] == first["createdAt"]
    got = assert_ok(worker.admin("GET", f"/lti/platforms/{first['id']}"))
    assert got["name"] == "Renamed LMS"
    # same issuer, other client id: another registration
    third = assert_ok_upsert(worker.admin("POST", "/lti/platforms", json=dict(b, lti13ClientId=unique("client"))))
    assert third["id"] != first["id"]


def test_creatiq_aliases(worker: Worker) -> None:
    canonical = body()
    alias = {
        "issuer": canonical["issuer"],
        "clientId": canonical["lti13ClientId"],
        "name": "Aliased LMS",
        "authLoginUrl": canonical["lti13PlatformOidcAuthUrl"],
        "authTokenUrl": canonical["lti13AuthTokenUrl"],
        "keysetUrl": canonical["lti13KeysUrl"],
        "deploymentId": "42:xyz",
    }
    data = assert_ok_upsert(worker.admin("POST", "/lti/platforms", json=alias))
    assert data["lti13ClientId"] == canonical["lti13ClientId"]
    assert data["lti13PlatformOidcAuthUrl"] == canonical["lti13PlatformOidcAuthUrl"]
    assert data["lti13AuthTokenUrl"] == canonical["lti13AuthTokenUrl"]
    assert data["lti13KeysUrl"] == canonical["lti13KeysUrl"]
    assert data["deploymentIds"] == ["42:xyz"]
    again = assert_ok_upsert(worker.admin("POST", "/lti/platforms", json=canonical))
    assert again["id"] == data["id"]


LONG_HOST = "https://" + "a" * 490 + ".example.edu"  # > 500 characters (and a malformed host)


def url_of_length(n: int, base: str = "https://lms.example.edu/") -> str:
    return base + "p" * (n - len(base))


@pytest.mark.parametrize("field,value", [
    ("issuer", None),
    ("issuer", "not a url"),
    ("issuer", LONG_HOST),
    ("issuer", url_of_length(501)),
    ("lti13ClientId", None),
    ("lti13ClientId", ""),
    ("lti13ClientId", "c" * 256),
    ("name", ""),
    ("name", "n" * 256),
    ("lti13PlatformOidcAuthUrl", None),
    ("lti13PlatformOidcAuthUrl", "not-a-url"),
    ("lti13PlatformOidcAuthUrl", "http://lms.example.edu/auth"),  # http only on loopback
    ("lti13PlatformOidcAuthUrl", LONG_HOST + "/auth"),
    ("lti13KeysUrl", "ftp://lms.example.edu/jwks"),
    ("lti13KeysUrl", url_of_length(501)),
    ("lti13AuthTokenUrl", "javascript:alert(1)"),
    ("deploymentIds", ["d" * 256]),
    ("deploymentPolicy", "sometimes"),
    ("leewaySeconds", 301),
    ("leewaySeconds", -1),
    ("roleMap", {"Instructor": "superuser"}),
    ("disabledModules", ["nosuchmodule"]),
])
def test_registration_validation(worker: Worker, field: str, value: t.Any) -> None:
    b = body()
    if value is None:
        del b[field]
    else:
        b[field] = value
    err = assert_error(worker.admin("POST", "/lti/platforms", json=b), 400, "registration_invalid")
    assert isinstance(err.get("fields"), dict) and field in err["fields"], err


def test_registration_longest_valid_issuer_and_client_id(worker: Worker) -> None:
    """issuer of exactly 500 characters and a 255-character client id are valid (and upsert)."""
    b = body(issuer=url_of_length(500), lti13ClientId="c" * 254 + secrets.choice("abcdef"),
             lti13KeysUrl=url_of_length(500), lti13PlatformOidcAuthUrl=url_of_length(500),
             lti13AuthTokenUrl=url_of_length(500))
    first = assert_ok_upsert(worker.admin("POST", "/lti/platforms", json=b))
    assert first["issuer"] == b["issuer"] and first["lti13ClientId"] == b["lti13ClientId"]
    again = assert_ok_upsert(worker.admin("POST", "/lti/platforms", json=dict(b, name="again")))
    assert again["id"] == first["id"]


def test_registration_validation_alias_deployment_id(worker: Worker) -> None:
    b = body()
    del b["deploymentIds"]
    b["deploymentId"] = "d" * 256
    err = assert_error(worker.admin("POST", "/lti/platforms", json=b), 400, "registration_invalid")
    assert isinstance(err.get("fields"), dict) and err["fields"], err


def test_registration_valid_edges(worker: Worker) -> None:
    b = body(lti13ClientId="c" * 255, name="n" * 255, leewaySeconds=300,
             deploymentIds=["d" * 255], lti13KeysUrl="http://127.0.0.1:9/jwks",
             lti13PlatformOidcAuthUrl="http://localhost:9/auth")
    data = assert_ok_upsert(worker.admin("POST", "/lti/platforms", json=b))
    assert data["leewaySeconds"] == 300 and data["lti13ClientId"] == "c" * 255
    b0 = body(leewaySeconds=0)
    assert assert_ok_upsert(worker.admin("POST", "/lti/platforms", json=b0))["leewaySeconds"] == 0


def test_registration_body_not_json(worker: Worker) -> None:
    r = worker.admin("POST", "/lti/platforms", data=b"{not json",
                     headers={"Content-Type": "application/json", **JSON})
    assert_error(r, 400, "registration_invalid")


def test_not_found(worker: Worker) -> None:
    assert_error(worker.admin("GET", "/lti/platforms/does-not-exist"), 404, "not_found")
    assert_error(http("GET", worker.url("/lti/no-such-endpoint"), headers=JSON), 404, "not_found")


@pytest.mark.parametrize("method,path", [
    ("PUT", "/lti/launch"), ("GET", "/lti/launch"), ("DELETE", "/lti/jwks"), ("PATCH", "/lti/platforms"),
])
def test_method_not_allowed(worker: Worker, method: str, path: str) -> None:
    headers = dict(JSON, Authorization=f"Bearer {worker.admin_token}")
    assert_error(http(method, worker.url(path), headers=headers), 405, "method_not_allowed")


def test_payload_too_large(worker: Worker) -> None:
    big = "x" * (2 * 1024 * 1024)
    r = worker.admin("POST", "/lti/platforms", json=body(name=big))
    assert_error(r, 413, "payload_too_large")
    r = http("POST", worker.url("/lti/launch"), data={"id_token": big, "state": "s"}, headers=JSON)
    assert_error(r, 413, "payload_too_large")


def test_put_replaces_a_registration_by_id_even_its_issuer_and_client_id(worker: Worker) -> None:
    iss = f"https://lms-{secrets.token_hex(4)}.example.edu"
    base = {"issuer": iss, "lti13ClientId": unique("c"), "name": "Before", "lti13PlatformOidcAuthUrl": f"{iss}/auth",
            "lti13AuthTokenUrl": f"{iss}/token", "lti13KeysUrl": f"{iss}/jwks", "deploymentIds": ["d1"],
            "roleMap": {"Learner": "viewer"}}
    reg = assert_ok(worker.admin("POST", "/lti/platforms", json=base), 201)
    other = assert_ok(worker.admin("POST", "/lti/platforms", json=dict(base, lti13ClientId=unique("o"))), 201)
    new_client = unique("renamed")
    put = assert_ok(worker.admin("PUT", f"/lti/platforms/{reg['id']}",
                                 json=dict(base, lti13ClientId=new_client, name="After")))
    assert put["id"] == reg["id"] and put["lti13ClientId"] == new_client and put["name"] == "After", put
    assert put["createdAt"] == reg["createdAt"]
    ids = [r["id"] for r in worker.registrations()]
    assert ids.count(reg["id"]) == 1 and reg["id"] in ids, "edited in place, no second registration"
    # The new pair belongs to another registration: refused, naming the field; nothing changes.
    clash = assert_error(worker.admin("PUT", f"/lti/platforms/{reg['id']}",
                                      json=dict(base, lti13ClientId=other["lti13ClientId"])), 400, "registration_invalid")
    assert "lti13ClientId" in clash["fields"], clash
    assert assert_ok(worker.admin("GET", f"/lti/platforms/{reg['id']}"))["lti13ClientId"] == new_client
    bad = assert_error(worker.admin("PUT", f"/lti/platforms/{reg['id']}", json=dict(base, lti13KeysUrl="ftp://x")),
                       400, "registration_invalid")
    assert "lti13KeysUrl" in bad["fields"], bad
    assert_error(worker.admin("PUT", f"/lti/platforms/{unique('nope')}", json=base), 404, "not_found")
    assert_error(worker.admin("PUT", f"/lti/platforms/{reg['id']}", token=None, json=base), 401, "admin_unauthorized")

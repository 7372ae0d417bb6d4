"""User-id suggestions (GET /lti/platforms/{id}/user-id-suggestions): from a registration's last
launch, every attribute that could be the user id with the configuration that selects it — and each
configuration, applied, makes the next launch use exactly that value. The last launch is kept
sealed: the worker's storage never holds its claims in the clear."""
from __future__ import annotations

import time
import typing as t

from ltihelpers import Tenant, Worker, assert_error, assert_ok, unique

RULE_FIELDS = ("ltiUserIdAttribute", "lti13UserIdClaim", "lti13UserIdClaimProperty")


def suggestions(t_: Tenant) -> t.Dict[str, t.Any]:
    return assert_ok(t_.worker.admin("GET", f"/lti/platforms/{t_.registration['id']}/user-id-suggestions"))


def until_kept(t_: Tenant, at_least: int) -> t.Dict[str, t.Any]:
    """The suggestions once the launch made at ``at_least`` (Unix s) is kept (written in the
    launch's background; bounded wait)."""
    for _ in range(40):
        got = suggestions(t_)
        if got["launch"] and got["launch"]["at"] >= at_least:
            return got
        time.sleep(0.25)
    raise AssertionError(f"no launch kept since {at_least}: {got}")


def by_attribute(got: t.Dict[str, t.Any]) -> t.Dict[str, t.Dict[str, t.Any]]:
    return {s["attribute"]: s for s in got["suggestions"]}


def apply(t_: Tenant, configuration: t.Dict[str, str]) -> None:
    body = dict(t_.platform.registration_body(client_id=t_.client_id), deploymentIds=[t_.deployment_id])
    body.update({k: configuration.get(k, "") for k in RULE_FIELDS})
    assert_ok(t_.worker.admin("POST", "/lti/platforms", json=body), 200)


def test_suggestions_list_the_launchs_attributes_and_each_selects_its_value(make_tenant) -> None:
    t_: Tenant = make_tenant()
    start = int(time.time())
    t_.launch(user="ada", custom={"username": "ada.lovelace", "employee_no": "E-1001"},
              extra_claims={"https://lms.example.test/claims/sis": {"login": "alovelace"}})
    got = until_kept(t_, start)
    assert got["launch"]["deploymentId"] == t_.deployment_id
    assert got["current"] == {"configuration": {"ltiUserIdAttribute": "", "lti13UserIdClaim": "",
                                                "lti13UserIdClaimProperty": ""},
                              "userId": "user-1001", "source": "sub"}, got["current"]
    found = by_attribute(got)
    expected = {
        "sub": ("user-1001", {}),
        "lis: person_sourcedid": ("user-1001", {"ltiUserIdAttribute": "lis_person_sourcedid"}),
        "email": ("ada.lovelace@local-lms.test", {"ltiUserIdAttribute": "lis_person_contact_email_primary"}),
        "custom: username": ("ada.lovelace", {"ltiUserIdAttribute": "custom_username"}),
        "custom: employee_no": ("E-1001", {"ltiUserIdAttribute": "custom_employee_no"}),
        "https://lms.example.test/claims/sis → login": (
            "alovelace", {"lti13UserIdClaim": "https://lms.example.test/claims/sis", "lti13UserIdClaimProperty": "login"}),
    }
    for attribute, (value, conf) in expected.items():
        s = found.get(attribute)
        assert s is not None, (attribute, list(found))
        assert s["value"] == value, s
        assert s["configuration"] == {k: conf.get(k, "") for k in RULE_FIELDS}, s
    assert [s["attribute"] for s in got["suggestions"] if s["current"]] == ["sub"]
    assert "iss" not in found and "name" not in found
    # Each configuration, applied, is what the next launch does.
    for attribute in ("custom: username", "email", "https://lms.example.test/claims/sis → login"):
        apply(t_, found[attribute]["configuration"])
        launched = t_.launch(user="ada", custom={"username": "ada.lovelace", "employee_no": "E-1001"},
                             extra_claims={"https://lms.example.test/claims/sis": {"login": "alovelace"}})
        assert launched.claims["sub"] == expected[attribute][0], (attribute, launched.claims)


def test_a_refused_launch_is_kept_so_the_admin_sees_what_to_use(make_tenant) -> None:
    t_: Tenant = make_tenant(ltiUserIdAttribute="custom_employee_no")
    start = int(time.time())
    assert_error(t_.attempt(user="grace", custom={"username": "grace.hopper"}), 400, "user_id_missing")
    got = until_kept(t_, start)
    assert got["current"]["error"] == "user_id_missing", got["current"]
    assert by_attribute(got)["custom: username"]["value"] == "grace.hopper"
    assert not any(s["current"] for s in got["suggestions"])


def test_the_lti11_user_id_is_marked(make_tenant) -> None:
    t_: Tenant = make_tenant()
    start = int(time.time())
    t_.launch(user="alan", extra_claims={"https://purl.imsglobal.org/spec/lti/claim/lti1p1": {"user_id": "legacy-2002"},
                                         "https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id": "legacy-2002"})
    found = by_attribute(until_kept(t_, start))
    matches = sorted(a for a, s in found.items() if s["matchesLti11UserId"])
    assert matches == ["https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id", "lti1p1: user_id"], matches
    assert found["lti1p1: user_id"]["configuration"]["lti13UserIdClaim"] == \
        "https://purl.imsglobal.org/spec/lti/claim/lti1p1"
    assert not found["sub"]["matchesLti11UserId"]


def test_no_launch_yet_and_admin_only(worker: Worker, make_tenant) -> None:
    t_: Tenant = make_tenant()
    got = suggestions(t_)
    assert got["launch"] is None and got["suggestions"] == [] and got["hint"], got
    path = f"/lti/platforms/{t_.registration['id']}/user-id-suggestions"
    assert_error(worker.admin("GET", path, token=None), 401, "admin_unauthorized")
    assert_error(worker.admin("GET", path, token=worker.services_token), 401, "admin_unauthorized")
    assert_error(worker.admin("GET", f"/lti/platforms/{unique('nope')}/user-id-suggestions"), 404, "not_found")


def test_the_kept_launch_is_sealed_at_rest(worker: Worker, make_tenant) -> None:
    t_: Tenant = make_tenant()
    marker = "sealed-" + unique("u")
    start = int(time.time())
    t_.launch(user={"id": "user-sealed", "name": "Nobody", "email": f"{marker}@local-lms.test"},
              custom={"username": marker})
    until_kept(t_, start)
    assert worker.state_dir is not None
    leaked = [p for p in worker.state_dir.rglob("*") if p.is_file() and marker.encode() in p.read_bytes()]
    assert leaked == [], leaked

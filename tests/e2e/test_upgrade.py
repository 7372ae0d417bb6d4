"""The LTI 1.1 -> 1.3 upgrade: one person launching by LTI 1.1 (oauthlib-signed) and later by LTI
1.3 with the migration claim ``…/claim/lti1p1`` lands as the same user in the same course
category, under each user-id configuration of the KAF user-id guide; a claim whose
``oauth_consumer_key_sign`` does not verify follows the registration's ``lti11MismatchPolicy`` and
is always reported (GET /lti/platforms/{id}/upgrade-report).

The platform computes ``oauth_consumer_key_sign`` at /auth from the id_token's own deployment_id,
iss, aud, exp and nonce (launch spec ``lti1p1``, sign good | wrong | absent; "wrong" is the Canvas
bug of canvas-lms #2287: computed with another nonce).
"""
from __future__ import annotations

import typing as t

import pytest

from ltihelpers import (CLAIM, Lti11Consumer, Tenant, assert_error, assert_ok, new_course,
                        unique)

LTI1P1 = CLAIM + "lti1p1"
LIS_CLAIM = CLAIM + "lis"


def consumer(t_: Tenant) -> Lti11Consumer:
    assert t_.lti11 is not None, "a registration with an LTI 1.1 consumer (make_lti11_tenant)"
    return t_.lti11


def claim_spec(t_: Tenant, user_id: str, sign: str = "good", context_id: t.Optional[str] = None,
               via: t.Optional[Lti11Consumer] = None) -> t.Dict[str, t.Any]:
    """The platform's lti1p1 claim for this registration's consumer key (or ``via``'s)."""
    c = via or consumer(t_)
    spec: t.Dict[str, t.Any] = {"user_id": user_id, "resource_link_id": unique("legacy-rl"),
                                "consumer_key": c.key, "secret": c.secret, "sign": sign}
    if context_id:
        spec["context_id"] = context_id
    return spec


def report(t_: Tenant) -> t.Dict[str, t.Any]:
    return assert_ok(t_.worker.admin("GET", f"/lti/platforms/{t_.registration['id']}/upgrade-report"))


def check_mismatch(t_: Tenant, count: int, reason: str, policy: str, consumer_key: str) -> None:
    rep = report(t_)
    assert rep["mismatched"] == count, rep
    last = rep["lastMismatch"]
    assert last["reason"] == reason and last["policy"] == policy, rep
    assert last["consumerKey"] == consumer_key, rep
    assert isinstance(last["at"], str) and last["at"], rep


# ---------------------------------------------------------------------------------------------
# the same person before and after the upgrade
# ---------------------------------------------------------------------------------------------

# (registration fields, extra LTI 1.1 parameters, extra LTI 1.3 launch spec, the user id both
# sessions must carry); "{legacy}" / "{x}" are filled with per-test values.
CONFIGS = {
    # Canvas-like: the 1.3 sub (user-1001) is not the 1.1 user_id; the verified claim's user_id wins
    "default": ({}, {}, {}, "{legacy}"),
    "lis_person_sourcedid": (
        {"ltiUserIdAttribute": "lis_person_sourcedid"},
        {"lis_person_sourcedid": "sis:{x}"},
        {"extra_claims": {LIS_CLAIM: {"person_sourcedid": "sis:{x}"}}},
        "sis:{x}"),
    "custom_username": (
        {"lti13UserIdClaim": CLAIM + "custom", "lti13UserIdClaimProperty": "username"},
        {"custom_username": "ada.{x}"},
        {"custom": {"username": "ada.{x}"}},
        "ada.{x}"),
}


def fill(value: t.Any, **subs: str) -> t.Any:
    if isinstance(value, str):
        return value.format(**subs)
    if isinstance(value, dict):
        return {k: fill(v, **subs) for k, v in value.items()}
    return value


@pytest.mark.parametrize("config", list(CONFIGS))
def test_same_user_and_category_after_upgrade(make_lti11_tenant: t.Callable[..., Tenant], config: str) -> None:
    fields, params11, spec13, expected = CONFIGS[config]
    subs = {"legacy": unique("legacy-user"), "x": unique("p")}
    t_ = make_lti11_tenant(**fields)
    course = new_course()
    legacy = subs["legacy"]

    before = consumer(t_).launch(user_id=legacy, context_id=course["id"], roles="Learner", **fill(params11, **subs))
    assert before.claims["lti_version"] == "1.1"
    after = t_.launch(user="ada", role="Learner", course=course,
                      lti1p1=claim_spec(t_, legacy, context_id=course["id"]), **fill(spec13, **subs))
    assert after.id_token_claims["sub"] == "user-1001" != legacy, "the 1.3 sub differs from the 1.1 user_id"
    assert after.id_token_claims[LTI1P1]["user_id"] == legacy

    want = fill(expected, **subs)
    assert before.claims["sub"] == want, before.claims
    assert after.claims["sub"] == want, after.claims
    assert after.claims["category"] == before.claims["category"]
    assert after.claims["lti_version"] != "1.1" and after.claims["lti_sub"] == "user-1001", after.claims
    if config == "default":
        assert after.claims["user_id_source"] == "lti1p1", after.claims
    rep = report(t_)
    assert rep["verified"] == 1 and rep["mismatched"] == 0, rep


def test_context_id_differs_between_versions(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_lti11_tenant()
    legacy_user, legacy_ctx = unique("legacy-user"), unique("legacy-ctx")
    course13 = new_course()  # the course's 1.3 context id is not its 1.1 one
    before = consumer(t_).launch(user_id=legacy_user, context_id=legacy_ctx, roles="Learner")
    after = t_.launch(user="alan", role="Learner", course=course13,
                      lti1p1=claim_spec(t_, legacy_user, context_id=legacy_ctx))
    assert after.claims["sub"] == before.claims["sub"] == legacy_user
    assert after.claims["category"] == before.claims["category"], (before.claims, after.claims)
    # without the claim's context_id the 1.3 context id decides: another category
    plain = t_.launch(user="alan", role="Learner", course=course13, lti1p1=claim_spec(t_, legacy_user))
    assert plain.claims["sub"] == legacy_user
    assert plain.claims["category"] != before.claims["category"]
    assert report(t_)["verified"] == 2


# ---------------------------------------------------------------------------------------------
# a claim that does not verify
# ---------------------------------------------------------------------------------------------


def test_mismatch_refused_by_default(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_lti11_tenant()
    c = consumer(t_)
    assert t_.registration.get("lti11MismatchPolicy", "refuse") == "refuse"
    legacy = unique("legacy-user")
    r = t_.attempt(user="ada", lti1p1=claim_spec(t_, legacy, sign="wrong"))
    assert_error(r, 403, "lti11_migration_mismatch")
    check_mismatch(t_, 1, "signature_differs", "refuse", c.key)
    assert report(t_)["verified"] == 0
    # the same launch with a good signature is accepted, as the 1.1 user
    good = t_.launch(user="ada", lti1p1=claim_spec(t_, legacy))
    assert good.claims["sub"] == legacy
    rep = report(t_)
    assert rep["verified"] == 1 and rep["mismatched"] == 1, rep


def test_unsigned_claim_is_not_a_silent_second_user(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    # Blackboard sends the lti1p1 claim without oauth_consumer_key_sign: the 1.1 user it names is
    # unproven, so the registration's policy decides (refuse by default) and the report says so.
    t_ = make_lti11_tenant()
    c = consumer(t_)
    legacy = unique("legacy-user")
    assert_error(t_.attempt(user="ada", lti1p1=claim_spec(t_, legacy, sign="absent")), 403, "lti11_migration_mismatch")
    check_mismatch(t_, 1, "unsigned", "refuse", c.key)
    trusting = make_lti11_tenant(lti11MismatchPolicy="trustPlatform")
    after = trusting.launch(user="ada", lti1p1=claim_spec(trusting, legacy, sign="absent"))
    assert after.claims["sub"] == legacy, after.claims
    check_mismatch(trusting, 1, "unsigned", "trustPlatform", consumer(trusting).key)


def test_mismatch_trust_platform(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_lti11_tenant(lti11MismatchPolicy="trustPlatform")
    assert t_.registration["lti11MismatchPolicy"] == "trustPlatform"
    course, legacy = new_course(), unique("legacy-user")
    before = consumer(t_).launch(user_id=legacy, context_id=course["id"])
    after = t_.launch(user="ada", course=course, lti1p1=claim_spec(t_, legacy, sign="wrong", context_id=course["id"]))
    assert after.claims["sub"] == before.claims["sub"] == legacy, after.claims
    assert after.claims["category"] == before.claims["category"]
    check_mismatch(t_, 1, "signature_differs", "trustPlatform", consumer(t_).key)


def test_mismatch_new_identity(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_lti11_tenant(lti11MismatchPolicy="newIdentity")
    legacy = unique("legacy-user")
    before = consumer(t_).launch(user_id=legacy)
    after = t_.launch(user="ada", lti1p1=claim_spec(t_, legacy, sign="wrong"))
    assert before.claims["sub"] == legacy
    assert after.claims["sub"] == "user-1001" != before.claims["sub"], after.claims
    assert after.claims["user_id_source"] != "lti1p1", after.claims
    check_mismatch(t_, 1, "signature_differs", "newIdentity", consumer(t_).key)


def test_consumer_key_of_another_registration(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    """A claim signed correctly, but with another registration's consumer key and secret, proves
    nothing about this registration's 1.1 users: a mismatch."""
    mine, theirs = make_lti11_tenant(), make_lti11_tenant()
    legacy = unique("legacy-user")
    spec = claim_spec(mine, legacy, via=consumer(theirs))
    r = mine.attempt(user="ada", lti1p1=spec)
    assert_error(r, 403, "lti11_migration_mismatch")
    check_mismatch(mine, 1, "unknown_consumer_key", "refuse", consumer(theirs).key)
    rep = report(theirs)
    assert rep["verified"] == 0 and rep["mismatched"] == 0, rep
    # mismatches add up; the last one is reported
    assert_error(mine.attempt(user="ada", lti1p1=claim_spec(mine, legacy, sign="wrong")), 403,
                 "lti11_migration_mismatch")
    check_mismatch(mine, 2, "signature_differs", "refuse", consumer(mine).key)


def test_upgrade_report_requires_admin(make_lti11_tenant: t.Callable[..., Tenant]) -> None:
    t_ = make_lti11_tenant()
    path = f"/lti/platforms/{t_.registration['id']}/upgrade-report"
    assert_error(t_.worker.admin("GET", path, token=None), 401, "admin_unauthorized")
    assert_error(t_.worker.admin("GET", path, token="not-the-admin-token"), 401, "admin_unauthorized")
    rep = report(t_)
    assert rep["verified"] == 0 and rep["mismatched"] == 0 and not rep.get("lastMismatch"), rep

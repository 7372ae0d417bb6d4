"""Configuration backup and restore (`GET /lti/backup`, `POST /lti/restore`): one JSON snapshot of
every registration and the deployment settings, tool keys only encrypted; a restore is checked
completely before anything is written, and keeps registration ids (so course categories, and
with them each course's content, stay where they were)."""
from __future__ import annotations

import copy
import hashlib
import json
import typing as t

from ltihelpers import Tenant, Worker, assert_error, assert_ok


def snapshot(worker: Worker) -> t.Dict[str, t.Any]:
    return assert_ok(worker.admin("GET", "/lti/backup"))


def rechecksum(snap: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    """The worker's checksum: SHA-256 over compact, key-sorted JSON of registrations, a newline,
    and the tool keys (what serde_json prints for its sorted maps)."""
    def compact(v: t.Any) -> str:
        return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    h = hashlib.sha256((compact(snap["registrations"]) + "\n" + compact(snap["toolKeys"])).encode())
    snap["checksum"] = h.hexdigest()
    return snap


def test_snapshot_shape_and_no_plain_keys(tenant: Tenant) -> None:
    snap = snapshot(tenant.worker)
    assert snap["format"] == "lti-edge-backup/v1"
    assert snap["settings"]["publicBaseUrl"] == tenant.worker.base
    assert snap["settings"]["nonceStore"] == "kv"
    ids = [r["id"] for r in snap["registrations"]]
    assert tenant.registration["id"] in ids
    ring = snap["toolKeys"]["keys"]
    assert ring and all(k["privateEnc"] and k["iv"] for k in ring)
    text = json.dumps(snap)
    # No private JWK member anywhere: only the AES-GCM ciphertext.
    for member in ('"d":', '"p":', '"q":', '"dp":', '"dq":', '"qi":'):
        assert member not in text, member
    assert rechecksum(copy.deepcopy(snap))["checksum"] == snap["checksum"]


def test_restore_brings_back_a_deleted_registration_with_the_same_categories(tenant: Tenant) -> None:
    before = tenant.launch(course="bio101").claims
    snap = snapshot(tenant.worker)
    rid = tenant.registration["id"]
    assert_ok(tenant.worker.admin("DELETE", f"/lti/platforms/{rid}"))
    refused = tenant.attempt(course="bio101")
    assert refused.status_code in (400, 401), refused.status_code
    data = assert_ok(tenant.worker.admin("POST", "/lti/restore", json=snap))
    assert data["registrations"] == len(snap["registrations"]) and data["keysRestored"] is False
    after = tenant.launch(course="bio101").claims
    assert after["platform_id"] == rid
    assert after["category"] == before["category"]
    assert after["sub"] == before["sub"]
    restored = assert_ok(tenant.worker.admin("GET", f"/lti/platforms/{rid}"))
    original = next(r for r in snap["registrations"] if r["id"] == rid)
    assert restored["createdAt"] == original["createdAt"]
    assert restored["lti13ClientId"] == original["lti13ClientId"]


def test_restore_accepts_the_whole_answer_and_its_own_keys(tenant: Tenant) -> None:
    answer = tenant.worker.admin("GET", "/lti/backup").json()
    answer["restoreKeys"] = True
    data = assert_ok(tenant.worker.admin("POST", "/lti/restore", json=answer))
    assert data["keysRestored"] is True
    # Still signing with the same (restored) key: a launch's session verifies.
    launched = tenant.launch()
    tenant.worker.verify_session(launched.token)


def test_tampered_snapshot_is_refused(tenant: Tenant) -> None:
    snap = snapshot(tenant.worker)
    reg = next(r for r in snap["registrations"] if r["id"] == tenant.registration["id"])
    reg["lti13KeysUrl"] = "https://attacker.example/jwks"
    err = assert_error(tenant.worker.admin("POST", "/lti/restore", json=snap), 400, "request_invalid")
    assert "checksum" in err["fields"]
    current = assert_ok(tenant.worker.admin("GET", f"/lti/platforms/{tenant.registration['id']}"))
    assert current["lti13KeysUrl"] != "https://attacker.example/jwks"


def test_invalid_registration_writes_nothing(make_tenant: t.Callable[..., Tenant]) -> None:
    a, b = make_tenant(), make_tenant()
    snap = snapshot(a.worker)
    ra = next(r for r in snap["registrations"] if r["id"] == a.registration["id"])
    rb = next(r for r in snap["registrations"] if r["id"] == b.registration["id"])
    ra["name"] = "Renamed by the restore"
    rb["lti13KeysUrl"] = "not a url"
    snap["registrations"] = [ra, rb]
    err = assert_error(a.worker.admin("POST", "/lti/restore", json=rechecksum(snap)), 400, "request_invalid")
    assert any(k.startswith("registrations[1].") for k in err["fields"]), err["fields"]
    # All or nothing: the valid one was not written either.
    assert assert_ok(a.worker.admin("GET", f"/lti/platforms/{a.registration['id']}"))["name"] != "Renamed by the restore"


def test_conflicting_issuer_and_client_id_is_refused(tenant: Tenant) -> None:
    snap = snapshot(tenant.worker)
    reg = copy.deepcopy(next(r for r in snap["registrations"] if r["id"] == tenant.registration["id"]))
    reg["id"] = "00000000-0000-4000-8000-000000000000"
    snap["registrations"] = [reg]
    err = assert_error(tenant.worker.admin("POST", "/lti/restore", json=rechecksum(snap)), 400, "request_invalid")
    assert "already registered" in json.dumps(err["fields"])


def test_keys_from_another_deployment_are_refused(tenant: Tenant, worker_durable: Worker) -> None:
    # worker_durable has its own LTI_ENCRYPTION_KEY: its encrypted keys cannot serve here.
    tenant.worker.register(tenant.platform, client_id=tenant.client_id + "-d")  # any registration
    foreign = snapshot(worker_durable)
    snap = snapshot(tenant.worker)
    snap["toolKeys"] = foreign["toolKeys"]
    body = rechecksum(snap)
    body["restoreKeys"] = True
    err = assert_error(tenant.worker.admin("POST", "/lti/restore", json=body), 400, "request_invalid")
    assert "toolKeys" in err["fields"]


def test_bad_requests(tenant: Tenant) -> None:
    assert_error(tenant.worker.admin("GET", "/lti/backup", token=None), 401, "admin_unauthorized")
    assert_error(tenant.worker.admin("POST", "/lti/restore", token="wrong", json={}), 401, "admin_unauthorized")
    err = assert_error(tenant.worker.admin("POST", "/lti/restore", json={"format": "other"}), 400, "request_invalid")
    assert "format" in err["fields"]
    assert_error(tenant.worker.admin("POST", "/lti/restore", data="[1,2]",
                                     headers={"content-type": "application/json"}), 400, "request_invalid")
    assert_error(tenant.worker.admin("PUT", "/lti/restore", json={}), 405, "method_not_allowed")

"""Enrollment with one-time codes, and signed-request authentication (DESIGN §7)."""

from __future__ import annotations

import time

from shared.protocol import ENROLL_PATH, HEARTBEAT_PATH, JOURNAL_PATH
from shared.signing import DeviceKey, key_fingerprint
from tests.central.conftest import Central, Device

BEAT = {"app_version": "test", "outbox_depth": 0, "oldest_unacked_age_s": 0, "last_sync_result": "ok"}
"""A well-formed heartbeat, the cheapest signed request to test authentication with."""


def _enroll(central: Central, code: str, role: str = "pos") -> tuple[int, dict]:
    key = DeviceKey.generate()
    response = central.client.post(ENROLL_PATH, json={"code": code, "public_key": key.public_key_b64(), "role": role, "app_version": "1"})
    return response.status_code, response.json()


def test_enroll_returns_identity_and_pins(central: Central) -> None:
    status, body = _enroll(central, central.enroll_code("kiosk"), "kiosk")
    assert status == 200, body
    assert body["location_id"] == "loc-1" and body["role"] == "kiosk" and body["device_id"].startswith("kiosk-")
    ca_der_fingerprint = body["ca_fingerprint"]
    assert len(ca_der_fingerprint) == 64
    assert central.scalar("SELECT status FROM devices WHERE id = :d", d=body["device_id"]) == "active"
    assert len(key_fingerprint(b"x")) == 32  # the fingerprint helper exists for people comparing by eye


def test_enroll_code_works_once(central: Central) -> None:
    code = central.enroll_code()
    assert _enroll(central, code)[0] == 200
    status, body = _enroll(central, code)
    assert status == 401 and body["code"] == "enroll_code_used"


def test_expired_and_unknown_codes_are_refused(central: Central) -> None:
    expired = central.enroll_code(ttl_s=60, now_s=int(time.time()) - 3600)
    status, body = _enroll(central, expired)
    assert status == 401 and body["code"] == "enroll_code_expired"
    status, body = _enroll(central, "AAAA-BBBB-CCCC")
    assert status == 401 and body["code"] == "enroll_code_invalid"


def test_code_role_must_match(central: Central) -> None:
    status, body = _enroll(central, central.enroll_code("pos"), "kiosk")
    assert status == 409 and body["code"] == "enroll_role_mismatch"


def test_signed_request_accepted(pos: Device) -> None:
    response = pos.request("POST", HEARTBEAT_PATH, BEAT)
    assert response.status_code == 200, response.text
    assert response.json()["device_id"] == pos.device_id


def test_bad_signature_is_401(pos: Device) -> None:
    response = pos.request("POST", HEARTBEAT_PATH, BEAT, key=DeviceKey.generate())
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"


def test_tampered_body_is_401(pos: Device, central: Central) -> None:
    from shared.protocol import sign_request

    headers = sign_request(pos.key, pos.device_id, "POST", JOURNAL_PATH, b'{"entries": []}', int(time.time()))
    response = central.client.post(JOURNAL_PATH, content=b'{"entries": [1]}', headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"


def test_stale_timestamp_is_401(pos: Device) -> None:
    response = pos.request("POST", HEARTBEAT_PATH, BEAT, now_s=int(time.time()) - 301)
    assert response.status_code == 401
    assert response.json()["code"] == "stale_request"
    assert "300" in response.json()["message"]


def test_replayed_nonce_is_401(pos: Device) -> None:
    nonce = "ab" * 16
    assert pos.request("POST", HEARTBEAT_PATH, BEAT, nonce=nonce).status_code == 200
    replay = pos.request("POST", HEARTBEAT_PATH, BEAT, nonce=nonce)
    assert replay.status_code == 401 and replay.json()["code"] == "replayed_nonce"


def test_nonce_of_a_refused_request_is_still_spent(pos: Device) -> None:
    nonce = "cd" * 16
    refused = pos.request("POST", JOURNAL_PATH, raw=b"not json", nonce=nonce)
    assert refused.status_code == 422
    assert pos.request("POST", JOURNAL_PATH, {"entries": []}, nonce=nonce).json()["code"] == "replayed_nonce"


def test_missing_headers_and_unknown_device_are_401(central: Central, pos: Device) -> None:
    response = central.client.post(HEARTBEAT_PATH, json=BEAT)
    assert response.status_code == 401 and "missing authentication header" in response.json()["message"]
    stranger = Device(central, "pos-unknown", DeviceKey.generate(), "pos")
    response = stranger.request("POST", JOURNAL_PATH, {"entries": []})
    assert response.status_code == 401 and response.json()["code"] == "unknown_device"


def test_revoked_device_is_403_at_once(central: Central, pos: Device) -> None:
    from central_server.devices import service

    assert pos.request("POST", HEARTBEAT_PATH, BEAT).status_code == 200
    with central.engine.begin() as conn:
        service.revoke(conn, pos.device_id)
    response = pos.request("POST", HEARTBEAT_PATH, BEAT)
    assert response.status_code == 403 and response.json()["code"] == "device_revoked"

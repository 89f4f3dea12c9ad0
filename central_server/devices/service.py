"""Rules for devices: one-time enrollment codes, enrollment, request authentication,
quarantine and revocation."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from central_server.devices import repository as repo
from central_server.errors import ApiError, Conflict, Forbidden, NotFound, Unauthenticated
from shared.entry import GENESIS_HASH, utc_timestamp
from shared.errors import ValidationError
from shared.ids import new_id
from shared.protocol import MAX_CLOCK_SKEW_S, EnrollRequest, EnrollResponse, SignedRequest, check_signed_request
from shared.signing import decode_b64

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over a phone
CODE_GROUPS, CODE_GROUP_LEN = 3, 4
ROLES = ("pos", "kiosk")
NONCE_SWEEP_ONE_IN = 64
NONCE_PRUNE_LIMIT = 1000  # expired nonces of all devices forgotten per opportunistic call
NONCE_PRUNE_ONE_IN_HEARTBEATS = 16  # the all-devices prune scans (no index on seen_at_s), so not every time


@dataclass(frozen=True, slots=True)
class AuthedDevice:
    id: str
    location_id: str
    role: str


def _code_digest(code: str) -> str:
    normalised = code.strip().upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def create_enroll_code(conn: Connection, *, location_id: str, role: str, ttl_s: int, now_s: int | None = None) -> tuple[str, int]:
    """A fresh one-time code for ``location_id`` (only its digest is stored) and its expiry."""
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not repo.location_exists(conn, location_id):
        raise NotFound(f"there is no location {location_id!r}; create it with `cafe central add-node` first")
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LEN))
    code = "-".join(raw[i:i + CODE_GROUP_LEN] for i in range(0, len(raw), CODE_GROUP_LEN))
    expires_at_s = (now_s or int(time.time())) + ttl_s
    repo.insert_enroll_code(
        conn, code_sha256=_code_digest(code), location_id=location_id, role=role,
        expires_at_s=expires_at_s, created_at=utc_timestamp(),
    )
    return code, expires_at_s


def enroll(conn: Connection, request: EnrollRequest, *, ca_fingerprint: str, central_public_key: str) -> EnrollResponse:
    """Use a one-time code once: register the device's public key at the code's location."""
    public_key = decode_b64(request.public_key, "public_key")
    if len(public_key) != 32:
        raise ValidationError("public_key must be a 32-byte Ed25519 key in URL-safe base64")
    digest = _code_digest(request.code)
    device_id = f"{request.role}-{new_id()}"
    now = utc_timestamp()
    claimed = repo.claim_enroll_code(conn, code_sha256=digest, now_s=int(time.time()), device_id=device_id, used_at=now)
    if claimed is None:
        existing = repo.enroll_code(conn, digest)
        if existing is None:
            raise Unauthenticated("unknown enrollment code", code="enroll_code_invalid")
        if existing.used_at is not None:
            raise Unauthenticated("this enrollment code was already used", code="enroll_code_used")
        raise Unauthenticated("this enrollment code has expired; ask for a new one", code="enroll_code_expired")
    if claimed.role != request.role:
        raise Conflict(f"this code enrolls a {claimed.role}, not a {request.role}", code="enroll_role_mismatch")
    repo.insert_device(
        conn, id=device_id, location_id=claimed.location_id, role=request.role, public_key=request.public_key,
        status="active", app_version=request.app_version[:64], hostname=request.hostname[:255], enrolled_at=now,
        last_seq=0, last_hash=GENESIS_HASH, last_seen_at=now,
    )
    repo.insert_event(conn, kind="device_enrolled", device_id=device_id, detail=f"{request.role} at {claimed.location_id}", created_at=now)
    return EnrollResponse(
        device_id=device_id, location_id=claimed.location_id, role=request.role,
        ca_fingerprint=ca_fingerprint, central_public_key=central_public_key,
    )


def authenticate(conn: Connection, signed: SignedRequest, *, method: str, path: str, body: bytes, now_s: int) -> AuthedDevice:
    """Check signature, freshness and nonce of one request, and that the device may act."""
    device = repo.get_device(conn, signed.device_id)
    if device is None:
        raise Unauthenticated(f"unknown device {signed.device_id[:128]!r}", code="unknown_device")
    if device.status != "active":
        raise Forbidden(f"device {device.id} is {device.status}", code=f"device_{device.status}")
    reason = check_signed_request(decode_b64(device.public_key), signed, method, path, body, now_s)
    if reason is not None:
        raise Unauthenticated(reason, code="bad_signature" if "signature" in reason else "stale_request")
    if not repo.remember_nonce(conn, device.id, signed.nonce, now_s):
        raise Unauthenticated("this nonce was already used (replayed request)", code="replayed_nonce")
    if secrets.randbelow(NONCE_SWEEP_ONE_IN) == 0:
        repo.forget_nonces_before(conn, device.id, nonce_horizon_s(now_s))
    repo.touch(conn, device.id, utc_timestamp())
    return AuthedDevice(device.id, device.location_id, device.role)


def nonce_horizon_s(now_s: int) -> int:
    """Nonces seen before this can be forgotten.

    A request is accepted while its timestamp is within MAX_CLOCK_SKEW_S of central's clock,
    and a nonce was stored at most MAX_CLOCK_SKEW_S after its timestamp: one older than twice
    the skew can never pass the timestamp check again, so nothing can replay it.
    """
    return now_s - 2 * MAX_CLOCK_SKEW_S


def prune_nonces(conn: Connection, *, now_s: int, limit: int = NONCE_PRUNE_LIMIT) -> int:
    """Forget at most ``limit`` expired nonces of any device (for a scheduled job or an opportunistic call)."""
    return repo.prune_nonces(conn, nonce_horizon_s(now_s), limit)


def quarantine(conn: Connection, device_id: str, reason: str) -> None:
    """Stop an active device at once and raise a significant event."""
    if repo.set_status(conn, device_id, "quarantined", only_from=("active",)):
        repo.insert_event(conn, kind="device_quarantined", device_id=device_id, detail=reason, created_at=utc_timestamp())


def revoke(conn: Connection, device_id: str) -> None:
    if repo.get_device(conn, device_id) is None:
        raise NotFound(f"there is no device {device_id!r}")
    if repo.set_status(conn, device_id, "revoked", only_from=("active", "quarantined")):
        repo.insert_event(conn, kind="device_revoked", device_id=device_id, detail="revoked by an administrator",
                          created_at=utc_timestamp())


class Quarantined(ApiError):
    """A batch refused for a broken chain, fork or bad signature: the device is quarantined."""

    code = "rejected"
    http_status = 409

    def __init__(self, device_id: str, reason: str, extra: dict[str, object]):
        super().__init__(f"batch rejected and device quarantined: {reason}", extra=extra)
        self.device_id = device_id
        self.reason = reason

    def after_rollback(self, engine: Engine) -> None:
        with engine.begin() as conn:
            quarantine(conn, self.device_id, self.reason)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    app_version: str
    outbox_depth: int
    oldest_unacked_age_s: int
    last_sync_result: str


def record_heartbeat(conn: Connection, device: AuthedDevice, report: Heartbeat, *, ip: str) -> None:
    """Keep the device's latest report; a device speaking from a new address is a significant event."""
    now = utc_timestamp()
    previous = repo.last_heartbeat(conn, device.id)
    if previous is not None and previous.ip != ip:
        repo.insert_event(conn, kind="device_new_ip", device_id=device.id,
                          detail=f"heartbeat from {ip}; the last one came from {previous.ip}", created_at=now)
    repo.save_heartbeat(conn, device_id=device.id, received_at=now, ip=ip, app_version=report.app_version,
                        outbox_depth=report.outbox_depth, oldest_unacked_age_s=report.oldest_unacked_age_s,
                        last_sync_result=report.last_sync_result)
    # Housekeeping rides on heartbeats until a scheduled job does it: this device's expired
    # nonces (a primary-key range), and now and then a bounded batch of everyone's.
    now_s = int(time.time())
    repo.forget_nonces_before(conn, device.id, nonce_horizon_s(now_s))
    if secrets.randbelow(NONCE_PRUNE_ONE_IN_HEARTBEATS) == 0:
        prune_nonces(conn, now_s=now_s)

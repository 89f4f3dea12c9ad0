"""The wire contract between devices and central: paths, headers, request signing and
the shapes of the ingest exchange (DESIGN §4, §7).

Both the sync client and the server import this module, so the bytes a device signs and
the bytes central checks are made by the same function.

Every device request carries four headers: the device id, a Unix timestamp in seconds,
a random nonce, and an Ed25519 signature over :func:`request_message` (method, path with
query, timestamp, nonce and the SHA-256 of the body). Central refuses a bad signature,
a timestamp more than ``MAX_CLOCK_SKEW_S`` away from its clock, and a nonce it has seen.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal

from shared.canonical import canonical_json, sha256_hex
from shared.errors import ValidationError
from shared.signing import DeviceKey, verify

API = "/api/v1"
ENROLL_PATH = f"{API}/enroll"
"""POST (unsigned, authorised by the one-time code): ``EnrollRequest`` → ``EnrollResponse``."""
JOURNAL_PATH = f"{API}/journal"
"""POST (signed): ``{"entries": [entry JSON…], "head": {seq, hash, signature}}`` → ``IngestResponse``."""
CA_PATH = f"{API}/ca.pem"
"""GET (unsigned): central's CA certificate; devices pin its SHA-256 fingerprint at enrollment."""
HEARTBEAT_PATH = f"{API}/heartbeat"
"""POST (signed): device id, app version, outbox depth, oldest unacknowledged age, last sync result."""
PLAYERS_PATH = f"{API}/players"
"""POST (signed): register a player; GET ``/players/by-card/{card}`` or ``/players/{id}``: player and wallet balance."""
CHECKOUT_PATH = f"{API}/sessions/checkout"
"""POST (signed, kiosk): ``{request_id, session_id, player_id, amount_units|null}``: wallet → ``escrow:<session_id>``."""
TICKET_IN_PATH = f"{API}/sessions/ticket-in"
"""POST (signed, kiosk): ``{request_id, session_id, voucher_id}``: the voucher issued → redeemed and its whole
balance ``voucher:<id>`` → ``escrow:<session_id>``, once (decision 0007)."""
VOUCHER_REDEEM_PATH = f"{API}/vouchers/redeem"
"""POST (signed): ``{request_id, voucher_id}``: issued → redeemed, once."""

HEADER_DEVICE = "X-Cafe-Device"
HEADER_TIMESTAMP = "X-Cafe-Timestamp"
HEADER_NONCE = "X-Cafe-Nonce"
HEADER_SIGNATURE = "X-Cafe-Signature"

MAX_CLOCK_SKEW_S = 300
MAX_BATCH_ENTRIES = 1000
"""Entries per ingest request; a larger batch is refused with 413.

A backlog is pushed in batches of this size (``sync.engine.DEFAULT_BATCH``), and each
request costs central a fixed few milliseconds (TLS, the framework, authentication, the
commit) on top of its entries: doubling the bound from 500 cut a 10,000-entry catch-up
from about 2.0x central's own insert to about 1.8x. A batch of 1,000 sales is about
770 KB (MAX_BODY_BYTES bounds any batch) and holds SQLite's write lock for about 35 ms."""
MAX_BODY_BYTES = 4 * 1024 * 1024
NONCE_BYTES = 16


def request_message(method: str, path: str, timestamp_s: int, nonce: str, body: bytes) -> bytes:
    """The exact bytes a device signs for one request. ``path`` includes any query string."""
    return canonical_json({
        "purpose": "cafesuite-request",
        "method": method.upper(),
        "path": path,
        "timestamp": timestamp_s,
        "nonce": nonce,
        "body_sha256": sha256_hex(body),
    })


def sign_request(
    key: DeviceKey, device_id: str, method: str, path: str, body: bytes, now_s: int, nonce: str | None = None,
) -> dict[str, str]:
    """Headers that authenticate one request."""
    nonce = nonce or secrets.token_hex(NONCE_BYTES)
    return {
        HEADER_DEVICE: device_id,
        HEADER_TIMESTAMP: str(now_s),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: key.sign(request_message(method, path, now_s, nonce, body)),
    }


@dataclass(frozen=True, slots=True)
class SignedRequest:
    device_id: str
    timestamp_s: int
    nonce: str
    signature: str


def parse_auth_headers(headers: Any) -> SignedRequest:
    """Read the four auth headers (any mapping with ``get``); refuse missing or malformed ones."""
    values = {name: headers.get(name) for name in (HEADER_DEVICE, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ValidationError(f"missing authentication header(s): {', '.join(missing)}")
    timestamp = values[HEADER_TIMESTAMP]
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise ValidationError(f"{HEADER_TIMESTAMP} must be Unix seconds")
    nonce = values[HEADER_NONCE]
    if len(nonce) != 2 * NONCE_BYTES or any(c not in "0123456789abcdef" for c in nonce):
        raise ValidationError(f"{HEADER_NONCE} must be {2 * NONCE_BYTES} lower-case hex digits")
    return SignedRequest(values[HEADER_DEVICE], int(timestamp), nonce, values[HEADER_SIGNATURE])


def check_signed_request(
    public_key: bytes, signed: SignedRequest, method: str, path: str, body: bytes, now_s: int,
) -> str | None:
    """``None`` when the request is authentic and fresh, else the reason to refuse it.

    Nonce reuse is not decided here: central remembers nonces in its database so that
    every instance agrees.
    """
    if abs(now_s - signed.timestamp_s) > MAX_CLOCK_SKEW_S:
        return f"timestamp is more than {MAX_CLOCK_SKEW_S} s away from central's clock"
    if not verify(public_key, request_message(method, path, signed.timestamp_s, signed.nonce, body), signed.signature):
        return "signature does not verify"
    return None


# -- enrollment -------------------------------------------------------------------------

DeviceRole = Literal["pos", "kiosk"]


@dataclass(frozen=True, slots=True)
class EnrollRequest:
    code: str
    public_key: str          # device Ed25519 public key, URL-safe base64 (DeviceKey.public_key_b64)
    role: DeviceRole
    app_version: str
    hostname: str = ""


@dataclass(frozen=True, slots=True)
class EnrollResponse:
    device_id: str
    location_id: str
    role: DeviceRole
    ca_fingerprint: str      # SHA-256 hex of central's CA certificate (DER), to pin TLS
    central_public_key: str  # central's Ed25519 signing key, URL-safe base64


# -- ingest -------------------------------------------------------------------------------

EntryStatus = Literal["applied", "duplicate"]
BatchStatus = Literal["ok", "gap", "rejected"]


@dataclass(frozen=True, slots=True)
class EntryResult:
    seq: int
    id: str
    status: EntryStatus


@dataclass(frozen=True, slots=True)
class IngestResponse:
    """What central did with one batch.

    * ``ok``: every entry is ``applied`` or ``duplicate``; ``acked_through`` is the device's
      highest seq central now holds, so the device may mark its outbox up to there.
    * ``gap``: nothing applied; resend from ``expected_seq`` (HTTP 409).
    * ``rejected``: fork, broken chain or bad head signature; nothing applied and the
      device is quarantined (HTTP 409); ``reason`` says which.
    """

    status: BatchStatus
    results: tuple[EntryResult, ...]
    acked_through: int
    expected_seq: int | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "results": [{"seq": r.seq, "id": r.id, "status": r.status} for r in self.results],
            "acked_through": self.acked_through,
            "expected_seq": self.expected_seq,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Any) -> IngestResponse:
        if not isinstance(data, dict) or data.get("status") not in ("ok", "gap", "rejected"):
            raise ValidationError(f"not an ingest response: {data!r}")
        try:
            return cls(
                status=data["status"],
                results=tuple(EntryResult(int(r["seq"]), str(r["id"]), r["status"]) for r in data.get("results") or []),
                acked_through=int(data.get("acked_through") or 0),
                expected_seq=None if data.get("expected_seq") is None else int(data["expected_seq"]),
                reason=data.get("reason"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"malformed ingest response: {exc}") from exc


# -- pulls (issue 4) ------------------------------------------------------------------------

DEVICE_CONFIG_PATH = f"{API}/device/config"
"""GET (signed): ``shared.device_config.DeviceConfig`` JSON of the device's location, with
``ETag: "<DeviceConfig.etag()>"``; ``If-None-Match`` with that tag → 304 and no body."""


# -- games and pools (issue 6) ----------------------------------------------------------------

GAMES_CATALOG_PATH = f"{API}/games/catalog"
"""GET (signed): ``{"games": [catalog entry + package_sha256, package_size, signature]}`` with a strong
``ETag``; ``If-None-Match`` with that tag → 304 and no body."""
GAME_PACKAGES_PATH = f"{API}/games/packages"
"""GET ``/{sha256}`` (public, immutable): the package bytes (``shared.games.package``)."""
POOLS_PATH = f"{API}/pools"
"""GET ``/{pool_id}`` (public): commitment and prize table; once the pool is spent, the reveal."""
POOL_DEAL_PATH = f"{API}/pools/deal"
"""POST (signed, kiosk): ``{request_id, session_id, game_id, count}`` → the dealt entries (idempotent by request_id)."""

# -- online payments (issue 8) --------------------------------------------------------------
PAYMENTS_PATH = f"{API}/payments"
"""POST (signed): start a top-up; GET ``{PAYMENTS_PATH}/{id}?wait_s=N`` (signed): its status, long-polled."""
PAYMENT_WEBHOOKS_PATH = f"{API}/payments/webhooks"
"""POST ``{PAYMENT_WEBHOOKS_PATH}/{provider}/{account_id}``: provider deliveries (authenticated by their signature)."""

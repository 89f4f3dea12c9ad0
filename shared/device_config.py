"""What a device pulls from central and keeps in its encrypted cache (DESIGN §4, §5).

One document per location: its limits, its staff with their argon2 PIN hashes (so a
cashier can log in while the line is down), the sale presets and the devices central
has revoked. Central builds it (``central_server/device_config``), the sync client
caches it (``sync/cache.py``) and the apps read only the cached copy.

The ETag of a document is the SHA-256 of its canonical JSON, so an unchanged pull is a
304 with no body, and both sides compute the same tag without sharing any state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from shared.canonical import canonical_json, sha256_hex
from shared.entry import parse_utc_timestamp
from shared.errors import ValidationError

STAFF_ROLES = ("cashier", "manager", "owner", "technician")


@dataclass(frozen=True)
class Limits:
    """Per-location limits; central resolves each from the nearest node up the tree that sets it."""

    daily_sales_limit_units: int = 500_000_00  # credits a location may sell in one day
    offline_budget_units: int = 50_000_00  # credits one POS may sell per shift while offline
    shift_limit_units: int = 200_000_00  # credits one cashier may sell in one shift
    payout_approval_units: int = 500_00  # a payout above this needs a manager
    payment_review_units: int = 200_00  # an online top-up above this waits for a person
    shortage_approval_units: int = 20_00  # a drawer difference above this needs a manager
    offline_voucher_limit_units: int = 100_00  # largest voucher a POS pays while offline
    void_window_s: int = 600  # how long after a sale it may still be voided
    screen_lock_s: int = 300  # POS locks itself after this much idle time
    pin_max_failures: int = 5  # failed PIN attempts within pin_failure_window_s before a lockout
    pin_failure_window_s: int = 600
    pin_lockout_s: int = 900
    reality_check_minutes: int = 30  # kiosk reminder interval
    kiosk_idle_cashout_s: int = 180  # an idle kiosk session checks the escrow back into the wallet
    voucher_expiry_days: int = 90
    age_of_majority_years: int = 18

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def voucher_expires_at(self, issued_at: str) -> datetime:
        """When a ticket printed at ``issued_at`` (a ``utc_timestamp``) stops being payable, at the counter or a kiosk."""
        return parse_utc_timestamp(issued_at) + timedelta(days=self.voucher_expiry_days)

    def voucher_expired(self, issued_at: str, now: datetime) -> bool:
        return now > self.voucher_expires_at(issued_at)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        """Limits from a pulled document; names this version does not know are ignored, so a
        device keeps working when central starts sending a limit added after it was built."""
        known = {name: value for name, value in data.items() if name in cls.names()}
        for name, value in known.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationError(f"limits: {name} must be a non-negative integer")
        return cls(**known)


@dataclass(frozen=True)
class StaffMember:
    id: str
    name: str
    role: str
    pin_hash: str  # argon2id, verified on the device

    def __post_init__(self) -> None:
        if self.role not in STAFF_ROLES:
            raise ValidationError(f"staff {self.id}: unknown role {self.role!r}")
        if not self.pin_hash.startswith("$argon2"):
            raise ValidationError(f"staff {self.id}: PIN hash is not an argon2 hash")


@dataclass(frozen=True)
class DeviceConfig:
    location_id: str
    location_name: str
    currency: str  # the cash currency of the location, e.g. "USD"
    limits: Limits = field(default_factory=Limits)
    staff: tuple[StaffMember, ...] = ()
    sale_presets_units: tuple[int, ...] = (10_00, 20_00, 50_00, 100_00)
    revoked_devices: tuple[str, ...] = ()
    # (kiosk device id, Ed25519 public key in URL-safe base64) of the location's active kiosks, for
    # a POS only: it checks a cash-out ticket's signature itself, so it can pay one offline (DESIGN §5).
    kiosk_keys: tuple[tuple[str, str], ...] = ()
    # Online top-up providers this device may offer ("stripe", "btcpay"): what the location allows on
    # the device's channel and has an account for. Central checks again at creation; this only shapes the screen.
    topup_providers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["staff"] = [asdict(s) for s in self.staff]
        data["sale_presets_units"] = list(self.sale_presets_units)
        data["revoked_devices"] = list(self.revoked_devices)
        data["kiosk_keys"] = dict(self.kiosk_keys)
        data["topup_providers"] = list(self.topup_providers)
        return data

    def kiosk_key(self, kiosk_id: str) -> str | None:
        return dict(self.kiosk_keys).get(kiosk_id)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeviceConfig:
        try:
            return cls(
                location_id=str(data["location_id"]),
                location_name=str(data["location_name"]),
                currency=str(data["currency"]),
                limits=Limits.from_dict(dict(data.get("limits", {}))),
                staff=tuple(StaffMember(**s) for s in data.get("staff", [])),
                sale_presets_units=tuple(int(v) for v in data.get("sale_presets_units", [])),
                revoked_devices=tuple(str(v) for v in data.get("revoked_devices", [])),
                kiosk_keys=tuple(sorted((str(k), str(v)) for k, v in dict(data.get("kiosk_keys", {})).items())),
                topup_providers=tuple(str(v) for v in data.get("topup_providers", [])),
            )
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"device config: malformed ({exc})") from exc

    def etag(self) -> str:
        return sha256_hex(canonical_json(self.to_json()))

    def staff_member(self, staff_id: str) -> StaffMember | None:
        return next((s for s in self.staff if s.id == staff_id), None)

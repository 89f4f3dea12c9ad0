"""Console actions on the fleet and on what devices pull: devices, enrollment codes, limits,
staff, and the review of exceptions and significant events. Each one calls the area that
owns the rule (``devices.service``, ``device_config.service``) and writes its audit row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from central_server.audit.log import Actor, record
from central_server.console import repository as repo
from central_server.device_config import repository as config_repo
from central_server.device_config import service as config
from central_server.devices import repository as devices_repo
from central_server.devices import service as devices
from central_server.errors import Conflict, NotFound
from central_server.payments import rules as payment_rules
from central_server.payments import service as payments
from shared.bodies import check_text
from shared.device_config import Limits
from shared.entry import utc_timestamp
from shared.errors import ValidationError
from shared.money import CREDITS, Money, format_units

# -- devices ----------------------------------------------------------------------------------


def _device(conn: Connection, device_id: str) -> Any:
    row = devices_repo.get_device(conn, device_id)
    if row is None:
        raise NotFound(f"there is no device {device_id!r}")
    return row


def enroll_code(conn: Connection, actor: Actor, *, location_id: str, role: str, ttl_s: int) -> tuple[str, int]:
    code, expires_at_s = devices.create_enroll_code(conn, location_id=location_id, role=role, ttl_s=ttl_s)
    record(conn, actor, action="enroll_code_created", target=f"{role} at {location_id}", node_id=location_id,
           after={"role": role, "expires_at_s": expires_at_s})
    return code, expires_at_s


def revoke(conn: Connection, actor: Actor, device_id: str) -> None:
    before = _device(conn, device_id)
    devices.revoke(conn, device_id)
    record(conn, actor, action="device_revoked", target=f"device {device_id}", node_id=before.location_id,
           before={"status": before.status}, after={"status": "revoked"})


def quarantine(conn: Connection, actor: Actor, device_id: str, reason: str) -> None:
    before = _device(conn, device_id)
    if before.status != "active":
        raise Conflict(f"device {device_id} is {before.status}; only an active device can be quarantined")
    reason = check_text(reason or "quarantined from the console", "the reason")
    devices.quarantine(conn, device_id, f"{reason} (by {actor.name})")
    record(conn, actor, action="device_quarantined", target=f"device {device_id}", node_id=before.location_id,
           before={"status": before.status}, after={"status": "quarantined", "reason": reason})


def release(conn: Connection, actor: Actor, device_id: str, note: str) -> None:
    """Let a quarantined device talk again (after a person looked at why it was stopped)."""
    before = _device(conn, device_id)
    note = check_text(note, "the note saying why it is safe to release")
    if not devices_repo.set_status(conn, device_id, "active", only_from=("quarantined",)):
        raise Conflict(f"device {device_id} is {before.status}; only a quarantined device can be released")
    devices_repo.insert_event(conn, kind="device_released", device_id=device_id, detail=f"{note} (by {actor.name})",
                              created_at=utc_timestamp())
    record(conn, actor, action="device_released", target=f"device {device_id}", node_id=before.location_id,
           before={"status": before.status}, after={"status": "active", "note": note})


# -- limits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitRow:
    name: str
    label: str
    value: int
    shown: str  # the value as a person reads and types it
    set_here: bool
    unit: str  # "credits", "seconds" …


_LABELS = {
    "daily_sales_limit_units": "Daily sales limit (per location)",
    "offline_budget_units": "Offline budget (per POS, per shift)",
    "shift_limit_units": "Shift limit (per cashier)",
    "payout_approval_units": "Payout approval threshold",
    "shortage_approval_units": "Drawer shortage approval threshold",
    "offline_voucher_limit_units": "Largest voucher paid offline",
    "void_window_s": "Void window",
    "screen_lock_s": "POS screen lock after idle",
    "pin_max_failures": "PIN failures before lockout",
    "pin_failure_window_s": "PIN failure window",
    "pin_lockout_s": "PIN lockout",
    "reality_check_minutes": "Reality-check interval",
    "kiosk_idle_cashout_s": "Idle kiosk session checked back in after",
    "voucher_expiry_days": "Voucher expiry",
    "age_of_majority_years": "Age of majority",
}


def _label(name: str) -> str:
    """A person's name for a limit; one added elsewhere without a label still reads as words."""
    if name in _LABELS:
        return _LABELS[name]
    words = name.removesuffix("_units").removesuffix("_s").replace("_", " ")
    return words[:1].upper() + words[1:]


def limit_unit(name: str) -> str:
    for suffix, unit in (("_units", "credits"), ("_s", "seconds"), ("_minutes", "minutes"), ("_days", "days"), ("_years", "years")):
        if name.endswith(suffix):
            return unit
    return "count"


def parse_limit(name: str, text: str) -> int:
    """What a person typed for a limit, in the limit's own unit: credits as "500.00", the rest whole numbers."""
    if name not in Limits.names():
        raise ValidationError(f"unknown limit {name!r}")
    text = text.strip()
    if limit_unit(name) == "credits":
        return Money.parse(text, CREDITS).units
    if not text.isdigit():
        raise ValidationError(f"{_label(name)} must be a whole number")
    return int(text)


def limits_of(conn: Connection, node_id: str) -> list[LimitRow]:
    """Every limit as it applies at ``node_id`` (nearest node up the tree that sets it, else the default)."""
    path = config_repo.path_to_root(conn, node_id)
    rows = [(r.node_id, r.name, int(r.value)) for r in config_repo.limits_set_on(conn, path)]
    effective = config.resolve_limits(path, rows)
    here = {name for n, name, _ in rows if n == node_id}
    out = []
    for name in Limits.names():
        value = int(getattr(effective, name))
        unit = limit_unit(name)
        shown = format_units(value, CREDITS) if unit == "credits" else str(value)
        out.append(LimitRow(name, _label(name), value, shown, name in here, unit))
    return out


def set_limit(conn: Connection, actor: Actor, node_id: str, name: str, text: str) -> None:
    value = parse_limit(name, text)
    before = {r.name: r.value for r in limits_of(conn, node_id)}.get(name)
    config.set_limit(conn, node_id, name, value)
    record(conn, actor, action="limit_set", target=f"{name} at {node_id}", node_id=node_id,
           before={name: before}, after={name: value})


def clear_limit(conn: Connection, actor: Actor, node_id: str, name: str) -> None:
    before = {r.name: r.value for r in limits_of(conn, node_id)}.get(name)
    if not config.clear_limit(conn, node_id, name):
        raise ValidationError(f"{_label(name)} is not set at {node_id}; it is inherited")
    record(conn, actor, action="limit_cleared", target=f"{name} at {node_id}", node_id=node_id, before={name: before},
           after={name: {r.name: r.value for r in limits_of(conn, node_id)}.get(name)})


# -- online top-up channels ---------------------------------------------------------------------

CHANNEL_LABELS = {"pos": "At the counter (POS, a signed-in cashier, manager or owner)", "kiosk": "Player self top-up at kiosks"}
PROVIDER_LABELS = {"stripe": "Card (Stripe)", "btcpay": "Crypto (BTCPay)"}


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    label: str
    offered: tuple[str, ...]  # as it applies at this node
    set_here: bool


def topup_channels_of(conn: Connection, node_id: str) -> list[ChannelRow]:
    rows = []
    for channel in payment_rules.CHANNELS:
        offered = payments.offered_providers(conn, node_id, channel)
        rows.append(ChannelRow(channel, CHANNEL_LABELS[channel], tuple(p for p in payments.PROVIDERS if p in offered),
                               payments.channel_setting(conn, node_id, channel) is not None))
    return rows


def set_topup_channel(conn: Connection, actor: Actor, node_id: str, channel: str, providers: list[str], *, inherit: bool) -> None:
    """Which providers a channel offers at ``node_id`` and below (none: switched off), or back to inheriting."""
    if channel not in payment_rules.CHANNELS:
        raise ValidationError(f"unknown top-up channel {channel!r}")
    before = sorted(payments.offered_providers(conn, node_id, channel))
    payments.set_channel(conn, node_id, channel, None if inherit else frozenset(providers))
    record(conn, actor, action="topup_channel_inherited" if inherit else "topup_channel_set", target=f"{channel} at {node_id}",
           node_id=node_id, before={channel: before}, after={channel: sorted(payments.offered_providers(conn, node_id, channel))})


# -- staff ------------------------------------------------------------------------------------


def add_staff(conn: Connection, actor: Actor, *, location_id: str, name: str, role: str, pin: str) -> str:
    staff_id = config.add_staff(conn, location_id=location_id, name=name, role=role, pin=pin)
    record(conn, actor, action="staff_added", target=f"staff {staff_id}", node_id=location_id,
           after={"name": config.check_staff_name(name), "role": role})  # never the PIN
    return staff_id


def set_pin(conn: Connection, actor: Actor, staff_id: str, pin: str) -> None:
    location = repo.staff_location(conn, staff_id)
    config.set_pin(conn, staff_id, pin)
    record(conn, actor, action="staff_pin_set", target=f"staff {staff_id}", node_id=location, after={"pin": "changed"})


def deactivate_staff(conn: Connection, actor: Actor, staff_id: str) -> None:
    location = repo.staff_location(conn, staff_id)
    config.deactivate_staff(conn, staff_id)
    record(conn, actor, action="staff_deactivated", target=f"staff {staff_id}", node_id=location,
           before={"active": True}, after={"active": False})


# -- exceptions and significant events --------------------------------------------------------


def acknowledge(conn: Connection, actor: Actor, *, source: str, ref_id: int, note: str, node_id: str | None) -> None:
    """A review note on an event or exception: who looked, when, and what they concluded."""
    if source not in ("event", "exception"):
        raise ValidationError("source is event or exception")
    note = check_text(note, "the note", max_len=2000)
    exists, device_id = repo.event_device(conn, source, ref_id)
    if not exists:
        raise NotFound(f"there is no {source} {ref_id}")
    if node_id is None and device_id is not None:
        node_id = repo.device_location(conn, device_id)  # so the location's own people can read the note in the audit log
    repo.insert_review(conn, source=source, ref_id=ref_id, note=note, user_id=actor.user_id or 0, username=actor.name,
                       created_at=utc_timestamp())
    record(conn, actor, action=f"{source}_acknowledged", target=f"{source} {ref_id}", node_id=node_id, after={"note": note})

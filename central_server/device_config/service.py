"""Rules for what devices pull: a location's staff and PINs, limits along the tree, the config document.

The CLI (``cafe central add-staff|set-limit``) and the web console call these same
functions, so a rule (a PIN is 4–8 digits, a limit is a known name with a whole,
non-negative value) lives here once. None of them commits: the caller owns the
transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from central_server.admin.service import hash_password
from central_server.device_config import repository as repo
from central_server.errors import Conflict, NotFound
from central_server.payments import service as payments
from shared.device_config import STAFF_ROLES, DeviceConfig, Limits, StaffMember
from shared.entry import utc_timestamp
from shared.errors import ValidationError
from shared.ids import new_id

PIN_MIN_DIGITS, PIN_MAX_DIGITS = 4, 8
MAX_NAME_CHARS = 200
MAX_LIMIT_VALUE = 2**53  # stays exact in every JSON reader a console might use


def check_pin(pin: str) -> str:
    """The PIN itself when it is 4–8 ASCII digits; a ValidationError that never echoes it otherwise."""
    if not (isinstance(pin, str) and pin.isascii() and pin.isdigit() and PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS):
        raise ValidationError(f"a PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits")
    return pin


def check_staff_name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise ValidationError("a staff member needs a name")
    if len(cleaned) > MAX_NAME_CHARS:
        raise ValidationError(f"a staff name is at most {MAX_NAME_CHARS} characters")
    return cleaned


def check_role(role: str) -> str:
    if role not in STAFF_ROLES:
        raise ValidationError(f"role must be one of {', '.join(STAFF_ROLES)}, got {role!r}")
    return role


def check_limit(name: str, value: Any) -> tuple[str, int]:
    if name not in Limits.names():
        raise ValidationError(f"unknown limit {name!r}; known limits: {', '.join(Limits.names())}")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LIMIT_VALUE:
        raise ValidationError(f"limit {name} must be a whole number from 0 to {MAX_LIMIT_VALUE}, got {value!r}")
    return name, value


def _location(conn: Connection, location_id: str) -> Any:
    node = repo.node(conn, location_id)
    if node is None or node.kind != "location":
        raise NotFound(f"there is no location {location_id!r}")
    return node


# -- staff ------------------------------------------------------------------------------------

def add_staff(conn: Connection, *, location_id: str, name: str, role: str, pin: str) -> str:
    """A new active staff member of a location; returns its id. Only the argon2id hash of the PIN is kept."""
    _location(conn, location_id)
    name, role, pin = check_staff_name(name), check_role(role), check_pin(pin)
    staff_id = new_id()
    now = utc_timestamp()
    repo.insert_staff(conn, id=staff_id, location_id=location_id, name=name, role=role, pin_hash=hash_password(pin),
                      active=True, created_at=now, updated_at=now)
    return staff_id


def set_pin(conn: Connection, staff_id: str, pin: str) -> None:
    """Replace an active staff member's PIN (devices get the new hash on their next pull)."""
    pin_hash = hash_password(check_pin(pin))
    if not repo.update_staff(conn, staff_id, only_active=True, pin_hash=pin_hash, updated_at=utc_timestamp()):
        _refuse_staff_change(conn, staff_id)


def deactivate_staff(conn: Connection, staff_id: str) -> None:
    """Take a staff member off every device of the location at their next pull (the row is kept)."""
    if not repo.update_staff(conn, staff_id, only_active=True, active=False, updated_at=utc_timestamp()):
        _refuse_staff_change(conn, staff_id)


def _refuse_staff_change(conn: Connection, staff_id: str) -> None:
    if repo.staff_member(conn, staff_id) is None:
        raise NotFound(f"there is no staff member {staff_id!r}")
    raise Conflict(f"staff member {staff_id} is deactivated", code="staff_inactive")


# -- limits -----------------------------------------------------------------------------------

def set_limit(conn: Connection, node_id: str, name: str, value: int) -> None:
    """Set one limit on a node; it applies to every location below that does not set it closer."""
    name, value = check_limit(name, value)
    if repo.node(conn, node_id) is None:
        raise NotFound(f"there is no node {node_id!r}")
    repo.upsert_limit(conn, node_id=node_id, name=name, value=value, updated_at=utc_timestamp())


def clear_limit(conn: Connection, node_id: str, name: str) -> bool:
    """Stop setting a limit on a node (the next one up, or the default, applies); True if it was set."""
    if name not in Limits.names():
        raise ValidationError(f"unknown limit {name!r}")
    return repo.delete_limit(conn, node_id, name)


def resolve_limits(path_nearest_first: list[str], rows: list[tuple[str, str, int]]) -> Limits:
    """Each limit from the nearest node on the path that sets it, else the default (pure)."""
    rank = {node_id: i for i, node_id in enumerate(path_nearest_first)}
    chosen: dict[str, tuple[int, int]] = {}
    known = set(Limits.names())
    for node_id, name, value in rows:
        # A row for a limit this version no longer knows must not stop every device of the subtree.
        if name not in known or node_id not in rank:
            continue
        if name not in chosen or rank[node_id] < chosen[name][0]:
            chosen[name] = (rank[node_id], int(value))
    return Limits.from_dict({name: value for name, (_, value) in chosen.items()})


def effective_limits(conn: Connection, location_id: str) -> Limits:
    _location(conn, location_id)
    path = repo.path_to_root(conn, location_id)
    rows = [(r.node_id, r.name, int(r.value)) for r in repo.limits_set_on(conn, path)]
    return resolve_limits(path, rows)


# -- the document -----------------------------------------------------------------------------

# A kiosk stands in the open: it gets only the PIN hashes it needs (technician exit, cashier
# recall), so a stolen kiosk cannot be used to guess managers' and owners' PINs offline.
STAFF_ROLES_FOR_DEVICE = {"pos": frozenset(STAFF_ROLES), "kiosk": frozenset({"technician", "cashier"})}


def build_config(conn: Connection, location_id: str, device_role: str = "pos") -> DeviceConfig:
    """What the devices of ``location_id`` with ``device_role`` pull and cache."""
    location = _location(conn, location_id)
    roles = STAFF_ROLES_FOR_DEVICE.get(device_role, frozenset())
    members = tuple(StaffMember(id=r.id, name=r.name, role=r.role, pin_hash=r.pin_hash)
                    for r in repo.active_staff(conn, location_id) if r.role in roles)
    return DeviceConfig(
        location_id=location.id,
        location_name=location.name,
        currency=location.currency,
        limits=effective_limits(conn, location_id),
        staff=members,
        revoked_devices=tuple(repo.revoked_device_ids(conn, location_id)),
        kiosk_keys=tuple(repo.active_kiosk_keys(conn, location_id)) if device_role == "pos" else (),
        topup_providers=payments.device_providers(conn, location_id, device_role),
    )

"""Identifiers made on the device: UUIDv7 (RFC 9562), time-ordered.

Time order keeps database indexes append-mostly and lets a person read roughly when an
entry, session or voucher was made from its id. Python only gains ``uuid.uuid7`` in
3.14, so the ``uuid6`` package provides it until then.
"""

from __future__ import annotations

import re
import uuid

import uuid6

from shared.errors import ValidationError

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


def new_id() -> str:
    """A fresh UUIDv7 as lower-case text."""
    return str(uuid6.uuid7())


def check_id(value: object, what: str = "id") -> str:
    """Return ``value`` when it is a lower-case UUIDv7 string, else refuse."""
    if not isinstance(value, str) or not _UUID_RE.match(value):
        raise ValidationError(f"{what} must be a UUIDv7, got {value!r}")
    return value


def id_timestamp_ms(value: str) -> int:
    """Unix milliseconds encoded in the first 48 bits of a UUIDv7."""
    return uuid.UUID(check_id(value)).int >> 80

"""Small validators for game definition documents: each refusal names the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shared.errors import ValidationError

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\Z")


def obj(value: object, what: str, required: set[str], optional: frozenset[str] = frozenset()) -> Mapping[str, Any]:
    """An object with exactly the ``required`` keys (plus any ``optional`` ones): typos are refused."""
    if not isinstance(value, dict):
        raise ValidationError(f"{what} must be an object")
    unknown, missing = set(value) - required - optional, required - set(value)
    if unknown:
        raise ValidationError(f"{what} has unknown field(s): {', '.join(sorted(unknown))}")
    if missing:
        raise ValidationError(f"{what} is missing: {', '.join(sorted(missing))}")
    return value


def integer(value: object, what: str, low: int, high: int) -> int:
    """A plain int (not a bool or float) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValidationError(f"{what} must be between {low} and {high}, got {value}")
    return value


def name(value: object, what: str) -> str:
    """A symbol or asset key: lower-case letters, digits, ``-`` and ``_``."""
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValidationError(f"{what} must be 1-64 lower-case letters, digits, - or _ (got {value!r})")
    return value


def listed(value: object, what: str, min_len: int, max_len: int) -> list[Any]:
    """A JSON list with a bounded length."""
    if not isinstance(value, list):
        raise ValidationError(f"{what} must be a list")
    if not min_len <= len(value) <= max_len:
        raise ValidationError(f"{what} must have {min_len} to {max_len} items, got {len(value)}")
    return value


def count_key(value: object, what: str, low: int, high: int) -> int:
    """A JSON object key that stands for a small count ("3" → 3); canonical JSON keys are text."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or value != str(int(value)):
        raise ValidationError(f"{what}: key {value!r} must be a whole number written in digits")
    return integer(int(value), what, low, high)

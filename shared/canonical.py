"""Canonical JSON and the hash over it.

Two parties (a kiosk and central, or central today and an auditor in five years) must
produce byte-identical JSON for the same entry, or hashes and signatures break. So:
UTF-8, keys sorted, no insignificant whitespace, and only types that have one spelling —
no floats (``0.1`` vs ``0.10000000000000001``), no NaN, no non-string keys.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shared.errors import CanonicalJSONError
from shared.money import MAX_ABS_UNITS

_MAX_DEPTH = 32


def _check(value: Any, depth: int, path: str) -> None:
    if depth > _MAX_DEPTH:
        raise CanonicalJSONError(f"{path}: nested deeper than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        _check_text(value, path)
        return
    if isinstance(value, int):
        if abs(value) > MAX_ABS_UNITS:
            raise CanonicalJSONError(f"{path}: integer {value} is outside the signed 64-bit range")
        return
    if isinstance(value, float):
        raise CanonicalJSONError(f"{path}: floats are not allowed (got {value!r}); use integer minor units")
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, depth + 1, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJSONError(f"{path}: key {key!r} is not a string")
            _check_text(key, path)
            _check(item, depth + 1, f"{path}.{key}")
        return
    raise CanonicalJSONError(f"{path}: {type(value).__name__} cannot be written as canonical JSON")


def _check_text(value: str, path: str) -> None:
    # A lone surrogate ("\ud800") is a valid Python str and a valid JSON escape, but has no UTF-8 spelling.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalJSONError(f"{path}: text {value!r} is not valid Unicode (lone surrogate)") from exc


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes, refusing anything without one spelling."""
    _check(value, 0, "$")
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def _refuse_float(text: str) -> Any:
    raise CanonicalJSONError(f"floats are not allowed in canonical JSON (got {text})")


def _refuse_constant(text: str) -> Any:
    raise CanonicalJSONError(f"{text} is not allowed in canonical JSON")


def parse_json(data: bytes | str) -> Any:
    """Decode JSON that may be non-canonical but holds only canonical types."""
    try:
        value = json.loads(data, parse_float=_refuse_float, parse_constant=_refuse_constant)
    # ValueError covers JSONDecodeError, UnicodeDecodeError and integers too long to convert;
    # RecursionError is what deeply nested input raises before _check can bound the depth.
    except (ValueError, RecursionError) as exc:
        raise CanonicalJSONError(f"not valid JSON: {exc}") from exc
    _check(value, 0, "$")
    return value


def parse_canonical(data: bytes) -> Any:
    """Decode ``data`` and insist it was already canonical (byte-identical on re-encoding)."""
    value = parse_json(data)
    if canonical_json(value) != data:
        raise CanonicalJSONError("JSON is valid but not in canonical form")
    return value


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()

"""Canonical JSON and the hash over it.

Two parties (a kiosk and central, or central today and an auditor in five years) must
produce byte-identical JSON for the same entry, or hashes and signatures break. So:
UTF-8, keys sorted, no insignificant whitespace, and only types that have one spelling —
no floats (``0.1`` vs ``0.10000000000000001``), no NaN, no non-string keys.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

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


def _valid(value: Any, depth: int) -> bool:
    """The fast test of what ``_check`` allows, for exact built-in types only.

    False means "not certainly valid": ``_check`` then walks the value again and raises
    the precise error (or accepts a subclass such as an ``IntEnum``). Every entry that
    enters or leaves the ledger is checked, so this runs on the hot path of ingest:
    scalars are tested in their container's loop, without a call each.
    """
    kind = type(value)
    if kind is dict:
        if depth >= _MAX_DEPTH and value:
            return False  # its items would be nested deeper than _MAX_DEPTH
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or _encodes(key)):
                return False
            item_kind = type(item)
            if item_kind is str:
                if not (item.isascii() or _encodes(item)):
                    return False
            elif item_kind is int:
                if not -MAX_ABS_UNITS <= item <= MAX_ABS_UNITS:
                    return False
            elif not _valid_item(item, depth + 1):
                return False
        return True
    if kind is list or kind is tuple:
        if depth >= _MAX_DEPTH and value:
            return False
        return all(_valid_item(item, depth + 1) for item in value)
    return depth <= _MAX_DEPTH and _valid_item(value, depth)


def _valid_item(item: Any, depth: int) -> bool:
    kind = type(item)
    if kind is str:
        return item.isascii() or _encodes(item)
    if kind is int:
        return -MAX_ABS_UNITS <= item <= MAX_ABS_UNITS
    if kind is dict or kind is list or kind is tuple:
        return _valid(item, depth)
    return item is None or kind is bool


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_canonical_types(value: Any) -> None:
    """Refuse anything that has no single canonical-JSON spelling (floats, lone surrogates …)."""
    if not _valid(value, 0):
        _check(value, 0, "$")


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes, refusing anything without one spelling."""
    check_canonical_types(value)
    return canonical_json_of_checked(value)


def canonical_json_of_checked(value: Any) -> bytes:
    """``canonical_json`` of a value whose types ``parse_json`` (or ``check_canonical_types``) already checked.

    Ingest checks a whole batch once as it parses it; checking each entry again before
    hashing it would walk the same values twice on the hottest path central has.
    """
    # orjson writes exactly what json.dumps(sort_keys, compact separators, ensure_ascii=False)
    # writes for these types (tests/test_canonical.py holds the two side by side), at a
    # fraction of the cost: this encoding is most of what parsing an entry costs (decision 0009).
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        # Subclasses the type check allows but orjson takes differently or not at all (a str subclass as a key, a
        # named tuple, a str Enum): written as the plain values json.dumps would have written.
        return orjson.dumps(_plain(value), option=orjson.OPT_SORT_KEYS)


def _plain(value: Any) -> Any:
    """``value`` (already type-checked) with every subclass of str, int, list, tuple and dict made the plain type."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return str.__str__(value)  # the text itself, not an Enum's "Class.MEMBER"
    if isinstance(value, int):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str.__str__(key): _plain(item) for key, item in value.items()}
    raise CanonicalJSONError(f"{type(value).__name__} cannot be written as canonical JSON")


def parse_json(data: bytes | str) -> Any:
    """Decode JSON that may be non-canonical but holds only canonical types."""
    try:
        value = orjson.loads(data)
    # orjson refuses NaN and Infinity, invalid UTF-8, lone surrogates and nesting past its
    # recursion limit; a float (or an integer too long for 64 bits, which it reads as one)
    # is refused by the type check below.
    except orjson.JSONDecodeError as exc:
        raise CanonicalJSONError(f"not valid JSON: {exc}") from exc
    if not _decoded_valid(value, 0):
        _check(value, 0, "$")  # the precise error
    return value


def _decoded_valid(value: Any, depth: int) -> bool:
    """``_valid`` for what ``orjson.loads`` returned, on the hot path of ingest (every batch is decoded here).

    Decoded JSON holds only dicts with str keys, lists, str, int, float, bool and None, and
    orjson has already refused every string without a UTF-8 spelling, so only three things
    are left to find: a float, an integer past 64 bits (which orjson reads up to 2**64 - 1)
    and nesting past ``_MAX_DEPTH``. Strings are passed without a call each.
    """
    kind = type(value)
    if kind is not dict and kind is not list:
        return _valid(value, depth)
    if depth >= _MAX_DEPTH and value:
        return False
    for item in value.values() if kind is dict else value:
        item_kind = type(item)
        if item_kind is str or item is None or item_kind is bool:
            continue
        if item_kind is int:
            if not -MAX_ABS_UNITS <= item <= MAX_ABS_UNITS:
                return False
        elif item_kind is dict or item_kind is list:
            if not _decoded_valid(item, depth + 1):
                return False
        else:
            return False
    return True


def parse_canonical(data: bytes) -> Any:
    """Decode ``data`` and insist it was already canonical (byte-identical on re-encoding)."""
    value = parse_json(data)
    if canonical_json(value) != data:
        raise CanonicalJSONError("JSON is valid but not in canonical form")
    return value


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()

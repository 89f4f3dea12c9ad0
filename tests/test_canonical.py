"""Canonical JSON: one spelling per value, so hashes and signatures agree everywhere."""

from __future__ import annotations

import hashlib
import json
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.canonical import _MAX_DEPTH as MAX_DEPTH
from shared.canonical import canonical_json, parse_canonical, parse_json, sha256_hex
from shared.errors import CanonicalJSONError, ValidationError
from shared.money import MAX_ABS_UNITS

INT64 = st.integers(min_value=-MAX_ABS_UNITS, max_value=MAX_ABS_UNITS)
SCALARS = st.none() | st.booleans() | INT64 | st.text()
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


def same(a: Any, b: Any) -> bool:
    """Equal *and* of the same JSON types all the way down (True is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(sorted(a)) == list(sorted(b)) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def shuffled(value: Any, rnd: random.Random) -> Any:
    """The same value with every dict's insertion order shuffled."""
    if isinstance(value, list):
        return [shuffled(v, rnd) for v in value]
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: shuffled(v, rnd) for k, v in items}
    return value


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_round_trip_gives_back_the_same_value(value):
    data = canonical_json(value)
    assert isinstance(data, bytes)
    assert same(parse_canonical(data), value)
    assert same(parse_json(data), value)


@settings(max_examples=150, deadline=None)
@given(JSON, st.randoms(use_true_random=False))
def test_key_order_of_the_input_does_not_change_the_bytes(value, rnd):
    assert canonical_json(shuffled(value, rnd)) == canonical_json(value)


@settings(max_examples=150, deadline=None)
@given(JSON, st.sampled_from([{"indent": 2}, {"separators": (", ", ": ")}, {"ensure_ascii": True}, {}]))
def test_any_other_spelling_parses_to_the_same_value_but_is_not_canonical(value, style):
    other = json.dumps(value, **style).encode("utf-8")
    assert same(parse_json(other), value)
    assert canonical_json(parse_json(other)) == canonical_json(value)
    if other != canonical_json(value):
        with pytest.raises(CanonicalJSONError, match="not in canonical form"):
            parse_canonical(other)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=4), INT64, min_size=2, max_size=6))
def test_parse_canonical_refuses_unsorted_keys(value):
    keys = sorted(value, reverse=True)
    if keys == sorted(value):  # cannot happen with two or more distinct keys, but say why
        raise AssertionError("need at least two keys")
    text = "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{value[k]}" for k in keys) + "}"
    with pytest.raises(CanonicalJSONError):
        parse_canonical(text.encode("utf-8"))
    assert parse_json(text.encode("utf-8")) == value


def test_examples_of_the_canonical_spelling():
    assert canonical_json({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()
    assert canonical_json({"z": {"y": 2, "x": 1}}) == b'{"z":{"x":1,"y":2}}'
    assert canonical_json("line\nbreak") == b'"line\\nbreak"'
    assert canonical_json(-MAX_ABS_UNITS) == str(-MAX_ABS_UNITS).encode()
    assert canonical_json((1, 2)) == b"[1,2]"


def test_canonical_json_is_utf8_without_escaping_non_ascii():
    data = canonical_json({"name": "Zoë 🎰"})
    assert data == '{"name":"Zoë 🎰"}'.encode()
    # an escaped spelling of the same text is valid JSON but not canonical
    with pytest.raises(CanonicalJSONError):
        parse_canonical(b'{"name":"Zo\\u00eb \\ud83c\\udfb0"}')


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        0.1,
        -0.0,
        float("nan"),
        float("inf"),
        float("-inf"),
        {"amount": 12.5},
        [1, [2, [3.0]]],
        {"a": {"b": [None, 1e3]}},
    ],
)
def test_floats_are_refused_anywhere(value):
    with pytest.raises(CanonicalJSONError, match="float"):
        canonical_json(value)


@pytest.mark.parametrize("key", [1, None, True, 1.5, ("a",)])
def test_non_string_keys_are_refused(key):
    with pytest.raises(CanonicalJSONError, match="not a string"):
        canonical_json({"ok": {key: 1}})


@pytest.mark.parametrize("number", [MAX_ABS_UNITS + 1, -MAX_ABS_UNITS - 1, 2**64, -(2**100)])
def test_integers_outside_64_bits_are_refused(number):
    with pytest.raises(CanonicalJSONError, match="64-bit"):
        canonical_json({"n": [number]})
    with pytest.raises(CanonicalJSONError):
        parse_json(str(number).encode())


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, Decimal("1.5"), object(), 1j, {"when": range(3)}])
def test_other_python_types_are_refused(value):
    with pytest.raises(CanonicalJSONError):
        canonical_json(value)


@pytest.mark.parametrize("value", ["\ud800", ["ok", "\udfff"], {"\ud83c": 1}])
def test_lone_surrogates_have_no_utf8_spelling_and_are_refused(value):
    with pytest.raises(CanonicalJSONError):
        canonical_json(value)


def test_a_lone_surrogate_escape_on_the_wire_is_refused_not_crashed_on():
    with pytest.raises(CanonicalJSONError):
        parse_canonical(b'"\\ud800"')
    with pytest.raises(CanonicalJSONError):
        parse_json(b'{"a":"\\udc00"}')


def test_nesting_is_bounded():
    ok: Any = 1
    for _ in range(32):
        ok = [ok]
    assert parse_canonical(canonical_json(ok)) == ok
    with pytest.raises(CanonicalJSONError, match="deeper"):
        canonical_json([ok])


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}',
        b'{"a":1 }',
        b'[1, 2]',
        b' 1',
        b'1\n',
        b'{"b":1,"a":2}',
        b'{"a":1,"a":2}',           # duplicate key
        b"1.0",
        b"1e3",
        b"-0",
        b"01",
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b'"\\u0041"',              # "A" escaped
        b'"\\/"',                  # "/" escaped
        b"\xef\xbb\xbf1",          # UTF-8 byte order mark
        "1".encode("utf-16"),
        b"\xff",                   # not UTF-8
        b"",
        b"{",
        b"nul",
        b"[1,]",
        b"'a'",
        b"1" * 5000,               # too long for an int, even before the range check
        b"[" * 100_000,            # nested past any recursion limit
    ],
)
def test_parse_canonical_refuses_anything_but_the_one_spelling(data):
    with pytest.raises(CanonicalJSONError):
        parse_canonical(data)


def test_parse_json_refuses_floats_and_constants_even_when_not_canonical():
    for data in (b'{"a": 1.5}', b"[NaN]", b"[ Infinity ]", b"2E1"):
        with pytest.raises(CanonicalJSONError):
            parse_json(data)


def test_canonical_error_is_a_validation_error():
    # callers catch ValidationError for every "your input is wrong" refusal
    with pytest.raises(ValidationError):
        canonical_json(1.5)


def test_sha256_hex():
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_hex(canonical_json({"x": 1})) == hashlib.sha256(b'{"x":1}').hexdigest()


_ANY_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.text(alphabet=st.characters(codec=None, exclude_categories=())),  # lone surrogates included
    st.integers(min_value=-(2**53), max_value=2**53).map(lambda n: [n]),
)
_ANY_VALUE = st.recursive(_ANY_SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=4), inner, max_size=4),
), max_leaves=40)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if depth % 2 else {"k": value}
    return value


@settings(max_examples=3000, deadline=None)
@given(_ANY_VALUE)
def test_the_fast_type_check_never_accepts_what_the_full_check_refuses(value: Any) -> None:
    from shared.canonical import _check, _valid

    if _valid(value, 0):
        _check(value, 0, "$")  # raises if the fast path let through something without one spelling


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2])
def test_the_fast_check_and_the_full_check_agree_at_the_depth_bound(depth: int) -> None:
    from shared.canonical import CanonicalJSONError, _check, _valid

    value = _nested(depth)
    try:
        _check(value, 0, "$")
        full = True
    except CanonicalJSONError:
        full = False
    assert not (_valid(value, 0) and not full)
    if full:
        assert canonical_json(value)
    else:
        with pytest.raises(CanonicalJSONError):
            canonical_json(value)


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2])
def test_parse_json_and_the_full_check_agree_at_the_depth_bound(depth: int) -> None:
    from shared.canonical import CanonicalJSONError, _check

    value = _nested(depth)
    wire = json.dumps(value)
    try:
        _check(value, 0, "$")
    except CanonicalJSONError:
        with pytest.raises(CanonicalJSONError, match="nested deeper"):
            parse_json(wire)
    else:
        assert parse_json(wire) == value


_WIRE_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=6)


@settings(max_examples=2000, deadline=None)
@given(value=_ANY_VALUE, escape=st.booleans(), extra=st.sampled_from(
    ["", '"\\ud800"', '"\\udfff"', '"\\ud83d\\ude00"', "\"\\\\ud800\"", "9223372036854775808", "-9223372036854775807", "1.5",
     "[" * 33 + "1" + "]" * 33, "[" * 33 + "]" * 33, "[" * 32 + "1" + "]" * 32, '"[[[[{{{{"'],
))
def test_parse_json_decides_as_the_full_type_check_does(value: Any, escape: bool, extra: str) -> None:
    """parse_json accepts exactly what decoding and the full type walk accept, whatever the spelling on the wire."""
    from shared.canonical import _check

    try:
        text = json.dumps([value, "marker"], ensure_ascii=escape, allow_nan=True)
    except (TypeError, ValueError):
        return  # not JSON at all (non-string keys are stringified by dumps; tuples become lists)
    text = text[:-1] + ("," + extra if extra else "") + "]"
    for data in (text.encode("utf-8", "surrogatepass"), text):
        try:
            decoded = json.loads(data)
            _check(decoded, 0, "$")
            expected_ok = True
        except (ValueError, RecursionError, CanonicalJSONError):
            expected_ok = False
        if expected_ok:
            assert parse_json(data) == decoded
        else:
            with pytest.raises(CanonicalJSONError):
                parse_json(data)


def test_utf8_encoded_surrogate_bytes_are_refused() -> None:
    with pytest.raises(CanonicalJSONError):
        parse_json(b'["\xed\xa0\x80"]')


def _stdlib_canonical(value: Any) -> bytes:
    """The encoding the canonical form was first defined by (decision 0009): kept here to hold orjson to it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


_EVERY_CONTROL_AND_EDGE = "".join(chr(c) for c in range(0x20)) + '\x7f"\\/\u2028\u2029\ufeff\uffff\U0001f600\U0010ffff'


@settings(max_examples=3000, deadline=None)
@given(value=JSON, text=st.text(alphabet=st.sampled_from(_EVERY_CONTROL_AND_EDGE) | st.characters(codec="utf-8"), max_size=12))
def test_the_encoding_is_byte_for_byte_the_stdlib_one(value: Any, text: str) -> None:
    """Journals written before orjson (and by anyone re-deriving the form with json.dumps) hash the same."""
    for candidate in (value, {text: value, "k": text}, [text, (text, value)], {"": [], text[::-1]: {}}):
        assert canonical_json(candidate) == _stdlib_canonical(candidate)


def test_the_encoding_of_extremes_is_the_stdlib_one() -> None:
    for value in (MAX_ABS_UNITS, -MAX_ABS_UNITS, 0, -1, True, False, None, "", [], {}, _nested(MAX_DEPTH),
                  {chr(c): c for c in range(0x80)}, {"\U0001f600": 1, "\uffff": 2, "\u00e9": 3, "e": 4}):
        assert canonical_json(value) == _stdlib_canonical(value)


def test_subclasses_of_str_and_int_as_keys_and_values_encode_as_the_stdlib_does() -> None:
    """Rows and enums reach the encoder too (the audit log hashes SQLAlchemy rows): a str subclass is its text."""
    from collections import OrderedDict, namedtuple
    from enum import Enum, IntEnum, StrEnum

    class Name(str):
        pass

    class Colour(StrEnum):
        RED = "red"

    class Mixed(str, Enum):  # noqa: UP042 - the older spelling of a str Enum, whose str() is "Mixed.BLUE"
        BLUE = "blue"

    class Level(IntEnum):
        HIGH = 3

    Pair = namedtuple("Pair", "left right")  # a tuple subclass, as rows and records are
    for value in ({Name("b"): Name("x"), "a": 1}, {"c": Colour.RED, "l": Level.HIGH, Name("é"): [Name("y"), Level.HIGH]},
                  {Mixed.BLUE: Mixed.BLUE}, [Pair(1, "two"), OrderedDict([("z", 1), ("a", (True, None))])]):
        assert canonical_json(value) == _stdlib_canonical(value), value

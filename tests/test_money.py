"""Money: integer minor units tagged with a unit, exact text parsing, no unit mixing."""

from __future__ import annotations

import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import UnitMismatchError, ValidationError
from shared.money import (
    CREDITS,
    MAX_ABS_UNITS,
    Money,
    check_positive,
    check_unit,
    check_units,
    exponent,
    format_units,
)

# Units with 2 (credits, USD, EUR), 0 (JPY, KRW) and 3 (KWD, BHD) decimals.
UNITS = [CREDITS, "USD", "EUR", "JPY", "KRW", "KWD", "BHD"]
units_in_range = st.integers(min_value=-MAX_ABS_UNITS, max_value=MAX_ABS_UNITS)


def test_exponents_follow_the_currency():
    assert exponent(CREDITS) == 2
    assert exponent("USD") == 2
    assert exponent("JPY") == 0
    assert exponent("KWD") == 3


@settings(max_examples=300, deadline=None)
@given(units=units_in_range, unit=st.sampled_from(UNITS))
def test_format_then_parse_gives_the_same_amount(units, unit):
    text = Money(units, unit).format()
    assert Money.parse(text, unit) == Money(units, unit)
    # and the text has exactly the unit's decimals
    if exponent(unit):
        assert len(text.split(".")[1]) == exponent(unit)
    else:
        assert "." not in text


@settings(max_examples=200, deadline=None)
@given(
    whole=st.integers(min_value=0, max_value=10**12),
    frac=st.integers(min_value=0, max_value=999),
    negative=st.booleans(),
    unit=st.sampled_from(UNITS),
)
def test_parse_then_format_gives_the_same_text(whole, frac, negative, unit):
    places = exponent(unit)
    frac %= 10**places if places else 1
    text = f"{whole}.{frac:0{places}d}" if places else str(whole)
    if negative and (whole or frac):
        text = "-" + text
    assert Money.parse(text, unit).format() == text


@pytest.mark.parametrize(
    ("text", "unit", "units", "formatted"),
    [
        ("12.50", "USD", 1250, "12.50"),
        ("12.5", "USD", 1250, "12.50"),
        ("12", "USD", 1200, "12.00"),
        ("0.10", "USD", 10, "0.10"),
        ("-0.05", "USD", -5, "-0.05"),
        ("-0", "USD", 0, "0.00"),
        ("007.50", CREDITS, 750, "7.50"),
        ("1250", "JPY", 1250, "1250"),
        ("1.005", "KWD", 1005, "1.005"),
        ("0.1", "KWD", 100, "0.100"),
        ("  3.25 ", "EUR", 325, "3.25"),
    ],
)
def test_parse_examples(text, unit, units, formatted):
    money = Money.parse(text, unit)
    assert money == Money(units, unit)
    assert money.format() == formatted


def test_str_and_format_units():
    assert str(Money(1250, "USD")) == "12.50 USD"
    assert str(Money(-5, CREDITS)) == "-0.05 CR"
    assert format_units(1250, "JPY") == "1250"
    assert format_units(7, "KWD") == "0.007"


def test_largest_amounts_parse_back_and_one_more_is_refused():
    for unit in ("USD", "JPY", "KWD"):
        for units in (MAX_ABS_UNITS, -MAX_ABS_UNITS):
            assert Money.parse(Money(units, unit).format(), unit).units == units
    with pytest.raises(ValidationError, match="out of range"):
        Money.parse("9223372036854775808", "JPY")
    with pytest.raises(ValidationError, match="out of range"):
        Money.parse("92233720368547758.08", "USD")


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("1.005", "USD"),     # more decimals than the unit has: refused, not rounded
        ("1.5", "JPY"),
        ("0.0001", "KWD"),
        ("1e3", "USD"),
        ("1E3", "USD"),
        ("1,000", "USD"),
        ("1,00", "EUR"),
        ("1 000", "USD"),
        ("", "USD"),
        ("   ", "USD"),
        ("-", "USD"),
        ("+5", "USD"),
        (".5", "USD"),
        ("5.", "USD"),
        ("--5", "USD"),
        ("$5", "USD"),
        ("5 USD", "USD"),
        ("0x10", "USD"),
        ("inf", "USD"),
        ("NaN", "USD"),
        ("١٢.٥٠", "USD"),    # Arabic-Indic digits: not a spelling format() ever writes
        ("１２", "USD"),      # full-width digits
        ("1" * 20, "JPY"),   # bounded input
    ],
)
def test_parse_refuses_text_that_is_not_a_plain_amount(text, unit):
    with pytest.raises(ValidationError):
        Money.parse(text, unit)


@pytest.mark.parametrize("value", [12.5, 12.0, True, False, None, 1250, b"12.50"])
def test_parse_refuses_anything_but_text(value):
    with pytest.raises(ValidationError, match="not an amount"):
        Money.parse(value, "USD")


def test_parse_refuses_an_unknown_unit():
    with pytest.raises(ValidationError, match="unknown unit"):
        Money.parse("1.00", "usd")


@pytest.mark.parametrize("units", [1.5, 1.0, float("nan"), True, False, "100", None, MAX_ABS_UNITS + 1, -MAX_ABS_UNITS - 1])
def test_money_refuses_amounts_that_are_not_64_bit_whole_numbers(units):
    with pytest.raises(ValidationError):
        Money(units, "USD")


@pytest.mark.parametrize("unit", ["usd", "US", "USDT", "cr", "C", "", None, 840, "USD\n", " USD", "ÄÖÜ"])
def test_unknown_units_are_refused(unit):
    with pytest.raises(ValidationError, match="unknown unit"):
        check_unit(unit)
    with pytest.raises(ValidationError):
        Money(1, unit)


def test_check_units_and_check_positive():
    assert check_units(-5) == -5
    assert check_positive(5) == 5
    for bad in (0, -1):
        with pytest.raises(ValidationError, match="greater than zero"):
            check_positive(bad)
    for not_int in (1.0, True, "5"):
        with pytest.raises(ValidationError, match="whole number"):
            check_units(not_int)


two_distinct_units = st.lists(st.sampled_from(UNITS), min_size=2, max_size=2, unique=True)


@settings(max_examples=100, deadline=None)
@given(units=two_distinct_units, a=units_in_range, b=units_in_range)
def test_arithmetic_and_comparison_across_units_raise(units, a, b):
    left, right = Money(a, units[0]), Money(b, units[1])
    for op in (operator.add, operator.sub, operator.lt, operator.le, operator.gt, operator.ge):
        with pytest.raises(UnitMismatchError):
            op(left, right)
    # equality never says two different units are the same amount
    assert left != right


small = st.integers(min_value=-(10**15), max_value=10**15)


@settings(max_examples=200, deadline=None)
@given(a=small, b=small, k=st.integers(min_value=-1000, max_value=1000), unit=st.sampled_from(UNITS))
def test_same_unit_arithmetic_and_order_match_the_integers(a, b, k, unit):
    x, y = Money(a, unit), Money(b, unit)
    assert x + y == Money(a + b, unit)
    assert x - y == Money(a - b, unit)
    assert -x == Money(-a, unit)
    assert x * k == k * x == Money(a * k, unit)
    assert (x < y) == (a < b)
    assert (x <= y) == (a <= b)
    assert (x > y) == (a > b)
    assert (x >= y) == (a >= b)
    assert x + Money.zero(unit) == x


def test_arithmetic_with_non_money_is_a_type_error():
    usd = Money(100, "USD")
    with pytest.raises(TypeError):
        usd + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = usd < 5  # type: ignore[operator]
    for factor in (1.5, True):
        with pytest.raises(TypeError):
            usd * factor  # type: ignore[operator]


def test_arithmetic_that_leaves_the_64_bit_range_is_refused():
    with pytest.raises(ValidationError, match="out of range"):
        Money(MAX_ABS_UNITS, "USD") + Money(1, "USD")
    with pytest.raises(ValidationError, match="out of range"):
        Money(MAX_ABS_UNITS, "USD") * 2


def test_money_is_immutable():
    usd = Money(100, "USD")
    with pytest.raises(AttributeError):
        usd.units = 5  # type: ignore[misc]

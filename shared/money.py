"""Money as integer minor units tagged with their unit.

Credits and each cash currency are separate units: 1 credit = 100 credit units, cash is
counted in the currency's minor units (cents). Nothing here ever touches a float; text is
parsed digit by digit so "0.10" is exactly 10 units, and a value with more decimals than
its unit has is refused rather than rounded.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from shared.errors import UnitMismatchError, ValidationError

CREDITS = "CR"
"""Unit code of sweepstakes credits (1 credit = 100 units)."""

# ISO 4217 currencies whose minor unit is not the common 1/100.
_EXPONENT_EXCEPTIONS = {
    "BHD": 3, "CLP": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3,
    "LYD": 3, "OMR": 3, "PYG": 0, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
}
_UNIT_RE = re.compile(r"^(CR|[A-Z]{3})\Z")
# ASCII digits only, and enough of them for every 64-bit amount (so format() output always parses).
_AMOUNT_RE = re.compile(r"^(-)?([0-9]{1,19})(?:\.([0-9]+))?\Z")
MAX_ABS_UNITS = 2**63 - 1
"""Every amount fits a signed 64-bit integer, so PostgreSQL BIGINT stores it exactly."""


def check_unit(unit: str) -> str:
    """Return ``unit`` when it is ``CR`` or a three-letter currency code, else refuse."""
    if not isinstance(unit, str) or not _is_unit(unit):
        raise ValidationError(f"unknown unit {unit!r}: use CR for credits or a 3-letter currency code")
    return unit


@functools.lru_cache(maxsize=1024)
def _is_unit(unit: str) -> bool:
    # Cached: every posting of every ingested entry names its unit, nearly always one of two.
    return _UNIT_RE.match(unit) is not None


def exponent(unit: str) -> int:
    """Number of decimal places shown for ``unit`` (2 for credits and most currencies)."""
    check_unit(unit)
    return _EXPONENT_EXCEPTIONS.get(unit, 2)


def check_units(value: object, what: str = "amount") -> int:
    """Return ``value`` when it is a plain int in the 64-bit range; refuse floats and bools."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} must be a whole number of minor units, got {value!r}")
    if abs(value) > MAX_ABS_UNITS:
        raise ValidationError(f"{what} {value} is out of range")
    return value


def check_positive(value: object, what: str = "amount") -> int:
    """Return ``value`` when it is a whole number of units greater than zero."""
    units = check_units(value, what)
    if units <= 0:
        raise ValidationError(f"{what} must be greater than zero, got {units}")
    return units


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one unit; arithmetic and comparison refuse mixing units."""

    units: int
    unit: str

    def __post_init__(self) -> None:
        check_units(self.units)
        check_unit(self.unit)

    @classmethod
    def zero(cls, unit: str) -> Money:
        return cls(0, unit)

    @classmethod
    def parse(cls, text: str, unit: str) -> Money:
        """Parse "12.50", "-3", "0.5" into minor units of ``unit``, exactly.

        Refuses exponents, thousands separators, and more decimals than the unit has:
        a cashier typing "1.005" gets an error, not a silently rounded amount.
        """
        places = exponent(unit)
        match = _AMOUNT_RE.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValidationError(f"{text!r} is not an amount like 12.50")
        sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
        if len(frac) > places:
            raise ValidationError(f"{text!r} has more than {places} decimal places for {unit}")
        units = int(whole) * 10**places + int(frac.ljust(places, "0") or "0")
        return cls(-units if sign else units, unit)

    def format(self) -> str:
        """The amount as text with the unit's decimals, e.g. "12.50" or "-0.05"."""
        places = exponent(self.unit)
        sign = "-" if self.units < 0 else ""
        whole, frac = divmod(abs(self.units), 10**places)
        return f"{sign}{whole}.{frac:0{places}d}" if places else f"{sign}{whole}"

    def __str__(self) -> str:
        return f"{self.format()} {self.unit}"

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.unit != self.unit:
            raise UnitMismatchError(f"cannot combine {self.unit} with {other.unit}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.units + self._same(other).units, self.unit)

    def __sub__(self, other: Money) -> Money:
        return Money(self.units - self._same(other).units, self.unit)

    def __neg__(self) -> Money:
        return Money(-self.units, self.unit)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("money is multiplied by whole numbers only")
        return Money(self.units * factor, self.unit)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.units < self._same(other).units

    def __le__(self, other: Money) -> bool:
        return self.units <= self._same(other).units

    def __gt__(self, other: Money) -> bool:
        return self.units > self._same(other).units

    def __ge__(self, other: Money) -> bool:
        return self.units >= self._same(other).units


def format_units(units: int, unit: str) -> str:
    """Shorthand for ``Money(units, unit).format()``."""
    return Money(units, unit).format()

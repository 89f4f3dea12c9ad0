"""Keno engine: 20 numbers drawn from 1..80, the player marks 1 to 10 spots.

The pay depends on how many spots were marked and how many of them were drawn. Pays
are written in minor units for one *base bet* (e.g. 100 units = 1 credit), and a bet is
a whole number of base bets, so ``win = bet / base * pay`` is exact and pays can be
tuned in steps of 1% of the base bet (integer multipliers are too coarse for 1 spot).

The draw is a partial Fisher–Yates shuffle with ``below(n)``: every ordered set of 20
distinct numbers is equally likely. The draws recorded are the 20 numbers in the order
they came out; the exact RTP follows from the hypergeometric distribution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import comb
from types import MappingProxyType
from typing import Any

from shared.errors import ValidationError
from shared.games import _checks as check
from shared.games.rng import RandomSource

NUMBERS = 80
DRAWN = 20
MAX_SPOTS = 10
MAX_PAY_UNITS = 10**12


@dataclass(frozen=True)
class KenoMath:
    """Base bet and pays: ``pays[spots][hits]`` in units for one base bet (missing = 0)."""

    base_bet_units: int
    pays: Mapping[int, Mapping[int, int]]

    def to_json(self) -> dict[str, Any]:
        return {
            "base_bet_units": self.base_bet_units,
            "pays": {str(k): {str(h): p for h, p in row.items()} for k, row in self.pays.items()},
        }

    def check_bet_options(self, bets: Sequence[int]) -> None:
        for bet in bets:
            if bet % self.base_bet_units:
                raise ValidationError(f"bet option {bet} is not a whole number of base bets of {self.base_bet_units}")

    def max_multiplier(self) -> int:
        return max(p for row in self.pays.values() for p in row.values()) // self.base_bet_units + 1


def parse_math(doc: object) -> KenoMath:
    """Validate a keno ``math`` object into ``KenoMath``."""
    data = check.obj(doc, "keno math", {"base_bet_units", "pays"})
    base = check.integer(data["base_bet_units"], "base_bet_units", 1, 10**9)
    pays_doc = data["pays"]
    if not isinstance(pays_doc, dict) or not pays_doc:
        raise ValidationError("keno pays must be a non-empty object of spots -> {hits: pay units}")
    pays: dict[int, Mapping[int, int]] = {}
    for spots_key, row in pays_doc.items():
        spots = check.count_key(spots_key, "keno pays", 1, MAX_SPOTS)
        if not isinstance(row, dict) or not row:
            raise ValidationError(f"keno pays for {spots} spots must map hits to pay units")
        parsed = {
            check.count_key(h, f"keno pays for {spots} spots", 0, spots): check.integer(p, f"keno pay for {spots} spots", 1, MAX_PAY_UNITS)
            for h, p in row.items()
        }
        pays[spots] = MappingProxyType(dict(sorted(parsed.items())))
    return KenoMath(base, MappingProxyType(dict(sorted(pays.items()))))


def draw(rng: RandomSource) -> list[int]:
    """20 distinct numbers from 1..80 in draw order (partial Fisher–Yates, unbiased)."""
    balls = list(range(1, NUMBERS + 1))
    for i in range(DRAWN):
        j = i + rng.below(NUMBERS - i)
        balls[i], balls[j] = balls[j], balls[i]
    return balls[:DRAWN]


def check_picks(math: KenoMath, picks: object) -> list[int]:
    """The player's marked spots: distinct numbers in 1..80, as many as the paytable offers."""
    if not isinstance(picks, (list, tuple)):
        raise ValidationError("keno needs the player's picks as a list of numbers")
    numbers = [check.integer(p, "keno pick", 1, NUMBERS) for p in picks]
    if len(set(numbers)) != len(numbers):
        raise ValidationError("keno picks must not repeat")
    if len(numbers) not in math.pays:
        offered = ", ".join(str(k) for k in math.pays)
        raise ValidationError(f"this keno game plays {offered} spots, not {len(numbers)}")
    return numbers


def _check_drawn(drawn: Sequence[int]) -> list[int]:
    numbers = [check.integer(n, "drawn number", 1, NUMBERS) for n in drawn]
    if len(numbers) != DRAWN or len(set(numbers)) != DRAWN:
        raise ValidationError(f"a keno draw is {DRAWN} distinct numbers, got {len(numbers)} ({len(set(numbers))} distinct)")
    return numbers


def settle(math: KenoMath, bet_units: int, drawn: Sequence[int], picks: object) -> tuple[int, dict[str, Any]]:
    """The win and outcome for the player's ``picks`` against the ``drawn`` numbers."""
    if bet_units <= 0 or bet_units % math.base_bet_units:
        raise ValidationError(f"bet {bet_units} is not a whole number of base bets of {math.base_bet_units}")
    marked = check_picks(math, picks)
    numbers = _check_drawn(drawn)
    hits = sorted(set(marked) & set(numbers))
    pay = math.pays[len(marked)].get(len(hits), 0)
    win_units = bet_units // math.base_bet_units * pay
    outcome = {
        "engine": "keno",
        "picks": marked,
        "drawn": numbers,
        "hits": hits,
        "spots": len(marked),
        "pay_units_per_base": pay,
        "win_units": win_units,
    }
    return win_units, outcome


def hit_probability(spots: int, hits: int) -> Fraction:
    """P(exactly ``hits`` of ``spots`` marked numbers are among the 20 drawn): hypergeometric."""
    return Fraction(comb(DRAWN, hits) * comb(NUMBERS - DRAWN, spots - hits), comb(NUMBERS, spots))


def rtp_by_spots(math: KenoMath) -> dict[int, Fraction]:
    """Exact return to player for each number of spots the game offers."""
    return {
        spots: sum((hit_probability(spots, h) * p for h, p in row.items()), Fraction(0)) / math.base_bet_units
        for spots, row in math.pays.items()
    }


def return_variance(math: KenoMath, spots: int) -> Fraction:
    """Exact variance of ``win / bet`` for one round with ``spots`` marked."""
    row = math.pays[spots]
    mean = rtp_by_spots(math)[spots]
    second = sum((hit_probability(spots, h) * Fraction(p, math.base_bet_units) ** 2 for h, p in row.items()), Fraction(0))
    return second - mean * mean


def rtp(math: KenoMath) -> Fraction:
    """The game's RTP as shown in the catalog: the lowest over the spot counts (a floor)."""
    return min(rtp_by_spots(math).values())

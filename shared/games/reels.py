"""Reel slot engine: N reels, a 3-row window, paylines, left-to-right line wins.

Rules, all in whole minor units:

* A spin's bet is spread evenly over every payline: ``line_bet = bet / lines`` and a bet
  that does not divide by the number of lines is refused (no fractional line bets).
* Reel ``i`` stops at position ``p``; rows 0, 1, 2 show ``strip[p]``, ``strip[p+1]``,
  ``strip[p+2]`` (wrapping). The draws are the stop positions.
* A line pays its leading run from the leftmost reel: the first non-wild symbol and
  every following cell that is that symbol or the wild. A leading run of wilds alone
  may pay on its own; the line pays whichever of the two is larger, never both.
* ``win = sum over lines of line_bet * multiplier``, so a win is a whole number ≥ 0.

Exact RTP: a line takes one row of each reel, and each row of a uniformly stopped reel
is uniform over that reel's strip, so every line has the same expected multiplier and
the RTP is that expectation. It is enumerated over symbol prefixes weighted by their
counts on each strip, stopping as soon as the run is broken.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from shared.errors import ValidationError
from shared.games import _checks as check
from shared.games.rng import RandomSource

ROWS = 3
MAX_REELS = 7
MAX_STRIP = 256
MAX_LINES = 100
MAX_MULTIPLIER = 1_000_000


@dataclass(frozen=True)
class LineWin:
    """What one payline paid: its index, the paying symbol, run length and multiplier."""

    line: int
    symbol: str
    count: int
    multiplier: int


@dataclass(frozen=True)
class ReelsMath:
    """A reel game's math: symbols, strips, paylines and paytable (multipliers of the line bet)."""

    symbols: tuple[str, ...]
    wild: str | None
    strips: tuple[tuple[str, ...], ...]
    paylines: tuple[tuple[int, ...], ...]
    paytable: Mapping[str, Mapping[int, int]]

    def to_json(self) -> dict[str, Any]:
        return {
            "symbols": list(self.symbols),
            "wild": self.wild,
            "strips": [list(strip) for strip in self.strips],
            "paylines": [list(line) for line in self.paylines],
            "paytable": {sym: {str(c): m for c, m in pays.items()} for sym, pays in self.paytable.items()},
        }

    def check_bet_options(self, bets: Sequence[int]) -> None:
        lines = len(self.paylines)
        for bet in bets:
            if bet % lines:
                raise ValidationError(f"bet option {bet} does not divide into {lines} equal line bets")

    def max_multiplier(self) -> int:
        """Largest possible win as a multiple of the whole bet (every line at the top pay)."""
        return max((m for pays in self.paytable.values() for m in pays.values()), default=0)


def parse_math(doc: object) -> ReelsMath:
    """Validate a reels ``math`` object into ``ReelsMath``; refuse anything inconsistent."""
    data = check.obj(doc, "reels math", {"symbols", "strips", "paylines", "paytable"}, frozenset({"wild"}))
    symbols = _parse_symbols(data["symbols"])
    wild = data.get("wild")
    if wild is not None and wild not in symbols:
        raise ValidationError(f"wild symbol {wild!r} is not one of the game's symbols")
    strips = _parse_strips(data["strips"], symbols)
    paylines = _parse_paylines(data["paylines"], len(strips))
    paytable = _parse_paytable(data["paytable"], symbols, len(strips))
    return ReelsMath(symbols, wild, strips, paylines, paytable)


def _parse_symbols(value: object) -> tuple[str, ...]:
    symbols = tuple(check.name(s, "symbol") for s in check.listed(value, "symbols", 2, 32))
    if len(set(symbols)) != len(symbols):
        raise ValidationError("symbols must not repeat")
    return symbols


def _parse_strips(value: object, symbols: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    strips = []
    for i, strip in enumerate(check.listed(value, "strips", 3, MAX_REELS)):
        cells = check.listed(strip, f"strip {i + 1}", ROWS, MAX_STRIP)
        for cell in cells:
            if cell not in symbols:
                raise ValidationError(f"strip {i + 1} has unknown symbol {cell!r}")
        strips.append(tuple(cells))
    return tuple(strips)


def _parse_paylines(value: object, reels: int) -> tuple[tuple[int, ...], ...]:
    lines: list[tuple[int, ...]] = []
    for i, line in enumerate(check.listed(value, "paylines", 1, MAX_LINES)):
        rows = check.listed(line, f"payline {i + 1}", reels, reels)
        lines.append(tuple(check.integer(r, f"payline {i + 1} row", 0, ROWS - 1) for r in rows))
    if len(set(lines)) != len(lines):
        raise ValidationError("paylines must not repeat (a repeated line would pay twice)")
    return tuple(lines)


def _parse_paytable(value: object, symbols: tuple[str, ...], reels: int) -> Mapping[str, Mapping[int, int]]:
    if not isinstance(value, dict) or not value:
        raise ValidationError("paytable must be a non-empty object of symbol -> {count: multiplier}")
    table: dict[str, Mapping[int, int]] = {}
    for sym, pays in value.items():
        if sym not in symbols:
            raise ValidationError(f"paytable names unknown symbol {sym!r}")
        if not isinstance(pays, dict) or not pays:
            raise ValidationError(f"paytable of {sym!r} must map a count to a multiplier")
        parsed = {
            check.count_key(c, f"paytable of {sym!r}", 1, reels): check.integer(m, f"paytable of {sym!r}", 1, MAX_MULTIPLIER)
            for c, m in pays.items()
        }
        table[sym] = MappingProxyType(dict(sorted(parsed.items())))
        _check_pays_grow(sym, table[sym], reels)
    return MappingProxyType(table)


def _check_pays_grow(sym: str, pays: Mapping[int, int], reels: int) -> None:
    """A longer run never pays less: every count from the shortest paying one up to all reels pays, non-decreasing."""
    counts = list(pays)
    if counts != list(range(counts[0], reels + 1)):
        raise ValidationError(f"paytable of {sym!r} must pay every run length from {counts[0]} to {reels}, got {counts}")
    multipliers = list(pays.values())
    if multipliers != sorted(multipliers):
        raise ValidationError(f"paytable of {sym!r} pays less for a longer run: {dict(pays)}")


def draw(math: ReelsMath, rng: RandomSource) -> list[int]:
    """One stop position per reel."""
    return [rng.below(len(strip)) for strip in math.strips]


def window(math: ReelsMath, stops: Sequence[int]) -> list[list[str]]:
    """The visible symbols, one list of ``ROWS`` per reel, top to bottom."""
    if len(stops) != len(math.strips):
        raise ValidationError(f"a spin needs {len(math.strips)} stops, got {len(stops)}")
    grid = []
    for strip, stop in zip(math.strips, stops, strict=True):
        if isinstance(stop, bool) or not isinstance(stop, int) or not 0 <= stop < len(strip):
            raise ValidationError(f"stop {stop!r} is outside a strip of {len(strip)}")
        grid.append([strip[(stop + row) % len(strip)] for row in range(ROWS)])
    return grid


def line_pay(math: ReelsMath, cells: Sequence[str]) -> tuple[str, int, int] | None:
    """``(symbol, count, multiplier)`` of the leading run of ``cells``, or ``None`` if it pays nothing.

    ``cells`` may be a prefix of a line that already contains the symbol breaking the
    run: the pay depends on nothing after it (the RTP enumeration relies on this).
    """
    wild_run = 0
    while wild_run < len(cells) and cells[wild_run] == math.wild:
        wild_run += 1
    best: tuple[str, int, int] | None = None
    if wild_run and math.wild is not None:
        pay = math.paytable.get(math.wild, {}).get(wild_run, 0)
        best = (math.wild, wild_run, pay) if pay else None
    if wild_run < len(cells):
        target = cells[wild_run]
        count = wild_run
        while count < len(cells) and cells[count] in (target, math.wild):
            count += 1
        pay = math.paytable.get(target, {}).get(count, 0)
        if pay and (best is None or pay > best[2]):
            best = (target, count, pay)
    return best


def line_wins(math: ReelsMath, grid: Sequence[Sequence[str]]) -> list[LineWin]:
    """Every paying line of a visible grid."""
    wins = []
    for index, rows in enumerate(math.paylines):
        paid = line_pay(math, [grid[reel][row] for reel, row in enumerate(rows)])
        if paid is not None:
            wins.append(LineWin(index, *paid))
    return wins


def settle(math: ReelsMath, bet_units: int, stops: Sequence[int]) -> tuple[int, dict[str, Any]]:
    """The win and the outcome the player sees for ``stops``; the same stops always give the same result."""
    line_bet = bet_units // len(math.paylines)
    if line_bet * len(math.paylines) != bet_units or line_bet <= 0:
        raise ValidationError(f"bet {bet_units} does not divide into {len(math.paylines)} equal line bets")
    grid = window(math, stops)
    wins = line_wins(math, grid)
    win_units = sum(line_bet * w.multiplier for w in wins)
    outcome = {
        "engine": "reels",
        "reels": grid,
        "line_bet_units": line_bet,
        "lines": [
            {"line": w.line, "symbol": w.symbol, "count": w.count, "multiplier": w.multiplier, "win_units": line_bet * w.multiplier}
            for w in wins
        ],
        "win_units": win_units,
    }
    return win_units, outcome


def _broken(math: ReelsMath, prefix: Sequence[str]) -> bool:
    """True once the prefix holds a cell that is neither the wild nor the run's symbol."""
    target = next((s for s in prefix if s != math.wild), None)
    return target is not None and prefix[-1] not in (target, math.wild)


def expected_line_multiplier(math: ReelsMath) -> Fraction:
    """Exact expected multiplier of one payline (the same for every line)."""
    counts = [Counter(strip) for strip in math.strips]
    lengths = [len(strip) for strip in math.strips]

    def walk(prefix: list[str], weight: int) -> int:
        # weight = number of stop combinations of the reels so far that show ``prefix``
        depth = len(prefix)
        if depth == len(counts) or (depth and _broken(math, prefix)):
            paid = line_pay(math, prefix)
            rest = 1
            for length in lengths[depth:]:
                rest *= length
            return weight * rest * (paid[2] if paid else 0)
        return sum(walk([*prefix, sym], weight * n) for sym, n in counts[depth].items())

    total_combos = 1
    for length in lengths:
        total_combos *= length
    return Fraction(walk([], 1), total_combos)


def rtp(math: ReelsMath) -> Fraction:
    """Return to player: the bet is split evenly over the lines and each line returns the same."""
    return expected_line_multiplier(math)

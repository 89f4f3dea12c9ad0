"""Finite pre-drawn pool engine (instant reveal), as sweepstakes run them.

Central makes a pool from a fixed prize table (``generate_pool``: the table's entries
shuffled with the CSPRNG), publishes ``commitment(pool)`` (a SHA-256 over the shuffled
entries and a random salt) before dealing, deals entries in order to sessions, and
starts a new pool when one runs out. Once a pool is spent it reveals the salt and the
entries; ``verify_spent_pool`` lets an auditor check them against the commitment, the
prize table and what was actually dealt.

An entry's prize is in minor units for one *base bet*; a round's win is
``bet / base * prize``. The kiosk then draws a cosmetic 3×3 scratch card that shows the
prize: a winning card has the prize tier's symbol exactly three times, and no card
shows any other symbol three times. The card is the round's draws (symbol indexes),
so a recall shows the very card the player saw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from shared.bodies import check_ref
from shared.canonical import canonical_json, sha256_hex
from shared.errors import ValidationError
from shared.games import _checks as check
from shared.games.rng import RandomSource, random_hex

CELLS = 9
MATCH = 3
MAX_POOL = 1_000_000
SALT_BYTES = 32


class PoolExhaustedError(ValidationError):
    """Every entry of the pool has been dealt; central must start a new one."""

    code = "pool_exhausted"


@dataclass(frozen=True)
class PrizeTier:
    """``count`` entries that each pay ``prize_units`` per base bet, shown with ``symbol``."""

    prize_units: int
    count: int
    symbol: str | None


@dataclass(frozen=True)
class PoolMath:
    """Base bet, the prize table and the symbols the scratch card may show."""

    base_bet_units: int
    tiers: tuple[PrizeTier, ...]
    symbols: tuple[str, ...]

    @property
    def size(self) -> int:
        return sum(t.count for t in self.tiers)

    @property
    def prize_table(self) -> dict[int, int]:
        """``{prize_units: count}``, losing entries under 0."""
        return {t.prize_units: t.count for t in self.tiers}

    def tier(self, prize_units: int) -> PrizeTier:
        for tier in self.tiers:
            if tier.prize_units == prize_units:
                return tier
        raise ValidationError(f"prize {prize_units} is not in this game's prize table")

    def to_json(self) -> dict[str, Any]:
        return {
            "base_bet_units": self.base_bet_units,
            "symbols": list(self.symbols),
            "prize_table": [
                {"prize_units": t.prize_units, "count": t.count} | ({"symbol": t.symbol} if t.symbol else {})
                for t in self.tiers
            ],
        }

    def check_bet_options(self, bets: Sequence[int]) -> None:
        for bet in bets:
            if bet % self.base_bet_units:
                raise ValidationError(f"bet option {bet} is not a whole number of base bets of {self.base_bet_units}")

    def max_multiplier(self) -> int:
        return max(t.prize_units for t in self.tiers) // self.base_bet_units + 1


def parse_math(doc: object) -> PoolMath:
    """Validate a pool ``math`` object into ``PoolMath``."""
    data = check.obj(doc, "pool math", {"base_bet_units", "symbols", "prize_table"})
    base = check.integer(data["base_bet_units"], "base_bet_units", 1, 10**9)
    symbols = tuple(check.name(s, "symbol") for s in check.listed(data["symbols"], "symbols", 5, 32))
    if len(set(symbols)) != len(symbols):
        raise ValidationError("symbols must not repeat")
    tiers = tuple(_parse_tier(t, symbols) for t in check.listed(data["prize_table"], "prize_table", 1, 64))
    _check_tiers(tiers)
    return PoolMath(base, tiers, symbols)


def _parse_tier(doc: object, symbols: tuple[str, ...]) -> PrizeTier:
    data = check.obj(doc, "prize tier", {"prize_units", "count"}, frozenset({"symbol"}))
    prize = check.integer(data["prize_units"], "prize_units", 0, 10**12)
    count = check.integer(data["count"], "prize count", 1, MAX_POOL)
    symbol = data.get("symbol")
    if prize > 0 and symbol not in symbols:
        raise ValidationError(f"prize {prize} needs one of the game's symbols to show it, got {symbol!r}")
    if prize == 0 and symbol is not None:
        raise ValidationError("the losing tier (prize 0) has no symbol")
    return PrizeTier(prize, count, symbol)


def _check_tiers(tiers: tuple[PrizeTier, ...]) -> None:
    prizes = [t.prize_units for t in tiers]
    if len(set(prizes)) != len(prizes):
        raise ValidationError("each prize appears once in the prize table (add to its count instead)")
    shown = [t.symbol for t in tiers if t.symbol]
    if len(set(shown)) != len(shown):
        raise ValidationError("two prize tiers cannot share a symbol: the card would not say which one won")
    if sum(t.count for t in tiers) > MAX_POOL:
        raise ValidationError(f"a pool holds at most {MAX_POOL} entries")


# --- the pool: generation, commitment, dealing, audit --------------------------------


@dataclass(frozen=True)
class GeneratedPool:
    """A shuffled pool; ``prizes[i]`` is entry ``i``'s prize per base bet. Secret until spent."""

    pool_id: str
    game_id: str
    game_version: str
    salt: str
    prizes: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        """The reveal document an auditor receives once the pool is spent."""
        return {"pool_id": self.pool_id, "game_id": self.game_id, "game_version": self.game_version,
                "salt": self.salt, "prizes": list(self.prizes)}

    @classmethod
    def from_json(cls, doc: object) -> GeneratedPool:
        data = check.obj(doc, "revealed pool", {"pool_id", "game_id", "game_version", "salt", "prizes"})
        prizes = check.listed(data["prizes"], "prizes", 1, MAX_POOL)
        for field in ("pool_id", "game_id", "game_version", "salt"):
            if not isinstance(data[field], str):
                raise ValidationError(f"revealed pool {field} must be text")
        return cls(data["pool_id"], data["game_id"], data["game_version"], data["salt"],
                   tuple(check.integer(p, "prize", 0, 10**12) for p in prizes))


@dataclass(frozen=True)
class PoolEntry:
    """One dealt entry: which pool, which position, and its prize per base bet."""

    pool_id: str
    index: int
    prize_units: int

    @property
    def ref(self) -> str:
        """The journal's ``pool_entry`` reference, ``<pool_id>:<index>``."""
        return f"{self.pool_id}:{self.index}"


@dataclass(frozen=True)
class PoolState:
    """A pool and how many of its entries have been dealt."""

    pool: GeneratedPool
    dealt: int = 0

    @property
    def spent(self) -> bool:
        return self.dealt >= len(self.pool.prizes)


def generate_pool(math: PoolMath, pool_id: str, game_id: str, game_version: str, rng: RandomSource) -> GeneratedPool:
    """Every entry of the prize table, in an order from a full Fisher–Yates shuffle, with a fresh salt."""
    check_ref(pool_id, "pool_id")
    prizes = [t.prize_units for t in math.tiers for _ in range(t.count)]
    for i in range(len(prizes) - 1, 0, -1):
        j = rng.below(i + 1)
        prizes[i], prizes[j] = prizes[j], prizes[i]
    return GeneratedPool(pool_id, game_id, game_version, random_hex(rng, SALT_BYTES), tuple(prizes))


def commitment(pool: GeneratedPool) -> str:
    """SHA-256 over the canonical reveal document: publishable before the first deal, hides the order (salt)."""
    return sha256_hex(canonical_json(pool.to_json()))


def deal(state: PoolState) -> tuple[PoolEntry, PoolState]:
    """The next entry and the state after it; a spent pool refuses."""
    if state.spent:
        raise PoolExhaustedError(f"pool {state.pool.pool_id} is spent: start a new pool")
    entry = PoolEntry(state.pool.pool_id, state.dealt, state.pool.prizes[state.dealt])
    return entry, PoolState(state.pool, state.dealt + 1)


def deal_next(state: PoolState, new_pool: Callable[[], GeneratedPool]) -> tuple[PoolEntry, PoolState]:
    """Deal from ``state``, or from a fresh pool made by ``new_pool`` when ``state`` is spent."""
    return deal(PoolState(new_pool()) if state.spent else state)


def verify_spent_pool(
    revealed: GeneratedPool,
    published_commitment: str,
    prize_table: Mapping[int, int],
    dealt: Mapping[int, int] | None = None,
) -> list[str]:
    """Every problem an auditor finds in a revealed pool; an empty list means it is sound.

    Checks the commitment, that the entries are exactly the prize table (as a multiset),
    and, given ``dealt`` (``{index: prize}`` from the journaled rounds), that each dealt
    entry was paid the prize the pool holds at that index.
    """
    problems = []
    if commitment(revealed) != published_commitment:
        problems.append(f"pool {revealed.pool_id}: the revealed salt and entries do not match the published commitment")
    expected, found = Counter({p: c for p, c in prize_table.items() if c}), Counter(revealed.prizes)
    for prize in sorted(set(expected) | set(found)):
        if expected[prize] != found[prize]:
            problems.append(f"pool {revealed.pool_id}: prize {prize} appears {found[prize]} times, the prize table says {expected[prize]}")
    for index, prize in sorted((dealt or {}).items()):
        if not 0 <= index < len(revealed.prizes):
            problems.append(f"pool {revealed.pool_id}: entry {index} was dealt but the pool has no such entry")
        elif revealed.prizes[index] != prize:
            problems.append(f"pool {revealed.pool_id}: entry {index} paid {prize}, the pool holds {revealed.prizes[index]}")
    return problems


def rtp(math: PoolMath) -> Fraction:
    """Exact return of a whole pool: total prizes over total stakes."""
    return Fraction(sum(t.prize_units * t.count for t in math.tiers), math.size * math.base_bet_units)


def return_variance(math: PoolMath) -> Fraction:
    """Variance of ``win / bet`` for one entry drawn from a fresh pool."""
    mean = rtp(math)
    second = sum((Fraction(t.count, math.size) * Fraction(t.prize_units, math.base_bet_units) ** 2 for t in math.tiers), Fraction(0))
    return second - mean * mean


# --- the scratch card a round shows ---------------------------------------------------


def _pick(rng: RandomSource, options: Sequence[int]) -> int:
    return options[rng.below(len(options))]


def draw(math: PoolMath, entry: PoolEntry, rng: RandomSource) -> list[int]:
    """A 3×3 card (symbol indexes) that shows exactly ``entry``'s prize."""
    tier = math.tier(entry.prize_units)
    used: Counter[int] = Counter()
    cells: list[int] = []
    if tier.symbol is not None:
        winner = math.symbols.index(tier.symbol)
        cells, used[winner] = [winner] * MATCH, MATCH
    while len(cells) < CELLS:  # bounded: each turn adds one cell
        free = [i for i in range(len(math.symbols)) if used[i] < MATCH - 1]
        choice = _pick(rng, free)
        used[choice] += 1
        cells.append(choice)
    for i in range(CELLS - 1, 0, -1):
        j = rng.below(i + 1)
        cells[i], cells[j] = cells[j], cells[i]
    return cells


def settle(math: PoolMath, bet_units: int, cells: Sequence[int], entry: PoolEntry) -> tuple[int, dict[str, Any]]:
    """The win and outcome of ``entry``, checking the card shows that prize and nothing else."""
    if bet_units <= 0 or bet_units % math.base_bet_units:
        raise ValidationError(f"bet {bet_units} is not a whole number of base bets of {math.base_bet_units}")
    tier = math.tier(entry.prize_units)
    symbols = [math.symbols[check.integer(c, "card cell", 0, len(math.symbols) - 1)] for c in cells]
    if len(symbols) != CELLS:
        raise ValidationError(f"a card has {CELLS} cells, got {len(symbols)}")
    triples = sorted(s for s, n in Counter(symbols).items() if n >= MATCH)
    if triples != ([tier.symbol] if tier.symbol else []) or max(Counter(symbols).values()) > MATCH:
        raise ValidationError(f"the card shows {triples or 'no match'}, which is not prize {entry.prize_units}")
    win_units = bet_units // math.base_bet_units * entry.prize_units
    outcome = {
        "engine": "pool",
        "pool_entry": entry.ref,
        "prize_units_per_base": entry.prize_units,
        "cells": symbols,
        "winning_symbol": tier.symbol,
        "win_units": win_units,
    }
    return win_units, outcome

"""Playing, replaying and journaling one round of any game.

``play`` draws with the CSPRNG unless told otherwise, records the draws, and returns a
``RoundResult`` whose ``round_body_fields`` are exactly what the kiosk writes into the
``GameRound`` journal entry *before* it shows the outcome. ``replay`` recomputes a
round from its bet, draws (and picks or pool entry) alone: game recall, and an
auditor's check that a journaled outcome is what the math says.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from shared.errors import ValidationError
from shared.games import keno, pool, reels
from shared.games.definition import GameDefinition
from shared.games.rng import RandomSource, default_source
from shared.money import check_positive, check_units


@dataclass(frozen=True)
class RoundResult:
    """One settled round: what was staked, drawn, shown and won."""

    game_id: str
    game_version: str
    bet_units: int
    win_units: int
    outcome: Mapping[str, Any]
    draws: tuple[int, ...]
    pool_entry: str | None = None


def check_stake(definition: GameDefinition, bet_units: int, escrow_units: int) -> None:
    """Refuse a bet the game does not offer or the escrow cannot cover (escrow never goes negative)."""
    check_positive(bet_units, "bet_units")
    check_units(escrow_units, "escrow_units")
    if bet_units not in definition.bet_options_units:
        offered = ", ".join(str(b) for b in definition.bet_options_units)
        raise ValidationError(f"{definition.id} takes bets of {offered} units, not {bet_units}")
    if bet_units > escrow_units:
        raise ValidationError(f"bet {bet_units} is more than the {escrow_units} units left in the session")


def play(
    definition: GameDefinition,
    bet_units: int,
    *,
    escrow_units: int,
    rng: RandomSource | None = None,
    picks: Sequence[int] | None = None,
    entry: pool.PoolEntry | None = None,
) -> RoundResult:
    """Play one round. Keno needs the player's ``picks``; a pool game needs the dealt ``entry``."""
    check_stake(definition, bet_units, escrow_units)
    _refuse_foreign_inputs(definition, picks, entry)
    source = rng if rng is not None else default_source()
    math = definition.math
    if isinstance(math, reels.ReelsMath):
        draws = reels.draw(math, source)
    elif isinstance(math, keno.KenoMath):
        keno.check_picks(math, picks)  # refuse bad picks before spending randomness
        draws = keno.draw(source)
    else:
        draws = pool.draw(math, _need_entry(entry), source)
    return replay(definition, bet_units, draws, picks=picks, entry=entry)


def replay(
    definition: GameDefinition,
    bet_units: int,
    draws: Sequence[int],
    *,
    picks: Sequence[int] | None = None,
    entry: pool.PoolEntry | None = None,
) -> RoundResult:
    """The round that ``draws`` produce: the same inputs always give the identical result."""
    check_positive(bet_units, "bet_units")
    math = definition.math
    _refuse_foreign_inputs(definition, picks, entry)
    if isinstance(math, reels.ReelsMath):
        win, outcome = reels.settle(math, bet_units, draws)
    elif isinstance(math, keno.KenoMath):
        win, outcome = keno.settle(math, bet_units, draws, picks)
    else:
        entry = _need_entry(entry)
        win, outcome = pool.settle(math, bet_units, draws, entry)
    # Wins are whole units and never negative, so bet-then-win never takes an escrow below zero.
    assert isinstance(win, int) and win >= 0, win
    return RoundResult(definition.id, definition.version, bet_units, win, outcome, tuple(draws),
                       entry.ref if entry is not None else None)


def _refuse_foreign_inputs(definition: GameDefinition, picks: object, entry: object) -> None:
    """Picks belong to keno and entries to pool games; elsewhere they are a caller's mix-up."""
    if picks is not None and not isinstance(definition.math, keno.KenoMath):
        raise ValidationError(f"{definition.id} is a {definition.engine} game: it takes no picks")
    if entry is not None and not isinstance(definition.math, pool.PoolMath):
        raise ValidationError(f"{definition.id} is a {definition.engine} game: it takes no pool entry")


def _need_entry(entry: pool.PoolEntry | None) -> pool.PoolEntry:
    if not isinstance(entry, pool.PoolEntry):
        raise ValidationError("a pool game needs the pool entry central dealt to this session")
    return entry


def recall(definition: GameDefinition, body: Mapping[str, Any]) -> RoundResult:
    """Replay a journaled round from its ``GameRound`` body fields (game recall, audits)."""
    if body.get("game_id") != definition.id or body.get("game_version") != definition.version:
        raise ValidationError(f"round is of {body.get('game_id')} {body.get('game_version')}, not {definition.id} {definition.version}")
    outcome = body.get("outcome") or {}
    entry = None
    if isinstance(definition.math, pool.PoolMath):
        entry = _entry_from_ref(body.get("pool_entry"), outcome.get("prize_units_per_base"))
    bet_units = check_positive(body.get("bet_units"), "bet_units")
    return replay(definition, bet_units, body.get("draws") or [], picks=outcome.get("picks"), entry=entry)


def _entry_from_ref(ref: object, prize_units: object) -> pool.PoolEntry:
    pool_id, _, index = ref.rpartition(":") if isinstance(ref, str) else ("", "", "")
    if not pool_id or not index.isdigit() or isinstance(prize_units, bool) or not isinstance(prize_units, int):
        raise ValidationError(f"pool_entry {ref!r} is not <pool_id>:<index> with a prize")
    return pool.PoolEntry(pool_id, int(index), prize_units)


def round_body_fields(result: RoundResult) -> dict[str, Any]:
    """Exactly the game fields of a ``GameRound`` body; the kiosk adds session, kiosk, location, round_no."""
    return {
        "game_id": result.game_id,
        "game_version": result.game_version,
        "bet_units": result.bet_units,
        "win_units": result.win_units,
        "outcome": copy.deepcopy(dict(result.outcome)),
        "draws": list(result.draws),
        "pool_entry": result.pool_entry,
    }


def rtp(definition: GameDefinition) -> Fraction:
    """Exact return to player of the game (keno: the lowest over its spot counts)."""
    math = definition.math
    if isinstance(math, reels.ReelsMath):
        return reels.rtp(math)
    if isinstance(math, keno.KenoMath):
        return keno.rtp(math)
    return pool.rtp(math)

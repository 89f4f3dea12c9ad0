"""A game is plain data on top of an engine (DESIGN §6).

A definition document is JSON: ``id``, ``version``, ``engine``, ``title``,
``bet_options_units`` (what a player may stake per round, in credit minor units),
``assets`` (names of the image and sound files the kiosk shows; the packages ship
them) and ``math`` (the engine's paytable, strips, lines, prize table …). It is
validated here into frozen dataclasses, so a kiosk never plays a half-checked game,
and identified by ``definition_hash``: SHA-256 over its canonical JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from shared.bodies import check_ref
from shared.canonical import canonical_json, sha256_hex
from shared.errors import ValidationError
from shared.games import _checks as check
from shared.games import keno, pool, reels
from shared.money import MAX_ABS_UNITS

Math = reels.ReelsMath | keno.KenoMath | pool.PoolMath

ENGINES: Mapping[str, Callable[[object], Math]] = MappingProxyType({
    "reels": reels.parse_math,
    "keno": keno.parse_math,
    "pool": pool.parse_math,
})
"""Engine name → the parser of its ``math`` object."""

MAX_BET_OPTIONS = 16
_ASSET_RE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_./")


@dataclass(frozen=True)
class GameDefinition:
    """A validated game: identity, bets, asset names and the engine's math."""

    id: str
    version: str
    engine: str
    title: str
    bet_options_units: tuple[int, ...]
    assets: Mapping[str, str]
    math: Math

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "engine": self.engine,
            "title": self.title,
            "bet_options_units": list(self.bet_options_units),
            "assets": dict(self.assets),
            "math": self.math.to_json(),
        }


def parse_definition(doc: object) -> GameDefinition:
    """Validate a definition document; every refusal is a ``ValidationError`` naming the problem."""
    data = check.obj(doc, "game definition", {"id", "version", "engine", "title", "bet_options_units", "assets", "math"})
    game_id = check_ref(data["id"], "game id")
    version = check_ref(data["version"], "game version")
    engine = data["engine"]
    if engine not in ENGINES:
        raise ValidationError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    title = data["title"]
    if not isinstance(title, str) or not title.strip() or len(title) > 80:
        raise ValidationError("title must be 1-80 characters")
    math = ENGINES[engine](data["math"])
    bets = _parse_bets(data["bet_options_units"], math)
    return GameDefinition(game_id, version, engine, title, bets, _parse_assets(data["assets"]), math)


def _parse_bets(value: object, math: Math) -> tuple[int, ...]:
    bets = tuple(check.integer(b, "bet option", 1, 10**9) for b in check.listed(value, "bet_options_units", 1, MAX_BET_OPTIONS))
    if list(bets) != sorted(set(bets)):
        raise ValidationError("bet_options_units must be distinct and in increasing order")
    math.check_bet_options(bets)
    # The largest possible win must still fit a signed 64-bit ledger amount.
    if bets[-1] * math.max_multiplier() > MAX_ABS_UNITS:
        raise ValidationError("the largest bet times the top pay does not fit a ledger amount")
    return bets


def _parse_assets(value: object) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise ValidationError("assets must map a role (e.g. background) to a file name")
    assets = {}
    for role, path in value.items():
        check.name(role, "asset role")
        if not isinstance(path, str) or not path or not set(path) <= _ASSET_RE_CHARS or ".." in path or path.startswith("/"):
            raise ValidationError(f"asset {role!r} must be a relative file name inside the game package, got {path!r}")
        assets[role] = path
    return MappingProxyType(dict(sorted(assets.items())))


def definition_hash(definition: GameDefinition) -> str:
    """SHA-256 of the definition's canonical JSON: what central signs and kiosks verify."""
    return sha256_hex(canonical_json(definition.to_json()))

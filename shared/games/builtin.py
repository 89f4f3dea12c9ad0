"""The games shipped with the suite (JSON under ``catalog/``, package data) and their catalog entries."""

from __future__ import annotations

from fractions import Fraction
from importlib import resources
from typing import Any

from shared.canonical import parse_json
from shared.errors import ValidationError
from shared.games import keno
from shared.games.definition import GameDefinition, definition_hash, parse_definition
from shared.games.round import rtp

MAX_BUILTIN = 64


def load_builtin_games() -> dict[str, GameDefinition]:
    """Every shipped game by id, validated; a broken or duplicated file refuses to load."""
    games: dict[str, GameDefinition] = {}
    folder = resources.files("shared.games").joinpath("catalog")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    for file in files[:MAX_BUILTIN]:
        definition = parse_definition(parse_json(file.read_bytes()))
        if definition.id in games:
            raise ValidationError(f"game {definition.id} is defined twice in the built-in catalog")
        games[definition.id] = definition
    return games


def rtp_percent(value: Fraction) -> str:
    """An RTP for display, e.g. "92.41%" (the exact fraction is what counts; this is only text)."""
    return f"{float(value) * 100:.2f}%"


def catalog_entry(definition: GameDefinition) -> dict[str, Any]:
    """What the catalog shows of a game, with its exact RTP (canonical JSON: no floats)."""
    value = rtp(definition)
    entry: dict[str, Any] = {
        "id": definition.id,
        "version": definition.version,
        "engine": definition.engine,
        "title": definition.title,
        "bet_options_units": list(definition.bet_options_units),
        "definition_sha256": definition_hash(definition),
        "rtp": f"{value.numerator}/{value.denominator}",
        "rtp_percent": rtp_percent(value),
    }
    if isinstance(definition.math, keno.KenoMath):
        entry["rtp_by_spots"] = {str(k): rtp_percent(v) for k, v in keno.rtp_by_spots(definition.math).items()}
    return entry

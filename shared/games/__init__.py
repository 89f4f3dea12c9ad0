"""Pure game math (DESIGN §6): engines (reels, keno, finite pool), games as data, exact RTP.

Typical kiosk use::

    games = load_builtin_games()
    result = play(games["fruit-fiesta"], bet_units=100, escrow_units=escrow)
    journal.append("game_round", {**session_fields, **round_body_fields(result)})  # before showing
"""

from shared.games.builtin import catalog_entry, load_builtin_games
from shared.games.definition import GameDefinition, definition_hash, parse_definition
from shared.games.rng import RandomSource, SeededSource, SystemSource, default_source
from shared.games.round import RoundResult, check_stake, play, recall, replay, round_body_fields, rtp

__all__ = [
    "GameDefinition",
    "RandomSource",
    "RoundResult",
    "SeededSource",
    "SystemSource",
    "catalog_entry",
    "check_stake",
    "default_source",
    "definition_hash",
    "load_builtin_games",
    "parse_definition",
    "play",
    "recall",
    "replay",
    "round_body_fields",
    "rtp",
]

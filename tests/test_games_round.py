"""Playing a round of any game: CSPRNG by default, exact replay, journal body, stake rules, catalog."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.bodies import GameRound
from shared.canonical import canonical_json
from shared.errors import ValidationError
from shared.games import (
    SeededSource,
    SystemSource,
    catalog_entry,
    default_source,
    definition_hash,
    load_builtin_games,
    parse_definition,
    play,
    recall,
    replay,
    round_body_fields,
    rtp,
)
from shared.games import pool as pool_engine
from shared.games import rng as rng_module
from shared.ledger import account

GAMES = load_builtin_games()
SCRATCH = GAMES["gold-rush-scratch"]
assert isinstance(SCRATCH.math, pool_engine.PoolMath)
POOL = pool_engine.generate_pool(SCRATCH.math, "gr-1", SCRATCH.id, SCRATCH.version, SeededSource(3))

rounds = st.fixed_dictionaries({
    "game": st.sampled_from(sorted(GAMES)),
    "seed": st.integers(0, 2**64),
    "bet_index": st.integers(0, 15),
    "picks": st.integers(1, 10).flatmap(lambda k: st.lists(st.integers(1, 80), min_size=k, max_size=k, unique=True)),
    "entry_index": st.integers(0, len(POOL.prizes) - 1),
})


def play_case(case: dict, rng=None):
    definition = GAMES[case["game"]]
    bet = definition.bet_options_units[case["bet_index"] % len(definition.bet_options_units)]
    picks = case["picks"] if definition.engine == "keno" else None
    entry = None
    if definition.engine == "pool":
        entry = pool_engine.PoolEntry(POOL.pool_id, case["entry_index"], POOL.prizes[case["entry_index"]])
    result = play(definition, bet, escrow_units=bet, rng=rng or SeededSource(case["seed"]), picks=picks, entry=entry)
    return definition, picks, entry, result


def test_the_default_source_is_the_csprng(monkeypatch):
    assert isinstance(default_source(), SystemSource)
    calls = []

    def counting_randbelow(n: int) -> int:
        calls.append(n)
        return 0

    monkeypatch.setattr(rng_module.secrets, "randbelow", counting_randbelow)
    play(GAMES["fruit-fiesta"], 10, escrow_units=10)
    assert calls == [len(strip) for strip in GAMES["fruit-fiesta"].math.strips]  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(case=rounds)
def test_replaying_the_draws_gives_the_identical_round(case):
    definition, picks, entry, result = play_case(case)
    again = replay(definition, result.bet_units, list(result.draws), picks=picks, entry=entry)
    assert again == result
    assert recall(definition, round_body_fields(result)) == result


@settings(max_examples=200, deadline=None)
@given(case=rounds)
def test_a_round_is_a_valid_journal_body_with_a_whole_non_negative_win(case):
    definition, _, _, result = play_case(case)
    assert isinstance(result.win_units, int) and result.win_units >= 0
    fields = round_body_fields(result)
    canonical_json(fields)  # no floats, nothing without one spelling
    body = GameRound(session_id="s1", kiosk_id="k1", location_id="loc1", round_no=1, **fields)
    assert body.outcome["win_units"] == result.win_units
    escrow = account("escrow", "s1")
    change = sum(p.amount_units for p in body.postings() if p.account == escrow)
    # staking the whole escrow leaves exactly the win: never below zero
    assert result.bet_units + change == result.win_units >= 0
    assert set(fields) == {"game_id", "game_version", "bet_units", "win_units", "outcome", "draws", "pool_entry"}
    assert (fields["pool_entry"] is not None) == (definition.engine == "pool")


def test_round_body_fields_are_a_copy():
    *_, result = play_case({"game": "lucky-keno", "seed": 1, "bet_index": 0, "picks": [1, 2, 3], "entry_index": 0})
    fields = round_body_fields(result)
    fields["outcome"]["hits"].append(99)
    assert 99 not in result.outcome["hits"]


def test_recall_refuses_a_round_of_another_game():
    *_, result = play_case({"game": "lucky-keno", "seed": 1, "bet_index": 0, "picks": [1, 2, 3], "entry_index": 0})
    with pytest.raises(ValidationError, match="not fruit-fiesta"):
        recall(GAMES["fruit-fiesta"], round_body_fields(result))


def test_a_tampered_journal_outcome_does_not_survive_recall():
    *_, result = play_case({"game": "fruit-fiesta", "seed": 5, "bet_index": 0, "picks": [1], "entry_index": 0})
    body = round_body_fields(result)
    body["draws"][0] = (body["draws"][0] + 1) % len(GAMES["fruit-fiesta"].math.strips[0])  # type: ignore[union-attr]
    assert recall(GAMES["fruit-fiesta"], body).outcome != result.outcome


@pytest.mark.parametrize(("bet", "escrow", "message"), [
    (30, 1000, "takes bets of 10, 20, 50, 100, 200, 500 units, not 30"),
    (100, 99, "more than the 99 units left"),
    (0, 100, "greater than zero"),
])
def test_stakes_the_game_or_escrow_cannot_take_are_refused(bet, escrow, message):
    with pytest.raises(ValidationError, match=message):
        play(GAMES["fruit-fiesta"], bet, escrow_units=escrow, rng=SeededSource(1))


def test_picks_and_entries_go_only_to_their_engines():
    entry = pool_engine.PoolEntry("gr-1", 0, 0)
    with pytest.raises(ValidationError, match="takes no pool entry"):
        play(GAMES["lucky-keno"], 100, escrow_units=100, rng=SeededSource(1), picks=[1], entry=entry)
    with pytest.raises(ValidationError, match="takes no picks"):
        play(SCRATCH, 100, escrow_units=100, rng=SeededSource(1), picks=[1], entry=entry)


def test_keno_needs_picks_and_pool_needs_an_entry():
    with pytest.raises(ValidationError, match="picks"):
        play(GAMES["lucky-keno"], 100, escrow_units=100, rng=SeededSource(1))
    with pytest.raises(ValidationError, match="pool entry"):
        play(SCRATCH, 100, escrow_units=100, rng=SeededSource(1))


def test_catalog_shows_each_shipped_game_with_its_exact_rtp():
    assert set(GAMES) == {"fruit-fiesta", "lucky-keno", "gold-rush-scratch"}
    assert {g.engine for g in GAMES.values()} == {"reels", "keno", "pool"}
    for game in GAMES.values():
        entry = catalog_entry(game)
        canonical_json(entry)
        numerator, denominator = (int(x) for x in entry["rtp"].split("/"))
        assert numerator * rtp(game).denominator == denominator * rtp(game).numerator
        assert entry["rtp_percent"] == f"{100 * numerator / denominator:.2f}%"
        assert entry["definition_sha256"] == definition_hash(game)


def test_definition_hash_is_stable_and_changes_with_the_math():
    game = GAMES["lucky-keno"]
    doc = game.to_json()
    assert definition_hash(parse_definition(json.loads(json.dumps(doc)))) == definition_hash(game)
    changed = copy.deepcopy(doc)
    changed["math"]["pays"]["1"]["1"] = 370
    assert definition_hash(parse_definition(changed)) != definition_hash(game)


@pytest.mark.parametrize(("change", "message"), [
    ({"engine": "roulette"}, "unknown engine 'roulette'"),
    ({"bet_options_units": [20, 10]}, "increasing order"),
    ({"bet_options_units": []}, "1 to 16 items"),
    ({"assets": {"background": "../../etc/passwd"}}, "relative file name"),
    ({"version": "1 0"}, "game version"),
    ({"title": ""}, "title"),
    ({"bet_options_units": [10, 10**9 - 9]}, "does not divide|does not fit"),
])
def test_invalid_definitions_are_refused(change, message):
    with pytest.raises(ValidationError, match=message):
        parse_definition(GAMES["fruit-fiesta"].to_json() | change)

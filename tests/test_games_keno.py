"""Keno engine: the draw, settling picks, exact RTP against an independent derivation, refusals."""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ValidationError
from shared.games import SeededSource, load_builtin_games, parse_definition
from shared.games import keno as engine


@cache
def sequential_hit_distribution(spots: int) -> dict[int, Fraction]:
    """P(hits) derived ball by ball (not from binomial coefficients): 20 draws without replacement from 80."""
    dist = {0: Fraction(1)}
    for ball in range(20):
        left = 80 - ball
        nxt: dict[int, Fraction] = {}
        for hits, p in dist.items():
            marked_left = spots - hits
            nxt[hits + 1] = nxt.get(hits + 1, Fraction(0)) + p * Fraction(marked_left, left)
            nxt[hits] = nxt.get(hits, Fraction(0)) + p * Fraction(left - marked_left, left)
        dist = nxt
    return {h: p for h, p in dist.items() if p}


def test_hit_probabilities_match_the_ball_by_ball_derivation():
    for spots in range(1, 11):
        seq = sequential_hit_distribution(spots)
        assert sum(seq.values()) == 1
        assert {h: engine.hit_probability(spots, h) for h in range(spots + 1)} == seq


def test_shipped_keno_rtp_per_spot_count_is_what_the_paytable_says():
    math = load_builtin_games()["lucky-keno"].math
    assert isinstance(math, engine.KenoMath)
    independent = {
        spots: sum((p * row.get(h, 0) for h, p in sequential_hit_distribution(spots).items()), Fraction(0)) / math.base_bet_units
        for spots, row in math.pays.items()
    }
    assert engine.rtp_by_spots(math) == independent
    assert engine.rtp(math) == min(independent.values())
    assert all(Fraction(88, 100) <= v <= Fraction(92, 100) for v in independent.values())


def test_one_spot_pays_its_share_exactly():
    # 1 spot hits with probability 20/80; paying 3.6 base bets returns exactly 90%.
    math = engine.parse_math({"base_bet_units": 100, "pays": {"1": {"1": 360}}})
    assert engine.rtp(math) == Fraction(9, 10)
    assert engine.return_variance(math, 1) == Fraction(1, 4) * Fraction(36, 10) ** 2 - Fraction(81, 100)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**64))
def test_a_draw_is_20_distinct_numbers_from_1_to_80(seed):
    drawn = engine.draw(SeededSource(seed))
    assert len(drawn) == 20
    assert len(set(drawn)) == 20
    assert all(1 <= n <= 80 for n in drawn)


def test_every_number_is_drawn_about_a_quarter_of_the_time():
    rng, rounds = SeededSource(7), 4000
    seen = [0] * 81
    for _ in range(rounds):
        for n in engine.draw(rng):
            seen[n] += 1
    # each count ~ Binomial(4000, 1/4): mean 1000, sd 27.4; 5 sd either side over 80 numbers
    assert all(860 <= seen[n] <= 1140 for n in range(1, 81)), seen


def test_settle_counts_hits_and_pays_per_base_bet():
    math = engine.parse_math({"base_bet_units": 100, "pays": {"3": {"2": 200, "3": 4500}}})
    drawn = list(range(1, 21))
    win, outcome = engine.settle(math, 500, drawn, [2, 19, 40])
    assert outcome["hits"] == [2, 19]
    assert win == 5 * 200
    win, outcome = engine.settle(math, 100, drawn, [41, 42, 43])
    assert (win, outcome["hits"]) == (0, [])


@pytest.mark.parametrize(("picks", "message"), [
    ([1, 1, 2], "must not repeat"),
    ([0, 1, 2], "between 1 and 80"),
    ([1, 2], "plays 3 spots, not 2"),
    (None, "list of numbers"),
])
def test_bad_picks_are_refused(picks, message):
    math = engine.parse_math({"base_bet_units": 100, "pays": {"3": {"3": 4500}}})
    with pytest.raises(ValidationError, match=message):
        engine.settle(math, 100, list(range(1, 21)), picks)


def test_a_forged_draw_is_refused():
    math = engine.parse_math({"base_bet_units": 100, "pays": {"1": {"1": 360}}})
    with pytest.raises(ValidationError, match="20 distinct numbers"):
        engine.settle(math, 100, [1] * 20, [1])
    with pytest.raises(ValidationError, match="between 1 and 80"):
        engine.settle(math, 100, list(range(70, 90)), [1])


@pytest.mark.parametrize(("math", "message"), [
    ({"base_bet_units": 100, "pays": {"11": {"5": 100}}}, "between 1 and 10"),
    ({"base_bet_units": 100, "pays": {"3": {"4": 100}}}, "between 0 and 3"),
    ({"base_bet_units": 100, "pays": {"3": {"3": -1}}}, "between 1 and"),
    ({"base_bet_units": 100, "pays": {"03": {"3": 5}}}, "written in digits"),
    ({"base_bet_units": 0, "pays": {"1": {"1": 5}}}, "base_bet_units"),
    ({"pays": {"1": {"1": 5}}}, "missing: base_bet_units"),
])
def test_invalid_keno_math_is_refused(math, message):
    doc = {"id": "k", "version": "1", "engine": "keno", "title": "K", "bet_options_units": [100], "assets": {}, "math": math}
    with pytest.raises(ValidationError, match=message):
        parse_definition(doc)


def test_bet_options_must_be_whole_base_bets():
    doc = {"id": "k", "version": "1", "engine": "keno", "title": "K", "bet_options_units": [100, 150], "assets": {},
           "math": {"base_bet_units": 100, "pays": {"1": {"1": 360}}}}
    with pytest.raises(ValidationError, match="bet option 150 is not a whole number of base bets"):
        parse_definition(doc)

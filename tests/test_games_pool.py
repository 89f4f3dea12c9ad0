"""Finite pool: generation against the prize table, commitment, dealing, audit, the scratch card."""

from __future__ import annotations

import dataclasses
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ValidationError
from shared.games import SeededSource, load_builtin_games, parse_definition
from shared.games import pool as engine

SMALL = {
    "base_bet_units": 100,
    "symbols": ["gold", "silver", "bronze", "tin", "lead"],
    "prize_table": [
        {"prize_units": 1000, "count": 1, "symbol": "gold"},
        {"prize_units": 200, "count": 4, "symbol": "silver"},
        {"prize_units": 100, "count": 10, "symbol": "bronze"},
        {"prize_units": 0, "count": 35},
    ],
}


@pytest.fixture
def small() -> engine.PoolMath:
    return engine.parse_math(SMALL)


def make(math: engine.PoolMath, seed: int = 1, pool_id: str = "p1") -> engine.GeneratedPool:
    return engine.generate_pool(math, pool_id, "g", "1", SeededSource(seed))


def test_small_pool_rtp_is_prizes_over_stakes(small):
    # 1000 + 4*200 + 10*100 = 2800 units of prizes for 50 entries of 100 units.
    assert engine.rtp(small) == Fraction(2800, 5000)


def test_shipped_scratch_rtp_is_its_prize_table():
    doc = load_builtin_games()["gold-rush-scratch"].to_json()["math"]
    stakes = sum(t["count"] for t in doc["prize_table"]) * doc["base_bet_units"]
    prizes = sum(t["count"] * t["prize_units"] for t in doc["prize_table"])
    math = engine.parse_math(doc)
    assert engine.rtp(math) == Fraction(prizes, stakes)
    assert Fraction(85, 100) <= engine.rtp(math) <= Fraction(92, 100)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**64))
def test_generated_pool_holds_exactly_the_prize_table_and_verifies(seed):
    math = engine.parse_math(SMALL)
    pool = make(math, seed)
    assert Counter(pool.prizes) == Counter(math.prize_table)
    assert len(pool.salt) == 64
    assert engine.verify_spent_pool(pool, engine.commitment(pool), math.prize_table) == []


def test_shuffles_differ_and_salts_differ(small):
    a, b = make(small, 1), make(small, 2)
    assert a.prizes != b.prizes
    assert a.salt != b.salt
    assert engine.commitment(a) != engine.commitment(b)


def test_swapping_two_entries_breaks_the_commitment(small):
    pool = make(small)
    published = engine.commitment(pool)
    i = pool.prizes.index(1000)
    j = pool.prizes.index(0)
    prizes = list(pool.prizes)
    prizes[i], prizes[j] = prizes[j], prizes[i]
    problems = engine.verify_spent_pool(dataclasses.replace(pool, prizes=tuple(prizes)), published, small.prize_table)
    assert problems == ["pool p1: the revealed salt and entries do not match the published commitment"]


def test_a_changed_salt_is_detected(small):
    pool = make(small)
    published = engine.commitment(pool)
    problems = engine.verify_spent_pool(dataclasses.replace(pool, salt="00" * 32), published, small.prize_table)
    assert any("commitment" in p for p in problems)


def test_a_replaced_prize_is_detected_by_commitment_and_prize_table(small):
    pool = make(small)
    published = engine.commitment(pool)
    prizes = list(pool.prizes)
    prizes[prizes.index(0)] = 1000
    problems = engine.verify_spent_pool(dataclasses.replace(pool, prizes=tuple(prizes)), published, small.prize_table)
    assert len(problems) == 3  # commitment, one more 1000, one fewer 0
    assert "prize 1000 appears 2 times, the prize table says 1" in " ".join(problems)


def test_a_pool_checked_against_the_wrong_prize_table_fails(small):
    pool = make(small)
    table = dict(small.prize_table) | {100: 9, 0: 36}
    problems = engine.verify_spent_pool(pool, engine.commitment(pool), table)
    assert len(problems) == 2


def test_dealing_goes_in_order_then_refuses(small):
    pool = make(small)
    state = engine.PoolState(pool)
    dealt = []
    for _ in range(small.size):
        entry, state = engine.deal(state)
        dealt.append(entry)
    assert [e.index for e in dealt] == list(range(small.size))
    assert [e.prize_units for e in dealt] == list(pool.prizes)
    assert dealt[3].ref == "p1:3"
    assert state.spent
    with pytest.raises(engine.PoolExhaustedError, match="start a new pool"):
        engine.deal(state)
    # the whole pool returns exactly its RTP
    assert Fraction(sum(e.prize_units for e in dealt), small.size * small.base_bet_units) == engine.rtp(small)
    # an auditor's check of what was dealt against the revealed pool
    record = {e.index: e.prize_units for e in dealt}
    assert engine.verify_spent_pool(pool, engine.commitment(pool), small.prize_table, record) == []
    record[5] = record[5] + 100
    assert engine.verify_spent_pool(pool, engine.commitment(pool), small.prize_table, record) == [
        f"pool p1: entry 5 paid {record[5]}, the pool holds {pool.prizes[5]}"
    ]


def test_a_spent_pool_is_replaced_by_a_new_one(small):
    state = engine.PoolState(make(small), dealt=small.size)
    entry, state = engine.deal_next(state, lambda: make(small, 9, "p2"))
    assert entry.ref == "p2:0"
    assert state.dealt == 1
    entry, _ = engine.deal_next(state, lambda: pytest.fail("a pool with entries left must not be replaced"))
    assert entry.ref == "p2:1"


def test_reveal_document_round_trips(small):
    pool = make(small)
    assert engine.GeneratedPool.from_json(pool.to_json()) == pool
    with pytest.raises(ValidationError, match="unknown field"):
        engine.GeneratedPool.from_json(pool.to_json() | {"extra": 1})


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**64), prize=st.sampled_from([1000, 200, 100, 0]))
def test_the_card_shows_the_prize_and_nothing_else(seed, prize):
    math = engine.parse_math(SMALL)
    entry = engine.PoolEntry("p1", 0, prize)
    cells = engine.draw(math, entry, SeededSource(seed))
    win, outcome = engine.settle(math, 200, cells, entry)
    counts = Counter(outcome["cells"])
    triples = [s for s, n in counts.items() if n >= 3]
    assert triples == ([math.tier(prize).symbol] if prize else [])
    assert max(counts.values()) <= 3
    assert win == 2 * prize


def test_a_card_that_contradicts_the_entry_is_refused(small):
    gold, silver = 0, 1
    with pytest.raises(ValidationError, match="not prize 0"):
        engine.settle(small, 100, [gold, gold, gold, 2, 2, 3, 3, 4, 4], engine.PoolEntry("p1", 0, 0))
    with pytest.raises(ValidationError, match="not prize 200"):
        engine.settle(small, 100, [gold, gold, gold, silver, silver, silver, 3, 4, 4], engine.PoolEntry("p1", 0, 200))
    with pytest.raises(ValidationError, match="not in this game's prize table"):
        engine.settle(small, 100, [0] * 9, engine.PoolEntry("p1", 0, 300))


@pytest.mark.parametrize(("change", "message"), [
    ({"symbols": ["a", "b", "c", "d"]}, "5 to 32 items"),
    ({"prize_table": [{"prize_units": 100, "count": 1}]}, "needs one of the game's symbols"),
    ({"prize_table": [{"prize_units": 0, "count": 1, "symbol": "gold"}]}, "losing tier"),
    ({"prize_table": [{"prize_units": 100, "count": 1, "symbol": "gold"}, {"prize_units": 100, "count": 2, "symbol": "tin"}]},
     "each prize appears once"),
    ({"prize_table": [{"prize_units": 100, "count": 1, "symbol": "gold"}, {"prize_units": 200, "count": 2, "symbol": "gold"}]},
     "share a symbol"),
    ({"prize_table": [{"prize_units": 100, "count": 0, "symbol": "gold"}]}, "prize count"),
])
def test_invalid_pool_math_is_refused(change, message):
    doc = {"id": "s", "version": "1", "engine": "pool", "title": "S", "bet_options_units": [100], "assets": {}, "math": SMALL | change}
    with pytest.raises(ValidationError, match=message):
        parse_definition(doc)


def test_pool_id_must_fit_a_journal_reference(small):
    with pytest.raises(ValidationError, match="pool_id"):
        make(small, pool_id="bad id with spaces")

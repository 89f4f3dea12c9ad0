"""Reel engine: line wins on hand-checked grids, exact RTP against independent methods, refusals."""

from __future__ import annotations

import copy
import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ValidationError
from shared.games import load_builtin_games, parse_definition
from shared.games import reels as engine

# A hand-sized game whose RTP is worked out on paper below (test_tiny_game_rtp_by_hand).
TINY = {
    "symbols": ["a", "b", "w"],
    "wild": "w",
    "strips": [["a", "w", "b", "b"]] * 3,
    "paylines": [[1, 1, 1]],
    "paytable": {"a": {"3": 10}, "w": {"3": 20}, "b": {"2": 1, "3": 2}},
}


def definition(math: dict, bets: list[int] | None = None) -> dict:
    return {"id": "test-reels", "version": "1", "engine": "reels", "title": "Test",
            "bet_options_units": bets or [len(math["paylines"])], "assets": {}, "math": math}


def brute_force_rtp(math: engine.ReelsMath) -> Fraction:
    """Spin every stop combination through the real settle path and average the return."""
    bet = len(math.paylines)
    combos = list(itertools.product(*(range(len(s)) for s in math.strips)))
    total = sum(engine.settle(math, bet, stops)[0] for stops in combos)
    return Fraction(total, len(combos) * bet)


def reference_line_pay(cells: tuple[str, ...], math: engine.ReelsMath) -> int:
    """The line rule restated: best of the leading wild run and, per symbol, its leading run of symbol-or-wild."""
    best = 0
    wilds = next((i for i, c in enumerate(cells) if c != math.wild), len(cells))
    if math.wild in math.paytable and wilds:
        best = math.paytable[math.wild].get(wilds, 0)
    for sym, pays in math.paytable.items():
        if sym == math.wild:
            continue
        run = next((i for i, c in enumerate(cells) if c not in (sym, math.wild)), len(cells))
        if sym in cells[:run]:
            best = max(best, pays.get(run, 0))
    return best


def symbol_tuple_rtp(math: engine.ReelsMath) -> Fraction:
    """Expected line multiplier over every tuple of symbols, weighted by how often each shows on its strip."""
    counts = [{s: strip.count(s) for s in set(strip)} for strip in math.strips]
    total, combos = 0, 1
    for strip in math.strips:
        combos *= len(strip)
    for cells in itertools.product(*(sorted(c) for c in counts)):
        weight = 1
        for count, cell in zip(counts, cells, strict=True):
            weight *= count[cell]
        total += weight * reference_line_pay(cells, math)
    return Fraction(total, combos)


def test_tiny_game_rtp_by_hand():
    # Per reel P(a)=1/4, P(w)=1/4, P(b)=1/2. First cell a: the next two in {a,w}: 1/16 * 10.
    # First b: b/w, b/w -> 2 (9/32), b/w then a -> 1 (3/32). First w: ww w 20/64, ww a 10/64,
    # ww b 2/32, wa a|w 10/32, wb b|w 6/32, wb a 1/32.  Sum = 150/64 = 75/32.
    math = engine.parse_math(TINY)
    assert engine.rtp(math) == Fraction(75, 32)
    assert brute_force_rtp(math) == Fraction(75, 32)


@pytest.mark.parametrize(("cells", "expected"), [
    (("a", "a", "a"), ("a", 3, 10)),
    (("w", "w", "w"), ("w", 3, 20)),
    (("w", "a", "w"), ("a", 3, 10)),
    (("w", "w", "b"), ("b", 3, 2)),
    (("b", "w", "a"), ("b", 2, 1)),
    (("a", "a", "b"), None),
    (("a", "b", "a"), None),
])
def test_line_pay_on_hand_checked_lines(cells, expected):
    assert engine.line_pay(engine.parse_math(TINY), cells) == expected


def test_wild_run_pays_alone_when_it_beats_the_symbol():
    math = engine.parse_math({**TINY, "paytable": {"a": {"3": 1}, "w": {"2": 50, "3": 60}, "b": {"3": 2}}})
    assert engine.line_pay(math, ("w", "w", "a")) == ("w", 2, 50)


def test_window_wraps_round_the_strip_and_grid_matches_lines():
    math = engine.parse_math({**TINY, "paylines": [[0, 0, 0], [1, 1, 1], [2, 2, 2], [0, 1, 2]], "paytable": {"b": {"2": 1, "3": 2}}})
    win, outcome = engine.settle(math, 8, [3, 2, 0])
    assert outcome["reels"] == [["b", "a", "w"], ["b", "b", "a"], ["a", "w", "b"]]
    # top row b b a -> 2 b's; middle a b w -> nothing; bottom w a b -> nothing; diagonal b b b -> 3.
    assert [(line["line"], line["count"]) for line in outcome["lines"]] == [(0, 2), (3, 3)]
    assert win == 2 * (1 + 2)


@st.composite
def small_games(draw):
    reels = draw(st.integers(3, 4))
    symbols = ["a", "b", "c", "w"]
    wild = draw(st.sampled_from([None, "w"]))
    strip = st.lists(st.sampled_from(symbols), min_size=3, max_size=5 if reels == 3 else 4)
    strips = [draw(strip) for _ in range(reels)]
    lines = draw(st.lists(st.lists(st.integers(0, 2), min_size=reels, max_size=reels), min_size=1, max_size=4, unique_by=tuple))
    paytable = {}
    for sym in draw(st.lists(st.sampled_from(symbols), min_size=1, max_size=4, unique=True)):
        first = draw(st.integers(1, reels))
        steps = draw(st.lists(st.integers(0, 20), min_size=reels - first + 1, max_size=reels - first + 1))
        paytable[sym] = {str(first + i): 1 + sum(steps[: i + 1]) for i in range(len(steps))}
    return {"symbols": symbols, "wild": wild, "strips": strips, "paylines": lines, "paytable": paytable}


@settings(max_examples=150, deadline=None)
@given(doc=small_games())
def test_exact_rtp_equals_brute_force_over_every_stop(doc):
    math = engine.parse_math(doc)
    assert engine.rtp(math) == brute_force_rtp(math)
    assert engine.rtp(math) == symbol_tuple_rtp(math)


def test_shipped_reel_game_rtp_matches_an_independent_enumeration():
    math = load_builtin_games()["fruit-fiesta"].math
    assert isinstance(math, engine.ReelsMath)
    assert engine.rtp(math) == symbol_tuple_rtp(math)
    assert Fraction(88, 100) <= engine.rtp(math) <= Fraction(96, 100)


def test_settle_refuses_bad_stops_and_uneven_bets():
    math = engine.parse_math(TINY | {"paylines": [[1, 1, 1], [0, 0, 0]]})
    with pytest.raises(ValidationError, match="equal line bets"):
        engine.settle(math, 3, [0, 0, 0])
    with pytest.raises(ValidationError, match="outside a strip"):
        engine.settle(math, 2, [0, 4, 0])
    with pytest.raises(ValidationError, match="needs 3 stops"):
        engine.settle(math, 2, [0, 0])


def broken(path: str, value: object) -> dict:
    doc = copy.deepcopy(TINY)
    *parents, last = path.split(".")
    target = doc
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return doc


@pytest.mark.parametrize(("doc", "message"), [
    (broken("paytable.x", {"3": 5}), "unknown symbol 'x'"),
    (broken("paytable.a", {"3": 1.5}), "whole number"),
    (broken("paytable.a", {"4": 5}), "between 1 and 3"),
    (broken("paytable.a", {"2": 5}), "every run length from 2 to 3"),
    (broken("paytable.b", {"2": 5, "3": 1}), "pays less for a longer run"),
    (broken("strips", [["a", "b", "q"]] * 3), "unknown symbol 'q'"),
    (broken("strips", [["a", "b"]] * 3), "3 to 256 items"),
    (broken("paylines", [[1, 1, 3]]), "between 0 and 2"),
    (broken("paylines", [[1, 1]]), "payline 1 must have 3 to 3 items"),
    (broken("paylines", [[1, 1, 1], [1, 1, 1]]), "must not repeat"),
    (broken("wild", "z"), "wild symbol 'z'"),
    (broken("paytable", KeyError), "missing: paytable"),
    (broken("scatter", "a"), "unknown field"),
])
def test_invalid_reel_math_is_refused_with_the_reason(doc, message):
    with pytest.raises(ValidationError, match=message):
        parse_definition(definition(doc))


def test_bet_options_must_split_over_the_lines():
    with pytest.raises(ValidationError, match="does not divide into 2 equal line bets"):
        parse_definition(definition(TINY | {"paylines": [[1, 1, 1], [0, 0, 0]]}, bets=[2, 3]))

"""Each shipped game, played many rounds with a seeded source, returns its exact RTP within the 99% interval.

The interval is mean ± z·σ/√n with z = 2.5758 (two-sided 99%). Keno and the pool know σ
exactly from their math; the reel game's lines share one spin, so its σ is estimated
from the simulated rounds. A pool is dealt without replacement, so its interval is
narrowed by the finite-population correction.
"""

from __future__ import annotations

import math
from fractions import Fraction

from shared.games import SeededSource, load_builtin_games, play, rtp
from shared.games import keno as keno_engine
from shared.games import pool as pool_engine

Z_99 = 2.5758293035489
GAMES = load_builtin_games()


def within(mean: float, expected: Fraction, sd_of_mean: float) -> tuple[bool, str]:
    gap = abs(mean - float(expected))
    text = f"mean {mean:.5f}, exact {float(expected):.5f}, 99% half-width {Z_99 * sd_of_mean:.5f}"
    print(text)  # the report quotes these figures (pytest -s)
    return gap <= Z_99 * sd_of_mean, text


def test_reel_game_simulation_agrees_with_exact_rtp():
    game, rng, rounds = GAMES["fruit-fiesta"], SeededSource(20240601), 40_000
    returns = []
    for i in range(rounds):
        bet = game.bet_options_units[i % len(game.bet_options_units)]
        returns.append(Fraction(play(game, bet, escrow_units=bet, rng=rng).win_units, bet))
    mean = sum(returns, Fraction(0)) / rounds
    variance = sum(((r - mean) ** 2 for r in returns), Fraction(0)) / (rounds - 1)
    ok, text = within(float(mean), rtp(game), math.sqrt(variance / rounds))
    assert ok, text


def test_keno_simulation_agrees_with_exact_rtp():
    game, rng, rounds = GAMES["lucky-keno"], SeededSource(77), 20_000
    assert isinstance(game.math, keno_engine.KenoMath)
    by_spots = keno_engine.rtp_by_spots(game.math)
    spots_offered = sorted(by_spots)
    # Each round marks a uniformly chosen number of spots, so the exact mean and variance are the mixture's.
    expected = sum(by_spots.values(), Fraction(0)) / len(by_spots)
    second = sum((keno_engine.return_variance(game.math, k) + by_spots[k] ** 2 for k in spots_offered), Fraction(0)) / len(by_spots)
    total = Fraction(0)
    for _ in range(rounds):
        spots = spots_offered[rng.below(len(spots_offered))]
        picks = keno_engine.draw(rng)[:spots]  # distinct random picks, reusing the unbiased draw
        result = play(game, 100, escrow_units=100, rng=rng, picks=picks)
        total += Fraction(result.win_units, 100)
    ok, text = within(float(total / rounds), expected, math.sqrt((second - expected**2) / rounds))
    assert ok, text


def test_pool_simulation_agrees_with_exact_rtp():
    game, rng, rounds = GAMES["gold-rush-scratch"], SeededSource(4242), 10_000
    assert isinstance(game.math, pool_engine.PoolMath)
    state = pool_engine.PoolState(pool_engine.generate_pool(game.math, "sim-1", game.id, game.version, rng))
    total = Fraction(0)
    for i in range(rounds):
        entry, state = pool_engine.deal(state)
        bet = game.bet_options_units[i % len(game.bet_options_units)]
        total += Fraction(play(game, bet, escrow_units=bet, rng=rng, entry=entry).win_units, bet)
    size = game.math.size
    correction = (size - rounds) / (size - 1)  # dealing without replacement from a finite pool
    ok, text = within(float(total / rounds), rtp(game), math.sqrt(float(pool_engine.return_variance(game.math)) / rounds * correction))
    assert ok, text


def test_a_whole_pool_returns_exactly_its_rtp():
    game = GAMES["gold-rush-scratch"]
    assert isinstance(game.math, pool_engine.PoolMath)
    pool = pool_engine.generate_pool(game.math, "sim-2", game.id, game.version, SeededSource(9))
    assert Fraction(sum(pool.prizes), len(pool.prizes) * game.math.base_bet_units) == rtp(game)


def test_keno_hit_counts_follow_the_hypergeometric_law():
    # The mean-return test above is wide (keno's top pays are rare and huge); the hit counts
    # of a 10-spot ticket are a much sharper check of the draw and of settling.
    game, rng, rounds = GAMES["lucky-keno"], SeededSource(5150), 20_000
    picks = [3, 9, 17, 22, 38, 41, 56, 60, 71, 80]
    seen = [0] * 7  # hits 0..5, and 6 or more
    for _ in range(rounds):
        hits = len(play(game, 100, escrow_units=100, rng=rng, picks=picks).outcome["hits"])
        seen[min(hits, 6)] += 1
    probabilities = [keno_engine.hit_probability(10, h) for h in range(6)]
    probabilities.append(1 - sum(probabilities, Fraction(0)))
    chi_square = sum((n - rounds * float(p)) ** 2 / (rounds * float(p)) for n, p in zip(seen, probabilities, strict=True))
    assert chi_square < 16.812, (chi_square, seen)  # 99th percentile of chi-square with 6 degrees of freedom

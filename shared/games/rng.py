"""Where a round's randomness comes from.

Real play draws from the operating system's CSPRNG (``secrets``): a player or an
insider who watches many rounds must learn nothing about the next one. Tests and the
RTP simulation need the opposite, a repeatable stream, so ``SeededSource`` exists, and
it is never the default. Every engine asks only for ``below(n)`` (a uniform integer in
``[0, n)``) and records what the round drew, so a round replays from its record alone.
"""

from __future__ import annotations

import random
import secrets
from typing import Protocol

from shared.errors import ValidationError

_MAX_BOUND = 2**32
"""No engine needs a wider draw; a larger bound means a bug upstream."""


class RandomSource(Protocol):
    """A source of uniform integers; the only thing game math asks of randomness."""

    def below(self, n: int) -> int:
        """A uniform integer in ``[0, n)``."""
        ...


def _check_bound(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= _MAX_BOUND:
        raise ValidationError(f"a draw needs a bound between 1 and {_MAX_BOUND}, got {n!r}")
    return n


class SystemSource:
    """The production source: ``secrets.randbelow``, i.e. the OS CSPRNG, without modulo bias."""

    def below(self, n: int) -> int:
        return secrets.randbelow(_check_bound(n))


class SeededSource:
    """A repeatable stream (Mersenne Twister) for tests and simulation only, never real play."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def below(self, n: int) -> int:
        return self._random.randrange(_check_bound(n))


_SYSTEM = SystemSource()


def default_source() -> RandomSource:
    """The source a round uses when the caller names none: always the CSPRNG."""
    return _SYSTEM


def random_hex(rng: RandomSource, n_bytes: int) -> str:
    """``n_bytes`` random bytes as hex (pool salts), drawn from ``rng`` one byte at a time."""
    return "".join(f"{rng.below(256):02x}" for _ in range(n_bytes))

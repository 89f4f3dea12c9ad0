"""Retry timing while central is unreachable: exponential back-off with full jitter.

Full jitter (a random delay between zero and the exponential cap) keeps fifty kiosks
that lost the line together from hammering central together when it comes back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 0.5
    cap_s: float = 60.0
    max_exponent: int = 16  # bounds 2**n whatever the failure count

    def delay_s(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after ``failures`` consecutive failures (0 → retry now)."""
        if failures <= 0:
            return 0.0
        ceiling = min(self.cap_s, self.base_s * 2 ** min(failures - 1, self.max_exponent))
        return (rng or random).uniform(0, ceiling)

"""A faulty network between a device and central, for the fleet simulator and tests.

It wraps a real httpx transport, so the bytes still cross loopback to a real server;
it only decides, from a seeded random stream, when to misbehave:

* ``drop_request``: the request never leaves (the device sees a connection error);
* ``drop_response``: the request reaches central and is committed there, but the
  answer is lost (the device sees a timeout and must retry safely);
* ``delay``: the exchange is held up for a few milliseconds;
* ``duplicate``: the same request arrives twice (the device sees the second answer);
* ``reorder``: an earlier request of this device arrives again late, before the
  current one (a stale packet); central must refuse or ignore it.

The same seed gives the same decisions for the same sequence of requests.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import httpx

FAULTS = ("drop_request", "drop_response", "delay", "duplicate", "reorder")


def parse_faults(text: str) -> frozenset[str]:
    """``"all"``, ``"none"`` or a comma list of fault names; refuses unknown names."""
    text = text.strip()
    if text in ("", "none"):
        return frozenset()
    if text == "all":
        return frozenset(FAULTS)
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = names - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(sorted(unknown))}; choose from {', '.join(FAULTS)} or all")
    return frozenset(names)


@dataclass
class FaultCounts:
    requests: int = 0
    by_fault: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULTS, 0))


class FaultyTransport(httpx.BaseTransport):
    """An httpx transport that misbehaves with probability ``rate`` per request."""

    def __init__(
        self, inner: httpx.BaseTransport, faults: frozenset[str], seed: int, rate: float = 0.1,
        max_delay_s: float = 0.02, history: int = 8,
    ):
        assert 0.0 <= rate <= 1.0
        self._inner = inner
        self._faults = sorted(faults)
        self._rng = random.Random(seed)
        self._rate = rate
        self._max_delay_s = max_delay_s
        self._history: deque[httpx.Request] = deque(maxlen=history)
        self._lock = threading.Lock()
        self.counts = FaultCounts()

    def _pick(self) -> str | None:
        with self._lock:
            self.counts.requests += 1
            if not self._faults or self._rng.random() >= self._rate:
                return None
            fault = self._rng.choice(self._faults)
            self.counts.by_fault[fault] += 1
            return fault

    def _send(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        response.read()
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        fault = self._pick()
        if fault == "drop_request":
            raise httpx.ConnectError("fault layer dropped the request", request=request)
        if fault == "delay":
            time.sleep(self._rng.uniform(0, self._max_delay_s))
        if fault == "reorder" and self._history:
            stale = self._rng.choice(list(self._history))
            self._send(stale)  # whatever central says to a stale packet, nobody is listening
        if fault == "duplicate":
            self._send(request)
        response = self._send(request)
        self._history.append(request)
        if fault == "drop_response":
            raise httpx.ReadTimeout("fault layer dropped the response after central answered", request=request)
        return response

    def close(self) -> None:
        self._inner.close()

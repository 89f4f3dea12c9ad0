"""The simulator's fault layer misbehaves as named, and the same seed misbehaves the same way."""

from __future__ import annotations

import httpx
import pytest

from sync.faults import FAULTS, FaultyTransport, parse_faults


class CountingServer(httpx.BaseTransport):
    """Stands in for central only to count what actually arrived."""

    def __init__(self) -> None:
        self.arrived: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.arrived.append(request.read())
        return httpx.Response(200, json={"n": len(self.arrived)})


def send(transport: httpx.BaseTransport, body: bytes) -> httpx.Response:
    with httpx.Client(transport=transport, base_url="http://central") as client:
        return client.post("/x", content=body)


def test_dropped_request_never_reaches_central():
    server = CountingServer()
    with pytest.raises(httpx.ConnectError):
        send(FaultyTransport(server, frozenset({"drop_request"}), seed=1, rate=1.0), b"a")
    assert server.arrived == []


def test_dropped_response_reaches_central_but_the_device_sees_a_timeout():
    server = CountingServer()
    with pytest.raises(httpx.ReadTimeout):
        send(FaultyTransport(server, frozenset({"drop_response"}), seed=1, rate=1.0), b"a")
    assert server.arrived == [b"a"]


def test_duplicate_arrives_twice():
    server = CountingServer()
    response = send(FaultyTransport(server, frozenset({"duplicate"}), seed=1, rate=1.0), b"a")
    assert server.arrived == [b"a", b"a"] and response.json() == {"n": 2}


def test_reorder_replays_an_earlier_request_before_the_current_one():
    server = CountingServer()
    transport = FaultyTransport(server, frozenset({"reorder"}), seed=1, rate=1.0)
    send(transport, b"first")
    send(transport, b"second")
    assert server.arrived == [b"first", b"first", b"second"]


def test_same_seed_same_faults():
    def run(seed: int) -> list[str]:
        transport = FaultyTransport(CountingServer(), frozenset(FAULTS) - {"delay"}, seed=seed, rate=0.5)
        outcomes = []
        for i in range(60):
            try:
                send(transport, str(i).encode())
                outcomes.append("ok")
            except httpx.TransportError as exc:
                outcomes.append(type(exc).__name__)
        return outcomes

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_fault_names_are_checked():
    assert parse_faults("all") == frozenset(FAULTS)
    assert parse_faults("drop_request, delay") == {"drop_request", "delay"}
    with pytest.raises(ValueError, match="unknown fault"):
        parse_faults("drop_request,explode")

"""Activity monitoring: a burst of failed sign-ins from one address, and one user signing in
from many addresses within a day, each raise one significant event for head office to review."""

from __future__ import annotations

from central_server.console import service
from tests.console.conftest import PASSWORD, Central, add_user

NOW_S = 1_800_000_000


def _sign_in(central: Central, username: str, password: str, ip: str, now_s: int) -> service.SignIn:
    with central.engine.begin() as conn:
        return service.sign_in_password(conn, username=username, password=password, ip=ip, user_agent="test", now_s=now_s)


def _events(central: Central, kind: str) -> list[str]:
    return [r.detail for r in central.rows("SELECT detail FROM significant_events WHERE kind = :k ORDER BY id", k=kind)]


def test_a_burst_of_failures_from_one_address_raises_one_event(central: Central) -> None:
    # Guessing across many names from one address: no single account locks, the address stands out.
    for n in range(service.IP_BURST_FAILURES + 3):
        assert not _sign_in(central, f"guess-{n}", "nope", "203.0.113.9", NOW_S + n).ok
    for n in range(service.IP_BURST_FAILURES - 1):
        _sign_in(central, f"typo-{n}", "nope", "198.51.100.4", NOW_S + n)  # below the threshold elsewhere
    assert _events(central, "login_failure_burst") == [
        f"{service.IP_BURST_FAILURES} failed sign-ins from 203.0.113.9 within {service.IP_BURST_WINDOW_S // 60} minutes"]
    # Outside the window the count starts again.
    later = NOW_S + service.IP_BURST_WINDOW_S + 100
    for n in range(service.IP_BURST_FAILURES):
        _sign_in(central, f"guess-{n}", "nope", "203.0.113.9", later + n)
    assert len(_events(central, "login_failure_burst")) == 2


def test_signing_in_from_many_addresses_in_a_day_raises_an_event(central: Central) -> None:
    add_user(central, "owner", "location_owner", "loc-1")
    for n, ip in enumerate(("192.0.2.1", "192.0.2.1", "192.0.2.2")):
        assert _sign_in(central, "owner", PASSWORD, ip, NOW_S + n).ok
    assert _events(central, "login_many_ips") == []  # two addresses: a phone and a desk
    assert _sign_in(central, "owner", PASSWORD, "192.0.2.3", NOW_S + 10).ok
    [detail] = _events(central, "login_many_ips")
    assert "user owner signed in from 3 addresses within a day" in detail and "192.0.2.3" in detail
    assert _sign_in(central, "owner", PASSWORD, "192.0.2.3", NOW_S + 20).ok  # a known address: nothing new
    assert len(_events(central, "login_many_ips")) == 1
    next_day = NOW_S + service.MANY_IPS_WINDOW_S + 100
    assert _sign_in(central, "owner", PASSWORD, "192.0.2.9", next_day).ok  # yesterday's addresses have aged out
    assert len(_events(central, "login_many_ips")) == 1

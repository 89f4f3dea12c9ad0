"""Journals with controlled clocks pushed through real enrolled devices, for the reports tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from central_server.admin import service as admin
from central_server.devices import service as devices
from shared.bodies import (
    Body,
    GameRound,
    Redemption,
    Sale,
    SessionCheckout,
    ShiftClose,
    ShiftOpen,
    Void,
    VoucherIssue,
    VoucherRedemption,
)
from shared.entry import GENESIS_HASH, JournalEntry, make_entry, utc_timestamp
from shared.ledger import Posting
from shared.protocol import ENROLL_PATH
from shared.signing import DeviceKey
from tests.central.conftest import LOCATION, Central, Device

DAY = date(2026, 3, 14)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def add(device: Device, body: Body, when: datetime, *, actor: str = "cashier-ann",
        postings: list[Posting] | None = None) -> JournalEntry:
    prev = device.chain[-1].hash if device.chain else GENESIS_HASH
    entry = make_entry(device_id=device.device_id, seq=len(device.chain) + 1, prev_hash=prev, body=body, actor=actor,
                       postings=postings, created_at=utc_timestamp(when))
    device.chain.append(entry)
    return entry


def push_all(device: Device) -> None:
    response = device.push(device.chain)
    assert response.status_code == 200, response.text


def enroll_at(central: Central, location_id: str, role: str = "pos") -> Device:
    """A device enrolled at another location (created under head office if missing)."""
    with central.engine.begin() as conn:
        from central_server.admin import repository as admin_repo

        if admin_repo.node(conn, location_id) is None:
            admin.add_node(conn, node_id=location_id, kind="location", name=location_id, parent_id=admin.HEAD_OFFICE_ID)
        code, _ = devices.create_enroll_code(conn, location_id=location_id, role=role, ttl_s=3600)
    key = DeviceKey.generate()
    response = central.client.post(ENROLL_PATH, json={"code": code, "public_key": key.public_key_b64(), "role": role,
                                                       "app_version": "test"})
    assert response.status_code == 200, response.text
    return Device(central, response.json()["device_id"], key, role, location_id=location_id)


def sale(device: Device, amount: int, *, tender: str = "cash", player: str = "p-1") -> Sale:
    return Sale(player_id=player, location_id=device.location_id, pos_id=device.device_id, shift_id="shift-1",
                amount_units=amount, cash_units=amount, currency="USD", tender=tender)


def play_a_day(pos: Device, kiosk: Device, day: date = DAY) -> dict[str, JournalEntry]:
    """A shift at the POS and a kiosk session: the figures the tests expect are in the docstrings of their asserts.

    Sales 50.00 cash + 20.00 card (a 99.00 sale voided), rounds 1.00 + 1.00 + 2.00 with a
    5.00 win, a 30.00 voucher issued and paid, a 15.00 wallet payout, a 5.00 shortage.
    """
    loc = pos.location_id
    add(pos, ShiftOpen(shift_id="shift-1", pos_id=pos.device_id, location_id=loc, cashier_id="cashier-ann",
                       float_units=10000, currency="USD", denominations={"2000": 5}), at(8, 55, day))
    add(pos, sale(pos, 5000), at(9, 5, day))
    add(pos, sale(pos, 2000, tender="card"), at(9, 40, day), actor="cashier-bob")
    wrong = add(pos, sale(pos, 9900), at(10, 1, day))
    add(pos, Void(reverses_entry_id=wrong.id, reason="keyed 99 for 9", approver="mgr-1"), at(10, 3, day),
        postings=[p.reversed() for p in wrong.postings])
    add(kiosk, SessionCheckout(session_id=f"s-{day}", player_id="p-1", kiosk_id=kiosk.device_id, location_id=loc,
                               amount_units=5000), at(10, 10, day), actor="p-1")
    for n, (bet, win, minute) in enumerate([(100, 0, 11), (100, 500, 12), (200, 0, 70)], start=1):
        add(kiosk, GameRound(session_id=f"s-{day}", kiosk_id=kiosk.device_id, location_id=loc, game_id="fruit-fiesta",
                             game_version="1", round_no=n, bet_units=bet, win_units=win, outcome={"lines": []}, draws=[n]),
            at(10, 0, day) + timedelta(minutes=minute), actor="p-1")
    add(kiosk, VoucherIssue(voucher_id=f"v-{day}", session_id=f"s-{day}", kiosk_id=kiosk.device_id, location_id=loc,
                            amount_units=3000, validation_number="123456"), at(11, 15, day), actor="p-1")
    add(pos, VoucherRedemption(voucher_id=f"v-{day}", location_id=loc, pos_id=pos.device_id, shift_id="shift-1",
                               amount_units=3000, cash_units=3000, currency="USD"), at(11, 30, day))
    add(pos, Redemption(player_id="p-1", location_id=loc, pos_id=pos.device_id, shift_id="shift-1", amount_units=1500,
                        cash_units=1500, currency="USD"), at(12, 0, day))
    add(pos, ShiftClose(shift_id="shift-1", pos_id=pos.device_id, location_id=loc, expected_units=10500,
                        counted_units=10000, currency="USD", denominations={"2000": 5}, approver="mgr-1"), at(17, 0, day))
    return {"voided": wrong}


__all__ = ["DAY", "LOCATION", "add", "at", "enroll_at", "play_a_day", "push_all", "sale"]


def console_session(central: Central, *, username: str, role: str, node_id: str) -> dict[str, str]:
    """A console user of ``role`` at ``node_id``, signed in: the cookie a browser would hold."""
    import time

    from central_server.audit.log import Actor
    from central_server.console import service as console
    from central_server.console.web import COOKIE

    password = "a long enough passphrase 42"
    with central.engine.begin() as conn:
        console.create_user(conn, Actor("admin", "127.0.0.1"), actor_role="head_office_admin", node_id=node_id,
                            username=username, display_name=username.title(), role=role, password=password)
        signed = console.sign_in_password(conn, username=username, password=password, ip="127.0.0.1", user_agent="test",
                                          now_s=int(time.time()))
    assert signed.ok and signed.stage == "full" and signed.token, signed.message
    return {COOKIE: signed.token}

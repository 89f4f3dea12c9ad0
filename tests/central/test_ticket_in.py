"""Ticket in (decision 0007): a kiosk pays a cash-out voucher, whole, into a new session's escrow.

Online and idempotent like the session checkout; the same guarded issued → redeemed as the
counter's redemption, so a ticket pays exactly once wherever it is scanned first; and the
kiosk's own ``session_checkout`` entry for it is recorded at ingest, never posted twice.
Every test runs on SQLite and on PostgreSQL (the ``db_url`` fixture of tests/central).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx

from central_server.admin import service as admin
from central_server.audit.service import verify
from central_server.device_config import service as config_service
from central_server.devices import service as devices
from shared.bodies import SessionCheckout, VoucherIssue, ticket_bearer
from shared.entry import GENESIS_HASH, TIMESTAMP_FORMAT, JournalEntry, make_entry
from shared.ids import new_id
from shared.protocol import ENROLL_PATH, TICKET_IN_PATH, VOUCHER_REDEEM_PATH
from shared.signing import DeviceKey
from tests.central.conftest import LOCATION, Central, Device


def _issue(kiosk: Device, amount_units: int) -> str:
    """A voucher printed by ``kiosk`` and synced: central holds it as issued, its balance in voucher:<id>."""
    voucher_id = new_id()
    kiosk.append(VoucherIssue(voucher_id=voucher_id, session_id=new_id(), kiosk_id=kiosk.device_id, location_id=LOCATION,
                              amount_units=amount_units, validation_number="123456789012345678"))
    assert kiosk.push(kiosk.chain).status_code == 200
    return voucher_id


def _ticket_in(kiosk: Device, voucher_id: str, request_id: str | None = None, session_id: str | None = None) -> httpx.Response:
    return kiosk.request("POST", TICKET_IN_PATH, {
        "request_id": request_id or new_id(), "session_id": session_id or new_id(), "voucher_id": voucher_id})


def _append_ticket_in(kiosk: Device, entry_id: str, session_id: str, voucher_id: str, amount_units: int) -> JournalEntry:
    """The kiosk's journal entry for a ticket-in; its id is the request id it sent (what kiosk_app does)."""
    body = SessionCheckout(session_id=session_id, player_id=ticket_bearer(voucher_id), kiosk_id=kiosk.device_id,
                           location_id=LOCATION, amount_units=amount_units, voucher_id=voucher_id)
    prev = kiosk.chain[-1].hash if kiosk.chain else GENESIS_HASH
    entry = make_entry(device_id=kiosk.device_id, seq=len(kiosk.chain) + 1, prev_hash=prev, body=body, actor=body.player_id,
                       entry_id=entry_id)
    kiosk.chain.append(entry)
    return entry


def _device_elsewhere(central: Central, role: str = "kiosk") -> Device:
    with central.engine.begin() as conn:
        admin.add_node(conn, node_id="loc-2", kind="location", name="Other cafe", parent_id=admin.HEAD_OFFICE_ID)
        code, _ = devices.create_enroll_code(conn, location_id="loc-2", role=role, ttl_s=600)
    key = DeviceKey.generate()
    response = central.client.post(ENROLL_PATH, json={"code": code, "public_key": key.public_key_b64(), "role": role,
                                                      "app_version": "test"})
    assert response.status_code == 200, response.text
    return Device(central, response.json()["device_id"], key, role, location_id="loc-2")


def _flags(central: Central) -> list[str]:
    """The rules broken so far, less the negative escrows of ``_issue``'s sessions (never checked out here)."""
    return [r.rule for r in central.rows("SELECT rule FROM ledger_exceptions WHERE rule <> 'negative_balance' ORDER BY id")]


def _verify_ok(central: Central) -> None:
    with central.engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.problems


def test_ticket_in_is_idempotent_and_pays_once(central: Central, pos: Device, kiosk: Device) -> None:
    voucher_id = _issue(kiosk, 37_50)
    other_kiosk = central.enroll("kiosk")
    request_id, session_id = new_id(), new_id()
    first = _ticket_in(other_kiosk, voucher_id, request_id, session_id)
    assert first.status_code == 200, first.text
    assert first.json()["amount_units"] == 37_50 and first.json()["escrow_account"] == f"escrow:{session_id}"
    again = _ticket_in(other_kiosk, voucher_id, request_id, session_id)  # a lost answer, retried
    assert again.status_code == 200 and again.json() == first.json()
    assert central.balance(f"voucher:{voucher_id}") == 0 and central.balance(f"escrow:{session_id}") == 37_50
    assert central.rows("SELECT status, redeemed_by_device FROM vouchers WHERE id = :v", v=voucher_id) == [
        ("redeemed", other_kiosk.device_id)]

    # Paid now: at another kiosk, at this one under a new request, and at the counter.
    for device in (kiosk, other_kiosk):
        paid = _ticket_in(device, voucher_id)
        assert paid.status_code == 409 and paid.json()["code"] == "voucher_redeemed", paid.text
    at_counter = pos.request("POST", VOUCHER_REDEEM_PATH, {"request_id": new_id(), "voucher_id": voucher_id})
    assert at_counter.status_code == 409 and at_counter.json()["code"] == "voucher_redeemed"
    reused = _ticket_in(other_kiosk, voucher_id, request_id, new_id())
    assert reused.status_code == 409 and reused.json()["code"] == "request_id_reused"
    assert central.balance(f"escrow:{session_id}") == 37_50

    # Unknown, another location's, a counter asking: clear refusals, nothing moves.
    unknown = _ticket_in(kiosk, new_id())
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_voucher"
    fresh = _issue(kiosk, 5_00)
    elsewhere = _ticket_in(_device_elsewhere(central), fresh)
    assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "unknown_voucher"
    assert _ticket_in(pos, fresh).status_code == 403
    assert central.balance(f"voucher:{fresh}") == 5_00
    assert central.scalar("SELECT status FROM vouchers WHERE id = :v", v=fresh) == "issued"
    _verify_ok(central)


def test_concurrent_ticket_in_and_counter_redemption_pay_exactly_once(central: Central, pos: Device, kiosk: Device) -> None:
    rounds, per_side = 4, 3
    other_pos = central.enroll("pos")
    other_kiosk = central.enroll("kiosk")
    for _ in range(rounds):
        voucher_id = _issue(kiosk, 20_00)
        start = threading.Barrier(4 * per_side)

        def attempt(device: Device, voucher_id: str = voucher_id, start: threading.Barrier = start) -> tuple[str, int]:
            start.wait()
            if device.role == "pos":
                response = device.request("POST", VOUCHER_REDEEM_PATH, {"request_id": new_id(), "voucher_id": voucher_id})
            else:
                response = _ticket_in(device, voucher_id)
            assert response.status_code in (200, 409), response.text
            return device.role, response.status_code

        with ThreadPoolExecutor(4 * per_side) as workers:
            results = list(workers.map(attempt, [pos, other_pos, kiosk, other_kiosk] * per_side))
        winners = [role for role, status in results if status == 200]
        assert len(winners) == 1, results
        moved_to_escrow = 20_00 if winners == ["kiosk"] else 0
        assert central.balance(f"voucher:{voucher_id}") == 20_00 - moved_to_escrow
        assert central.scalar("SELECT count(*) FROM ledger_transactions WHERE id = :t", t=f"ticket-in:{voucher_id}") == (
            1 if moved_to_escrow else 0)
    _verify_ok(central)


def test_kiosk_ticket_in_entry_is_recorded_not_posted_twice(central: Central, pos: Device, kiosk: Device) -> None:
    voucher_id = _issue(kiosk, 12_00)
    request_id, session_id = new_id(), new_id()
    assert _ticket_in(kiosk, voucher_id, request_id, session_id).status_code == 200
    entry = _append_ticket_in(kiosk, request_id, session_id, voucher_id, 12_00)
    assert kiosk.push(kiosk.chain).status_code == 200
    assert central.balance(f"voucher:{voucher_id}") == 0 and central.balance(f"escrow:{session_id}") == 12_00
    assert central.scalar("SELECT posted FROM journal_entries WHERE id = :e", e=entry.id) in (False, 0)
    assert central.scalar("SELECT redeem_entry_id FROM vouchers WHERE id = :v", v=voucher_id) == entry.id
    assert _flags(central) == []
    _verify_ok(central)

    # An entry central never paid online (an older kiosk, offline) is the fact it says: posted, and
    # flagged when the voucher was paid already.
    paid_voucher = _issue(kiosk, 3_00)
    assert pos.request("POST", VOUCHER_REDEEM_PATH, {"request_id": new_id(), "voucher_id": paid_voucher}).status_code == 200
    rogue_session = new_id()
    _append_ticket_in(kiosk, new_id(), rogue_session, paid_voucher, 3_00)
    assert kiosk.push(kiosk.chain).status_code == 200
    assert central.balance(f"escrow:{rogue_session}") == 3_00 and central.balance(f"voucher:{paid_voucher}") == 0
    mismatch_voucher = _issue(kiosk, 4_00)
    mismatch_request, mismatch_session = new_id(), new_id()
    assert _ticket_in(kiosk, mismatch_voucher, mismatch_request, mismatch_session).status_code == 200
    _append_ticket_in(kiosk, mismatch_request, mismatch_session, mismatch_voucher, 4_50)
    assert kiosk.push(kiosk.chain).status_code == 200
    assert central.balance(f"escrow:{mismatch_session}") == 4_00  # central's transfer counts
    assert _flags(central) == [
        "voucher_redeemed_twice", "ticket_in_mismatch"]


def test_an_expired_ticket_is_paid_neither_at_a_kiosk_nor_at_the_counter(central: Central, pos: Device, kiosk: Device) -> None:
    """Counted from when the kiosk printed it (its issue entry), not from when central heard of it: a kiosk offline
    for 100 days syncs a 100-day-old ticket, and the location's 90-day expiry stands."""
    voucher_id = new_id()
    body = VoucherIssue(voucher_id=voucher_id, session_id=new_id(), kiosk_id=kiosk.device_id, location_id=LOCATION,
                        amount_units=12_00, validation_number="123456789012345678")
    printed = (datetime.now(UTC) - timedelta(days=100)).strftime(TIMESTAMP_FORMAT)
    prev = kiosk.chain[-1].hash if kiosk.chain else GENESIS_HASH
    kiosk.chain.append(make_entry(device_id=kiosk.device_id, seq=len(kiosk.chain) + 1, prev_hash=prev, body=body,
                                  actor="player", created_at=printed))
    assert kiosk.push(kiosk.chain).status_code == 200
    fresh = _issue(kiosk, 5_00)

    at_kiosk = _ticket_in(kiosk, voucher_id)
    assert at_kiosk.status_code == 409 and at_kiosk.json()["code"] == "voucher_expired", at_kiosk.text
    assert "90 days after it was printed" in at_kiosk.json()["message"]
    at_counter = pos.request("POST", VOUCHER_REDEEM_PATH, {"request_id": new_id(), "voucher_id": voucher_id})
    assert at_counter.status_code == 409 and at_counter.json()["code"] == "voucher_expired", at_counter.text
    assert central.balance(f"voucher:{voucher_id}") == 12_00  # nothing moved: the credits stay on the ticket
    assert central.scalar("SELECT status FROM vouchers WHERE id = :v", v=voucher_id) == "issued"

    # A longer expiry set for the location makes the same ticket good again; a fresh one was never refused.
    with central.engine.begin() as conn:
        config_service.set_limit(conn, LOCATION, "voucher_expiry_days", 365)
    assert _ticket_in(kiosk, voucher_id).status_code == 200
    assert _ticket_in(kiosk, fresh).status_code == 200
    _verify_ok(central)

"""Online operations: player lookup, session checkout (idempotent, never overdrawn), voucher redemption."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from shared.bodies import SessionCheckout, VoucherIssue
from shared.ids import new_id
from shared.protocol import CHECKOUT_PATH, PLAYERS_PATH, VOUCHER_REDEEM_PATH
from tests.central.conftest import Central, Device


def _player_with_credits(central: Central, pos: Device, card: str, credits_units: int) -> str:
    response = pos.request("POST", PLAYERS_PATH, {"card_number": card, "display_name": "Pat"})
    assert response.status_code == 200, response.text
    player_id = response.json()["player_id"]
    assert pos.push([pos.sale(player_id, credits_units)]).status_code == 200
    return player_id


def test_player_register_and_lookup(central: Central, pos: Device) -> None:
    player_id = _player_with_credits(central, pos, "CARD-0001", 2500)
    by_card = pos.request("GET", f"{PLAYERS_PATH}/by-card/CARD-0001")
    assert by_card.status_code == 200 and by_card.json()["player_id"] == player_id and by_card.json()["balance_units"] == 2500
    by_id = pos.request("GET", f"{PLAYERS_PATH}/{player_id}")
    assert by_id.json()["card_number"] == "CARD-0001"
    taken = pos.request("POST", PLAYERS_PATH, {"card_number": "CARD-0001"})
    assert taken.status_code == 409 and taken.json()["code"] == "card_taken"
    assert pos.request("GET", f"{PLAYERS_PATH}/by-card/NOPE-0000").status_code == 404


def _checkout(
    kiosk: Device, player_id: str, amount: int | None, request_id: str | None = None, session_id: str | None = None,
) -> httpx.Response:
    return kiosk.request("POST", CHECKOUT_PATH, {
        "request_id": request_id or new_id(), "session_id": session_id or new_id(), "player_id": player_id, "amount_units": amount,
    })


def test_checkout_is_idempotent(central: Central, pos: Device, kiosk: Device) -> None:
    player_id = _player_with_credits(central, pos, "CARD-0002", 1000)
    request_id, session_id = new_id(), new_id()
    first = _checkout(kiosk, player_id, 300, request_id, session_id)
    assert first.status_code == 200, first.text
    second = _checkout(kiosk, player_id, 300, request_id, session_id)
    assert second.status_code == 200 and second.json()["tx_id"] == first.json()["tx_id"]
    assert central.balance(f"wallet:{player_id}") == 700
    assert central.balance(f"escrow:{session_id}") == 300
    everything = _checkout(kiosk, player_id, None)
    assert everything.json()["amount_units"] == 700 and everything.json()["wallet_balance_units"] == 0
    empty = _checkout(kiosk, player_id, None)
    assert empty.status_code == 409 and empty.json()["code"] == "insufficient_credits"
    assert _checkout(pos, player_id, 1).status_code == 403  # only kiosks check out


def test_concurrent_checkouts_never_overdraw(central: Central, pos: Device, kiosk: Device) -> None:
    balance, amount, attempts = 1000, 300, 12
    player_id = _player_with_credits(central, pos, "CARD-0003", balance)
    start = threading.Barrier(attempts)

    def attempt(_: int) -> int:
        start.wait()
        return _checkout(kiosk, player_id, amount).status_code

    with ThreadPoolExecutor(attempts) as pool:
        statuses = list(pool.map(attempt, range(attempts)))
    assert statuses.count(200) == balance // amount, statuses
    assert set(statuses) <= {200, 409}
    assert central.balance(f"wallet:{player_id}") == balance % amount
    assert central.scalar("SELECT count(*) FROM checkouts") == balance // amount


def test_kiosk_checkout_entry_is_reconciled_without_double_posting(central: Central, pos: Device, kiosk: Device) -> None:
    player_id = _player_with_credits(central, pos, "CARD-0004", 1000)
    session_id = new_id()
    assert _checkout(kiosk, player_id, 400, session_id=session_id).status_code == 200
    kiosk.append(SessionCheckout(session_id=session_id, player_id=player_id, kiosk_id=kiosk.device_id, location_id="loc-1",
                                 amount_units=400))
    other = new_id()
    kiosk.append(SessionCheckout(session_id=other, player_id=player_id, kiosk_id=kiosk.device_id, location_id="loc-1",
                                 amount_units=100))  # made offline: central never saw it, so it is posted
    assert kiosk.push(kiosk.chain).status_code == 200
    assert central.balance(f"wallet:{player_id}") == 500
    assert central.balance(f"escrow:{session_id}") == 400
    assert central.balance(f"escrow:{other}") == 100
    assert central.scalar("SELECT entry_id FROM checkouts WHERE session_id = :s", s=session_id) == kiosk.chain[0].id
    assert central.scalar("SELECT count(*) FROM ledger_exceptions") == 0


def test_mismatched_checkout_entry_is_flagged(central: Central, pos: Device, kiosk: Device) -> None:
    player_id = _player_with_credits(central, pos, "CARD-0005", 1000)
    session_id = new_id()
    assert _checkout(kiosk, player_id, 400, session_id=session_id).status_code == 200
    kiosk.append(SessionCheckout(session_id=session_id, player_id=player_id, kiosk_id=kiosk.device_id, location_id="loc-1",
                                 amount_units=450))
    assert kiosk.push(kiosk.chain).status_code == 200
    assert [r.rule for r in central.rows("SELECT rule FROM ledger_exceptions")] == ["checkout_mismatch"]
    assert central.balance(f"escrow:{session_id}") == 400


def test_voucher_redeems_once(central: Central, pos: Device, kiosk: Device) -> None:
    kiosk.append(VoucherIssue(voucher_id="v-9", session_id="s-9", kiosk_id=kiosk.device_id, location_id="loc-1",
                              amount_units=250, validation_number="42"))
    assert kiosk.push(kiosk.chain).status_code == 200
    other_pos = central.enroll("pos")
    request_id = new_id()
    with ThreadPoolExecutor(6) as pool:
        devices = [pos, other_pos] * 3
        responses = list(pool.map(lambda d: d.request("POST", VOUCHER_REDEEM_PATH, {"request_id": new_id(), "voucher_id": "v-9"}),
                                  devices))
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409, 409]
    winner = next(r for r in responses if r.status_code == 200)
    assert winner.json()["amount_units"] == 250
    again = pos.request("POST", VOUCHER_REDEEM_PATH, {"request_id": request_id, "voucher_id": "v-9"})
    assert again.status_code == 409 and again.json()["code"] == "voucher_redeemed"
    assert pos.request("POST", VOUCHER_REDEEM_PATH, {"request_id": new_id(), "voucher_id": "v-unknown"}).status_code == 404


def test_only_a_counter_pays_a_ticket_out(central: Central, kiosk: Device) -> None:
    kiosk.append(VoucherIssue(voucher_id="v-11", session_id="s-11", kiosk_id=kiosk.device_id, location_id="loc-1",
                              amount_units=300, validation_number="8"))
    assert kiosk.push(kiosk.chain).status_code == 200
    refused = kiosk.request("POST", VOUCHER_REDEEM_PATH, {"request_id": new_id(), "voucher_id": "v-11"})
    assert refused.status_code == 403 and refused.json()["code"] == "wrong_role", refused.text
    assert central.scalar("SELECT status FROM vouchers WHERE id = 'v-11'") == "issued"  # still payable where it belongs


def test_voucher_redeem_retry_with_same_request_id_succeeds(central: Central, pos: Device, kiosk: Device) -> None:
    kiosk.append(VoucherIssue(voucher_id="v-10", session_id="s-10", kiosk_id=kiosk.device_id, location_id="loc-1",
                              amount_units=100, validation_number="7"))
    assert kiosk.push(kiosk.chain).status_code == 200
    request_id = new_id()
    first = pos.request("POST", VOUCHER_REDEEM_PATH, {"request_id": request_id, "voucher_id": "v-10"})
    retry = pos.request("POST", VOUCHER_REDEEM_PATH, {"request_id": request_id, "voucher_id": "v-10"})
    assert first.status_code == retry.status_code == 200
    assert first.json() == retry.json()

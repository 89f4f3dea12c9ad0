"""Central's player area over real loopback HTTPS (SQLite and PostgreSQL): registration with an
age gate, sealed personal data, search, self-exclusion, PIN login lockout and wallet payouts."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from shared.bodies import Redemption
from shared.ids import new_id
from shared.protocol import CHECKOUT_PATH, JOURNAL_PATH, PLAYERS_PATH
from tests.central.conftest import Central, Device

ADA = {"full_name": "Ada  Lovelace", "date_of_birth": "1990-12-10", "phone": "+1 (555) 010-2000", "id_number": "X123",
       "pin": "4321"}


def _register(pos: Device, **changes: object) -> dict:
    response = pos.request("POST", PLAYERS_PATH + "/register", {**ADA, **changes})
    assert response.status_code == 200, response.text
    return response.json()


def _fund(central: Central, pos: Device, player_id: str, amount_units: int) -> None:
    pos.sale(player_id, amount_units, amount_units)
    assert pos.push(pos.chain[-1:]).status_code == 200


def test_register_seals_personal_data_and_searches_by_card_phone_name(central: Central, pos: Device) -> None:
    ada = _register(pos)
    assert ada["card_number"].startswith("PC") and ada["full_name"] == "Ada Lovelace" and ada["has_pin"]
    assert ada["age_years"] >= 18 and ada["phone"] == "+15550102000"
    stored = central.rows("SELECT * FROM player_profiles")[0]._mapping
    dump = " ".join(str(v) for v in stored.values())
    for secret in ("Lovelace", "1990-12-10", "5550102000", "X123", "4321"):
        assert secret not in dump, f"{secret} is readable in the database"
    assert stored["key_id"] == "k1"
    _register(pos, full_name="Grace Hopper", phone="555 777 8888", pin=None, id_number=None)

    def found(q: str) -> list[str]:
        response = pos.request("GET", f"{PLAYERS_PATH}/search?q={quote(q)}")
        assert response.status_code == 200, response.text
        return [p["full_name"] for p in response.json()["players"]]

    assert found(ada["card_number"]) == ["Ada Lovelace"]
    assert found("+15550102000") == ["Ada Lovelace"]
    assert found("555-010-2000") == ["Ada Lovelace"]
    assert found("ada lovelace") == ["Ada Lovelace"]
    assert found("Lovel") == ["Ada Lovelace"]
    assert found("hopper") == ["Grace Hopper"]
    assert found("nobody") == []
    profile = pos.request("GET", f"{PLAYERS_PATH}/{ada['player_id']}/profile").json()
    assert (profile["date_of_birth"], profile["id_number"]) == ("1990-12-10", "X123")


def test_under_age_and_bad_input_are_refused_with_reasons(central: Central, pos: Device) -> None:
    today = dt.date.today()
    seventeen = today.replace(year=today.year - 17).isoformat()
    response = pos.request("POST", PLAYERS_PATH + "/register", {**ADA, "date_of_birth": seventeen})
    assert response.status_code == 422 and response.json()["code"] == "under_age"
    for bad in ({"date_of_birth": "1990-13-40"}, {"phone": "12"}, {"pin": "12"}, {"full_name": "   "}):
        response = pos.request("POST", PLAYERS_PATH + "/register", {**ADA, **bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["message"]
    assert central.scalar("SELECT count(*) FROM players") == 0


def test_kiosk_cannot_read_personal_data(central: Central, pos: Device, kiosk: Device) -> None:
    ada = _register(pos)
    assert kiosk.request("GET", f"{PLAYERS_PATH}/{ada['player_id']}/profile").status_code == 403
    assert kiosk.request("GET", f"{PLAYERS_PATH}/search?q=ada").status_code == 403


def test_pin_login_locks_after_five_failures_and_self_exclusion_blocks(central: Central, pos: Device, kiosk: Device) -> None:
    ada = _register(pos)
    login = {"card_number": ada["card_number"], "pin": "4321"}
    assert kiosk.request("POST", PLAYERS_PATH + "/login", login).json()["player_id"] == ada["player_id"]
    for attempt in range(1, 5):
        response = kiosk.request("POST", PLAYERS_PATH + "/login", {**login, "pin": "0000"})
        assert response.status_code == 401 and response.json()["tries_left"] == 5 - attempt
    response = kiosk.request("POST", PLAYERS_PATH + "/login", {**login, "pin": "0000"})
    assert response.status_code == 423 and response.json()["code"] == "pin_locked"
    # Locked: even the right PIN is refused now.
    assert kiosk.request("POST", PLAYERS_PATH + "/login", login).status_code == 423
    central.execute("UPDATE player_profiles SET pin_locked_until_s = 1")
    assert kiosk.request("POST", PLAYERS_PATH + "/login", login).status_code == 200
    excluded = pos.request("PUT", f"{PLAYERS_PATH}/{ada['player_id']}/self-exclusion", {"excluded": True, "reason": "asked"})
    assert excluded.json()["self_excluded"] is True
    assert kiosk.request("POST", PLAYERS_PATH + "/login", login).json()["code"] == "self_excluded"
    # Excluded after signing in at the kiosk: the session checkout is refused too, and no credit moves.
    checkout = kiosk.request("POST", CHECKOUT_PATH, {"request_id": new_id(), "session_id": new_id(),
                                                     "player_id": ada["player_id"], "amount_units": None})
    assert checkout.status_code == 403 and checkout.json()["code"] == "self_excluded"
    assert central.scalar("SELECT count(*) FROM checkouts") == 0
    lift = pos.request("PUT", f"{PLAYERS_PATH}/{ada['player_id']}/self-exclusion", {"excluded": False, "reason": "pls"})
    assert lift.status_code == 403


def test_wallet_payout_is_idempotent_never_overdraws_and_its_entry_posts_once(central: Central, pos: Device) -> None:
    ada = _register(pos)
    player = ada["player_id"]
    _fund(central, pos, player, 10_000)
    entry_id = new_id()
    payout = {"request_id": entry_id, "player_id": player, "shift_id": "shift-1", "amount_units": 6_000,
              "cash_units": 6_000, "currency": "USD"}
    first = pos.request("POST", PLAYERS_PATH + "/redeem", payout)
    assert first.status_code == 200 and first.json()["wallet_balance_units"] == 4_000
    again = pos.request("POST", PLAYERS_PATH + "/redeem", payout)
    assert again.json()["tx_id"] == first.json()["tx_id"]
    assert central.balance(f"wallet:{player}") == 4_000
    more = pos.request("POST", PLAYERS_PATH + "/redeem", {**payout, "request_id": new_id()})
    assert more.status_code == 409 and more.json()["code"] == "insufficient_credits"
    # The POS's own entry for the payout arrives: recorded, not posted a second time.
    body = Redemption(player_id=player, location_id="loc-1", pos_id=pos.device_id, shift_id="shift-1",
                      amount_units=6_000, cash_units=6_000, currency="USD")
    from shared.entry import GENESIS_HASH, make_entry

    entry = make_entry(device_id=pos.device_id, seq=len(pos.chain) + 1, prev_hash=pos.chain[-1].hash if pos.chain else GENESIS_HASH,
                       body=body, actor="cashier-1", entry_id=entry_id)
    pos.chain.append(entry)
    assert pos.request("POST", JOURNAL_PATH, pos.batch([entry])).status_code == 200
    assert central.balance(f"wallet:{player}") == 4_000
    assert central.balance(f"drawer:{pos.device_id}", "USD") == 10_000 - 6_000
    assert central.scalar("SELECT entry_id FROM wallet_redemptions") == entry_id
    assert central.scalar("SELECT count(*) FROM ledger_exceptions") == 0


def test_concurrent_payouts_never_overdraw(central: Central, pos: Device) -> None:
    player = _register(pos)["player_id"]
    _fund(central, pos, player, 5_000)

    def pay(_: int) -> int:
        return pos.request("POST", PLAYERS_PATH + "/redeem", {
            "request_id": new_id(), "player_id": player, "shift_id": "shift-1", "amount_units": 2_000, "cash_units": 2_000,
            "currency": "USD"}).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(pay, range(6)))
    assert codes.count(200) == 2 and central.balance(f"wallet:{player}") == 1_000


def test_sale_then_activity_lists_it(central: Central, pos: Device) -> None:
    player = _register(pos)["player_id"]
    _fund(central, pos, player, 2_500)
    activity = pos.request("GET", f"{PLAYERS_PATH}/{player}/activity").json()["activity"]
    assert [(a["kind"], a["amount_units"]) for a in activity] == [("sale", 2_500)]

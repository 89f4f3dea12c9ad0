"""Journal ingest, exactly DESIGN §4: applied, duplicate, gap, and the refusals that quarantine."""

from __future__ import annotations

import json

from shared.bodies import (
    Adjustment,
    Body,
    CashCount,
    GameRound,
    Mint,
    OnlinePayment,
    Redemption,
    Sale,
    ShiftClose,
    Void,
    VoucherIssue,
    VoucherRedemption,
    WholesaleTransfer,
)
from shared.entry import make_entry
from shared.ledger import move
from shared.protocol import HEARTBEAT_PATH, JOURNAL_PATH, MAX_BATCH_ENTRIES, MAX_BODY_BYTES, IngestResponse
from tests.central.conftest import Central, Device


def test_batch_is_applied_and_projected(central: Central, pos: Device) -> None:
    entries = [pos.sale("player-a", 1000, 1000), pos.sale("player-a", 500), pos.append(
        CashCount(shift_id="shift-1", pos_id=pos.device_id, counted_units=0, currency="USD", denominations={}))]
    response = pos.push(entries)
    assert response.status_code == 200, response.text
    result = IngestResponse.from_json(response.json())
    assert result.status == "ok" and result.acked_through == 3
    assert [r.status for r in result.results] == ["applied"] * 3
    assert central.balance("wallet:player-a") == 1500
    assert central.balance("float:loc-1") == -1500
    assert central.balance(f"drawer:{pos.device_id}", "USD") == 1000
    assert central.scalar("SELECT count(*) FROM postings") == 6
    assert central.scalar("SELECT last_seq FROM devices WHERE id = :d", d=pos.device_id) == 3


def test_the_answer_is_exactly_what_the_documented_model_says(central: Central, pos: Device) -> None:
    # The answer is exactly the documented model: every field of it, no other.
    from central_server.ingest.schemas import IngestResponseBody

    first = pos.sale("player-a", 100)
    answers = [pos.push([first]), pos.push([first, pos.sale("player-a", 200)])]
    for response in answers:
        assert response.status_code == 200 and response.headers["content-type"] == "application/json", response.text
        assert IngestResponseBody.model_validate_json(response.content).model_dump(mode="json") == response.json()
    assert [r["status"] for r in answers[1].json()["results"]] == ["duplicate", "applied"]
    assert answers[1].json()["acked_through"] == 2 and answers[1].json()["expected_seq"] is None


def test_resent_batch_is_duplicate_and_changes_nothing(central: Central, pos: Device) -> None:
    entries = [pos.sale("player-a", 1000), pos.sale("player-a", 200)]
    assert pos.push(entries).status_code == 200
    again = pos.push(entries)
    assert again.status_code == 200
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    more = pos.push([*entries, pos.sale("player-a", 1)])
    assert [r["status"] for r in more.json()["results"]] == ["duplicate", "duplicate", "applied"]
    assert central.balance("wallet:player-a") == 1201
    assert central.scalar("SELECT count(*) FROM journal_entries") == 3


def test_gap_names_the_seq_to_resend_from(central: Central, pos: Device) -> None:
    first = pos.sale("player-a", 100)
    assert pos.push([first]).status_code == 200
    pos.sale("player-a", 100)
    third = pos.sale("player-a", 100)
    response = pos.push([third])
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "gap" and body["expected_seq"] == 2 and body["acked_through"] == 1
    assert central.balance("wallet:player-a") == 100
    assert central.scalar("SELECT status FROM devices WHERE id = :d", d=pos.device_id) == "active"


def _assert_quarantined(central: Central, device: Device, reason_part: str, response: object) -> None:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["status"] == "rejected" and reason_part in body["reason"]
    # The quarantine and the event persist although the batch was rolled back.
    assert central.scalar("SELECT status FROM devices WHERE id = :d", d=device.device_id) == "quarantined"
    assert central.scalar("SELECT count(*) FROM significant_events WHERE kind = 'device_quarantined' AND device_id = :d",
                          d=device.device_id) == 1
    after = device.request("POST", HEARTBEAT_PATH, {})
    assert after.status_code == 403 and after.json()["code"] == "device_quarantined"


def test_fork_quarantines_the_device(central: Central, pos: Device) -> None:
    original = pos.sale("player-a", 100)
    assert pos.push([original]).status_code == 200
    forked = make_entry(device_id=pos.device_id, seq=1, prev_hash=original.prev_hash, actor="cashier-1",
                        body=original.body.__class__(**{**original.body.to_json(), "amount_units": 999}))
    _assert_quarantined(central, pos, "fork at seq 1", pos.push([forked]))
    assert central.balance("wallet:player-a") == 100


def test_broken_chain_quarantines_and_applies_nothing(central: Central, pos: Device) -> None:
    assert pos.push([pos.sale("player-a", 100)]).status_code == 200
    stray = make_entry(device_id=pos.device_id, seq=2, prev_hash="f" * 64, actor="cashier-1", body=pos.sale("x", 1).body)
    _assert_quarantined(central, pos, "broken chain at seq 2", pos.push([stray]))
    assert central.scalar("SELECT count(*) FROM journal_entries") == 1


def test_hash_that_does_not_match_content_quarantines(central: Central, pos: Device) -> None:
    entry = pos.sale("player-a", 100).to_json()
    entry["body"]["amount_units"] = 100000  # content changed after hashing; postings follow so only the hash is wrong
    entry["postings"][0]["amount_units"] = -100000
    entry["postings"][1]["amount_units"] = 100000
    signature = pos.key.sign_head(pos.device_id, 1, entry["hash"])
    payload = {"entries": [entry], "head": {"seq": 1, "hash": entry["hash"], "signature": signature}}
    _assert_quarantined(central, pos, "hash does not match", pos.request("POST", JOURNAL_PATH, payload))


def test_bad_head_signature_quarantines(central: Central, pos: Device) -> None:
    entry = pos.sale("player-a", 100)
    bad = pos.key.sign_head(pos.device_id, 1, "0" * 64)
    _assert_quarantined(central, pos, "head signature", pos.push([entry], signature=bad))
    assert central.scalar("SELECT count(*) FROM journal_entries") == 0


def test_business_rule_break_is_applied_and_flagged(central: Central, pos: Device) -> None:
    # Offline, the POS paid out more than the wallet holds: a fact, applied and flagged.
    pos.sale("player-a", 100)
    pos.append(Redemption(player_id="player-a", location_id="loc-1", pos_id=pos.device_id, shift_id="shift-1",
                          amount_units=300, cash_units=300, currency="USD"))
    response = pos.push(pos.chain)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert central.balance("wallet:player-a") == -200
    rows = central.rows("SELECT rule, account, entry_id FROM ledger_exceptions")
    assert [(r.rule, r.account, r.entry_id) for r in rows] == [("negative_balance", "wallet:player-a", pos.chain[1].id)]


def test_a_drawer_difference_beyond_the_threshold_is_queued_for_review(central: Central, pos: Device) -> None:
    # The default threshold is 20.00: a 5.00 over is a cashier's own business, a 30.00 short is not.
    for shift, expected, counted in (("shift-1", 10_000, 10_500), ("shift-2", 10_000, 7_000)):
        pos.append(ShiftClose(shift_id=shift, pos_id=pos.device_id, location_id="loc-1", expected_units=expected,
                              counted_units=counted, currency="USD", denominations={"100": counted // 100},
                              approver="manager-1"))
    assert pos.push(pos.chain).status_code == 200
    rows = central.rows("SELECT rule, detail, entry_id FROM ledger_exceptions")
    assert [(r.rule, r.entry_id) for r in rows] == [("drawer_short", pos.chain[1].id)]
    assert "short by 30.00 USD" in rows[0].detail and "approved by manager-1" in rows[0].detail
    assert central.balance("overshort:loc-1", "USD") == 3_000 - 500  # the facts stand either way


def test_voids_reverse_and_flag_repeats(central: Central, pos: Device) -> None:
    sale = pos.sale("player-a", 500)
    reversal = [p.reversed() for p in sale.postings]
    pos.append(Void(reverses_entry_id=sale.id, reason="wrong player", approver="manager-1"), reversal)
    pos.append(Void(reverses_entry_id=sale.id, reason="again", approver="manager-1"), reversal)
    pos.append(Void(reverses_entry_id="unknown-entry", reason="??", approver="manager-1"), list(sale.postings))
    assert pos.push(pos.chain).status_code == 200
    rules = sorted(r.rule for r in central.rows("SELECT rule FROM ledger_exceptions"))
    assert rules == ["negative_balance", "void_repeated", "void_unknown_entry"]
    assert central.balance("wallet:player-a") == 0 - 500 + 500  # sale, void, void (negative), unknown void (+500)


def test_void_that_is_not_the_reversal_is_refused(central: Central, pos: Device) -> None:
    sale = pos.sale("player-a", 500)
    assert pos.push([sale]).status_code == 200
    wrong = [p.reversed() for p in pos.sale("player-b", 400).postings]
    pos.chain.pop()
    void = pos.append(Void(reverses_entry_id=sale.id, reason="x", approver="manager-1"), wrong)
    response = pos.push([void])
    assert response.status_code == 422 and "reversal" in response.json()["message"]
    assert central.scalar("SELECT status FROM devices WHERE id = :d", d=pos.device_id) == "active"


def test_voucher_issue_and_double_redemption_entry_is_flagged(central: Central, kiosk: Device, pos: Device) -> None:
    kiosk.append(VoucherIssue(voucher_id="v-1", session_id="s-1", kiosk_id=kiosk.device_id, location_id="loc-1",
                              amount_units=700, validation_number="123456"))
    response = kiosk.push(kiosk.chain)
    assert response.status_code == 200, response.text
    for _ in range(2):
        pos.append(VoucherRedemption(voucher_id="v-1", location_id="loc-1", pos_id=pos.device_id, shift_id="shift-1",
                                     amount_units=700, cash_units=700, currency="USD"))
    assert pos.push(pos.chain).status_code == 200
    rules = sorted(r.rule for r in central.rows("SELECT rule FROM ledger_exceptions"))
    assert "voucher_redeemed_twice" in rules and "negative_balance" in rules
    assert central.scalar("SELECT status FROM vouchers WHERE id = 'v-1'") == "redeemed"


def test_malformed_json_wrong_types_and_floats_are_4xx_json(pos: Device) -> None:
    for raw in (b"{not json", b'{"entries": "nope"}', b'{"entries": [{"seq": 1.5}], "head": null}', b"[]"):
        response = pos.request("POST", JOURNAL_PATH, raw=raw)
        assert 400 <= response.status_code < 500, raw
        assert set(response.json()) >= {"code", "message"}
    bad_entry = pos.sale("p", 1).to_json()
    bad_entry["seq"] = "one"
    response = pos.request("POST", JOURNAL_PATH, {"entries": [bad_entry], "head": {"seq": 1, "hash": "0" * 64, "signature": "x"}})
    assert response.status_code == 422 and response.json()["code"] == "invalid"


def test_oversize_batch_and_body_are_413(pos: Device) -> None:
    entry = pos.sale("p", 1).to_json()
    too_many = {"entries": [entry] * (MAX_BATCH_ENTRIES + 1), "head": {"seq": 1, "hash": entry["hash"], "signature": "x"}}
    response = pos.request("POST", JOURNAL_PATH, too_many)
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    huge = json.dumps({"entries": [], "pad": "x" * MAX_BODY_BYTES}).encode()
    response = pos.request("POST", JOURNAL_PATH, raw=huge)
    assert response.status_code == 413


def test_empty_batch_reports_what_central_holds(pos: Device) -> None:
    assert pos.push([pos.sale("p", 1)]).status_code == 200
    response = pos.request("POST", JOURNAL_PATH, {"entries": []})
    assert response.status_code == 200 and response.json()["acked_through"] == 1


def _outside_authority(device: Device, other: Device) -> list[tuple[str, Body]]:
    """Entries a broken or stolen device might sign: each is refused whole and quarantines it."""
    here, pos_id = device.location_id, device.device_id
    return [
        ("does not write mint", Mint(node_id="head-office", amount_units=1_000_00, reason="free credits")),
        ("does not write wholesale_transfer", WholesaleTransfer(from_node_id="head-office", to_node_id=here, amount_units=500,
                                                                 price_units=0, currency="USD")),
        ("does not write online_payment", OnlinePayment(payment_id="pay-1", provider="stripe", player_id="player-a",
                                                        location_id=here, amount_units=500, fiat_units=500, currency="USD")),
        ("does not write game_round", GameRound(session_id="s-1", kiosk_id=pos_id, location_id=here, game_id="g", game_version="1",
                                                round_no=1, bet_units=100, win_units=0, outcome={})),
        ("names location_id 'loc-elsewhere'", Sale(player_id="player-a", location_id="loc-elsewhere", pos_id=pos_id,
                                                   shift_id="shift-1", amount_units=100, cash_units=100, currency="USD")),
        (f"names pos_id '{other.device_id}'", Sale(player_id="player-a", location_id=here, pos_id=other.device_id, shift_id="shift-1",
                                                   amount_units=100, cash_units=100, currency="USD")),
        ("only touch this station's and its location's accounts", Adjustment(approver="mgr-1", reason="moved", lines=[
            p.to_json() for p in move("USD", 500, "drawer:" + other.device_id, "drawer:" + pos_id)])),
    ]


def test_an_entry_outside_the_devices_authority_quarantines_it_and_applies_nothing(central: Central) -> None:
    other = central.enroll("pos")
    cases = _outside_authority(central.enroll("pos"), other)
    for reason, body in cases:
        device = central.enroll("pos")
        good = device.sale("player-a", 100)  # a good entry before it: the whole batch goes
        bad = device.append(body)
        _assert_quarantined(central, device, reason, device.push([good, bad]))
        assert central.scalar("SELECT count(*) FROM journal_entries WHERE device_id = :d", d=device.device_id) == 0
    assert central.balance("wallet:player-a") == 0 and central.balance("float:head-office") == 0


def test_a_kiosk_cannot_sell_and_a_pos_cannot_void_another_devices_entry(central: Central, pos: Device, kiosk: Device) -> None:
    sale = Sale(player_id="player-a", location_id=kiosk.location_id, pos_id=kiosk.device_id, shift_id="shift-1",
                amount_units=100, cash_units=100, currency="USD")
    _assert_quarantined(central, kiosk, "a kiosk does not write sale entries", kiosk.push([kiosk.append(sale)]))

    other = central.enroll("pos")
    theirs = other.sale("player-a", 700)
    assert other.push([theirs]).status_code == 200
    void = pos.append(Void(reverses_entry_id=theirs.id, reason="not mine", approver="mgr-1"),
                      postings=[p.reversed() for p in theirs.postings])
    _assert_quarantined(central, pos, "of another device", pos.push([void]))
    assert central.balance("wallet:player-a") == 700

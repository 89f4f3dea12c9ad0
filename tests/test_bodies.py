"""Entry bodies: exactly their fields, each checked, and the postings each kind implies."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.bodies import (
    BODY_TYPES,
    Adjustment,
    Body,
    CashCount,
    GameRound,
    Mint,
    OnlinePayment,
    Redemption,
    Sale,
    SessionCheckin,
    SessionCheckout,
    ShiftClose,
    ShiftOpen,
    Void,
    VoucherIssue,
    VoucherRedemption,
    WholesalePayment,
    WholesaleTransfer,
    parse_body,
)
from shared.canonical import canonical_json, parse_canonical
from shared.errors import ValidationError
from shared.ledger import Posting, Transaction, apply_transactions, imbalance

EXAMPLES: dict[str, Body] = {
    "mint": Mint(node_id="head-office", amount_units=1_000_000, reason="Q1 issuance"),
    "wholesale_transfer": WholesaleTransfer(
        from_node_id="head-office", to_node_id="dist-7", amount_units=500_000, price_units=450_000, currency="USD",
    ),
    "wholesale_payment": WholesalePayment(from_node_id="dist-7", to_node_id="head-office", amount_units=200_000, currency="USD",
                                          reference="wire 2026-12-01"),
    "sale": Sale(player_id="p-1", location_id="loc-1", pos_id="pos-1", shift_id="sh-1", amount_units=2000, cash_units=2000, currency="USD"),
    "redemption": Redemption(
        player_id="p-1", location_id="loc-1", pos_id="pos-1", shift_id="sh-1", amount_units=1500, cash_units=1500, currency="USD",
    ),
    "session_checkout": SessionCheckout(session_id="s-1", player_id="p-1", kiosk_id="k-3", location_id="loc-1", amount_units=1000),
    "game_round": GameRound(
        session_id="s-1", kiosk_id="k-3", location_id="loc-1", game_id="lucky7", game_version="1.2.0",
        round_no=1, bet_units=50, win_units=200, outcome={"stops": [3, 9, 1], "lines": [{"line": 1, "win": 200}]},
        draws=[3, 9, 1],
    ),
    "session_checkin": SessionCheckin(session_id="s-1", player_id="p-1", kiosk_id="k-3", location_id="loc-1", amount_units=600),
    "voucher_issue": VoucherIssue(
        voucher_id="v-1", session_id="s-1", kiosk_id="k-3", location_id="loc-1", amount_units=550, validation_number="004512339876",
    ),
    "voucher_redemption": VoucherRedemption(
        voucher_id="v-1", location_id="loc-1", pos_id="pos-1", shift_id="sh-1", amount_units=550, cash_units=550, currency="USD",
    ),
    "void": Void(reverses_entry_id="0190c1c0-0000-7000-8000-000000000001", reason="wrong player", approver="mgr-1"),
    "adjustment": Adjustment(
        approver="ho-admin", reason="float correction after audit",
        lines=[
            {"account": "float:loc-1", "unit": "CR", "amount_units": 100},
            {"account": "adjustment:loc-1", "unit": "CR", "amount_units": -100},
        ],
    ),
    "online_payment": OnlinePayment(
        payment_id="pay-1", provider="stripe", player_id="p-1", location_id="loc-1", amount_units=2500, fiat_units=2500, currency="USD",
    ),
    "shift_open": ShiftOpen(
        shift_id="sh-1", pos_id="pos-1", location_id="loc-1", cashier_id="c-1", float_units=20000, currency="USD",
        denominations={"2000": 5, "1000": 5, "500": 2, "100": 40},
    ),
    "cash_count": CashCount(shift_id="sh-1", pos_id="pos-1", counted_units=3500, currency="USD", denominations={"2000": 1, "500": 3}),
    "shift_close": ShiftClose(
        shift_id="sh-1", pos_id="pos-1", location_id="loc-1", expected_units=20500, counted_units=20400, currency="USD",
        denominations={"2000": 10, "100": 4}, approver="mgr-1",
    ),
}


def test_every_kind_has_an_example_and_a_matching_type():
    assert set(EXAMPLES) == set(BODY_TYPES)
    for kind, body in EXAMPLES.items():
        assert type(body) is BODY_TYPES[kind]
        assert body.kind == kind


@pytest.mark.parametrize("kind", sorted(BODY_TYPES))
def test_body_round_trips_through_json(kind):
    body = EXAMPLES[kind]
    data = body.to_json()
    assert "kind" not in data  # the kind lives on the entry, not in the body
    assert BODY_TYPES[kind].from_json(data) == body
    assert parse_body(kind, data) == body
    # and through the canonical bytes that get hashed
    assert parse_body(kind, parse_canonical(canonical_json(data))) == body


@pytest.mark.parametrize("kind", sorted(BODY_TYPES))
def test_postings_balance_and_apply_cleanly(kind):
    postings = EXAMPLES[kind].postings()
    if kind == "void":
        assert postings is None  # a void's postings come from the entry it reverses
        return
    assert postings is not None
    if kind == "cash_count":
        assert postings == ()  # a record for the shift report: no money moves
        return
    assert postings
    assert imbalance(postings) == {}
    result = apply_transactions({}, [Transaction(kind, postings)])
    assert result.applied == 1
    assert result.balances == _sum(postings)


def _sum(postings) -> dict[tuple[str, str], int]:
    totals: dict[tuple[str, str], int] = {}
    for p in postings:
        totals[(p.account, p.unit)] = totals.get((p.account, p.unit), 0) + p.amount_units
    return totals


# -- the postings each kind implies ----------------------------------------------------------


def test_mint_and_wholesale_postings():
    assert EXAMPLES["mint"].postings() == (
        Posting("mint:head-office", "CR", -1_000_000),
        Posting("float:head-office", "CR", 1_000_000),
    )
    assert _sum(EXAMPLES["wholesale_transfer"].postings()) == {
        ("float:head-office", "CR"): -500_000,
        ("float:dist-7", "CR"): 500_000,
        ("revenue:head-office", "USD"): -450_000,
        ("receivable:dist-7", "USD"): 450_000,
    }
    free = WholesaleTransfer(from_node_id="a", to_node_id="b", amount_units=5, price_units=0, currency="USD")
    assert _sum(free.postings()) == {("float:a", "CR"): -5, ("float:b", "CR"): 5}
    # paying some of it back lowers what dist-7 owes and lands in head office's bank
    assert _sum(EXAMPLES["wholesale_payment"].postings()) == {("receivable:dist-7", "USD"): -200_000, ("bank:head-office", "USD"): 200_000}
    with pytest.raises(ValidationError):
        WholesalePayment(from_node_id="a", to_node_id="a", amount_units=5, currency="USD", reference="x")
    with pytest.raises(ValidationError):
        WholesalePayment(from_node_id="a", to_node_id="b", amount_units=5, currency="USD", reference=" ")


@settings(max_examples=100, deadline=None)
@given(
    amount=st.integers(min_value=1, max_value=10**12),
    cash=st.integers(min_value=0, max_value=10**12),
    tender=st.sampled_from(["cash", "card"]),
    currency=st.sampled_from(["USD", "EUR", "JPY", "KWD"]),
)
def test_sale_moves_float_to_wallet_and_revenue_to_the_till(amount, cash, tender, currency):
    sale = Sale(player_id="p-9", location_id="loc-2", pos_id="pos-4", shift_id="sh-1",
                amount_units=amount, cash_units=cash, currency=currency, tender=tender)
    till = "drawer:pos-4" if tender == "cash" else "card:loc-2"
    expected = {("float:loc-2", "CR"): -amount, ("wallet:p-9", "CR"): amount}
    if cash:
        expected |= {("revenue:loc-2", currency): -cash, (till, currency): cash}
    assert _sum(sale.postings()) == expected
    assert imbalance(sale.postings()) == {}
    assert Sale.from_json(sale.to_json()) == sale


def test_sale_defaults_to_cash_and_card_sales_never_touch_the_drawer():
    assert EXAMPLES["sale"].to_json()["tender"] == "cash"
    card = Sale(player_id="p", location_id="l", pos_id="pos", shift_id="s", amount_units=10, cash_units=10, currency="USD", tender="card")
    assert not [p for p in card.postings() if p.account.startswith("drawer:")]


@settings(max_examples=50, deadline=None)
@given(amount=st.integers(min_value=1, max_value=10**12), cash=st.integers(min_value=0, max_value=10**12))
def test_redemption_is_the_reverse_of_a_sale(amount, cash):
    fields = dict(player_id="p", location_id="l", pos_id="pos", shift_id="s", amount_units=amount, cash_units=cash, currency="USD")
    sale, redemption = Sale(**fields), Redemption(**fields)
    assert _sum(redemption.postings()) == {key: -value for key, value in _sum(sale.postings()).items()}


def test_session_and_voucher_postings():
    assert _sum(EXAMPLES["session_checkout"].postings()) == {("wallet:p-1", "CR"): -1000, ("escrow:s-1", "CR"): 1000}
    assert _sum(EXAMPLES["session_checkin"].postings()) == {("escrow:s-1", "CR"): -600, ("wallet:p-1", "CR"): 600}
    assert _sum(EXAMPLES["voucher_issue"].postings()) == {("escrow:s-1", "CR"): -550, ("voucher:v-1", "CR"): 550}
    assert _sum(EXAMPLES["voucher_redemption"].postings()) == {
        ("voucher:v-1", "CR"): -550, ("float:loc-1", "CR"): 550,
        ("drawer:pos-1", "USD"): -550, ("revenue:loc-1", "USD"): 550,
    }
    assert _sum(EXAMPLES["online_payment"].postings()) == {
        ("float:loc-1", "CR"): -2500, ("wallet:p-1", "CR"): 2500,
        ("revenue:loc-1", "USD"): -2500, ("psp:stripe", "USD"): 2500,
    }


def _round(bet: int, win: int) -> GameRound:
    return GameRound(session_id="s-1", kiosk_id="k", location_id="loc", game_id="g", game_version="1",
                     round_no=3, bet_units=bet, win_units=win, outcome={})


def test_game_round_without_a_win_only_takes_the_bet():
    assert _round(50, 0).postings() == (Posting("escrow:s-1", "CR", -50), Posting("house:loc", "CR", 50))


@settings(max_examples=50, deadline=None)
@given(bet=st.integers(min_value=1, max_value=10**9), win=st.integers(min_value=1, max_value=10**12))
def test_game_round_with_a_win_pays_it_back_to_the_escrow(bet, win):
    postings = _round(bet, win).postings()
    assert postings == (
        Posting("escrow:s-1", "CR", -bet), Posting("house:loc", "CR", bet),
        Posting("house:loc", "CR", -win), Posting("escrow:s-1", "CR", win),
    )
    assert _sum(postings)[("escrow:s-1", "CR")] == win - bet


def test_game_round_optional_fields_round_trip():
    with_pool = GameRound(session_id="s", kiosk_id="k", location_id="l", game_id="g", game_version="2",
                          round_no=1, bet_units=1, win_units=0, outcome={"entry": "x"}, pool_entry="pool-1:000017")
    assert GameRound.from_json(with_pool.to_json()) == with_pool
    minimal = {k: v for k, v in _round(5, 0).to_json().items() if k not in ("draws", "pool_entry")}
    assert GameRound.from_json(minimal) == _round(5, 0)


def _close(expected: int, counted: int) -> ShiftClose:
    return ShiftClose(shift_id="sh", pos_id="pos", location_id="loc", expected_units=expected,
                      counted_units=counted, currency="USD", denominations={"1": counted} if counted else {})


@pytest.mark.parametrize(
    ("expected", "counted", "balances"),
    [
        (10_000, 10_000, {("drawer:pos", "USD"): -10_000, ("safe:loc", "USD"): 10_000}),
        # short: 3.00 missing from the drawer is a debit to over/short
        (10_000, 9_700, {("drawer:pos", "USD"): -10_000, ("safe:loc", "USD"): 9_700, ("overshort:loc", "USD"): 300}),
        # over: 1.25 extra is a credit to over/short
        (10_000, 10_125, {("drawer:pos", "USD"): -10_000, ("safe:loc", "USD"): 10_125, ("overshort:loc", "USD"): -125}),
        # drawer expected empty but cash found
        (0, 500, {("safe:loc", "USD"): 500, ("overshort:loc", "USD"): -500}),
        # everything missing
        (800, 0, {("drawer:pos", "USD"): -800, ("overshort:loc", "USD"): 800}),
        (0, 0, {}),
    ],
)
def test_shift_close_over_short_postings(expected, counted, balances):
    close = _close(expected, counted)
    assert close.difference_units == counted - expected
    assert _sum(close.postings()) == balances
    assert imbalance(close.postings()) == {}


@settings(max_examples=100, deadline=None)
@given(expected=st.integers(min_value=0, max_value=10**12), counted=st.integers(min_value=0, max_value=10**12))
def test_shift_close_always_empties_the_expected_drawer_and_balances(expected, counted):
    balances = _sum(_close(expected, counted).postings())
    assert balances.get(("drawer:pos", "USD"), 0) == -expected
    assert balances.get(("safe:loc", "USD"), 0) == counted
    assert balances.get(("overshort:loc", "USD"), 0) == expected - counted
    assert imbalance(_close(expected, counted).postings()) == {}


def test_shift_open_moves_the_float_from_the_safe_and_a_count_moves_nothing():
    assert _sum(EXAMPLES["shift_open"].postings()) == {("safe:loc-1", "USD"): -20000, ("drawer:pos-1", "USD"): 20000}
    empty = ShiftOpen(shift_id="s", pos_id="p", location_id="l", cashier_id="c", float_units=0, currency="USD", denominations={})
    assert empty.postings() == ()
    assert EXAMPLES["cash_count"].postings() == ()


def test_adjustment_postings_are_its_lines():
    assert EXAMPLES["adjustment"].postings() == (Posting("float:loc-1", "CR", 100), Posting("adjustment:loc-1", "CR", -100))


def test_a_day_at_a_location_through_the_ledger():
    """Shift, sale, a kiosk session with a win, a voucher paid at the counter, shift close."""
    day = [
        EXAMPLES["shift_open"],                                     # drawer 200.00
        EXAMPLES["sale"],                                           # 20.00 credits, 20.00 cash in
        EXAMPLES["session_checkout"],                               # 10.00 to the kiosk
        _round_in("s-1", bet=50, win=0), _round_in("s-1", bet=50, win=200),
        VoucherIssue(voucher_id="v-9", session_id="s-1", kiosk_id="k-3", location_id="loc-1", amount_units=1100, validation_number="1"),
        VoucherRedemption(voucher_id="v-9", location_id="loc-1", pos_id="pos-1", shift_id="sh-1",
                          amount_units=1100, cash_units=1100, currency="USD"),
        ShiftClose(shift_id="sh-1", pos_id="pos-1", location_id="loc-1", expected_units=20000 + 2000 - 1100,
                   counted_units=20900, currency="USD", denominations={"100": 209}),
    ]
    start = {("float:loc-1", "CR"): 100_000, ("mint:ho", "CR"): -100_000, ("safe:loc-1", "USD"): 50_000, ("revenue:loc-1", "USD"): -50_000}
    result = apply_transactions(start, [Transaction(str(i), b.postings() or ()) for i, b in enumerate(day) if b.postings()])
    assert result.violations == ()
    b = result.balances
    assert b[("wallet:p-1", "CR")] == 1000
    assert b[("escrow:s-1", "CR")] == 0
    assert b[("voucher:v-9", "CR")] == 0
    assert b[("house:loc-1", "CR")] == 100 - 200
    assert b[("drawer:pos-1", "USD")] == 0
    assert b[("safe:loc-1", "USD")] == 50_000 - 20_000 + 20_900
    assert ("overshort:loc-1", "USD") not in b


def _round_in(session: str, bet: int, win: int) -> GameRound:
    return GameRound(session_id=session, kiosk_id="k-3", location_id="loc-1", game_id="g", game_version="1",
                     round_no=1, bet_units=bet, win_units=win, outcome={})


# -- refusals -----------------------------------------------------------------------------------


def _with(kind: str, **changes: Any) -> dict[str, Any]:
    return {**EXAMPLES[kind].to_json(), **changes}


def _without(kind: str, name: str) -> dict[str, Any]:
    data = EXAMPLES[kind].to_json()
    del data[name]
    return data


@pytest.mark.parametrize("kind", sorted(BODY_TYPES))
def test_unknown_field_is_refused_for_every_kind(kind):
    with pytest.raises(ValidationError, match=r"unknown field.*amount_cents"):
        parse_body(kind, _with(kind, amount_cents=5))


@pytest.mark.parametrize("kind", sorted(BODY_TYPES))
def test_each_required_field_missing_is_refused_for_every_kind(kind):
    required = [name for name in EXAMPLES[kind].to_json() if name not in ("tender", "draws", "pool_entry", "approver")
                or kind in ("void", "adjustment")]
    assert required
    for name in required:
        with pytest.raises(ValidationError, match=f"missing: {name}"):
            parse_body(kind, _without(kind, name))


@pytest.mark.parametrize("kind", sorted(BODY_TYPES))
def test_a_body_must_be_an_object(kind):
    not_objects: tuple[object, ...] = (None, [], "x", 5)
    for data in not_objects:
        with pytest.raises(ValidationError, match="must be an object"):
            parse_body(kind, data)


AMOUNT_FIELDS = [
    ("mint", "amount_units"), ("wholesale_transfer", "amount_units"), ("sale", "amount_units"),
    ("redemption", "amount_units"), ("session_checkout", "amount_units"), ("session_checkin", "amount_units"),
    ("game_round", "bet_units"), ("game_round", "round_no"), ("voucher_issue", "amount_units"),
    ("voucher_redemption", "amount_units"), ("online_payment", "amount_units"),
]
NON_NEGATIVE_FIELDS = [
    ("wholesale_transfer", "price_units"), ("sale", "cash_units"), ("redemption", "cash_units"),
    ("game_round", "win_units"), ("voucher_redemption", "cash_units"), ("online_payment", "fiat_units"),
    ("shift_open", "float_units"), ("cash_count", "counted_units"), ("shift_close", "counted_units"),
    ("shift_close", "expected_units"),
]


@pytest.mark.parametrize(("kind", "name"), AMOUNT_FIELDS)
@pytest.mark.parametrize("value", [0, -1])
def test_zero_or_negative_amounts_are_refused(kind, name, value):
    with pytest.raises(ValidationError, match="greater than zero"):
        parse_body(kind, _with(kind, **{name: value}))


@pytest.mark.parametrize(("kind", "name"), NON_NEGATIVE_FIELDS)
def test_negative_amounts_are_refused_where_zero_is_allowed(kind, name):
    with pytest.raises(ValidationError, match=f"{name} must not be negative"):
        parse_body(kind, _with(kind, **{name: -1}))


@pytest.mark.parametrize(("kind", "name"), AMOUNT_FIELDS + NON_NEGATIVE_FIELDS)
@pytest.mark.parametrize("value", [12.5, 100.0, True, "100", None, 2**63])
def test_amounts_must_be_64_bit_whole_numbers(kind, name, value):
    with pytest.raises(ValidationError):
        parse_body(kind, _with(kind, **{name: value}))


CURRENCY_KINDS = [
    "wholesale_transfer", "sale", "redemption", "voucher_redemption", "online_payment", "shift_open", "cash_count", "shift_close",
]


@pytest.mark.parametrize("kind", CURRENCY_KINDS)
@pytest.mark.parametrize("currency", ["usd", "US", "DOLLAR", "", None, 840, "USD\n"])
def test_bad_currency_is_refused(kind, currency):
    with pytest.raises(ValidationError, match="unknown unit"):
        parse_body(kind, _with(kind, currency=currency))


@pytest.mark.parametrize("kind", CURRENCY_KINDS)
def test_cash_is_never_counted_in_credits(kind):
    with pytest.raises(ValidationError, match="not credits"):
        parse_body(kind, _with(kind, currency="CR"))


@pytest.mark.parametrize(
    ("kind", "denominations", "match"),
    [
        ("shift_open", {"2000": 5, "1000": 5, "500": 2, "100": 39}, "add up to 19900, not 20000"),
        ("shift_open", {}, "add up to 0, not 20000"),
        ("cash_count", {"2000": 1, "500": 2}, "add up to 3000, not 3500"),
        ("shift_close", {"2000": 10, "100": 5}, "add up to 20500, not 20400"),
        ("cash_count", {"0": 1, "2000": 1, "500": 3}, "not a denomination"),
        ("cash_count", {"-500": -1, "2000": 1, "500": 4}, "not a denomination"),
        ("cash_count", {"20.00": 1, "500": 3}, "not a denomination"),
        ("cash_count", {"²": 1, "3499": 1}, "not a denomination"),        # a digit to str.isdigit, not to int()
        ("cash_count", {"٥٠٠": 1, "3000": 1}, "not a denomination"),      # Arabic-Indic digits
        ("cash_count", {"9" * 5000: 0, "3500": 1}, "not a denomination"),  # unbounded text
        ("cash_count", {"twenty": 1}, "not a denomination"),
        ("cash_count", {"500": 7.0}, "whole number"),
        ("cash_count", {"500": True, "3000": 1}, "whole number"),
        ("cash_count", {"4000": 1, "500": -1}, "must not be negative"),
        ("cash_count", [["2000", 1]], "must map denomination"),
    ],
)
def test_denominations_must_be_counts_that_add_up(kind, denominations, match):
    with pytest.raises(ValidationError, match=match):
        parse_body(kind, _with(kind, denominations=denominations))


@pytest.mark.parametrize(
    ("kind", "changes", "match"),
    [
        ("wholesale_transfer", {"to_node_id": "head-office"}, "two different nodes"),
        ("sale", {"tender": "voucher"}, "tender must be one of"),
        ("sale", {"player_id": ""}, "player_id"),
        ("sale", {"player_id": "p 1"}, "player_id"),
        ("sale", {"player_id": "p-1\n"}, "player_id"),
        ("sale", {"location_id": "x" * 129}, "location_id"),
        ("sale", {"pos_id": 7}, "pos_id"),
        ("session_checkout", {"session_id": "-leading-dash"}, "session_id"),
        ("mint", {"reason": "   "}, "reason must not be empty"),
        ("mint", {"reason": "x" * 501}, "longer than 500"),
        ("mint", {"node_id": "a/b"}, "node_id"),
        ("void", {"reason": ""}, "reason must not be empty"),
        ("void", {"approver": None}, "approver"),
        ("void", {"reverses_entry_id": "id with spaces"}, "reverses_entry_id"),
        ("game_round", {"outcome": [1, 2]}, "outcome must be an object"),
        ("game_round", {"draws": [1, True]}, "draws"),
        ("game_round", {"draws": [1.5]}, "draws"),
        ("game_round", {"draws": "123"}, "draws"),
        ("game_round", {"game_version": ""}, "game_version"),
        ("game_round", {"pool_entry": "bad entry"}, "pool_entry"),
        ("voucher_issue", {"validation_number": "12a4"}, "validation_number"),
        ("voucher_issue", {"validation_number": ""}, "validation_number"),
        ("voucher_issue", {"validation_number": "١٢٣"}, "validation_number"),
        ("voucher_issue", {"validation_number": 1234}, "validation_number"),
        ("shift_close", {"approver": "bad approver"}, "approver"),
        ("adjustment", {"lines": []}, "at least one posting"),
        ("adjustment", {"lines": {"account": "float:a"}}, "lines must be a list"),
        ("adjustment", {"lines": [{"account": "float:a", "unit": "CR", "amount_units": 5}]}, "do not balance"),
        ("adjustment", {"lines": [{"account": "loan:a", "unit": "CR", "amount_units": 5},
                                  {"account": "float:a", "unit": "CR", "amount_units": -5}]}, "unknown type"),
        ("adjustment", {"lines": [{"account": "float:a", "unit": "CR", "amount_units": 5, "note": "x"},
                                  {"account": "float:b", "unit": "CR", "amount_units": -5}]}, "exactly account, unit, amount_units"),
        ("adjustment", {"lines": [{"account": "float:a", "unit": "CR", "amount_units": 0}]}, "zero amount"),
        ("adjustment", {"reason": ""}, "reason must not be empty"),
    ],
)
def test_representative_invalid_bodies_are_refused_with_a_clear_reason(kind, changes, match):
    with pytest.raises(ValidationError, match=match):
        parse_body(kind, _with(kind, **changes))


def test_unknown_kind_is_refused():
    with pytest.raises(ValidationError, match="unknown entry kind 'bonus'"):
        parse_body("bonus", {})
    with pytest.raises(ValidationError, match="unknown field"):
        parse_body("sale", {**EXAMPLES["sale"].to_json(), "kind": "sale"})


def test_bodies_are_immutable():
    with pytest.raises(AttributeError):
        EXAMPLES["sale"].amount_units = 1  # type: ignore[attr-defined]

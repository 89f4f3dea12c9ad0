"""The ledger rules: postings, balancing, and what apply_transactions does to balances."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ValidationError
from shared.ledger import (
    ACCOUNT_TYPES,
    NON_NEGATIVE_TYPES,
    Posting,
    Transaction,
    account,
    account_type,
    apply_transactions,
    check_account,
    check_balanced,
    imbalance,
    move,
)
from shared.money import MAX_ABS_UNITS

UNITS = ["CR", "USD", "JPY"]
ACCOUNTS = [
    f"{kind}:{owner}"
    for kind in ("wallet", "escrow", "voucher", "float", "house", "drawer", "mint", "revenue")
    for owner in ("a", "b")
]
nonzero = st.integers(min_value=-10**6, max_value=10**6).filter(lambda n: n != 0)


@st.composite
def balanced_postings(draw) -> tuple[Posting, ...]:
    legs: list[Posting] = []
    for unit in draw(st.lists(st.sampled_from(UNITS), min_size=1, max_size=2, unique=True)):
        amounts = draw(st.lists(nonzero, min_size=1, max_size=4))
        if sum(amounts):
            amounts.append(-sum(amounts))
        legs += [Posting(draw(st.sampled_from(ACCOUNTS)), unit, amount) for amount in amounts]
    return tuple(draw(st.permutations(legs)))


@st.composite
def unbalanced_postings(draw) -> tuple[Posting, ...]:
    extra = Posting(draw(st.sampled_from(ACCOUNTS)), draw(st.sampled_from(UNITS)), draw(nonzero))
    legs = [*draw(balanced_postings()), extra]
    return tuple(draw(st.permutations(legs)))


@st.composite
def transaction_sequences(draw) -> list[tuple[str, Transaction]]:
    """Valid and invalid transactions, interleaved, each with a unique id."""
    kinds = draw(st.lists(st.sampled_from(["valid", "valid", "valid", "unbalanced", "empty"]), max_size=15))
    sequence = []
    for index, kind in enumerate(kinds):
        if kind == "valid":
            postings = draw(balanced_postings())
        elif kind == "unbalanced":
            postings = draw(unbalanced_postings())
        else:
            postings = ()
        sequence.append((kind, Transaction(f"tx-{index}", postings)))
    return sequence


def sums_of_postings(transactions) -> dict[tuple[str, str], int]:
    totals: dict[tuple[str, str], int] = {}
    for tx in transactions:
        for p in tx.postings:
            totals[(p.account, p.unit)] = totals.get((p.account, p.unit), 0) + p.amount_units
    return totals


@settings(max_examples=100, deadline=None)
@given(transaction_sequences())
def test_valid_transactions_are_applied_and_invalid_ones_are_reported_and_skipped(sequence):
    valid = [tx for kind, tx in sequence if kind == "valid"]
    invalid = [tx for kind, tx in sequence if kind != "valid"]
    result = apply_transactions({}, [tx for _, tx in sequence])

    # each balance is exactly the sum of the postings of the applied transactions
    assert result.balances == sums_of_postings(valid)
    assert result.applied == len(valid)
    # every unit sums to zero
    per_unit = Counter[str]()
    for (_, unit), amount in result.balances.items():
        per_unit[unit] += amount
    assert all(total == 0 for total in per_unit.values()), per_unit
    # each invalid one is reported once, as not applied
    refused = [v for v in result.violations if v.rule == "unbalanced"]
    assert [v.tx_id for v in refused] == [tx.tx_id for tx in invalid]
    assert all(not v.applied for v in refused)
    assert not [v for v in result.violations if v.rule not in ("unbalanced", "negative_balance")]


@settings(max_examples=75, deadline=None)
@given(transaction_sequences())
def test_invalid_transactions_never_change_balances(sequence):
    everything = apply_transactions({}, [tx for _, tx in sequence])
    only_valid = apply_transactions({}, [tx for kind, tx in sequence if kind == "valid"])
    assert everything.balances == only_valid.balances
    # and one invalid transaction on its own leaves the starting balances as they were
    start = dict(only_valid.balances)
    for kind, tx in sequence:
        if kind != "valid":
            alone = apply_transactions(start, [tx])
            assert alone.balances == start
            assert alone.applied == 0
            assert [(v.tx_id, v.applied) for v in alone.violations] == [(tx.tx_id, False)]


@settings(max_examples=75, deadline=None)
@given(transaction_sequences())
def test_every_account_a_transaction_takes_below_zero_is_flagged_but_applied(sequence):
    transactions = [tx for kind, tx in sequence if kind == "valid"]
    result = apply_transactions({}, transactions)
    flagged = {(v.tx_id, v.detail.split(" ")[0]) for v in result.violations if v.rule == "negative_balance"}
    assert all(v.applied for v in result.violations if v.rule == "negative_balance")

    balances: dict[tuple[str, str], int] = {}
    expected_at_least: set[tuple[str, str]] = set()
    negative_after: set[tuple[str, str]] = set()
    for tx in transactions:
        before = dict(balances)
        for p in tx.postings:
            balances[(p.account, p.unit)] = balances.get((p.account, p.unit), 0) + p.amount_units
        for acct, unit in {(p.account, p.unit) for p in tx.postings}:
            if account_type(acct) not in NON_NEGATIVE_TYPES or balances[(acct, unit)] >= 0:
                continue
            negative_after.add((tx.tx_id, acct))
            if before.get((acct, unit), 0) >= 0:
                expected_at_least.add((tx.tx_id, acct))
    assert expected_at_least <= flagged
    assert flagged <= negative_after
    # accounts that may go negative (floats, the mint, the house) are never flagged
    assert all(account_type(acct) in NON_NEGATIVE_TYPES for _, acct in flagged)


@settings(max_examples=50, deadline=None)
@given(transaction_sequences(), st.integers(min_value=0, max_value=15))
def test_applying_in_two_batches_is_the_same_as_in_one(sequence, cut):
    transactions = [tx for _, tx in sequence]
    whole = apply_transactions({}, transactions)
    first = apply_transactions({}, transactions[:cut])
    second = apply_transactions(first.balances, transactions[cut:])
    assert second.balances == whole.balances
    assert first.applied + second.applied == whole.applied


def test_the_callers_balances_are_not_modified():
    start = {("wallet:p", "CR"): 100, ("float:loc", "CR"): -100}
    snapshot = dict(start)
    result = apply_transactions(start, [Transaction("t1", move("CR", 40, "wallet:p", "float:loc"))])
    assert start == snapshot
    assert result.balances == {("wallet:p", "CR"): 60, ("float:loc", "CR"): -60}
    assert result.violations == ()


@pytest.mark.parametrize("kind", sorted(NON_NEGATIVE_TYPES))
def test_a_balanced_transaction_taking_a_protected_account_negative_is_applied_and_flagged(kind):
    acct = f"{kind}:x1"
    start = {(acct, "CR"): 50, ("float:loc", "CR"): -50}
    result = apply_transactions(start, [Transaction("t-neg", move("CR", 80, acct, "float:loc"))])
    assert result.applied == 1
    assert result.balances[(acct, "CR")] == -30
    assert result.balances[("float:loc", "CR")] == 30
    [violation] = result.violations
    assert (violation.tx_id, violation.rule, violation.applied) == ("t-neg", "negative_balance", True)
    assert acct in violation.detail


def test_reaching_exactly_zero_is_not_flagged():
    start = {("wallet:p", "CR"): 80, ("float:loc", "CR"): -80}
    result = apply_transactions(start, [Transaction("t", move("CR", 80, "wallet:p", "float:loc"))])
    assert result.violations == ()
    assert result.balances[("wallet:p", "CR")] == 0


@pytest.mark.parametrize("kind", sorted(ACCOUNT_TYPES - NON_NEGATIVE_TYPES))
def test_other_accounts_may_go_negative_without_a_flag(kind):
    result = apply_transactions({}, [Transaction("t", move("CR", 10, f"{kind}:n", "float:other"))])
    assert result.violations == ()
    assert result.balances[(f"{kind}:n", "CR")] == -10


def test_empty_and_unbalanced_transactions_are_refused_with_the_reason():
    result = apply_transactions(
        {},
        [
            Transaction("empty", ()),
            Transaction("off", (Posting("wallet:p", "CR", 100), Posting("float:l", "CR", -90))),
            Transaction("mixed-units", (Posting("drawer:p", "USD", 100), Posting("float:l", "CR", -100))),
        ],
    )
    assert result.balances == {}
    assert result.applied == 0
    assert [(v.tx_id, v.rule, v.applied) for v in result.violations] == [
        ("empty", "unbalanced", False),
        ("off", "unbalanced", False),
        ("mixed-units", "unbalanced", False),
    ]
    assert "at least one posting" in result.violations[0].detail
    assert "CR off by 10" in result.violations[1].detail
    assert "CR off by -100" in result.violations[2].detail and "USD off by 100" in result.violations[2].detail


def test_things_that_are_not_transactions_or_postings_are_refused_as_malformed():
    good = Transaction("good", move("CR", 5, "float:a", "wallet:p"))
    result = apply_transactions({}, [
        "not a transaction",  # type: ignore[list-item]
        Transaction("bad-posting", (("wallet:p", "CR", 5),)),  # type: ignore[arg-type]
        good,
    ])
    assert [(v.tx_id, v.rule, v.applied) for v in result.violations] == [("?", "malformed", False), ("bad-posting", "malformed", False)]
    assert result.applied == 1
    assert result.balances == {("float:a", "CR"): -5, ("wallet:p", "CR"): 5}


def test_starting_balances_that_do_not_sum_to_zero_are_reported():
    result = apply_transactions({("float:a", "CR"): 7}, [])
    assert [(v.rule, v.applied) for v in result.violations] == [("unit_not_zero", False)]
    assert "CR sums to 7" in result.violations[0].detail


# -- postings and accounts ---------------------------------------------------------------


def test_posting_json_round_trip_and_reversal():
    posting = Posting("wallet:player-1", "CR", 1250)
    assert Posting.from_json(posting.to_json()) == posting
    assert posting.reversed() == Posting("wallet:player-1", "CR", -1250)
    assert imbalance([posting, posting.reversed()]) == {}


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("wallet:p", "CR", 0), "zero amount"),
        (("wallet:p", "CR", 1.5), "whole number"),
        (("wallet:p", "CR", True), "whole number"),
        (("wallet:p", "CR", MAX_ABS_UNITS + 1), "out of range"),
        (("wallet:p", "cr", 1), "unknown unit"),
        (("wallet", "CR", 1), "type:owner"),
        (("loan:p", "CR", 1), "unknown type"),
        (("Wallet:p", "CR", 1), "type:owner"),
        (("wallet:", "CR", 1), "type:owner"),
        (("wallet:p 1", "CR", 1), "type:owner"),
        (("wallet:p1\n", "CR", 1), "type:owner"),
        (("wallet:" + "p" * 129, "CR", 1), "type:owner"),
        ((None, "CR", 1), "type:owner"),
    ],
)
def test_bad_postings_are_refused(args, match):
    with pytest.raises(ValidationError, match=match):
        Posting(*args)


@pytest.mark.parametrize(
    "data",
    [
        {"account": "wallet:p", "unit": "CR"},
        {"account": "wallet:p", "unit": "CR", "amount_units": 5, "memo": "x"},
        ["wallet:p", "CR", 5],
        None,
    ],
)
def test_posting_json_must_have_exactly_its_fields(data):
    with pytest.raises(ValidationError, match="exactly"):
        Posting.from_json(data)


def test_move_and_account_helpers():
    assert move("USD", 500, "revenue:loc", "drawer:pos1") == (
        Posting("revenue:loc", "USD", -500),
        Posting("drawer:pos1", "USD", 500),
    )
    for bad in (0, -5):
        with pytest.raises(ValidationError, match="positive"):
            move("USD", bad, "revenue:loc", "drawer:pos1")
    assert account("escrow", "sess-1") == "escrow:sess-1"
    assert account_type("escrow:sess-1:extra") == "escrow"
    assert check_account("voucher:V.1_a-b:c") == "voucher:V.1_a-b:c"
    with pytest.raises(ValidationError, match="unknown type"):
        account("loan", "x")


def test_check_balanced():
    check_balanced(move("CR", 1, "float:a", "wallet:b"))
    with pytest.raises(ValidationError, match="at least one"):
        check_balanced([])
    with pytest.raises(ValidationError, match="do not balance"):
        check_balanced([Posting("float:a", "CR", 1)])
    # balancing is per unit: 1 CR in and 1 USD out is not balanced
    assert imbalance([Posting("float:a", "CR", 1), Posting("drawer:a", "USD", -1)]) == {"CR": 1, "USD": -1}


def test_a_deposit_into_an_already_negative_wallet_is_not_flagged_again():
    out = Transaction("out", (Posting("wallet:p", "CR", -500), Posting("float:l", "CR", 500)))
    back = Transaction("back", (Posting("wallet:p", "CR", 200), Posting("float:l", "CR", -200)))
    result = apply_transactions({}, [out, back])
    assert [v.tx_id for v in result.violations if v.rule == "negative_balance"] == ["out"]
    assert result.balances[("wallet:p", "CR")] == -300

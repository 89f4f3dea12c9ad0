"""Posting transactions to the central ledger, with the rules of ``shared.ledger``.

Every transaction's postings and its effect on the balances projection are written in
the caller's transaction, so a balance can never drift from its postings. A balanced
transaction that takes a wallet, escrow or voucher below zero is applied and an
exception row is recorded for a person (DESIGN §4, decision 0002).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from central_server.ledger import repository as repo
from shared.entry import utc_timestamp
from shared.ledger import BalanceKey, Posting, Transaction, Violation, apply_transactions, check_balanced, move


@dataclass(frozen=True, slots=True)
class NewTransaction:
    tx_id: str
    kind: str
    lines: Sequence[Posting]
    entry_id: str | None = None
    device_id: str | None = None


def post(
    conn: Connection, *, tx_id: str, kind: str, lines: Sequence[Posting], entry_id: str | None = None, device_id: str | None = None,
) -> list[Violation]:
    """Write one balanced transaction and update the projection; return the rules it broke."""
    return post_many(conn, [NewTransaction(tx_id, kind, lines, entry_id, device_id)])


def post_many(conn: Connection, transactions: Sequence[NewTransaction]) -> list[Violation]:
    """Write balanced transactions, in order, and update the projection; return the rules they broke.

    The same as posting them one by one, in a few statements: the balances of every
    account they touch are incremented once each, atomically, and the balances each
    transaction saw are replayed from the ones before the increment.
    """
    if not transactions:
        return []
    for tx in transactions:
        check_balanced(tx.lines)  # the core refuses an unbalanced transaction; assert it where data enters
    created_at = utc_timestamp()
    repo.insert_transactions(conn, [{"id": tx.tx_id, "kind": tx.kind, "entry_id": tx.entry_id, "created_at": created_at}
                                    for tx in transactions])
    repo.insert_postings_of(conn, [(tx.tx_id, tx.lines) for tx in transactions])
    deltas: dict[BalanceKey, int] = {}
    for tx in transactions:
        for line in tx.lines:
            key = (line.account, line.unit)
            deltas[key] = deltas.get(key, 0) + line.amount_units
    after = repo.add_to_balances(conn, deltas)
    before = {key: after[key] - delta for key, delta in deltas.items()}
    # The same pure rules the devices and `verify` use decide what broke; the balances
    # seen here come from the atomic increments, so concurrent writers cannot hide a
    # negative balance from each other.
    result = apply_transactions(before, [Transaction(tx.tx_id, tuple(tx.lines)) for tx in transactions])
    by_id = {tx.tx_id: tx for tx in transactions}
    violations = [v for v in result.violations if v.rule == "negative_balance"]
    for violation in violations:
        tx = by_id[violation.tx_id]
        account = violation.detail.split(" is ", 1)[0]
        flag(conn, rule=violation.rule, detail=violation.detail, account=account, tx_id=tx.tx_id, entry_id=tx.entry_id,
             device_id=tx.device_id)
    return violations


def flag(
    conn: Connection, *, rule: str, detail: str, account: str | None = None, tx_id: str | None = None,
    entry_id: str | None = None, device_id: str | None = None,
) -> None:
    """Record a broken business rule for a person to review; the fact itself stands."""
    repo.insert_exception(
        conn, rule=rule, detail=detail, account=account, tx_id=tx_id, entry_id=entry_id, device_id=device_id, created_at=utc_timestamp(),
    )


def transfer_if_covered(conn: Connection, *, tx_id: str, kind: str, unit: str, amount_units: int, source: str, destination: str) -> bool:
    """Move credits only when ``source`` covers them (a guarded debit); False, and nothing written, if not."""
    lines = move(unit, amount_units, source, destination)
    if not repo.debit_if_covered(conn, source, unit, amount_units):
        return False
    repo.insert_transaction(conn, tx_id=tx_id, kind=kind, entry_id=None, created_at=utc_timestamp())
    repo.insert_postings(conn, tx_id, lines)
    repo.add_to_balance(conn, destination, unit, amount_units)
    return True

"""Posting transactions to the central ledger, with the rules of ``shared.ledger``.

Every transaction's postings and its effect on the balances projection are written in
the caller's transaction, so a balance can never drift from its postings. A balanced
transaction that takes a wallet, escrow or voucher below zero is applied and an
exception row is recorded for a person (DESIGN §4, decision 0002).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from central_server.ledger import repository as repo
from shared.entry import utc_timestamp
from shared.ledger import BalanceKey, Posting, Transaction, Violation, apply_transactions, check_balanced, move


def post(
    conn: Connection, *, tx_id: str, kind: str, lines: Sequence[Posting], entry_id: str | None = None, device_id: str | None = None,
) -> list[Violation]:
    """Write one balanced transaction and update the projection; return the rules it broke."""
    check_balanced(lines)  # the core refuses an unbalanced transaction; assert it where data enters
    repo.insert_transaction(conn, tx_id=tx_id, kind=kind, entry_id=entry_id, created_at=utc_timestamp())
    repo.insert_postings(conn, tx_id, lines)
    deltas: dict[BalanceKey, int] = {}
    for line in lines:
        key = (line.account, line.unit)
        deltas[key] = deltas.get(key, 0) + line.amount_units
    before: dict[BalanceKey, int] = {}
    for (account, unit), delta in sorted(deltas.items()):
        if delta:
            before[(account, unit)] = repo.add_to_balance(conn, account, unit, delta) - delta
    # The same pure rules the devices and `verify` use decide what broke; the balances
    # seen here come from the atomic increments, so concurrent writers cannot hide a
    # negative balance from each other.
    result = apply_transactions(before, [Transaction(tx_id, tuple(lines))])
    violations = [v for v in result.violations if v.rule == "negative_balance"]
    for violation in violations:
        account = violation.detail.split(" is ", 1)[0]
        flag(conn, rule=violation.rule, detail=violation.detail, account=account, tx_id=tx_id, entry_id=entry_id, device_id=device_id)
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

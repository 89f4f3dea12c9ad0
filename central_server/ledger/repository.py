"""All SQL of the ledger: transactions, postings, the balances projection, exceptions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.db import insert_many, is_postgres
from central_server.tables import balances, ledger_exceptions, ledger_transactions, postings
from shared.ledger import BalanceKey, Posting

BALANCE_ROWS_PER_STATEMENT = 1000  # 3 parameters a row: well inside SQLite's and PostgreSQL's limits
_ADD_TO_BALANCE = sa.text(
    "INSERT INTO balances (account, unit, balance_units) VALUES (:account, :unit, :delta) "
    "ON CONFLICT (account, unit) DO UPDATE SET balance_units = balances.balance_units + excluded.balance_units "
    "RETURNING balance_units"
)

_ADD_TO_BALANCES_PG = sa.text(
    "INSERT INTO balances (account, unit, balance_units) "
    "SELECT * FROM unnest(CAST(:accounts AS text[]), CAST(:units AS text[]), CAST(:deltas AS bigint[])) "
    "ON CONFLICT (account, unit) DO UPDATE SET balance_units = balances.balance_units + excluded.balance_units "
    "RETURNING account, unit, balance_units"
)


def insert_transaction(conn: Connection, *, tx_id: str, kind: str, entry_id: str | None, created_at: str) -> None:
    conn.execute(ledger_transactions.insert().values(id=tx_id, kind=kind, entry_id=entry_id, created_at=created_at))


def insert_transactions(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Many ``ledger_transactions`` rows in one statement (a COPY on PostgreSQL, an executemany on SQLite)."""
    insert_many(conn, ledger_transactions, rows)


def insert_postings_of(conn: Connection, transactions: Iterable[tuple[str, Iterable[Posting]]]) -> None:
    """The postings of many transactions in one statement."""
    rows = [{"tx_id": tx_id, "account": p.account, "unit": p.unit, "amount_units": p.amount_units}
            for tx_id, lines in transactions for p in lines]
    insert_many(conn, postings, rows)


def add_to_balances(conn: Connection, deltas: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Add many deltas to the projection in one statement (creating rows); the new balances.

    The rows are listed in key order, so two writers lock shared rows in the same order
    and cannot deadlock; each key appears once (one statement may not update a row twice).
    """
    keys = sorted(deltas)
    after = _add_to_balances_pg(conn, keys, deltas) if is_postgres(conn) else _add_to_balances_values(conn, keys, deltas)
    assert set(after) == set(keys), "every balance row was inserted or updated"
    return after


def _add_to_balances_pg(conn: Connection, keys: list[BalanceKey], deltas: dict[BalanceKey, int]) -> dict[BalanceKey, int]:
    # Arrays, not a VALUES list that grows with the batch: the statement text never changes,
    # so it is compiled and prepared once; unnest yields the rows in key order.
    rows = conn.execute(_ADD_TO_BALANCES_PG, {
        "accounts": [account for account, _ in keys], "units": [unit for _, unit in keys], "deltas": [deltas[key] for key in keys],
    })
    return {(row.account, row.unit): int(row.balance_units) for row in rows}


def _add_to_balances_values(conn: Connection, keys: list[BalanceKey], deltas: dict[BalanceKey, int]) -> dict[BalanceKey, int]:
    after: dict[BalanceKey, int] = {}
    for start in range(0, len(keys), BALANCE_ROWS_PER_STATEMENT):
        chunk = keys[start:start + BALANCE_ROWS_PER_STATEMENT]
        insert: Any = _dialect_insert(conn)(balances).values(
            [{"account": account, "unit": unit, "balance_units": deltas[(account, unit)]} for account, unit in chunk]
        )
        stmt = insert.on_conflict_do_update(
            index_elements=[balances.c.account, balances.c.unit],
            set_={"balance_units": balances.c.balance_units + insert.excluded.balance_units},
        ).returning(balances.c.account, balances.c.unit, balances.c.balance_units)
        for row in conn.execute(stmt):
            after[(row.account, row.unit)] = int(row.balance_units)
    return after


def _dialect_insert(conn: Connection) -> Any:
    if is_postgres(conn):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def insert_postings(conn: Connection, tx_id: str, lines: Iterable[Posting]) -> None:
    rows = [{"tx_id": tx_id, "account": p.account, "unit": p.unit, "amount_units": p.amount_units} for p in lines]
    if rows:
        conn.execute(postings.insert(), rows)


def add_to_balance(conn: Connection, account: str, unit: str, delta_units: int) -> int:
    """Atomically add ``delta_units`` to the projection (creating the row) and return the new balance."""
    return int(conn.execute(_ADD_TO_BALANCE, {"account": account, "unit": unit, "delta": delta_units}).scalar_one())


def debit_if_covered(conn: Connection, account: str, unit: str, amount_units: int) -> bool:
    """Take ``amount_units`` out only if the balance covers it: one guarded UPDATE.

    On PostgreSQL a concurrent debit of the same row waits for the first to commit and
    then re-checks the condition, so no two debits can both pass on the same credits.
    """
    result = conn.execute(
        sa.update(balances)
        .where(balances.c.account == account, balances.c.unit == unit, balances.c.balance_units >= amount_units)
        .values(balance_units=balances.c.balance_units - amount_units)
    )
    return result.rowcount == 1


def balance(conn: Connection, account: str, unit: str, *, for_update: bool = False) -> int:
    stmt = sa.select(balances.c.balance_units).where(balances.c.account == account, balances.c.unit == unit)
    if for_update and is_postgres(conn):
        stmt = stmt.with_for_update()
    value = conn.execute(stmt).scalar()
    return int(value or 0)


def postings_of(conn: Connection, tx_id: str) -> list[Posting]:
    rows = conn.execute(
        sa.select(postings.c.account, postings.c.unit, postings.c.amount_units).where(postings.c.tx_id == tx_id).order_by(postings.c.id)
    ).all()
    return [Posting(r.account, r.unit, int(r.amount_units)) for r in rows]


def insert_exception(conn: Connection, **values: Any) -> None:
    conn.execute(ledger_exceptions.insert().values(**values))


def exceptions(conn: Connection, limit: int = 1000) -> list[Any]:
    return list(conn.execute(sa.select(ledger_exceptions).order_by(ledger_exceptions.c.id).limit(limit)).all())


def all_balances(conn: Connection) -> Iterator[Any]:
    yield from conn.execute(sa.select(balances).order_by(balances.c.account, balances.c.unit))


def sums_by_account(conn: Connection) -> Iterator[Any]:
    yield from conn.execute(
        sa.select(postings.c.account, postings.c.unit, sa.func.sum(postings.c.amount_units).label("total"))
        .group_by(postings.c.account, postings.c.unit)
    )


def unbalanced_transactions(conn: Connection, limit: int = 100) -> list[Any]:
    return list(conn.execute(
        sa.select(postings.c.tx_id, postings.c.unit, sa.func.sum(postings.c.amount_units).label("total"))
        .group_by(postings.c.tx_id, postings.c.unit)
        .having(sa.func.sum(postings.c.amount_units) != 0)
        .limit(limit)
    ).all())


def accounts_with_open_exception(conn: Connection, rule: str) -> set[str]:
    rows = conn.execute(
        sa.select(ledger_exceptions.c.account).where(ledger_exceptions.c.rule == rule, ledger_exceptions.c.resolved_at.is_(None))
    )
    return {r.account for r in rows if r.account}

"""Engines and the one-transaction-per-request dependency.

PostgreSQL is the production store, SQLite the embedded default; the same code and the
same migrations run on both. On SQLite every transaction starts with ``BEGIN
IMMEDIATE`` so writers queue on the file lock instead of failing when a read lock is
upgraded, and foreign keys are enforced.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from shared.errors import CafeError

SQLITE_BUSY_TIMEOUT_S = 30


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs; refuse anything that is not PostgreSQL or SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise CafeError(f"database URL {url!r} is not valid (expected postgresql://… or sqlite:///path)") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise CafeError(f"database URL {url!r}: only postgresql:// and sqlite:/// are supported")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S})
            _sqlite_events(engine)
        else:
            engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise CafeError(f"cannot use database URL {url!r}: {exc}") from exc
    return engine


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def request_transaction(request: Request) -> Iterator[Connection]:
    """The request's one transaction: committed when the endpoint returns, rolled back if it raises.

    Used with ``Depends(..., scope="function")`` so the commit happens before the
    response is sent: a device is never told "applied" for something not yet durable.
    """
    engine: Engine = request.app.state.engine
    with engine.begin() as conn:
        yield conn


def insert_ignoring_conflict(conn: Connection, table: Any, values: dict[str, Any], *index_elements: str) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING`` on either database; True when a row was inserted.

    The unique constraint decides, so two concurrent inserts of one key insert it once
    (no check-then-insert race) and the loser's transaction stays usable.
    """
    if is_postgres(conn):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table).values(**values).on_conflict_do_nothing(index_elements=list(index_elements) or None)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing(index_elements=list(index_elements) or None)
    # RETURNING, not rowcount: psycopg reports -1 as the rowcount of an INSERT here.
    first_column = next(iter(table.primary_key.columns))
    return conn.execute(stmt.returning(first_column)).first() is not None


def insert_many(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows of one shape in the connection's transaction, in few round trips.

    PostgreSQL: one ``COPY … FROM STDIN`` (psycopg 3), which is far cheaper per row than
    an executemany of single-row INSERTs and checks the same constraints and foreign
    keys. SQLite: an executemany (one prepared statement, no round trips to save).
    """
    if not rows:
        return
    if not is_postgres(conn):
        conn.execute(table.insert(), list(rows))
        return
    columns = list(rows[0])
    assert all(column in table.c for column in columns), "only the table's own columns"
    names = ", ".join(f'"{column}"' for column in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    driver = conn.connection.driver_connection
    assert driver is not None, "a connection in a transaction has its driver connection"
    cursor = driver.cursor()  # the same connection, so the same transaction
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])
    except conn.dialect.loaded_dbapi.Error as exc:
        # What SQLAlchemy raises for the same failure of an INSERT (IntegrityError on a
        # constraint, DataError on a NUL …), so the one database error handler answers it.
        raise DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


Tx = Annotated[Connection, Depends(request_transaction, scope="function")]
"""An endpoint parameter that is the request's one transaction."""


@contextmanager
def scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for a test or a benchmark, dropped afterwards; yields its URL.

    Connection errors propagate (``psycopg.OperationalError``) so the caller decides how
    to say that PostgreSQL is missing.
    """
    import psycopg  # only tests and benchmarks create databases; the server never does

    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

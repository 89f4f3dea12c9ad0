"""The device journal: an append-only, hash-chained, encrypted SQLite file (DESIGN §3).

Every POS and kiosk writes what it does here *before* its screen says it happened, and
the sync client pushes from here, so this file is both the device's book of record and
its outbox. Properties it keeps:

* encrypted at rest with SQLCipher under a random 256-bit key held in the OS keyring;
* durable: WAL with ``synchronous=FULL``, so an append that returned survives a power cut;
* ordered and gap-free: seq and prev_hash are assigned inside one ``BEGIN IMMEDIATE``
  transaction, serialised by a lock between threads and by SQLite between processes;
* append-only: triggers refuse UPDATE and DELETE of entries; what central has
  acknowledged is recorded in a separate marker table, never by touching an entry;
* self-proving: each row stores the signature of its device key over ``(device_id, seq,
  hash)``, so the newest row vouches for the whole chain.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from shared.bodies import Body
from shared.canonical import canonical_json, parse_canonical
from shared.entry import GENESIS_HASH, JournalEntry, chain_problems, entry_hash, make_entry, utc_timestamp
from shared.errors import CafeError, IntegrityError, ValidationError
from shared.ledger import Posting
from shared.signing import DeviceKey, verify_head
from sync.keystore import KeyStore

JOURNAL_FILENAME = "journal.db"
SCHEMA_VERSION = 1
READ_BATCH = 1000

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # data = canonical JSON of the entry without its hash: exactly the bytes the hash covers.
    """CREATE TABLE entries (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        hash TEXT NOT NULL,
        data BLOB NOT NULL,
        head_sig TEXT NOT NULL
    )""",
    "CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END",
    "CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END",
    # The outbox marker: one row per acknowledgement, the highest through_seq wins.
    "CREATE TABLE acks (through_seq INTEGER PRIMARY KEY, acked_at TEXT NOT NULL)",
)


class JournalError(CafeError):
    code = "journal"
    http_status = 500


def journal_path(data_dir: Path) -> Path:
    return Path(data_dir) / JOURNAL_FILENAME


def _engine(path: Path, key: bytes) -> Engine:
    """One SQLCipher connection, keyed with the raw key (no KDF: the key is already random)."""
    assert len(key) == 32, "the journal key is 256 bits"

    def connect() -> Any:
        conn = sqlcipher3.dbapi2.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        except Exception:
            conn.close()
            raise
        return conn

    engine = create_engine("sqlite://", creator=connect, poolclass=StaticPool)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the write lock at BEGIN, so two of them queue instead of failing
        # when a read lock is upgraded; readers do not block writers in WAL mode.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("journal_write") else "BEGIN")

    return engine


def _open_checked(path: Path, key: bytes) -> Engine:
    engine = _engine(path, key)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
    except DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        if "not a database" in reason or "encrypted" in reason:
            raise JournalError(f"cannot open {path}: wrong key, or not a cafesuite journal") from exc
        raise JournalError(f"cannot open {path}: {reason}") from exc
    return engine


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str
    signature: str | None


@dataclass
class VerifyReport:
    """What ``verify`` found; ``ok`` only when every check holds."""

    path: str
    device_id: str = ""
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    acked_seq: int = 0
    signature_ok: bool = False
    integrity_ok: bool = False
    cipher_integrity_ok: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.signature_ok and self.integrity_ok and self.cipher_integrity_ok

    def summary(self) -> str:
        lines = [
            f"journal   {self.path}",
            f"device    {self.device_id}",
            f"entries   {self.entries} (seq 1..{self.head_seq}), acknowledged by central through seq {self.acked_seq}",
            f"head      {self.head_hash}",
            f"signature {'ok' if self.signature_ok else 'FAILED'}",
            f"integrity {'ok' if self.integrity_ok else 'FAILED'}; cipher {'ok' if self.cipher_integrity_ok else 'FAILED'}",
        ]
        lines += [f"PROBLEM   {p}" for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"PROBLEM   … and {len(self.problems) - 50} more")
        lines.append("OK: every hash, link and the head signature hold" if self.ok else "FAILED")
        return "\n".join(lines)


class Journal:
    """The append-only journal of one device (use ``create`` once, then ``open``)."""

    def __init__(self, path: Path, engine: Engine, device_key: DeviceKey):
        self.path = path
        self._engine = engine
        self._key = device_key
        self._lock = threading.RLock()
        self.device_id = self._meta("device_id")

    # -- life cycle -------------------------------------------------------------------

    @classmethod
    def create(cls, data_dir: Path, device_id: str, keystore: KeyStore | None = None) -> Journal:
        """Create the journal of a newly enrolled device, with fresh keys in the keyring."""
        data_dir = Path(data_dir)
        path = journal_path(data_dir)
        if path.exists():
            raise JournalError(f"{path} already exists; open it instead of creating it")
        data_dir.mkdir(parents=True, exist_ok=True)
        keystore = keystore or KeyStore(data_dir)
        key = keystore.create_journal_key()
        # Enrollment makes the device key first (central needs its public half before it
        # hands out the device id); a journal created without enrollment makes its own.
        device_key = keystore.device_key() if keystore.has_device_key() else keystore.create_device_key()
        engine = _open_checked(path, key)
        with engine.connect().execution_options(journal_write=True) as conn, conn.begin():
            for statement in _SCHEMA:
                conn.exec_driver_sql(statement)
            meta = {
                "schema_version": str(SCHEMA_VERSION),
                "device_id": device_id,
                "device_public_key": device_key.public_bytes().hex(),
                "created_at": utc_timestamp(),
            }
            for name, value in meta.items():
                conn.execute(text("INSERT INTO meta (key, value) VALUES (:k, :v)"), {"k": name, "v": value})
        return cls(path, engine, device_key)

    @classmethod
    def open(cls, path_or_dir: Path, keystore: KeyStore | None = None) -> Journal:
        """Open an existing journal (a data directory, or the journal file inside one)."""
        path = Path(path_or_dir)
        if path.is_dir():
            path = journal_path(path)
        if not path.is_file():
            raise JournalError(f"no journal at {path}")
        keystore = keystore or KeyStore(path.parent)
        engine = _open_checked(path, keystore.journal_key())
        try:
            journal = cls(path, engine, keystore.device_key())
        except DBAPIError as exc:
            engine.dispose()
            raise JournalError(f"{path} is not a cafesuite journal: {exc.orig}") from exc
        if journal._meta("device_public_key") != journal._key.public_bytes().hex():
            engine.dispose()
            raise JournalError(f"{path} was not written with this device's key")
        return journal

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction, under the thread lock and SQLite's write lock."""
        with self._lock, self._engine.connect().execution_options(journal_write=True) as conn, conn.begin():
            yield conn

    # -- writing ----------------------------------------------------------------------

    def append(
        self, body: Body, *, actor: str, postings: Iterable[Posting] | None = None, entry_id: str | None = None,
    ) -> JournalEntry:
        """Durably record one fact and return the entry once it is on disk.

        With ``entry_id`` a retry is harmless: if an entry with that id is already in the
        journal it is returned as it was, and nothing new is written.
        """
        with self._write() as conn:
            if entry_id is not None:
                existing = conn.execute(text("SELECT hash, data FROM entries WHERE id = :id"), {"id": entry_id}).first()
                if existing is not None:
                    return _row_entry(existing.data, existing.hash)
            last = conn.execute(text("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1")).first()
            seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
            entry = make_entry(
                device_id=self.device_id, seq=seq, prev_hash=prev, body=body, actor=actor,
                postings=postings, entry_id=entry_id,
            )
            conn.execute(
                text("INSERT INTO entries (seq, id, kind, hash, data, head_sig) VALUES (:seq, :id, :kind, :hash, :data, :sig)"),
                {
                    "seq": entry.seq, "id": entry.id, "kind": entry.kind, "hash": entry.hash,
                    "data": canonical_json(entry.unhashed_json()),
                    "sig": self._key.sign_head(self.device_id, entry.seq, entry.hash),
                },
            )
        return entry

    def mark_acked(self, through_seq: int) -> None:
        """Record that central holds every entry up to ``through_seq`` (monotonic, idempotent)."""
        with self._write() as conn:
            head = conn.execute(text("SELECT coalesce(max(seq), 0) FROM entries")).scalar_one()
            if not 0 < through_seq <= head:
                raise ValidationError(f"cannot acknowledge seq {through_seq}: the journal holds 1..{head}")
            conn.execute(
                text("INSERT OR IGNORE INTO acks (through_seq, acked_at) VALUES (:s, :t)"),
                {"s": through_seq, "t": utc_timestamp()},
            )

    # -- reading ----------------------------------------------------------------------

    def _meta(self, name: str) -> str:
        with self._lock, self._engine.connect() as conn:
            value = conn.execute(text("SELECT value FROM meta WHERE key = :k"), {"k": name}).scalar()
        if value is None:
            raise JournalError(f"{self.path} has no {name!r} in its metadata")
        return str(value)

    @property
    def public_key(self) -> bytes:
        return self._key.public_bytes()

    @property
    def acked_seq(self) -> int:
        with self._lock, self._engine.connect() as conn:
            return int(conn.execute(text("SELECT coalesce(max(through_seq), 0) FROM acks")).scalar_one())

    def head(self) -> Head:
        with self._lock, self._engine.connect() as conn:
            row = conn.execute(text("SELECT seq, hash, head_sig FROM entries ORDER BY seq DESC LIMIT 1")).first()
        return Head(row.seq, row.hash, row.head_sig) if row else Head(0, GENESIS_HASH, None)

    def count(self) -> int:
        with self._lock, self._engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM entries")).scalar_one())

    def entries(self, from_seq: int = 1, limit: int | None = None) -> Iterator[JournalEntry]:
        """Entries in seq order from ``from_seq``, read in bounded batches."""
        remaining = limit
        next_seq = from_seq
        while remaining is None or remaining > 0:
            batch = READ_BATCH if remaining is None else min(READ_BATCH, remaining)
            with self._lock, self._engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT seq, hash, data FROM entries WHERE seq >= :s ORDER BY seq LIMIT :n"),
                    {"s": next_seq, "n": batch},
                ).all()
            for row in rows:
                yield _row_entry(row.data, row.hash)
            if len(rows) < batch:
                return
            next_seq = rows[-1].seq + 1
            if remaining is not None:
                remaining -= len(rows)

    def unacked(self, limit: int) -> list[JournalEntry]:
        """The oldest entries central has not acknowledged yet (the outbox), at most ``limit``."""
        assert limit > 0, "outbox reads are bounded"
        return list(self.entries(self.acked_seq + 1, limit))

    def pending_count(self) -> int:
        return self.head().seq - self.acked_seq

    # -- checking ---------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Recompute every hash and link, check the head signature and both integrity checks."""
        report = VerifyReport(path=str(self.path), device_id=self.device_id, acked_seq=self.acked_seq)
        with self._lock, self._engine.connect() as conn:
            integrity = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
            report.integrity_ok = integrity == ["ok"]
            if not report.integrity_ok:
                report.problems += [f"integrity_check: {line}" for line in integrity[:10]]
            cipher = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA cipher_integrity_check").all()]
            report.cipher_integrity_ok = not cipher
            report.problems += [f"cipher_integrity_check: {line}" for line in cipher[:10]]
        expected_seq, expected_prev = 1, GENESIS_HASH
        last_sig: str | None = None
        next_seq = 1
        while True:
            with self._lock, self._engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT seq, id, kind, hash, data, head_sig FROM entries WHERE seq >= :s ORDER BY seq LIMIT :n"),
                    {"s": next_seq, "n": READ_BATCH},
                ).all()
            for row in rows:
                report.problems += _row_problems(row, self.device_id, expected_seq, expected_prev)
                expected_seq, expected_prev = row.seq + 1, row.hash
                report.entries += 1
                report.head_seq, report.head_hash, last_sig = row.seq, row.hash, row.head_sig
            if len(rows) < READ_BATCH:
                break
            next_seq = rows[-1].seq + 1
        if report.entries == 0:
            report.signature_ok = True  # nothing to vouch for yet
        else:
            assert last_sig is not None
            report.signature_ok = verify_head(self.public_key, self.device_id, report.head_seq, report.head_hash, last_sig)
            if not report.signature_ok:
                report.problems.append(f"seq {report.head_seq}: head signature does not verify")
        if report.acked_seq > report.head_seq:
            report.problems.append(f"acknowledged through {report.acked_seq} but the journal ends at {report.head_seq}")
        return report


def _row_entry(data: bytes, stored_hash: str) -> JournalEntry:
    return JournalEntry.from_json({**parse_canonical(bytes(data)), "hash": stored_hash})


def _row_problems(row: Any, device_id: str, expected_seq: int, expected_prev: str) -> list[str]:
    """Everything wrong with one stored row, without stopping at the first."""
    where = f"seq {row.seq}"
    try:
        entry = _row_entry(row.data, row.hash)
    except (ValidationError, IntegrityError, CafeError) as exc:
        # The content no longer parses or no longer matches its hash: tampering or rot.
        try:
            recomputed = entry_hash(parse_canonical(bytes(row.data)))
            detail = "hash does not match the entry's content" if recomputed != row.hash else exc.message
        except CafeError:
            detail = f"stored entry is not valid canonical JSON ({exc.message})"
        return [f"{where}: {detail}"]
    problems = [f"{where}: {p.problem}" for p in chain_problems([entry], start_seq=expected_seq, start_hash=expected_prev)]
    if entry.device_id != device_id:
        problems.append(f"{where}: entry belongs to device {entry.device_id}")
    if entry.seq != row.seq or entry.id != row.id or entry.kind != row.kind:
        problems.append(f"{where}: indexed columns disagree with the entry")
    return problems

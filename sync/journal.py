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
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from shared.bodies import Body
from shared.canonical import canonical_json, parse_json, sha256_hex
from shared.entry import GENESIS_HASH, JournalEntry, make_entry, utc_timestamp
from shared.errors import CafeError, CanonicalJSONError, IntegrityError, ValidationError
from shared.ledger import Posting
from shared.signing import DeviceKey, decode_b64, encode_b64, head_message
from sync.keystore import KeyStore

JOURNAL_FILENAME = "journal.db"
SCHEMA_VERSION = 1
READ_BATCH = 1000
MAX_REPORTED_PROBLEMS = 1000  # a wrecked file must not make verify build an unbounded list

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
    # The outbox marker: one row per acknowledgement, the highest through_seq wins. It is
    # append-only too, so the marker can only move forward.
    "CREATE TABLE acks (through_seq INTEGER PRIMARY KEY, acked_at TEXT NOT NULL)",
    "CREATE TRIGGER acks_no_update BEFORE UPDATE ON acks BEGIN SELECT RAISE(ABORT, 'acknowledgements are append-only'); END",
    "CREATE TRIGGER acks_no_delete BEFORE DELETE ON acks BEGIN SELECT RAISE(ABORT, 'acknowledgements are append-only'); END",
)


class JournalError(CafeError):
    code = "journal"
    http_status = 500


def journal_path(data_dir: Path) -> Path:
    return Path(data_dir) / JOURNAL_FILENAME


def _engine(path: Path, key: bytes | None) -> Engine:
    """One SQLCipher connection, keyed with the raw key (no KDF: the key is already random).

    ``key=None`` opens the file without encryption through the very same library and
    pragmas; only the benchmark does that, to time the journal with encryption off.
    """
    assert key is None or len(key) == 32, "the journal key is 256 bits"

    def connect() -> Any:
        conn = sqlcipher3.dbapi2.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        try:
            # SQLCipher otherwise logs every failed page HMAC to stderr itself; we turn each
            # failure into one clear error instead of a screenful at the counter.
            conn.execute("PRAGMA cipher_log_level = NONE")
            if key is not None:
                conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        except Exception:
            conn.close()
            raise
        return conn

    # module=: SQLAlchemy wraps only errors of the DBAPI module it knows; without this a
    # wrong key escapes as a bare sqlcipher3 error instead of a DBAPIError.
    engine = create_engine("sqlite://", creator=connect, poolclass=StaticPool, module=sqlcipher3.dbapi2)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the write lock at BEGIN, so two of them queue instead of failing
        # when a read lock is upgraded; readers do not block writers in WAL mode.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("journal_write") else "BEGIN")

    return engine


def _db_failure(path: Path, exc: DBAPIError) -> JournalError:
    """One readable line for a database failure: wrong key, damaged file, lock, disk."""
    reason = " ".join(str(exc.orig if exc.orig is not None else exc).split())
    lowered = reason.lower()
    if "not a database" in lowered or "encrypted" in lowered:
        return JournalError(f"cannot read {path}: wrong key, or the file is damaged or not a cafesuite journal ({reason})")
    if "malformed" in lowered or "corrupt" in lowered:
        return JournalError(f"cannot read {path}: the file is damaged ({reason})")
    return JournalError(f"journal {path}: {reason}")


@contextmanager
def _db_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        raise _db_failure(path, exc) from exc
    except MemoryError as exc:
        # After a page fails its HMAC, SQLCipher leaves the connection in an error state
        # that the driver reports as SQLITE_NOMEM, i.e. MemoryError (seen on 4.12).
        raise JournalError(f"cannot read {path}: the file is damaged (the database reported out of memory)") from exc


def _open_checked(path: Path, key: bytes | None) -> Engine:
    engine = _engine(path, key)
    try:
        with _db_errors(path), engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
    except JournalError:
        engine.dispose()
        raise
    return engine


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str
    signature: str | None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as the journal holds it: ``data`` is the canonical JSON its ``hash`` covers (without the hash)."""

    seq: int
    hash: str
    data: bytes


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

    def add(self, problem: str) -> None:
        if len(self.problems) <= MAX_REPORTED_PROBLEMS:
            self.problems.append(" ".join(problem.split()))  # one line each, whatever SQLite said

    def summary(self) -> str:
        lines = [
            f"journal   {self.path}",
            f"device    {self.device_id}",
            f"entries   {self.entries} (seq 1..{self.head_seq}), acknowledged by central through seq {self.acked_seq}",
            f"head      {self.head_hash}",
            f"signature {'ok' if self.signature_ok else 'FAILED'} (head seq {self.head_seq} and every entry before it)",
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
        return cls._create_file(path, device_id, device_key, key)

    @classmethod
    def _create_file(cls, path: Path, device_id: str, device_key: DeviceKey, journal_key: bytes | None) -> Journal:
        """Write a new journal file with its schema and metadata in one transaction.

        ``journal_key=None`` makes a *plain* SQLite file. Only ``bench/journal.py`` asks
        for that, to time the same code path with encryption off; ``open`` always keys
        the file, so an app can never read or write a plain journal.
        """
        engine = _open_checked(path, journal_key)
        with _db_errors(path), engine.connect().execution_options(journal_write=True) as conn, conn.begin():
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
        except CafeError as exc:
            engine.dispose()
            raise JournalError(f"{path} is not a cafesuite journal: {exc.message}") from exc
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
        with (
            self._lock,
            _db_errors(self.path),
            self._engine.connect().execution_options(journal_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One read: the lock because the one connection is shared between threads."""
        with self._lock, _db_errors(self.path), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def local_write(self) -> Iterator[Connection]:
        """A write transaction for the device's own replaceable tables (the pull cache, ``sync/cache.py``).

        They share this encrypted file, its key and its durability; entries and acks are
        still written only by ``append`` and ``mark_acked`` (their triggers refuse the rest).
        """
        with self._write() as conn:
            yield conn

    @contextmanager
    def local_read(self) -> Iterator[Connection]:
        with self._read() as conn:
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
            data = canonical_json(entry.unhashed_json())
            # The stored bytes are exactly what the hash covers; check before they are written.
            assert sha256_hex(data) == entry.hash, "stored entry bytes must hash to the entry's hash"
            conn.execute(
                text("INSERT INTO entries (seq, id, kind, hash, data, head_sig) VALUES (:seq, :id, :kind, :hash, :data, :sig)"),
                {
                    "seq": entry.seq, "id": entry.id, "kind": entry.kind, "hash": entry.hash, "data": data,
                    "sig": self._key.sign_head(self.device_id, entry.seq, entry.hash),
                },
            )
        return entry

    def mark_acked(self, through_seq: int) -> None:
        """Record that central holds every entry up to ``through_seq`` (monotonic, idempotent).

        An acknowledgement at or below the current marker changes nothing; one beyond the
        newest entry is refused, since central cannot hold what the device never wrote.
        """
        if isinstance(through_seq, bool) or not isinstance(through_seq, int):
            raise ValidationError(f"through_seq must be a whole number, got {through_seq!r}")
        with self._write() as conn:
            head = conn.execute(text("SELECT coalesce(max(seq), 0) FROM entries")).scalar_one()
            if not 0 < through_seq <= head:
                raise ValidationError(f"cannot acknowledge seq {through_seq}: the journal holds 1..{head}")
            acked = conn.execute(text("SELECT coalesce(max(through_seq), 0) FROM acks")).scalar_one()
            if through_seq <= acked:
                return
            conn.execute(
                text("INSERT INTO acks (through_seq, acked_at) VALUES (:s, :t)"),
                {"s": through_seq, "t": utc_timestamp()},
            )

    # -- reading ----------------------------------------------------------------------

    def _meta(self, name: str) -> str:
        with self._read() as conn:
            value = conn.execute(text("SELECT value FROM meta WHERE key = :k"), {"k": name}).scalar()
        if value is None:
            raise JournalError(f"{self.path} has no {name!r} in its metadata")
        return str(value)

    @property
    def public_key(self) -> bytes:
        return self._key.public_bytes()

    @property
    def acked_seq(self) -> int:
        with self._read() as conn:
            return int(conn.execute(text("SELECT coalesce(max(through_seq), 0) FROM acks")).scalar_one())

    def head(self) -> Head:
        with self._read() as conn:
            row = conn.execute(text("SELECT seq, hash, head_sig FROM entries ORDER BY seq DESC LIMIT 1")).first()
        return Head(row.seq, row.hash, row.head_sig) if row else Head(0, GENESIS_HASH, None)

    def count(self) -> int:
        with self._read() as conn:
            return int(conn.execute(text("SELECT count(*) FROM entries")).scalar_one())

    def entries(self, from_seq: int = 1, limit: int | None = None) -> Iterator[JournalEntry]:
        """Entries in seq order from ``from_seq``, read in bounded batches."""
        remaining = limit
        next_seq = from_seq
        while remaining is None or remaining > 0:
            batch = READ_BATCH if remaining is None else min(READ_BATCH, remaining)
            rows = self._stored_rows(next_seq, batch)
            for row in rows:
                yield _row_entry(row.data, row.hash)
            if len(rows) < batch:
                return
            next_seq = rows[-1].seq + 1
            if remaining is not None:
                remaining -= len(rows)

    def stored_entries(self, from_seq: int, limit: int) -> list[StoredEntry]:
        """Up to ``limit`` entries from ``from_seq`` as stored, for sending: each one's bytes must hash to its hash.

        The outbox sends these bytes as they are instead of parsing and re-encoding each
        entry: central checks every field, link and posting of what arrives anyway, and
        after an outage the outbox is the device's whole backlog.
        """
        assert limit > 0, "outbox reads are bounded"
        stored: list[StoredEntry] = []
        for expected_seq, row in enumerate(self._stored_rows(from_seq, limit), start=from_seq):
            if row.seq != expected_seq or not isinstance(row.data, bytes) or sha256_hex(row.data) != row.hash:
                raise IntegrityError(f"journal entry {expected_seq} is damaged: its stored bytes do not match its hash")
            stored.append(StoredEntry(row.seq, row.hash, row.data))
        return stored

    def _stored_rows(self, from_seq: int, limit: int) -> list[Any]:
        """At most ``limit`` stored rows (seq, hash, data) from ``from_seq``, in seq order."""
        with self._read() as conn:
            return list(conn.execute(
                text("SELECT seq, hash, data FROM entries WHERE seq >= :s ORDER BY seq LIMIT :n"), {"s": from_seq, "n": limit},
            ).all())

    def unacked(self, limit: int) -> list[JournalEntry]:
        """The oldest entries central has not acknowledged yet (the outbox), at most ``limit``."""
        assert limit > 0, "outbox reads are bounded"
        return list(self.entries(self.acked_seq + 1, limit))

    def pending_count(self) -> int:
        return self.head().seq - self.acked_seq

    # -- checking ---------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Recompute every hash and link, check the signatures and both integrity checks.

        The newest entry's signature vouches for the chain; the stored signature of every
        older entry is checked too, because a row whose bytes were changed must never pass.
        A file too damaged to read is reported as a problem, not raised.
        """
        report = VerifyReport(path=str(self.path), device_id=self.device_id)
        try:
            self._check_file(report)
            if report.cipher_integrity_ok and report.integrity_ok:
                self._check_chain(report)
            else:
                # SQLCipher leaves the connection unusable after a page fails its HMAC.
                report.add("entries not checked: the file itself is damaged")
        except JournalError as exc:
            report.add(exc.message)
        return report

    def _check_file(self, report: VerifyReport) -> None:
        with self._read() as conn:
            report.acked_seq = int(conn.execute(text("SELECT coalesce(max(through_seq), 0) FROM acks")).scalar_one())
        with self._read() as conn:
            # The cipher check first: it reads every page's HMAC and names the bad ones,
            # where integrity_check may simply fail on the first page it cannot decrypt.
            cipher = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA cipher_integrity_check").all()]
        report.cipher_integrity_ok = not cipher
        for line in cipher[:10]:
            report.add(f"cipher_integrity_check: {line}")
        try:
            with self._read() as conn:
                integrity = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
        except JournalError as exc:
            integrity = [f"could not run: {exc.message}"]
        report.integrity_ok = integrity == ["ok"]
        if not report.integrity_ok:
            for line in integrity[:10]:
                report.add(f"integrity_check: {line}")

    def _check_chain(self, report: VerifyReport) -> None:
        public_key = Ed25519PublicKey.from_public_bytes(self.public_key)
        expected_seq, expected_prev = 1, GENESIS_HASH
        signatures_ok = True
        next_seq = 1
        while True:
            with self._read() as conn:
                rows = conn.execute(
                    text("SELECT seq, id, kind, hash, data, head_sig FROM entries WHERE seq >= :s ORDER BY seq LIMIT :n"),
                    {"s": next_seq, "n": READ_BATCH},
                ).all()
            for row in rows:
                problems, signature_ok = _row_problems(row, self.device_id, expected_seq, expected_prev, public_key)
                for problem in problems:
                    report.add(problem)
                signatures_ok = signatures_ok and signature_ok
                expected_seq, expected_prev = expected_seq + 1, row.hash
                report.entries += 1
                report.head_seq, report.head_hash = row.seq, row.hash
            if len(rows) < READ_BATCH:
                break
            next_seq = rows[-1].seq + 1
        report.signature_ok = signatures_ok  # an empty journal has nothing to vouch for yet
        if report.acked_seq > report.head_seq:
            report.add(f"acknowledged through {report.acked_seq} but the journal ends at {report.head_seq}")


def _row_entry(data: object, stored_hash: object) -> JournalEntry:
    """The entry a stored row holds, fully checked: the stored bytes must hash to the stored hash."""
    if not isinstance(data, bytes) or not isinstance(stored_hash, str):
        raise IntegrityError("stored entry has the wrong column types")
    if sha256_hex(data) != stored_hash:
        # Compared on the stored bytes themselves, not on a re-encoding of what they parse
        # to: a field dropped in favour of its default would otherwise go unnoticed.
        raise IntegrityError("hash does not match the entry's content")
    value = parse_json(data)
    if not isinstance(value, dict) or "hash" in value:
        raise IntegrityError("stored entry is not an entry without its hash")
    entry, canonical = JournalEntry.from_json_canonical({**value, "hash": stored_hash})
    # The entry's own canonical encoding (the one its hash was checked over) must be the
    # stored bytes: what parse_canonical insists on, without encoding the row a second time.
    if canonical != data:
        raise CanonicalJSONError("JSON is valid but not in canonical form")
    return entry


def _signature_ok(public_key: Ed25519PublicKey, device_id: str, seq: int, entry_hash: str, signature: object) -> bool:
    if not isinstance(signature, str):
        return False
    try:
        raw = decode_b64(signature, "signature")
    except ValidationError:
        return False
    if encode_b64(raw) != signature:
        # base64 decoding skips stray characters and unused bits: insist on the one spelling.
        return False
    try:
        public_key.verify(raw, head_message(device_id, seq, entry_hash))
    except InvalidSignature:
        return False
    return True


def _row_problems(
    row: Any, device_id: str, expected_seq: int, expected_prev: str, public_key: Ed25519PublicKey,
) -> tuple[list[str], bool]:
    """Everything wrong with one stored row, without stopping at the first; and whether its signature holds."""
    where = f"seq {row.seq}"
    try:
        entry = _row_entry(row.data, row.hash)
    except Exception as exc:  # any failure to rebuild a stored entry is a finding, never a crash of the checker
        message = exc.message if isinstance(exc, CafeError) else f"{type(exc).__name__}: {exc}"
        return [f"{where}: {message}"], False
    problems: list[str] = []
    if entry.seq != expected_seq:
        problems.append(f"{where}: seq {entry.seq} where {expected_seq} was expected")
    if entry.prev_hash != expected_prev:
        problems.append(f"{where}: prev_hash does not link to the entry before")
    if entry.device_id != device_id:
        problems.append(f"{where}: entry belongs to device {entry.device_id}")
    if type(row.seq) is not int or entry.seq != row.seq or entry.id != row.id or entry.kind != row.kind:
        problems.append(f"{where}: indexed columns disagree with the entry")
    signature_ok = _signature_ok(public_key, device_id, entry.seq, entry.hash, row.head_sig)
    if not signature_ok:
        problems.append(f"{where}: signature does not verify")
    return problems, signature_ok

"""Encrypted backups of central's database, restore into an empty database, and verification.

* PostgreSQL is dumped with ``pg_dump --format=custom`` (one consistent snapshot of the
  live database), SQLite with the online backup API; both are read while central serves.
* The dump is encrypted with AES-256-GCM in 1 MiB chunks (a STREAM-like construction:
  nonce = random prefix + chunk counter, each chunk authenticated with the header hash,
  its index and a "last chunk" flag, so truncating, reordering or splicing chunks fails).
* The key is ``backup.key`` in central's data directory (0600), never written next to the
  backups: a stolen backup disk is useless without it, and losing the key loses the
  backups — keep a copy offline (docs/operations.md).
* Each backup has a manifest (``<file>.manifest.json``: created_at, database kind,
  schema head, sizes, SHA-256 of the encrypted file and of the plain dump, key id).
* Retention keeps the newest backup of each of the last 7 days and of the last 4 weeks.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from central_server.db import make_engine, normalise_url
from central_server.tables import backups as backups_table
from shared import __version__
from shared.errors import CafeError

KEY_FILENAME = "backup.key"
MAGIC = b"CAFEBAK1\n"
FORMAT = 1
CHUNK_BYTES = 1 << 20
MAX_HEADER_BYTES = 64 * 1024
MAX_CHUNKS = 1 << 31            # the counter is 4 bytes: 2 PiB per backup
SUFFIX = ".cbak"
MANIFEST_SUFFIX = ".manifest.json"
NAME_RE = re.compile(r"^cafe-central-(\d{8}T\d{6}Z)-[0-9a-f]{6}\.(sqlite|pgdump)\.cbak$")
PG_TOOL_TIMEOUT_S = 3600


class BackupError(CafeError):
    code = "backup_error"


@dataclass(frozen=True, slots=True)
class Manifest:
    format: int
    file: str
    created_at: str
    db_kind: str          # "sqlite" | "postgresql"
    schema_head: str
    app_version: str
    key_id: str           # which key encrypted it (the key itself is never stored here)
    plain_bytes: int
    encrypted_bytes: int
    sha256: str           # of the encrypted file: checkable without the key
    plain_sha256: str     # of the dump: checked after decryption

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any, where: Path) -> Manifest:
        try:
            return cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except (KeyError, TypeError) as exc:
            raise BackupError(f"{where}: not a cafesuite backup manifest ({exc})") from exc


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    manifest_path: Path
    manifest: Manifest


# -- the key -------------------------------------------------------------------------------


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_FILENAME


def load_or_create_key(data_dir: Path) -> bytes:
    path = key_path(data_dir)
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{KEY_FILENAME}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64encode(secrets.token_bytes(32)) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # another instance may have made one first: keep theirs
        tmp.unlink()
    return read_key(path)


def read_key(path: Path) -> bytes:
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except FileNotFoundError as exc:
        raise BackupError(f"backup key {path} not found (pass --key with the key file kept apart from the backups)") from exc
    except ValueError as exc:
        raise BackupError(f"backup key {path} is damaged (not base64)") from exc
    if len(key) != 32:
        raise BackupError(f"backup key {path} is damaged ({len(key)} bytes, expected 32)")
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"cafesuite-backup-key:" + key).hexdigest()[:16]


# -- encryption (streamed, chunked AES-GCM) -----------------------------------------------


def _aad(header_digest: bytes, index: int, final: bool) -> bytes:
    return header_digest + struct.pack(">QB", index, 1 if final else 0)


def encrypt_stream(key: bytes, header: dict[str, Any], source: BinaryIO, out: BinaryIO) -> None:
    prefix = secrets.token_bytes(8)
    header = {**header, "nonce_prefix": base64.b64encode(prefix).decode()}
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(header_bytes).digest()
    out.write(MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes)
    aead = AESGCM(key)
    chunk = source.read(CHUNK_BYTES)
    for index in range(MAX_CHUNKS):
        following = source.read(CHUNK_BYTES) if chunk else b""
        final = not following
        sealed = aead.encrypt(prefix + struct.pack(">I", index), chunk, _aad(digest, index, final))
        out.write(struct.pack(">I", len(sealed)) + sealed)
        if final:
            return
        chunk = following
    raise BackupError("backup too large for one file")


def read_header(source: BinaryIO, where: Path) -> tuple[dict[str, Any], bytes]:
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupError(f"{where} is not a cafesuite backup")
    (length,) = struct.unpack(">I", _exactly(source, 4, where))
    if length > MAX_HEADER_BYTES:
        raise BackupError(f"{where}: damaged header")
    raw = _exactly(source, length, where)
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise BackupError(f"{where}: damaged header") from exc
    return header, hashlib.sha256(raw).digest()


def decrypt_stream(key: bytes, source: io.BufferedReader, out: BinaryIO, where: Path) -> dict[str, Any]:
    header, digest = read_header(source, where)
    if header.get("key_id") != key_id(key):
        raise BackupError(f"{where} was encrypted with key {header.get('key_id')}, not with this key ({key_id(key)})")
    prefix = base64.b64decode(header["nonce_prefix"])
    aead = AESGCM(key)
    for index in range(MAX_CHUNKS):
        (length,) = struct.unpack(">I", _exactly(source, 4, where))
        sealed = _exactly(source, length, where)
        final = source.peek(1)[:1] == b""  # the last chunk was sealed as the last: truncation fails to authenticate
        try:
            out.write(aead.decrypt(prefix + struct.pack(">I", index), sealed, _aad(digest, index, final)))
        except InvalidTag as exc:
            raise BackupError(f"{where}: chunk {index} does not authenticate (damaged or truncated backup)") from exc
        if final:
            return header
    raise BackupError(f"{where}: too many chunks")


def _exactly(source: BinaryIO, count: int, where: Path) -> bytes:
    data = source.read(count)
    if len(data) != count:
        raise BackupError(f"{where} is truncated")
    return data


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


# -- dumping and loading the database -----------------------------------------------------


def db_kind(url: str) -> str:
    return "postgresql" if make_url(normalise_url(url)).get_backend_name() == "postgresql" else "sqlite"


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password (which goes in PGPASSWORD, never on a command line)."""
    parsed: URL = make_url(normalise_url(url))
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    conninfo = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return conninfo, env


def _run_tool(command: list[str], env: dict[str, str], what: str) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (the PostgreSQL client tools are needed to {what})")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PG_TOOL_TIMEOUT_S, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise BackupError(f"{command[0]} failed to {what}: {reason}")


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url}: only a SQLite file can be backed up or restored")
    return Path(database)


def dump(url: str, out: Path) -> None:
    if db_kind(url) == "postgresql":
        conninfo, env = _libpq(url)
        _run_tool(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(out), "--dbname", conninfo],
                  env, "dump the database")
        return
    source = sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True)
    target = sqlite3.connect(out)
    try:
        source.backup(target)  # the online backup API: a consistent copy while central writes
    finally:
        target.close()
        source.close()


def table_count(url: str) -> int:
    """How many tables the database holds (0: empty, may be restored into)."""
    if db_kind(url) == "sqlite" and not _sqlite_path(url).exists():
        return 0
    engine = make_engine(url)
    try:
        return len(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def load(dump_path: Path, kind: str, url: str) -> None:
    if db_kind(url) != kind:
        raise BackupError(f"this is a {kind} backup; restore it into a {kind} database, not {db_kind(url)}")
    if kind == "postgresql":
        conninfo, env = _libpq(url)
        _run_tool(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                   "--dbname", conninfo, str(dump_path)], env, "restore the database")
        return
    target_path = _sqlite_path(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{dump_path}?mode=ro", uri=True)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


# -- backup, restore, verify --------------------------------------------------------------


def _new_name(kind: str, now: datetime) -> str:
    short = "pgdump" if kind == "postgresql" else "sqlite"
    return f"cafe-central-{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}.{short}{SUFFIX}"


def check_key_apart(data_dir: Path, to_dir: Path) -> None:
    key_dir, target = data_dir.resolve(), to_dir.resolve()
    if target == key_dir or key_dir.is_relative_to(target):
        raise BackupError(f"backups must not be written where the backup key lives ({key_path(data_dir)}): choose another --to")


def backup(engine: Engine, data_dir: Path, to_dir: Path, *, now: datetime | None = None) -> BackupResult:
    """Dump, encrypt and record one backup of the database behind ``engine``."""
    from central_server.migrate import current_revision

    check_key_apart(data_dir, to_dir)
    key = load_or_create_key(data_dir)
    url = engine.url.render_as_string(hide_password=False)
    kind = db_kind(url)
    now = now or datetime.now(UTC)
    created_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    schema_head = current_revision(engine) or "empty"
    to_dir.mkdir(parents=True, exist_ok=True)
    name = _new_name(kind, now)
    final = to_dir / name
    with tempfile.TemporaryDirectory(prefix="cafe-backup-") as scratch:
        plain = Path(scratch) / "dump"
        dump(url, plain)
        plain_sha256, plain_bytes = _sha256_file(plain), plain.stat().st_size
        header = {"format": FORMAT, "created_at": created_at, "db_kind": kind, "schema_head": schema_head, "key_id": key_id(key)}
        partial = to_dir / f".{name}.partial"
        with plain.open("rb") as source, partial.open("wb") as out:
            encrypt_stream(key, header, source, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)
    manifest = Manifest(FORMAT, name, created_at, kind, schema_head, __version__, key_id(key), plain_bytes,
                        final.stat().st_size, _sha256_file(final), plain_sha256)
    manifest_path = final.with_name(name + MANIFEST_SUFFIX)
    _write_atomic(manifest_path, json.dumps(manifest.to_json(), indent=2, sort_keys=True).encode() + b"\n")
    with engine.begin() as conn:
        conn.execute(sa.insert(backups_table).values(
            created_at=created_at, file_name=name, db_kind=kind, schema_head=schema_head,
            plain_bytes=plain_bytes, encrypted_bytes=manifest.encrypted_bytes, sha256=manifest.sha256))
    return BackupResult(final, manifest_path, manifest)


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def read_manifest(backup_file: Path) -> Manifest:
    path = backup_file.with_name(backup_file.name + MANIFEST_SUFFIX)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"manifest {path} not found next to the backup") from exc
    except ValueError as exc:
        raise BackupError(f"manifest {path} is not valid JSON") from exc
    return Manifest.from_json(data, path)


@contextlib.contextmanager
def decrypted(backup_file: Path, key: bytes) -> Iterator[tuple[Manifest, Path]]:
    """Check the checksums and decrypt into a private temporary file; yields (manifest, dump path)."""
    if not backup_file.is_file():
        raise BackupError(f"backup {backup_file} not found")
    manifest = read_manifest(backup_file)
    if _sha256_file(backup_file) != manifest.sha256:
        raise BackupError(f"{backup_file}: checksum does not match its manifest (damaged or replaced file)")
    with tempfile.TemporaryDirectory(prefix="cafe-restore-") as scratch:
        plain = Path(scratch) / "dump"
        with backup_file.open("rb") as raw, plain.open("wb") as out:
            header = decrypt_stream(key, raw, out, backup_file)
        if _sha256_file(plain) != manifest.plain_sha256:
            raise BackupError(f"{backup_file}: the decrypted dump does not match its manifest checksum")
        if (header.get("db_kind"), header.get("schema_head")) != (manifest.db_kind, manifest.schema_head):
            raise BackupError(f"{backup_file}: manifest and encrypted header disagree")
        yield manifest, plain


def restore(backup_file: Path, key: bytes, url: str) -> Manifest:
    """Restore into an empty database only: a restore never overwrites data."""
    tables = table_count(url)
    if tables:
        raise BackupError(f"database {make_url(url).render_as_string(hide_password=True)} is not empty ({tables} tables); "
                          "restore only into an empty database")
    with decrypted(backup_file, key) as (manifest, plain):
        load(plain, manifest.db_kind, url)
    return manifest


@dataclass(frozen=True, slots=True)
class VerifyOutcome:
    manifest: Manifest
    ok: bool
    summary: str
    entries: int
    transactions: int


def verify_backup(backup_file: Path, key: bytes, pg_server_url: str | None) -> VerifyOutcome:
    """Restore into a scratch database and run ``cafe central verify`` on it; the scratch is removed."""
    from central_server.audit.service import verify
    from central_server.db import scratch_database

    manifest = read_manifest(backup_file)
    with contextlib.ExitStack() as stack:
        if manifest.db_kind == "postgresql":
            if pg_server_url is None or db_kind(pg_server_url) != "postgresql":
                raise BackupError("a PostgreSQL backup is verified on a PostgreSQL server: pass --db postgresql://…")
            server = make_url(normalise_url(pg_server_url)).set(drivername="postgresql").render_as_string(hide_password=False)
            url = stack.enter_context(scratch_database(server, "cafe_verify"))
        else:
            url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory(prefix='cafe-verify-'))}/verify.db"
        restore(backup_file, key, url)
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                report = verify(conn)
                entries = int(conn.execute(sa.text("SELECT count(*) FROM journal_entries")).scalar_one())
                transactions = int(conn.execute(sa.text("SELECT count(*) FROM ledger_transactions")).scalar_one())
        finally:
            engine.dispose()
    return VerifyOutcome(manifest, report.ok, report.summary(), entries, transactions)


# -- retention ------------------------------------------------------------------------------


def backup_time(name: str) -> datetime | None:
    match = NAME_RE.match(name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def to_keep(times: Iterable[tuple[str, datetime]], now: datetime, daily: int = 7, weekly: int = 4) -> set[str]:
    """Names to keep (pure): every backup of the last 24 hours (a manual one before a risky change
    survives the nightly run), and the newest backup of each of the newest ``daily`` days and
    ``weekly`` ISO weeks."""
    newest_first = sorted(times, key=lambda item: item[1], reverse=True)
    keep = {name for name, when in newest_first if now - when < timedelta(hours=24)}
    days: set[Any] = set()
    weeks: set[Any] = set()
    for name, when in newest_first:
        day, week = when.date(), when.isocalendar()[:2]
        if day not in days and len(days) < daily:
            days.add(day)
            keep.add(name)
        if week not in weeks and len(weeks) < weekly:
            weeks.add(week)
            keep.add(name)
    return keep


def apply_retention(backup_dir: Path, daily: int = 7, weekly: int = 4, now: datetime | None = None) -> list[Path]:
    """Delete the backups (and manifests) the policy no longer keeps; files it did not make stay."""
    found = [(path.name, when) for path in backup_dir.glob(f"*{SUFFIX}") if (when := backup_time(path.name)) is not None]
    keep = to_keep(found, now or datetime.now(UTC), daily, weekly)
    removed: list[Path] = []
    for name, _when in found:
        if name in keep:
            continue
        for path in (backup_dir / name, backup_dir / (name + MANIFEST_SUFFIX)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed

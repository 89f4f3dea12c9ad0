"""Encryption at rest for what central must store but not show: player personal data,
payment provider credentials (DESIGN §7).

AES-256-GCM under data keys kept in ``data_keys.json`` in central's data directory
(mode 0600), never in the database, so a stolen database dump reveals nothing. Each
sealed value names the key that sealed it, so keys can be rotated: ``rotate`` adds a
new current key, old values stay readable, and ``reseal`` moves a value to the current
key. Exact-match search works without decrypting every row through ``blind_index``: an
HMAC of the normalised value under a separate index key (per purpose), stored beside
the sealed value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.errors import CafeError

DATA_KEYS_FILE = "data_keys.json"
_PREFIX = "v1"


class SealingError(CafeError):
    code = "sealing"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class DataKeys:
    current: str
    keys: dict[str, bytes]
    index_key: bytes
    path: Path | None = None

    @classmethod
    def generate(cls, path: Path | None = None) -> DataKeys:
        return cls(current="k1", keys={"k1": AESGCM.generate_key(bit_length=256)}, index_key=secrets.token_bytes(32), path=path)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> DataKeys:
        path = Path(data_dir) / DATA_KEYS_FILE
        if not path.exists():
            keys = cls.generate(path)
            keys.save()
            return keys
        return cls.load(data_dir)

    @classmethod
    def load(cls, data_dir: Path) -> DataKeys:
        """The existing key file; never a new one (a fresh key could not open what the database holds)."""
        path = Path(data_dir) / DATA_KEYS_FILE
        if not path.exists():
            raise SealingError(f"no data key file {path}: is --data-dir central's data directory?")
        try:
            doc = json.loads(path.read_text())
            by_id = {kid: _unb64(value) for kid, value in doc["keys"].items()}
            loaded = cls(current=doc["current"], keys=by_id, index_key=_unb64(doc["index_key"]), path=path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SealingError(f"{path} is not a readable data key file: {exc}") from exc
        if loaded.current not in loaded.keys or any(len(k) != 32 for k in loaded.keys.values()):
            raise SealingError(f"{path}: the current key is missing or a key is not 256 bits")
        return loaded

    def save(self) -> None:
        assert self.path is not None, "these keys have no file"
        doc = {"current": self.current, "keys": {k: _b64(v) for k, v in self.keys.items()}, "index_key": _b64(self.index_key)}
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(doc, indent=2))
        os.replace(tmp, self.path)

    def rotate(self) -> DataKeys:
        """A new current key; the old ones stay to open what they sealed. Saved when the keys have a file."""
        kid = f"k{max(int(k[1:]) for k in self.keys) + 1}"
        rotated = DataKeys(current=kid, keys={**self.keys, kid: AESGCM.generate_key(bit_length=256)},
                           index_key=self.index_key, path=self.path)
        if rotated.path is not None:
            rotated.save()
        return rotated

    def retire_old(self) -> DataKeys:
        """Only the current key (once nothing is sealed under the others). Saved when the keys have a file."""
        retired = DataKeys(current=self.current, keys={self.current: self.keys[self.current]},
                           index_key=self.index_key, path=self.path)
        if retired.path is not None:
            retired.save()
        return retired

    def current_prefix(self) -> str:
        """How every value sealed under the current key starts (to find the others in SQL)."""
        return f"{_PREFIX}:{self.current}:"

    def seal(self, plaintext: str, *, context: str) -> str:
        """Encrypt ``plaintext``; ``context`` (e.g. ``player:<id>:phone``) is bound as associated data,
        so a sealed value copied into another row or field does not open."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_PREFIX}:{self.current}:{_b64(nonce)}:{_b64(sealed)}"

    def open(self, token: str, *, context: str) -> str:
        try:
            prefix, kid, nonce, sealed = token.split(":")
        except ValueError as exc:
            raise SealingError("not a sealed value") from exc
        if prefix != _PREFIX or kid not in self.keys:
            raise SealingError(f"sealed with an unknown key {kid!r}")
        try:
            return AESGCM(self.keys[kid]).decrypt(_unb64(nonce), _unb64(sealed), context.encode()).decode()
        except InvalidTag as exc:
            raise SealingError("sealed value does not open: tampered, or sealed for another field") from exc

    def key_id(self, token: str) -> str:
        return token.split(":")[1]

    def reseal(self, token: str, *, context: str) -> str:
        """The same value under the current key (for rotation)."""
        return token if self.key_id(token) == self.current else self.seal(self.open(token, context=context), context=context)

    def blind_index(self, value: str, *, purpose: str) -> str:
        """A keyed hash of a normalised value for exact-match search (phone, name) without decryption."""
        normalised = " ".join(value.casefold().split())
        return hmac.new(self.index_key, f"{purpose}\x00{normalised}".encode(), hashlib.sha256).hexdigest()


# -- rotation over the database (``cafe central rotate-data-key``) ------------------------------
#
# Generic over the tables that hold sealed values, so the areas keep their own code: each
# ``SealedColumns`` names a table, its key, its sealed columns and the context each value was
# sealed with. Each batch is one transaction; a row's update is guarded by its old values, so a
# value changed meanwhile is left to the final count rather than overwritten.

ROTATION_BATCH_ROWS = 500
MAX_ROTATION_BATCHES = 1_000_000  # a bound on the loop: 500 million rows per table


@dataclass(frozen=True)
class SealedColumns:
    label: str                          # "player fields", in the progress lines
    table: sa.Table
    key: str                            # the primary key column
    columns: tuple[str, ...]            # sealed columns of one row, resealed together
    context: Callable[[Any, str], str]  # (row key, column) → the associated data the value is bound to
    key_id_column: str | None = None    # a column naming the row's key, kept in step


def sealed_columns() -> tuple[SealedColumns, ...]:
    """Every place central stores a value sealed with DataKeys (grep ``.seal(`` when adding one)."""
    from central_server.console.service import totp_context
    from central_server.payments.service import credentials_context
    from central_server.players.service import SEALED_FIELDS, sealed_context
    from central_server.tables import admin_users, payment_accounts, player_profiles

    return (
        SealedColumns("player fields", player_profiles, "player_id", tuple(f"{name}_ct" for name in SEALED_FIELDS),
                      lambda player_id, column: sealed_context(str(player_id), column.removesuffix("_ct")), "key_id"),
        SealedColumns("TOTP secrets", admin_users, "id", ("totp_secret_sealed",),
                      lambda user_id, _column: totp_context(int(user_id))),
        SealedColumns("payment credentials", payment_accounts, "id", ("sealed_credentials",),
                      lambda account_id, _column: credentials_context(str(account_id))),
    )


def _not_current(spec: SealedColumns, keys: DataKeys, column: str) -> sa.ColumnElement[bool]:
    col = spec.table.c[column]
    return sa.and_(col.is_not(None), sa.not_(col.startswith(keys.current_prefix(), autoescape=True)))


def count_not_current(conn: sa.Connection, spec: SealedColumns, keys: DataKeys) -> int:
    """How many values of these columns are sealed under another key than the current one."""
    total = 0
    for column in spec.columns:
        total += int(conn.execute(sa.select(sa.func.count()).select_from(spec.table)
                                  .where(_not_current(spec, keys, column))).scalar_one())
    return total


def reseal_batch(conn: sa.Connection, spec: SealedColumns, keys: DataKeys, *, after: Any, limit: int) -> tuple[int, Any, int]:
    """Reseal up to ``limit`` rows with a key above ``after``: (values resealed, last key seen, rows read)."""
    key_col = spec.table.c[spec.key]
    stmt = (sa.select(key_col, *[spec.table.c[c] for c in spec.columns])
            .where(sa.or_(*[_not_current(spec, keys, c) for c in spec.columns])).order_by(key_col).limit(limit))
    if after is not None:
        stmt = stmt.where(key_col > after)
    rows = conn.execute(stmt).all()
    resealed = 0
    for row in rows:
        key = row[0]
        old = dict(zip(spec.columns, row[1:], strict=True))
        new: dict[str, Any] = {}
        for column, token in old.items():
            if token is None or token.startswith(keys.current_prefix()):
                continue
            try:
                new[column] = keys.reseal(token, context=spec.context(key, column))
            except SealingError as exc:
                raise SealingError(f"{spec.table.name} {spec.key}={key} {column}: {exc.message}") from exc
        if spec.key_id_column is not None:
            new[spec.key_id_column] = keys.current
        guard = [key_col == key] + [spec.table.c[c].is_(None) if v is None else spec.table.c[c] == v for c, v in old.items()]
        if conn.execute(sa.update(spec.table).where(*guard).values(**new)).rowcount == 1:
            resealed += len(new) - (spec.key_id_column is not None)
    return resealed, (rows[-1][0] if rows else after), len(rows)


@dataclass(frozen=True)
class RotationResult:
    current: str
    resealed: dict[str, int]  # label → values resealed by this run
    remaining: int            # values still under an old key
    retired: tuple[str, ...]  # keys removed from the key file
    finished: bool


def begin_rotation(keys: DataKeys) -> tuple[DataKeys, bool]:
    """A new current key (saved first, so a value is never sealed under a key the file lacks), unless
    an earlier rotation is unfinished (old keys still in the file): then that one is resumed. True when new."""
    if len(keys.keys) > 1:
        return keys, False
    return keys.rotate(), True


def reseal_database(engine: sa.Engine, keys: DataKeys, *, batch_rows: int = ROTATION_BATCH_ROWS,
                    max_batches: int = MAX_ROTATION_BATCHES, say: Callable[[str], None] = print) -> RotationResult:
    """Move every sealed value to the current key, batch by batch; then retire the old keys if nothing
    references them. Safe to run again after an interruption: values already under the current key
    are skipped. ``max_batches`` stops early (an interruption, for tests)."""
    assert batch_rows > 0 and max_batches >= 0
    resealed: dict[str, int] = {}
    batches = 0
    for spec in sealed_columns():
        with engine.connect() as conn:
            total = count_not_current(conn, spec, keys)
        done, after = 0, None
        resealed[spec.label] = 0
        while total and batches < max_batches:
            with engine.begin() as conn:  # one transaction per batch: a kill loses at most one batch
                count, after, rows = reseal_batch(conn, spec, keys, after=after, limit=batch_rows)
            batches += 1
            done += count
            resealed[spec.label] = done
            say(f"resealed {done:,}/{total:,} {spec.label}…")
            if rows < batch_rows:
                break
    with engine.connect() as conn:
        remaining = sum(count_not_current(conn, spec, keys) for spec in sealed_columns())
    old = tuple(sorted(k for k in keys.keys if k != keys.current))
    if remaining:
        return RotationResult(keys.current, resealed, remaining, (), False)
    if old:
        keys.retire_old()
    return RotationResult(keys.current, resealed, 0, old, True)

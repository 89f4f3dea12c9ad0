"""The device's cache of pulled documents (config, game catalog…), in its encrypted journal file.

DESIGN §4–5: the apps read only this cache, so they keep working offline with the last
state central sent. It lives in the same SQLCipher database as the journal (same key,
same WAL and ``synchronous=FULL``), but in an ordinary table that a newer pull replaces:
the append-only rules are for facts, and a cached document is not one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from shared.canonical import canonical_json, parse_json
from shared.entry import utc_timestamp
from shared.errors import ValidationError
from sync.journal import Journal

MAX_NAME_CHARS = 64

_CACHE_TABLE = (
    "CREATE TABLE IF NOT EXISTS cache ("
    " name TEXT PRIMARY KEY,"
    " etag TEXT NOT NULL,"
    " body BLOB NOT NULL,"  # canonical JSON
    " fetched_at TEXT NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class CachedDoc:
    name: str
    etag: str
    body: dict[str, Any]
    fetched_at: str  # UTC timestamp of the last time central sent or confirmed it


class DeviceCache:
    """Named documents with their ETag; one row per name, replaced by each newer pull."""

    def __init__(self, journal: Journal):
        self._journal = journal
        # IF NOT EXISTS: journals made before the cache existed get the table the first time
        # the device opens them; a new journal gets it here too.
        with journal.local_write() as conn:
            conn.exec_driver_sql(_CACHE_TABLE)

    def get(self, name: str) -> CachedDoc | None:
        with self._journal.local_read() as conn:
            row = conn.execute(text("SELECT name, etag, body, fetched_at FROM cache WHERE name = :n"), {"n": name}).first()
        if row is None:
            return None
        body = parse_json(row.body)
        if not isinstance(body, dict):
            raise ValidationError(f"cached {name!r} is not a JSON object")
        return CachedDoc(row.name, row.etag, body, row.fetched_at)

    def put(self, name: str, etag: str, body: dict[str, Any]) -> CachedDoc:
        """Store (or replace) a document central sent."""
        _check_name(name)
        if not etag:
            raise ValidationError(f"cached {name!r} needs an ETag")
        if not isinstance(body, dict):
            raise ValidationError(f"cached {name!r} must be a JSON object")
        doc = CachedDoc(name, etag, body, utc_timestamp())
        with self._journal.local_write() as conn:
            conn.execute(
                text("INSERT INTO cache (name, etag, body, fetched_at) VALUES (:n, :e, :b, :t) "
                     "ON CONFLICT (name) DO UPDATE SET etag = excluded.etag, body = excluded.body, fetched_at = excluded.fetched_at"),
                {"n": name, "e": etag, "b": canonical_json(body), "t": doc.fetched_at},
            )
        return doc

    def touch(self, name: str, etag: str) -> bool:
        """Central confirmed the cached copy is current (a 304): note when; False if it is not cached."""
        with self._journal.local_write() as conn:
            result = conn.execute(text("UPDATE cache SET fetched_at = :t WHERE name = :n AND etag = :e"),
                                  {"t": utc_timestamp(), "n": name, "e": etag})
        return result.rowcount == 1

    def names(self) -> list[str]:
        with self._journal.local_read() as conn:
            return [str(r[0]) for r in conn.execute(text("SELECT name FROM cache ORDER BY name")).all()]


def _check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME_CHARS or not name.isascii() or not name.isprintable():
        raise ValidationError(f"a cache name is 1–{MAX_NAME_CHARS} printable ASCII characters, got {name!r}")

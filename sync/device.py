"""One enrolled device opened from its data folder: identity, journal, signed client, sync engine.

The POS, the kiosk and the simulator's harnesses all open a device this way, so there
is one place that knows how the pieces fit. ``record`` is the only way an app writes a
fact: it appends durably to the journal, then nudges the sync engine (which pushes off
the caller's thread), and returns the entry once it is on disk.

Pulls go the other way: ``pull_config``/``pull_document`` fetch a document with the
cached ETag (an unchanged one is a 304 with no body) and keep it in the encrypted cache;
the apps read ``config()`` and never wait for the network to show a screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.bodies import Body
from shared.canonical import canonical_json, sha256_hex
from shared.device_config import DeviceConfig
from shared.entry import JournalEntry
from shared.errors import ValidationError
from shared.ledger import Posting
from shared.protocol import DEVICE_CONFIG_PATH
from sync.cache import CachedDoc, DeviceCache
from sync.central_client import CentralClient, Offline
from sync.engine import SyncEngine
from sync.enrollment import DeviceIdentity, client_for
from sync.journal import Journal
from sync.keystore import KeyStore
from sync.status import SyncStatus

CONFIG_DOC = "device_config"
Check = Callable[[dict[str, Any], str | None], str]
"""Validates a pulled body and returns the ETag to store it under (or raises ValidationError)."""


@dataclass
class Device:
    data_dir: Path
    identity: DeviceIdentity
    keystore: KeyStore
    journal: Journal
    client: CentralClient
    engine: SyncEngine
    cache: DeviceCache
    _closed: bool = field(default=False, repr=False)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        on_status: Callable[[SyncStatus], None] | None = None,
        client_kwargs: dict[str, Any] | None = None,
        engine_kwargs: dict[str, Any] | None = None,
    ) -> Device:
        """Open an enrolled device (``sync.enrollment.enroll`` made it); nothing is started yet."""
        data_dir = Path(data_dir)
        identity = DeviceIdentity.load(data_dir)
        keystore = KeyStore(data_dir)
        journal = Journal.open(data_dir, keystore)
        client = client_for(data_dir, keystore, **(client_kwargs or {}))
        engine = SyncEngine(journal, client, keystore.device_key(), on_status=on_status, **(engine_kwargs or {}))
        device = cls(data_dir, identity, keystore, journal, client, engine, DeviceCache(journal))
        engine.add_pull(device.pull_config)
        return device

    @property
    def device_id(self) -> str:
        return self.identity.device_id

    @property
    def location_id(self) -> str:
        return self.identity.location_id

    def start(self) -> None:
        """Start background sync: a push now, then on the interval and after each write; heartbeats."""
        self.engine.start()

    def record(
        self, body: Body, *, actor: str, postings: Iterable[Posting] | None = None, entry_id: str | None = None,
    ) -> JournalEntry:
        """Journal one fact durably, then ask sync to push it (never waits for the network)."""
        entry = self.journal.append(body, actor=actor, postings=postings, entry_id=entry_id)
        self.engine.nudge()
        return entry

    # -- pulls ------------------------------------------------------------------------

    def config(self) -> DeviceConfig | None:
        """The location's config as last pulled (limits, staff PIN hashes…); None before the first pull."""
        doc = self.cache.get(CONFIG_DOC)
        return None if doc is None else DeviceConfig.from_json(doc.body)

    def pull_config(self) -> bool:
        """Fetch the config if it changed (network: call off the GUI thread); False when central is unreachable."""
        return self.pull_document(CONFIG_DOC, DEVICE_CONFIG_PATH, check=_check_config)

    def pull_document(self, name: str, path: str, *, check: Check | None = None) -> bool:
        """Refresh cached document ``name`` from ``path`` with If-None-Match; the cache is kept on failure.

        True when central answered (a new document stored, or a 304 confirming ours);
        False when it could not be reached. A refusal (revoked device…) raises
        ``CentralRefused`` and a body that fails ``check`` raises ``ValidationError``;
        neither touches the cached copy.
        """
        cached: CachedDoc | None = self.cache.get(name)
        try:
            fetched = self.client.fetch(path, cached.etag if cached else None)
        except Offline:
            return False
        if fetched.body is None:
            if cached is not None:
                self.cache.touch(name, cached.etag)
            return True
        if not isinstance(fetched.body, dict):
            raise ValidationError(f"central sent {path} something other than a JSON object")
        etag = check(fetched.body, fetched.etag) if check else (fetched.etag or "")
        if not etag:
            raise ValidationError(f"central sent {path} without an ETag")
        self.cache.put(name, etag, fetched.body)
        return True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.engine.stop()
        self.client.close()
        self.journal.close()


def _check_config(body: dict[str, Any], etag: str | None) -> str:
    """A config must parse, and its ETag is the hash of its content: a mangled one is never cached.

    The hash is taken over the body as received, the bytes central hashed, not over our
    re-encoding of what we parsed from it.
    """
    tag = sha256_hex(canonical_json(body))
    if etag != tag:
        raise ValidationError(f"central's config does not match its ETag ({etag!r}, content hashes to {tag!r})")
    DeviceConfig.from_json(body)
    return tag

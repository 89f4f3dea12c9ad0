"""One enrolled device opened from its data folder: identity, journal, signed client, sync engine.

The POS, the kiosk and the simulator's harnesses all open a device this way, so there
is one place that knows how the pieces fit. ``record`` is the only way an app writes a
fact: it appends durably to the journal, then nudges the sync engine (which pushes off
the caller's thread), and returns the entry once it is on disk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.bodies import Body
from shared.entry import JournalEntry
from shared.ledger import Posting
from sync.central_client import CentralClient
from sync.engine import SyncEngine
from sync.enrollment import DeviceIdentity, client_for
from sync.journal import Journal
from sync.keystore import KeyStore
from sync.status import SyncStatus


@dataclass
class Device:
    data_dir: Path
    identity: DeviceIdentity
    keystore: KeyStore
    journal: Journal
    client: CentralClient
    engine: SyncEngine
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
        return cls(data_dir, identity, keystore, journal, client, engine)

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

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.engine.stop()
        self.client.close()
        self.journal.close()

"""A kiosk's block of dealt pool entries per session, kept in the encrypted cache (DESIGN §5–6).

A pool game plays entries central dealt to the session. So that play continues when the
network drops, the kiosk asks for a block ahead (``replenish``, online) and keeps it in
the device's encrypted cache; ``take`` hands out the next entry and forgets it *before*
returning, so no entry can be played twice even across a crash (an entry taken but never
journaled is simply never played: central's audit sees it dealt and unpaid).

A deal request's id is stored before it is sent: if the answer is lost, the next
``replenish`` repeats the same id and central returns the same entries instead of
dealing a second block.
"""

from __future__ import annotations

import threading
from typing import Any

from shared.canonical import canonical_json, sha256_hex
from shared.errors import CafeError, ValidationError
from shared.games.pool import PoolEntry
from shared.ids import new_id
from shared.protocol import POOL_DEAL_PATH
from sync.device import Device

DECK_DOC = "pools.deck"
DEFAULT_BLOCK = 20
MAX_BLOCK = 500
MAX_SESSIONS = 64
"""Blocks of sessions that ended without ``discard`` are dropped beyond this, lowest id first (UUIDv7 ids: oldest)."""


class PoolDeckEmpty(CafeError):
    """No dealt entry is left for this session and game; central must deal more (online)."""

    code = "pool_deck_empty"
    http_status = 409


class PoolDeck:
    """Dealt entries per (session, game), persisted in the device cache; safe to share between threads."""

    def __init__(self, device: Device, *, block_size: int = DEFAULT_BLOCK, low_water: int = 5):
        if not 1 <= block_size <= MAX_BLOCK or not 0 <= low_water < block_size:
            raise ValidationError(f"block_size must be 1-{MAX_BLOCK} and low_water below it")
        self._device = device
        self.block_size = block_size
        self.low_water = low_water
        self._lock = threading.Lock()

    # -- local (works offline) ---------------------------------------------------------------

    def take(self, session_id: str, game_id: str) -> PoolEntry:
        """The next dealt entry of this session's block, removed from the deck before it is returned."""
        with self._lock:
            deck = self._load()
            block = deck["sessions"].get(session_id, {}).get(game_id)
            if not block or not block["entries"]:
                raise PoolDeckEmpty(f"no {game_id} entries are left for this session; central must deal more (needs a connection)")
            pool_id, index, prize = block["entries"].pop(0)
            self._save(deck)
        return PoolEntry(pool_id, index, prize)

    def remaining(self, session_id: str, game_id: str) -> int:
        block = self._load()["sessions"].get(session_id, {}).get(game_id)
        return len(block["entries"]) if block else 0

    def game_version(self, session_id: str, game_id: str) -> str | None:
        """The game version the block was dealt for (play its entries with that definition)."""
        block = self._load()["sessions"].get(session_id, {}).get(game_id)
        return block["game_version"] if block else None

    def needs_replenish(self, session_id: str, game_id: str) -> bool:
        return self.remaining(session_id, game_id) <= self.low_water

    def discard(self, session_id: str) -> None:
        """Forget a finished session's blocks (its unplayed entries are never played)."""
        with self._lock:
            deck = self._load()
            if deck["sessions"].pop(session_id, None) is not None:
                self._save(deck)

    # -- network -------------------------------------------------------------------------------

    def replenish(self, session_id: str, game_id: str, count: int | None = None) -> int:
        """Ask central to deal ``count`` (default: a block) more entries to the session; returns how many were added.

        Network: call it off the GUI thread. Raises ``Offline`` when central is unreachable
        (the pending request is kept and repeated next time) and ``CentralRefused`` when
        central says no.
        """
        with self._lock:
            deck = self._load()
            block = deck["sessions"].setdefault(session_id, {}).setdefault(
                game_id, {"game_version": None, "entries": [], "pending": None})
            if block["pending"] is None:
                block["pending"] = {"request_id": new_id(), "count": count or self.block_size}
                self._save(deck)  # before sending: a lost answer is retried with the same id
            pending = dict(block["pending"])
        answer = self._device.client.request("POST", POOL_DEAL_PATH, {
            "request_id": pending["request_id"], "session_id": session_id, "game_id": game_id, "count": pending["count"]})
        entries = _dealt_entries(answer, session_id, game_id)
        with self._lock:
            deck = self._load()
            block = deck["sessions"].setdefault(session_id, {}).setdefault(
                game_id, {"game_version": None, "entries": [], "pending": None})
            if block["pending"] is None or block["pending"]["request_id"] != pending["request_id"]:
                return 0  # another thread stored this answer already
            if block["game_version"] not in (None, answer["game_version"]):
                block["entries"] = []  # central moved to a new version: entries of the old one would not settle
            block["game_version"] = answer["game_version"]
            block["entries"] += entries
            block["pending"] = None
            self._save(deck)
        return len(entries)

    # -- storage -------------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        doc = self._device.cache.get(DECK_DOC)
        return {"sessions": {}} if doc is None else doc.body

    def _save(self, deck: dict[str, Any]) -> None:
        sessions = deck["sessions"]
        while len(sessions) > MAX_SESSIONS:
            sessions.pop(next(iter(sessions)))
        self._device.cache.put(DECK_DOC, sha256_hex(canonical_json(deck)), deck)


def _dealt_entries(answer: Any, session_id: str, game_id: str) -> list[list[Any]]:
    """``[[pool_id, index, prize_units], …]`` from central's deal answer, checked for shape and target."""
    if not isinstance(answer, dict) or answer.get("session_id") != session_id or answer.get("game_id") != game_id:
        raise ValidationError("central's deal answer is not for this session and game")
    if not isinstance(answer.get("game_version"), str) or not isinstance(answer.get("entries"), list):
        raise ValidationError("central's deal answer is malformed")
    entries = []
    for item in answer["entries"]:
        pool_id, index, prize = item.get("pool_id"), item.get("index"), item.get("prize_units")
        if not isinstance(pool_id, str) or not isinstance(index, int) or not isinstance(prize, int) or index < 0 or prize < 0:
            raise ValidationError("central's deal answer holds a malformed entry")
        entries.append([pool_id, index, prize])
    return entries

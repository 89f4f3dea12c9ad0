"""At rest the journal is ciphertext: no stored plaintext in the file or its WAL, and no way in without the key."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shared.bodies import Adjustment, Sale
from shared.signing import DeviceKey
from sync.journal import Journal, JournalError, journal_path
from sync.keystore import KeyStore, SecretMissing

PLAYER = "player-Zebulon-Quartermaine"
AMOUNT = 987654321
REASON = "Refund for Zebulon after a jammed bill acceptor"
# What must never appear on disk: names, amounts, and even the JSON field names.
NEEDLES = (PLAYER.encode(), b"Zebulon", str(AMOUNT).encode(), REASON.encode(), b"player_id", b"amount_units", b"cashier-sam")


def record(journal: Journal) -> None:
    journal.append(Sale(player_id=PLAYER, location_id="loc-main", pos_id="pos-1", shift_id="shift-1",
                        amount_units=AMOUNT, cash_units=AMOUNT, currency="USD"), actor="cashier-sam")
    lines = [{"account": f"wallet:{PLAYER}", "unit": "CR", "amount_units": 1500},
             {"account": "house:loc-main", "unit": "CR", "amount_units": -1500}]
    journal.append(Adjustment(approver="owner-ann", reason=REASON, lines=lines), actor="cashier-sam")


def leaked(path: Path) -> list[bytes]:
    raw = path.read_bytes()
    return [needle for needle in NEEDLES if needle in raw]


def test_the_search_finds_the_plaintext_in_an_unencrypted_journal(tmp_path: Path) -> None:
    """Control: the same writes without a key do leave every needle on disk, so the search below can fail."""
    path = tmp_path / "plain.db"
    with Journal._create_file(path, "pos-1", DeviceKey.generate(), None) as journal:
        record(journal)
        wal = Path(f"{path}-wal")
        assert wal.stat().st_size > 0
        assert leaked(wal) == list(NEEDLES)
    assert leaked(path) == list(NEEDLES)


def test_the_journal_file_and_its_wal_hold_no_plaintext(tmp_path: Path) -> None:
    data_dir = tmp_path / "pos"
    with Journal.create(data_dir, device_id="pos-1") as journal:
        record(journal)
        assert next(e.body.to_json().get("player_id") for e in journal.entries()) == PLAYER
        wal = Path(f"{journal_path(data_dir)}-wal")
        assert wal.stat().st_size > 0, "while open, the new entries sit in the WAL"
        assert leaked(wal) == []
        assert leaked(journal_path(data_dir)) == []
        shm = Path(f"{journal_path(data_dir)}-shm")
        assert not shm.exists() or leaked(shm) == []
    assert leaked(journal_path(data_dir)) == []  # after the checkpoint on close, too


def test_plain_sqlite_cannot_read_the_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "pos"
    with Journal.create(data_dir, device_id="pos-1") as journal:
        record(journal)
    conn = sqlite3.connect(journal_path(data_dir))
    try:
        with pytest.raises(sqlite3.DatabaseError, match="not a database"):
            conn.execute("SELECT * FROM entries").fetchall()
    finally:
        conn.close()


def test_another_key_is_one_clear_error(tmp_path: Path) -> None:
    Journal.create(tmp_path / "pos", device_id="pos-1").close()
    Journal.create(tmp_path / "kiosk", device_id="kiosk-1").close()
    with pytest.raises(JournalError, match="wrong key") as caught:
        Journal.open(tmp_path / "pos", keystore=KeyStore(tmp_path / "kiosk"))
    assert "\n" not in caught.value.message
    # The pos journal itself is untouched by the failed attempt.
    with Journal.open(tmp_path / "pos") as journal:
        assert journal.verify().ok


def test_a_missing_key_in_the_keyring_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "pos"
    Journal.create(data_dir, device_id="pos-1").close()
    monkeypatch.setenv("CAFE_KEYRING_FILE", str(tmp_path / "empty-keyring.cfg"))
    with pytest.raises(SecretMissing, match="has no journal key") as caught:
        Journal.open(data_dir)
    assert str(data_dir) in caught.value.message and "\n" not in caught.value.message

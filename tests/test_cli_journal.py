"""``cafe journal verify|export`` as an operator runs them: real processes, exit codes, one-line errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlcipher3

from shared.bodies import Redemption, Sale
from shared.canonical import canonical_json, parse_canonical
from shared.entry import JournalEntry
from sync.journal import Journal, journal_path
from sync.keystore import KeyStore

CAFE = [sys.executable, "-m", "cafe_cli"]


def cafe(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CAFE, *map(str, args)], capture_output=True, text=True, timeout=60, env=dict(os.environ))


def make_journal(data_dir: Path, count: int = 6) -> list[JournalEntry]:
    with Journal.create(data_dir, device_id="pos-1") as journal:
        entries = []
        for i in range(count):
            kind = Sale if i % 3 else Redemption
            entries.append(journal.append(kind(player_id="player-ada", location_id="loc-main", pos_id="pos-1", shift_id="s-1",
                                               amount_units=100 * (i + 1), cash_units=100 * (i + 1), currency="USD"),
                                          actor="cashier-sam"))
        journal.mark_acked(2)
    return entries


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cafe: ")
    return lines[0]


def test_verify_a_sound_journal_exits_0_with_a_summary(tmp_path: Path) -> None:
    entries = make_journal(tmp_path / "pos")
    for target in (tmp_path / "pos", journal_path(tmp_path / "pos")):
        result = cafe("journal", "verify", target)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert "entries   6 (seq 1..6), acknowledged by central through seq 2" in result.stdout
        assert f"head      {entries[-1].hash}" in result.stdout
        assert "integrity ok; cipher ok" in result.stdout
        assert result.stdout.rstrip().endswith("OK: every hash, link and the head signature hold")


def test_verify_a_tampered_journal_exits_1(tmp_path: Path) -> None:
    data_dir = tmp_path / "pos"
    make_journal(data_dir)
    conn = sqlcipher3.dbapi2.connect(str(journal_path(data_dir)), isolation_level=None)
    try:
        conn.execute(f"PRAGMA key = \"x'{KeyStore(data_dir).journal_key().hex()}'\"")
        conn.execute("DROP TRIGGER entries_no_update")
        # replace() yields TEXT; cast back so only the bytes change, not the column's type.
        conn.execute("UPDATE entries SET data = CAST(replace(data, '\"amount_units\":300', '\"amount_units\":900') AS BLOB) "
                     "WHERE seq = 3")
        assert conn.execute("SELECT changes()").fetchone()[0] == 1
    finally:
        conn.close()
    result = cafe("journal", "verify", data_dir)
    assert result.returncode == 1
    assert "PROBLEM   seq 3: hash does not match the entry's content" in result.stdout
    assert result.stdout.rstrip().endswith("FAILED")
    assert "FAILED verification" in assert_one_line_error(result)


def test_export_writes_canonical_lines_equal_to_the_entries(tmp_path: Path) -> None:
    make_journal(tmp_path / "pos")
    out = tmp_path / "audit" / "pos-1.jsonl"
    out.parent.mkdir()
    result = cafe("journal", "export", tmp_path / "pos", "--out", out)
    assert result.returncode == 0, result.stderr
    raw_lines = out.read_bytes().split(b"\n")
    assert raw_lines[-1] == b"", "every line ends with a newline"
    lines = raw_lines[:-1]
    for line in lines:
        assert canonical_json(parse_canonical(line)) == line
    exported = [JournalEntry.from_json(parse_canonical(line)) for line in lines]
    with Journal.open(tmp_path / "pos") as journal:
        assert exported == list(journal.entries())
    assert len(exported) == 6
    assert not list(out.parent.glob(".*.tmp")), "no temporary file is left behind"


def _missing_file(tmp_path: Path) -> Path:
    make_journal(tmp_path / "pos")
    return tmp_path / "nowhere" / "journal.db"


def _wrong_key(tmp_path: Path) -> Path:
    """Another device's journal file in this device's folder: this folder's key does not open it."""
    make_journal(tmp_path / "pos")
    Journal.create(tmp_path / "kiosk", device_id="kiosk-1").close()
    shutil.copyfile(journal_path(tmp_path / "pos"), journal_path(tmp_path / "kiosk"))
    return tmp_path / "kiosk"


def _corrupted_page(tmp_path: Path) -> Path:
    data_dir = tmp_path / "pos"
    with Journal.create(data_dir, device_id="pos-1") as journal:
        for i in range(400):  # enough entries for the file to have many pages
            journal.append(Sale(player_id="player-ada", location_id="loc-main", pos_id="pos-1", shift_id="s-1",
                                amount_units=100 + i, cash_units=100 + i, currency="USD"), actor="cashier-sam")
    path = journal_path(data_dir)
    size = path.stat().st_size
    assert size > 20 * 4096
    with path.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\xa5" * 64)
    return data_dir


def _no_key_in_keyring(tmp_path: Path) -> Path:
    make_journal(tmp_path / "pos")
    os.environ["CAFE_KEYRING_FILE"] = str(tmp_path / "empty-keyring.cfg")  # restored by the autouse fixture
    return tmp_path / "pos"


def _not_a_journal(tmp_path: Path) -> Path:
    (tmp_path / "pos").mkdir()
    journal_path(tmp_path / "pos").write_bytes(os.urandom(8192))
    KeyStore(tmp_path / "pos").create_journal_key()
    KeyStore(tmp_path / "pos").create_device_key()
    return tmp_path / "pos"


CASES = {
    "missing-file": (_missing_file, "no journal at"),
    "wrong-key": (_wrong_key, "wrong key"),
    "corrupted-page": (_corrupted_page, "damaged"),
    "no-key-in-keyring": (_no_key_in_keyring, "has no journal key"),
    "not-a-journal": (_not_a_journal, "wrong key"),
}


@pytest.mark.parametrize("action", ["verify", "export"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_journal_is_one_line_on_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, action: str) -> None:
    monkeypatch.setenv("CAFE_KEYRING_FILE", os.environ["CAFE_KEYRING_FILE"])  # undone after the test
    make, expected = CASES[case]
    target = make(tmp_path)
    extra = ["--out", str(tmp_path / "out.jsonl")] if action == "export" else []
    line = assert_one_line_error(cafe("journal", action, target, *extra))
    if case == "corrupted-page":
        # The file opens (page 1 is intact); the page check then names the damaged page.
        assert "FAILED verification" in line and "HMAC verification failed for page" in line, line
    else:
        assert expected in line, line
    assert not (tmp_path / "out.jsonl").exists(), "a failed export writes nothing"


def test_no_keyring_at_all_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_journal(tmp_path / "pos")
    monkeypatch.delenv("CAFE_KEYRING_FILE")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    line = assert_one_line_error(cafe("journal", "verify", tmp_path / "pos"))
    assert "CAFE_KEYRING_FILE" in line

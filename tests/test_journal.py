"""The device journal: ordered, gap-free, append-only, and every stored byte checked by verify."""

from __future__ import annotations

import contextlib
import io
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlcipher3
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cafe_cli.main import main as cafe_main
from shared.bodies import Sale
from shared.entry import GENESIS_HASH, JournalEntry
from shared.errors import ValidationError
from shared.ids import new_id
from sync.journal import Journal, JournalError, journal_path
from sync.keystore import KeyStore


def sale(amount_units: int = 500, player_id: str = "player-ada") -> Sale:
    return Sale(player_id=player_id, location_id="loc-main", pos_id="pos-1", shift_id="shift-1",
                amount_units=amount_units, cash_units=amount_units, currency="USD")


def fill(journal: Journal, count: int) -> list[JournalEntry]:
    return [journal.append(sale(100 + i), actor="cashier-sam") for i in range(count)]


@contextlib.contextmanager
def keyed_connection(data_dir: Path) -> Iterator[sqlcipher3.dbapi2.Connection]:
    """A raw connection with the journal's key: what an attacker holding the key could do."""
    conn = sqlcipher3.dbapi2.connect(str(journal_path(data_dir)), isolation_level=None)
    try:
        conn.execute(f"PRAGMA key = \"x'{KeyStore(data_dir).journal_key().hex()}'\"")
        yield conn
    finally:
        conn.close()


def assert_chain(entries: list[JournalEntry], count: int) -> None:
    assert [e.seq for e in entries] == list(range(1, count + 1))
    prev = GENESIS_HASH
    for entry in entries:
        assert entry.prev_hash == prev
        prev = entry.hash


def test_append_returns_entries_in_a_gap_free_linked_chain(tmp_path: Path) -> None:
    with Journal.create(tmp_path / "pos", device_id="pos-1") as journal:
        appended = fill(journal, 25)
        stored = list(journal.entries())
        assert stored == appended
        assert_chain(stored, 25)
        assert journal.head().seq == 25 and journal.head().hash == appended[-1].hash
        assert journal.count() == 25
        report = journal.verify()
    assert report.ok, report.summary()
    assert (report.entries, report.head_seq, report.head_hash) == (25, 25, appended[-1].hash)


def test_reopened_journal_continues_the_chain(tmp_path: Path) -> None:
    data_dir = tmp_path / "pos"
    with Journal.create(data_dir, device_id="pos-1") as journal:
        first = fill(journal, 3)
    with Journal.open(data_dir) as journal:
        assert journal.device_id == "pos-1"
        nxt = journal.append(sale(), actor="cashier-sam")
        assert (nxt.seq, nxt.prev_hash) == (4, first[-1].hash)
        assert journal.verify().ok


def test_entries_reads_in_batches_and_honours_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sync.journal.READ_BATCH", 4)
    with Journal.create(tmp_path / "pos", device_id="pos-1") as journal:
        appended = fill(journal, 11)
        assert list(journal.entries()) == appended
        assert list(journal.entries(3, limit=5)) == appended[2:7]
        assert list(journal.entries(12)) == []
        assert journal.verify().ok


def test_retry_with_the_same_entry_id_writes_nothing_new(tmp_path: Path) -> None:
    entry_id = new_id()
    with Journal.create(tmp_path / "pos", device_id="pos-1") as journal:
        first = journal.append(sale(), actor="cashier-sam", entry_id=entry_id)
        again = journal.append(sale(), actor="cashier-sam", entry_id=entry_id)
        assert again == first
        assert journal.count() == 1


def test_create_refuses_an_existing_journal(tmp_path: Path) -> None:
    Journal.create(tmp_path / "pos", device_id="pos-1").close()
    with pytest.raises(JournalError, match="already exists"):
        Journal.create(tmp_path / "pos", device_id="pos-1")


@pytest.mark.parametrize("shared_object", [True, False], ids=["one-journal-object", "one-object-per-thread"])
def test_two_threads_appending_at_once_make_one_valid_chain(tmp_path: Path, shared_object: bool) -> None:
    data_dir = tmp_path / "pos"
    Journal.create(data_dir, device_id="pos-1").close()
    per_thread = 150
    start = threading.Barrier(2)
    results: dict[str, list[JournalEntry]] = {}
    errors: list[BaseException] = []
    shared = Journal.open(data_dir) if shared_object else None

    def worker(name: str) -> None:
        journal = shared or Journal.open(data_dir)
        try:
            start.wait(timeout=30)
            results[name] = [journal.append(sale(player_id=f"player-{name}"), actor=f"cashier-{name}") for _ in range(per_thread)]
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)
        finally:
            if shared is None:
                journal.close()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if shared is not None:
        shared.close()
    assert not errors, errors
    with Journal.open(data_dir) as journal:
        stored = list(journal.entries())
        report = journal.verify()
    assert report.ok, report.summary()
    assert_chain(stored, 2 * per_thread)
    returned = results["a"] + results["b"]
    assert sorted(e.seq for e in returned) == list(range(1, 2 * per_thread + 1))
    assert {e.id: e for e in stored} == {e.id: e for e in returned}
    # Each thread's own appends come back in the order it made them.
    for name in ("a", "b"):
        seqs = [e.seq for e in results[name]]
        assert seqs == sorted(seqs)


# -- acknowledgements (the outbox marker) ----------------------------------------------


def test_mark_acked_is_monotonic_idempotent_and_bounded_by_the_head(tmp_path: Path) -> None:
    with Journal.create(tmp_path / "pos", device_id="pos-1") as journal:
        with pytest.raises(ValidationError):
            journal.mark_acked(1)  # nothing written yet
        appended = fill(journal, 10)
        before = [e.canonical() for e in journal.entries()]
        assert journal.acked_seq == 0 and journal.pending_count() == 10
        assert journal.unacked(100) == appended

        journal.mark_acked(4)
        assert journal.acked_seq == 4 and journal.pending_count() == 6
        assert journal.unacked(3) == appended[4:7]
        journal.mark_acked(4)  # the same acknowledgement again: nothing changes
        journal.mark_acked(2)  # an older one arriving late never moves the marker back
        assert journal.acked_seq == 4
        for bad in (11, 0, -1):
            with pytest.raises(ValidationError):
                journal.mark_acked(bad)
        assert journal.acked_seq == 4
        journal.mark_acked(10)
        assert journal.unacked(5) == [] and journal.pending_count() == 0

        assert [e.canonical() for e in journal.entries()] == before  # entries are never rewritten
        report = journal.verify()
    assert report.ok and report.acked_seq == 10
    with keyed_connection(tmp_path / "pos") as conn:
        assert [r[0] for r in conn.execute("SELECT through_seq FROM acks ORDER BY through_seq")] == [4, 10]


@pytest.mark.parametrize("statement", [
    "UPDATE entries SET kind = 'sale' WHERE seq = 1",
    "DELETE FROM entries WHERE seq = 2",
    "DELETE FROM entries",
    "UPDATE acks SET through_seq = 1",
    "DELETE FROM acks",
])
def test_triggers_refuse_rewriting_entries_and_acknowledgements(tmp_path: Path, statement: str) -> None:
    with Journal.create(tmp_path / "pos", device_id="pos-1") as journal:
        fill(journal, 3)
        journal.mark_acked(2)
    with keyed_connection(tmp_path / "pos") as conn, pytest.raises(sqlcipher3.dbapi2.IntegrityError, match="append-only"):
        conn.execute(statement)
    with Journal.open(tmp_path / "pos") as journal:
        assert journal.count() == 3 and journal.acked_seq == 2 and journal.verify().ok


# -- tampering: every stored byte is covered --------------------------------------------

COLUMNS = ("data", "hash", "head_sig", "seq", "id", "kind")
ROWS = 4


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, bytes]]:
    """A closed journal, a copy of its file, and the key: each example restores the copy and tampers."""
    import os

    keyring = tmp_path_factory.mktemp("tamper-keyring") / "keys.cfg"
    saved = os.environ.get("CAFE_KEYRING_FILE")
    os.environ["CAFE_KEYRING_FILE"] = str(keyring)  # module scope: the autouse fixture is per test
    try:
        data_dir = tmp_path_factory.mktemp("tamper") / "pos"
        with Journal.create(data_dir, device_id="pos-1") as journal:
            fill(journal, ROWS)
            journal.mark_acked(2)
        assert not (data_dir / "journal.db-wal").exists(), "closing checkpoints the WAL into the file"
        backup = data_dir.parent / "pristine.db"
        shutil.copyfile(journal_path(data_dir), backup)
        yield data_dir, keyring, KeyStore(data_dir).journal_key()
    finally:
        if saved is None:
            os.environ.pop("CAFE_KEYRING_FILE", None)
        else:
            os.environ["CAFE_KEYRING_FILE"] = saved


def _restore(data_dir: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{journal_path(data_dir)}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(data_dir.parent / "pristine.db", journal_path(data_dir))


def _flip(value: bytes, index: int, new_byte: int) -> bytes:
    index %= len(value)
    assume(value[index] != new_byte)
    return value[:index] + bytes([new_byte]) + value[index + 1:]


def _tamper(conn: sqlcipher3.dbapi2.Connection, seq: int, column: str, index: int, new_byte: int) -> None:
    conn.execute("DROP TRIGGER entries_no_update")
    (old,) = conn.execute(f"SELECT {column} FROM entries WHERE seq = ?", (seq,)).fetchone()
    if column == "seq":
        new_seq = int.from_bytes(_flip(old.to_bytes(8, "big", signed=True), index, new_byte), "big", signed=True)
        taken = {r[0] for r in conn.execute("SELECT seq FROM entries")}
        assume(new_seq >= 1 and new_seq not in taken)  # the primary key and CHECK refuse the rest outright
        conn.execute("UPDATE entries SET seq = ? WHERE seq = ?", (new_seq, seq))
    elif column == "data":
        conn.execute("UPDATE entries SET data = ? WHERE seq = ?", (_flip(old, index, new_byte), seq))
    else:
        # Text columns are changed byte for byte, even into invalid UTF-8: an attacker is not polite.
        conn.execute(f"UPDATE entries SET {column} = CAST(? AS TEXT) WHERE seq = ?", (_flip(old.encode(), index, new_byte), seq))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seq=st.integers(1, ROWS),
    column=st.sampled_from(COLUMNS),
    index=st.integers(0, 10_000),
    new_byte=st.integers(0, 255),
)
def test_any_change_to_any_byte_of_a_stored_entry_fails_verify(
    pristine: tuple[Path, Path, bytes], monkeypatch: pytest.MonkeyPatch, seq: int, column: str, index: int, new_byte: int,
) -> None:
    data_dir, keyring, key = pristine
    monkeypatch.setenv("CAFE_KEYRING_FILE", str(keyring))
    _restore(data_dir)
    conn = sqlcipher3.dbapi2.connect(str(journal_path(data_dir)), isolation_level=None)
    try:
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        _tamper(conn, seq, column, index, new_byte)
    finally:
        conn.close()
    with Journal.open(data_dir) as journal:
        report = journal.verify()
    assert not report.ok, f"{column} of seq {seq} changed at byte {index} and verify passed"
    assert report.problems
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        exit_code = cafe_main(["journal", "verify", str(data_dir)])
    assert exit_code == 1
    assert "FAILED" in out.getvalue() and len(err.getvalue().splitlines()) == 1


def test_the_untouched_copy_verifies(pristine: tuple[Path, Path, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """The control for the property above: the restored file itself is sound."""
    data_dir, keyring, _ = pristine
    monkeypatch.setenv("CAFE_KEYRING_FILE", str(keyring))
    _restore(data_dir)
    with Journal.open(data_dir) as journal:
        assert journal.verify().ok
    assert cafe_main(["journal", "verify", str(data_dir)]) == 0


def test_a_deleted_entry_in_the_middle_is_a_gap(tmp_path: Path) -> None:
    with Journal.create(tmp_path / "pos", device_id="pos-1") as journal:
        fill(journal, 5)
    with keyed_connection(tmp_path / "pos") as conn:
        conn.execute("DROP TRIGGER entries_no_delete")
        conn.execute("DELETE FROM entries WHERE seq = 3")
    with Journal.open(tmp_path / "pos") as journal:
        report = journal.verify()
    assert not report.ok
    assert any("seq 4" in p and "where 3 was expected" in p for p in report.problems), report.problems


def test_a_signature_respelled_to_decode_to_the_same_bytes_fails_verify(tmp_path: Path) -> None:
    """base64 has spare bits in its last character; a changed stored byte must not hide there."""
    import base64
    import string

    with Journal.create(tmp_path / "pos", device_id="pos-1") as journal:
        fill(journal, 2)
    with keyed_connection(tmp_path / "pos") as conn:
        (signature,) = conn.execute("SELECT head_sig FROM entries WHERE seq = 1").fetchone()
        raw = base64.urlsafe_b64decode(signature)
        last = len(signature.rstrip("=")) - 1
        twins = [
            signature[:last] + c + signature[last + 1:]
            for c in string.ascii_letters + string.digits + "-_"
            if c != signature[last] and base64.urlsafe_b64decode(signature[:last] + c + signature[last + 1:]) == raw
        ]
        assert twins, "a 64-byte signature leaves unused bits in its last base64 character"
        conn.execute("DROP TRIGGER entries_no_update")
        conn.execute("UPDATE entries SET head_sig = ? WHERE seq = 1", (twins[0],))
    with Journal.open(tmp_path / "pos") as journal:
        report = journal.verify()
    assert not report.ok and any("seq 1: signature" in p for p in report.problems), report.problems


# -- the outbox sends stored bytes ---------------------------------------------------------


def test_stored_entries_are_sent_as_stored_and_parse_to_the_entries(tmp_path: Path) -> None:
    from shared.canonical import parse_json
    from sync.central_client import encode_push, encode_push_stored

    with Journal.create(tmp_path / "pos", device_id="pos-1") as journal:
        appended = fill(journal, 7)
        stored = journal.stored_entries(3, 4)
        assert [s.seq for s in stored] == [3, 4, 5, 6]
        head = {"seq": 6, "hash": appended[5].hash, "signature": "sig"}
        body = encode_push_stored(stored, head)
        sent = parse_json(body)
        assert sent == parse_json(encode_push([e.to_json() for e in appended[2:6]], head))
        assert [JournalEntry.from_json(e) for e in sent["entries"]] == appended[2:6]
        assert journal.stored_entries(8, 5) == []


def test_a_damaged_stored_entry_is_never_sent(tmp_path: Path) -> None:
    from shared.errors import IntegrityError

    with Journal.create(tmp_path / "pos", device_id="pos-1") as journal:
        fill(journal, 3)
    with keyed_connection(tmp_path / "pos") as conn:  # what a disk fault or a tamperer holding the key could do
        conn.execute("DROP TRIGGER entries_no_update")
        conn.execute("UPDATE entries SET data = replace(data, '100', '900') WHERE seq = 2")
    with Journal.open(tmp_path / "pos") as journal:
        assert len(journal.stored_entries(1, 1)) == 1
        with pytest.raises(IntegrityError, match="entry 2 is damaged"):
            journal.stored_entries(1, 3)

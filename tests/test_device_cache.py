"""The pull cache lives in the device's encrypted journal file: replaceable, durable, never plaintext,
added to journals made before it existed, and invisible to the append-only journal checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from shared.bodies import Sale
from shared.device_config import DeviceConfig, StaffMember
from shared.errors import ValidationError
from sync.cache import DeviceCache
from sync.journal import Journal, JournalError, journal_path

SECRET_NAME = "Quentin Zabriskie-Oyelaran"
PIN_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"


def config(name: str = SECRET_NAME) -> DeviceConfig:
    return DeviceConfig(location_id="loc-7", location_name="Cafe Seven", currency="USD",
                        staff=(StaffMember(id="staff-1", name=name, role="cashier", pin_hash=PIN_HASH),))


def has_cache_table(journal: Journal) -> bool:
    with journal.local_read() as conn:
        return conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'cache'")).scalar_one() == 1


def test_put_get_replace_and_it_survives_reopening(tmp_path: Path):
    with Journal.create(tmp_path, device_id="pos-1") as journal:
        # A journal created before the cache existed has no table; opening the cache adds it.
        assert not has_cache_table(journal)
        cache = DeviceCache(journal)
        assert has_cache_table(journal)
        assert cache.get("device_config") is None
        first = config()
        cache.put("device_config", first.etag(), first.to_json())
        second = config("Someone Else")
        cache.put("device_config", second.etag(), second.to_json())
        assert cache.names() == ["device_config"], "a newer pull replaces the row"
        assert not cache.touch("device_config", first.etag()), "a 304 for a tag we no longer hold changes nothing"
    with Journal.open(tmp_path) as journal:
        doc = DeviceCache(journal).get("device_config")
        assert doc is not None and doc.etag == second.etag()
        assert DeviceConfig.from_json(doc.body) == second
        assert doc.fetched_at.endswith("Z")


def test_cached_documents_are_not_plaintext_on_disk(tmp_path: Path):
    with Journal.create(tmp_path, device_id="pos-1") as journal:
        cache = DeviceCache(journal)
        cache.put("device_config", config().etag(), config().to_json())
        assert SECRET_NAME in str(cache.get("device_config"))  # control: the needle is what we stored
        wal = Path(f"{journal_path(tmp_path)}-wal")
        assert wal.stat().st_size > 0
        for path in (wal, journal_path(tmp_path)):
            raw = path.read_bytes()
            for needle in (SECRET_NAME.encode(), b"Zabriskie", b"$argon2id$", b"pin_hash", b"device_config"):
                assert needle not in raw, (path.name, needle)
    assert b"Zabriskie" not in journal_path(tmp_path).read_bytes()


def test_the_cache_leaves_the_journal_append_only_and_verifiable(tmp_path: Path):
    with Journal.create(tmp_path, device_id="pos-1") as journal:
        cache = DeviceCache(journal)
        journal.append(Sale(player_id="p-1", location_id="loc-7", pos_id="pos-1", shift_id="s-1", amount_units=500,
                            cash_units=500, currency="USD"), actor="staff-1")
        cache.put("catalog", "tag-1", {"games": []})
        cache.put("catalog", "tag-2", {"games": ["fruit-fiesta"]})
        report = journal.verify()
        assert report.ok, report.summary()
        assert report.entries == 1
        with pytest.raises(JournalError, match="append-only"), journal.local_write() as conn:
            conn.execute(text("DELETE FROM entries"))
        assert journal.count() == 1


@pytest.mark.parametrize("name", ["", "x" * 65, "naïve", "tab\there"])
def test_bad_names_and_bodies_are_refused(tmp_path: Path, name: str):
    with Journal.create(tmp_path, device_id="pos-1") as journal:
        cache = DeviceCache(journal)
        with pytest.raises(ValidationError):
            cache.put(name, "tag", {})
        with pytest.raises(ValidationError):
            cache.put("ok", "", {})
        assert cache.names() == []

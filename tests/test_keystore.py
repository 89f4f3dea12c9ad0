"""Device secrets: a real OS keyring, or a file only when asked for explicitly; never a silent plaintext fallback."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyrings.alt.file import PlaintextKeyring

from sync.journal import Journal
from sync.keystore import KEYRING_FILE_ENV, FileKeyring, KeyringUnavailable, KeyStore, SecretMissing, resolve_backend


@pytest.fixture
def auto_selected(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing configured: keyring picks its backend itself (restored afterwards)."""
    monkeypatch.delenv(KEYRING_FILE_ENV, raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    before = keyring.core._keyring_backend
    yield
    keyring.core._keyring_backend = before


def alt_plaintext(tmp_path: Path) -> KeyringBackend:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "silently-chosen.cfg")
    return backend


@pytest.mark.parametrize("make_backend", [
    lambda tmp: fail.Keyring(),
    alt_plaintext,
    lambda tmp: chainer.ChainerBackend.__new__(chainer.ChainerBackend),
], ids=["fail", "keyrings.alt-plaintext", "empty-chainer"])
def test_no_usable_keyring_is_refused_with_the_fix_named(auto_selected: None, tmp_path: Path, make_backend, monkeypatch) -> None:
    backend = make_backend(tmp_path)
    if isinstance(backend, chainer.ChainerBackend):
        monkeypatch.setattr(chainer.ChainerBackend, "backends", [fail.Keyring(), alt_plaintext(tmp_path)])
    keyring.set_keyring(backend)
    with pytest.raises(KeyringUnavailable, match=KEYRING_FILE_ENV) as caught:
        resolve_backend()
    assert "\n" not in caught.value.message
    with pytest.raises(KeyringUnavailable):
        Journal.create(tmp_path / "pos", device_id="pos-1")
    assert not (tmp_path / "silently-chosen.cfg").exists(), "no secret may land in an unrequested plaintext file"
    assert not (tmp_path / "pos" / "journal.db").exists()


def test_keyrings_own_explicit_setting_is_honoured(auto_selected: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    backend = alt_plaintext(tmp_path)
    keyring.set_keyring(backend)
    assert resolve_backend() is backend


def test_the_explicit_file_works_and_is_owner_only(keyring_file: Path, tmp_path: Path) -> None:
    assert isinstance(resolve_backend(), FileKeyring)
    store = KeyStore(tmp_path / "pos")
    key = store.create_journal_key()
    device_key = store.create_device_key()
    assert len(key) == 32
    assert stat.S_IMODE(keyring_file.stat().st_mode) == 0o600
    again = KeyStore(tmp_path / "pos")  # a fresh object reads what the first one wrote
    assert again.journal_key() == key
    assert again.device_key().public_bytes() == device_key.public_bytes()
    assert KeyStore(tmp_path / "kiosk").has_journal_key() is False, "each data directory has its own secrets"
    with pytest.raises(Exception, match="already exists"):
        again.create_journal_key()  # replacing it would orphan the journal
    assert not list(keyring_file.parent.glob(".cafesuite-keys-*")), "no temporary file is left behind"


def test_an_existing_file_is_tightened_to_owner_only(keyring_file: Path, tmp_path: Path) -> None:
    keyring_file.write_text("")
    keyring_file.chmod(0o644)
    KeyStore(tmp_path / "pos").create_journal_key()
    assert stat.S_IMODE(keyring_file.stat().st_mode) == 0o600


def test_the_file_keeps_plaintext_keyrings_format(keyring_file: Path, tmp_path: Path) -> None:
    key = KeyStore(tmp_path / "pos").create_journal_key()
    reader = PlaintextKeyring()
    reader.file_path = str(keyring_file)
    assert reader.get_password(KeyStore(tmp_path / "pos").service, "journal-key") == key.hex()


def test_devices_enrolling_at_once_keep_all_their_keys(keyring_file: Path, tmp_path: Path) -> None:
    """Every write is read-modify-write of one file: without the lock, concurrent writers lose keys."""
    devices = [tmp_path / f"kiosk-{i}" for i in range(8)]
    start = threading.Barrier(len(devices))
    keys: dict[Path, bytes] = {}
    errors: list[BaseException] = []

    def enroll(data_dir: Path) -> None:
        try:
            store = KeyStore(data_dir)
            start.wait(timeout=30)
            keys[data_dir] = store.create_journal_key()
            store.create_device_key()
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=enroll, args=(d,)) for d in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    for data_dir in devices:
        store = KeyStore(data_dir)
        assert store.journal_key() == keys[data_dir]
        store.device_key()


def test_a_damaged_secret_is_one_clear_error(keyring_file: Path, tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "pos")
    store._backend.set_password(store.service, "journal-key", "not hex at all")
    with pytest.raises(SecretMissing, match="damaged"):
        store.journal_key()

"""Device secrets in the OS keyring: the journal's 256-bit key and the Ed25519 private key.

Secrets never sit next to the data they protect: a copied journal file is useless
without the keyring of the machine that wrote it. Entries are stored under one service
name per data directory, so two apps (or two test devices) on one machine never share
keys.

Headless machines often have no keyring at all. ``keyring`` then quietly falls back to
whatever is installed, which with ``keyrings.alt`` is a plaintext file in the home
directory. We refuse that: a file backend is used only when an operator asks for it
with ``CAFE_KEYRING_FILE`` (or keyring's own ``PYTHON_KEYRING_BACKEND``).
"""

from __future__ import annotations

import configparser
import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyrings.alt.escape import escape as escape_for_ini
from keyrings.alt.file import PlaintextKeyring

from shared.errors import CafeError
from shared.signing import DeviceKey

KEYRING_FILE_ENV = "CAFE_KEYRING_FILE"
JOURNAL_KEY_NAME = "journal-key"
DEVICE_KEY_NAME = "device-signing-key"


class KeyringUnavailable(CafeError):
    code = "keyring_unavailable"
    http_status = 500


class SecretMissing(CafeError):
    code = "secret_missing"
    http_status = 500


def service_name(data_dir: Path) -> str:
    """The keyring service that holds the secrets of the device living in ``data_dir``."""
    return f"cafesuite:{Path(data_dir).resolve()}"


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    """An exclusive lock between processes (POSIX); elsewhere the rename below still keeps the file whole."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; concurrent enrollments there are not expected
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class FileKeyring(PlaintextKeyring):
    """keyrings.alt's plaintext file (same format), written the way a key file must be.

    keyrings.alt rewrites the file in place: a crash mid-write leaves it truncated, which
    orphans every journal whose key it held, and two devices enrolling at once can each
    drop the other's keys. Here every write is read-modify-write under a lock and lands
    by an atomic rename of an fsynced, owner-only (0600) temporary file.
    """

    def __init__(self, path: str):
        super().__init__()
        self.file_path = path  # instance override of keyrings.alt's NonDataProperty

    def _write_config_value(self, service: str, key: str, value: str) -> None:
        folder = os.path.dirname(os.path.abspath(self.file_path))
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with _file_lock(f"{self.file_path}.lock"):
            config = configparser.RawConfigParser()
            config.read(self.file_path, encoding="utf-8")
            section = escape_for_ini(service)
            if not config.has_section(section):
                config.add_section(section)
            config.set(section, escape_for_ini(key), value)
            fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".cafesuite-keys-", suffix=".tmp")  # mode 0600
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    config.write(handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp_name, self.file_path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)
                raise
            _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open a directory)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_backend(path: str) -> KeyringBackend:
    return FileKeyring(path)


def _is_real_os_keyring(backend: KeyringBackend) -> bool:
    if isinstance(backend, fail.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(_is_real_os_keyring(b) for b in backend.backends)
    return not type(backend).__module__.startswith("keyrings.alt")


def resolve_backend() -> KeyringBackend:
    """The keyring to use, or a clear refusal that names the fix."""
    path = os.environ.get(KEYRING_FILE_ENV)
    if path:
        return _file_backend(path)
    backend = keyring.get_keyring()
    if os.environ.get("PYTHON_KEYRING_BACKEND") and not isinstance(backend, fail.Keyring):
        return backend
    if _is_real_os_keyring(backend):
        return backend
    raise KeyringUnavailable(
        "no OS keyring is available to hold the device keys; start or unlock the desktop keyring "
        f"(Secret Service, KWallet, Windows Credential Manager, macOS Keychain), or set {KEYRING_FILE_ENV}="
        "/path/to/keys.cfg to keep them in a file you protect yourself"
    )


class KeyStore:
    """The secrets of one device data directory."""

    def __init__(self, data_dir: Path, backend: KeyringBackend | None = None):
        self.data_dir = Path(data_dir)
        self.service = service_name(self.data_dir)
        self._backend = backend or resolve_backend()

    def _get(self, name: str) -> str | None:
        return self._backend.get_password(self.service, name)

    def _set(self, name: str, value: str) -> None:
        self._backend.set_password(self.service, name, value)
        file_path = getattr(self._backend, "file_path", None)
        if isinstance(file_path, str) and os.path.exists(file_path):
            os.chmod(file_path, 0o600)  # the explicit file backend: readable by its owner only

    def _require(self, name: str, what: str) -> bytes:
        value = self._get(name)
        if value is None:
            raise SecretMissing(f"the keyring has no {what} for {self.data_dir} (service {self.service!r})")
        try:
            return bytes.fromhex(value)
        except ValueError as exc:
            raise SecretMissing(f"the keyring's {what} for {self.data_dir} is damaged (not hex)") from exc

    def has_journal_key(self) -> bool:
        return self._get(JOURNAL_KEY_NAME) is not None

    def create_journal_key(self) -> bytes:
        """A fresh random 256-bit key; refuses to replace an existing one (that would orphan the journal)."""
        if self.has_journal_key():
            raise CafeError(f"a journal key already exists for {self.data_dir}")
        key = secrets.token_bytes(32)
        self._set(JOURNAL_KEY_NAME, key.hex())
        return key

    def journal_key(self) -> bytes:
        return self._require(JOURNAL_KEY_NAME, "journal key")

    def has_device_key(self) -> bool:
        return self._get(DEVICE_KEY_NAME) is not None

    def create_device_key(self) -> DeviceKey:
        if self._get(DEVICE_KEY_NAME) is not None:
            raise CafeError(f"a device key already exists for {self.data_dir}")
        key = DeviceKey.generate()
        self._set(DEVICE_KEY_NAME, key.private_bytes().hex())
        return key

    def device_key(self) -> DeviceKey:
        return DeviceKey.from_private_bytes(self._require(DEVICE_KEY_NAME, "device signing key"))

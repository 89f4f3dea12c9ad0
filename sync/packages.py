"""The kiosk's game library: central's catalog, downloaded packages, verified before use (DESIGN §6).

``refresh()`` (network: call it off the GUI thread, or hand ``pull`` to the sync engine
with ``device.engine.add_pull(library.pull)``) fetches the catalog with its ETag (an
unchanged catalog is a 304), downloads each package the device does not hold, and
installs it only when its bytes hash to the address the catalog names, central's
signature over that address verifies with the key the device received at enrollment,
and its manifest is exactly what its math implies. A package that fails any of these is
refused, reported, and never used.

``installed_games()`` reads only local state (works offline) and checks each stored
package again before returning it, so a file changed on disk is dropped, not played.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx

from shared.canonical import canonical_json, sha256_hex
from shared.errors import CafeError, ValidationError
from shared.games.definition import GameDefinition
from shared.games.package import GamePackage, PackageRefused, parse_package, signature_valid
from shared.protocol import GAME_PACKAGES_PATH, GAMES_CATALOG_PATH
from shared.signing import decode_b64
from sync.central_client import DEFAULT_TIMEOUT_S, Offline, tls_verify
from sync.device import Device

log = logging.getLogger("cafesuite.games")

CATALOG_DOC = "games.catalog"
INSTALLED_DOC = "games.installed"
GAMES_DIR = "games"
MAX_CATALOG_GAMES = 200


@dataclass(frozen=True)
class InstalledGame:
    """A verified game the lobby may show: its math, manifest (exact RTP, bets) and asset files."""

    sha256: str
    definition: GameDefinition
    manifest: Mapping[str, Any]
    assets_dir: Path
    thumbnail: Path | None
    sounds: Mapping[str, Path]

    @property
    def game_id(self) -> str:
        return self.definition.id

    @property
    def version(self) -> str:
        return self.definition.version

    @property
    def title(self) -> str:
        return self.definition.title

    @property
    def rtp_percent(self) -> str:
        return str(self.manifest["rtp_percent"])


@dataclass
class RefreshReport:
    """What one refresh did; ``refused`` holds one readable line per package that was not installed."""

    online: bool = False
    catalog_changed: bool = False
    installed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class GameLibrary:
    """Central's games on this device: catalog in the encrypted cache, package files under ``<data_dir>/games``."""

    def __init__(self, device: Device, *, timeout_s: float = DEFAULT_TIMEOUT_S, transport: httpx.BaseTransport | None = None):
        self._device = device
        self._dir = device.data_dir / GAMES_DIR
        self._central_key = decode_b64(device.identity.central_public_key, "central public key")
        self._http = httpx.Client(base_url=device.identity.central_url, timeout=timeout_s, transport=transport,
                                  verify=tls_verify(device.identity.tls_verify(device.data_dir)))
        self.last_refused: list[str] = []

    def close(self) -> None:
        self._http.close()

    # -- network ------------------------------------------------------------------------

    def pull(self) -> bool:
        """For the sync engine's pull schedule: refresh; False when central is unreachable."""
        return self.refresh().online

    def refresh(self) -> RefreshReport:
        """Pull the catalog (ETag), then download and verify what is missing. Never raises for a bad package."""
        report = RefreshReport()
        before = self._device.cache.get(CATALOG_DOC)
        if not self._device.pull_document(CATALOG_DOC, GAMES_CATALOG_PATH, check=_check_catalog):
            return report
        report.online = True
        catalog = self._device.cache.get(CATALOG_DOC)
        assert catalog is not None, "a successful pull stores the catalog"
        report.catalog_changed = before is None or before.etag != catalog.etag
        installed = self._installed_index()
        wanted = {game["id"]: game for game in catalog.body["games"]}
        for game_id in sorted(set(installed) - set(wanted)):
            del installed[game_id]
            report.removed.append(game_id)
        for game_id, game in sorted(wanted.items()):
            current = installed.get(game_id)
            if current is not None and current["sha256"] == game["package_sha256"] and self._verified(game_id, current):
                continue
            try:
                self._install(game)
            except Offline:
                report.online = False
                break
            except CafeError as exc:
                report.refused.append(exc.message)
                log.warning("game package refused: %s", exc.message)
                continue
            installed[game_id] = {"sha256": game["package_sha256"], "signature": game["signature"]}
            report.installed.append(game_id)
        self._save_index(installed)
        self.last_refused = report.refused
        return report

    def _install(self, game: Mapping[str, Any]) -> GamePackage:
        sha256, signature = game["package_sha256"], game["signature"]
        try:
            response = self._http.get(f"{GAME_PACKAGES_PATH}/{sha256}")
        except httpx.TransportError as exc:
            raise Offline(f"central is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise PackageRefused(f"{game['id']}: central answered HTTP {response.status_code} for package {sha256[:12]}")
        package = self._check(response.content, sha256, signature, game["id"])
        self._dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(self._dir / f"{sha256}.pkg", response.content)
        _extract(package, self._dir / sha256)
        return package

    def _check(self, raw: bytes, sha256: str, signature: str, game_id: str) -> GamePackage:
        if not signature_valid(self._central_key, sha256, signature):
            raise PackageRefused(f"{game_id}: package {sha256[:12]} does not carry central's signature")
        package = parse_package(raw, sha256)
        if package.definition.id != game_id:
            raise PackageRefused(f"{game_id}: package {sha256[:12]} holds game {package.definition.id}")
        return package

    # -- local ----------------------------------------------------------------------------

    def installed_games(self) -> list[InstalledGame]:
        """Every installed game whose stored package still verifies, by title; reads no network."""
        games = []
        refused = []
        for game_id, item in sorted(self._installed_index().items()):
            try:
                games.append(self._load(game_id, item))
            except (CafeError, OSError) as exc:
                message = exc.message if isinstance(exc, CafeError) else f"{game_id}: {exc}"
                refused.append(message)
                log.warning("installed game dropped: %s", message)
        self.last_refused = refused
        return sorted(games, key=lambda g: g.title)

    def _load(self, game_id: str, item: Mapping[str, Any]) -> InstalledGame:
        sha256 = item["sha256"]
        package = self._check((self._dir / f"{sha256}.pkg").read_bytes(), sha256, item["signature"], game_id)
        folder = self._dir / sha256
        _extract(package, folder)  # rewrites any asset file changed on disk since
        manifest = package.manifest
        thumbnail = manifest.get("thumbnail")
        return InstalledGame(
            sha256=sha256, definition=package.definition, manifest=manifest, assets_dir=folder,
            thumbnail=folder / thumbnail if thumbnail else None,
            sounds=MappingProxyType({role: folder / name for role, name in (manifest.get("sounds") or {}).items()}),
        )

    def _verified(self, game_id: str, item: Mapping[str, Any]) -> bool:
        try:
            self._check((self._dir / f"{item['sha256']}.pkg").read_bytes(), item["sha256"], item["signature"], game_id)
        except (CafeError, OSError):
            return False
        return True

    def _installed_index(self) -> dict[str, dict[str, str]]:
        doc = self._device.cache.get(INSTALLED_DOC)
        return {} if doc is None else {k: dict(v) for k, v in doc.body.get("games", {}).items()}

    def _save_index(self, installed: Mapping[str, Mapping[str, str]]) -> None:
        body = {"games": {k: dict(v) for k, v in sorted(installed.items())}}
        self._device.cache.put(INSTALLED_DOC, sha256_hex(canonical_json(body)), body)


def _check_catalog(body: dict[str, Any], etag: str | None) -> str:
    """The catalog's ETag is the hash of its canonical JSON; each game names an address and a signature."""
    tag = sha256_hex(canonical_json(body))
    if etag != tag:
        raise ValidationError(f"central's game catalog does not match its ETag ({etag!r}, content hashes to {tag!r})")
    games = body.get("games")
    if not isinstance(games, list) or len(games) > MAX_CATALOG_GAMES:
        raise ValidationError(f"the game catalog must list at most {MAX_CATALOG_GAMES} games")
    for game in games:
        if not isinstance(game, dict) or not all(isinstance(game.get(k), str) for k in ("id", "package_sha256", "signature")):
            raise ValidationError("each catalog game needs id, package_sha256 and signature")
        if len(game["package_sha256"]) != 64 or not set(game["package_sha256"]) <= set("0123456789abcdef"):
            raise ValidationError(f"catalog game {game['id']!r} has a malformed package address")
    return tag


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _extract(package: GamePackage, folder: Path) -> None:
    """Write the package's files for Qt to load; a file whose bytes differ from the package is rewritten."""
    root = folder.resolve()
    for name, data in package.files.items():
        target = (folder / name).resolve()
        if root not in target.parents:  # names are checked already; this is the last line of defence
            raise PackageRefused(f"package {package.sha256[:12]}: file {name!r} points outside its folder")
        if target.is_file() and sha256_hex(target.read_bytes()) == sha256_hex(data):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, data)

"""Game packages: publish (validate, compute RTP, sign, store), seed the built-in games, serve the catalog.

A package's address is the SHA-256 of its bytes and its signature is central's over that
address, so the catalog may be cached anywhere and a kiosk still installs only what
central published. Exactly one version of a game is active; publishing a new version
replaces the old one in the catalog, publishing an old one again brings it back.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection

from central_server.errors import Conflict, NotFound
from central_server.games import repository as repo
from shared.canonical import canonical_json, parse_canonical, parse_json, sha256_hex
from shared.entry import utc_timestamp
from shared.errors import ValidationError
from shared.games.builtin import load_builtin_games
from shared.games.definition import GameDefinition, parse_definition
from shared.games.package import GamePackage, build_package, check_file_name, package_message, parse_package
from shared.signing import encode_b64

DEFINITION_FILE = "game.json"
MAX_FOLDER_FILES = 64
MAX_FILE_BYTES = 4 * 1024 * 1024
PACKAGE_CACHE_SIZE = 64


@dataclass(frozen=True)
class Published:
    sha256: str
    game_id: str
    version: str
    engine: str
    rtp: str
    rtp_percent: str
    created: bool


def publish(conn: Connection, definition: GameDefinition, files: Mapping[str, bytes], signing_key: Ed25519PrivateKey) -> Published:
    """Store, sign and activate a game's package; the same package again only reactivates it."""
    raw, sha256 = build_package(definition, files)
    manifest = parse_package(raw, sha256).manifest  # the same check a kiosk makes, before anything is stored
    existing = repo.package_of_version(conn, definition.id, definition.version)
    if existing is not None and existing.sha256 != sha256:
        raise Conflict(f"{definition.id} {definition.version} is already published with other content; give it a new version",
                       code="version_taken")
    created = existing is None
    if created and not repo.insert_package(
        conn, sha256=sha256, game_id=definition.id, version=definition.version, engine=definition.engine,
        manifest=canonical_json(dict(manifest)).decode("utf-8"), package=raw, size_bytes=len(raw),
        signature=encode_b64(signing_key.sign(package_message(sha256))), published_at=utc_timestamp(), active=False,
    ):
        raise Conflict(f"{definition.id} {definition.version} was published by a concurrent request; retry", code="version_taken")
    repo.set_active(conn, definition.id, sha256)
    return Published(sha256, definition.id, definition.version, definition.engine, str(manifest["rtp"]),
                     str(manifest["rtp_percent"]), created)


def seed_builtin_games(conn: Connection, signing_key: Ed25519PrivateKey) -> list[Published]:
    """Publish each shipped game central has never had (idempotent; never overrides a published version)."""
    return [publish(conn, definition, {}, signing_key)
            for game_id, definition in sorted(load_builtin_games().items()) if not repo.has_game(conn, game_id)]


def read_game_source(path: Path) -> tuple[GameDefinition, dict[str, bytes]]:
    """A definition JSON file, or a package folder: ``game.json`` plus its asset files (thumbnail, sounds…)."""
    if path.is_dir():
        definition_path, files = path / DEFINITION_FILE, _folder_files(path)
        if not definition_path.is_file():
            raise ValidationError(f"{path} has no {DEFINITION_FILE} (the game definition)")
    else:
        definition_path, files = path, {}
    definition = parse_definition(parse_json(definition_path.read_bytes()))
    return definition, files


def _folder_files(folder: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for item in sorted(folder.rglob("*")):
        if not item.is_file() or (item.name == DEFINITION_FILE and item.parent == folder):
            continue
        name = check_file_name(item.relative_to(folder).as_posix())
        if len(files) >= MAX_FOLDER_FILES:
            raise ValidationError(f"{folder} holds more than {MAX_FOLDER_FILES} files")
        if item.stat().st_size > MAX_FILE_BYTES:
            raise ValidationError(f"{item} is larger than {MAX_FILE_BYTES} bytes")
        files[name] = item.read_bytes()
    return files


# --- what devices fetch ---------------------------------------------------------------------


def catalog(conn: Connection) -> tuple[bytes, str]:
    """The active games (manifest, package address, size, signature) as canonical JSON, and its strong ETag."""
    games = []
    for row in repo.active_packages(conn):
        manifest = parse_canonical(row.manifest.encode("utf-8"))
        games.append({**manifest, "package_sha256": row.sha256, "package_size": int(row.size_bytes),
                      "signature": row.signature, "published_at": row.published_at})
    body = canonical_json({"games": games})
    return body, f'"{sha256_hex(body)}"'


def package_download(conn: Connection, sha256: str) -> tuple[bytes, str]:
    row = repo.package_bytes(conn, sha256) if len(sha256) == 64 else None
    if row is None:
        raise NotFound(f"there is no game package {sha256[:64]!r}", code="package_not_found")
    return bytes(row.package), row.signature


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an ``If-None-Match`` list (or ``*``) with our tag."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def active_game(conn: Connection, game_id: str) -> tuple[Any, GamePackage]:
    """The active package row of a game and its parsed contents (what pools deal from)."""
    row = repo.active_package(conn, game_id)
    if row is None:
        raise NotFound(f"there is no game {game_id!r} in the catalog", code="game_not_found")
    return row, load_package(conn, row.sha256)


def load_package(conn: Connection, sha256: str) -> GamePackage:
    with _parsed_lock:
        cached = _parsed.get(sha256)
    if cached is None:
        raw, _ = package_download(conn, sha256)
        cached = parse_package(raw, sha256)
        with _parsed_lock:
            if len(_parsed) >= PACKAGE_CACHE_SIZE:
                _parsed.pop(next(iter(_parsed)))
            _parsed[sha256] = cached
    return cached


_parsed: dict[str, GamePackage] = {}
"""Parsed packages by address: the address fixes the contents, so this never goes stale."""
_parsed_lock = threading.Lock()

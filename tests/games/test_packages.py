"""Game packages end to end: `cafe central publish-game` → central's signed catalog → a real enrolled kiosk.

Every test runs against the real HTTPS central on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cafe_cli.main import main as cafe
from central_server.keys import load_keys
from shared.canonical import canonical_json
from shared.games import parse_definition, play, rtp
from shared.games.builtin import load_builtin_games
from shared.games.package import package_message
from shared.protocol import GAME_PACKAGES_PATH, GAMES_CATALOG_PATH
from shared.signing import DeviceKey, encode_b64
from sync.device import Device
from sync.packages import CATALOG_DOC, GameLibrary
from tests.central.conftest import Central

BUILTIN = ["fruit-fiesta", "gold-rush-scratch", "lucky-keno"]
THUMBNAIL = b'<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"><rect width="320" height="200" fill="#c0392b"/></svg>'


def new_game(version: str = "1.0.0", *, top_pay: int | None = None) -> dict[str, Any]:
    """A reels game no kiosk has ever seen: Fruit Fiesta's math under a new id."""
    doc = json.loads(canonical_json(load_builtin_games()["fruit-fiesta"].to_json()))
    doc.update(id="cherry-blast", version=version, title="Cherry Blast", assets={"thumbnail": "thumbnail.svg"})
    if top_pay is not None:
        doc["math"]["paytable"]["star"]["5"] = top_pay
    return doc


def game_folder(tmp_path: Path, doc: dict[str, Any]) -> Path:
    folder = tmp_path / f"{doc['id']}-{doc['version']}"
    folder.mkdir()
    (folder / "game.json").write_text(json.dumps(doc, indent=2))
    (folder / "thumbnail.svg").write_bytes(THUMBNAIL)
    return folder


def publish(central: Central, path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cafe(["central", "publish-game", str(path), "--db", central.db_url, "--data-dir", str(central.data_dir)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def by_id(library: GameLibrary) -> dict[str, Any]:
    return {game.game_id: game for game in library.installed_games()}


def test_a_published_game_reaches_the_kiosk_without_a_rebuild(
    central: Central, kiosk_device: Device, library: GameLibrary, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    first = library.refresh()
    assert first.online and first.catalog_changed and sorted(first.installed) == BUILTIN and first.refused == []
    games = by_id(library)
    assert sorted(games) == BUILTIN
    assert games["fruit-fiesta"].manifest["rtp"] == "1021499/1125000"
    assert games["gold-rush-scratch"].rtp_percent == "87.50%"
    assert games["lucky-keno"].thumbnail is not None and games["lucky-keno"].thumbnail.read_bytes().startswith(b"<svg")
    assert games["lucky-keno"].sounds["win"].read_bytes()[:4] == b"RIFF"

    doc = new_game()
    code, out, err = publish(central, game_folder(tmp_path, doc), capsys)
    exact = rtp(parse_definition(doc))
    assert code == 0, err
    assert f"published cherry-blast 1.0.0 (reels, RTP {exact.numerator}/{exact.denominator} = 90.80%)" in out

    second = library.refresh()
    assert second.catalog_changed and second.installed == ["cherry-blast"] and second.refused == []
    cherry = by_id(library)["cherry-blast"]
    assert cherry.title == "Cherry Blast" and cherry.manifest["rtp"] == f"{exact.numerator}/{exact.denominator}"
    assert cherry.thumbnail is not None and cherry.thumbnail.read_bytes() == THUMBNAIL
    result = play(cherry.definition, cherry.definition.bet_options_units[0], escrow_units=10_000)
    assert result.game_id == "cherry-blast" and result.win_units >= 0

    # Unchanged catalog: central answers 304 with no body, and nothing is downloaded again.
    etag = kiosk_device.cache.get(CATALOG_DOC).etag  # type: ignore[union-attr]
    assert kiosk_device.client.fetch(GAMES_CATALOG_PATH, etag).body is None
    third = library.refresh()
    assert third.online and not third.catalog_changed and third.installed == []

    # A new version replaces the old one in the lobby, still without touching the kiosk's code.
    code, out, _ = publish(central, game_folder(tmp_path, new_game("1.1.0")), capsys)
    assert code == 0
    assert library.refresh().installed == ["cherry-blast"]
    assert by_id(library)["cherry-blast"].version == "1.1.0"


def test_package_urls_are_immutable_and_the_catalog_needs_a_signed_device(central: Central, kiosk_device: Device) -> None:
    catalog = kiosk_device.client.fetch(GAMES_CATALOG_PATH).body
    assert isinstance(catalog, dict)
    game = next(g for g in catalog["games"] if g["id"] == "lucky-keno")
    response = central.client.get(f"{GAME_PACKAGES_PATH}/{game['package_sha256']}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["etag"] == f'"{game["package_sha256"]}"'
    again = central.client.get(f"{GAME_PACKAGES_PATH}/{game['package_sha256']}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    missing = central.client.get(f"{GAME_PACKAGES_PATH}/{'0' * 64}")
    assert missing.status_code == 404 and missing.json()["code"] == "package_not_found"
    assert central.client.get(f"{GAME_PACKAGES_PATH}/not-a-hash").status_code == 404
    unsigned = central.client.get(GAMES_CATALOG_PATH)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "unauthenticated"


def test_publish_refuses_bad_games_in_one_line(central: Central, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert publish(central, game_folder(tmp_path, new_game()), capsys)[0] == 0
    again = tmp_path / "again"
    again.mkdir()
    (again / "game.json").write_text(json.dumps(new_game()))
    (again / "thumbnail.svg").write_bytes(THUMBNAIL)
    code, out, _ = publish(central, again, capsys)
    assert code == 0 and out.startswith("already published")

    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(new_game(top_pay=999)))
    code, _, err = publish(central, changed, capsys)
    assert code == 1 and err.count("\n") == 1 and "already published with other content; give it a new version" in err

    broken = new_game("2.0.0")
    broken["bet_options_units"] = [7]  # does not divide over 10 lines
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken))
    code, _, err = publish(central, bad, capsys)
    assert code == 1 and err.count("\n") == 1 and err.startswith(f"cafe: {bad}: ") and "Traceback" not in err

    code, _, err = publish(central, tmp_path / "nowhere.json", capsys)
    assert code == 1 and err.count("\n") == 1 and "nowhere.json" in err
    assert central.scalar("SELECT count(*) FROM game_packages WHERE game_id = 'cherry-blast'") == 1


def _flip_byte(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_a_tampered_or_badly_signed_package_is_refused(
    central: Central, library: GameLibrary, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    library.refresh()
    assert publish(central, game_folder(tmp_path, new_game()), capsys)[0] == 0
    sha, raw, signature = central.rows("SELECT sha256, package, signature FROM game_packages WHERE game_id = 'cherry-blast'")[0]
    raw = bytes(raw)

    central.execute("UPDATE game_packages SET package = :p WHERE sha256 = :s", p=_flip_byte(raw, len(raw) // 2), s=sha)
    report = library.refresh()
    assert report.installed == [] and len(report.refused) == 1 and "do not hash to the package's address" in report.refused[0]
    assert "cherry-blast" not in by_id(library) and sorted(by_id(library)) == BUILTIN

    keys = load_keys(central.data_dir)
    other_sha = central.scalar("SELECT sha256 FROM game_packages WHERE game_id = 'lucky-keno'")
    wrong_message = encode_b64(keys.signing_key.sign(package_message(other_sha)))
    wrong_key = DeviceKey.generate().sign(package_message(sha))
    for bad_signature in (wrong_message, wrong_key):
        central.execute("UPDATE game_packages SET package = :p, signature = :g WHERE sha256 = :s", p=raw, g=bad_signature, s=sha)
        report = library.refresh()
        assert report.installed == [] and "does not carry central's signature" in report.refused[0]
        assert "cherry-blast" not in by_id(library)

    central.execute("UPDATE game_packages SET signature = :g WHERE sha256 = :s", g=signature, s=sha)
    assert library.refresh().installed == ["cherry-blast"]
    assert "cherry-blast" in by_id(library)


def test_a_package_changed_on_the_kiosk_disk_is_dropped_then_restored(kiosk_device: Device, library: GameLibrary) -> None:
    library.refresh()
    keno = by_id(library)["lucky-keno"]
    stored = kiosk_device.data_dir / "games" / f"{keno.sha256}.pkg"
    stored.write_bytes(_flip_byte(stored.read_bytes(), 100))
    assert sorted(by_id(library)) == ["fruit-fiesta", "gold-rush-scratch"]
    assert any("lucky-keno" in line or keno.sha256[:12] in line for line in library.last_refused)

    # A thumbnail edited on disk is put back from the verified package.
    fiesta = by_id(library)["fruit-fiesta"]
    assert fiesta.thumbnail is not None
    fiesta.thumbnail.write_bytes(b"<svg>defaced</svg>")
    assert by_id(library)["fruit-fiesta"].thumbnail.read_bytes().startswith(b'<svg xmlns=')

    assert library.refresh().installed == ["lucky-keno"]
    assert sorted(by_id(library)) == BUILTIN

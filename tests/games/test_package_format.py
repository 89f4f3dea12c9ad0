"""The package format on its own (pure): deterministic bytes, and what parse_package refuses."""

from __future__ import annotations

import base64
import json

import pytest

from shared.canonical import canonical_json, sha256_hex
from shared.errors import ValidationError
from shared.games.builtin import load_builtin_games
from shared.games.package import PackageRefused, build_package, parse_package


def _repack(raw: bytes, change: object) -> tuple[bytes, str]:
    """The package with ``change(doc)`` applied, re-addressed: what a forger with no signing key could make."""
    doc = json.loads(raw)
    change(doc)  # type: ignore[operator]
    new = canonical_json(doc)
    return new, sha256_hex(new)


def test_the_same_game_always_makes_the_same_package() -> None:
    keno = load_builtin_games()["lucky-keno"]
    first, second = build_package(keno), build_package(keno)
    assert first == second
    package = parse_package(*first)
    assert package.manifest["rtp"] == "1501689/1671956" and package.definition == keno
    assert set(package.files) == {"thumbnail.svg", "sounds/win.wav"}


def test_a_manifest_that_is_not_what_the_math_pays_is_refused() -> None:
    raw, _ = build_package(load_builtin_games()["fruit-fiesta"])

    def richer(doc: dict) -> None:
        doc["manifest"]["rtp"], doc["manifest"]["rtp_percent"] = "99/100", "99.00%"

    with pytest.raises(PackageRefused, match="manifest does not match"):
        parse_package(*_repack(raw, richer))

    def swapped_thumbnail(doc: dict) -> None:
        doc["files"]["thumbnail.svg"] = base64.b64encode(b"<svg/>").decode()

    with pytest.raises(PackageRefused, match="manifest does not match"):
        parse_package(*_repack(raw, swapped_thumbnail))

    def bad_math(doc: dict) -> None:
        doc["definition"]["bet_options_units"] = [7]

    with pytest.raises(PackageRefused, match="malformed"):
        parse_package(*_repack(raw, bad_math))


def test_file_names_must_stay_inside_the_package() -> None:
    scratch = load_builtin_games()["gold-rush-scratch"]
    for name in ("../escape.svg", "/abs.svg", "Upper.svg", "script.exe"):
        with pytest.raises(ValidationError):
            build_package(scratch, {name: b"x"})

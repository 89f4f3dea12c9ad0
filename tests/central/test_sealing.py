"""Data at rest: sealed values open only with their key and in their own field; keys rotate."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from central_server.sealing import DATA_KEYS_FILE, DataKeys, SealingError


def test_sealed_value_opens_only_in_its_own_context(tmp_path: Path) -> None:
    keys = DataKeys.load_or_create(tmp_path)
    token = keys.seal("+1 555 0100", context="player:p1:phone")
    assert "555" not in token
    assert keys.open(token, context="player:p1:phone") == "+1 555 0100"
    with pytest.raises(SealingError, match="another field"):
        keys.open(token, context="player:p2:phone")  # copied into another row: refused


def test_key_file_is_private_and_reloads_the_same_keys(tmp_path: Path) -> None:
    keys = DataKeys.load_or_create(tmp_path)
    token = keys.seal("Ada", context="c")
    assert stat.S_IMODE((tmp_path / DATA_KEYS_FILE).stat().st_mode) == 0o600
    assert DataKeys.load_or_create(tmp_path).open(token, context="c") == "Ada"


def test_rotation_keeps_old_values_readable_and_reseals_to_the_new_key(tmp_path: Path) -> None:
    keys = DataKeys.load_or_create(tmp_path)
    old = keys.seal("Ada", context="c")
    rotated = keys.rotate()
    reloaded = DataKeys.load_or_create(tmp_path)
    assert reloaded.current == rotated.current != keys.current
    assert reloaded.open(old, context="c") == "Ada"
    moved = reloaded.reseal(old, context="c")
    assert reloaded.key_id(moved) == reloaded.current and reloaded.open(moved, context="c") == "Ada"


def test_tampered_value_and_damaged_key_file_are_refused(tmp_path: Path) -> None:
    keys = DataKeys.load_or_create(tmp_path)
    token = keys.seal("Ada", context="c")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(SealingError):
        keys.open(flipped, context="c")
    (tmp_path / DATA_KEYS_FILE).write_text("{not json")
    with pytest.raises(SealingError, match="not a readable data key file"):
        DataKeys.load_or_create(tmp_path)


def test_blind_index_matches_normalised_values_only_under_the_same_key(tmp_path: Path) -> None:
    keys = DataKeys.load_or_create(tmp_path)
    assert keys.blind_index("Ada  Lovelace", purpose="name") == keys.blind_index("ada lovelace", purpose="name")
    assert keys.blind_index("ada lovelace", purpose="name") != keys.blind_index("ada lovelace", purpose="phone")
    assert DataKeys.generate().blind_index("ada lovelace", purpose="name") != keys.blind_index("ada lovelace", purpose="name")

"""Ids made on a device: UUIDv7, lower-case text, ordered by the time they were made."""

from __future__ import annotations

import time
import uuid

import pytest
import uuid6

from shared.errors import ValidationError
from shared.ids import check_id, id_timestamp_ms, new_id


def test_new_id_is_a_lower_case_rfc_9562_uuid_v7():
    value = new_id()
    parsed = uuid.UUID(value)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert value == str(parsed) == value.lower()
    assert check_id(value) == value


def test_the_timestamp_in_an_id_is_when_it_was_made():
    before_ms = time.time_ns() // 1_000_000
    value = new_id()
    after_ms = time.time_ns() // 1_000_000
    # ids are bumped forward by a millisecond at most per id made in the same millisecond,
    # so the timestamp is never before the call and never far after it
    assert before_ms <= id_timestamp_ms(value) <= after_ms + 60_000


def test_ids_made_later_sort_later_and_never_repeat():
    made = [new_id() for _ in range(5000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    stamps = [id_timestamp_ms(v) for v in made]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize(
    "value",
    [
        str(uuid.uuid4()),
        str(uuid.uuid1()),
        str(uuid6.uuid6()),
        new_id().upper(),
        new_id() + "\n",
        " " + new_id(),
        new_id().replace("-", ""),
        "{" + new_id() + "}",
        new_id()[:-1],
        "00000000-0000-0000-0000-000000000000",
        "",
        None,
        12,
        uuid6.uuid7(),  # a UUID object, not text
    ],
    # Fixed names: the values are made at collection, and every test worker must collect the same tests.
    ids=["v4", "v1", "v6", "upper-case", "newline", "leading-space", "no-dashes", "braces", "short", "nil", "empty",
         "none", "int", "uuid-object"],
)
def test_check_id_refuses_anything_but_uuid_v7_text(value):
    with pytest.raises(ValidationError, match="UUIDv7"):
        check_id(value, "entry id")


def test_check_id_refuses_the_wrong_variant():
    value = new_id()
    wrong_variant = value[:19] + "c" + value[20:]  # variant bits 110 (Microsoft), not 10
    with pytest.raises(ValidationError):
        check_id(wrong_variant)


def test_id_timestamp_refuses_non_v7():
    with pytest.raises(ValidationError):
        id_timestamp_ms(str(uuid.uuid4()))

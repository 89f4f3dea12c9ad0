"""Journal entries: hashed, linked, and refused when anything about them was changed."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shared.bodies import BODY_TYPES, Body, Mint, Sale, Void
from shared.canonical import canonical_json, parse_canonical, parse_json, sha256_hex
from shared.entry import (
    ENTRY_FIELDS,
    GENESIS_HASH,
    JournalEntry,
    chain_problems,
    check_postings,
    entry_hash,
    make_entry,
    utc_timestamp,
)
from shared.errors import CafeError, IntegrityError, ValidationError
from shared.ids import new_id
from shared.ledger import Posting, move
from tests.test_bodies import EXAMPLES

DEVICE = "pos-loc1-1"


def _postings_for(body: Body) -> tuple[Posting, ...] | None:
    # a void's postings are the reversal of what it voids; here, a sale's
    return tuple(p.reversed() for p in EXAMPLES["sale"].postings() or ()) if body.kind == "void" else None


def entry_for(body: Body, seq: int = 1, prev_hash: str = GENESIS_HASH, device_id: str = DEVICE) -> JournalEntry:
    return make_entry(device_id=device_id, seq=seq, prev_hash=prev_hash, body=body, actor="cashier:c-1", postings=_postings_for(body))


def parse_entry(data: Any) -> JournalEntry:
    """``JournalEntry.from_json``, and ingest's path must agree with it: the same entry or the same refusal.

    Ingest parses a whole batch with ``parse_json`` (which checks every type once) and then
    each entry with ``types_checked=True``, hashing what was sent instead of re-encoding it.
    """
    try:
        expected = JournalEntry.from_json(data)
    except CafeError as exc:
        with pytest.raises(type(exc) if not isinstance(exc, ValidationError) else ValidationError):
            JournalEntry.from_json_canonical(parse_json(json.dumps(data)), types_checked=True)
        raise
    entry, canonical = JournalEntry.from_json_canonical(parse_json(json.dumps(data)), types_checked=True)
    assert entry == expected
    assert sha256_hex(canonical) == entry.hash and canonical == canonical_json(entry.unhashed_json())
    return expected


def chain(n: int, device_id: str = DEVICE) -> list[JournalEntry]:
    kinds = sorted(BODY_TYPES)
    entries: list[JournalEntry] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        entries.append(entry_for(EXAMPLES[kinds[seq % len(kinds)]], seq, prev, device_id))
        prev = entries[-1].hash
    return entries


@pytest.mark.parametrize("kind", sorted(BODY_TYPES))
def test_entry_round_trips_through_json_for_every_kind(kind):
    entry = entry_for(EXAMPLES[kind], seq=3, prev_hash="1f" * 32)
    assert parse_entry(entry.to_json()) == entry
    # the export line parses back to the same entry too
    line = entry.canonical()
    assert line == canonical_json(entry.to_json())
    assert parse_entry(parse_canonical(line)) == entry
    assert set(entry.to_json()) == set(ENTRY_FIELDS)


@pytest.mark.parametrize("kind", sorted(BODY_TYPES))
def test_hash_is_sha256_of_the_canonical_entry_without_its_hash(kind):
    """What an auditor with nothing but hashlib and json would compute."""
    entry = entry_for(EXAMPLES[kind])
    data = entry.to_json()
    del data["hash"]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert entry.hash == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert entry.hash == entry_hash(entry.unhashed_json())


def test_make_entry_fills_in_id_time_and_postings():
    before = utc_timestamp()
    entry = entry_for(EXAMPLES["sale"])
    assert entry.kind == "sale"
    assert entry.postings == EXAMPLES["sale"].postings()
    assert before <= entry.created_at <= utc_timestamp()
    other = entry_for(EXAMPLES["sale"])
    assert other.id != entry.id and other.id > entry.id
    given_id = new_id()
    fixed = make_entry(device_id=DEVICE, seq=1, prev_hash=GENESIS_HASH, body=EXAMPLES["mint"], actor="ho-admin",
                       entry_id=given_id, created_at="2026-01-02T03:04:05.000006Z")
    assert (fixed.id, fixed.created_at) == (given_id, "2026-01-02T03:04:05.000006Z")


def test_utc_timestamp_is_fixed_width_utc_and_refuses_naive_times():
    moment = datetime(2026, 11, 25, 9, 10, 11, 123456, tzinfo=timezone(timedelta(hours=-5)))
    assert utc_timestamp(moment) == "2026-11-25T14:10:11.123456Z"
    assert utc_timestamp(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"
    with pytest.raises(ValidationError, match="timezone-aware"):
        utc_timestamp(datetime(2026, 1, 1))


# -- any change is refused -----------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


def _spelling(value: Any) -> str:
    return json.dumps(value, sort_keys=True)  # tells True from 1, unlike ==


@st.composite
def tweaked(draw, value: Any) -> Any:
    """``value`` changed a little (one character, one off) or replaced by any JSON value."""
    if isinstance(value, str) and value and draw(st.booleans()):
        index = draw(st.integers(min_value=0, max_value=len(value) - 1))
        return value[:index] + draw(st.sampled_from("0123456789abcdefABC-:._ \n")) + value[index + 1:]
    if isinstance(value, int) and not isinstance(value, bool) and draw(st.booleans()):
        return value + draw(st.sampled_from([-1, 1, 2, -value, 10**20]))
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        changed = dict(value)
        if draw(st.booleans()):
            del changed[key]  # includes dropping a field that has a default
        else:
            changed[key] = draw(tweaked(value[key]))
        return changed
    if isinstance(value, list) and value and draw(st.booleans()):
        index = draw(st.integers(min_value=0, max_value=len(value) - 1))
        action = draw(st.sampled_from(["drop", "duplicate", "change", "reverse"]))
        items = list(value)
        if action == "drop":
            del items[index]
        elif action == "duplicate":
            items.insert(index, items[index])
        elif action == "reverse":
            items.reverse()
        else:
            items[index] = draw(tweaked(value[index]))
        return items
    return draw(JSON_VALUES)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    kind=st.sampled_from(sorted(BODY_TYPES)),
    seq=st.integers(min_value=1, max_value=4),
    field=st.sampled_from(ENTRY_FIELDS),
    data=st.data(),
)
def test_changing_any_field_makes_from_json_fail(kind, seq, field, data):
    entry = entry_for(EXAMPLES[kind], seq=seq, prev_hash=GENESIS_HASH if seq == 1 else "7a" * 32)
    original = entry.to_json()
    changed = copy.deepcopy(original)
    changed[field] = data.draw(tweaked(original[field]), label=f"new {field}")
    assume(_spelling(changed) != _spelling(original))
    with pytest.raises((IntegrityError, ValidationError)):
        parse_entry(changed)


def test_dropping_a_body_field_that_has_a_default_is_refused():
    entry = entry_for(EXAMPLES["sale"])
    data = entry.to_json()
    del data["body"]["tender"]  # would parse back to tender="cash" and the same hash
    with pytest.raises(IntegrityError, match="what its hash covers"):
        parse_entry(data)


@pytest.mark.parametrize(("kind", "name"), [(kind, name) for kind in sorted(BODY_TYPES) for name in EXAMPLES[kind].to_json()])
def test_dropping_any_body_field_is_refused(kind, name):
    data = entry_for(EXAMPLES[kind]).to_json()
    del data["body"][name]
    with pytest.raises((IntegrityError, ValidationError)):
        parse_entry(data)


@pytest.mark.parametrize("field", ENTRY_FIELDS)
def test_a_missing_field_is_refused(field):
    data = entry_for(EXAMPLES["mint"]).to_json()
    del data[field]
    with pytest.raises(ValidationError, match="exactly the fields"):
        parse_entry(data)


def test_an_extra_field_or_a_non_object_is_refused():
    data = entry_for(EXAMPLES["mint"]).to_json()
    with pytest.raises(ValidationError, match="exactly the fields"):
        parse_entry({**data, "signature": "x"})
    for not_entry in (None, [data], "entry"):
        with pytest.raises(ValidationError, match="JSON object"):
            parse_entry(not_entry)


def test_a_changed_hash_is_an_integrity_error():
    data = entry_for(EXAMPLES["mint"]).to_json()
    data["hash"] = "0" * 64
    with pytest.raises(IntegrityError, match="hash does not match"):
        parse_entry(data)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"seq": 0}, "seq"),
        ({"seq": -3}, "seq"),
        ({"seq": True}, "seq"),
        ({"seq": 2**63}, "64-bit"),
        ({"prev_hash": "ab" * 32}, "genesis"),
        ({"prev_hash": "AB" * 32, "seq": 2}, "prev_hash"),
        ({"prev_hash": GENESIS_HASH + "\n", "seq": 2}, "prev_hash"),
        ({"created_at": "2026-01-02 03:04:05"}, "created_at"),
        ({"created_at": "2026-01-02T03:04:05.000006+00:00"}, "created_at"),
        ({"created_at": "2026-01-02T03:04:05.000006Z\n"}, "created_at"),
        ({"actor": ""}, "actor"),
        ({"actor": "bad actor"}, "actor"),
        ({"device_id": "dev/1"}, "device_id"),
        ({"device_id": None}, "device_id"),
        ({"entry_id": "7f8f64d1-6a58-4c8b-9a1d-0b5c4f1e2d3a"}, "UUIDv7"),
    ],
)
def test_bad_fields_are_refused_when_making_an_entry(changes, match):
    args: dict[str, Any] = {"device_id": DEVICE, "seq": 1, "prev_hash": GENESIS_HASH, "body": EXAMPLES["mint"], "actor": "ho-admin"}
    args |= changes
    with pytest.raises(ValidationError, match=match):
        make_entry(**args)


def test_kind_must_match_the_body():
    data = entry_for(EXAMPLES["session_checkout"]).to_json()
    data["kind"] = "session_checkin"  # same fields, opposite direction
    with pytest.raises((ValidationError, IntegrityError)):
        parse_entry(data)
    entry = entry_for(EXAMPLES["mint"])
    with pytest.raises(ValidationError, match="does not match its 'mint' body"):
        dataclasses.replace(entry, kind="sale").check()
    data = entry.to_json()
    data["kind"] = 5
    with pytest.raises(ValidationError, match="kind must be text"):
        parse_entry(data)


# -- postings against the body -------------------------------------------------------------

SALE = EXAMPLES["sale"]


@pytest.mark.parametrize(
    "postings",
    [
        tuple(p.reversed() for p in SALE.postings() or ()),                                  # the opposite direction
        (SALE.postings() or ())[:2],                                                         # the cash leg left out
        (*(SALE.postings() or ()), *move("CR", 1, "float:loc-1", "wallet:someone-else")),    # balanced, but more
        move("CR", 2000, "float:loc-1", "wallet:p-2") + (SALE.postings() or ())[2:],         # another player's wallet
        tuple(reversed(SALE.postings() or ())),                                              # same lines, other order
    ],
)
def test_postings_that_do_not_match_the_body_are_refused(postings):
    with pytest.raises(ValidationError, match="do not match what its body implies"):
        make_entry(device_id=DEVICE, seq=1, prev_hash=GENESIS_HASH, body=SALE, actor="c-1", postings=postings)
    with pytest.raises(ValidationError):
        check_postings(SALE, postings)


def test_a_void_needs_explicit_balanced_postings():
    void = EXAMPLES["void"]
    with pytest.raises(ValidationError, match="must be given their postings"):
        make_entry(device_id=DEVICE, seq=1, prev_hash=GENESIS_HASH, body=void, actor="mgr-1")
    with pytest.raises(ValidationError, match="at least one posting"):
        make_entry(device_id=DEVICE, seq=1, prev_hash=GENESIS_HASH, body=void, actor="mgr-1", postings=())
    with pytest.raises(ValidationError, match="do not balance"):
        make_entry(device_id=DEVICE, seq=1, prev_hash=GENESIS_HASH, body=void, actor="mgr-1",
                   postings=[Posting("wallet:p-1", "CR", -2000)])
    reversal = [p.reversed() for p in SALE.postings() or ()]
    entry = make_entry(device_id=DEVICE, seq=1, prev_hash=GENESIS_HASH, body=void, actor="mgr-1", postings=reversal)
    assert entry.postings == tuple(reversal)
    assert parse_entry(entry.to_json()) == entry
    # and a void read back with unbalanced postings is refused too
    data = entry.to_json()
    data["postings"] = data["postings"][:1]
    with pytest.raises(ValidationError, match="do not balance"):
        parse_entry(data)


def test_an_adjustment_carries_its_lines_as_postings():
    entry = entry_for(EXAMPLES["adjustment"])
    assert [p.to_json() for p in entry.postings] == EXAMPLES["adjustment"].to_json()["lines"]


# -- chains ----------------------------------------------------------------------------------


def test_an_intact_chain_has_no_problems():
    entries = chain(6)
    assert entries[0].prev_hash == GENESIS_HASH
    assert chain_problems(entries) == []
    assert chain_problems([]) == []
    # a slice that continues a known head checks too
    assert chain_problems(entries[3:], start_seq=4, start_hash=entries[2].hash) == []


def _problems(entries, **kwargs) -> list[tuple[int, str]]:
    return [(p.seq, p.problem) for p in chain_problems(entries, **kwargs)]


def test_a_seq_gap_is_found():
    entries = chain(6)
    problems = _problems(entries[:2] + entries[3:])
    assert (4, "seq 4 where 3 was expected") in problems
    assert (4, "prev_hash does not link to the entry before") in problems


def test_a_broken_link_is_found():
    entries = chain(4)
    # a correctly hashed entry that links to the wrong predecessor
    forged = make_entry(device_id=DEVICE, seq=3, prev_hash="ee" * 32, body=Mint(node_id="x", amount_units=1, reason="r"), actor="a")
    assert _problems([*entries[:2], forged]) == [(3, "prev_hash does not link to the entry before")]


def test_a_changed_hash_is_found_at_the_entry_and_the_next_one():
    entries = chain(4)
    entries[1] = dataclasses.replace(entries[1], hash="ab" * 32)
    problems = _problems(entries)
    assert (2, "hash does not match the entry's content") in problems
    assert (3, "prev_hash does not link to the entry before") in problems
    assert [seq for seq, _ in problems] == [2, 3]


def test_changed_content_under_the_old_hash_is_found():
    entries = chain(3)
    entries[1] = dataclasses.replace(entries[1], actor="someone-else")
    assert _problems(entries) == [(2, "hash does not match the entry's content")]


def test_reordered_entries_and_foreign_devices_are_found():
    entries = chain(4)
    swapped = [entries[0], entries[2], entries[1], entries[3]]
    assert {seq for seq, _ in _problems(swapped)} == {2, 3, 4}
    foreign = chain(2, device_id="pos-other")
    problems = _problems([entries[0], foreign[1]])
    assert (2, "belongs to device pos-other, not pos-loc1-1") in problems


def test_a_slice_that_does_not_continue_the_head_is_found():
    entries = chain(4)
    assert _problems(entries[2:], start_seq=3, start_hash="00" * 32) == [(3, "prev_hash does not link to the entry before")]
    assert (3, "seq 3 where 2 was expected") in _problems(entries[2:], start_seq=2, start_hash=entries[1].hash)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=2, max_value=8), st.data())
def test_any_single_removed_or_changed_entry_breaks_the_chain(n, data):
    entries = chain(n)
    if data.draw(st.booleans()):
        # dropping the newest entry is a shorter valid chain; the signed head catches that
        index = data.draw(st.integers(min_value=0, max_value=n - 2))
        broken = entries[:index] + entries[index + 1:]
    else:
        index = data.draw(st.integers(min_value=0, max_value=n - 1))
        broken = list(entries)
        broken[index] = dataclasses.replace(broken[index], created_at="2000-01-01T00:00:00.000000Z")
    assert chain_problems(broken) != []


def test_entries_are_immutable():
    entry = entry_for(Sale.from_json(SALE.to_json()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.seq = 2  # type: ignore[misc]
    assert isinstance(EXAMPLES["void"], Void)

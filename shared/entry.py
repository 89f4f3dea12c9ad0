"""Journal entries: the format every device writes and central ingests (DESIGN §3).

``hash = sha256(canonical_json(entry without hash))`` and ``prev_hash`` is the hash of the
entry before it on the same device (64 zeros for seq 1), so the newest hash commits to
the whole history: one signature over ``(device_id, seq, hash)`` covers every entry.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.bodies import Body, body_fields, parse_body
from shared.canonical import canonical_json, canonical_json_of_checked, sha256_hex
from shared.errors import IntegrityError, ValidationError
from shared.ids import check_id, new_id
from shared.ledger import Posting, check_balanced

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
GENESIS_HASH = "0" * 64
"""``prev_hash`` of a device's first entry."""

ENTRY_FIELDS = ("id", "device_id", "seq", "prev_hash", "kind", "created_at", "actor", "body", "postings", "hash")
_HASH_RE = re.compile(r"^[0-9a-f]{64}\Z")
_TIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\Z")
_ACTOR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}\Z")


def utc_timestamp(moment: datetime | None = None) -> str:
    """``2026-11-25T09:10:11.123456Z``: fixed width, so text order is time order."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValidationError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_utc_timestamp(text: str) -> datetime:
    """The moment a ``utc_timestamp`` string names, timezone-aware."""
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def check_hash(value: object, what: str) -> str:
    if not isinstance(value, str) or not _HASH_RE.match(value):
        raise ValidationError(f"{what} must be 64 lower-case hex digits")
    return value


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One fact a device recorded, hashed and linked to the one before it."""

    id: str
    device_id: str
    seq: int
    prev_hash: str
    kind: str
    created_at: str
    actor: str
    body: Body
    postings: tuple[Posting, ...]
    hash: str

    def unhashed_json(self) -> dict[str, Any]:
        """The entry as JSON without ``hash``: exactly what the hash is computed over."""
        return {
            "id": self.id,
            "device_id": self.device_id,
            "seq": self.seq,
            "prev_hash": self.prev_hash,
            "kind": self.kind,
            "created_at": self.created_at,
            "actor": self.actor,
            "body": self.body.to_json(),
            "postings": [p.to_json() for p in self.postings],
        }

    def _unhashed_json_view(self) -> dict[str, Any]:
        """``unhashed_json()`` for reading only: the body's lists and dicts are its own, not copies.

        ``dataclasses.asdict`` deep-copies every field, the largest cost of parsing an entry;
        this view is hashed and compared, never handed out. A body kind with its own
        ``to_json`` (one that leaves a field out) is asked for it as usual.
        """
        body = self.body
        if type(body).to_json is not Body.to_json:
            return self.unhashed_json()
        return {
            "id": self.id, "device_id": self.device_id, "seq": self.seq, "prev_hash": self.prev_hash, "kind": self.kind,
            "created_at": self.created_at, "actor": self.actor,
            "body": _body_view(body),
            "postings": [p.to_json() for p in self.postings],
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.unhashed_json(), "hash": self.hash}

    def canonical(self) -> bytes:
        """The whole entry, hash included, as canonical JSON (one line of an export)."""
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, data: object) -> JournalEntry:
        """Parse and fully check an entry: every field, the body, the postings and the hash."""
        return cls.from_json_canonical(data)[0]

    @classmethod
    def from_json_canonical(cls, data: object, *, types_checked: bool = False) -> tuple[JournalEntry, bytes]:
        """``from_json``, and the canonical JSON of the entry without its hash (what the hash covers).

        The entry is serialised once: that one encoding is hashed, compared with what was
        sent, and handed back so a caller that stores it does not encode it again.
        ``types_checked`` says ``data`` came from ``parse_json``, which already refused
        every type without one canonical spelling, so it is encoded as sent, unchecked.
        """
        if not isinstance(data, dict):
            raise ValidationError("an entry must be a JSON object")
        if data.keys() != _ENTRY_FIELD_SET:
            raise ValidationError(f"an entry must have exactly the fields {', '.join(ENTRY_FIELDS)}")
        raw_postings = data["postings"]
        if not isinstance(raw_postings, list):
            raise ValidationError("postings must be a list")
        kind = data["kind"]
        body = parse_body(kind, data["body"]) if isinstance(kind, str) else _bad_kind(kind)
        implied = body.postings()
        # Most kinds imply their postings: when what was sent is exactly those, the
        # checked postings the body built stand for them, and nothing is parsed twice.
        matched = implied is not None and _same_postings(raw_postings, implied)
        entry = cls(
            id=data["id"], device_id=data["device_id"], seq=data["seq"], prev_hash=data["prev_hash"],
            kind=kind, created_at=data["created_at"], actor=data["actor"], body=body,
            postings=implied if matched and implied is not None else tuple(Posting.from_json(p) for p in raw_postings),
            hash=data["hash"],
        )
        entry._check_fields()
        if not matched:
            check_postings(body, entry.postings)
        if types_checked:
            canonical = canonical_json_of_checked({name: value for name, value in data.items() if name != "hash"})
            # The other fields are the very values sent, and the postings were matched or
            # parsed strictly; only the body can differ from what was sent.
            if type(body).to_json is Body.to_json:
                same = _body_view(body) == data["body"]
            else:
                same = {**entry._unhashed_json_view(), "hash": entry.hash} == data
        else:
            unhashed = entry._unhashed_json_view()
            canonical = canonical_json(unhashed)
            same = {**unhashed, "hash": entry.hash} == data
        entry._check_hash(canonical)
        # The hash was checked over the entry; a body field left out in favour of its
        # default would parse to the same entry, so also insist on exactly what was sent.
        if not same:
            raise IntegrityError(f"entry {entry.device_id}#{entry.seq} as sent is not what its hash covers (a field is missing)")
        return entry, canonical

    def check(self) -> None:
        """Refuse an entry whose fields, postings or hash are wrong."""
        self._check_against(self.unhashed_json())

    def _check_against(self, unhashed: dict[str, Any]) -> bytes:
        """``check`` with the entry's ``unhashed_json()`` already built; its canonical JSON."""
        self._check_fields()
        check_postings(self.body, self.postings)
        return self._check_hash(canonical_json(unhashed))

    def _check_fields(self) -> None:
        """Every field but the postings and the hash."""
        check_id(self.id, "entry id")
        _check_device_id(self.device_id)
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 1:
            raise ValidationError(f"seq must be a whole number from 1, got {self.seq!r}")
        check_hash(self.prev_hash, "prev_hash")
        if self.seq == 1 and self.prev_hash != GENESIS_HASH:
            raise ValidationError("the first entry of a device must have the genesis prev_hash")
        if not isinstance(self.created_at, str) or not _TIME_RE.match(self.created_at):
            raise ValidationError("created_at must be UTC like 2026-11-25T09:10:11.123456Z")
        if not isinstance(self.actor, str) or not _is_actor(self.actor):
            raise ValidationError(f"actor {self.actor!r} is not a valid actor reference")
        if self.kind != self.body.kind:
            raise ValidationError(f"entry kind {self.kind!r} does not match its {self.body.kind!r} body")

    def _check_hash(self, canonical: bytes) -> bytes:
        check_hash(self.hash, "hash")
        if self.hash != sha256_hex(canonical):
            raise IntegrityError(f"entry {self.device_id}#{self.seq} hash does not match its content")
        return canonical


_ENTRY_FIELD_SET = frozenset(ENTRY_FIELDS)


def _same_postings(raw: list[Any], postings: Sequence[Posting]) -> bool:
    """``raw`` is exactly ``postings`` as JSON: same order, same values, an amount that is a real int."""
    if len(raw) != len(postings):
        return False
    for sent, posting in zip(raw, postings, strict=True):
        if type(sent) is not dict or len(sent) != 3:
            return False
        amount = sent.get("amount_units")
        if (type(amount) is not int or amount != posting.amount_units or sent.get("account") != posting.account
                or sent.get("unit") != posting.unit):
            return False
    return True


def _body_view(body: Body) -> dict[str, Any]:
    """A body's fields as they are (no copies), to compare with what was sent."""
    return {name: getattr(body, name) for name in body_fields(type(body))[0]}


@functools.lru_cache(maxsize=4096)
def _is_actor(value: str) -> bool:
    # Cached: every entry of a batch names the same device, and a shift's entries the same cashier.
    return _ACTOR_RE.match(value) is not None


def _bad_kind(kind: object) -> Body:
    raise ValidationError(f"kind must be text, got {kind!r}")


def _check_device_id(value: object) -> str:
    if not isinstance(value, str) or not _is_actor(value):
        raise ValidationError(f"device_id {value!r} is not a valid device reference")
    return value


def check_postings(body: Body, postings: Sequence[Posting]) -> None:
    """The postings must balance and, where the body decides them, be exactly those."""
    expected = body.postings()
    if expected is None:
        check_balanced(postings)
        return
    if tuple(postings) != tuple(expected):
        raise ValidationError(f"{body.kind} postings do not match what its body implies")


def entry_hash(unhashed: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an entry without its ``hash`` field."""
    assert "hash" not in unhashed, "the hash is computed over the entry without its hash"
    return sha256_hex(canonical_json(unhashed))


def make_entry(
    *,
    device_id: str,
    seq: int,
    prev_hash: str,
    body: Body,
    actor: str,
    postings: Iterable[Posting] | None = None,
    created_at: str | None = None,
    entry_id: str | None = None,
) -> JournalEntry:
    """Build a checked, hashed entry; postings default to what the body implies."""
    implied = body.postings()
    if postings is None:
        if implied is None:
            raise ValidationError(f"{body.kind} entries must be given their postings")
        postings = implied
    draft = JournalEntry(
        id=entry_id or new_id(), device_id=device_id, seq=seq, prev_hash=prev_hash, kind=body.kind,
        created_at=created_at or utc_timestamp(), actor=actor, body=body, postings=tuple(postings), hash="",
    )
    unhashed = draft.unhashed_json()  # the same for the hashed entry: the hash is not part of it
    entry = JournalEntry(**{**_fields(draft), "hash": entry_hash(unhashed)})
    entry._check_against(unhashed)
    return entry


def _fields(entry: JournalEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in ENTRY_FIELDS}


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int
    problem: str


def chain_problems(entries: Iterable[JournalEntry], *, start_seq: int = 1, start_hash: str = GENESIS_HASH) -> list[ChainProblem]:
    """Every break in a device's chain: a seq out of order, a wrong link, a bad hash.

    ``start_seq``/``start_hash`` let a caller check a slice that continues a known head.
    """
    problems: list[ChainProblem] = []
    expected_seq, expected_prev = start_seq, start_hash
    device: str | None = None
    for entry in entries:
        device = device or entry.device_id
        if entry.device_id != device:
            problems.append(ChainProblem(entry.seq, f"belongs to device {entry.device_id}, not {device}"))
        if entry.seq != expected_seq:
            problems.append(ChainProblem(entry.seq, f"seq {entry.seq} where {expected_seq} was expected"))
        if entry.prev_hash != expected_prev:
            problems.append(ChainProblem(entry.seq, "prev_hash does not link to the entry before"))
        if entry_hash(entry.unhashed_json()) != entry.hash:
            problems.append(ChainProblem(entry.seq, "hash does not match the entry's content"))
        expected_seq, expected_prev = entry.seq + 1, entry.hash
    return problems

"""Journal ingest: where every device's journal becomes the one ledger, exactly once (DESIGN §4).

A batch is parsed and checked first, without the database (``parse``), then applied in
one transaction (``apply``). Per entry:

* the next seq with the right ``prev_hash`` → applied (stored, posted, projected);
* a seq central holds with the same hash → duplicate, nothing changes;
* a seq central holds with another hash (fork), a broken link or hash, a bad head
  signature, or an entry outside the device's authority (a kind its role does not write,
  another device's or location's ids, a void of another device's entry:
  ``shared.device_authority``) → the whole batch is refused and the device quarantined;
* a seq beyond the next → gap: nothing applied, the answer names the seq to resend from.

The device row is locked for the batch (``SELECT … FOR UPDATE`` on PostgreSQL, the
write lock on SQLite), so two instances receiving the same batch apply it once: the
second sees the first's head and answers duplicate. The unique constraints on
``(device_id, seq)`` and on the entry id stand behind that.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Connection

from central_server.device_config.service import effective_limits
from central_server.devices import repository as devices_repo
from central_server.devices.service import AuthedDevice, Quarantined
from central_server.errors import ApiError, Conflict, Forbidden, PayloadTooLarge
from central_server.games import pools
from central_server.ingest import repository as repo
from central_server.ingest.schemas import HeadBody
from central_server.ledger import service as ledger
from central_server.players import service as players
from central_server.sessions import service as sessions
from shared.bodies import Redemption, SessionCheckout, ShiftClose, Void, VoucherIssue, VoucherRedemption
from shared.canonical import parse_canonical, parse_json
from shared.device_authority import authority_refusal
from shared.entry import JournalEntry, utc_timestamp
from shared.errors import IntegrityError, ValidationError
from shared.ledger import Posting
from shared.money import format_units
from shared.protocol import MAX_BATCH_ENTRIES, EntryResult, IngestResponse
from shared.signing import decode_b64, verify_head


def parse_batch(body: bytes) -> tuple[list[Any], HeadBody | None]:
    """The raw entries and the head of an ingest body; malformed → 422, too many → 413."""
    data = parse_json(body)
    if not isinstance(data, dict) or not set(data) <= {"entries", "head"} or "entries" not in data:
        raise ValidationError('an ingest body is {"entries": [...], "head": {"seq", "hash", "signature"}}')
    entries = data["entries"]
    if not isinstance(entries, list):
        raise ValidationError("entries must be a list")
    if len(entries) > MAX_BATCH_ENTRIES:
        raise PayloadTooLarge(f"a batch holds at most {MAX_BATCH_ENTRIES} entries, got {len(entries)}")
    head = None
    if data.get("head") is not None:
        try:
            head = HeadBody.model_validate(data["head"])
        except PydanticValidationError as exc:
            raise ValidationError(f"head is malformed: {exc.errors()[0]['msg']}") from exc
    if entries and head is None:
        raise ValidationError("a batch with entries needs the signed head of its last entry")
    return entries, head


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """An ingest body checked as far as it can be without the database.

    ``refusal`` is why the batch must be refused with the device quarantined (a bad
    entry hash, a broken link inside the batch, an entry outside the device's
    authority); the refusal's answer names central's head for the device, so
    ``apply`` raises it once it has read the device's row.
    """

    entries: tuple[JournalEntry, ...]
    stored_data: dict[int, str]
    head: HeadBody | None
    refusal: str | None = None


def parse(body: bytes, device: AuthedDevice) -> ParsedBatch:
    """Every entry of a batch fully checked (fields, body, postings, hash, links, the device's authority), with no
    database access, so it can run before the batch's transaction takes the device's lock; malformed → 422, too many → 413."""
    raw_entries, head = parse_batch(body)
    try:
        entries, stored_data = _parse_entries(raw_entries, device)
        _check_links(entries)
    except _Refusal as refusal:
        return ParsedBatch((), {}, head, refusal=refusal.reason)
    if entries:
        assert head is not None
        if (head.seq, head.hash) != (entries[-1].seq, entries[-1].hash):
            raise ValidationError("head must name the seq and hash of the batch's last entry")
    return ParsedBatch(tuple(entries), stored_data, head)


def apply(conn: Connection, device: AuthedDevice, batch: ParsedBatch) -> IngestResponse:
    """Apply a parsed batch in ``conn``'s transaction, with the device's row locked, exactly once."""
    row = devices_repo.get_device(conn, device.id, for_update=True)
    assert row is not None, "an authenticated device exists"
    if row.status != "active":
        raise Forbidden(f"device {device.id} is {row.status}", code=f"device_{row.status}")
    last_seq, last_hash = int(row.last_seq), str(row.last_hash)

    def reject(reason: str) -> Quarantined:
        response = IngestResponse(status="rejected", results=(), acked_through=last_seq, reason=reason)
        return Quarantined(device.id, reason, response.to_json())

    if batch.refusal is not None:
        raise reject(batch.refusal)
    entries, stored_data, head = batch.entries, batch.stored_data, batch.head
    if not entries:
        return IngestResponse(status="ok", results=(), acked_through=last_seq)
    assert head is not None
    if not verify_head(decode_b64(row.public_key), device.id, head.seq, head.hash, head.signature):
        raise reject(f"head signature for seq {head.seq} does not verify")

    results: list[EntryResult] = []
    seq, current_hash = last_seq, last_hash
    held = repo.stored_hashes(conn, device.id, entries[0].seq, last_seq) if entries[0].seq <= last_seq else {}
    plain: list[tuple[JournalEntry, str, str | None]] = []  # entries that only post: written together, in order, before anything else reads
    for entry in entries:
        if entry.seq <= last_seq:
            if held.get(entry.seq) != entry.hash:
                raise reject(f"fork at seq {entry.seq}: central holds a different entry there")
            results.append(EntryResult(entry.seq, entry.id, "duplicate"))
            continue
        if entry.seq != seq + 1:
            gap = IngestResponse(status="gap", results=(), acked_through=last_seq, expected_seq=seq + 1,
                                 reason=f"seq {entry.seq} where {seq + 1} was expected")
            raise ApiError(f"gap: resend from seq {seq + 1}", code="gap", http_status=409, extra=gap.to_json())
        if entry.prev_hash != current_hash:
            raise reject(f"broken chain at seq {entry.seq}: prev_hash does not link to seq {seq}")
        data = stored_data[entry.seq]
        signature = head.signature if entry.seq == head.seq else None
        if _posts_only(entry):
            plain.append((entry, data, signature))
        else:
            _apply_plain(conn, plain)
            plain.clear()
            try:
                _apply(conn, entry, data, signature)
            except _Refusal as refusal:
                raise reject(refusal.reason) from None
        results.append(EntryResult(entry.seq, entry.id, "applied"))
        seq, current_hash = entry.seq, entry.hash
    _apply_plain(conn, plain)
    if seq != last_seq and not devices_repo.advance_head(conn, device.id, from_seq=last_seq, to_seq=seq, to_hash=current_hash):
        raise Conflict("another request advanced this device's journal at the same time; retry")
    return IngestResponse(status="ok", results=tuple(results), acked_through=seq)


class _Refusal(Exception):
    """Inside ``parse``: the batch is refused and the device quarantined, for ``reason``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _parse_entries(raw_entries: Sequence[Any], device: AuthedDevice) -> tuple[list[JournalEntry], dict[int, str]]:
    """Every entry fully checked (fields, body, postings, hash, authority), and by seq the canonical JSON to store."""
    entries: list[JournalEntry] = []
    stored_data: dict[int, str] = {}
    for index, raw in enumerate(raw_entries):
        try:
            entry, canonical = JournalEntry.from_json_canonical(raw, types_checked=True)  # parse_batch checked them
        except IntegrityError as exc:
            raise _Refusal(f"entry {index}: {exc.message}") from exc
        except ValidationError as exc:
            raise ValidationError(f"entry {index}: {exc.message}") from exc
        if entry.device_id != device.id:
            raise ValidationError(f"entry {index} belongs to device {entry.device_id}, not to the signing device")
        refusal = authority_refusal(entry.body, role=device.role, device_id=device.id, location_id=device.location_id)
        if refusal is not None:
            raise _Refusal(f"entry {index} (seq {entry.seq}): {refusal}")
        entries.append(entry)
        stored_data[entry.seq] = canonical.decode("utf-8")  # seqs are unique once _check_links has passed
    return entries, stored_data


def _check_links(entries: Sequence[JournalEntry]) -> None:
    """Inside one batch the entries must be consecutive and linked."""
    for before, after in itertools.pairwise(entries):
        if after.seq != before.seq + 1:
            raise ValidationError(f"batch entries must be consecutive: seq {after.seq} follows {before.seq}")
        if after.prev_hash != before.hash:
            raise _Refusal(f"broken chain at seq {after.seq}: prev_hash does not link to seq {before.seq}")


_RECONCILED_BODIES = (SessionCheckout, Void, VoucherIssue, VoucherRedemption, Redemption, ShiftClose)
"""Body kinds ``_apply`` matches against other tables (a tuple: isinstance with a Union is slower, once per entry)."""


def _posts_only(entry: JournalEntry) -> bool:
    """An entry that is stored and posted and touches no other table (most entries: sales, rounds…)."""
    if pools.names_pool_entry(entry):
        return False  # a pool round is checked against what central dealt
    return not isinstance(entry.body, _RECONCILED_BODIES)


def _entry_row(entry: JournalEntry, data: str, signature: str | None, *, posted: bool, received_at: str) -> dict[str, Any]:
    """The stored row; ``data`` is the canonical JSON of the entry without its hash, the bytes its hash was checked over,
    and ``signature`` the device's head signature when the entry is the last of its batch."""
    return {
        "id": entry.id, "device_id": entry.device_id, "seq": entry.seq, "prev_hash": entry.prev_hash, "hash": entry.hash,
        "kind": entry.kind, "data": data, "head_signature": signature, "posted": posted, "received_at": received_at,
    }


def _apply_plain(conn: Connection, entries: Sequence[tuple[JournalEntry, str, str | None]]) -> None:
    """Store and post entries that only post, in a few statements (what ``_apply`` does for each)."""
    if not entries:
        return
    received_at = utc_timestamp()
    repo.insert_entries(conn, [_entry_row(entry, data, signature, posted=True, received_at=received_at)
                               for entry, data, signature in entries])
    ledger.post_many(conn, [
        ledger.NewTransaction(entry.id, entry.kind, entry.postings, entry.id, entry.device_id) for entry, _, _ in entries if entry.postings
    ])


def _apply(conn: Connection, entry: JournalEntry, data: str, signature: str | None) -> None:
    """Store one entry and post what it did; flag what broke a rule, never refuse the fact."""
    body = entry.body
    posted = True
    flags: list[tuple[str, str]] = []
    if isinstance(body, SessionCheckout) and body.voucher_id is not None:
        posted, flags = sessions.reconcile_ticket_in(conn, entry, body)  # paid online already (decision 0007)
    elif isinstance(body, SessionCheckout):
        posted, flags = _reconcile_checkout(conn, entry, body)
    elif isinstance(body, Redemption):
        posted, flags = players.reconcile_redemption(conn, entry, body)  # paid online already (decision 0004)
    elif isinstance(body, Void):
        flags = _check_void(conn, entry, body)
    elif isinstance(body, ShiftClose):
        flags = _check_drawer(conn, body)
    repo.insert_entry(conn, **_entry_row(entry, data, signature, posted=posted, received_at=utc_timestamp()))
    if isinstance(body, VoucherIssue):
        flags += _issue_voucher(conn, entry, body)
    elif isinstance(body, VoucherRedemption):
        flags += _redeem_voucher(conn, entry, body)
    elif isinstance(body, Void) and not repo.record_void(conn, body.reverses_entry_id, entry.id):
        flags.append(("void_repeated", f"entry {body.reverses_entry_id} was already voided"))
    if pools.names_pool_entry(entry):
        flags += pools.check_round(conn, entry)
    if posted and entry.postings:
        ledger.post(conn, tx_id=entry.id, kind=entry.kind, lines=entry.postings, entry_id=entry.id, device_id=entry.device_id)
    for rule, detail in flags:
        ledger.flag(conn, rule=rule, detail=detail, tx_id=entry.id if posted and entry.postings else None,
                    entry_id=entry.id, device_id=entry.device_id)


def _check_drawer(conn: Connection, body: ShiftClose) -> list[tuple[str, str]]:
    """A drawer difference beyond what a cashier may close with goes to the exceptions queue."""
    difference = body.counted_units - body.expected_units
    if abs(difference) <= effective_limits(conn, body.location_id).shortage_approval_units:
        return []
    what = "short" if difference < 0 else "over"
    return [(f"drawer_{what}", f"shift {body.shift_id} on {body.pos_id} closed {what} by {format_units(abs(difference), body.currency)} "
                               f"{body.currency} (expected {format_units(body.expected_units, body.currency)}, counted "
                               f"{format_units(body.counted_units, body.currency)}; approved by {body.approver or 'nobody'})")]


def _reconcile_checkout(conn: Connection, entry: JournalEntry, body: SessionCheckout) -> tuple[bool, list[tuple[str, str]]]:
    """A kiosk's checkout entry for a session central already checked out is recorded, not posted again
    (decision 0003); one central does not know is posted as the fact it is."""
    checkout = repo.checkout_for_session(conn, body.session_id)
    if checkout is None:
        return True, []
    flags: list[tuple[str, str]] = []
    if (checkout.player_id, int(checkout.amount_units), checkout.device_id) != (body.player_id, body.amount_units, entry.device_id):
        flags.append(("checkout_mismatch", (
            f"session {body.session_id}: central checked out {checkout.amount_units} for {checkout.player_id} "
            f"on {checkout.device_id}, the entry says {body.amount_units} for {body.player_id} on {entry.device_id}"
        )))
    if not repo.match_checkout(conn, body.session_id, entry.id):
        flags.append(("checkout_recorded_twice", f"session {body.session_id} already has a checkout entry"))
    return False, flags


def _check_void(conn: Connection, entry: JournalEntry, body: Void) -> list[tuple[str, str]]:
    original = repo.entry_by_id(conn, body.reverses_entry_id)
    if original is None:
        return [("void_unknown_entry", f"void of entry {body.reverses_entry_id}, which central does not hold")]
    if original.device_id != entry.device_id:
        raise _Refusal(f"void {entry.id} reverses entry {body.reverses_entry_id} of another device ({original.device_id})")
    data = parse_canonical(original.data.encode("utf-8"))
    expected = tuple(Posting.from_json(p).reversed() for p in data["postings"])
    if tuple(entry.postings) != expected:
        # Like any entry whose postings differ from what it implies (decision 0002): not a fact.
        raise ValidationError(f"void {entry.id}: postings are not exactly the reversal of entry {body.reverses_entry_id}")
    return []


def _issue_voucher(conn: Connection, entry: JournalEntry, body: VoucherIssue) -> list[tuple[str, str]]:
    inserted = repo.insert_voucher(
        conn, id=body.voucher_id, issue_entry_id=entry.id, session_id=body.session_id, kiosk_id=body.kiosk_id,
        location_id=body.location_id, amount_units=body.amount_units, status="issued", created_at=utc_timestamp(),
    )
    return [] if inserted else [("voucher_duplicate_id", f"voucher {body.voucher_id} was already issued")]


def _redeem_voucher(conn: Connection, entry: JournalEntry, body: VoucherRedemption) -> list[tuple[str, str]]:
    voucher = repo.voucher(conn, body.voucher_id)
    if voucher is None:
        return [("voucher_unknown", f"redemption of voucher {body.voucher_id}, which central never saw issued")]
    flags = []
    if not repo.record_voucher_redemption_entry(conn, body.voucher_id, entry.id, utc_timestamp()):
        flags.append(("voucher_redeemed_twice", f"voucher {body.voucher_id} was already redeemed by entry {voucher.redeem_entry_id}"))
    if int(voucher.amount_units) != body.amount_units:
        detail = f"voucher {body.voucher_id} is for {voucher.amount_units}, redeemed for {body.amount_units}"
        flags.append(("voucher_amount_mismatch", detail))
    return flags

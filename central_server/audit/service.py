"""``cafe central verify``: recompute everything the ledger claims and say what disagrees.

* every balance in the projection equals the sum of its postings (both ways);
* every transaction sums to zero per unit, and each unit sums to zero overall;
* no wallet, escrow or voucher is negative, unless that is already a recorded exception
  (a fact central applied and flagged: reported, not a failure of the data);
* every device chain: seq without gaps, each hash recomputed from the stored bytes,
  each link, every stored head signature, the device's head matches its last entry;
* every posted entry's postings in the ledger are exactly the entry's postings;
* the audit log's hash chain: seq without gaps, each link, each row's hash (``audit.log``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from central_server.audit import log as audit_log
from central_server.audit import repository as repo
from central_server.ledger import repository as ledger_repo
from shared.canonical import parse_canonical
from shared.entry import GENESIS_HASH, entry_hash
from shared.errors import CafeError
from shared.ledger import NON_NEGATIVE_TYPES, Posting, account_type
from shared.signing import decode_b64, verify_head

MAX_LISTED = 50


@dataclass
class VerifyReport:
    balances: int = 0
    transactions_checked: int = 0
    devices: int = 0
    entries: int = 0
    signatures: int = 0
    audit_rows: int = 0
    flagged_negative: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [
            f"balances      {self.balances} checked against their postings",
            f"devices       {self.devices}, {self.entries} entries, {self.signatures} head signatures checked",
            f"flagged       {len(self.flagged_negative)} negative balance(s) already recorded as exceptions",
            f"audit log     {self.audit_rows} row(s), hash chain checked",
        ]
        lines += [f"PROBLEM       {p}" for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"PROBLEM       … and {len(self.problems) - MAX_LISTED} more")
        ok = "OK: every balance, transaction, chain, signature and the audit log hold"
        lines.append(ok if self.ok else f"FAILED: {len(self.problems)} problem(s)")
        return "\n".join(lines)


def verify(conn: Connection, progress: Callable[[int, int], None] | None = None) -> VerifyReport:
    """Everything the module docstring lists; ``progress(entries checked, entries in all)`` after each batch read."""
    report = VerifyReport()
    _check_balances(conn, report)
    total = repo.count_entries(conn) if progress is not None else 0

    def batch_done() -> None:
        if progress is not None:
            progress(report.entries, total)

    for device in repo.devices_all(conn):
        report.devices += 1
        _check_chain(conn, device, report, batch_done)
    report.audit_rows, audit_problems = audit_log.verify_chain(conn)
    report.problems.extend(audit_problems)
    return report


def _check_balances(conn: Connection, report: VerifyReport) -> None:
    recomputed = {(r.account, r.unit): int(r.total) for r in ledger_repo.sums_by_account(conn)}
    stored = {(r.account, r.unit): int(r.balance_units) for r in ledger_repo.all_balances(conn)}
    report.balances = len(stored)
    for key in sorted(set(recomputed) | set(stored)):
        if recomputed.get(key, 0) != stored.get(key, 0):
            report.problems.append(f"balance {key[0]} {key[1]} is {stored.get(key, 0)} but its postings sum to {recomputed.get(key, 0)}")
    for row in ledger_repo.unbalanced_transactions(conn):
        report.problems.append(f"transaction {row.tx_id} does not balance: {row.unit} off by {row.total}")
    unit_totals: dict[str, int] = {}
    for (_, unit), total in recomputed.items():
        unit_totals[unit] = unit_totals.get(unit, 0) + total
    for unit, total in sorted(unit_totals.items()):
        if total != 0:
            report.problems.append(f"unit {unit} sums to {total}, not zero")
    flagged = ledger_repo.accounts_with_open_exception(conn, "negative_balance")
    for (account, unit), total in sorted(recomputed.items()):
        if account_type(account) in NON_NEGATIVE_TYPES and total < 0:
            if account in flagged:
                report.flagged_negative.append(f"{account} {unit} {total}")
            else:
                report.problems.append(f"{account} is {total} {unit} units and no exception records it")


def _check_chain(conn: Connection, device: Any, report: VerifyReport, batch_done: Callable[[], None]) -> None:
    device_id: str = device.id
    public_key = decode_b64(device.public_key)
    expected_seq, expected_prev = 1, GENESIS_HASH
    for batch in repo.entry_batches(conn, device_id):
        ledger_lines = repo.ledger_lines_of_entries(conn, device_id, batch[0].seq, batch[-1].seq)
        for row in batch:
            _check_entry(row, public_key, expected_seq, expected_prev, ledger_lines.get(row.id), report)
            expected_seq, expected_prev = row.seq + 1, row.hash
        batch_done()
    if (expected_seq - 1, expected_prev) != (device.last_seq, device.last_hash):
        report.problems.append(f"device {device_id}: head says seq {device.last_seq} but the stored chain ends at {expected_seq - 1}")


def _check_entry(row: Any, public_key: bytes, expected_seq: int, expected_prev: str, ledger_lines: list[tuple[str, str, int]] | None,
                 report: VerifyReport) -> None:
    """One stored entry: its hash, its place in the chain, its head signature, and its postings in the ledger."""
    device_id: str = row.device_id
    report.entries += 1
    where = f"device {device_id} seq {row.seq}"
    try:
        data = parse_canonical(row.data.encode("utf-8"))
        recomputed = entry_hash(data)
    except CafeError as exc:
        report.problems.append(f"{where}: stored entry is not canonical JSON ({exc.message})")
        data, recomputed = {}, ""
    if recomputed != row.hash:
        report.problems.append(f"{where}: hash does not match the stored entry")
    if row.seq != expected_seq:
        report.problems.append(f"{where}: expected seq {expected_seq}")
    if row.prev_hash != expected_prev or data.get("prev_hash", row.prev_hash) != row.prev_hash:
        report.problems.append(f"{where}: prev_hash does not link to the entry before")
    if row.head_signature is not None:
        report.signatures += 1
        if not verify_head(public_key, device_id, row.seq, row.hash, row.head_signature):
            report.problems.append(f"{where}: stored head signature does not verify")
    if data:
        _check_entry_postings(row, data, ledger_lines, where, report)


def _check_entry_postings(row: Any, data: dict[str, object], ledger_lines: list[tuple[str, str, int]] | None, where: str,
                          report: VerifyReport) -> None:
    """``ledger_lines``: the postings of the entry's ledger transaction, None when it has none."""
    lines = data.get("postings") or []
    assert isinstance(lines, list)
    expected = sorted((p.account, p.unit, p.amount_units) for p in (Posting.from_json(x) for x in lines))
    posted: bool = row.posted
    if not posted or not expected:
        if ledger_lines is not None:
            report.problems.append(f"{where}: has ledger postings although it was recorded without")
        return
    report.transactions_checked += 1
    if ledger_lines is None:
        report.problems.append(f"{where}: its postings are missing from the ledger")
        return
    actual = sorted(ledger_lines)
    if actual != expected:
        report.problems.append(f"{where}: ledger postings differ from the entry's postings")

"""The fleet simulator's checks: every device journal against central's database.

Run after every device has drained its outbox (a snapshot or the end of a run):

* every journal entry is at central exactly once: same (device, seq, id, hash); an entry
  with postings was posted as one ledger transaction, except a kiosk's checkout entry for
  a session central checked out online, which must be recorded *without* postings and
  linked to that checkout (decision 0003), and likewise a kiosk's ticket-in entry for a
  voucher central took into a session online, linked as the voucher's redemption entry
  (decision 0007). ``lost`` counts entries central lacks or never
  posted; ``duplicated`` counts entries whose money moved twice;
* central holds no entry that no journal wrote;
* every unit sums to zero at central; no wallet, escrow or voucher is below zero;
* the fleet's view (``apply_transactions`` over every journal's postings) equals
  central's balances account by account: central's online checkout moved exactly what
  the kiosk's checkout entry says, so nothing is left out;
* each device's own view agrees with central for the accounts only it writes: a POS's
  ``drawer:<pos>``, a kiosk's ``escrow:<session>`` for its sessions. Wallets, floats,
  the house, vouchers and revenue are shared by several devices, so they are compared
  fleet-wide above, not per device;
* no ledger exception was raised (the plan only does what a real cafe could do, so a
  flagged negative balance or a double redemption is a bug), every journal verifies, and
  central's own ``verify`` finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from central_server.audit.service import verify
from central_server.sessions.service import TICKET_IN_TX_PREFIX
from shared.bodies import SessionCheckout
from shared.ledger import NON_NEGATIVE_TYPES, BalanceKey, Transaction, account_type, apply_transactions
from sync.journal import Journal

MAX_VIOLATIONS = 200  # a wrecked run must not print a million lines


@dataclass
class CheckReport:
    entries: int = 0
    lost: int = 0
    duplicated: int = 0
    violations: list[str] = field(default_factory=list)
    dropped_violations: int = 0

    def add(self, problem: str) -> None:
        if len(self.violations) < MAX_VIOLATIONS:
            self.violations.append(problem)
        else:
            self.dropped_violations += 1

    def all_violations(self) -> list[str]:
        extra = [f"… and {self.dropped_violations} more"] if self.dropped_violations else []
        return self.violations + extra


def _owned(account: str, role: str, device_id: str, sessions: set[str]) -> bool:
    if role == "pos":
        return account == f"drawer:{device_id}"
    return account.startswith("escrow:") and account.split(":", 1)[1] in sessions


def check_fleet(engine: Engine, journals: Iterable[tuple[str, Journal]]) -> CheckReport:
    """Compare every ``(role, journal)`` with central; the journals must be drained first."""
    report = CheckReport()
    fleet: dict[BalanceKey, int] = {}
    journal_ids: set[str] = set()
    with engine.connect() as conn:
        checkouts = {row.session_id: row.entry_id for row in conn.execute(text("SELECT session_id, entry_id FROM checkouts"))}
        # Vouchers central took into a session online (its ticket-in transfer exists), and the entry recorded as their redemption.
        tickets_in = {row.id: row.redeem_entry_id for row in conn.execute(text(
            "SELECT v.id, v.redeem_entry_id FROM vouchers v JOIN ledger_transactions t ON t.id = :prefix || v.id"),
            {"prefix": TICKET_IN_TX_PREFIX})}
        central_balances = {(row.account, row.unit): int(row.balance_units)
                            for row in conn.execute(text("SELECT account, unit, balance_units FROM balances"))}
        for role, journal in journals:
            device_id = journal.device_id
            problems = journal.verify()
            if not problems.ok:
                report.add(f"journal of {device_id} does not verify: {problems.summary()[:300]}")
            rows = {int(r.seq): r for r in conn.execute(text(
                "SELECT je.seq, je.id, je.hash, je.posted, t.id AS tx_id FROM journal_entries je "
                "LEFT JOIN ledger_transactions t ON t.entry_id = je.id WHERE je.device_id = :d"), {"d": device_id})}
            own: dict[BalanceKey, int] = {}
            sessions: set[str] = set()
            txs: list[Transaction] = []
            for entry in journal.entries():
                report.entries += 1
                journal_ids.add(entry.id)
                row = rows.pop(entry.seq, None)
                if row is None or (row.id, row.hash) != (entry.id, entry.hash):
                    report.lost += 1
                    report.add(f"{device_id}#{entry.seq} ({entry.kind}) is not at central as written")
                    continue
                if isinstance(entry.body, SessionCheckout):
                    body = entry.body
                    sessions.add(body.session_id)
                    where = f"{device_id}#{entry.seq}"
                    if body.voucher_id is not None:
                        _check_online_move(report, f"{where}: ticket-in of {body.voucher_id}", entry.id, row.posted,
                                           body.voucher_id in tickets_in, tickets_in.get(body.voucher_id), "the voucher's redemption entry")
                    else:
                        _check_online_move(report, f"{where}: checkout of {body.session_id}", entry.id, row.posted,
                                           body.session_id in checkouts, checkouts.get(body.session_id), "linked to central's checkout")
                elif entry.postings and (not row.posted or row.tx_id is None):
                    report.lost += 1
                    report.add(f"{device_id}#{entry.seq} ({entry.kind}) is at central but its postings were never posted")
                if entry.postings:
                    txs.append(Transaction(entry.id, entry.postings))
            for seq in sorted(rows)[:5]:
                report.add(f"central holds {device_id}#{seq}, which the device's journal does not")
            own = apply_transactions({}, txs).balances
            for key, amount in own.items():
                fleet[key] = fleet.get(key, 0) + amount
                if _owned(key[0], role, device_id, sessions) and central_balances.get(key, 0) != amount:
                    report.add(f"{device_id} sees {key[0]} {key[1]} = {amount}, central {central_balances.get(key, 0)}")
        _check_central(conn, report, central_balances, fleet, journal_ids)
    return report


def _check_online_move(report: CheckReport, what: str, entry_id: str, posted: bool, central_did: bool, linked_entry: str | None,
                       link: str) -> None:
    """A kiosk entry for money central moved online: recorded without posting and linked to central's move, once
    (decisions 0003, 0007); without central's move, the entry itself must have been posted."""
    if central_did and posted:
        report.duplicated += 1
        report.add(f"{what} posted again after central's own")
    elif central_did and linked_entry != entry_id:
        report.add(f"{what} is not {link}")
    elif not central_did and not posted:
        report.lost += 1
        report.add(f"{what} neither central's nor posted")


def _check_central(conn: Connection, report: CheckReport, central: dict[BalanceKey, int], fleet: dict[BalanceKey, int],
                   journal_ids: set[str]) -> None:
    duplicates = conn.execute(text(
        "SELECT entry_id, count(*) AS n FROM ledger_transactions WHERE entry_id IS NOT NULL GROUP BY entry_id HAVING count(*) > 1",
    )).all()
    for row in duplicates[:5]:
        report.add(f"entry {row.entry_id} was posted {row.n} times")
    report.duplicated += len(duplicates)
    extra = int(conn.execute(text("SELECT count(*) FROM journal_entries")).scalar_one()) - len(journal_ids)
    if extra > 0:
        report.add(f"central holds {extra} entries that no device journal wrote")
    per_unit: dict[str, int] = {}
    for (account, unit), amount in central.items():
        per_unit[unit] = per_unit.get(unit, 0) + amount
        if account_type(account) in NON_NEGATIVE_TYPES and amount < 0:
            report.add(f"{account} is {amount} {unit} at central")
    for unit, total in sorted(per_unit.items()):
        if total != 0:
            report.add(f"unit {unit} sums to {total} at central, not zero")
    for key in sorted(set(central) | set(fleet)):
        if central.get(key, 0) != fleet.get(key, 0):
            report.add(f"{key[0]} {key[1]}: central {central.get(key, 0)}, the fleet's journals {fleet.get(key, 0)}")
    for row in conn.execute(text("SELECT rule, detail FROM ledger_exceptions ORDER BY id LIMIT 20")):
        report.add(f"central flagged {row.rule}: {row.detail}")
    audit = verify(conn)
    for problem in audit.problems[:20]:
        report.add(f"central verify: {problem}")

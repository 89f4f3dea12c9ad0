"""Double-entry postings and the rules every transaction must keep.

An account is ``<type>:<owner>`` (``wallet:<player>``, ``float:<node>`` …). A posting
moves a signed whole number of minor units of one unit into an account; an account's
balance is the sum of its postings, nothing else. A transaction is a set of postings
that sums to zero for each unit it touches.

``apply_transactions`` is the one place that decides what a sequence of transactions
does to balances. It is pure so that the device, central and ``verify`` all agree:

* a transaction that is malformed or does not balance is *refused*: reported and not
  applied (it could only have come from a bug or tampering);
* a well-formed transaction that takes a wallet, escrow or voucher below zero is
  *applied and flagged*: the cash has already changed hands at the counter, so central
  records the fact and raises an exception for a person (DESIGN §4).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ValidationError
from shared.money import check_unit, check_units

ACCOUNT_TYPES = frozenset({
    "mint",          # head office issuing credits; the only account meant to go negative in CR
    "float",         # a node's (head office, distributor, location) stock of credits
    "wallet",        # a player's credits held centrally
    "escrow",        # credits checked out to one kiosk session
    "house",         # a location's game account: takes bets, pays wins
    "voucher",       # credits on a printed cash-out ticket
    "drawer",        # cash in one POS drawer
    "safe",          # a location's cash outside the drawers (opening floats come from here)
    "revenue",       # counter-account of cash taken in or paid out for credits
    "overshort",     # drawer differences found at shift close
    "receivable",    # what a node owes its parent for wholesale credits
    "bank",          # money a node received from the nodes below it for wholesale credits
    "card",          # card-present takings awaiting settlement
    "psp",           # online payment provider clearing (fiat or crypto)
    "review",        # a payment held for manual review
    "adjustment",    # counter-account of manual corrections
})
"""Every account type the ledger knows; anything else is refused."""

NON_NEGATIVE_TYPES = frozenset({"wallet", "escrow", "voucher"})
"""Accounts that must never be below zero at the central ledger (DESIGN §2)."""

_ACCOUNT_RE = re.compile(r"^([a-z]+):([A-Za-z0-9][A-Za-z0-9._:-]{0,127})\Z")


def account(kind: str, owner: str) -> str:
    """Build and check an account name, e.g. ``account("wallet", player_id)``."""
    return check_account(f"{kind}:{owner}")


def check_account(name: object) -> str:
    """Return ``name`` when it is ``<known type>:<owner>``, else refuse."""
    problem = _account_problem(name) if isinstance(name, str) else f"account {name!r} is not of the form type:owner"
    if problem is not None:
        raise ValidationError(problem)
    return name  # type: ignore[return-value]


@functools.lru_cache(maxsize=16384)
def _account_problem(name: str) -> str | None:
    # Cached: every posting of every ingested entry names an account, and a location's
    # float, drawers and revenue are named over and over.
    match = _ACCOUNT_RE.match(name)
    if match is None:
        return f"account {name!r} is not of the form type:owner"
    if match.group(1) not in ACCOUNT_TYPES:
        return f"account {name!r} has unknown type {match.group(1)!r}"
    return None


def account_type(name: str) -> str:
    return name.split(":", 1)[0]


@dataclass(frozen=True, slots=True)
class Posting:
    """``amount_units`` of ``unit`` into ``account`` (negative takes out)."""

    account: str
    unit: str
    amount_units: int

    def __post_init__(self) -> None:
        check_account(self.account)
        check_unit(self.unit)
        check_units(self.amount_units, "posting amount")
        if self.amount_units == 0:
            raise ValidationError(f"posting to {self.account} has a zero amount")

    def to_json(self) -> dict[str, Any]:
        return {"account": self.account, "unit": self.unit, "amount_units": self.amount_units}

    @classmethod
    def from_json(cls, data: object) -> Posting:
        if not isinstance(data, dict) or set(data) != {"account", "unit", "amount_units"}:
            raise ValidationError(f"posting must have exactly account, unit, amount_units: {data!r}")
        return cls(data["account"], data["unit"], data["amount_units"])

    def reversed(self) -> Posting:
        return Posting(self.account, self.unit, -self.amount_units)


def move(unit: str, amount_units: int, source: str, destination: str) -> tuple[Posting, Posting]:
    """The two postings that move a positive amount from ``source`` to ``destination``."""
    if amount_units <= 0:
        raise ValidationError(f"a move needs a positive amount, got {amount_units}")
    return Posting(source, unit, -amount_units), Posting(destination, unit, amount_units)


def imbalance(postings: Iterable[Posting]) -> dict[str, int]:
    """Per unit, the sum of the postings; empty when the postings balance."""
    totals: dict[str, int] = {}
    for posting in postings:
        totals[posting.unit] = totals.get(posting.unit, 0) + posting.amount_units
    return {unit: total for unit, total in totals.items() if total != 0}


def check_balanced(postings: Sequence[Posting]) -> None:
    """Refuse an empty or unbalanced set of postings."""
    if not postings:
        raise ValidationError("a transaction needs at least one posting")
    off = imbalance(postings)
    if off:
        detail = ", ".join(f"{unit} off by {total}" for unit, total in sorted(off.items()))
        raise ValidationError(f"postings do not balance: {detail}")


@dataclass(frozen=True, slots=True)
class Transaction:
    """A set of postings that is applied whole or not at all."""

    tx_id: str
    postings: tuple[Posting, ...]


BalanceKey = tuple[str, str]
"""``(account, unit)``: a balance is per account and per unit."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule; ``applied`` says whether the transaction was still applied."""

    tx_id: str
    rule: str
    detail: str
    applied: bool


@dataclass(frozen=True, slots=True)
class LedgerResult:
    balances: dict[BalanceKey, int]
    violations: tuple[Violation, ...] = field(default_factory=tuple)
    applied: int = 0


def apply_transactions(balances: Mapping[BalanceKey, int], transactions: Iterable[Transaction]) -> LedgerResult:
    """Apply ``transactions`` in order to a copy of ``balances`` and report every broken rule.

    Unbalanced or malformed transactions are refused (rule ``unbalanced``/``malformed``);
    a balanced one that leaves a wallet, escrow or voucher negative is applied and
    reported (rule ``negative_balance``), once per account it takes below zero.
    """
    result = dict(balances)
    violations: list[Violation] = []
    applied = 0
    for tx in transactions:
        try:
            if not isinstance(tx, Transaction):
                raise ValidationError(f"not a transaction: {tx!r}")
            for posting in tx.postings:
                if not isinstance(posting, Posting):
                    raise ValidationError(f"not a posting: {posting!r}")
            check_balanced(tx.postings)
        except ValidationError as exc:
            rule = "unbalanced" if "balance" in exc.message or "at least one" in exc.message else "malformed"
            violations.append(Violation(getattr(tx, "tx_id", "?"), rule, exc.message, applied=False))
            continue
        net: dict[BalanceKey, int] = {}
        for posting in tx.postings:
            key = (posting.account, posting.unit)
            result[key] = result.get(key, 0) + posting.amount_units
            net[key] = net.get(key, 0) + posting.amount_units
        applied += 1
        for key in sorted(net):
            # Flag only what this transaction took out: a deposit into an account that is
            # already negative makes things better, not worse.
            if account_type(key[0]) in NON_NEGATIVE_TYPES and result[key] < 0 and net[key] < 0:
                violations.append(Violation(
                    tx.tx_id, "negative_balance", f"{key[0]} is {result[key]} {key[1]} units", applied=True,
                ))
    unit_totals: dict[str, int] = {}
    for (_, unit), amount in result.items():
        unit_totals[unit] = unit_totals.get(unit, 0) + amount
    # Only balanced transactions are applied, so this can only fail if the starting
    # balances were already off: that is the caller's data, not ours, but say so loudly.
    for unit, total in sorted(unit_totals.items()):
        if total != 0:
            violations.append(Violation("-", "unit_not_zero", f"{unit} sums to {total}", applied=False))
    return LedgerResult(result, tuple(violations), applied)

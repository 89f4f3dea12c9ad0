"""Rules for the hierarchy and its credits: nodes, minting, wholesale sales down the tree,
credit lines and the payments that free them again, and the figures each node shows.

Mint and wholesale transfer are central's own ledger facts. They are built as the same
``shared.bodies`` the devices use (``Mint``, ``WholesaleTransfer``), so their postings come
from ``Body.postings()`` and are written by ``ledger.service.post`` exactly as ingest
writes a device's entry: balanced, with the balances projection updated in the same
transaction. What is checked first (issuance limit, the seller's float, the buyer's
credit line) reads rows locked for the transaction (``FOR UPDATE`` on PostgreSQL; SQLite
transactions are serialised by ``BEGIN IMMEDIATE``), so two sales at once cannot both
fit under one line. A refusal raises before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from central_server.admin import service as admin
from central_server.audit.log import Actor, record
from central_server.console import repository as repo
from central_server.errors import ApiError, NotFound
from central_server.ledger import repository as ledger_repo
from central_server.ledger import service as ledger
from central_server.reports import service as reports
from shared.bodies import Mint, WholesalePayment, WholesaleTransfer, check_text
from shared.entry import utc_timestamp
from shared.errors import ValidationError
from shared.ids import new_id
from shared.ledger import Posting, account
from shared.money import CREDITS, MAX_ABS_UNITS, format_units

CREDIT_UNITS = 100  # minor units in one credit
MAX_PRICE_PER_CREDIT_UNITS = 1_000_000_00


class CreditRefused(ApiError):
    """A mint or sale that would break a limit: refused whole, nothing written."""

    code = "credit_refused"
    http_status = 409


@dataclass(frozen=True)
class Figures:
    """What a node's row shows: credits it holds and has sold, money it owes, what it may owe."""

    node_id: str
    currency: str
    float_units: int
    sold_units: int
    revenue_units: int  # cash minor units earned from wholesale sales (and, at a location, counter sales)
    outstanding_units: int  # cash minor units this node owes its parent
    credit_line_units: int
    minted_units: int
    issuance_limit_units: int | None

    @property
    def available_units(self) -> int:
        return max(0, self.credit_line_units - self.outstanding_units)


def figures(conn: Connection, node_rows: list[object]) -> dict[str, Figures]:
    keys: list[tuple[str, str]] = []
    for n in node_rows:
        node_id, currency = n.id, n.currency  # type: ignore[attr-defined]
        keys += [(account("float", node_id), CREDITS), (account("receivable", node_id), currency),
                 (account("revenue", node_id), currency), (account("mint", node_id), CREDITS)]
    found = repo.balances_of(conn, keys)
    ids = {n.id for n in node_rows}  # type: ignore[attr-defined]
    terms = repo.all_terms(conn, ids)
    sold = repo.wholesale_out(conn, [account("float", i) for i in sorted(ids)])
    out: dict[str, Figures] = {}
    for n in node_rows:
        node_id, currency = n.id, n.currency  # type: ignore[attr-defined]
        t = terms.get(node_id)
        out[node_id] = Figures(
            node_id=node_id, currency=currency,
            float_units=found[(account("float", node_id), CREDITS)],
            sold_units=sold.get(account("float", node_id), 0),
            revenue_units=-found[(account("revenue", node_id), currency)],
            outstanding_units=found[(account("receivable", node_id), currency)],
            credit_line_units=int(t.credit_line_units) if t is not None else 0,
            minted_units=-found[(account("mint", node_id), CREDITS)],
            issuance_limit_units=int(t.issuance_limit_units) if t is not None and t.issuance_limit_units is not None else None,
        )
    return out


def _node(conn: Connection, node_id: str) -> object:
    row = repo.node(conn, node_id)
    if row is None:
        raise NotFound(f"there is no node {node_id!r}")
    return row


def _amount(units: int, what: str) -> int:
    if isinstance(units, bool) or not isinstance(units, int) or not 0 < units <= MAX_ABS_UNITS // CREDIT_UNITS:
        raise ValidationError(f"{what} must be a positive amount")
    return units


# -- nodes ------------------------------------------------------------------------------------


def create_node(conn: Connection, actor: Actor, *, parent_id: str, node_id: str, kind: str, name: str, currency: str) -> None:
    name = " ".join(name.split())[:200]
    if not name:
        raise ValidationError("a node needs a name")
    currency = currency.strip().upper()
    if len(currency) != 3 or not currency.isalpha() or currency == CREDITS:
        raise ValidationError("the currency is a three-letter code such as USD")
    admin.add_node(conn, node_id=node_id.strip(), kind=kind, name=name, parent_id=parent_id)
    repo.set_node_currency(conn, node_id.strip(), currency)
    record(conn, actor, action="node_created", target=f"{kind} {node_id}", node_id=node_id.strip(),
           after={"id": node_id.strip(), "kind": kind, "name": name, "parent_id": parent_id, "currency": currency})


def rename_node(conn: Connection, actor: Actor, node_id: str, name: str) -> None:
    row = _node(conn, node_id)
    name = " ".join(name.split())[:200]
    if not name:
        raise ValidationError("a node needs a name")
    repo.rename_node(conn, node_id, name)
    record(conn, actor, action="node_renamed", target=f"node {node_id}", node_id=node_id,
           before={"name": row.name}, after={"name": name})  # type: ignore[attr-defined]


def set_timezone(conn: Connection, actor: Actor, node_id: str, timezone: str) -> None:
    """The IANA time zone a location's business day is cut in (reports); unset means UTC."""
    row = _node(conn, node_id)
    if row.kind != "location":  # type: ignore[attr-defined]
        raise ValidationError("only a location has a time zone (its reports' day is cut in it)")
    timezone = timezone.strip()
    if not timezone:
        raise ValidationError("choose a time zone, e.g. America/Chicago")
    before = repo.node_timezone(conn, node_id)
    if timezone == before:
        raise ValidationError(f"the time zone is already {timezone}; nothing was changed")
    reports.set_timezone(conn, node_id, timezone)  # refuses an unknown zone
    record(conn, actor, action="node_timezone_set", target=f"node {node_id}", node_id=node_id,
           before={"timezone": before}, after={"timezone": timezone})


# -- terms ------------------------------------------------------------------------------------


def set_credit_line(conn: Connection, actor: Actor, node_id: str, credit_line_units: int) -> None:
    row = _node(conn, node_id)
    if row.parent_id is None:  # type: ignore[attr-defined]
        raise ValidationError("head office has no parent and so no credit line")
    if credit_line_units < 0 or credit_line_units > MAX_ABS_UNITS:
        raise ValidationError("a credit line is zero or more")
    before = repo.terms(conn, node_id, for_update=True)
    repo.upsert_terms(conn, node_id, credit_line_units=credit_line_units, updated_at=utc_timestamp())
    record(conn, actor, action="credit_line_set", target=f"node {node_id}", node_id=node_id,
           before={"credit_line_units": int(before.credit_line_units) if before else 0},
           after={"credit_line_units": credit_line_units, "currency": row.currency})  # type: ignore[attr-defined]


def set_issuance_limit(conn: Connection, actor: Actor, node_id: str, limit_units: int) -> None:
    row = _node(conn, node_id)
    if row.kind != "head_office":  # type: ignore[attr-defined]
        raise ValidationError("only head office mints credits")
    if limit_units < 0 or limit_units > MAX_ABS_UNITS:
        raise ValidationError("an issuance limit is zero or more")
    before = repo.terms(conn, node_id, for_update=True)
    repo.upsert_terms(conn, node_id, issuance_limit_units=limit_units, updated_at=utc_timestamp())
    record(conn, actor, action="issuance_limit_set", target=f"node {node_id}", node_id=node_id,
           before={"issuance_limit_units": before.issuance_limit_units if before else None},
           after={"issuance_limit_units": limit_units})


# -- ledger facts -----------------------------------------------------------------------------


def mint(conn: Connection, actor: Actor, *, node_id: str, amount_units: int, reason: str) -> str:
    """Head office creates credits into its float, never beyond its issuance limit; the ledger tx id."""
    row = _node(conn, node_id)
    if row.kind != "head_office":  # type: ignore[attr-defined]
        raise ValidationError("only head office mints credits")
    _amount(amount_units, "the amount to mint")
    check_text(reason, "the reason")
    terms = repo.terms(conn, node_id, for_update=True)
    limit = terms.issuance_limit_units if terms is not None else None
    minted = -ledger_repo.balance(conn, account("mint", node_id), CREDITS, for_update=True)
    if limit is None or minted + amount_units > limit:
        left = 0 if limit is None else max(0, limit - minted)
        raise CreditRefused(
            f"Refused: minting {format_units(amount_units, CREDITS)} credits would exceed the issuance limit "
            f"({'not set' if limit is None else format_units(limit, CREDITS)} credits; {format_units(minted, CREDITS)} already minted, "
            f"{format_units(left, CREDITS)} left). Nothing was changed.", code="issuance_limit_exceeded")
    body = Mint(node_id=node_id, amount_units=amount_units, reason=reason.strip())
    tx_id = _post(conn, body.kind, body.postings())
    record(conn, actor, action="mint", target=f"node {node_id}", node_id=node_id,
           before={"minted_units": minted}, after={"tx_id": tx_id, "body": body.to_json(), "minted_units": minted + amount_units})
    return tx_id


def price_of(amount_units: int, price_per_credit_units: int) -> int:
    """The cash price of ``amount_units`` credit units at a price per whole credit, exactly or refused."""
    total, rest = divmod(amount_units * price_per_credit_units, CREDIT_UNITS)
    if rest:
        raise ValidationError("that amount at that price does not come to a whole number of cents; adjust one of them")
    return total


def sell(conn: Connection, actor: Actor, *, from_node_id: str, to_node_id: str, amount_units: int, price_per_credit_units: int) -> str:
    """A wholesale sale from a node to one of its children; refused whole if it breaks a limit."""
    seller, buyer = _node(conn, from_node_id), _node(conn, to_node_id)
    if buyer.parent_id != from_node_id:  # type: ignore[attr-defined]
        raise ValidationError(f"{to_node_id} is not a direct child of {from_node_id}; sell down one level at a time")
    currency: str = seller.currency  # type: ignore[attr-defined]
    if buyer.currency != currency:  # type: ignore[attr-defined]
        raise ValidationError(f"{from_node_id} sells in {currency} but {to_node_id} keeps {buyer.currency}")  # type: ignore[attr-defined]
    _amount(amount_units, "the amount to sell")
    if not 0 <= price_per_credit_units <= MAX_PRICE_PER_CREDIT_UNITS:
        raise ValidationError("the price per credit is zero or more, and sensible")
    price_units = price_of(amount_units, price_per_credit_units)
    if price_units > MAX_ABS_UNITS:
        raise ValidationError("that sale is too large to record")
    terms = repo.terms(conn, to_node_id, for_update=True)
    line = int(terms.credit_line_units) if terms is not None else 0
    outstanding = ledger_repo.balance(conn, account("receivable", to_node_id), currency, for_update=True)
    held = ledger_repo.balance(conn, account("float", from_node_id), CREDITS, for_update=True)
    if held < amount_units:
        raise CreditRefused(
            f"Refused: {from_node_id} holds {format_units(held, CREDITS)} credits, fewer than the "
            f"{format_units(amount_units, CREDITS)} to sell. Nothing was changed.", code="float_insufficient")
    if outstanding + price_units > line:
        raise CreditRefused(
            f"Refused: this sale of {format_units(amount_units, CREDITS)} credits costs {format_units(price_units, currency)} {currency}; "
            f"{to_node_id} already owes {format_units(outstanding, currency)} {currency} and its credit line is "
            f"{format_units(line, currency)} {currency} ({format_units(max(0, line - outstanding), currency)} {currency} available). "
            "Nothing was changed.", code="credit_line_exceeded")
    body = WholesaleTransfer(from_node_id=from_node_id, to_node_id=to_node_id, amount_units=amount_units, price_units=price_units,
                             currency=currency)
    tx_id = _post(conn, body.kind, body.postings())
    record(conn, actor, action="wholesale_transfer", target=f"{from_node_id} → {to_node_id}", node_id=to_node_id,
           before={"seller_float_units": held, "buyer_outstanding_units": outstanding},
           after={"tx_id": tx_id, "body": body.to_json(), "price_per_credit_units": price_per_credit_units,
                  "seller_float_units": held - amount_units, "buyer_outstanding_units": outstanding + price_units})
    return tx_id


def record_payment(conn: Connection, actor: Actor, *, node_id: str, amount_units: int, reference: str) -> str:
    """The parent received ``amount_units`` of what ``node_id`` owes it for wholesale credits; never more than is owed."""
    payer = _node(conn, node_id)
    parent_id = payer.parent_id  # type: ignore[attr-defined]
    if parent_id is None:
        raise ValidationError("head office has no parent to pay")
    currency: str = payer.currency  # type: ignore[attr-defined]
    body = WholesalePayment(from_node_id=node_id, to_node_id=parent_id, amount_units=amount_units, currency=currency,
                            reference=" ".join(reference.split()))  # checks the amount, currency and reference
    owed = ledger_repo.balance(conn, account("receivable", node_id), currency, for_update=True)
    if amount_units > owed:
        raise CreditRefused(
            f"Refused: {node_id} owes {format_units(owed, currency)} {currency}, less than the "
            f"{format_units(amount_units, currency)} {currency} recorded. Nothing was changed.", code="payment_exceeds_owed")
    tx_id = _post(conn, body.kind, body.postings())
    record(conn, actor, action="wholesale_payment", target=f"{node_id} → {parent_id}", node_id=node_id,
           before={"outstanding_units": owed}, after={"tx_id": tx_id, "body": body.to_json(), "outstanding_units": owed - amount_units})
    return tx_id


def _post(conn: Connection, kind: str, lines: Sequence[Posting]) -> str:
    tx_id = new_id()
    violations = ledger.post(conn, tx_id=tx_id, kind=kind, lines=lines)
    assert not violations, "mint, wholesale transfers and payments touch no wallet, escrow or voucher"
    return tx_id

"""The typed body of every journal entry kind (DESIGN §2), with its validation and,
where the body alone decides them, the postings it must carry.

A body is a frozen dataclass; ``from_json`` accepts exactly its fields (an unknown key
is refused, so a typo never silently drops data) and ``__post_init__`` checks each one.
``postings()`` returns the postings that kind implies, so a device never hand-builds
them and central can check an entry's postings against its body. Kinds whose postings
depend on something outside the body (a void reverses another entry; an adjustment
lists its own) return ``None`` and are checked where that context is known.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from shared.errors import ValidationError
from shared.ledger import Posting, account, check_balanced, move
from shared.money import CREDITS, check_positive, check_unit, check_units

_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_DIGITS_RE = re.compile(r"^[0-9]{1,19}\Z")
TENDERS = ("cash", "card")


def check_ref(value: object, what: str) -> str:
    """A reference to a player, node, device, shift …: short text usable in an account name."""
    if not isinstance(value, str) or not _is_ref(value):
        raise ValidationError(f"{what} must be 1-128 letters, digits or ._:- (got {value!r})")
    return value


@functools.lru_cache(maxsize=16384)
def _is_ref(value: str) -> bool:
    # Cached like ledger's account names: every ingested body names its location, station,
    # shift and player, and the same few are named over and over.
    return _REF_RE.match(value) is not None


def check_text(value: object, what: str, max_len: int = 500) -> str:
    """Free text a person typed (a reason, a note): non-blank and bounded."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must not be empty")
    if len(value) > max_len:
        raise ValidationError(f"{what} is longer than {max_len} characters")
    return value


def check_non_negative(value: object, what: str) -> int:
    units = check_units(value, what)
    if units < 0:
        raise ValidationError(f"{what} must not be negative, got {units}")
    return units


def check_cash_currency(value: str, what: str = "currency") -> str:
    """A currency code for cash, card or fiat amounts: never the credits unit."""
    if check_unit(value) == CREDITS:
        raise ValidationError(f"{what}: cash must be in a currency, not credits")
    return value


def check_denominations(counts: object, total_units: int, what: str) -> dict[str, int]:
    """``{"2000": 3, "500": 1}``: notes and coins by value in minor units, summing to ``total_units``."""
    if not isinstance(counts, dict):
        raise ValidationError(f"{what} must map denomination (minor units) to a count")
    total = 0
    for denom, count in counts.items():
        if not isinstance(denom, str) or not _DIGITS_RE.match(denom) or int(denom) <= 0:
            raise ValidationError(f"{what}: {denom!r} is not a denomination in minor units")
        check_non_negative(count, f"{what} count of {denom}")
        total += int(denom) * count
    if total != total_units:
        raise ValidationError(f"{what} add up to {total}, not {total_units}")
    return counts


_FIELD_SETS: dict[type, tuple[frozenset[str], frozenset[str]]] = {}


def body_fields(body_type: type) -> tuple[frozenset[str], frozenset[str]]:
    """A body type's field names and its required ones, computed once (every ingested entry asks)."""
    sets = _FIELD_SETS.get(body_type)
    if sets is None:
        fields = dataclasses.fields(body_type)
        required = (f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        sets = _FIELD_SETS[body_type] = (frozenset(f.name for f in fields), frozenset(required))
    return sets


@dataclass(frozen=True)
class Body:
    """Base of every entry body; subclasses set ``kind``."""

    kind: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: object) -> Body:
        if not isinstance(data, dict):
            raise ValidationError(f"{cls.kind} body must be an object")
        names, required = body_fields(cls)
        keys = data.keys()
        if not (keys <= names and required <= keys):
            unknown, missing = keys - names, required - keys
            if unknown:
                raise ValidationError(f"{cls.kind} body has unknown field(s): {', '.join(sorted(unknown))}")
            raise ValidationError(f"{cls.kind} body is missing: {', '.join(sorted(missing))}")
        return cls(**data)

    def postings(self) -> tuple[Posting, ...] | None:
        """The postings this body implies, or ``None`` when they need outside context."""
        return ()


@dataclass(frozen=True)
class Mint(Body):
    """Head office creates credits into its own float, within its issuance limit."""

    kind: ClassVar[str] = "mint"
    node_id: str
    amount_units: int
    reason: str

    def __post_init__(self) -> None:
        check_ref(self.node_id, "node_id")
        check_positive(self.amount_units)
        check_text(self.reason, "reason")

    def postings(self) -> tuple[Posting, ...]:
        return move(CREDITS, self.amount_units, account("mint", self.node_id), account("float", self.node_id))


@dataclass(frozen=True)
class WholesaleTransfer(Body):
    """A parent node sells credits down the tree; the price is owed as a receivable."""

    kind: ClassVar[str] = "wholesale_transfer"
    from_node_id: str
    to_node_id: str
    amount_units: int
    price_units: int
    currency: str

    def __post_init__(self) -> None:
        check_ref(self.from_node_id, "from_node_id")
        check_ref(self.to_node_id, "to_node_id")
        if self.from_node_id == self.to_node_id:
            raise ValidationError("a wholesale transfer needs two different nodes")
        check_positive(self.amount_units)
        check_non_negative(self.price_units, "price_units")
        check_cash_currency(self.currency)

    def postings(self) -> tuple[Posting, ...]:
        credits = move(CREDITS, self.amount_units, account("float", self.from_node_id), account("float", self.to_node_id))
        if self.price_units == 0:
            return credits
        owed = move(self.currency, self.price_units, account("revenue", self.from_node_id), account("receivable", self.to_node_id))
        return credits + owed


@dataclass(frozen=True)
class WholesalePayment(Body):
    """A node pays its parent some of what it owes for wholesale credits (money received outside the ledger's
    counters: a bank transfer, a cheque); the receivable goes down by as much."""

    kind: ClassVar[str] = "wholesale_payment"
    from_node_id: str
    to_node_id: str
    amount_units: int
    currency: str
    reference: str

    def __post_init__(self) -> None:
        check_ref(self.from_node_id, "from_node_id")
        check_ref(self.to_node_id, "to_node_id")
        if self.from_node_id == self.to_node_id:
            raise ValidationError("a wholesale payment needs two different nodes")
        check_positive(self.amount_units)
        check_cash_currency(self.currency)
        check_text(self.reference, "reference")

    def postings(self) -> tuple[Posting, ...]:
        return move(self.currency, self.amount_units, account("receivable", self.from_node_id), account("bank", self.to_node_id))


@dataclass(frozen=True)
class _CounterCash(Body):
    """Fields shared by the counter transactions: credits against cash at one POS."""

    player_id: str
    location_id: str
    pos_id: str
    shift_id: str
    amount_units: int
    cash_units: int
    currency: str

    def __post_init__(self) -> None:
        for name in ("player_id", "location_id", "pos_id", "shift_id"):
            check_ref(getattr(self, name), name)
        check_positive(self.amount_units)
        check_non_negative(self.cash_units, "cash_units")
        check_cash_currency(self.currency)


@dataclass(frozen=True)
class Sale(_CounterCash):
    """A cashier sells credits to a player: float → wallet, cash (or card) in."""

    kind: ClassVar[str] = "sale"
    tender: str = "cash"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tender not in TENDERS:
            raise ValidationError(f"tender must be one of {', '.join(TENDERS)}, got {self.tender!r}")

    def postings(self) -> tuple[Posting, ...]:
        credits = move(CREDITS, self.amount_units, account("float", self.location_id), account("wallet", self.player_id))
        if self.cash_units == 0:
            return credits
        till = account("drawer", self.pos_id) if self.tender == "cash" else account("card", self.location_id)
        return credits + move(self.currency, self.cash_units, account("revenue", self.location_id), till)


@dataclass(frozen=True)
class Redemption(_CounterCash):
    """A cashier pays a player's winnings out of the wallet: wallet → float, cash out."""

    kind: ClassVar[str] = "redemption"

    def postings(self) -> tuple[Posting, ...]:
        credits = move(CREDITS, self.amount_units, account("wallet", self.player_id), account("float", self.location_id))
        if self.cash_units == 0:
            return credits
        return credits + move(self.currency, self.cash_units, account("drawer", self.pos_id), account("revenue", self.location_id))


@dataclass(frozen=True)
class _SessionMove(Body):
    session_id: str
    player_id: str
    kiosk_id: str
    location_id: str
    amount_units: int

    def __post_init__(self) -> None:
        for name in ("session_id", "player_id", "kiosk_id", "location_id"):
            check_ref(getattr(self, name), name)
        check_positive(self.amount_units)


@dataclass(frozen=True)
class SessionCheckout(_SessionMove):
    """Credits leave the wallet into the escrow of one kiosk session ("transfer to machine").

    With ``voucher_id`` the source is a cash-out ticket scanned at the kiosk ("ticket in",
    decision 0007): the voucher's balance moves into the escrow, and ``player_id`` is the
    ticket's bearer, ``ticket_bearer(voucher_id)``, since a ticket has no wallet behind it.
    """

    kind: ClassVar[str] = "session_checkout"
    voucher_id: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.voucher_id is not None and self.player_id != ticket_bearer(check_ref(self.voucher_id, "voucher_id")):
            raise ValidationError("a ticket-in checkout's player_id is the ticket's bearer (ticket:<voucher_id>)")

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        if self.voucher_id is None:
            del data["voucher_id"]  # wallet checkouts keep the exact bytes (and hashes) they always had
        return data

    def postings(self) -> tuple[Posting, ...]:
        source = account("voucher", self.voucher_id) if self.voucher_id is not None else account("wallet", self.player_id)
        return move(CREDITS, self.amount_units, source, account("escrow", self.session_id))


def ticket_bearer(voucher_id: str) -> str:
    """Who a ticket-in session belongs to: whoever holds the ticket (there is no player account)."""
    return f"ticket:{voucher_id}"


@dataclass(frozen=True)
class SessionCheckin(_SessionMove):
    """What is left in a session's escrow goes back to the player's wallet."""

    kind: ClassVar[str] = "session_checkin"

    def postings(self) -> tuple[Posting, ...]:
        return move(CREDITS, self.amount_units, account("escrow", self.session_id), account("wallet", self.player_id))


@dataclass(frozen=True)
class GameRound(Body):
    """One played round: the bet goes to the house, the win comes back to the escrow."""

    kind: ClassVar[str] = "game_round"
    session_id: str
    kiosk_id: str
    location_id: str
    game_id: str
    game_version: str
    round_no: int
    bet_units: int
    win_units: int
    outcome: dict[str, Any]
    draws: list[int] = field(default_factory=list)
    pool_entry: str | None = None

    def __post_init__(self) -> None:
        for name in ("session_id", "kiosk_id", "location_id", "game_id", "game_version"):
            check_ref(getattr(self, name), name)
        check_positive(self.round_no, "round_no")
        check_positive(self.bet_units, "bet_units")
        check_non_negative(self.win_units, "win_units")
        if not isinstance(self.outcome, dict):
            raise ValidationError("outcome must be an object describing what the player saw")
        if not isinstance(self.draws, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in self.draws):
            raise ValidationError("draws must be a list of whole numbers")
        if self.pool_entry is not None:
            check_ref(self.pool_entry, "pool_entry")

    def postings(self) -> tuple[Posting, ...]:
        escrow, house = account("escrow", self.session_id), account("house", self.location_id)
        bet = move(CREDITS, self.bet_units, escrow, house)
        return bet + (move(CREDITS, self.win_units, house, escrow) if self.win_units else ())


@dataclass(frozen=True)
class VoucherIssue(Body):
    """A session cashes out to a printed, signed ticket: escrow → voucher."""

    kind: ClassVar[str] = "voucher_issue"
    voucher_id: str
    session_id: str
    kiosk_id: str
    location_id: str
    amount_units: int
    validation_number: str

    def __post_init__(self) -> None:
        for name in ("voucher_id", "session_id", "kiosk_id", "location_id"):
            check_ref(getattr(self, name), name)
        check_positive(self.amount_units)
        if not isinstance(self.validation_number, str) or not _DIGITS_RE.match(self.validation_number):
            raise ValidationError("validation_number must be digits")

    def postings(self) -> tuple[Posting, ...]:
        return move(CREDITS, self.amount_units, account("escrow", self.session_id), account("voucher", self.voucher_id))


@dataclass(frozen=True)
class VoucherRedemption(Body):
    """The counter pays a voucher in cash: voucher → float, cash out of the drawer."""

    kind: ClassVar[str] = "voucher_redemption"
    voucher_id: str
    location_id: str
    pos_id: str
    shift_id: str
    amount_units: int
    cash_units: int
    currency: str

    def __post_init__(self) -> None:
        for name in ("voucher_id", "location_id", "pos_id", "shift_id"):
            check_ref(getattr(self, name), name)
        check_positive(self.amount_units)
        check_non_negative(self.cash_units, "cash_units")
        check_cash_currency(self.currency)

    def postings(self) -> tuple[Posting, ...]:
        credits = move(CREDITS, self.amount_units, account("voucher", self.voucher_id), account("float", self.location_id))
        if self.cash_units == 0:
            return credits
        return credits + move(self.currency, self.cash_units, account("drawer", self.pos_id), account("revenue", self.location_id))


@dataclass(frozen=True)
class Void(Body):
    """A compensating entry: its postings are exactly the reversal of the entry it names."""

    kind: ClassVar[str] = "void"
    reverses_entry_id: str
    reason: str
    approver: str

    def __post_init__(self) -> None:
        check_ref(self.reverses_entry_id, "reverses_entry_id")
        check_text(self.reason, "reason")
        check_ref(self.approver, "approver")

    def postings(self) -> None:
        return None


@dataclass(frozen=True)
class Adjustment(Body):
    """A manual correction: names who approved it and why, and lists its own postings."""

    kind: ClassVar[str] = "adjustment"
    approver: str
    reason: str
    lines: list[dict[str, Any]]

    def __post_init__(self) -> None:
        check_ref(self.approver, "approver")
        check_text(self.reason, "reason")
        if not isinstance(self.lines, list):
            raise ValidationError("lines must be a list of postings")
        check_balanced([Posting.from_json(line) for line in self.lines])

    def postings(self) -> tuple[Posting, ...]:
        return tuple(Posting.from_json(line) for line in self.lines)


@dataclass(frozen=True)
class OnlinePayment(Body):
    """A top-up the provider confirmed: fiat or crypto in, credits to the wallet."""

    kind: ClassVar[str] = "online_payment"
    payment_id: str
    provider: str
    player_id: str
    location_id: str
    amount_units: int
    fiat_units: int
    currency: str

    def __post_init__(self) -> None:
        for name in ("payment_id", "provider", "player_id", "location_id"):
            check_ref(getattr(self, name), name)
        check_positive(self.amount_units)
        check_non_negative(self.fiat_units, "fiat_units")
        check_cash_currency(self.currency)

    def postings(self) -> tuple[Posting, ...]:
        credits = move(CREDITS, self.amount_units, account("float", self.location_id), account("wallet", self.player_id))
        if self.fiat_units == 0:
            return credits
        return credits + move(self.currency, self.fiat_units, account("revenue", self.location_id), account("psp", self.provider))


@dataclass(frozen=True)
class ShiftOpen(Body):
    """A cashier opens a shift with a starting float counted by denomination."""

    kind: ClassVar[str] = "shift_open"
    shift_id: str
    pos_id: str
    location_id: str
    cashier_id: str
    float_units: int
    currency: str
    denominations: dict[str, int]

    def __post_init__(self) -> None:
        for name in ("shift_id", "pos_id", "location_id", "cashier_id"):
            check_ref(getattr(self, name), name)
        check_non_negative(self.float_units, "float_units")
        check_cash_currency(self.currency)
        check_denominations(self.denominations, self.float_units, "opening float denominations")

    def postings(self) -> tuple[Posting, ...]:
        if self.float_units == 0:
            return ()
        return move(self.currency, self.float_units, account("safe", self.location_id), account("drawer", self.pos_id))


@dataclass(frozen=True)
class CashCount(Body):
    """A mid-shift count of the drawer: a record for the shift report, no money moves."""

    kind: ClassVar[str] = "cash_count"
    shift_id: str
    pos_id: str
    counted_units: int
    currency: str
    denominations: dict[str, int]

    def __post_init__(self) -> None:
        check_ref(self.shift_id, "shift_id")
        check_ref(self.pos_id, "pos_id")
        check_non_negative(self.counted_units, "counted_units")
        check_cash_currency(self.currency)
        check_denominations(self.denominations, self.counted_units, "counted denominations")


@dataclass(frozen=True)
class ShiftClose(Body):
    """The drawer is counted and emptied to the safe; any difference goes to over/short."""

    kind: ClassVar[str] = "shift_close"
    shift_id: str
    pos_id: str
    location_id: str
    expected_units: int
    counted_units: int
    currency: str
    denominations: dict[str, int]
    approver: str | None = None

    def __post_init__(self) -> None:
        for name in ("shift_id", "pos_id", "location_id"):
            check_ref(getattr(self, name), name)
        check_non_negative(self.expected_units, "expected_units")
        check_non_negative(self.counted_units, "counted_units")
        check_cash_currency(self.currency)
        check_denominations(self.denominations, self.counted_units, "counted denominations")
        if self.approver is not None:
            check_ref(self.approver, "approver")

    @property
    def difference_units(self) -> int:
        """Counted minus expected: negative is a shortage."""
        return self.counted_units - self.expected_units

    def postings(self) -> tuple[Posting, ...]:
        drawer, unit = account("drawer", self.pos_id), self.currency
        lines: list[Posting] = []
        if self.expected_units:
            lines.append(Posting(drawer, unit, -self.expected_units))
        if self.counted_units:
            lines.append(Posting(account("safe", self.location_id), unit, self.counted_units))
        if self.difference_units:
            lines.append(Posting(account("overshort", self.location_id), unit, -self.difference_units))
        return tuple(lines)


BODY_TYPES: dict[str, type[Body]] = {
    cls.kind: cls
    for cls in (
        Mint, WholesaleTransfer, WholesalePayment, Sale, Redemption, SessionCheckout, GameRound, SessionCheckin,
        VoucherIssue, VoucherRedemption, Void, Adjustment, OnlinePayment, ShiftOpen, CashCount, ShiftClose,
    )
}
"""Every journal entry kind and its body type."""


def parse_body(kind: str, data: object) -> Body:
    """Validate ``data`` as the body of ``kind``; unknown kinds are refused."""
    body_type = BODY_TYPES.get(kind)
    if body_type is None:
        raise ValidationError(f"unknown entry kind {kind!r}")
    return body_type.from_json(data)

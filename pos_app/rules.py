"""The counter's rules as pure functions: no Qt, no I/O, no clock of their own.

The service reads the journal, the cached config and the clock, and asks these functions
what follows; the screens only show their answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.bodies import Adjustment, Redemption, Sale, ShiftClose, ShiftOpen, Void, VoucherRedemption
from shared.device_config import Limits
from shared.entry import JournalEntry, parse_utc_timestamp
from shared.errors import ValidationError
from shared.ledger import account

DENOMINATIONS_UNITS = (10000, 5000, 2000, 1000, 500, 100, 25, 10, 5, 1)
"""Notes and coins a drawer is counted in (minor units), largest first."""
MAX_KEYPAD_DIGITS = 9


class Refused(ValidationError):
    """A counter rule said no; the message is what the cashier reads."""

    code = "refused"


def credits_for_cash(cash_units: int) -> int:
    """Credits are sold at face value: 1.00 of the currency buys 1 credit (100 credit units)."""
    return cash_units


def change_due(total_units: int, tendered_units: int) -> int:
    if tendered_units < total_units:
        raise Refused(f"tendered {tendered_units} is less than the {total_units} due")
    return tendered_units - total_units


def count_total(counts: Mapping[int, int]) -> int:
    """The value of a drawer count ``{denomination: pieces}``."""
    for denom, pieces in counts.items():
        if denom <= 0 or pieces < 0:
            raise ValidationError(f"a count of {pieces} × {denom} is not possible")
    return sum(denom * pieces for denom, pieces in counts.items())


def denominations_json(counts: Mapping[int, int]) -> dict[str, int]:
    """The journal's form: only denominations actually counted, keyed by value as text."""
    return {str(denom): pieces for denom, pieces in sorted(counts.items(), reverse=True) if pieces}


def keypad_amount(digits: str) -> int:
    """Keypad digits as minor units, cents first ("1250" is 12.50), like a till."""
    if not digits:
        return 0
    if not digits.isdigit() or len(digits) > MAX_KEYPAD_DIGITS:
        raise ValidationError("an amount is up to nine digits")
    return int(digits)


# -- staff PIN lockout ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PinFailures:
    """Failure times (UTC seconds) per staff member; the lockout is decided from them alone."""

    times_s: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def recent(self, staff_id: str, now_s: float, limits: Limits) -> tuple[float, ...]:
        return tuple(t for t in self.times_s.get(staff_id, ()) if now_s - t < limits.pin_failure_window_s)

    def locked_for_s(self, staff_id: str, now_s: float, limits: Limits) -> int:
        """Seconds this member stays locked (0 when not locked)."""
        times = self.recent(staff_id, now_s, limits)
        if len(times) < limits.pin_max_failures:
            return 0
        return max(0, int(times[limits.pin_max_failures - 1] + limits.pin_lockout_s - now_s + 0.999))

    def failed(self, staff_id: str, now_s: float, limits: Limits) -> PinFailures:
        window = max(limits.pin_failure_window_s, limits.pin_lockout_s)
        kept = (*tuple(t for t in self.times_s.get(staff_id, ()) if now_s - t < window), now_s)
        return PinFailures({**self.times_s, staff_id: kept[-limits.pin_max_failures * 2:]})

    def cleared(self, staff_id: str) -> PinFailures:
        return PinFailures({k: v for k, v in self.times_s.items() if k != staff_id})


# -- approvals -----------------------------------------------------------------------------------

def payout_needs_manager(amount_units: int, limits: Limits) -> bool:
    return amount_units > limits.payout_approval_units


def shortage_needs_manager(difference_units: int, limits: Limits) -> bool:
    """Any drawer difference, short or over, beyond the threshold is a manager's call."""
    return abs(difference_units) > limits.shortage_approval_units


def void_allowed(sale_at: str, now: dt.datetime, limits: Limits) -> bool:
    return (now - parse_utc_timestamp(sale_at)).total_seconds() <= limits.void_window_s


# -- the shift, from the journal -------------------------------------------------------------------

@dataclass(frozen=True)
class ShiftState:
    shift_id: str
    cashier_id: str
    opened_at: str
    currency: str
    float_units: int
    expected_cash_units: int
    sales_units: int = 0
    sales_count: int = 0
    card_sales_units: int = 0
    payouts_units: int = 0
    payouts_count: int = 0
    voids_count: int = 0
    unsynced_sales_units: int = 0
    last_sale: JournalEntry | None = None
    voided_ids: frozenset[str] = frozenset()
    paid_vouchers: frozenset[str] = frozenset()


def shift_state(entries: Iterable[JournalEntry], pos_id: str, acked_seq: int) -> ShiftState | None:
    """The open shift of this POS from its journal (None when the last shift was closed).

    Expected cash is the sum of the drawer's postings since the shift opened: the float,
    cash sales, cash payouts, voids and adjustments all move it, so nothing is counted twice.
    """
    drawer = account("drawer", pos_id)
    state: ShiftState | None = None
    by_id: dict[str, JournalEntry] = {}
    for entry in entries:
        body = entry.body
        if isinstance(body, ShiftOpen) and body.pos_id == pos_id:
            state = ShiftState(body.shift_id, body.cashier_id, entry.created_at, body.currency, body.float_units, 0)
            by_id = {}
        elif isinstance(body, ShiftClose) and state is not None and body.shift_id == state.shift_id:
            state = None
        if state is None:
            continue
        by_id[entry.id] = entry
        cash = sum(p.amount_units for p in entry.postings if p.account == drawer and p.unit == state.currency)
        state = _with_entry(state, entry, cash, by_id, acked_seq)
    return state


def _with_entry(state: ShiftState, entry: JournalEntry, cash: int, by_id: Mapping[str, JournalEntry], acked: int) -> ShiftState:
    body = entry.body
    changes: dict[str, object] = {"expected_cash_units": state.expected_cash_units + cash}
    if isinstance(body, Sale):
        changes.update(sales_units=state.sales_units + body.amount_units, sales_count=state.sales_count + 1, last_sale=entry,
                       card_sales_units=state.card_sales_units + (body.cash_units if body.tender == "card" else 0))
        if entry.seq > acked:
            changes["unsynced_sales_units"] = state.unsynced_sales_units + body.amount_units
    elif isinstance(body, Redemption | VoucherRedemption):
        changes.update(payouts_units=state.payouts_units + body.amount_units, payouts_count=state.payouts_count + 1)
        if isinstance(body, VoucherRedemption):
            changes["paid_vouchers"] = state.paid_vouchers | {body.voucher_id}
    elif isinstance(body, Void):
        original = by_id.get(body.reverses_entry_id)
        changes.update(voids_count=state.voids_count + 1, voided_ids=state.voided_ids | {body.reverses_entry_id})
        if original is not None and isinstance(original.body, Sale):
            changes.update(sales_units=state.sales_units - original.body.amount_units, sales_count=state.sales_count - 1)
            if state.last_sale is not None and state.last_sale.id == original.id:
                changes["last_sale"] = None
            if original.seq > acked:
                changes["unsynced_sales_units"] = max(0, state.unsynced_sales_units - original.body.amount_units)
    elif isinstance(body, Adjustment):
        pass  # only its drawer postings matter to the shift, counted above
    return _replace(state, changes)


def _replace(state: ShiftState, changes: Mapping[str, object]) -> ShiftState:
    import dataclasses

    return dataclasses.replace(state, **changes)  # type: ignore[arg-type]


def offline_budget_left(state: ShiftState, limits: Limits) -> int:
    """Credits this shift may still sell that central has not confirmed (DESIGN §5)."""
    return max(0, limits.offline_budget_units - state.unsynced_sales_units)


def check_cash_payout(state: ShiftState, cash_units: int) -> None:
    """A cashier cannot hand over cash the drawer does not hold: a manager tops it up first (F7)."""
    if cash_units > state.expected_cash_units:
        held = state.expected_cash_units
        raise Refused(f"the drawer holds only {held // 100}.{held % 100:02d}: a manager adds cash from the safe first "
                      "(F7 Adjust drawer), then pay", code="drawer_short")


def check_sale(state: ShiftState | None, amount_units: int, limits: Limits, *, player_excluded: bool,
               day_sales_units: int = 0) -> None:
    """``day_sales_units``: what this counter has sold today (net of voids), for the location's daily limit."""
    if state is None:
        raise Refused("open a shift before taking money")
    if amount_units <= 0:
        raise Refused("enter an amount to sell")
    if player_excluded:
        raise Refused("this player is self-excluded: no sales")
    if state.sales_units + amount_units > limits.shift_limit_units:
        raise Refused("this sale would pass the shift's sales limit; ask a manager")
    if day_sales_units + amount_units > limits.daily_sales_limit_units:
        cap = limits.daily_sales_limit_units
        raise Refused(f"this sale would pass the location's daily sales limit of {cap // 100}.{cap % 100:02d} credits",
                      code="daily_limit")
    left = offline_budget_left(state, limits)
    if amount_units > left:
        raise Refused(f"offline budget reached: {left // 100}.{left % 100:02d} credits left until central confirms the "
                      "sales already made")


def last_sale_voidable(state: ShiftState | None, now: dt.datetime, limits: Limits) -> JournalEntry:
    if state is None or state.last_sale is None:
        raise Refused("there is no sale in this shift to void")
    if state.last_sale.id in state.voided_ids:
        raise Refused("the last sale is already voided")
    if not void_allowed(state.last_sale.created_at, now, limits):
        raise Refused(f"the last sale is older than {limits.void_window_s // 60} minutes and can no longer be voided")
    return state.last_sale


# -- vouchers ----------------------------------------------------------------------------------------

VOUCHER_QR_PREFIX = "CAFEV1"
VOUCHER_FIELDS = ("voucher_id", "validation_number", "amount_units", "kiosk_id", "location_id", "issued_at", "signature")


@dataclass(frozen=True)
class Ticket:
    voucher_id: str
    validation_number: str
    amount_units: int
    kiosk_id: str
    location_id: str
    issued_at: str
    signature: str


def parse_ticket(text: str) -> Ticket | None:
    """A scanned voucher QR (the kiosk's format: prefix and fields ``|``-separated), or None."""
    parts = text.strip().split("|")
    if len(parts) != len(VOUCHER_FIELDS) + 1 or parts[0] != VOUCHER_QR_PREFIX or not parts[3].isdigit():
        return None
    data = dict(zip(VOUCHER_FIELDS, parts[1:], strict=True))
    return Ticket(**{**data, "amount_units": int(data["amount_units"])})  # type: ignore[arg-type]


def ticket_message(ticket: Ticket) -> dict[str, object]:
    """The fields the kiosk signed (its canonical JSON is what the signature covers)."""
    return {"purpose": "cafesuite-voucher", "voucher_id": ticket.voucher_id, "validation_number": ticket.validation_number,
            "amount_units": ticket.amount_units, "kiosk_id": ticket.kiosk_id, "location_id": ticket.location_id,
            "issued_at": ticket.issued_at}


def offline_voucher_allowed(ticket: Ticket, limits: Limits) -> bool:
    return ticket.amount_units <= limits.offline_voucher_limit_units



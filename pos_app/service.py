"""The counter's operations: every call here may touch the disk or the network, so the
screens run them through ``pos_app.worker`` and never on the GUI thread.

Order is the point of this module: a fact is journaled (``Device.record``) before any
receipt prints or any screen says "done"; a payout that needs central (a wallet, a voucher
above the offline limit) is asked first and journaled under the id central was told.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pos_app import rules
from pos_app.receipts import Receipt, ReceiptPrinter
from pos_app.rules import Refused, ShiftState, Ticket
from shared.bodies import Adjustment, Redemption, Sale, ShiftClose, ShiftOpen, Void, VoucherRedemption
from shared.canonical import canonical_json
from shared.device_config import DeviceConfig, Limits, StaffMember
from shared.entry import JournalEntry
from shared.ids import new_id
from shared.ledger import account, move
from shared.money import CREDITS, format_units
from shared.protocol import PLAYERS_PATH, VOUCHER_REDEEM_PATH
from shared.reports import LOCATION_DAY_PATH, DailyReport, build_daily_report
from shared.signing import decode_b64, verify
from sync import escpos_driver
from sync.central_client import CentralRefused, Offline
from sync.device import Device
from sync.enrollment import DeviceIdentity, enroll, fetch_ca, is_enrolled
from sync.payments import REFUSED_CODES, Payment, Provider, payment_status, start_topup
from sync.status import SyncStatus

LOCKOUT_DOC = "pos_pin_failures"
CARD_REFS_DOC = "pos_card_references"
MANAGER_ROLES = ("manager", "owner")
REPORT_ROLES = ("manager", "owner")
MAX_SEARCH_RESULTS = 50
TOPUP_WAIT_S = 10  # one long poll; also how long closing the window may wait for one in flight


@dataclass(frozen=True)
class Player:
    player_id: str
    card_number: str
    name: str
    balance_units: int
    self_excluded: bool
    phone: str = ""
    date_of_birth: str = ""
    age_years: int | None = None
    registered: bool = True

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Player:
        return cls(
            player_id=str(data["player_id"]), card_number=str(data["card_number"]),
            name=str(data.get("full_name") or data.get("display_name") or "(anonymous card)"),
            balance_units=int(data.get("balance_units", 0)), self_excluded=bool(data.get("self_excluded", False)),
            phone=str(data.get("phone") or ""), date_of_birth=str(data.get("date_of_birth") or ""),
            age_years=data.get("age_years"), registered="full_name" in data,
        )


@dataclass(frozen=True)
class Done:
    """What a money operation did: its journal entry and the receipt that printed (or why not)."""

    entry: JournalEntry
    receipt: Receipt
    change_units: int = 0
    printer_problem: str | None = None
    offline: bool = False


@dataclass(frozen=True)
class TicketCheck:
    ticket: Ticket
    signature_checked: bool
    needs_manager: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShiftReport:
    shift_id: str
    cashier: str
    opened_at: str
    closed_at: str
    currency: str
    float_units: int
    sales_units: int
    sales_count: int
    card_sales_units: int
    payouts_units: int
    payouts_count: int
    voids_count: int
    expected_units: int
    counted_units: int
    approver: str | None

    @property
    def difference_units(self) -> int:
        return self.counted_units - self.expected_units


@dataclass(frozen=True)
class Snapshot:
    config: DeviceConfig | None
    shift: ShiftState | None
    status: SyncStatus
    budget_left_units: int


@dataclass
class PosService:
    """One POS station's operations; one call at a time changes the journal (a lock orders them)."""

    data_dir: Path
    printer: ReceiptPrinter | None = None
    clock: Callable[[], float] = time.time
    client_kwargs: dict[str, Any] | None = None
    engine_kwargs: dict[str, Any] | None = None
    device: Device | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _failures: rules.PinFailures = field(default_factory=rules.PinFailures)
    _entries: list[JournalEntry] = field(default_factory=list)
    _topup_attempt: tuple[tuple[str, int, str], str] | None = field(default=None, repr=False)
    """(player, amount, provider) of the top-up last asked for and not yet answered, and its request id."""

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if self.printer is None:
            self.printer = ReceiptPrinter("file:", self.data_dir)

    # -- enrollment and start ---------------------------------------------------------------

    @property
    def enrolled(self) -> bool:
        return is_enrolled(self.data_dir)

    @staticmethod
    def fetch_fingerprint(central_url: str) -> str:
        url = central_url.strip().rstrip("/")
        if not url.startswith("https://"):
            raise Refused("the central address starts with https://")
        return fetch_ca(url)[1]

    def enroll(self, central_url: str, code: str, fingerprint: str) -> DeviceIdentity:
        if not code.strip():
            raise Refused("type the one-time code central printed")
        return enroll(self.data_dir, central_url.strip(), code, "pos", expected_ca_fingerprint=fingerprint or None)

    def open(self) -> None:
        """Open the enrolled device, read this station's journal, start sync, try a config pull."""
        with self._lock:
            if self.device is None:
                self.device = Device.open(self.data_dir, client_kwargs=self.client_kwargs, engine_kwargs=self.engine_kwargs)
                self._entries = list(self.device.journal.entries())
                doc = self.device.cache.get(LOCKOUT_DOC)
                if doc is not None:
                    self._failures = rules.PinFailures({k: tuple(t / 1000 for t in v)
                                                        for k, v in doc.body.get("times_ms", {}).items()})
                self.device.start()
        escpos_driver.load(self.data_dir)  # here, not at the first receipt: see sync.escpos_driver
        self.device.pull_config()

    def close(self) -> None:
        with self._lock:
            if self.device is not None:
                self.device.close()
                self.device = None

    def _dev(self) -> Device:
        if self.device is None:
            raise Refused("the station is not open")
        return self.device

    # -- what the screens read (cheap, in memory or the cached config) ------------------------

    def config(self) -> DeviceConfig | None:
        return self._dev().config()

    def limits(self) -> Limits:
        config = self.config()
        return config.limits if config else Limits()

    def currency(self) -> str:
        config = self.config()
        return config.currency if config else "USD"

    def location_name(self) -> str:
        config = self.config()
        return config.location_name if config else self._dev().location_id

    def staff(self) -> tuple[StaffMember, ...]:
        config = self.config()
        return config.staff if config else ()

    def status(self) -> SyncStatus:
        return self._dev().engine.status

    def shift(self) -> ShiftState | None:
        device = self._dev()
        with self._lock:
            return rules.shift_state(self._entries, device.device_id, device.journal.acked_seq)

    def snapshot(self) -> Snapshot:
        """Everything the frame of the window shows, read in one worker call."""
        state, limits = self.shift(), self.limits()
        return Snapshot(self.config(), state, self.status(),
                        rules.offline_budget_left(state, limits) if state else limits.offline_budget_units)

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    # -- people ----------------------------------------------------------------------------------

    def login(self, staff_id: str, pin: str) -> StaffMember:
        """A staff member's PIN, checked against the pulled argon2 hash (works offline)."""
        config = self.config()
        if config is None:
            raise Refused("this station has no staff list from central yet; connect it once")
        member = config.staff_member(staff_id)
        if member is None:
            raise Refused("unknown staff member")
        return self._check_pin(member, pin, config.limits)

    def _check_pin(self, member: StaffMember, pin: str, limits: Limits) -> StaffMember:
        now = self.clock()
        with self._lock:
            locked = self._failures.locked_for_s(member.id, now, limits)
            if locked:
                raise Refused(f"{member.name} is locked after too many wrong PINs; try again in {locked // 60 + 1} min",
                              code="pin_locked")
            if _pin_matches(member.pin_hash, pin):
                if self._failures.times_s.get(member.id):
                    self._failures = self._failures.cleared(member.id)
                    self._save_failures()
                return member
            self._failures = self._failures.failed(member.id, now, limits)
            self._save_failures()
            left = limits.pin_max_failures - len(self._failures.recent(member.id, now, limits))
        if left <= 0:
            raise Refused(f"wrong PIN: {member.name} is now locked for {limits.pin_lockout_s // 60} minutes", code="pin_locked")
        raise Refused(f"wrong PIN ({left} {'try' if left == 1 else 'tries'} left)", code="pin_wrong")

    def _save_failures(self) -> None:
        # Canonical JSON carries integers only: failure times are kept in milliseconds.
        body = {"times_ms": {k: [int(t * 1000) for t in v] for k, v in self._failures.times_s.items()}}
        self._dev().cache.put(LOCKOUT_DOC, "local", body)

    def approve(self, pin: str) -> StaffMember:
        """A manager (or owner) approves by PIN; the PIN names them."""
        config = self.config()
        if config is None:
            raise Refused("no staff list from central yet")
        managers = [m for m in config.staff if m.role in MANAGER_ROLES]
        for member in managers:
            if _pin_matches(member.pin_hash, pin):
                return self._check_pin(member, pin, config.limits)
        raise Refused("that is not a manager's PIN", code="approval_refused")

    # -- shifts ------------------------------------------------------------------------------------

    def open_shift(self, cashier: StaffMember, counts: dict[int, int]) -> ShiftState:
        device = self._dev()
        with self._lock:
            if self.shift() is not None:
                raise Refused("a shift is already open on this station")
            total = rules.count_total(counts)
            body = ShiftOpen(shift_id=new_id(), pos_id=device.device_id, location_id=device.location_id, cashier_id=cashier.id,
                             float_units=total, currency=self.currency(), denominations=rules.denominations_json(counts))
            self._record(body, actor=cashier.id)
            state = self.shift()
        assert state is not None
        return state

    def close_shift(self, cashier: StaffMember, counts: dict[int, int], approver: StaffMember | None) -> ShiftReport:
        device = self._dev()
        limits = self.limits()
        with self._lock:
            state = self.shift()
            if state is None:
                raise Refused("no shift is open")
            counted = rules.count_total(counts)
            difference = counted - state.expected_cash_units
            if rules.shortage_needs_manager(difference, limits) and approver is None:
                raise Refused("the drawer is off by more than the limit: a manager must approve", code="needs_manager")
            body = ShiftClose(shift_id=state.shift_id, pos_id=device.device_id, location_id=device.location_id,
                              expected_units=state.expected_cash_units, counted_units=counted, currency=state.currency,
                              denominations=rules.denominations_json(counts), approver=approver.id if approver else None)
            entry = self._record(body, actor=cashier.id)
        report = ShiftReport(
            shift_id=state.shift_id, cashier=cashier.name, opened_at=state.opened_at, closed_at=entry.created_at,
            currency=state.currency, float_units=state.float_units, sales_units=state.sales_units, sales_count=state.sales_count,
            card_sales_units=state.card_sales_units, payouts_units=state.payouts_units, payouts_count=state.payouts_count,
            voids_count=state.voids_count, expected_units=state.expected_cash_units, counted_units=counted,
            approver=approver.name if approver else None,
        )
        self._print(self._shift_receipt(report, entry.id))
        return report

    # -- selling -------------------------------------------------------------------------------------

    def sell(self, cashier: StaffMember, player: Player, amount_units: int, *, tender: str,
             tendered_units: int = 0, terminal_ref: str = "") -> Done:
        """Sell credits: checks, journal, then the receipt (and the drawer for cash)."""
        device, limits = self._dev(), self.limits()
        cash_units = amount_units  # credits are sold at face value (rules.credits_for_cash)
        change = rules.change_due(cash_units, tendered_units) if tender == "cash" else 0
        if tender == "card" and not terminal_ref.strip():
            raise Refused("type the card terminal's reference for a card payment")
        with self._lock:
            state = self.shift()
            rules.check_sale(state, amount_units, limits, player_excluded=player.self_excluded,
                             day_sales_units=self._sales_today())
            assert state is not None
            body = Sale(player_id=player.player_id, location_id=device.location_id, pos_id=device.device_id,
                        shift_id=state.shift_id, amount_units=amount_units, cash_units=cash_units, currency=state.currency,
                        tender=tender)
            entry = self._record(body, actor=cashier.id)
            if tender == "card":
                self._remember_card_ref(entry.id, terminal_ref.strip())
        lines = [("Player", player.name), ("Card", player.card_number), ("Credits", format_units(amount_units, CREDITS))]
        lines.append(("Paid by card", f"{format_units(cash_units, state.currency)} ref {terminal_ref.strip()}") if tender == "card"
                     else ("Cash", format_units(tendered_units, state.currency)))
        if tender == "cash":
            lines.append(("Change", format_units(change, state.currency)))
        receipt = self._receipt("Credit sale", lines, entry, cashier, open_drawer=tender == "cash")
        return Done(entry, receipt, change, self._print(receipt), offline=not self.status().online)

    def _remember_card_ref(self, entry_id: str, ref: str) -> None:
        # The sale body has no field for the terminal's reference yet: kept beside the journal.
        cache = self._dev().cache
        doc = cache.get(CARD_REFS_DOC)
        refs = dict(doc.body) if doc else {}
        refs[entry_id] = ref
        cache.put(CARD_REFS_DOC, "local", refs)

    def void_last_sale(self, cashier: StaffMember, approver: StaffMember, reason: str) -> Done:
        with self._lock:
            original = rules.last_sale_voidable(self.shift(), self._now(), self.limits())
            body = Void(reverses_entry_id=original.id, reason=reason.strip() or "-", approver=approver.id)
            entry = self._record(body, actor=cashier.id, postings=[p.reversed() for p in original.postings])
        sale = original.body
        assert isinstance(sale, Sale)
        lines = [("Voided sale", original.id[:18]), ("Credits", "-" + format_units(sale.amount_units, CREDITS)),
                 ("Refund", format_units(sale.cash_units, sale.currency)), ("Reason", reason.strip()[:28]),
                 ("Approved by", approver.name)]
        receipt = self._receipt("Void", lines, entry, cashier, open_drawer=sale.tender == "cash")
        return Done(entry, receipt, 0, self._print(receipt))

    def adjust(self, cashier: StaffMember, approver: StaffMember, amount_units: int, reason: str) -> Done:
        """A manager's correction of the drawer: positive puts cash in, negative takes it out (against over/short)."""
        if amount_units == 0:
            raise Refused("an adjustment needs an amount")
        device = self._dev()
        with self._lock:
            state = self.shift()
            if state is None:
                raise Refused("open a shift before adjusting the drawer")
            drawer, overshort = account("drawer", device.device_id), account("overshort", device.location_id)
            lines = move(state.currency, abs(amount_units), *((overshort, drawer) if amount_units > 0 else (drawer, overshort)))
            body = Adjustment(approver=approver.id, reason=reason.strip(), lines=[p.to_json() for p in lines])
            entry = self._record(body, actor=cashier.id)
        receipt = self._receipt("Drawer adjustment", [
            ("Amount", format_units(amount_units, state.currency)), ("Reason", reason.strip()[:28]), ("Approved by", approver.name),
        ], entry, cashier, open_drawer=True)
        return Done(entry, receipt, 0, self._print(receipt))

    # -- players (central) -------------------------------------------------------------------------

    def search_players(self, query: str) -> list[Player]:
        data = self._central("GET", f"{PLAYERS_PATH}/search?q={quote(query.strip())}")
        return [Player.from_json(p) for p in data["players"][:MAX_SEARCH_RESULTS]]

    def player_by_card(self, card: str) -> Player:
        data = self._central("GET", f"{PLAYERS_PATH}/by-card/{quote(card.strip(), safe='')}")
        return self.player(str(data["player_id"]))

    def player(self, player_id: str) -> Player:
        try:
            return Player.from_json(self._central("GET", f"{PLAYERS_PATH}/{player_id}/profile"))
        except CentralRefused as exc:
            if exc.code != "no_profile":
                raise
            return Player.from_json(self._central("GET", f"{PLAYERS_PATH}/{player_id}"))

    def activity(self, player_id: str) -> list[dict[str, Any]]:
        return list(self._central("GET", f"{PLAYERS_PATH}/{player_id}/activity?limit=12")["activity"])

    def register_player(self, *, full_name: str, date_of_birth: str, phone: str, id_number: str = "", pin: str = "") -> Player:
        payload: dict[str, Any] = {"full_name": full_name.strip(), "date_of_birth": date_of_birth.strip(), "phone": phone.strip()}
        if id_number.strip():
            payload["id_number"] = id_number.strip()
        if pin.strip():
            payload["pin"] = pin.strip()
        return Player.from_json(self._central("POST", f"{PLAYERS_PATH}/register", payload))

    def self_exclude(self, player_id: str, reason: str) -> Player:
        self._central("PUT", f"{PLAYERS_PATH}/{player_id}/self-exclusion", {"excluded": True, "reason": reason or "at the counter"})
        return self.player(player_id)

    def _central(self, method: str, path: str, payload: Any = None) -> Any:
        try:
            return self._dev().client.request(method, path, payload)
        except Offline as exc:
            raise Refused("central is unreachable: players need the connection; try again when the banner says online",
                          code="offline") from exc
        except CentralRefused as exc:
            if exc.code in REFUSED_CODES:
                raise CentralRefused(_topup_refusal(exc), code=exc.code, http_status=exc.http_status) from exc
            raise CentralRefused(_readable(exc), code=exc.code, http_status=exc.http_status) from exc

    # -- payouts -------------------------------------------------------------------------------------

    def redeem_wallet(self, cashier: StaffMember, player: Player, amount_units: int, approver: StaffMember | None) -> Done:
        """A wallet payout: central pays (guarded) first, then the entry under the same id, then cash out."""
        limits = self.limits()
        if amount_units <= 0:
            raise Refused("enter an amount to pay out")
        if rules.payout_needs_manager(amount_units, limits) and approver is None:
            raise Refused("a payout this large needs a manager", code="needs_manager")
        device = self._dev()
        state = self.shift()
        if state is None:
            raise Refused("open a shift before paying out")
        rules.check_cash_payout(state, amount_units)  # before central moves the credits
        entry_id = new_id()
        self._central("POST", f"{PLAYERS_PATH}/redeem", {
            "request_id": entry_id, "player_id": player.player_id, "shift_id": state.shift_id, "amount_units": amount_units,
            "cash_units": amount_units, "currency": state.currency,
        })
        body = Redemption(player_id=player.player_id, location_id=device.location_id, pos_id=device.device_id,
                          shift_id=state.shift_id, amount_units=amount_units, cash_units=amount_units, currency=state.currency)
        with self._lock:
            entry = self._record(body, actor=cashier.id, entry_id=entry_id)
        lines = [("Player", player.name), ("Credits paid", format_units(amount_units, CREDITS)),
                 ("Cash out", format_units(amount_units, state.currency))]
        if approver:
            lines.append(("Approved by", approver.name))
        receipt = self._receipt("Wallet payout", lines, entry, cashier, open_drawer=True)
        return Done(entry, receipt, 0, self._print(receipt))

    def check_ticket(self, text: str) -> TicketCheck:
        """What can be known about a scanned ticket here: format, location, expiry, paid at this counter, signature."""
        ticket = rules.parse_ticket(text)
        if ticket is None:
            raise Refused("this is not a cafesuite ticket", code="not_a_ticket")
        device, limits = self._dev(), self.limits()
        if ticket.location_id != device.location_id:
            raise Refused("this ticket was issued at another location", code="other_location")
        if limits.voucher_expired(ticket.issued_at, self._now()):
            raise Refused(f"this ticket expired (valid {limits.voucher_expiry_days} days from {ticket.issued_at[:10]})",
                          code="expired")
        with self._lock:
            paid = any(isinstance(e.body, VoucherRedemption) and e.body.voucher_id == ticket.voucher_id for e in self._entries)
        if paid:
            raise Refused("this ticket was already paid at this counter", code="already_paid")
        key = self._kiosk_key(ticket.kiosk_id)
        checked = key is not None
        if key is not None and not verify(key, canonical_json(rules.ticket_message(ticket)), ticket.signature):
            raise Refused("the ticket's signature does not verify: damaged or forged", code="bad_signature")
        warnings = () if checked else ("The ticket's signature cannot be checked here; central's record decides.",)
        return TicketCheck(ticket, checked, rules.payout_needs_manager(ticket.amount_units, limits), warnings)

    def _kiosk_key(self, kiosk_id: str) -> bytes | None:
        """The issuing kiosk's public key from the last pulled config (active kiosks of this location)."""
        config = self._dev().config()
        value = config.kiosk_key(kiosk_id) if config is not None else None
        return decode_b64(value, "kiosk key") if value is not None else None

    def pay_ticket(self, cashier: StaffMember, check: TicketCheck, approver: StaffMember | None) -> Done:
        """Ask central to mark the voucher paid (offline: within the limit), then journal and pay."""
        ticket, limits = check.ticket, self.limits()
        if check.needs_manager and approver is None:
            raise Refused("a payout this large needs a manager", code="needs_manager")
        device = self._dev()
        state = self.shift()
        if state is None:
            raise Refused("open a shift before paying out")
        rules.check_cash_payout(state, ticket.amount_units)  # before central marks the ticket paid
        entry_id, offline = new_id(), False
        try:
            answer = device.client.request("POST", VOUCHER_REDEEM_PATH, {"request_id": entry_id, "voucher_id": ticket.voucher_id})
        except Offline as exc:
            if not (check.signature_checked and rules.offline_voucher_allowed(ticket, limits)):
                raise Refused(f"central is unreachable: only signed tickets up to "
                              f"{format_units(limits.offline_voucher_limit_units, CREDITS)} credits are paid offline",
                              code="offline") from exc
            offline = True
        except CentralRefused as exc:
            raise Refused({"unknown_voucher": "central does not know this ticket (not found)",
                           "voucher_redeemed": "this ticket was already paid"}.get(exc.code, _readable(exc)),
                          code=exc.code) from exc
        else:
            if int(answer["amount_units"]) != ticket.amount_units:
                raise Refused(f"amount mismatch: the ticket says {format_units(ticket.amount_units, CREDITS)}, central "
                              f"{format_units(int(answer['amount_units']), CREDITS)}; call a manager", code="amount_mismatch")
        body = VoucherRedemption(voucher_id=ticket.voucher_id, location_id=device.location_id, pos_id=device.device_id,
                                 shift_id=state.shift_id, amount_units=ticket.amount_units, cash_units=ticket.amount_units,
                                 currency=state.currency)
        with self._lock:
            entry = self._record(body, actor=cashier.id, entry_id=entry_id)
        lines = [("Ticket", ticket.validation_number), ("Credits", format_units(ticket.amount_units, CREDITS)),
                 ("Cash out", format_units(ticket.amount_units, state.currency))]
        if approver:
            lines.append(("Approved by", approver.name))
        receipt = self._receipt("Ticket payout" + (" (offline)" if offline else ""), lines, entry, cashier, open_drawer=True)
        return Done(entry, receipt, 0, self._print(receipt), offline=offline)

    # -- online top-ups (issue 8) -------------------------------------------------------------------

    def start_topup(self, cashier: StaffMember, player: Player, amount_units: int, provider: Provider) -> Payment:
        """Ask central to open a top-up that the player pays online; central credits the wallet.

        The request id is made once per attempt: pressing Start again for the same player,
        amount and provider after an answer was lost reuses it, so central returns the payment
        it already made instead of a second one. Once central has answered, the next Start is
        a new top-up. Central checks that ``cashier`` (sent by id) may start one here.
        """
        if amount_units <= 0:
            raise Refused("enter an amount to top up")
        if player.self_excluded:
            raise Refused("this player is self-excluded and cannot buy credits", code="self_excluded")
        attempt = (player.player_id, amount_units, provider)
        with self._lock:
            if self._topup_attempt is None or self._topup_attempt[0] != attempt:
                self._topup_attempt = (attempt, new_id())
            request_id = self._topup_attempt[1]
        payment = self._payments(lambda: start_topup(self._dev().client, request_id, player.player_id, amount_units, provider,
                                                     staff_id=cashier.id))
        with self._lock:
            if self._topup_attempt is not None and self._topup_attempt[1] == request_id:
                self._topup_attempt = None
        return payment

    def topup_status(self, payment_id: str, known: str | None) -> Payment:
        """The top-up once its status is no longer ``known`` (a long poll of at most ``TOPUP_WAIT_S``)."""
        return self._payments(lambda: payment_status(self._dev().client, payment_id, known, TOPUP_WAIT_S))

    def _payments(self, call: Callable[[], Payment]) -> Payment:
        try:
            return call()
        except Offline as exc:
            raise Refused("central is unreachable: online top-ups need the connection; try again when the banner "
                          "says online", code="offline") from exc
        except CentralRefused as exc:
            if exc.code in REFUSED_CODES:
                raise CentralRefused(_topup_refusal(exc), code=exc.code, http_status=exc.http_status) from exc
            raise CentralRefused(_readable(exc), code=exc.code, http_status=exc.http_status) from exc

    # -- reports -------------------------------------------------------------------------------------

    def _sales_today(self) -> int:
        """This counter's credits sold today (UTC, net of voids), from its own journal: what the edge
        knows of the location's daily limit while offline; central sees the whole location."""
        device, today = self._dev(), self._now().date()
        since = (self._now() - dt.timedelta(days=2)).strftime("%Y-%m-%d")  # voids may name yesterday's sales
        recent = [e for e in self._entries if e.created_at >= since]
        return build_daily_report(recent, location_id=device.location_id, day=today, tz="UTC").sales_units

    def day_report(self, day: dt.date) -> tuple[DailyReport, str]:
        """The location's day from central, or (offline) this station's own entries; and where it came from."""
        device = self._dev()
        try:
            data = device.client.request("GET", f"{LOCATION_DAY_PATH}?date={day.isoformat()}")
            return DailyReport.from_json(data.get("report", data) if isinstance(data, dict) else data), "central"
        except (Offline, CentralRefused):
            with self._lock:
                entries = list(self._entries)
            return build_daily_report(entries, location_id=device.location_id, day=day, tz="UTC",
                                      currency=self.currency()), "this station (offline)"

    # -- the edges -------------------------------------------------------------------------------------

    def _record(self, body: Any, *, actor: str, postings: Iterable[Any] | None = None, entry_id: str | None = None) -> JournalEntry:
        entry = self._dev().record(body, actor=actor, postings=postings, entry_id=entry_id)
        self._entries.append(entry)
        return entry

    def _receipt(self, title: str, lines: list[tuple[str, str]], entry: JournalEntry, cashier: StaffMember,
                 *, open_drawer: bool) -> Receipt:
        return Receipt(title=title, location_name=self.location_name(), lines=tuple([*lines, ("Cashier", cashier.name)]),
                       transaction_id=entry.id, printed_at=entry.created_at, open_drawer=open_drawer)

    def _shift_receipt(self, report: ShiftReport, entry_id: str) -> Receipt:
        c = report.currency
        lines = (
            ("Cashier", report.cashier), ("Opened", report.opened_at[:16]), ("Closed", report.closed_at[:16]),
            ("Float", format_units(report.float_units, c)), (f"Sales ({report.sales_count})", format_units(report.sales_units, CREDITS)),
            ("  of which card", format_units(report.card_sales_units, c)),
            (f"Payouts ({report.payouts_count})", format_units(report.payouts_units, CREDITS)), ("Voids", str(report.voids_count)),
            ("Expected cash", format_units(report.expected_units, c)), ("Counted cash", format_units(report.counted_units, c)),
            ("Difference", format_units(report.difference_units, c)), ("Approved by", report.approver or "-"),
        )
        return Receipt("Shift report", self.location_name(), lines, entry_id, report.closed_at)

    def _print(self, receipt: Receipt) -> str | None:
        """Print after the fact is journaled; a printer problem is reported, never undoes the fact."""
        assert self.printer is not None
        try:
            self.printer.print(receipt)
        except Exception as exc:  # the receipt is secondary: any driver failure becomes a message
            return str(exc)
        return None


def _pin_matches(pin_hash: str, pin: str) -> bool:
    try:
        return PasswordHasher().verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def _topup_refusal(exc: CentralRefused) -> str:
    """A refused online top-up in a cashier's words (central's own sentence names the detail)."""
    return {
        "topup_channel_off": "online top-ups at the counter are switched off for this location; sell for cash or card instead",
        "topup_provider_off": "this location does not offer that way to pay online here; choose the other one",
        "topup_staff_required": "central does not know the signed-in cashier as active staff here; sign in again or ask a manager",
        "topup_role_refused": "your role may not start online top-ups; ask a cashier or a manager",
    }.get(exc.code, _readable(exc))


def _readable(exc: CentralRefused) -> str:
    return exc.message.split(": ", 1)[-1] if exc.message.startswith("central refused") else exc.message

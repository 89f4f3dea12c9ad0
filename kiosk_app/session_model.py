"""The kiosk's decisions, as pure functions over plain data (no Qt, HTTP or disk).

A play session is a frozen ``Session``: the escrow meter, what was wagered and won, the
round counter and the clock marks the timers need. The screens ask this module what to
do (which bets are affordable, whether a reality check or the idle cash-out is due, what
a cash-out writes to the journal) and the service layer does it. The same functions
rebuild an interrupted session, the last rounds for recall and the kiosk's meters from
the journal, so what a technician reads is exactly what was recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.bodies import GameRound, SessionCheckin, SessionCheckout, VoucherIssue, ticket_bearer
from shared.canonical import canonical_json
from shared.device_config import Limits
from shared.entry import JournalEntry, parse_utc_timestamp
from shared.errors import ValidationError
from shared.games.definition import GameDefinition
from shared.games.round import RoundResult, check_stake, round_body_fields
from shared.money import CREDITS, format_units

RECALL_ROUNDS = 10
VALIDATION_DIGITS = 18
VOUCHER_QR_PREFIX = "CAFEV1"
CHECKOUT_CHOICES_UNITS = (10_00, 20_00, 50_00, 100_00)
TOPUP_CHOICES_UNITS = (10_00, 20_00, 50_00, 100_00)


def credits(units: int) -> str:
    """Credits for a meter: "1,234.50" (thousands grouped; the exact value is the integer)."""
    text = format_units(units, CREDITS)
    whole, _, cents = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}"
    return ("-" if units < 0 else "") + (f"{grouped}.{cents}" if cents else grouped)


def clock_text(seconds: float) -> str:
    """A session clock: "4:07" or "1:02:33"."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class Player:
    """A player as central showed them at login."""

    player_id: str
    card_number: str
    display_name: str
    balance_units: int
    self_excluded: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Player:
        try:
            return cls(
                player_id=str(data["player_id"]), card_number=str(data.get("card_number", "")),
                display_name=str(data.get("display_name") or f"Card …{str(data.get('card_number', ''))[-4:]}"),
                balance_units=int(data["balance_units"]),
                self_excluded=bool(data.get("self_excluded", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"central's player answer is malformed ({exc})") from exc

    @property
    def first_name(self) -> str | None:
        """The player's first name, or None when central only knows the card (its display name is then the
        masked card number, e.g. "Card …1155", or empty)."""
        name = " ".join(self.display_name.split())
        if not name or "…" in name or "*" in name or any(c.isdigit() for c in name) or name.lower().startswith("card "):
            return None
        return name.split(" ")[0]

    @property
    def card_ending(self) -> str:
        """The last digits of the card, as a player finds them printed on it."""
        return self.card_number.strip()[-4:]


def welcome(player: Player) -> tuple[str, str]:
    """(greeting, line under it) for the wallet screen: the first name when known, else the card's ending."""
    title = f"Welcome, {player.first_name}!" if player.first_name else "Welcome!"
    return title, f"Card ending in {player.card_ending}" if player.card_ending else ""


def checkout_choices(balance_units: int) -> list[int]:
    """Amounts a player may move to the kiosk: the presets they can cover (the whole wallet is a separate button)."""
    return [a for a in CHECKOUT_CHOICES_UNITS if a < balance_units]


def topup_words(status: str, amount_units: int, wallet_units: int) -> tuple[str, str, str]:
    """(headline, label style, line under it) a player reads for an online top-up's status."""
    amount = credits(amount_units)
    return {
        "pending": ("Waiting for your payment…", "message",
                    "The credits arrive the moment the payment is confirmed."),
        "credited": ("Paid. Thank you!", "message", f"{amount} credits added. Your account now holds {credits(wallet_units)}."),
        "review": ("Payment received", "message",
                   "Your payment is being checked by the cafe; the credits arrive when it is approved."),
        "expired": ("Time ran out", "error", "The payment was not made in time. Nothing was charged here; start again "
                                            "if you still want to top up."),
        "failed": ("Payment did not go through", "error", "Nothing was added. Please try again, or top up at the counter."),
        "rejected": ("Payment not accepted", "error", "The cafe did not accept this payment, and the money goes back "
                                                      "to you. Please see the cashier."),
        "refunded": ("Payment refunded", "error", "The money went back to you, so no credits were added."),
        "partial": ("Only part of the amount arrived", "error", "No credits were added. Please see the cashier to get "
                                                                "the part you paid back."),
    }.get(status, ("Please see the cashier", "error", "This top-up needs a look from the staff."))


def refusal_to_start(player: Player, amount_units: int | None) -> str | None:
    """Why a session may not start, in words for the player, or None."""
    if player.self_excluded:
        return "This account is self-excluded. Please see the cashier."
    if player.balance_units <= 0:
        return "Your account has no credits. Buy credits at the counter."
    if amount_units is not None and (amount_units <= 0 or amount_units > player.balance_units):
        return f"Choose an amount up to {credits(player.balance_units)} credits."
    return None


@dataclass(frozen=True)
class Session:
    """One play session on this kiosk: the escrow meter and the marks its timers need."""

    session_id: str
    player_id: str
    player_name: str
    kiosk_id: str
    location_id: str
    checked_out_units: int
    escrow_units: int
    started_at_s: float
    last_activity_s: float
    last_reality_check_s: float
    rounds: int = 0
    wagered_units: int = 0
    won_units: int = 0
    last_win_units: int = 0
    # Funded by a scanned ticket ("ticket in"): no wallet behind it, so it cashes out to a new ticket only.
    from_ticket: bool = False

    def __post_init__(self) -> None:
        # The escrow is the player's money on this machine: it is never below zero.
        assert self.escrow_units >= 0, self.escrow_units

    @classmethod
    def start(cls, *, session_id: str, player: Player, kiosk_id: str, location_id: str, amount_units: int, now_s: float) -> Session:
        return cls(session_id, player.player_id, player.display_name, kiosk_id, location_id, amount_units, amount_units,
                   now_s, now_s, now_s)

    @classmethod
    def from_voucher(cls, *, session_id: str, ticket: Mapping[str, Any], kiosk_id: str, location_id: str, amount_units: int,
                     now_s: float) -> Session:
        """A session funded by a scanned ticket (``parse_voucher_qr`` fields); its amount is central's answer."""
        return cls(session_id, ticket_bearer(str(ticket["voucher_id"])), ticket_name(str(ticket["validation_number"])),
                   kiosk_id, location_id, amount_units, amount_units, now_s, now_s, now_s, from_ticket=True)

    def cash_out_choices(self) -> list[tuple[str, str, str]]:
        """(key, label, style) of the cash-out answers; a ticket session has no account to return to."""
        keep = ("continue", "Keep playing", "")
        if self.from_ticket:
            return [("ticket", "Print a ticket", "primary"), keep]
        return [("wallet", "To my account", "primary"), ("ticket", "Print a ticket", ""), keep]

    def idle_cash_out(self) -> str:
        """Where an idle session's credits go: back to the wallet, or onto a ticket when there is none."""
        return "ticket" if self.from_ticket else "wallet"

    def touched(self, now_s: float) -> Session:
        return replace(self, last_activity_s=now_s)

    def round_body(self, result: RoundResult) -> GameRound:
        """The journal body of the next round; refuses a stake the escrow cannot cover."""
        if result.bet_units > self.escrow_units:
            raise ValidationError(f"bet {result.bet_units} is more than the {self.escrow_units} units left in the session")
        return GameRound(session_id=self.session_id, kiosk_id=self.kiosk_id, location_id=self.location_id,
                         round_no=self.rounds + 1, **round_body_fields(result))

    def after_round(self, result: RoundResult, now_s: float) -> Session:
        escrow = self.escrow_units - result.bet_units + result.win_units
        return replace(self, escrow_units=escrow, rounds=self.rounds + 1, wagered_units=self.wagered_units + result.bet_units,
                       won_units=self.won_units + result.win_units, last_win_units=result.win_units, last_activity_s=now_s)

    def reality_checked(self, now_s: float) -> Session:
        return replace(self, last_reality_check_s=now_s, last_activity_s=now_s)

    def emptied(self) -> Session:
        return replace(self, escrow_units=0)

    def elapsed_s(self, now_s: float) -> float:
        return now_s - self.started_at_s


def affordable_bets(definition: GameDefinition, escrow_units: int) -> list[int]:
    """The game's bet options the escrow can still cover."""
    return [b for b in definition.bet_options_units if b <= escrow_units]


def step_bet(definition: GameDefinition, current_units: int, direction: int, escrow_units: int) -> int:
    """The next bet up (+1) or down (-1) among the affordable options; stays put at either end."""
    options = affordable_bets(definition, escrow_units) or [definition.bet_options_units[0]]
    below = [b for b in options if b < current_units]
    above = [b for b in options if b > current_units]
    if direction > 0:
        return above[0] if above else min(max(options), max(current_units, options[0]))
    return below[-1] if below else options[0]


def initial_bet(definition: GameDefinition, escrow_units: int, previous_units: int | None = None) -> int:
    """The bet to show when a game opens: the last one if still affordable, else the smallest."""
    options = affordable_bets(definition, escrow_units)
    if previous_units is not None and previous_units in options:
        return previous_units
    return options[0] if options else definition.bet_options_units[0]


def can_play(definition: GameDefinition, bet_units: int, escrow_units: int) -> str | None:
    """Why this round cannot be played (words for the player), or None."""
    try:
        check_stake(definition, bet_units, escrow_units)
    except ValidationError:
        if escrow_units < definition.bet_options_units[0]:
            return "Not enough credits for this game. Cash out or pick another game."
        return "Lower the bet: the session does not hold enough credits."
    return None


def reality_check_due(session: Session, now_s: float, minutes: int) -> bool:
    """A reminder is due every ``minutes`` of play since the last one (0 turns it off)."""
    return minutes > 0 and now_s - session.last_reality_check_s >= minutes * 60


def idle_cashout_due(session: Session, now_s: float, idle_s: int) -> bool:
    """An untouched session goes back to the wallet after ``idle_s`` (0 turns it off)."""
    return idle_s > 0 and now_s - session.last_activity_s >= idle_s


def checkin_body(session: Session) -> SessionCheckin | None:
    """What cashing out to the wallet journals; nothing when the escrow is empty."""
    if session.from_ticket:
        raise ValidationError("a ticket session has no account to return to: cash it out to a ticket")
    if session.escrow_units <= 0:
        return None
    return SessionCheckin(session_id=session.session_id, player_id=session.player_id, kiosk_id=session.kiosk_id,
                          location_id=session.location_id, amount_units=session.escrow_units)


def validation_number(random_digits: int) -> str:
    """A ticket's validation number: 18 digits (as casino tickets carry), from a random integer."""
    if not 0 <= random_digits < 10**VALIDATION_DIGITS:
        raise ValidationError("validation numbers have 18 digits")
    return str(random_digits).zfill(VALIDATION_DIGITS)


def grouped_validation(number: str) -> str:
    """18 digits as a cashier reads them aloud: "12-3456-7890-1234-5678"."""
    return f"{number[:2]}-{number[2:6]}-{number[6:10]}-{number[10:14]}-{number[14:]}"


def voucher_body(session: Session, *, voucher_id: str, number: str) -> VoucherIssue:
    if session.escrow_units <= 0:
        raise ValidationError("the session holds no credits to print a ticket for")
    return VoucherIssue(voucher_id=voucher_id, session_id=session.session_id, kiosk_id=session.kiosk_id,
                        location_id=session.location_id, amount_units=session.escrow_units, validation_number=number)


def voucher_message(body: VoucherIssue, issued_at: str) -> bytes:
    """The exact bytes the kiosk signs for a ticket's QR code (central and the POS check them with the kiosk's key)."""
    return ticket_message({
        "voucher_id": body.voucher_id, "validation_number": body.validation_number, "amount_units": body.amount_units,
        "kiosk_id": body.kiosk_id, "location_id": body.location_id, "issued_at": issued_at,
    })


def ticket_message(ticket: Mapping[str, Any]) -> bytes:
    """The signed bytes of a ticket, from its fields (as ``parse_voucher_qr`` reads them off a scan)."""
    signed = ("voucher_id", "validation_number", "amount_units", "kiosk_id", "location_id", "issued_at")
    return canonical_json({"purpose": "cafesuite-voucher", **{name: ticket[name] for name in signed}})


def voucher_qr_text(body: VoucherIssue, issued_at: str, signature_b64: str) -> str:
    """What the QR code holds: prefix, the signed fields and the signature, ``|``-separated."""
    return "|".join((VOUCHER_QR_PREFIX, body.voucher_id, body.validation_number, str(body.amount_units), body.kiosk_id,
                     body.location_id, issued_at, signature_b64))


def ticket_name(validation_number: str) -> str:
    """What the session bar calls a ticket session: the last digits a player can find on the ticket."""
    return f"Ticket …{validation_number[-4:]}"


def ticket_refusal(ticket: Mapping[str, Any], location_id: str, limits: Limits, now: datetime) -> str | None:
    """Why this kiosk will not even ask central about a scanned ticket (words for the player), or None."""
    if ticket["location_id"] != location_id:
        return "This ticket is from another cafe. Please take it to the counter there."
    if ticket["amount_units"] <= 0:
        return "This ticket holds no credits."
    try:
        expires = limits.voucher_expires_at(str(ticket["issued_at"]))
    except ValueError:
        return "This ticket cannot be read. Please take it to the counter."
    if now > expires:
        return f"This ticket expired on {expires:%d %b %Y}. Please take it to the counter."
    return None


def parse_voucher_qr(text: str) -> dict[str, Any] | None:
    """The fields of a scanned ticket, or None when the text is not one of ours."""
    parts = text.strip().split("|")
    if len(parts) != 8 or parts[0] != VOUCHER_QR_PREFIX or not parts[3].isdigit():
        return None
    keys = ("voucher_id", "validation_number", "amount_units", "kiosk_id", "location_id", "issued_at", "signature")
    data: dict[str, Any] = dict(zip(keys, parts[1:], strict=True))
    data["amount_units"] = int(data["amount_units"])
    return data


# --- what the journal says -----------------------------------------------------------


def recover_session(entries: Iterable[JournalEntry], *, now_s: float) -> Session | None:
    """The session still open in this kiosk's journal (checked out, never checked in or printed), e.g. after a power cut."""
    open_sessions: dict[str, Session] = {}
    for entry in entries:
        body = entry.body
        if isinstance(body, SessionCheckout):
            ticket = body.voucher_id is not None
            open_sessions[body.session_id] = Session(
                body.session_id, body.player_id, "Ticket" if ticket else "Player", body.kiosk_id, body.location_id,
                body.amount_units, body.amount_units, now_s, now_s, now_s, from_ticket=ticket)
        elif isinstance(body, GameRound) and body.session_id in open_sessions:
            s = open_sessions[body.session_id]
            open_sessions[body.session_id] = replace(
                s, escrow_units=s.escrow_units - body.bet_units + body.win_units, rounds=body.round_no,
                wagered_units=s.wagered_units + body.bet_units, won_units=s.won_units + body.win_units)
        elif isinstance(body, (SessionCheckin, VoucherIssue)):
            open_sessions.pop(body.session_id, None)
    live = [s for s in open_sessions.values() if s.escrow_units > 0]
    return live[-1] if live else None


@dataclass(frozen=True)
class RecalledRound:
    """One journaled round for game recall: when, which session, and its body as written."""

    seq: int
    created_at: str
    body: GameRound


def local_time_text(timestamp: str) -> str:
    """A journal timestamp (UTC, microseconds) as staff read it: local time to the second, "2026-12-01 19:39:50"."""
    try:
        moment = parse_utc_timestamp(timestamp)
    except ValueError:
        return timestamp
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def last_rounds(entries: Iterable[JournalEntry], count: int = RECALL_ROUNDS) -> list[RecalledRound]:
    """The newest ``count`` rounds, newest first."""
    rounds = [RecalledRound(e.seq, e.created_at, e.body) for e in entries if isinstance(e.body, GameRound)]
    return list(reversed(rounds[-count:]))


@dataclass(frozen=True)
class Meters:
    """A kiosk's accounting meters, in credit units (vouchers also counted)."""

    credits_in_units: int = 0
    credits_out_units: int = 0
    wagered_units: int = 0
    won_units: int = 0
    rounds: int = 0
    vouchers: int = 0
    vouchers_units: int = 0
    tickets_in: int = 0
    tickets_in_units: int = 0
    sessions: int = 0

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("Credits in", credits(self.credits_in_units)),
            ("Credits out", credits(self.credits_out_units)),
            ("Wagered", credits(self.wagered_units)),
            ("Won", credits(self.won_units)),
            ("Games played", f"{self.rounds:,}"),
            ("Tickets printed", f"{self.vouchers:,} ({credits(self.vouchers_units)})"),
            ("Tickets in", f"{self.tickets_in:,} ({credits(self.tickets_in_units)})"),
            ("Sessions", f"{self.sessions:,}"),
        ]


def kiosk_meters(entries: Iterable[JournalEntry]) -> Meters:
    """Meters from the kiosk's own journal: in = checkouts (tickets taken in among them), out = check-ins and tickets."""
    m = Meters()
    for entry in entries:
        body = entry.body
        if isinstance(body, SessionCheckout):
            m = replace(m, credits_in_units=m.credits_in_units + body.amount_units, sessions=m.sessions + 1)
            if body.voucher_id is not None:
                m = replace(m, tickets_in=m.tickets_in + 1, tickets_in_units=m.tickets_in_units + body.amount_units)
        elif isinstance(body, SessionCheckin):
            m = replace(m, credits_out_units=m.credits_out_units + body.amount_units)
        elif isinstance(body, VoucherIssue):
            m = replace(m, credits_out_units=m.credits_out_units + body.amount_units, vouchers=m.vouchers + 1,
                        vouchers_units=m.vouchers_units + body.amount_units)
        elif isinstance(body, GameRound):
            m = replace(m, wagered_units=m.wagered_units + body.bet_units, won_units=m.won_units + body.win_units,
                        rounds=m.rounds + 1)
    return m


def keno_spot_counts(definition: GameDefinition) -> Sequence[int]:
    """How many spots this keno game lets a player mark."""
    pays = getattr(definition.math, "pays", {})
    return sorted(pays)

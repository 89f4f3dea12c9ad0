"""The kiosk's service layer over ``sync.device.Device``: every call here may block on the
disk or the network, so the screens run them through ``kiosk_app.worker`` off the GUI
thread and never call them directly.

Order is the point of this module. A round is played with the pure game math, its
``game_round`` entry is journaled, and only then is the result returned for the screen
to show. A ticket is journaled before it is printed. A session's credits leave the
wallet only through central's idempotent checkout (a retry with the same request id
can never move them twice); cashing out needs no network, since the journal entry is
the fact and sync delivers it. A scanned cash-out ticket funds a session the same way,
through central's idempotent ticket-in (decision 0007): online only, since central's
record is what says the ticket is still unpaid. An online top-up (issue 8) is opened at
central by ``sync.payments`` and paid on the player's phone; central credits the wallet
when the provider confirms, so the kiosk only starts it and follows its status.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk_app import session_model as model
from kiosk_app.printer import Ticket, VoucherPrinter
from shared.bodies import SessionCheckout, ticket_bearer
from shared.device_config import DeviceConfig, Limits, StaffMember
from shared.entry import utc_timestamp
from shared.errors import CafeError, ValidationError
from shared.games.builtin import load_builtin_games
from shared.games.definition import GameDefinition
from shared.games.pool import PoolMath
from shared.games.round import RoundResult, play, recall
from shared.ids import new_id
from shared.protocol import CHECKOUT_PATH, PLAYERS_PATH, TICKET_IN_PATH
from shared.signing import DeviceKey, decode_b64, verify
from sync import escpos_driver
from sync.central_client import CentralRefused, Offline
from sync.device import Device
from sync.enrollment import DeviceIdentity, enroll, fetch_ca, is_enrolled
from sync.packages import GameLibrary
from sync.payments import PROVIDERS, REFUSED_CODES, Payment, Provider, payment_status, start_topup
from sync.pools import PoolDeck, PoolDeckEmpty
from sync.status import SyncStatus

log = logging.getLogger(__name__)

LOGIN_PATH = f"{PLAYERS_PATH}/login"
CHECKOUT_ATTEMPTS = 3  # the same request id each time: a lost answer is retried, never doubled
PIN_MAX_LEN = 12
TOPUP_WAIT_S = 10  # one long poll; closing the window may wait this long for the one in flight
TOPUP_OFFLINE = ("Top-ups need the connection to the cafe's server, which is down right now. "
                 "Please try again shortly, or top up at the counter.")

TOPUP_NOT_OFFERED = {
    "topup_channel_off": "Top-ups are not offered at this kiosk right now. Please top up at the counter.",
    "topup_provider_off": "This way to pay is not offered here right now. Please choose another, or top up at the counter.",
}


class KioskRefusal(CafeError):
    """Something the player or technician must be told in plain words (no traceback, no code)."""

    code = "kiosk"


@dataclass(frozen=True)
class RecalledGame:
    """A recalled round with its game and the result the math gives for its draws."""

    round: model.RecalledRound
    definition: GameDefinition | None
    result: RoundResult | None
    problem: str | None = None


@dataclass
class PinGuard:
    """Failed staff PIN attempts within a window lock the PIN pad for a while (limits from central)."""

    failures: list[float] = field(default_factory=list)
    locked_until_s: float = 0.0

    def locked(self, now_s: float) -> bool:
        return now_s < self.locked_until_s

    def failed(self, now_s: float, limits: Limits) -> None:
        window = limits.pin_failure_window_s
        self.failures = [t for t in self.failures if now_s - t < window] + [now_s]
        if len(self.failures) >= limits.pin_max_failures:
            self.locked_until_s = now_s + limits.pin_lockout_s
            self.failures.clear()

    def succeeded(self) -> None:
        self.failures.clear()


class KioskService:
    """One kiosk's operations; thread-safe by running one call at a time."""

    def __init__(
        self,
        data_dir: Path,
        *,
        printer: VoucherPrinter | None = None,
        clock: Callable[[], float] = time.monotonic,
        client_kwargs: dict[str, Any] | None = None,
        engine_kwargs: dict[str, Any] | None = None,
        on_status: Callable[[SyncStatus], None] | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.printer = printer or VoucherPrinter("file:", self.data_dir)
        self.clock = clock
        self._client_kwargs = client_kwargs
        self._engine_kwargs = engine_kwargs
        self._on_status = on_status
        self._lock = threading.RLock()
        self.device: Device | None = None
        self.games: dict[str, GameDefinition] = {}
        self._device_key: DeviceKey | None = None
        self.pin_guard = PinGuard()
        self._pending_checkout: dict[str, Any] | None = None
        self._pending_ticket: dict[str, Any] | None = None
        self._topup_attempt: tuple[tuple[str, int, str], str] | None = None  # ((player, amount, provider), request id)
        self.library: GameLibrary | None = None
        self.deck: PoolDeck | None = None

    # -- enrollment and start ---------------------------------------------------------

    @property
    def enrolled(self) -> bool:
        return is_enrolled(self.data_dir)

    @staticmethod
    def fetch_fingerprint(central_url: str) -> str:
        """Central's CA fingerprint, for the technician to compare with central's screen."""
        url = central_url.strip().rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise KioskRefusal("The central address must start with https://")
        _, fingerprint = fetch_ca(url)
        return fingerprint

    def enroll(self, central_url: str, code: str, fingerprint: str) -> DeviceIdentity:
        if not code.strip():
            raise KioskRefusal("Type the one-time code from central.")
        return enroll(self.data_dir, central_url.strip(), code, "kiosk", expected_ca_fingerprint=fingerprint or None)

    def open(self) -> None:
        """Open the enrolled device, start sync, load the games."""
        with self._lock:
            if self.device is not None:
                return
            self.device = Device.open(self.data_dir, on_status=self._on_status, client_kwargs=self._client_kwargs,
                                      engine_kwargs=self._engine_kwargs)
            if self.device.identity.role != "kiosk":
                role = self.device.identity.role
                self.device.close()
                self.device = None
                raise KioskRefusal(f"This data folder belongs to a {role}, not a kiosk.")
            self._device_key = self.device.keystore.device_key()
            self.games = self._load_games()
            self.deck = PoolDeck(self.device)
            self.device.start()
        escpos_driver.load(self.data_dir)  # here, not at the first ticket: see sync.escpos_driver

    def close(self) -> None:
        with self._lock:
            if self.library is not None:
                self.library.close()
                self.library = None
            if self.device is not None:
                self.device.close()
                self.device = None

    def _dev(self) -> Device:
        if self.device is None:
            raise KioskRefusal("The kiosk is not started.")
        return self.device

    def _load_games(self) -> dict[str, GameDefinition]:
        """Central's verified packages (refreshed now when central answers), else the games shipped with the kiosk."""
        device = self._dev()
        transport = (self._client_kwargs or {}).get("transport")
        self.library = GameLibrary(device, transport=transport)
        try:
            report = self.library.refresh()
            if report.refused:
                log.warning("game packages refused: %s", "; ".join(report.refused))
        except CafeError as exc:  # offline or a damaged cache: the installed copies still count
            log.warning("game catalog not refreshed: %s", exc.message)
        installed = {g.game_id: g.definition for g in self.library.installed_games()}
        return installed or load_builtin_games()

    # -- what the screens read --------------------------------------------------------

    @property
    def kiosk_id(self) -> str:
        return self._dev().device_id

    def config(self) -> DeviceConfig | None:
        device = self._dev()
        getter = getattr(device, "config", None)
        return getter() if callable(getter) else None

    def limits(self) -> Limits:
        config = self.config()
        return config.limits if config else Limits()

    def location_name(self) -> str:
        config = self.config()
        return config.location_name if config else self._dev().location_id

    def display_config(self) -> tuple[str | None, Limits]:
        """The location's name (None until central's config arrived) and its limits."""
        config = self.config()
        return (config.location_name, config.limits) if config else (None, Limits())

    def status(self) -> SyncStatus:
        return self._dev().engine.status

    def pool_ready(self, definition: GameDefinition) -> bool:
        """A pool game plays only entries central dealt; this kiosk has the deck to hold them."""
        return not isinstance(definition.math, PoolMath) or self.deck is not None

    # -- staff ------------------------------------------------------------------------

    def staff_for_pin(self, pin: str, roles: Sequence[str]) -> StaffMember:
        """The staff member of one of ``roles`` whose PIN this is (argon2, checked on the kiosk)."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        now = self.clock()
        limits = self.limits()
        if self.pin_guard.locked(now):
            raise KioskRefusal("Too many wrong PINs. The keypad is locked for a while.")
        config = self.config()
        if config is None:
            raise KioskRefusal("No staff list yet: the kiosk has not reached central since it was enrolled.")
        if not pin.isdigit() or len(pin) > PIN_MAX_LEN:
            raise KioskRefusal("A PIN is digits only.")
        hasher = PasswordHasher()
        for member in config.staff:
            if member.role not in roles:
                continue
            try:
                hasher.verify(member.pin_hash, pin)
            except (VerificationError, InvalidHashError):
                continue
            self.pin_guard.succeeded()
            return member
        self.pin_guard.failed(now, limits)
        raise KioskRefusal("Wrong PIN.")

    # -- players and sessions ---------------------------------------------------------

    def login(self, card_number: str, pin: str) -> model.Player:
        """Central checks the card and PIN; a self-excluded player is told so."""
        card = card_number.strip()
        if not card:
            raise KioskRefusal("Scan your card or type its number.")
        if model.parse_voucher_qr(card) is not None:  # the window sends tickets to ticket_in; a typed one lands here
            raise KioskRefusal("That is a ticket, not a card: scan it again without a PIN.")
        if not (pin.isdigit() and 4 <= len(pin) <= 6):
            raise KioskRefusal("Type your PIN: 4 to 6 digits.")
        try:
            data = self._dev().client.request("POST", LOGIN_PATH, {"card_number": card, "pin": pin})
        except Offline as exc:
            raise KioskRefusal("Logging in needs the connection to the cafe's server, which is down. "
                               "Your credits are safe; please try again shortly or ask the cashier.") from exc
        except CentralRefused as exc:
            raise KioskRefusal(_player_refusal(exc)) from exc
        player = model.Player.from_json(data)
        if player.self_excluded:
            raise KioskRefusal("This account is self-excluded. Please see the cashier.")
        return player

    def start_session(self, player: model.Player, amount_units: int | None) -> tuple[model.Session, int]:
        """Check credits out of the wallet into a new escrow (online, idempotent), then journal it.

        Returns the session and the wallet balance central reports afterwards.
        """
        refusal = model.refusal_to_start(player, amount_units)
        if refusal:
            raise KioskRefusal(refusal)
        device = self._dev()
        with self._lock:
            pending = self._pending_checkout
            if pending is None or pending["player_id"] != player.player_id or pending["amount_units"] != amount_units:
                pending = {"request_id": new_id(), "session_id": new_id(), "player_id": player.player_id, "amount_units": amount_units}
            self._pending_checkout = pending
            answer = self._checkout(device, pending)
            self._pending_checkout = None
            session = model.Session.start(session_id=answer["session_id"], player=player, kiosk_id=device.device_id,
                                          location_id=device.location_id, amount_units=int(answer["amount_units"]),
                                          now_s=self.clock())
            device.record(SessionCheckout(session_id=session.session_id, player_id=player.player_id, kiosk_id=session.kiosk_id,
                                          location_id=session.location_id, amount_units=session.escrow_units),
                          actor=player.player_id)
            self._deal_ahead(session.session_id)
            return session, int(answer.get("wallet_balance_units", 0))

    def ticket_in(self, qr_text: str) -> model.Session:
        """Play a scanned cash-out ticket: central pays it, whole, into a new escrow (online, idempotent), then
        the kiosk journals that checkout under the request's id (decision 0007)."""
        ticket = model.parse_voucher_qr(qr_text)
        if ticket is None:
            raise KioskRefusal("This is not one of our tickets.")
        device = self._dev()
        refusal = model.ticket_refusal(ticket, device.location_id, self.limits(), datetime.now(UTC))
        if refusal:
            raise KioskRefusal(refusal)
        key = self._ticket_key(str(ticket["kiosk_id"]))
        if key is not None and not verify(key, model.ticket_message(ticket), str(ticket["signature"])):
            raise KioskRefusal("This ticket could not be verified. Please take it to the counter.")
        with self._lock:
            pending = self._pending_ticket
            if pending is None or pending["voucher_id"] != ticket["voucher_id"]:
                # The request id is the id of the entry journaled below, so central and the entry name each other.
                pending = {"request_id": new_id(), "session_id": new_id(), "voucher_id": ticket["voucher_id"]}
            self._pending_ticket = pending
            answer = self._request_ticket_in(device, pending)
            self._pending_ticket = None
            session = model.Session.from_voucher(session_id=answer["session_id"], ticket=ticket, kiosk_id=device.device_id,
                                                 location_id=device.location_id, amount_units=int(answer["amount_units"]),
                                                 now_s=self.clock())
            voucher_id = str(answer["voucher_id"])
            device.record(SessionCheckout(session_id=session.session_id, player_id=ticket_bearer(voucher_id),
                                          kiosk_id=session.kiosk_id, location_id=session.location_id,
                                          amount_units=session.escrow_units, voucher_id=voucher_id),
                          actor=session.player_id, entry_id=pending["request_id"])
            self._deal_ahead(session.session_id)
            return session

    def _ticket_key(self, kiosk_id: str) -> bytes | None:
        """The printing kiosk's public key when this kiosk has it (its own, or from central's config); else
        central's record alone decides whether the ticket is good."""
        if kiosk_id == self._dev().device_id:
            key = self._device_key or self._dev().keystore.device_key()
            return decode_b64(key.public_key_b64())
        config = self.config()
        encoded = config.kiosk_key(kiosk_id) if config else None
        return decode_b64(encoded) if encoded else None

    @staticmethod
    def _request_ticket_in(device: Device, pending: dict[str, Any]) -> Any:
        return _post_idempotent(device, TICKET_IN_PATH, pending, _ticket_refusal, offline=(
            "Tickets need the connection to the cafe's server. Keep your ticket and try again "
            "when the OFFLINE banner is gone, or redeem it at the counter."))

    @staticmethod
    def _checkout(device: Device, pending: dict[str, Any]) -> Any:
        return _post_idempotent(device, CHECKOUT_PATH, pending, _checkout_refusal, offline=(
            "A new session needs the connection to the cafe's server, which is down right now. "
            "Your credits are safe in your account."))

    def recover_session(self) -> model.Session | None:
        """A session this kiosk left open (power cut, crash): its escrow is still the player's."""
        return model.recover_session(self._dev().journal.entries(), now_s=self.clock())

    def play(
        self, session: model.Session, game_id: str, bet_units: int, *, picks: Sequence[int] | None = None,
    ) -> tuple[model.Session, RoundResult]:
        """Play one round: math, then the journal, then the answer (never the other way round)."""
        definition = self.games.get(game_id)
        if definition is None:
            raise KioskRefusal("That game is not installed on this kiosk.")
        reason = model.can_play(definition, bet_units, session.escrow_units)
        if reason:
            raise KioskRefusal(reason)
        entry = None
        if isinstance(definition.math, PoolMath):
            entry = self._pool_entry(session, definition)
        with self._lock:
            result = play(definition, bet_units, escrow_units=session.escrow_units,
                          picks=list(picks) if picks is not None else None, entry=entry)
            self._dev().record(session.round_body(result), actor=session.player_id)
            return session.after_round(result, self.clock()), result

    def _pool_entry(self, session: model.Session, definition: GameDefinition) -> Any:
        """The next entry dealt to this session: topped up from central when online, played from the deck offline."""
        deck = self.deck
        if deck is None:
            raise KioskRefusal("This game needs entries dealt by the cafe's server.")
        if deck.needs_replenish(session.session_id, definition.id):
            try:
                deck.replenish(session.session_id, definition.id)
            except (Offline, CentralRefused) as exc:
                log.info("pool deck not topped up: %s", exc.message)
        version = deck.game_version(session.session_id, definition.id)
        if version is not None and version != definition.version:
            raise KioskRefusal("This game was updated on the server; restart the kiosk to load the new version.")
        try:
            return deck.take(session.session_id, definition.id)
        except PoolDeckEmpty as exc:
            raise KioskRefusal("No tickets of this game are left on this kiosk, and dealing more needs the connection "
                               "to the cafe's server.") from exc

    def _deal_ahead(self, session_id: str) -> None:
        """At checkout (online): a block of entries for each pool game, so they play on if the line drops."""
        if self.deck is None:
            return
        for definition in self.games.values():
            if isinstance(definition.math, PoolMath):
                try:
                    self.deck.replenish(session_id, definition.id)
                except (Offline, CentralRefused) as exc:
                    log.info("no pool entries dealt ahead for %s: %s", definition.id, exc.message)

    def _session_closed(self, session_id: str) -> None:
        if self.deck is not None:
            self.deck.discard(session_id)

    def cash_out_to_wallet(self, session: model.Session) -> model.Session:
        """Journal the check-in of what is left; works offline (sync delivers it)."""
        body = model.checkin_body(session)
        with self._lock:
            if body is not None:
                self._dev().record(body, actor=session.player_id)
            self._session_closed(session.session_id)
            return session.emptied()

    def cash_out_to_ticket(self, session: model.Session) -> tuple[model.Session, Ticket]:
        """Journal the voucher, then print it. A printer failure leaves the voucher recorded (staff reprint)."""
        device = self._dev()
        body = model.voucher_body(session, voucher_id=new_id(), number=model.validation_number(secrets.randbelow(10**18)))
        issued_at = utc_timestamp()
        key = self._device_key or device.keystore.device_key()
        signature = key.sign(model.voucher_message(body, issued_at))
        with self._lock:
            device.record(body, actor=session.player_id)
            self._session_closed(session.session_id)
        ticket = Ticket(voucher_id=body.voucher_id, validation_number=model.grouped_validation(body.validation_number),
                        amount_units=body.amount_units, kiosk_id=body.kiosk_id, location_name=self.location_name(),
                        issued_at=issued_at, qr_text=model.voucher_qr_text(body, issued_at, signature),
                        expiry_days=self.limits().voucher_expiry_days)
        self.printer.print_ticket(ticket)
        return session.emptied(), ticket

    # -- online top-ups (issue 8) ------------------------------------------------------

    def topup_providers(self) -> tuple[Provider, ...]:
        """The ways to pay online this kiosk offers (the location's choice, from the cached config)."""
        config = self.config()
        offered = set(config.topup_providers) if config else set()
        return tuple(p for p in PROVIDERS if p in offered)

    def start_topup(self, player: model.Player, amount_units: int, provider: Provider) -> Payment:
        """Open a top-up at central (card: a Stripe Checkout page; crypto: a BTCPay invoice) for the
        player to pay on their phone.

        The request id is made once per attempt: pressing the same amount again after an
        answer was lost reuses it, so central returns the payment it already made instead
        of a second one. Once central has answered, the next press is a new top-up.
        """
        if amount_units <= 0:
            raise KioskRefusal("Choose how many credits to buy.")
        if player.self_excluded:
            raise KioskRefusal("This account is self-excluded. Please see the cashier.")
        attempt = (player.player_id, amount_units, provider)
        with self._lock:
            if self._topup_attempt is None or self._topup_attempt[0] != attempt:
                self._topup_attempt = (attempt, new_id())
            request_id = self._topup_attempt[1]
        client = self._dev().client
        payment = self._payments(lambda: start_topup(client, request_id, player.player_id, amount_units, provider))
        with self._lock:
            if self._topup_attempt is not None and self._topup_attempt[1] == request_id:
                self._topup_attempt = None
        if not payment.checkout_url:
            raise KioskRefusal("This top-up has no payment link. Please top up at the counter.")
        return payment

    def topup_status(self, payment_id: str, known: str | None) -> Payment:
        """The top-up once its status is no longer ``known`` (a long poll of at most ``TOPUP_WAIT_S``)."""
        client = self._dev().client
        return self._payments(lambda: payment_status(client, payment_id, known, TOPUP_WAIT_S))

    @staticmethod
    def _payments(call: Callable[[], Payment]) -> Payment:
        try:
            return call()
        except Offline as exc:
            raise KioskRefusal(TOPUP_OFFLINE) from exc
        except CentralRefused as exc:
            log.warning("top-up refused by central: %s", exc.message)
            if exc.code == "self_excluded":
                raise KioskRefusal("This account is self-excluded. Please see the cashier.") from exc
            if exc.code in REFUSED_CODES:
                raise KioskRefusal(TOPUP_NOT_OFFERED.get(exc.code, TOPUP_NOT_OFFERED["topup_channel_off"])) from exc
            raise KioskRefusal("A top-up cannot be made at this kiosk right now. Please top up at the counter.") from exc

    # -- technician -------------------------------------------------------------------

    def recall(self, count: int = model.RECALL_ROUNDS) -> list[RecalledGame]:
        """The last rounds of this kiosk, each replayed from its journaled draws."""
        recalled = []
        for item in model.last_rounds(self._recent_entries(), count):
            definition = self.games.get(item.body.game_id)
            if definition is None or definition.version != item.body.game_version:
                recalled.append(RecalledGame(item, None, None, f"{item.body.game_id} {item.body.game_version} is not installed"))
                continue
            try:
                result = recall(definition, item.body.to_json())
            except ValidationError as exc:
                recalled.append(RecalledGame(item, definition, None, exc.message))
                continue
            recalled.append(RecalledGame(item, definition, result))
        return recalled

    def _recent_entries(self, window: int = 2000) -> Any:
        journal = self._dev().journal
        head = journal.head().seq
        return journal.entries(max(1, head - window + 1))

    def meters(self) -> model.Meters:
        return model.kiosk_meters(self._dev().journal.entries())


def _post_idempotent(device: Device, path: str, pending: dict[str, Any], refusal: Callable[[CentralRefused], str], *,
                     offline: str) -> Any:
    """POST an online session request keyed by its request id: retried (a lost answer or a lost race
    repeats harmlessly), then one plain sentence for the player when it cannot be done."""
    for attempt in range(CHECKOUT_ATTEMPTS):
        last = attempt + 1 == CHECKOUT_ATTEMPTS
        try:
            return device.client.request("POST", path, pending)
        except Offline as exc:
            if last:
                raise KioskRefusal(offline) from exc
        except CentralRefused as exc:
            if exc.code == "checkout_conflict" and not last:
                continue
            raise KioskRefusal(refusal(exc)) from exc
    raise AssertionError("unreachable")


def _checkout_refusal(exc: CentralRefused) -> str:
    if exc.code == "insufficient_credits":
        return "Your account does not hold that many credits any more."
    return _player_refusal(exc)


def _ticket_refusal(exc: CentralRefused) -> str:
    if exc.code == "voucher_redeemed":
        return "This ticket was already paid."
    if exc.code == "unknown_voucher":
        return "This ticket is not known at this cafe. Please take it to the counter."
    if exc.code == "voucher_expired":
        return "This ticket has expired. Please take it to the counter."
    return "This ticket cannot be played here. Please take it to the counter."


def _player_refusal(exc: CentralRefused) -> str:
    if exc.code in ("unknown_player", "pin_rejected", "invalid"):
        return "Card number or PIN not recognised."
    if exc.code == "self_excluded":
        return "This account is self-excluded. Please see the cashier."
    if exc.code == "pin_locked":
        return "Too many wrong PINs: this card is locked for a while. Please see the cashier."
    if exc.code == "pin_not_set":
        return "This card has no PIN yet. The cashier can set one."
    return exc.message.removeprefix("central refused ").split(": ", 1)[-1]

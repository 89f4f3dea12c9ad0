"""Rules for players: registration at the device's location (anonymous card, or a registered
player whose personal data is sealed at rest), search by card, phone or name through blind
indexes, self-exclusion, the kiosk's PIN login with a lockout, and online wallet payouts.

A wallet payout follows decision 0003's checkout pattern: central moves the credits itself
with one guarded debit (never overdraws), keyed by the id of the redemption entry the POS
then journals; that entry is recorded without posting again when it arrives (decision 0004).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine

from central_server.device_config.service import effective_limits
from central_server.devices.service import AuthedDevice
from central_server.errors import ApiError, Conflict, Forbidden, NotFound
from central_server.ledger import repository as ledger_repo
from central_server.players import repository as repo
from central_server.players import rules
from central_server.players.schemas import (
    ActivityBody,
    LoginBody,
    NewPlayerBody,
    PlayerBody,
    PlayerProfileBody,
    PlayerSummaryBody,
    RedeemWalletBody,
    RedeemWalletResultBody,
    RegisterPlayerBody,
    SelfExclusionBody,
)
from central_server.sealing import DataKeys
from shared.bodies import Redemption
from shared.entry import JournalEntry, utc_timestamp
from shared.errors import ValidationError
from shared.ids import new_id
from shared.ledger import account
from shared.money import CREDITS

MAX_CARD_ATTEMPTS = 8
MAX_ACTIVITY = 50
SEALED_FIELDS = ("full_name", "date_of_birth", "phone", "id_number")


def register(conn: Connection, location_id: str, new: NewPlayerBody) -> PlayerBody:
    player_id = new_id()
    inserted = repo.insert_player(
        conn, id=player_id, location_id=location_id, card_number=new.card_number,
        display_name=new.display_name, created_at=utc_timestamp(),
    )
    if not inserted:
        raise Conflict(f"card {new.card_number} is already registered", code="card_taken")
    return view(conn, repo.by_id(conn, player_id))


def sealed_context(player_id: str, field: str) -> str:
    """The associated data a player's sealed field is bound to (also used by key rotation)."""
    return f"player:{player_id}:{field}"


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def register_profile(conn: Connection, device: AuthedDevice, new: RegisterPlayerBody, keys: DataKeys) -> PlayerProfileBody:
    """A registered player: age gate, card issued (or the one given), personal data sealed, PIN hashed."""
    limits = effective_limits(conn, device.location_id)
    born = rules.parse_date_of_birth(new.date_of_birth, today=_today())
    rules.check_age(born, today=_today(), age_of_majority_years=limits.age_of_majority_years)
    full_name = " ".join(new.full_name.split())
    rules.normalise_name(full_name)
    phone = rules.normalise_phone(new.phone)
    player_id, created_at = new_id(), utc_timestamp()
    _insert_with_card(conn, player_id, device.location_id, new.card_number, created_at)
    seal = {name: keys.seal(value, context=sealed_context(player_id, name))
            for name, value in (("full_name", full_name), ("date_of_birth", born.isoformat()), ("phone", phone),
                                ("id_number", new.id_number)) if value is not None}
    repo.insert_profile(
        conn, player_id=player_id, key_id=keys.current, full_name_ct=seal["full_name"],
        date_of_birth_ct=seal["date_of_birth"], phone_ct=seal["phone"], id_number_ct=seal.get("id_number"),
        name_index=keys.blind_index(rules.normalise_name(full_name), purpose="player-name"),
        surname_index=keys.blind_index(rules.surname_prefix(full_name), purpose="player-surname"),
        phone_index=keys.blind_index(rules.phone_search_key(phone), purpose="player-phone"),
        pin_hash=PasswordHasher().hash(new.pin) if new.pin else None, self_excluded=False, pin_failures=0,
        pin_window_start_s=None, pin_locked_until_s=None, updated_at=created_at,
    )
    return profile_view(conn, device, player_id, keys)


def _insert_with_card(conn: Connection, player_id: str, location_id: str, card: str | None, created_at: str) -> str:
    """The unique constraint decides who owns a card; an issued number that collides is drawn again."""
    for _ in range(MAX_CARD_ATTEMPTS if card is None else 1):
        number = card or rules.new_card_number()
        if repo.insert_player(conn, id=player_id, location_id=location_id, card_number=number, display_name="",
                              created_at=created_at):
            return number
    raise Conflict(f"card {card} is already registered" if card else "could not issue a free card number; retry",
                   code="card_taken")


def is_self_excluded(conn: Connection, player_id: str) -> bool:
    profile = repo.profile(conn, player_id)
    return bool(profile is not None and profile.self_excluded)


def view(conn: Connection, row: Any, *, lock_wallet: bool = False) -> PlayerBody:
    wallet = account("wallet", row.id)
    return PlayerBody(
        player_id=row.id, card_number=row.card_number, location_id=row.location_id, display_name=row.display_name,
        wallet_account=wallet, balance_units=ledger_repo.balance(conn, wallet, CREDITS, for_update=lock_wallet),
        self_excluded=is_self_excluded(conn, row.id),
    )


def find(conn: Connection, device: AuthedDevice, *, player_id: str | None = None, card_number: str | None = None) -> Any:
    """The player row, if it belongs to the device's location (a device never sees another cafe's players)."""
    row = repo.by_id(conn, player_id) if player_id is not None else repo.by_card(conn, card_number or "")
    if row is None or row.location_id != device.location_id:
        raise NotFound("no such player at this location", code="unknown_player")
    return row


def _opened(keys: DataKeys, profile: Any) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name in SEALED_FIELDS:
        token = getattr(profile, f"{name}_ct")
        values[name] = None if token is None else keys.open(token, context=sealed_context(profile.player_id, name))
    return values


def profile_view(conn: Connection, device: AuthedDevice, player_id: str, keys: DataKeys) -> PlayerProfileBody:
    """Everything the counter shows about a player (personal data only to a POS)."""
    _require_pos(device, "only a POS reads a player's personal data")
    row = find(conn, device, player_id=player_id)
    profile = repo.profile(conn, row.id)
    if profile is None:
        raise NotFound("this card is anonymous: no registered player details", code="no_profile")
    opened = _opened(keys, profile)
    born = dt.date.fromisoformat(str(opened["date_of_birth"]))
    base = view(conn, row)
    return PlayerProfileBody(
        **base.model_dump(), full_name=str(opened["full_name"]), date_of_birth=born.isoformat(),
        age_years=rules.age_on(born, _today()), phone=str(opened["phone"]), id_number=opened["id_number"],
        has_pin=profile.pin_hash is not None,
    )


def search(conn: Connection, device: AuthedDevice, query: str, keys: DataKeys) -> list[PlayerSummaryBody]:
    """By exact card number, phone number, full name or surname (prefix), within the device's location."""
    _require_pos(device, "only a POS searches players")
    query = " ".join(query.split())
    if not query:
        return []
    rows = {r.id: r for r in repo.search(conn, device.location_id, card_number=query)}
    phone_index = name_index = None
    indexes: dict[str, str] = {}
    try:
        phone_index = keys.blind_index(rules.phone_search_key(query), purpose="player-phone")
        indexes["phone_index"] = phone_index
    except ValidationError:
        pass  # not a phone number: search it as a card or a name only
    if any(c.isalpha() for c in query):
        name_index = keys.blind_index(rules.normalise_name(query), purpose="player-name")
        indexes["name_index"] = name_index
        if len(query.split(" ")[-1]) >= rules.SURNAME_PREFIX_CHARS:
            indexes["surname_index"] = keys.blind_index(rules.surname_prefix(query), purpose="player-surname")
    candidates = repo.search(conn, device.location_id, indexes=indexes) if indexes else []
    profiles = repo.profiles_of(conn, [r.id for r in candidates] + list(rows))
    for row in candidates:
        profile = profiles.get(row.id)
        if profile is None:
            continue
        if profile.phone_index == phone_index or profile.name_index == name_index or (
            name_index is not None and rules.name_matches(str(_opened(keys, profile)["full_name"]), query)
        ):
            rows[row.id] = row
    return [_summary(conn, keys, row, profiles.get(row.id)) for row in rows.values()]


def _summary(conn: Connection, keys: DataKeys, row: Any, profile: Any | None) -> PlayerSummaryBody:
    opened = _opened(keys, profile) if profile is not None else {"full_name": row.display_name, "phone": ""}
    phone = str(opened["phone"] or "")
    return PlayerSummaryBody(
        player_id=row.id, card_number=row.card_number, full_name=str(opened["full_name"] or "(anonymous card)"),
        phone=("•••• " + phone[-4:]) if phone else "", self_excluded=bool(profile is not None and profile.self_excluded),
        balance_units=ledger_repo.balance(conn, account("wallet", row.id), CREDITS),
    )


def activity(conn: Connection, device: AuthedDevice, player_id: str, limit: int) -> list[ActivityBody]:
    row = find(conn, device, player_id=player_id)
    rows = repo.wallet_activity(conn, account("wallet", row.id), CREDITS, max(1, min(limit, MAX_ACTIVITY)))
    return [ActivityBody(tx_id=r.tx_id, kind=r.kind, amount_units=int(r.amount_units), created_at=r.created_at) for r in rows]


def set_self_exclusion(conn: Connection, device: AuthedDevice, player_id: str, change: SelfExclusionBody) -> PlayerBody:
    """A player excludes themself at the counter; lifting it is not a counter decision."""
    _require_pos(device, "only a POS records a self-exclusion")
    if not change.excluded:
        raise Forbidden("a self-exclusion is lifted by head office, not at the counter", code="exclusion_lift_refused")
    row = find(conn, device, player_id=player_id)
    if not repo.set_self_excluded(conn, row.id, True, utc_timestamp()):
        raise NotFound("this card is anonymous: register the player first", code="no_profile")
    return view(conn, row)


def _require_pos(device: AuthedDevice, message: str) -> None:
    if device.role != "pos":
        raise Forbidden(message, code="wrong_role")


# -- kiosk login ------------------------------------------------------------------------------

class PinRejected(ApiError):
    """A wrong PIN: the failure is counted in its own transaction, since the request's rolls back."""

    code = "pin_rejected"
    http_status = 401

    def __init__(self, player_id: str, now_s: int, *, max_failures: int, window_s: int, lockout_s: int):
        super().__init__("card or PIN not accepted")
        self.player_id, self.now_s = player_id, now_s
        self.max_failures, self.window_s, self.lockout_s = max_failures, window_s, lockout_s

    def after_rollback(self, engine: Engine) -> None:
        with engine.begin() as conn:
            profile = repo.profile(conn, self.player_id, for_update=True)
            if profile is None:
                return
            state = rules.after_failure(_pin_state(profile), self.now_s, max_failures=self.max_failures,
                                        window_s=self.window_s, lockout_s=self.lockout_s)
            repo.set_pin_state(conn, self.player_id, failures=state.failures, window_start_s=state.window_start_s,
                               locked_until_s=state.locked_until_s, at=utc_timestamp())
        if state.locked_until_s is not None:
            self.code, self.http_status = "pin_locked", 423
            self.message = f"too many wrong PINs: this card is locked for {self.lockout_s // 60} minutes"
            self.extra["retry_after_s"] = state.locked_until_s - self.now_s
        else:
            self.extra["tries_left"] = self.max_failures - state.failures


def _pin_state(profile: Any) -> rules.PinState:
    return rules.PinState(int(profile.pin_failures), profile.pin_window_start_s, profile.pin_locked_until_s)


def login(conn: Connection, device: AuthedDevice, request: LoginBody, *, now_s: int | None = None) -> PlayerBody:
    """A player signs in at a kiosk with card and PIN (argon2id); repeated failures lock the card."""
    now_s = int(time.time()) if now_s is None else now_s
    row = find(conn, device, card_number=request.card_number)
    profile = repo.profile(conn, row.id, for_update=True)
    if profile is None or profile.pin_hash is None:
        raise ApiError("this card has no PIN; ask the cashier to set one", code="pin_not_set", http_status=401)
    state = _pin_state(profile)
    if rules.is_locked(state, now_s):
        raise ApiError(f"too many wrong PINs: this card is locked, try again in {(state.locked_until_s or 0) - now_s} s",
                       code="pin_locked", http_status=423, extra={"retry_after_s": (state.locked_until_s or 0) - now_s})
    try:
        PasswordHasher().verify(profile.pin_hash, request.pin)
    except (VerificationError, InvalidHashError):
        limits = effective_limits(conn, device.location_id)
        raise PinRejected(row.id, now_s, max_failures=limits.pin_max_failures, window_s=limits.pin_failure_window_s,
                          lockout_s=limits.pin_lockout_s) from None
    if profile.self_excluded:
        raise Forbidden("this player is self-excluded", code="self_excluded")
    if state.failures or state.locked_until_s is not None:
        repo.set_pin_state(conn, row.id, failures=0, window_start_s=None, locked_until_s=None, at=utc_timestamp())
    return view(conn, row)


# -- wallet payout ----------------------------------------------------------------------------

def redeem_wallet(conn: Connection, device: AuthedDevice, request: RedeemWalletBody) -> RedeemWalletResultBody:
    """Pay credits out of a wallet at the counter, once per request id, never beyond the balance."""
    _require_pos(device, "only a POS pays out a wallet")
    done = repo.redemption(conn, request.request_id)
    if done is not None:
        return _replay_redemption(conn, done, request, device)
    player = find(conn, device, player_id=request.player_id)
    body = Redemption(player_id=player.id, location_id=device.location_id, pos_id=device.id, shift_id=request.shift_id,
                      amount_units=request.amount_units, cash_units=request.cash_units, currency=request.currency)
    wallet = account("wallet", player.id)
    if not ledger_repo.debit_if_covered(conn, wallet, CREDITS, body.amount_units):
        have = ledger_repo.balance(conn, wallet, CREDITS)
        raise Conflict(f"the wallet holds {have} credit units, not {body.amount_units}", code="insufficient_credits")
    tx_id, created_at = new_id(), utc_timestamp()
    lines = body.postings()
    ledger_repo.insert_transaction(conn, tx_id=tx_id, kind=body.kind, entry_id=None, created_at=created_at)
    ledger_repo.insert_postings(conn, tx_id, lines)
    others: dict[tuple[str, str], int] = {}
    for line in lines:
        if (line.account, line.unit) != (wallet, CREDITS):  # the guarded debit already took the wallet's part
            others[(line.account, line.unit)] = others.get((line.account, line.unit), 0) + line.amount_units
    ledger_repo.add_to_balances(conn, others)
    if not repo.insert_redemption(conn, request_id=request.request_id, device_id=device.id, player_id=player.id,
                                  location_id=device.location_id, shift_id=request.shift_id, amount_units=body.amount_units,
                                  cash_units=body.cash_units, currency=body.currency, tx_id=tx_id, created_at=created_at):
        raise Conflict("this request id was used by a concurrent request; retry", code="redemption_conflict")
    return RedeemWalletResultBody(
        request_id=request.request_id, player_id=player.id, amount_units=body.amount_units, cash_units=body.cash_units,
        tx_id=tx_id, wallet_balance_units=ledger_repo.balance(conn, wallet, CREDITS), created_at=created_at,
    )


def _replay_redemption(conn: Connection, done: Any, request: RedeemWalletBody, device: AuthedDevice) -> RedeemWalletResultBody:
    same = (done.player_id, done.device_id, int(done.amount_units), int(done.cash_units), done.currency, done.shift_id)
    if same != (request.player_id, device.id, request.amount_units, request.cash_units, request.currency, request.shift_id):
        raise Conflict(f"request id {request.request_id} was used for another payout", code="request_id_reused")
    return RedeemWalletResultBody(
        request_id=done.request_id, player_id=done.player_id, amount_units=int(done.amount_units),
        cash_units=int(done.cash_units), tx_id=done.tx_id,
        wallet_balance_units=ledger_repo.balance(conn, account("wallet", done.player_id), CREDITS), created_at=done.created_at,
    )


def reconcile_redemption(conn: Connection, entry: JournalEntry, body: Redemption) -> tuple[bool, list[tuple[str, str]]]:
    """For ingest: a redemption entry central already paid online is recorded, not posted again
    (decision 0004); one central never authorised (older POS, offline) is posted as the fact it is."""
    done = repo.redemption(conn, entry.id)
    if done is None:
        return True, []
    flags: list[tuple[str, str]] = []
    central_did = (done.player_id, int(done.amount_units), int(done.cash_units), done.currency, done.device_id)
    entry_says = (body.player_id, body.amount_units, body.cash_units, body.currency, entry.device_id)
    if central_did != entry_says:
        flags.append(("redemption_mismatch", f"payout {entry.id}: central paid {central_did}, the entry says {entry_says}"))
    if not repo.match_redemption_entry(conn, entry.id, entry.id):
        flags.append(("redemption_recorded_twice", f"payout {entry.id} already has its entry"))
    return False, flags

"""Session checkout: a player's credits move from the wallet into ``escrow:<session_id>``.

Idempotent by the client's request id; the wallet is debited with one guarded UPDATE,
so concurrent checkouts can never overdraw it (N requests for A on a balance B: exactly
floor(B/A) succeed).

Ticket in (decision 0007): a scanned cash-out voucher funds a new session instead of a
wallet. The voucher's guarded issued → redeemed (the POS's own claim) and the transfer
``voucher:<id>`` → ``escrow:<session_id>`` happen in the request's one transaction, so a
ticket pays exactly once whether the counter or a kiosk asks first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from central_server.devices.service import AuthedDevice
from central_server.errors import Conflict, Forbidden, NotFound
from central_server.ingest import repository as ingest_repo
from central_server.ledger import repository as ledger_repo
from central_server.ledger import service as ledger
from central_server.players import service as players
from central_server.sessions import repository as repo
from central_server.sessions.schemas import (
    CheckoutRequestBody,
    CheckoutResponseBody,
    TicketInRequestBody,
    TicketInResponseBody,
)
from central_server.vouchers import repository as vouchers_repo
from central_server.vouchers import service as vouchers_service
from shared.bodies import SessionCheckout
from shared.entry import JournalEntry, utc_timestamp
from shared.ids import new_id
from shared.ledger import Posting, account
from shared.money import CREDITS

TICKET_IN_TX_PREFIX = "ticket-in:"


def checkout(conn: Connection, device: AuthedDevice, request: CheckoutRequestBody) -> CheckoutResponseBody:
    if device.role != "kiosk":
        raise Forbidden("only a kiosk checks credits out to a session", code="wrong_role")
    done = repo.by_request(conn, request.request_id)
    if done is not None:
        return _replay(conn, done, request, device)
    player = players.find(conn, device, player_id=request.player_id)
    # Checked again here, not only at login: a player may be excluded while standing at the kiosk.
    if players.is_self_excluded(conn, player.id):
        raise Forbidden("this player is self-excluded: no play sessions", code="self_excluded")
    wallet, escrow = account("wallet", player.id), account("escrow", request.session_id)
    amount = request.amount_units
    if amount is None:
        amount = ledger_repo.balance(conn, wallet, CREDITS, for_update=True)
        if amount <= 0:
            raise Conflict("the wallet is empty", code="insufficient_credits")
    tx_id = new_id()
    if not ledger.transfer_if_covered(conn, tx_id=tx_id, kind="session_checkout", unit=CREDITS, amount_units=amount,
                                      source=wallet, destination=escrow):
        raise Conflict(f"the wallet does not hold {amount} credit units", code="insufficient_credits")
    created_at = utc_timestamp()
    if not repo.insert_checkout(conn, request_id=request.request_id, session_id=request.session_id, device_id=device.id,
                                player_id=player.id, amount_units=amount, tx_id=tx_id, created_at=created_at):
        # Lost a race on the same request id or session id: undo everything by refusing;
        # the winner's row is there, so a retry answers with it.
        raise Conflict("this request id or session id was used by a concurrent request; retry", code="checkout_conflict")
    return CheckoutResponseBody(
        request_id=request.request_id, session_id=request.session_id, player_id=player.id, amount_units=amount,
        escrow_account=escrow, tx_id=tx_id, wallet_balance_units=ledger_repo.balance(conn, wallet, CREDITS), created_at=created_at,
    )


def _replay(conn: Connection, done: Any, request: CheckoutRequestBody, device: AuthedDevice) -> CheckoutResponseBody:
    """The answer to a retried request: the original result, never a second checkout."""
    if (done.session_id, done.player_id, done.device_id) != (request.session_id, request.player_id, device.id):
        raise Conflict(f"request id {request.request_id} was used for another checkout", code="request_id_reused")
    wallet = account("wallet", done.player_id)
    return CheckoutResponseBody(
        request_id=done.request_id, session_id=done.session_id, player_id=done.player_id, amount_units=int(done.amount_units),
        escrow_account=account("escrow", done.session_id), tx_id=done.tx_id,
        wallet_balance_units=ledger_repo.balance(conn, wallet, CREDITS), created_at=done.created_at,
    )


# -- ticket in ------------------------------------------------------------------------------


def ticket_in_tx_id(voucher_id: str) -> str:
    """Central's transfer of one voucher into a session: one id per voucher, so the ledger's primary
    key stands behind the status guard (a voucher can fund at most one session, ever)."""
    return TICKET_IN_TX_PREFIX + voucher_id


def ticket_in(conn: Connection, device: AuthedDevice, request: TicketInRequestBody) -> TicketInResponseBody:
    if device.role != "kiosk":
        raise Forbidden("only a kiosk takes a ticket into a session", code="wrong_role")
    voucher = vouchers_repo.by_id(conn, request.voucher_id)
    if voucher is None or voucher.location_id != device.location_id:
        raise NotFound("no such voucher at this location", code="unknown_voucher")
    vouchers_service.refuse_if_expired(conn, voucher)
    at = utc_timestamp()
    if not vouchers_repo.claim(conn, voucher.id, request_id=request.request_id, device_id=device.id, at=at):
        return _ticket_in_replay(conn, device, request)
    if repo.session_taken(conn, request.session_id):
        raise Conflict(f"session {request.session_id} is already open; a ticket starts a new one", code="session_taken")
    amount, escrow, tx_id = int(voucher.amount_units), account("escrow", request.session_id), ticket_in_tx_id(voucher.id)
    if not ledger.transfer_if_covered(conn, tx_id=tx_id, kind=SessionCheckout.kind, unit=CREDITS, amount_units=amount,
                                      source=account("voucher", voucher.id), destination=escrow):
        # Issued but not holding its value (a payout entry central applied before the claim): refused, and the
        # claim above is rolled back with the request.
        raise Conflict(f"voucher {voucher.id} does not hold its {amount} credit units", code="voucher_not_covered")
    return TicketInResponseBody(request_id=request.request_id, session_id=request.session_id, voucher_id=voucher.id,
                                amount_units=amount, escrow_account=escrow, tx_id=tx_id, created_at=at)


def _ticket_in_replay(conn: Connection, device: AuthedDevice, request: TicketInRequestBody) -> TicketInResponseBody:
    """The claim matched nothing: either this very request was done before (answer it again) or the ticket is paid."""
    voucher = vouchers_repo.by_id(conn, request.voucher_id)
    assert voucher is not None
    tx_id = ticket_in_tx_id(voucher.id)
    lines = ledger_repo.postings_of(conn, tx_id)
    if (voucher.redeem_request_id, voucher.redeemed_by_device) != (request.request_id, device.id) or not lines:
        raise Conflict(f"voucher {voucher.id} was already paid at {voucher.redeemed_at}", code="voucher_redeemed")
    session_id, amount = _escrow_of(lines)
    if session_id != request.session_id:
        raise Conflict(f"request id {request.request_id} was used for another session", code="request_id_reused")
    return TicketInResponseBody(request_id=request.request_id, session_id=session_id, voucher_id=voucher.id,
                                amount_units=amount, escrow_account=account("escrow", session_id), tx_id=tx_id,
                                created_at=voucher.redeemed_at)


def _escrow_of(lines: list[Posting]) -> tuple[str, int]:
    """The session and amount of a ticket-in transfer, read back from its postings."""
    credit = next(p for p in lines if p.amount_units > 0)
    assert credit.account.startswith("escrow:"), credit
    return credit.account.removeprefix("escrow:"), credit.amount_units


def reconcile_ticket_in(conn: Connection, entry: JournalEntry, body: SessionCheckout) -> tuple[bool, list[tuple[str, str]]]:
    """For ingest: a kiosk's ticket-in entry whose id central used as the request id was paid online, so it is
    recorded, not posted again (decisions 0003, 0007); any other is posted as the fact it is, and flagged when the
    voucher was already paid. Either way the entry becomes the voucher's redemption entry, once."""
    assert body.voucher_id is not None
    voucher = vouchers_repo.by_id(conn, body.voucher_id)
    if voucher is None:
        return True, [("voucher_unknown", f"ticket-in of voucher {body.voucher_id}, which central never saw issued")]
    flags: list[tuple[str, str]] = []
    lines = ledger_repo.postings_of(conn, ticket_in_tx_id(voucher.id))
    online = bool(lines) and (voucher.redeem_request_id, voucher.redeemed_by_device) == (entry.id, entry.device_id)
    if online:
        central_did = _escrow_of(lines)
        if central_did != (body.session_id, body.amount_units):
            flags.append(("ticket_in_mismatch", f"voucher {voucher.id}: central moved {central_did[1]} into session "
                                                f"{central_did[0]}, the entry says {body.amount_units} into {body.session_id}"))
    if not ingest_repo.record_voucher_redemption_entry(conn, voucher.id, entry.id, utc_timestamp()):
        flags.append(("voucher_redeemed_twice", f"voucher {voucher.id} was already redeemed by entry {voucher.redeem_entry_id}"))
    elif not online and voucher.status == "redeemed":  # paid online elsewhere; that payer's entry has not arrived yet
        flags.append(("voucher_redeemed_twice", f"voucher {voucher.id} was already paid to {voucher.redeemed_by_device}"))
    return not online, flags

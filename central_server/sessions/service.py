"""Session checkout: a player's credits move from the wallet into ``escrow:<session_id>``.

Idempotent by the client's request id; the wallet is debited with one guarded UPDATE,
so concurrent checkouts can never overdraw it (N requests for A on a balance B: exactly
floor(B/A) succeed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from central_server.devices.service import AuthedDevice
from central_server.errors import Conflict, Forbidden
from central_server.ledger import repository as ledger_repo
from central_server.ledger import service as ledger
from central_server.players import service as players
from central_server.sessions import repository as repo
from central_server.sessions.schemas import CheckoutRequestBody, CheckoutResponseBody
from shared.entry import utc_timestamp
from shared.ids import new_id
from shared.ledger import account
from shared.money import CREDITS


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

"""HTTP for online top-ups: devices start and watch them, providers deliver their webhooks."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import Engine

from central_server.devices.dependencies import Device, RawBody
from central_server.devices.schemas import ErrorBody
from central_server.ledger.repository import balance
from central_server.payments import service
from central_server.payments.schemas import PaymentBody, TopupRequestBody, WebhookAnswer
from shared.ledger import account
from shared.money import CREDITS
from shared.protocol import PAYMENT_WEBHOOKS_PATH, PAYMENTS_PATH

router = APIRouter(tags=["payments"])

MAX_WAIT_S = 25
POLL_S = 0.25


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _body(engine: Engine, view: service.PaymentView) -> PaymentBody:
    with engine.connect() as conn:
        wallet = balance(conn, account("wallet", view.player_id), CREDITS)
    return PaymentBody(**asdict(view), wallet_units=wallet)


@router.post(PAYMENTS_PATH, response_model=PaymentBody, responses={
    401: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "not allowed: the channel or provider is off at this location "
                                             "(topup_channel_off, topup_provider_off), or the POS named no cashier who may "
                                             "(topup_staff_required, topup_role_refused)"},
    404: {"model": ErrorBody, "description": "unknown player"},
    409: {"model": ErrorBody, "description": "request id reused for another top-up"},
    422: {"model": ErrorBody, "description": "no provider account, self-excluded player, bad amount"},
    502: {"model": ErrorBody, "description": "the provider could not be reached"}})
def start_topup(request: Request, body: TopupRequestBody, device: Device) -> PaymentBody:
    """Start a top-up for a player of this device's location (idempotent by ``request_id``), if the location allows it."""
    engine = _engine(request)
    view = service.start_topup(
        engine, request.app.state.keys.data_keys, created_by=f"device:{device.id}", location_id=device.location_id,
        player_id=body.player_id, amount_units=body.amount_units, provider=body.provider,
        idempotency_key=f"{device.id}:{body.request_id}", channel=device.role, staff_id=body.staff_id,
    )
    return _body(engine, view)


@router.get(PAYMENTS_PATH + "/{payment_id}", response_model=PaymentBody,
            responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}})
def payment_status(
    request: Request, payment_id: str, device: Device,
    wait_s: Annotated[int, Query(ge=0, le=MAX_WAIT_S, description="hold the answer until the status is no longer `known`")] = 0,
    known: Annotated[str | None, Query(max_length=16)] = None,
) -> PaymentBody:
    """A payment of this device's location; with ``wait_s`` a long poll, so devices need not poll fast."""
    engine = _engine(request)
    deadline = time.monotonic() + wait_s
    while True:
        with engine.connect() as conn:
            view = service.view(conn, payment_id, location_id=device.location_id)
        if known is None or view.status != known or time.monotonic() >= deadline:
            return _body(engine, view)
        time.sleep(POLL_S)


@router.post(PAYMENT_WEBHOOKS_PATH + "/{provider}/{account_id}", response_model=WebhookAnswer,
             responses={400: {"model": ErrorBody, "description": "signature, timestamp or body not acceptable"},
                        404: {"model": ErrorBody}, 502: {"model": ErrorBody}})
def webhook(request: Request, provider: str, account_id: str, body: RawBody) -> WebhookAnswer:
    """A provider's delivery. It is authenticated by its signature, then the payment is re-read from the provider."""
    outcome = service.handle_webhook(
        _engine(request), request.app.state.keys.data_keys, provider=provider, account_id=account_id,
        headers=dict(request.headers), raw_body=body, now_s=int(time.time()),
        ip=request.client.host if request.client else "",
    )
    return WebhookAnswer(outcome=outcome)

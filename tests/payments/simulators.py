"""Local simulators of the documented subset of two payment protocols, served over loopback.

* Stripe: ``POST /v1/payment_intents`` (form, Bearer key, Idempotency-Key),
  ``GET /v1/payment_intents/{id}`` (``expand[]=latest_charge``), ``POST /v1/refunds``;
  Checkout Sessions: ``POST /v1/checkout/sessions`` (mode=payment, one line item with
  ``price_data``, client_reference_id, metadata, success_url/cancel_url, expires_at 30 min to
  24 h ahead), ``GET /v1/checkout/sessions/{id}`` (``expand[]=payment_intent[.latest_charge]``),
  ``POST /v1/checkout/sessions/{id}/expire`` and the hosted page ``/c/pay/{id}`` (a POST there is
  the payer paying); events ``payment_intent.*``, ``charge.refunded``, ``charge.dispute.created``,
  ``checkout.session.completed|async_payment_succeeded|async_payment_failed|expired``, signed
  with ``Stripe-Signature``.
* BTCPay Greenfield: ``POST/GET /api/v1/stores/{store}/invoices[/{id}]``,
  ``POST …/invoices/{id}/refund`` (``Authorization: token``); events ``Invoice*`` signed with
  ``BTCPay-Sig``, with ``deliveryId``/``originalDeliveryId``/``isRedelivery``.

The test drives what the payer does (``succeed``, ``settle``, ``expire`` …); each change
queues the event the provider would send, and ``deliver`` posts any event, in any order,
as often as the test likes, to the webhook URL.
"""

from __future__ import annotations

import itertools
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

from central_server.payments.webhooks import btcpay_signature_header, stripe_signature_header
from shared.money import Money, format_units


class _Server:
    def __init__(self, app: FastAPI):
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> str:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


@dataclass
class Delivery:
    event: dict[str, Any]
    status_code: int
    answer: Any


@dataclass
class _Base:
    webhook_url: str = ""
    ca_file: Path | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    base_url: str = ""
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}{secrets.token_hex(4)}"

    def _post(self, body: bytes, headers: dict[str, str], event: dict[str, Any]) -> Delivery:
        verify: Any = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else True
        response = httpx.post(self.webhook_url, content=body, headers={"content-type": "application/json", **headers},
                              verify=verify, timeout=30)
        try:
            answer = response.json()
        except ValueError:
            answer = response.text
        delivery = Delivery(event, response.status_code, answer)
        self.deliveries.append(delivery)
        return delivery


@dataclass
class StripeSim(_Base):
    secret_key: str = "sk_test_sim"
    webhook_secret: str = "whsec_sim"
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    session_keys: dict[str, str] = field(default_factory=dict)
    session_forms: dict[str, dict[str, str]] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = FastAPI()

        def auth(request: Request) -> None:
            if request.headers.get("authorization") != f"Bearer {self.secret_key}":
                raise HTTPException(401, "Invalid API Key provided")

        @app.post("/v1/payment_intents")
        async def create(request: Request) -> Any:
            auth(request)
            form = dict((await request.form()).items())
            key = request.headers.get("idempotency-key")
            if key and key in self.idempotent:
                return self.intents[self.idempotent[key]]
            pi_id = self._id("pi")
            self.intents[pi_id] = {
                "id": pi_id, "object": "payment_intent", "amount": int(str(form["amount"])), "currency": form["currency"],
                "status": "requires_payment_method", "amount_received": 0, "client_secret": f"{pi_id}_secret_x",
                "metadata": {"payment_id": form.get("metadata[payment_id]")}, "latest_charge": None,
            }
            if key:
                self.idempotent[key] = pi_id
            self._event("payment_intent.created", self.intents[pi_id])
            return self.intents[pi_id]

        @app.get("/v1/payment_intents/{pi_id}")
        def retrieve(request: Request, pi_id: str) -> Any:
            auth(request)
            if pi_id not in self.intents:
                return JSONResponse({"error": {"type": "invalid_request_error", "message": "No such payment_intent"}}, 404)
            return self.intents[pi_id]

        @app.post("/v1/checkout/sessions")
        async def create_session(request: Request) -> Any:
            auth(request)
            form = {k: str(v) for k, v in (await request.form()).items()}
            key = request.headers.get("idempotency-key")
            if key and key in self.session_keys:
                return self.sessions[self.session_keys[key]]
            if problem := _session_problem(form):
                return JSONResponse({"error": {"type": "invalid_request_error", "message": problem}}, 400)
            cs_id = self._id("cs_test")
            self.sessions[cs_id] = {
                "id": cs_id, "object": "checkout.session", "mode": "payment", "status": "open", "payment_status": "unpaid",
                "amount_total": int(form["line_items[0][price_data][unit_amount]"]) * int(form.get("line_items[0][quantity]", "1")),
                "currency": form["line_items[0][price_data][currency]"], "client_reference_id": form.get("client_reference_id"),
                "metadata": {k[len("metadata["):-1]: v for k, v in form.items() if k.startswith("metadata[")},
                "success_url": form["success_url"], "cancel_url": form.get("cancel_url"), "created": int(time.time()),
                "expires_at": int(form.get("expires_at") or time.time() + 86400), "payment_intent": None,
                "url": f"{self.base_url}/c/pay/{cs_id}",
            }
            self.session_forms[cs_id] = form
            if key:
                self.session_keys[key] = cs_id
            return self.sessions[cs_id]

        @app.get("/v1/checkout/sessions/{cs_id}")
        def retrieve_session(request: Request, cs_id: str) -> Any:
            auth(request)
            if cs_id not in self.sessions:
                return JSONResponse({"error": {"type": "invalid_request_error", "message": "No such checkout.session"}}, 404)
            return self._expanded(cs_id, request.query_params.getlist("expand[]"))

        @app.post("/v1/checkout/sessions/{cs_id}/expire")
        def expire_session(request: Request, cs_id: str) -> Any:
            auth(request)
            if self.sessions.get(cs_id, {}).get("status") != "open":
                return JSONResponse({"error": {"type": "invalid_request_error", "message": "Session is not open"}}, 400)
            self.expire_session(cs_id)
            return self.sessions[cs_id]

        @app.get("/c/pay/{cs_id}")
        def hosted_page(cs_id: str) -> Any:
            session = self.sessions.get(cs_id)
            if session is None:
                return HTMLResponse("<p>Unknown checkout</p>", 404)
            amount = format_units(session["amount_total"], session["currency"].upper())
            return HTMLResponse(f"<form method=post><p>Pay {amount} {session['currency'].upper()}</p>"
                                f"<button>Pay</button></form>")

        @app.post("/c/pay/{cs_id}")
        def hosted_pay(cs_id: str) -> Any:
            """The payer's phone submits the card on the hosted page."""
            session = self.sessions.get(cs_id)
            if session is None or session["status"] != "open":
                return HTMLResponse("<p>This checkout is closed</p>", 410)
            self.complete_session(cs_id)
            return HTMLResponse("<p>Paid</p>")

        @app.post("/v1/refunds")
        async def refund(request: Request) -> Any:
            auth(request)
            form = dict((await request.form()).items())
            pi = self.intents[str(form["payment_intent"])]
            charge = pi["latest_charge"]
            charge["amount_refunded"] += int(str(form.get("amount", pi["amount"])))
            charge["refunded"] = charge["amount_refunded"] >= pi["amount"]
            self._event("charge.refunded", charge)
            return {"id": self._id("re"), "object": "refund", "status": "succeeded", "payment_intent": pi["id"]}

        return app

    def _event(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {"id": self._id("evt"), "object": "event", "type": event_type, "created": int(time.time()),
                 "data": {"object": json.loads(json.dumps(obj))}}
        self.events.append(event)
        return event

    # -- what the card holder does -------------------------------------------------------------

    def succeed(self, pi_id: str, *, card_fingerprint: str = "fp_card_1") -> dict[str, Any]:
        pi = self.intents[pi_id]
        pi["status"], pi["amount_received"] = "succeeded", pi["amount"]
        pi["latest_charge"] = {"id": self._id("ch"), "object": "charge", "payment_intent": pi_id, "amount": pi["amount"],
                               "amount_refunded": 0, "refunded": False, "disputed": False,
                               "payment_method_details": {"card": {"fingerprint": card_fingerprint}}}
        return self._event("payment_intent.succeeded", pi)

    def fail(self, pi_id: str) -> dict[str, Any]:
        return self._event("payment_intent.payment_failed", self.intents[pi_id])

    def cancel(self, pi_id: str) -> dict[str, Any]:
        self.intents[pi_id]["status"] = "canceled"
        return self._event("payment_intent.canceled", self.intents[pi_id])

    def dispute(self, pi_id: str) -> dict[str, Any]:
        charge = self.intents[pi_id]["latest_charge"]
        charge["disputed"] = True
        return self._event("charge.dispute.created", {"id": self._id("dp"), "object": "dispute", "payment_intent": pi_id})

    # -- Checkout Sessions: what the payer does on the hosted page -----------------------------------

    def _expanded(self, cs_id: str, expand: list[str]) -> dict[str, Any]:
        session = json.loads(json.dumps(self.sessions[cs_id]))
        pi_id = session["payment_intent"]
        if pi_id and ("payment_intent" in expand or "payment_intent.latest_charge" in expand):
            session["payment_intent"] = json.loads(json.dumps(self.intents[pi_id]))
        return session

    def _session_intent(self, cs_id: str, status: str) -> dict[str, Any]:
        session, form = self.sessions[cs_id], self.session_forms[cs_id]
        if session["payment_intent"] is None:
            pi_id = self._id("pi")
            self.intents[pi_id] = {
                "id": pi_id, "object": "payment_intent", "amount": session["amount_total"], "currency": session["currency"],
                "status": status, "amount_received": 0, "latest_charge": None,
                "metadata": {k[len("payment_intent_data[metadata]["):-1]: v for k, v in form.items()
                             if k.startswith("payment_intent_data[metadata][")},
            }
            session["payment_intent"] = pi_id
        pi = self.intents[session["payment_intent"]]
        pi["status"] = status
        return pi

    def _charge(self, pi: dict[str, Any], card_fingerprint: str) -> None:
        pi["status"], pi["amount_received"] = "succeeded", pi["amount"]
        pi["latest_charge"] = {"id": self._id("ch"), "object": "charge", "payment_intent": pi["id"], "amount": pi["amount"],
                               "amount_refunded": 0, "refunded": False, "disputed": False,
                               "payment_method_details": {"card": {"fingerprint": card_fingerprint}}}

    def complete_session(self, cs_id: str, *, card_fingerprint: str = "fp_card_1") -> dict[str, Any]:
        """Paid by card on the hosted page: the session completes paid."""
        pi = self._session_intent(cs_id, "succeeded")
        self._charge(pi, card_fingerprint)
        self.sessions[cs_id].update(status="complete", payment_status="paid")
        self._event("payment_intent.succeeded", pi)
        return self._event("checkout.session.completed", self.sessions[cs_id])

    def complete_session_async(self, cs_id: str) -> dict[str, Any]:
        """A delayed method (a bank debit): the session completes unpaid while the money is on its way."""
        self._session_intent(cs_id, "processing")
        self.sessions[cs_id].update(status="complete", payment_status="unpaid")
        return self._event("checkout.session.completed", self.sessions[cs_id])

    def async_succeed(self, cs_id: str, *, card_fingerprint: str = "fp_bank_1") -> dict[str, Any]:
        self._charge(self._session_intent(cs_id, "succeeded"), card_fingerprint)
        self.sessions[cs_id]["payment_status"] = "paid"
        return self._event("checkout.session.async_payment_succeeded", self.sessions[cs_id])

    def async_fail(self, cs_id: str) -> dict[str, Any]:
        self._session_intent(cs_id, "requires_payment_method")
        return self._event("checkout.session.async_payment_failed", self.sessions[cs_id])

    def expire_session(self, cs_id: str) -> dict[str, Any]:
        """Its expires_at passed (or the merchant expired it) before the payer paid."""
        self.sessions[cs_id]["status"] = "expired"
        return self._event("checkout.session.expired", self.sessions[cs_id])

    def deliver(self, event: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None,
                body: bytes | None = None) -> Delivery:
        raw = body if body is not None else json.dumps(event).encode()
        header = stripe_signature_header(secret or self.webhook_secret, raw, timestamp or int(time.time()))
        return self._post(raw, {"Stripe-Signature": header}, event)


def _session_problem(form: dict[str, str]) -> str | None:
    """What Stripe would refuse in a Checkout Session create (the subset the adapter uses)."""
    if form.get("mode") != "payment":
        return "mode must be payment"
    amount = form.get("line_items[0][price_data][unit_amount]", "")
    if not amount.isdigit() or int(amount) <= 0 or not form.get("line_items[0][price_data][currency]"):
        return "line_items[0][price_data] needs a positive unit_amount and a currency"
    if not form.get("line_items[0][price_data][product_data][name]"):
        return "line_items[0][price_data][product_data][name] is required"
    if not form.get("success_url"):
        return "Missing required param: success_url."
    expires = form.get("expires_at")
    if expires is not None and not 30 * 60 <= int(expires) - time.time() <= 24 * 3600:
        return "expires_at must be between 30 minutes and 24 hours from now"
    return None


@dataclass
class BTCPaySim(_Base):
    api_key: str = "btcpay-api-key"
    store_id: str = "store-1"
    webhook_secret: str = "btcpay-webhook-secret"
    webhook_id: str = "wh-1"
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = FastAPI()

        def auth(request: Request, store: str) -> None:
            if request.headers.get("authorization") != f"token {self.api_key}" or store != self.store_id:
                raise HTTPException(403, "unauthenticated")

        @app.post("/api/v1/stores/{store}/invoices")
        async def create(request: Request, store: str) -> Any:
            auth(request, store)
            doc = await request.json()
            Money.parse(doc["amount"], doc["currency"])  # Greenfield takes a decimal string
            inv_id = self._id("inv")
            self.invoices[inv_id] = {
                "id": inv_id, "storeId": store, "amount": doc["amount"], "currency": doc["currency"], "status": "New",
                "additionalStatus": "None", "metadata": doc.get("metadata", {}),
                "checkoutLink": f"{self.base_url}/i/{inv_id}", "createdTime": int(time.time()),
            }
            self._event("InvoiceCreated", inv_id)
            return self.invoices[inv_id]

        @app.get("/api/v1/stores/{store}/invoices/{inv_id}")
        def retrieve(request: Request, store: str, inv_id: str) -> Any:
            auth(request, store)
            if inv_id not in self.invoices:
                return JSONResponse({"code": "invoice-not-found", "message": "The invoice was not found"}, 404)
            return self.invoices[inv_id]

        @app.post("/api/v1/stores/{store}/invoices/{inv_id}/refund")
        async def refund(request: Request, store: str, inv_id: str) -> Any:
            auth(request, store)
            self.invoices[inv_id]["refunds"] = [*self.invoices[inv_id].get("refunds", []), await request.json()]
            return {"id": self._id("pp"), "viewLink": f"{self.base_url}/pull-payments/x"}

        return app

    def _event(self, event_type: str, inv_id: str, **extra: Any) -> dict[str, Any]:
        delivery = self._id("dlv")
        event = {"deliveryId": delivery, "webhookId": self.webhook_id, "originalDeliveryId": delivery, "isRedelivery": False,
                 "type": event_type, "timestamp": int(time.time()), "storeId": self.store_id, "invoiceId": inv_id,
                 "metadata": self.invoices[inv_id]["metadata"], **extra}
        self.events.append(event)
        return event

    # -- what the payer and the blockchain do ---------------------------------------------------

    def pay(self, inv_id: str) -> dict[str, Any]:
        """Seen in the mempool: Processing (not yet the confirmations the store requires)."""
        self.invoices[inv_id]["status"] = "Processing"
        return self._event("InvoiceReceivedPayment", inv_id, afterExpiration=False)

    def settle(self, inv_id: str, additional: str = "None") -> dict[str, Any]:
        self.invoices[inv_id].update(status="Settled", additionalStatus=additional)
        return self._event("InvoiceSettled", inv_id, manuallyMarked=False, overPaid=additional == "PaidOver")

    def expire(self, inv_id: str, additional: str = "None") -> dict[str, Any]:
        self.invoices[inv_id].update(status="Expired", additionalStatus=additional)
        return self._event("InvoiceExpired", inv_id, partiallyPaid=additional == "PaidPartial")

    def redelivery(self, event: dict[str, Any]) -> dict[str, Any]:
        """What BTCPay sends when a delivery is retried: a new deliveryId, the same original."""
        return {**event, "deliveryId": self._id("dlv"), "isRedelivery": True}

    def deliver(self, event: dict[str, Any], *, secret: str | None = None, body: bytes | None = None) -> Delivery:
        raw = body if body is not None else json.dumps(event).encode()
        return self._post(raw, {"BTCPay-Sig": btcpay_signature_header(secret or self.webhook_secret, raw)}, event)


def serve(sim: StripeSim | BTCPaySim) -> _Server:
    server = _Server(sim.app())
    sim.base_url = server.start()
    return server


def fiat_text(units: int, currency: str = "USD") -> str:
    return format_units(units, currency)

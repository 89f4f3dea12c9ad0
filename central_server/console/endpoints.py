"""The console's pages and form posts (HTML only; the rules live in service, credits and fleet).

Every route declares its access (``web.console_access``); ``web.enforce_access`` has
already checked session, CSRF, role and scope before a handler runs. A form post does its
work in a savepoint: a refusal rolls back only that work, and the refusal's message is
shown on the next page (post/redirect/get), so nothing half-done is ever committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection
from starlette.background import BackgroundTask

from central_server.admin.service import PARENT_KINDS as _PARENT_KINDS
from central_server.audit import log as audit_log
from central_server.console import access, credits, fleet, service
from central_server.console import payments as payments_console
from central_server.console import repository as repo
from central_server.console.web import (
    COOKIE,
    PREFIX,
    ConsoleUser,
    Denied,
    client_ip,
    console_access,
    current_user,
    public,
    redirect,
    render_page,
    render_public,
    set_session_cookie,
)
from central_server.db import Tx
from central_server.settings import load_settings
from shared.errors import CafeError, ValidationError
from shared.money import CREDITS, Money

EVENTS_SHOWN = 200
AUDIT_PAGE = 100
AUDIT_EXPORT_MAX = 100_000


def _act(conn: Connection, user: ConsoleUser, back: str, work: Callable[[], Any], ok: str | Callable[[Any], str]) -> Response:
    """Run one form's work in a savepoint; flash its outcome and redirect back."""
    savepoint = conn.begin_nested()
    try:
        result = work()
    except CafeError as exc:
        savepoint.rollback()
        service.flash(conn, user.session, "error", exc.message)
        return redirect(back)
    savepoint.commit()
    service.flash(conn, user.session, "ok", ok(result) if callable(ok) else ok)
    return redirect(back)


def _credits(text: str, what: str) -> int:
    try:
        units = Money.parse(text or "", CREDITS).units
    except ValidationError as exc:
        raise ValidationError(f"{what}: {exc.message}") from exc
    if units <= 0:
        raise ValidationError(f"{what} must be more than zero")
    return units


def _cash(text: str, currency: str, what: str) -> int:
    try:
        units = Money.parse(text or "", currency).units
    except ValidationError as exc:
        raise ValidationError(f"{what}: {exc.message}") from exc
    if units < 0:
        raise ValidationError(f"{what} cannot be negative")
    return units


def _node_url(node_id: str) -> str:
    return f"{PREFIX}/nodes/{node_id}"


def register(router: APIRouter) -> None:
    # -- sign-in ------------------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    @public
    def login_page(request: Request) -> Response:
        return render_public(request, "login.html", {"error": None, "username": ""})

    @router.post("/login", response_class=HTMLResponse)
    @public
    def login(request: Request, conn: Tx, username: str = Form(""), password: str = Form("")) -> Response:
        result = service.sign_in_password(conn, username=username, password=password, ip=client_ip(request),
                                          user_agent=request.headers.get("user-agent", ""), now_s=int(time.time()))
        if not result.ok or result.token is None:
            return render_public(request, "login.html", {"error": result.message, "username": username[:128]}, status_code=401)
        response = redirect(f"{PREFIX}/" if result.stage == "full" else f"{PREFIX}/login/totp")
        set_session_cookie(response, result.token)
        return response

    def _pending(request: Request, conn: Connection) -> service.Session | None:
        session = service.load_session(conn, request.cookies.get(COOKIE), int(time.time()))
        return session if session is not None and session.stage in ("totp", "enrol") else None

    @router.get("/login/totp", response_class=HTMLResponse)
    @public
    def totp_page(request: Request, conn: Tx) -> Response:
        session = _pending(request, conn)
        if session is None:
            return redirect(f"{PREFIX}/login")
        context: dict[str, Any] = {"error": None, "enrol": session.stage == "enrol", "username": session.username}
        if session.stage == "enrol":
            context["secret"], context["qr_svg"] = service.enrolment(conn, request.app.state.keys.data_keys, session)
        return render_public(request, "totp.html", context)

    @router.post("/login/totp", response_class=HTMLResponse)
    @public
    def totp(request: Request, conn: Tx, code: str = Form("")) -> Response:
        session = _pending(request, conn)
        if session is None:
            return redirect(f"{PREFIX}/login")
        keys = request.app.state.keys.data_keys
        result = service.second_factor(conn, keys, session, code[:32], ip=client_ip(request),
                                       user_agent=request.headers.get("user-agent", ""), now_s=int(time.time()))
        if not result.ok or result.token is None:
            context: dict[str, Any] = {"error": result.message, "enrol": session.stage == "enrol", "username": session.username}
            if session.stage == "enrol":
                context["secret"], context["qr_svg"] = service.enrolment(conn, keys, session)
            return render_public(request, "totp.html", context, status_code=401)
        response = redirect(f"{PREFIX}/")
        set_session_cookie(response, result.token)
        return response

    @router.post("/logout")
    @console_access(access.VIEW)
    def logout(request: Request, conn: Tx) -> Response:
        user = current_user(request, conn, None)
        service.sign_out(conn, user.session, user.ip)
        response = redirect(f"{PREFIX}/login")
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    @router.post("/logout-everywhere")
    @console_access(access.VIEW)
    def logout_everywhere(request: Request, conn: Tx) -> Response:
        user = current_user(request, conn, None)
        service.sign_out_everywhere(conn, user.session, user.ip)
        response = redirect(f"{PREFIX}/login")
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    @router.get("/account", response_class=HTMLResponse)
    @console_access(access.VIEW)
    def account_page(request: Request, conn: Tx) -> Response:
        user = current_user(request, conn, None)
        logins = repo.recent_logins(conn, {user.id}, limit=15)
        return render_page(request, user, "account.html", {"logins": logins, "title": "Your account"})

    @router.post("/account/password")
    @console_access(access.VIEW)
    def change_password(request: Request, conn: Tx, current: str = Form(""), new: str = Form(""), repeat: str = Form("")) -> Response:
        user = current_user(request, conn, None)

        def work() -> None:
            if new != repeat:
                raise ValidationError("the two new passwords differ")
            service.change_password(conn, user.session, user.ip, current=current, new=new)
        return _act(conn, user, f"{PREFIX}/account", work, "Password changed.")

    # -- hierarchy ----------------------------------------------------------------------------

    @router.get("/", response_class=HTMLResponse)
    @console_access(access.VIEW)
    def overview(request: Request, conn: Tx) -> Response:
        user = current_user(request, conn, None)
        return _node_page(request, conn, user, user.node_id)

    @router.get("/nodes/{node_id}", response_class=HTMLResponse)
    @console_access(access.VIEW, target="node_id")
    def node_page(request: Request, conn: Tx, node_id: str) -> Response:
        return _node_page(request, conn, current_user(request, conn, None), node_id)

    @router.post("/nodes/{node_id}/children")
    @console_access(access.NODES_MANAGE, target="node_id")
    def create_child(request: Request, conn: Tx, node_id: str, child_id: str = Form(""), kind: str = Form(""),
                     name: str = Form(""), currency: str = Form("USD")) -> Response:
        user = current_user(request, conn, None)
        return _act(conn, user, _node_url(node_id),
                    lambda: credits.create_node(conn, user.actor, parent_id=node_id, node_id=child_id, kind=kind, name=name,
                                                currency=currency),
                    f"Created {kind.replace('_', ' ')} {name or child_id}.")

    @router.post("/nodes/{node_id}/rename")
    @console_access(access.NODES_MANAGE, target="node_id")
    def rename(request: Request, conn: Tx, node_id: str, name: str = Form("")) -> Response:
        user = current_user(request, conn, None)
        return _act(conn, user, _node_url(node_id), lambda: credits.rename_node(conn, user.actor, node_id, name), "Renamed.")

    @router.post("/nodes/{node_id}/timezone")
    @console_access(access.NODES_MANAGE, target="node_id")
    def set_timezone(request: Request, conn: Tx, node_id: str, timezone: str = Form("")) -> Response:
        user = current_user(request, conn, None)
        return _act(conn, user, _node_url(node_id), lambda: credits.set_timezone(conn, user.actor, node_id, timezone[:64]),
                    "Time zone saved; reports cut the day in it from now on.")

    @router.post("/nodes/{node_id}/mint")
    @console_access(access.CREDITS_MINT, target="node_id")
    def mint(request: Request, conn: Tx, node_id: str, amount: str = Form(""), reason: str = Form("")) -> Response:
        user = current_user(request, conn, None)

        def work() -> int:
            units = _credits(amount, "the amount to mint")
            credits.mint(conn, user.actor, node_id=node_id, amount_units=units, reason=reason)
            return units
        return _act(conn, user, _node_url(node_id), work, lambda units: f"Minted {Money(units, CREDITS).format()} credits.")

    @router.post("/nodes/{node_id}/issuance-limit")
    @console_access(access.CREDITS_MINT, target="node_id")
    def issuance_limit(request: Request, conn: Tx, node_id: str, limit: str = Form("")) -> Response:
        user = current_user(request, conn, None)

        def work() -> None:
            units = Money.parse(limit or "", CREDITS).units
            credits.set_issuance_limit(conn, user.actor, node_id, units)
        return _act(conn, user, _node_url(node_id), work, "Issuance limit saved.")

    @router.post("/nodes/{node_id}/sell")
    @console_access(access.CREDITS_SELL, target="node_id")
    def sell(request: Request, conn: Tx, node_id: str, to_node_id: str = Form(""), amount: str = Form(""),
             price_per_credit: str = Form("")) -> Response:
        user = current_user(request, conn, None)

        def work() -> str:
            seller = repo.node(conn, node_id)
            assert seller is not None  # the access check found it
            units = _credits(amount, "the amount to sell")
            price = _cash(price_per_credit, seller.currency, "the price per credit")
            credits.sell(conn, user.actor, from_node_id=node_id, to_node_id=to_node_id, amount_units=units, price_per_credit_units=price)
            return f"Sold {Money(units, CREDITS).format()} credits to {to_node_id} at {Money(price, seller.currency)} per credit."
        return _act(conn, user, _node_url(node_id), work, lambda text: text)

    @router.post("/nodes/{node_id}/credit-line")
    @console_access(access.CREDITS_TERMS, target="node_id")
    def credit_line(request: Request, conn: Tx, node_id: str, line: str = Form("")) -> Response:
        user = current_user(request, conn, None)

        def work() -> None:
            target = repo.node(conn, node_id)
            assert target is not None
            credits.set_credit_line(conn, user.actor, node_id, _cash(line, target.currency, "the credit line"))
        return _act(conn, user, _node_url(node_id), work, "Credit line saved.")

    @router.post("/nodes/{node_id}/payment-received")
    @console_access(access.CREDITS_TERMS, target="node_id")
    def payment_received(request: Request, conn: Tx, node_id: str, amount: str = Form(""), reference: str = Form("")) -> Response:
        user = current_user(request, conn, None)

        def work() -> str:
            payer = repo.node(conn, node_id)
            assert payer is not None
            units = _cash(amount, payer.currency, "the payment")
            credits.record_payment(conn, user.actor, node_id=node_id, amount_units=units, reference=reference)
            return f"Recorded {Money(units, payer.currency)} received from {payer.name}; its credit line is free by as much again."
        return _act(conn, user, _node_url(node_id) + "#credit-line", work, lambda text: text)

    @router.post("/nodes/{node_id}/limits")
    @console_access(access.LIMITS_EDIT, target="node_id")
    def set_limit(request: Request, conn: Tx, node_id: str, name: str = Form(""), value: str = Form("")) -> Response:
        user = current_user(request, conn, None)
        return _act(conn, user, _node_url(node_id) + "#limits", lambda: fleet.set_limit(conn, user.actor, node_id, name, value),
                    "Limit saved; devices get it at their next pull.")

    @router.post("/nodes/{node_id}/limits/clear")
    @console_access(access.LIMITS_EDIT, target="node_id")
    def clear_limit(request: Request, conn: Tx, node_id: str, name: str = Form("")) -> Response:
        user = current_user(request, conn, None)
        return _act(conn, user, _node_url(node_id) + "#limits", lambda: fleet.clear_limit(conn, user.actor, node_id, name),
                    "Limit cleared; the value from above applies.")

    @router.post("/nodes/{node_id}/topup-channels")
    @console_access(access.PAYMENTS_CONFIGURE, target="node_id")
    def topup_channel(request: Request, conn: Tx, node_id: str, channel: str = Form(""),
                      providers: Annotated[list[str] | None, Form()] = None, inherit: str = Form("")) -> Response:
        user = current_user(request, conn, None)
        return _act(conn, user, _node_url(node_id) + "#topups",
                    lambda: fleet.set_topup_channel(conn, user.actor, node_id, channel, providers or [], inherit=bool(inherit)),
                    "Top-up channel saved; devices get it at their next pull, and central checks it at once.")

    # -- users --------------------------------------------------------------------------------

    @router.post("/nodes/{node_id}/users")
    @console_access(access.USERS_MANAGE, target="node_id")
    def create_user(request: Request, conn: Tx, node_id: str, username: str = Form(""), display_name: str = Form(""),
                    role: str = Form(""), password: str = Form("")) -> Response:
        user = current_user(request, conn, None)
        return _act(conn, user, _node_url(node_id) + "#users",
                    lambda: service.create_user(conn, user.actor, actor_role=user.role, node_id=node_id, username=username,
                                                display_name=display_name, role=role, password=password),
                    f"User {username} created.")

    def _user_action(request: Request, conn: Connection, user_id: int, what: Callable[[ConsoleUser], None], done: str) -> Response:
        user = current_user(request, conn, None)
        target = repo.user(conn, user_id)
        assert target is not None  # the access check resolved it
        if target.role not in access.GRANTABLE.get(user.role, ()):
            raise Denied("You cannot change a user whose role is above what you may grant.")
        return _act(conn, user, _node_url(target.node_id) + "#users", lambda: what(user), done)

    @router.post("/users/{user_id}/name")
    @console_access(access.USERS_MANAGE, target="user_id")
    def rename_user(request: Request, conn: Tx, user_id: int, display_name: str = Form("")) -> Response:
        return _user_action(request, conn, user_id, lambda u: service.rename_user(conn, u.actor, user_id, display_name),
                            "Display name changed.")

    @router.post("/users/{user_id}/role")
    @console_access(access.USERS_MANAGE, target="user_id")
    def change_role(request: Request, conn: Tx, user_id: int, role: str = Form("")) -> Response:
        label = access.ROLE_LABELS.get(role, role)
        return _user_action(request, conn, user_id,
                            lambda u: service.change_role(conn, u.actor, actor_role=u.role, user_id=user_id, role=role),
                            f"Role changed to {label}; the user's sessions were ended.")

    @router.post("/users/{user_id}/reset-password", response_class=HTMLResponse)
    @console_access(access.USERS_MANAGE, target="user_id")
    def reset_password(request: Request, conn: Tx, user_id: int) -> Response:
        user = current_user(request, conn, None)
        target = repo.user(conn, user_id)
        assert target is not None  # the access check resolved it
        if target.role not in access.GRANTABLE.get(user.role, ()):
            raise Denied("You cannot change a user whose role is above what you may grant.")
        savepoint = conn.begin_nested()
        try:
            password = service.reset_password(conn, user.actor, user_id)
        except CafeError as exc:
            savepoint.rollback()
            service.flash(conn, user.session, "error", exc.message)
            return redirect(_node_url(target.node_id) + "#users")
        savepoint.commit()
        # Shown once, on this page only (like an enrolment code): central keeps only the hash.
        response = _node_page(request, conn, user, target.node_id,
                              {"new_password": {"username": target.username, "password": password}})
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.post("/users/{user_id}/disable")
    @console_access(access.USERS_MANAGE, target="user_id")
    def disable_user(request: Request, conn: Tx, user_id: int) -> Response:
        return _user_action(request, conn, user_id, lambda u: service.set_user_active(conn, u.actor, user_id, False), "User disabled.")

    @router.post("/users/{user_id}/enable")
    @console_access(access.USERS_MANAGE, target="user_id")
    def enable_user(request: Request, conn: Tx, user_id: int) -> Response:
        return _user_action(request, conn, user_id, lambda u: service.set_user_active(conn, u.actor, user_id, True), "User enabled.")

    @router.post("/users/{user_id}/unlock")
    @console_access(access.USERS_MANAGE, target="user_id")
    def unlock_user(request: Request, conn: Tx, user_id: int) -> Response:
        return _user_action(request, conn, user_id, lambda u: service.unlock_user(conn, u.actor, user_id), "User unlocked.")

    @router.post("/users/{user_id}/reset-totp")
    @console_access(access.USERS_MANAGE, target="user_id")
    def reset_totp(request: Request, conn: Tx, user_id: int) -> Response:
        return _user_action(request, conn, user_id, lambda u: service.reset_totp(conn, u.actor, user_id),
                            "Second factor reset; the user enrols again at the next sign-in.")

    # -- staff --------------------------------------------------------------------------------

    @router.post("/nodes/{node_id}/staff")
    @console_access(access.STAFF_MANAGE, target="node_id")
    def add_staff(request: Request, conn: Tx, node_id: str, name: str = Form(""), role: str = Form(""), pin: str = Form("")) -> Response:
        user = current_user(request, conn, None)
        return _act(conn, user, _node_url(node_id) + "#staff",
                    lambda: fleet.add_staff(conn, user.actor, location_id=node_id, name=name, role=role, pin=pin),
                    f"{name} added; the POS gets the PIN at its next pull.")

    @router.post("/staff/{staff_id}/pin")
    @console_access(access.STAFF_MANAGE, target="staff_id")
    def staff_pin(request: Request, conn: Tx, staff_id: str, pin: str = Form("")) -> Response:
        user = current_user(request, conn, None)
        back = _node_url(repo.staff_location(conn, staff_id) or "") + "#staff"
        return _act(conn, user, back, lambda: fleet.set_pin(conn, user.actor, staff_id, pin), "PIN changed.")

    @router.post("/staff/{staff_id}/deactivate")
    @console_access(access.STAFF_MANAGE, target="staff_id")
    def staff_deactivate(request: Request, conn: Tx, staff_id: str) -> Response:
        user = current_user(request, conn, None)
        back = _node_url(repo.staff_location(conn, staff_id) or "") + "#staff"
        return _act(conn, user, back, lambda: fleet.deactivate_staff(conn, user.actor, staff_id), "Staff member deactivated.")

    # -- fleet --------------------------------------------------------------------------------

    @router.get("/devices", response_class=HTMLResponse)
    @console_access(access.DEVICES_VIEW)
    def devices_page(request: Request, conn: Tx) -> Response:
        user = current_user(request, conn, None)
        return _devices_page(request, conn, user, None)

    @router.post("/nodes/{node_id}/enroll-codes", response_class=HTMLResponse)
    @console_access(access.DEVICES_MANAGE, target="node_id")
    def enroll_code(request: Request, conn: Tx, node_id: str, role: str = Form("")) -> Response:
        user = current_user(request, conn, None)
        savepoint = conn.begin_nested()
        try:
            code, expires_at_s = fleet.enroll_code(conn, user.actor, location_id=node_id, role=role,
                                                   ttl_s=load_settings().enroll_code_ttl_s)
        except CafeError as exc:
            savepoint.rollback()
            service.flash(conn, user.session, "error", exc.message)
            return redirect(f"{PREFIX}/devices")
        savepoint.commit()
        # Shown once, on this page only: the code is a secret and central keeps only its digest.
        new_code = {"code": code, "role": role, "location": node_id,
                    "expires": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires_at_s))}
        return _devices_page(request, conn, user, new_code)

    def _device_action(request: Request, conn: Connection, device_id: str, work: Callable[[ConsoleUser], None], done: str) -> Response:
        user = current_user(request, conn, None)
        return _act(conn, user, f"{PREFIX}/devices", lambda: work(user), done)

    @router.post("/devices/{device_id}/revoke")
    @console_access(access.DEVICES_MANAGE, target="device_id")
    def revoke(request: Request, conn: Tx, device_id: str) -> Response:
        return _device_action(request, conn, device_id, lambda u: fleet.revoke(conn, u.actor, device_id),
                              f"Device {device_id} revoked; it is refused from now on.")

    @router.post("/devices/{device_id}/quarantine")
    @console_access(access.DEVICES_MANAGE, target="device_id")
    def quarantine(request: Request, conn: Tx, device_id: str, reason: str = Form("")) -> Response:
        return _device_action(request, conn, device_id, lambda u: fleet.quarantine(conn, u.actor, device_id, reason),
                              f"Device {device_id} quarantined.")

    @router.post("/devices/{device_id}/release")
    @console_access(access.DEVICES_MANAGE, target="device_id")
    def release(request: Request, conn: Tx, device_id: str, note: str = Form("")) -> Response:
        return _device_action(request, conn, device_id, lambda u: fleet.release(conn, u.actor, device_id, note),
                              f"Device {device_id} released.")

    # -- online payments ----------------------------------------------------------------------

    @router.get("/payments", response_class=HTMLResponse)
    @console_access(access.PAYMENTS_VIEW)
    def payments_page(request: Request, conn: Tx) -> Response:
        user = current_user(request, conn, None)
        scope = None if user.sees_everything() else _locations(user)
        return render_page(request, user, "payments.html", {
            "title": "Payments", "queue": payments_console.rows(conn, scope, in_review=True),
            "recent": payments_console.rows(conn, scope, in_review=False),
            "queue_max": payments_console.QUEUE_SHOWN, "recent_max": payments_console.RECENT_SHOWN,
        })

    def _payment_act(request: Request, conn: Connection, work: Callable[[ConsoleUser], payments_console.Outcome]) -> Response:
        user = current_user(request, conn, None)
        done: list[payments_console.Outcome] = []

        def run() -> str:
            done.append(work(user))
            return done[0].message
        response = _act(conn, user, f"{PREFIX}/payments", run, lambda message: message)
        if done and done[0].provider_refund is not None:
            # After the request's transaction commits (the response is sent first): the decision is durable
            # before the provider is asked, and no transaction waits on the provider.
            response.background = BackgroundTask(done[0].provider_refund.run, request.app.state.engine)
        return response

    @router.post("/payments/{payment_id}/approve")
    @console_access(access.PAYMENTS_REVIEW, target="payment_id")
    def approve_payment(request: Request, conn: Tx, payment_id: str, note: str = Form("")) -> Response:
        keys = request.app.state.keys.data_keys
        return _payment_act(request, conn, lambda u: payments_console.review(
            conn, keys, u.actor, role=u.role, payment_id=payment_id, decision="approve", note=note))

    @router.post("/payments/{payment_id}/reject")
    @console_access(access.PAYMENTS_REVIEW, target="payment_id")
    def reject_payment(request: Request, conn: Tx, payment_id: str, note: str = Form("")) -> Response:
        keys = request.app.state.keys.data_keys
        return _payment_act(request, conn, lambda u: payments_console.review(
            conn, keys, u.actor, role=u.role, payment_id=payment_id, decision="reject", note=note))

    @router.post("/payments/{payment_id}/refund")
    @console_access(access.PAYMENTS_REFUND, target="payment_id")
    def refund_payment(request: Request, conn: Tx, payment_id: str, note: str = Form("")) -> Response:
        keys = request.app.state.keys.data_keys
        return _payment_act(request, conn, lambda u: payments_console.refund(
            conn, keys, u.actor, role=u.role, payment_id=payment_id, note=note))

    # -- exceptions and events ----------------------------------------------------------------

    @router.get("/events", response_class=HTMLResponse)
    @console_access(access.EVENTS_VIEW)
    def events_page(request: Request, conn: Tx) -> Response:
        user = current_user(request, conn, None)
        device_ids = None if user.sees_everything() else {d.id for d in repo.devices_at(conn, _locations(user))}
        events = repo.events(conn, device_ids, EVENTS_SHOWN)
        exceptions = repo.exceptions(conn, device_ids, EVENTS_SHOWN)
        return render_page(request, user, "events.html", {
            "title": "Exceptions & events", "events": events, "exceptions": exceptions,
            "event_reviews": repo.reviews(conn, "event", [int(e.id) for e in events]),
            "exception_reviews": repo.reviews(conn, "exception", [int(e.id) for e in exceptions]),
            "can_ack": user.may(access.EVENTS_ACK),
        })

    @router.post("/events/{source}/{ref_id}/ack")
    @console_access(access.EVENTS_ACK, target="ref_id")
    def acknowledge(request: Request, conn: Tx, source: str, ref_id: int, note: str = Form("")) -> Response:
        user = current_user(request, conn, None)
        return _act(conn, user, f"{PREFIX}/events",
                    lambda: fleet.acknowledge(conn, user.actor, source=source, ref_id=ref_id, note=note, node_id=None),
                    "Note recorded.")

    # -- audit log ----------------------------------------------------------------------------

    @router.get("/audit", response_class=HTMLResponse)
    @console_access(access.AUDIT_VIEW)
    def audit_page(request: Request, conn: Tx, before: int | None = None) -> Response:
        user = current_user(request, conn, None)
        scope = None if user.sees_everything() else user.subtree()
        rows = audit_log.page(conn, scope, limit=AUDIT_PAGE, before_seq=before)
        return render_page(request, user, "audit.html", {"title": "Audit log", "rows": rows, "page_size": AUDIT_PAGE})

    @router.get("/audit.csv")
    @console_access(access.AUDIT_VIEW)
    def audit_csv(request: Request, conn: Tx) -> Response:
        user = current_user(request, conn, None)
        scope = None if user.sees_everything() else user.subtree()
        rows = audit_log.page(conn, scope, limit=AUDIT_EXPORT_MAX)
        return Response(audit_log.to_csv(reversed(rows)), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})


def _locations(user: ConsoleUser) -> set[str]:
    return {n for n in user.subtree() if user.names.get(n, ("", ""))[1] == "location"}


def _node_page(request: Request, conn: Connection, user: ConsoleUser, node_id: str, extra: dict[str, Any] | None = None) -> Response:
    node = repo.node(conn, node_id)
    assert node is not None  # the access check found it in the tree
    children = repo.nodes_in(conn, set(user.tree.children(node_id)))
    figures = credits.figures(conn, [node, *children])
    users = repo.users_at(conn, {node_id})
    context: dict[str, Any] = {
        "title": node.name, "node": node, "crumb_node": node_id, "children": children, "figures": figures,
        "users": users, "limits": fleet.limits_of(conn, node_id), "topup_channels": fleet.topup_channels_of(conn, node_id),
        "provider_labels": fleet.PROVIDER_LABELS,
        "grantable": access.grantable_roles(user.role, node.kind) if user.may(access.USERS_MANAGE, node_id) else (),
        "child_kinds": [k for k, parents in _PARENT_KINDS.items() if node.kind in parents],
        "staff": repo.staff_at(conn, node_id) if node.kind == "location" else [],
        "devices": repo.devices_at(conn, {node_id}) if node.kind == "location" else [],
        "timezone": repo.node_timezone(conn, node_id) if node.kind == "location" else None,
        "now_s": int(time.time()), "new_password": None, **(extra or {}),
    }
    return render_page(request, user, "node.html", context)


def _devices_page(request: Request, conn: Connection, user: ConsoleUser, new_code: dict[str, str] | None) -> Response:
    locations = _locations(user)
    devices = repo.devices_at(conn, locations)
    manageable = sorted((n for n in locations if user.may(access.DEVICES_MANAGE, n)), key=lambda n: user.names[n][0])
    return render_page(request, user, "devices.html", {
        "title": "Devices", "devices": devices, "new_code": new_code, "locations": manageable,
        "can_manage": user.may(access.DEVICES_MANAGE),
    })


"""Mounts the web console on the app: pages, static files, sign-in, access control.

For other areas that add console pages (the REPORTS helper):

* ``current_user`` — a FastAPI dependency returning the signed-in ``ConsoleUser``
  (``.username``, ``.role``, ``.node_id``, ``.may(action, node_id=None)``,
  ``.subtree()``, ``.tree``, ``.csrf_token``); without a live session a GET is
  redirected to ``/console/login`` and anything else gets 401. A non-GET request must
  carry the session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``).
* ``require_user(*roles)`` — the same, and 403 unless the user's role is one of
  ``roles`` (no roles: any signed-in user). Scope is still yours to check:
  ``user.may(access.REPORTS_VIEW, node_id)`` is False outside the user's subtree.
* ``console_access(action, target=None)`` — decorator for a route that should be checked
  like the console's own (action from ``central_server.console.access``; ``target``
  names the path parameter holding a node id). The access-matrix test covers every
  route so marked.
* ``render_page(request, user, "reports/day.html", {...})`` — renders a template that
  ``{% extends "base.html" %}`` (blocks: ``title``, ``heading``, ``actions``,
  ``content``; ``crumb_node`` in the context sets the breadcrumb). Add your template
  folder first with ``add_template_dir(path)``. ``templates/_macros.html`` has
  ``money(units, unit)`` and ``csrf()``.
* Navigation: ``add_nav_item(label, href, action)`` adds a link shown to users whose
  role has ``action``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection

from central_server.console import access, service
from central_server.console import repository as repo
from central_server.db import Tx
from shared.money import format_units

COOKIE = "cafe_console"
PRE_COOKIE = "cafe_console_pre"  # double-submit CSRF token for the forms shown before sign-in
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PREFIX = "/console"
HERE = Path(__file__).parent
SAFE_METHODS = ("GET", "HEAD")

_loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(HERE / "templates"))])
templates = Jinja2Templates(env=jinja2.Environment(loader=_loader, autoescape=True, undefined=jinja2.StrictUndefined))
"""The console's Jinja2 templates (autoescaped); ``base.html`` is the layout."""


def add_template_dir(path: Path) -> None:
    """Let templates in ``path`` extend ``base.html`` and be rendered by ``render_page``."""
    loaders = list(_loader.loaders)
    if not any(isinstance(x, jinja2.FileSystemLoader) and str(path) in x.searchpath for x in loaders):
        _loader.loaders = [*loaders, jinja2.FileSystemLoader(str(path))]


def _money(units: int | None, unit: str = "CR") -> str:
    if units is None:
        return "—"
    text = format_units(int(units), unit)
    whole, _, frac = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}" + (f".{frac}" if frac else "")
    return ("-" if text.startswith("-") else "") + grouped


def _when(stamp: str | None) -> str:
    """``2026-11-25T11:39:11.527901Z`` → ``2026-11-25 11:39:11`` (UTC, as stored)."""
    return stamp[:19].replace("T", " ") if stamp else "never"


templates.env.filters["money"] = _money
templates.env.filters["when"] = _when
templates.env.globals["ROLE_LABELS"] = access.ROLE_LABELS


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    action: str


NAV: list[NavItem] = [
    NavItem("Overview", f"{PREFIX}/", access.VIEW),
    NavItem("Devices", f"{PREFIX}/devices", access.DEVICES_VIEW),
    NavItem("Payments", f"{PREFIX}/payments", access.PAYMENTS_VIEW),
    NavItem("Exceptions & events", f"{PREFIX}/events", access.EVENTS_VIEW),
    NavItem("Audit log", f"{PREFIX}/audit", access.AUDIT_VIEW),
]


def add_nav_item(label: str, href: str, action: str) -> None:
    if all(item.href != href for item in NAV):
        NAV.append(NavItem(label, href, action))


@dataclass
class ConsoleUser:
    """The signed-in person for one request, with the hierarchy to check scope against."""

    session: service.Session
    tree: access.Tree
    names: dict[str, tuple[str, str]]  # node id → (name, kind)
    ip: str
    flash: tuple[str, str] | None = None
    _subtree: set[str] | None = field(default=None, repr=False)

    @property
    def id(self) -> int:
        return self.session.user_id

    @property
    def username(self) -> str:
        return self.session.username

    @property
    def role(self) -> str:
        return self.session.role

    @property
    def node_id(self) -> str:
        return self.session.node_id

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    @property
    def actor(self) -> Any:
        from central_server.audit.log import Actor

        return Actor(self.username, self.ip, self.id)

    def may(self, action: str, node_id: str | None = None) -> bool:
        return access.allowed(self.tree, role=self.role, user_node=self.node_id, action=action, target_node=node_id)

    def subtree(self) -> set[str]:
        if self._subtree is None:
            self._subtree = self.tree.subtree(self.node_id)
        return self._subtree

    def sees_everything(self) -> bool:
        return self.tree.is_root(self.node_id)


class LoginRequired(Exception):
    """No live session: a page redirects to sign-in, anything else is a 401."""


class Denied(Exception):
    """403: the role lacks the action, the target is outside the user's subtree, or CSRF failed."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- access declarations ----------------------------------------------------------------------

@dataclass(frozen=True)
class Access:
    action: str | None  # None: public (sign-in pages)
    target: str | None = None  # path parameter naming what the route acts on


F = TypeVar("F", bound=Callable[..., Any])


def console_access(action: str | None, target: str | None = None) -> Callable[[F], F]:
    """Declare what a route needs (see the module docstring); undeclared console routes are refused."""
    def mark(func: F) -> F:
        func.console_access = Access(action, target)  # type: ignore[attr-defined]
        return func
    return mark


public = console_access(None)


def route_access(route: Any) -> Access | None:
    return getattr(getattr(route, "endpoint", None), "console_access", None)


def iter_routes(routes: list[Any]) -> list[Any]:
    """Every route of an app, flattened through included routers (FastAPI keeps them nested).

    Routers here are included without an extra prefix, so each route's own path is its URL.
    """
    flat: list[Any] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        flat.extend(iter_routes(list(inner.routes)) if inner is not None else [route])
    return flat


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _submitted_csrf(request: Request) -> str | None:
    """The CSRF token a non-GET request carries (header first, then the form field)."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)  # Starlette caches the parsed form for the endpoint
        return value if isinstance(value, str) else None
    return None


def _target_node(conn: Connection, target: str | None, params: dict[str, Any]) -> str | None:
    """The node a route acts on, from its path; an unknown object resolves to no node (outside)."""
    if target is None:
        return None
    raw = str(params.get(target, ""))
    if target == "node_id":
        return raw
    if target == "device_id":
        return repo.device_location(conn, raw) or ""
    if target == "staff_id":
        return repo.staff_location(conn, raw) or ""
    if target == "user_id":
        return repo.user_node(conn, int(raw)) if raw.isdigit() else ""
    if target == "payment_id":
        return repo.payment_location(conn, raw) or ""
    if target == "ref_id":
        source = str(params.get("source", ""))
        if source not in ("event", "exception") or not raw.isdigit():
            return ""
        exists, device_id = repo.event_device(conn, source, int(raw))
        if not exists:
            return ""
        location = repo.device_location(conn, device_id) if device_id else None
        return location or _root(conn)
    raise AssertionError(f"unknown access target {target!r}")


def _root(conn: Connection) -> str:
    return next((r.id for r in repo.tree_rows(conn) if r.parent_id is None), "")


def _load_user(request: Request, conn: Connection, submitted_csrf: str | None) -> ConsoleUser:
    session = service.load_session(conn, request.cookies.get(COOKIE), int(time.time()))
    if session is None or session.stage != "full":
        raise LoginRequired()
    if request.method not in SAFE_METHODS and not (submitted_csrf and secrets.compare_digest(submitted_csrf, session.csrf_token)):
        raise Denied("The form's security token is missing or out of date. Reload the page and try again.")
    rows = repo.tree_rows(conn)
    user = ConsoleUser(session, access.Tree.of((r.id, r.parent_id) for r in rows), {r.id: (r.name, r.kind) for r in rows},
                       client_ip(request))
    if request.method == "GET" and session.flash:
        user.flash = service.take_flash(conn, session)
    request.state.console_user = user
    return user


SubmittedCsrf = Annotated[str | None, Depends(_submitted_csrf)]


def enforce_access(request: Request, conn: Tx, submitted: SubmittedCsrf) -> None:
    """Every console route: public, or a live session + CSRF + the declared action on an in-scope target."""
    spec = route_access(request.scope.get("route"))
    if spec is not None and spec.action is None:
        if request.method not in SAFE_METHODS:
            expected = request.cookies.get(PRE_COOKIE)
            if not (submitted and expected and secrets.compare_digest(submitted, expected)):
                raise Denied("The form's security token is missing or out of date. Reload the page and try again.")
        return
    user = _load_user(request, conn, submitted)
    if spec is None:
        raise Denied("This page has no access rule, so nobody may use it.")
    target = _target_node(conn, spec.target, request.path_params)
    if not user.may(spec.action, target):  # type: ignore[arg-type]
        raise Denied("You do not have access to this.")


def current_user(request: Request, conn: Tx, submitted: SubmittedCsrf) -> ConsoleUser:
    """The signed-in user (see the module docstring)."""
    existing = getattr(request.state, "console_user", None)
    if isinstance(existing, ConsoleUser):
        return existing
    return _load_user(request, conn, submitted)


CurrentUser = Annotated[ConsoleUser, Depends(current_user)]
"""An endpoint parameter that is the signed-in console user."""


def require_user(*roles: str) -> Callable[..., ConsoleUser]:
    """A dependency: the signed-in user, refused with 403 unless their role is one of ``roles``."""
    def dependency(user: Annotated[ConsoleUser, Depends(current_user)]) -> ConsoleUser:
        if roles and user.role not in roles:
            raise Denied("Your role does not give access to this page.")
        return user
    return dependency


# -- rendering --------------------------------------------------------------------------------

def breadcrumb(user: ConsoleUser, node_id: str | None) -> list[tuple[str, str, str]]:
    """(id, name, kind) from the user's own node down to ``node_id``."""
    if node_id is None or node_id not in user.names:
        node_id = user.node_id
    path = user.tree.ancestors(node_id)
    if user.node_id in path:
        path = path[: path.index(user.node_id) + 1]
    return [(n, *user.names.get(n, (n, ""))) for n in reversed(path)]


def render_page(request: Request, user: ConsoleUser, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    nav = [item for item in NAV if user.may(item.action)]
    here = request.url.path
    ctx = {
        "user": user, "nav": nav, "here": here, "flash": user.flash, "csrf_token": user.csrf_token,
        "crumbs": breadcrumb(user, context.get("crumb_node")), "access": access, **context,
    }
    return templates.TemplateResponse(request, template, ctx, status_code=status_code)


def render_public(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A sign-in page, with the double-submit CSRF cookie it needs."""
    token = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
    response = templates.TemplateResponse(request, template, {"csrf_token": token, **context}, status_code=status_code)
    response.set_cookie(PRE_COOKIE, token, httponly=True, secure=True, samesite="strict", path=PREFIX)
    return response


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, secure=True, samesite="strict", path=PREFIX)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _wants_html(request: Request) -> bool:
    return "application/json" not in request.headers.get("accept", "")


async def _login_required(request: Request, exc: Exception) -> Response:
    if request.method in SAFE_METHODS:
        response: Response = redirect(f"{PREFIX}/login")
    else:
        response = templates.TemplateResponse(request, "error.html", {"title": "Signed out",
                                              "message": "Your session has ended. Sign in again."}, status_code=401)
    if request.headers.get("HX-Request"):
        response.headers["HX-Redirect"] = f"{PREFIX}/login"
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


async def _denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Denied)
    return templates.TemplateResponse(request, "error.html", {"title": "Not allowed", "message": exc.message}, status_code=403)


def install_console(app: FastAPI) -> None:
    """The console's routes under /console, its static files, and its two error pages."""
    from central_server.console import endpoints

    router = APIRouter(prefix=PREFIX, dependencies=[Depends(enforce_access)], include_in_schema=False)
    endpoints.register(router)
    from central_server.reports import web as reports_web  # the reports area's pages (REPORTS helper)
    reports_web.register(router)
    app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="console-static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Denied, _denied)

"""Rules for people in the console: sign-in (password, TOTP, lockout), browser sessions, users.

Nothing here commits: the request's transaction does. A failed sign-in is not an
exception but a result, so the attempt, the failure count and any significant event it
raises are committed with the answer (a refusal that rolled them back would let an
attacker guess forever).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection

from central_server.admin.service import MIN_PASSWORD_LEN, hash_password, new_password
from central_server.audit.log import Actor, record
from central_server.console import access
from central_server.console import repository as repo
from central_server.errors import Conflict, Forbidden, NotFound
from central_server.sealing import DataKeys
from shared.bodies import check_ref
from shared.entry import utc_timestamp
from shared.errors import ValidationError

MAX_FAILURES = 5  # consecutive failures before the account locks
LOCKOUT_S = 15 * 60
SESSION_IDLE_S = 30 * 60
SESSION_MAX_S = 12 * 3600
PENDING_SECOND_FACTOR_S = 5 * 60  # a password-checked session waits this long for its TOTP code
IP_BURST_WINDOW_S = 10 * 60
IP_BURST_FAILURES = 10  # failures from one address within the window: a significant event
MANY_IPS_WINDOW_S = 24 * 3600
MANY_IPS = 3  # one user signing in from this many addresses within a day: a significant event
TOTP_ISSUER = "cafesuite"
_DUMMY_HASH = PasswordHasher().hash("an unused password that keeps timing equal")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_new_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LEN:
        raise ValidationError(f"a password must be at least {MIN_PASSWORD_LEN} characters")
    if len(password) > 1024:
        raise ValidationError("a password is at most 1024 characters")
    return password


@dataclass(frozen=True)
class Session:
    """A browser session as the console sees it (``id_sha256`` is the key; the token is only in the cookie)."""

    id_sha256: str
    user_id: int
    username: str
    display_name: str
    role: str
    node_id: str
    stage: str
    csrf_token: str
    flash: str | None
    totp_enabled: bool


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in step: a new session token (and its stage), or why not."""

    ok: bool
    message: str = ""
    token: str | None = None
    stage: str | None = None


def load_session(conn: Connection, token: str | None, now_s: int) -> Session | None:
    """The live session for a cookie: not revoked, not idle too long, not too old, user active."""
    if not token or len(token) > 200:
        return None
    row = repo.session_with_user(conn, token_digest(token))
    if row is None or row.revoked_at is not None or not row.active:
        return None
    idle_s = SESSION_IDLE_S if row.stage == "full" else PENDING_SECOND_FACTOR_S
    if now_s > row.expires_at_s or now_s - row.last_seen_s > idle_s:
        return None
    if row.stage == "full" and now_s - row.last_seen_s > 30:
        repo.touch_session(conn, row.id_sha256, now_s)  # at most one write per half-minute per session
    return Session(row.id_sha256, int(row.user_id), row.username, row.display_name, row.role, row.node_id, row.stage,
                   row.csrf_token, row.flash, bool(row.totp_enabled))


def _new_session(conn: Connection, user_id: int, stage: str, *, ip: str, user_agent: str, now_s: int) -> str:
    token = secrets.token_urlsafe(32)
    repo.insert_session(conn, id_sha256=token_digest(token), user_id=user_id, stage=stage, csrf_token=secrets.token_urlsafe(32),
                        ip=ip[:64], user_agent=user_agent[:300], created_at=utc_timestamp(), last_seen_s=now_s,
                        expires_at_s=now_s + SESSION_MAX_S, revoked_at=None, flash=None)
    return token


def sign_in_password(conn: Connection, *, username: str, password: str, ip: str, user_agent: str, now_s: int) -> SignIn:
    """First step: username and password. Same message for an unknown user and a wrong password."""
    username = username.strip()[:128]
    user = repo.user_by_name(conn, username) if username else None
    if user is None:
        verify_password(_DUMMY_HASH, password)  # an unknown name costs the same time as a known one
        _attempt(conn, username or "-", None, ip, ok=False, reason="unknown_user", now_s=now_s)
        return SignIn(False, "Wrong username or password.")
    if not user.active:
        _attempt(conn, username, user.id, ip, ok=False, reason="inactive", now_s=now_s)
        return SignIn(False, "This account is disabled. Ask your administrator.")
    if user.locked_until_s is not None and user.locked_until_s > now_s:
        _attempt(conn, username, user.id, ip, ok=False, reason="locked", now_s=now_s)
        minutes = max(1, (user.locked_until_s - now_s + 59) // 60)
        return SignIn(False, f"Too many failed attempts: this account is locked for {minutes} more minute(s).")
    if not verify_password(user.password_hash, password):
        return _failure(conn, user, ip, "bad_password", now_s)
    if PasswordHasher().check_needs_rehash(user.password_hash):
        repo.update_user(conn, user.id, password_hash=hash_password(password), updated_at=utc_timestamp())
    if user.role in access.TOTP_ROLES:
        stage = "totp" if user.totp_enabled else "enrol"
        return SignIn(True, token=_new_session(conn, user.id, stage, ip=ip, user_agent=user_agent, now_s=now_s), stage=stage)
    return _success(conn, user.id, username, ip, user_agent, now_s)


def _success(conn: Connection, user_id: int, username: str, ip: str, user_agent: str, now_s: int) -> SignIn:
    repo.update_user(conn, user_id, failed_logins=0, locked_until_s=None)
    seen = repo.login_ips_of(conn, user_id, now_s - MANY_IPS_WINDOW_S)
    _attempt(conn, username, user_id, ip, ok=True, reason="ok", now_s=now_s)
    ips = seen | {ip}
    if ip not in seen and len(ips) >= MANY_IPS:
        repo.insert_event(conn, kind="login_many_ips", device_id=None, created_at=utc_timestamp(),
                          detail=f"user {username} signed in from {len(ips)} addresses within a day: {', '.join(sorted(ips))}")
    token = _new_session(conn, user_id, "full", ip=ip, user_agent=user_agent, now_s=now_s)
    node_id = repo.user_node(conn, user_id)
    record(conn, Actor(username, ip, user_id), action="sign_in", target=f"user {username}", node_id=node_id)
    return SignIn(True, token=token, stage="full")


def _failure(conn: Connection, user: object, ip: str, reason: str, now_s: int) -> SignIn:
    user_id: int = user.id  # type: ignore[attr-defined]
    username: str = user.username  # type: ignore[attr-defined]
    failures = repo.count_failure(conn, user_id)
    _attempt(conn, username, user_id, ip, ok=False, reason=reason, now_s=now_s)
    if failures >= MAX_FAILURES:
        repo.update_user(conn, user_id, locked_until_s=now_s + LOCKOUT_S, failed_logins=0)
        repo.insert_event(conn, kind="login_lockout", device_id=None, created_at=utc_timestamp(),
                          detail=f"user {username} locked for {LOCKOUT_S // 60} minutes after {failures} failed sign-ins (last from {ip})")
        return SignIn(False, f"Too many failed attempts: this account is locked for {LOCKOUT_S // 60} minutes.")
    what = "code" if reason == "bad_totp" else "username or password"
    return SignIn(False, f"Wrong {what}.")


def _attempt(conn: Connection, username: str, user_id: int | None, ip: str, *, ok: bool, reason: str, now_s: int) -> None:
    repo.insert_attempt(conn, username=username[:128], user_id=user_id, ip=ip[:64], ok=ok, reason=reason, at=utc_timestamp(), at_s=now_s)
    if not ok and repo.failures_from_ip(conn, ip, now_s - IP_BURST_WINDOW_S) == IP_BURST_FAILURES:
        repo.insert_event(conn, kind="login_failure_burst", device_id=None, created_at=utc_timestamp(),
                          detail=f"{IP_BURST_FAILURES} failed sign-ins from {ip} within {IP_BURST_WINDOW_S // 60} minutes")


# -- second factor ----------------------------------------------------------------------------


def totp_context(user_id: int) -> str:
    """What a user's sealed TOTP secret is bound to (also used by the data key rotation)."""
    return f"admin_users.totp_secret:{user_id}"


def enrolment(conn: Connection, keys: DataKeys, session: Session) -> tuple[str, str]:
    """The secret being enrolled (made once per user until confirmed) and its QR code as inline SVG."""
    user = repo.user(conn, session.user_id)
    assert user is not None
    if user.totp_secret_sealed:
        secret = keys.open(user.totp_secret_sealed, context=totp_context(user.id))
    else:
        secret = pyotp.random_base32()
        repo.update_user(conn, user.id, totp_secret_sealed=keys.seal(secret, context=totp_context(user.id)))
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#1f2937", light="#ffffff", omitsize=False)
    return secret, svg


def second_factor(conn: Connection, keys: DataKeys, session: Session, code: str, *, ip: str, user_agent: str, now_s: int) -> SignIn:
    """Check a TOTP code for a session waiting for it (confirming enrolment the first time).

    A code is accepted once (its time step is remembered), a wrong code counts towards
    the lockout like a wrong password, and success replaces the pending session by a new
    one, so a token seen before the second factor is worth nothing after it.
    """
    if session.stage not in ("totp", "enrol"):
        return SignIn(False, "Nothing to confirm.")
    user = repo.user(conn, session.user_id, for_update=True)
    assert user is not None
    if user.locked_until_s is not None and user.locked_until_s > now_s:
        return SignIn(False, "Too many failed attempts: this account is locked.")
    if not user.totp_secret_sealed:
        return SignIn(False, "Start the enrolment first.")
    totp = pyotp.TOTP(keys.open(user.totp_secret_sealed, context=totp_context(user.id)))
    code = "".join(code.split())
    step = _matching_step(totp, code, now_s)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return _failure(conn, user, ip, "bad_totp", now_s)
    repo.update_user(conn, user.id, totp_last_step=step, totp_enabled=True, updated_at=utc_timestamp())
    repo.revoke_session(conn, session.id_sha256, utc_timestamp())
    if session.stage == "enrol":
        record(conn, Actor(user.username, ip, user.id), action="totp_enrolled", target=f"user {user.username}", node_id=user.node_id)
    return _success(conn, user.id, user.username, ip, user_agent, now_s)


def _matching_step(totp: pyotp.TOTP, code: str, now_s: int) -> int | None:
    """The time step a 6-digit code belongs to (now, or one step either side for clock drift)."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    step_now = now_s // totp.interval
    for step in (step_now - 1, step_now, step_now + 1):
        if secrets.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


# -- sessions ---------------------------------------------------------------------------------


def sign_out(conn: Connection, session: Session, ip: str) -> None:
    repo.revoke_session(conn, session.id_sha256, utc_timestamp())
    record(conn, Actor(session.username, ip, session.user_id), action="sign_out", target=f"user {session.username}",
           node_id=session.node_id)


def sign_out_everywhere(conn: Connection, session: Session, ip: str) -> int:
    count = repo.revoke_sessions_of(conn, session.user_id, utc_timestamp())
    record(conn, Actor(session.username, ip, session.user_id), action="sign_out_everywhere", target=f"user {session.username}",
           node_id=session.node_id, after={"sessions_ended": count})
    return count


def flash(conn: Connection, session: Session, kind: str, message: str) -> None:
    """A message for the next page this session shows (kind: ok or error)."""
    repo.set_flash(conn, session.id_sha256, f"{kind}|{message[:1000]}")


def take_flash(conn: Connection, session: Session) -> tuple[str, str] | None:
    if not session.flash:
        return None
    repo.set_flash(conn, session.id_sha256, None)
    kind, _, message = session.flash.partition("|")
    return kind, message


# -- users ------------------------------------------------------------------------------------


def _user_view(row: object) -> dict[str, object]:
    return {k: getattr(row, k) for k in ("username", "display_name", "role", "node_id", "active", "totp_enabled")}


def create_user(conn: Connection, actor: Actor, *, actor_role: str, node_id: str, username: str, display_name: str, role: str,
                password: str) -> int:
    """A new user at ``node_id`` with a role the actor may grant there."""
    target = repo.node(conn, node_id)
    if target is None:
        raise NotFound(f"there is no node {node_id!r}")
    if role not in access.grantable_roles(actor_role, target.kind):
        allowed = ", ".join(access.ROLE_LABELS[r] for r in access.grantable_roles(actor_role, target.kind)) or "none"
        raise Forbidden(f"you cannot give the role {role!r} at a {target.kind.replace('_', ' ')} (you may give: {allowed})")
    username = check_ref(username.strip(), "username")
    display_name = " ".join(display_name.split())[:200]
    check_new_password(password)
    if repo.user_by_name(conn, username) is not None:
        raise Conflict(f"the username {username!r} is taken")
    now = utc_timestamp()
    user_id = repo.insert_user(conn, username=username, password_hash=hash_password(password), role=role, node_id=node_id,
                               created_at=now, display_name=display_name, active=True, totp_enabled=False, failed_logins=0,
                               updated_at=now)
    record(conn, actor, action="user_created", target=f"user {username}", node_id=node_id,
           after={"username": username, "display_name": display_name, "role": role, "node_id": node_id})
    return user_id


def set_user_active(conn: Connection, actor: Actor, user_id: int, active: bool) -> None:
    """Disable (ending every session) or re-enable a user; nobody disables themself."""
    user = repo.user(conn, user_id)
    if user is None:
        raise NotFound(f"there is no user {user_id}")
    if user_id == actor.user_id and not active:
        raise ValidationError("you cannot disable your own account")
    repo.update_user(conn, user_id, active=active, updated_at=utc_timestamp())
    if not active:
        repo.revoke_sessions_of(conn, user_id, utc_timestamp())
    record(conn, actor, action="user_enabled" if active else "user_disabled", target=f"user {user.username}", node_id=user.node_id,
           before={"active": bool(user.active)}, after={"active": active})


def unlock_user(conn: Connection, actor: Actor, user_id: int) -> None:
    user = repo.user(conn, user_id)
    if user is None:
        raise NotFound(f"there is no user {user_id}")
    repo.update_user(conn, user_id, failed_logins=0, locked_until_s=None, updated_at=utc_timestamp())
    record(conn, actor, action="user_unlocked", target=f"user {user.username}", node_id=user.node_id,
           before={"locked_until_s": user.locked_until_s}, after={"locked_until_s": None})


def reset_totp(conn: Connection, actor: Actor, user_id: int) -> None:
    """Forget a user's second factor (lost phone): they enrol again at their next sign-in."""
    user = repo.user(conn, user_id)
    if user is None:
        raise NotFound(f"there is no user {user_id}")
    repo.update_user(conn, user_id, totp_secret_sealed=None, totp_enabled=False, totp_last_step=None, updated_at=utc_timestamp())
    repo.revoke_sessions_of(conn, user_id, utc_timestamp())
    record(conn, actor, action="totp_reset", target=f"user {user.username}", node_id=user.node_id,
           before={"totp_enabled": bool(user.totp_enabled)}, after={"totp_enabled": False})


def _existing_user(conn: Connection, user_id: int) -> object:
    user = repo.user(conn, user_id, for_update=True)
    if user is None:
        raise NotFound(f"there is no user {user_id}")
    return user


def rename_user(conn: Connection, actor: Actor, user_id: int, display_name: str) -> None:
    """Change a user's display name (the username, which signs in, stays)."""
    user = _existing_user(conn, user_id)
    name = " ".join(display_name.split())
    if not name:
        raise ValidationError("a display name cannot be empty")
    if len(name) > 200:
        raise ValidationError("a display name is at most 200 characters")
    before: str = user.display_name  # type: ignore[attr-defined]
    if name == before:
        raise ValidationError("that is already the display name; nothing was changed")
    repo.update_user(conn, user_id, display_name=name, updated_at=utc_timestamp())
    record(conn, actor, action="user_renamed", target=f"user {user.username}", node_id=user.node_id,  # type: ignore[attr-defined]
           before={"display_name": before}, after={"display_name": name})


def change_role(conn: Connection, actor: Actor, *, actor_role: str, user_id: int, role: str) -> None:
    """Give a user another role at the same node: only one the actor may grant there (as ``create_user``).

    Nobody changes their own role. The user's sessions end, so the new role (and a second
    factor it may require) applies from their next sign-in.
    """
    user = _existing_user(conn, user_id)
    username: str = user.username  # type: ignore[attr-defined]
    node_id: str = user.node_id  # type: ignore[attr-defined]
    before: str = user.role  # type: ignore[attr-defined]
    if user_id == actor.user_id:
        raise Forbidden("you cannot change your own role; ask an administrator above you")
    target = repo.node(conn, node_id)
    assert target is not None  # admin_users.node_id is a foreign key
    grantable = access.grantable_roles(actor_role, target.kind)
    if before not in access.GRANTABLE.get(actor_role, ()):
        raise Forbidden(f"you cannot change {username}: their role ({access.ROLE_LABELS.get(before, before)}) is above what you may grant")
    if role not in grantable:
        allowed = ", ".join(access.ROLE_LABELS[r] for r in grantable) or "none"
        raise Forbidden(f"you cannot give the role {role!r} at a {target.kind.replace('_', ' ')} (you may give: {allowed}); "
                        "nothing was changed")
    if role == before:
        raise ValidationError(f"{username} already has that role; nothing was changed")
    repo.update_user(conn, user_id, role=role, updated_at=utc_timestamp())
    ended = repo.revoke_sessions_of(conn, user_id, utc_timestamp())
    record(conn, actor, action="user_role_changed", target=f"user {username}", node_id=node_id,
           before={"role": before}, after={"role": role, "sessions_ended": ended})


def reset_password(conn: Connection, actor: Actor, user_id: int) -> str:
    """A new random password for a user (returned once, for the admin to hand over; never stored or logged).

    Ends every session of the user and clears a lockout. Nobody resets their own password
    here: that is "Your account", which asks for the current one.
    """
    user = _existing_user(conn, user_id)
    username: str = user.username  # type: ignore[attr-defined]
    if user_id == actor.user_id:
        raise ValidationError("to change your own password use Your account")
    password = check_new_password(new_password())
    repo.update_user(conn, user_id, password_hash=hash_password(password), failed_logins=0, locked_until_s=None,
                     updated_at=utc_timestamp())
    ended = repo.revoke_sessions_of(conn, user_id, utc_timestamp())
    record(conn, actor, action="password_reset", target=f"user {username}", node_id=user.node_id,  # type: ignore[attr-defined]
           before={"locked_until_s": user.locked_until_s},  # type: ignore[attr-defined]
           after={"locked_until_s": None, "sessions_ended": ended})
    return password


def change_password(conn: Connection, session: Session, ip: str, *, current: str, new: str) -> None:
    user = repo.user(conn, session.user_id)
    assert user is not None
    if not verify_password(user.password_hash, current):
        raise ValidationError("the current password is wrong")
    repo.update_user(conn, user.id, password_hash=hash_password(check_new_password(new)), updated_at=utc_timestamp())
    record(conn, Actor(session.username, ip, session.user_id), action="password_changed", target=f"user {session.username}",
           node_id=session.node_id)

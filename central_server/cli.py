"""``cafe central …``: initialise, migrate, serve and check the central server."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from central_server.settings import Settings, load_settings
from shared.errors import CafeError

ADMIN_PASSWORD_ENV = "CAFE_ADMIN_PASSWORD"
VERIFY_PROGRESS_EVERY_S = 5.0


def register(subparsers: Any) -> None:
    central = subparsers.add_parser("central", help="the central ledger server")
    actions = central.add_subparsers(dest="central_command", metavar="ACTION", parser_class=type(central))
    actions.required = True

    def action(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        parser.add_argument("--db", metavar="URL", help="postgresql://… or sqlite:///path (default: SQLite in the data directory)")
        parser.add_argument("--data-dir", type=Path, help="where keys, certificates and the default SQLite file live")
        parser.set_defaults(func=func)
        return parser

    init = action("init", run_init, "create the database, the head-office admin, the signing key and TLS certificates")
    init.add_argument("--admin-username", default="admin")
    action("migrate", run_migrate, "apply the database migrations")
    serve = action("serve", run_serve, "run the HTTPS server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--insecure-http", action="store_true", default=None, help="plain HTTP, for local development only")
    code = action("enroll-code", run_enroll_code, "print a one-time code that enrolls one device at a location")
    code.add_argument("--location", required=True, help="location node id")
    code.add_argument("--role", required=True, choices=("pos", "kiosk"))
    node = action("add-node", run_add_node, "add a master distributor, distributor or location to the hierarchy")
    node.add_argument("--id", required=True, dest="node_id")
    node.add_argument("--kind", required=True, choices=("master_distributor", "distributor", "location"))
    node.add_argument("--parent", default="head-office")
    node.add_argument("--name", default="")
    revoke = action("revoke-device", run_revoke, "refuse every further request of a device at once")
    revoke.add_argument("--device", required=True)
    action("verify", run_verify, "recompute every balance, transaction, device chain and signature; exit 1 on any problem")
    rotate = action("rotate-data-key", run_rotate_data_key, "new data key; reseal every sealed value under it; retire the old key")
    rotate.description = ROTATE_DATA_KEY_DOC
    rotate.add_argument("--batch-rows", type=int, default=500, help="rows per transaction (default 500)")
    register_device_config(action)
    from central_server.games.cli import register_games

    register_games(action)
    from central_server.ops.cli import register_ops

    register_ops(action)
    from central_server.payments.cli import register_payments

    register_payments(action)
    register_console(action)


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return load_settings(db_url=args.db, data_dir=args.data_dir, **extra)


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    """An engine for the command, with database failures turned into one line."""
    from central_server.db import make_engine

    url = settings.database_url
    if url.startswith("sqlite") and settings.db_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url, pool_size=settings.db_pool_size)
    try:
        yield engine
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise CafeError(f"database {_safe_url(url)}: {reason}") from exc
    finally:
        engine.dispose()


@contextmanager
def _transaction(settings: Settings) -> Iterator[Connection]:
    from central_server.migrate import check_at_head

    with _engine(settings) as engine:
        check_at_head(engine)
        with engine.begin() as conn:
            yield conn


def run_migrate(args: argparse.Namespace) -> int:
    from central_server.migrate import current_revision, head_revision, upgrade

    settings = _settings(args)
    with _engine(settings) as engine:
        before = current_revision(engine)
        upgrade(engine)
        print(f"database {_safe_url(settings.database_url)}: schema {before or 'empty'} → {head_revision()}")
    return 0


def run_init(args: argparse.Namespace) -> int:
    from central_server.admin import service as admin
    from central_server.keys import create_keys, load_keys
    from central_server.migrate import upgrade

    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    password = os.environ.get(ADMIN_PASSWORD_ENV)
    generated = not password
    password = password or admin.new_password()
    with _engine(settings) as engine:
        upgrade(engine)
        with engine.begin() as conn:
            admin.init_head_office(conn, admin_username=args.admin_username, password=password)
    create_keys(settings.data_dir)
    keys = load_keys(settings.data_dir)
    print(f"central initialised: database {_safe_url(settings.database_url)}, keys in {settings.data_dir}")
    print(f"CA fingerprint (devices pin this): {keys.ca_fingerprint}")
    if generated:
        print(f"admin user {args.admin_username!r} password (shown once, store it now): {password}")
    else:
        print(f"admin user {args.admin_username!r} password taken from {ADMIN_PASSWORD_ENV}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import gc

    import uvicorn

    from central_server.app import create_app
    from central_server.keys import load_keys
    from central_server.migrate import check_at_head

    settings = _settings(args, host=args.host, port=args.port, insecure_http=args.insecure_http)
    keys = load_keys(settings.data_dir)
    with _engine(settings) as engine:
        check_at_head(engine)
        app = create_app(engine, keys)
        tls: dict[str, Any] = {} if settings.insecure_http else {"ssl_certfile": str(keys.tls_cert), "ssl_keyfile": str(keys.tls_key)}
        scheme = "http" if settings.insecure_http else "https"
        print(f"central serving {scheme}://{settings.host}:{settings.port} (database {_safe_url(settings.database_url)})", file=sys.stderr)
        if settings.insecure_http:
            print("WARNING: plain HTTP; use only for local development", file=sys.stderr)
        from central_server.ops.cli import serving

        with serving(engine, settings.data_dir):  # JSON logs and the scheduled jobs (run once across instances)
            # Everything built to start (modules, routes, models, the scheduler: over 100,000 objects) lives as long as
            # the server; out of the collector's view, a full collection no longer walks it (it was a sixth of parsing).
            gc.freeze()
            uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", **tls)
    return 0


def run_enroll_code(args: argparse.Namespace) -> int:
    from central_server.devices import service

    settings = _settings(args)
    with _transaction(settings) as conn:
        code, expires_at_s = service.create_enroll_code(conn, location_id=args.location, role=args.role, ttl_s=settings.enroll_code_ttl_s)
    expires = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires_at_s))
    print(f"enrollment code for a {args.role} at {args.location} (one use, expires {expires}):")
    print(code)
    return 0


def run_add_node(args: argparse.Namespace) -> int:
    from central_server.admin import service

    with _transaction(_settings(args)) as conn:
        service.add_node(conn, node_id=args.node_id, kind=args.kind, name=args.name, parent_id=args.parent)
    print(f"added {args.kind} {args.node_id} under {args.parent}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from central_server.devices import service

    with _transaction(_settings(args)) as conn:
        service.revoke(conn, args.device)
    print(f"device {args.device} revoked")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from central_server.audit.service import verify

    last = time.monotonic()

    def progress(done: int, total: int) -> None:
        # Verifying a large ledger takes minutes: a line on stderr at most every few seconds, the summary on stdout.
        nonlocal last
        if time.monotonic() - last >= VERIFY_PROGRESS_EVERY_S:
            last = time.monotonic()
            print(f"verify: {done:,} of {total:,} entries checked", file=sys.stderr, flush=True)

    with _transaction(_settings(args)) as conn:
        report = verify(conn, progress)
    print(report.summary())
    return 0 if report.ok else 1


ROTATE_DATA_KEY_DOC = """\
Adds a new AES-256-GCM data key to data_keys.json (the old one stays, to read what it sealed),
reseals every sealed value in the database under it (player personal data, console TOTP
secrets, payment provider credentials) in batches of --batch-rows, one transaction each, then
removes the old key from the file once no value names it. Killed midway, run it again: it
resumes the unfinished rotation (no new key) and skips values already under the new key.
Stop every central server first: a server reads the key file only when it starts.
The blind-index key (phone/name search) does not rotate: indexes are keyed hashes, not
ciphertext, so they stay valid under any data key; rotating it would mean recomputing every
index while searches under the old key stop finding players. Backups made before the rotation
hold values under the old key: keep a copy of the old data_keys.json with them.
"""


def run_rotate_data_key(args: argparse.Namespace) -> int:
    from central_server.migrate import check_at_head
    from central_server.sealing import DataKeys, begin_rotation, reseal_database

    if args.batch_rows < 1:
        raise CafeError(f"--batch-rows must be at least 1, got {args.batch_rows}")
    settings = _settings(args)
    keys = DataKeys.load(settings.data_dir)
    with _engine(settings) as engine:
        check_at_head(engine)  # before a new key is made: a database we cannot use changes nothing
        keys, new = begin_rotation(keys)
        old = ", ".join(sorted(k for k in keys.keys if k != keys.current))
        print(f"new data key {keys.current}; {old} kept for reading until everything is resealed" if new
              else f"resuming the rotation to {keys.current} ({old} still in the key file)")
        result = reseal_database(engine, keys, batch_rows=args.batch_rows)
    if not result.finished:
        print(f"{result.remaining:,} values still under {old} (changed meanwhile?); run rotate-data-key again")
        return 1
    print(f"every sealed value is under {result.current}; retired {', '.join(result.retired) or 'nothing'}")
    return 0


# --- device configuration (issue 4): staff with PINs, limits per node ---

def _checked(rule: str) -> Callable[[str], Any]:
    """An argparse ``type`` from a rule of device_config.service, so bad input is a usage error
    (one line, exit 2); imported only when used, so `cafe journal …` never loads the web stack."""

    def convert(text: str) -> Any:
        from central_server.device_config import service

        try:
            return getattr(service, rule)(text)
        except CafeError as exc:
            raise argparse.ArgumentTypeError(exc.message) from exc

    convert.__name__ = rule  # argparse names the type in its messages
    return convert


def _limit_value(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 16:
        raise argparse.ArgumentTypeError(f"a limit is a whole number (units, seconds or a count), got {text!r}")
    return int(text)


def register_device_config(action: Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]) -> None:
    from shared.device_config import STAFF_ROLES, Limits

    staff = action("add-staff", run_add_staff, "add a cashier, manager, owner or technician with a PIN to a location")
    staff.add_argument("--location", required=True, help="location node id")
    staff.add_argument("--name", required=True, type=_checked("check_staff_name"))
    staff.add_argument("--role", required=True, choices=STAFF_ROLES)
    staff.add_argument("--pin", required=True, type=_checked("check_pin"), help="4 to 8 digits; only its argon2id hash is stored")
    limit = action("set-limit", run_set_limit, "set a limit on a node; locations below it inherit it unless they set their own")
    limit.add_argument("--node", required=True, help="node id (head office, distributor or location)")
    limit.add_argument("name", choices=Limits.names(), metavar="NAME", help=f"one of: {', '.join(Limits.names())}")
    limit.add_argument("value", type=_limit_value, metavar="VALUE", help="whole number (units, seconds, count)")


def run_add_staff(args: argparse.Namespace) -> int:
    from central_server.device_config import service

    with _transaction(_settings(args)) as conn:
        staff_id = service.add_staff(conn, location_id=args.location, name=args.name, role=args.role, pin=args.pin)
    print(staff_id)
    return 0


def run_set_limit(args: argparse.Namespace) -> int:
    from central_server.device_config import service

    with _transaction(_settings(args)) as conn:
        service.set_limit(conn, args.node, args.name, args.value)
    print(f"{args.name} = {args.value} on {args.node}; devices below it get it at their next pull")
    return 0


# -- web console (issue 7) ----------------------------------------------------------------------

USER_PASSWORD_ENV = "CAFE_USER_PASSWORD"


def register_console(action: Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]) -> None:
    from central_server.console.access import ROLES

    user = action("add-user", run_add_user, "add a web console user with a role at one node (password printed once, or CAFE_USER_PASSWORD)")
    user.add_argument("--username", required=True)
    user.add_argument("--role", required=True, choices=ROLES)
    user.add_argument("--node", required=True, help="the node whose subtree the user sees (head-office, a distributor or a location)")
    user.add_argument("--name", default="", help="the person's full name")


def run_add_user(args: argparse.Namespace) -> int:
    import getpass
    import socket

    from central_server.admin.service import new_password
    from central_server.audit.log import Actor
    from central_server.console import service

    password = os.environ.get(USER_PASSWORD_ENV) or new_password()
    actor = Actor(f"cli:{getpass.getuser()}", socket.gethostname())
    with _transaction(_settings(args)) as conn:
        # The command line is head office's own tool: any role at any node, still audited.
        service.create_user(conn, actor, actor_role="head_office_admin", node_id=args.node, username=args.username,
                            display_name=args.name, role=args.role, password=password)
    print(f"user {args.username!r} ({args.role} at {args.node}) added")
    if not os.environ.get(USER_PASSWORD_ENV):
        print(f"password (shown once, store it now): {password}")
    return 0

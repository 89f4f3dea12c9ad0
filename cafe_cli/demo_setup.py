"""The demo's world: a real central on embedded SQLite, seeded through the service functions
central's own commands and console use, and an enrolled POS and kiosk in their own folders.

Layout of the demo folder::

    central/     central's database (central.db), keys and certificates, central.log
    pos/         the POS station (encrypted journal, receipts)
    kiosk/       the kiosk (encrypted journal, tickets)
    screenshots/ what the headless day saw
    demo-keys.cfg  the devices' keys (a file, not the OS keyring: demo keys are throwaway)

Central runs as ``cafe central serve`` in a child process (``sync.sim.runner.CentralProcess``,
the simulator's), so the windows keep their own interpreter to themselves and the headless
day can stop and restart central like a real outage.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from cafe_cli import demo_business as biz
from shared.errors import CafeError
from sync.keystore import KEYRING_FILE_ENV

if TYPE_CHECKING:
    from sync.sim.runner import CentralProcess  # at run time imported where central starts: it pulls in the simulator

Say = Callable[[str], None]
ENROLL_CODE_TTL_S = 3600


@dataclass(frozen=True)
class RegisteredPlayer:
    player: biz.Player
    player_id: str
    card_number: str


@dataclass
class DemoWorld:
    """Everything the demo made, and how to reach it."""

    root: Path
    central_dir: Path
    pos_dir: Path
    kiosk_dir: Path
    screenshots_dir: Path
    db_url: str
    engine: Engine
    central: CentralProcess
    admin_password: str
    owner_password: str
    staff_ids: dict[str, str] = field(default_factory=dict)  # staff name -> id
    players: list[RegisteredPlayer] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.central.url

    @property
    def console_url(self) -> str:
        from central_server.console.web import PREFIX

        return f"{self.url}{PREFIX}/"

    def at_central(self, entry_id: str, player_id: str) -> tuple[int, int]:
        """How many copies of a journal entry central holds, and a player's wallet there (credit units)."""
        from central_server.ledger import repository as ledger_repo
        from central_server.reports import repository as reports_repo
        from shared.ledger import account
        from shared.money import CREDITS

        with self.engine.connect() as conn:
            copies = len(reports_repo.entries_by_id(conn, [entry_id]))
            return copies, ledger_repo.balance(conn, account("wallet", player_id), CREDITS)

    def stop(self) -> None:
        self.central.stop()
        self.engine.dispose()


def prepare_folder(root: Path) -> Path:
    """A fresh demo folder (created, or an existing empty one); anything else is refused in one line."""
    root = root.expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise CafeError(f"--data-dir {root} is a file, not a folder")
    if root.exists() and any(root.iterdir()):
        raise CafeError(f"--data-dir {root} is not empty; the demo starts from a fresh folder (name a new one)")
    root.mkdir(parents=True, exist_ok=True)
    # Device secrets normally live in the OS keyring; the demo's are throwaway, so they stay in its folder.
    os.environ[KEYRING_FILE_ENV] = str(root / "demo-keys.cfg")
    return root


def build_world(root: Path, *, port: int | None, say: Say) -> DemoWorld:
    """Seed central, start it, enroll the two devices and register the players. Stops central on failure."""
    from central_server.admin import service as admin
    from central_server.db import make_engine
    from central_server.keys import create_keys
    from central_server.migrate import upgrade
    from sync.sim.runner import CentralProcess, free_port

    if port is not None:
        _check_port_free(port)
    central_dir, pos_dir, kiosk_dir, shots = (root / name for name in ("central", "pos", "kiosk", "screenshots"))
    for folder in (central_dir, shots):
        folder.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{central_dir / 'central.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    create_keys(central_dir)
    admin_password, owner_password = admin.new_password(), admin.new_password()
    with engine.begin() as conn:
        admin.init_head_office(conn, admin_username="admin", password=admin_password)
    world = DemoWorld(root, central_dir, pos_dir, kiosk_dir, shots, db_url, engine,
                      CentralProcess(central_dir, db_url, port or free_port()), admin_password, owner_password)
    codes = seed_business(world, say)
    say(f"starting central on {world.url} (SQLite {central_dir / 'central.db'})")
    try:
        _start_central(world)
        enroll_devices(world, codes, say)
        register_players(world, say)
    except BaseException:
        world.stop()
        raise
    return world


def _check_port_free(port: int) -> None:
    """Refuse a taken --port before anything is seeded, rather than after central fails to bind it."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise CafeError(f"--port {port} is taken on 127.0.0.1 ({exc.strerror}); name a free one or leave it out") from exc


def _start_central(world: DemoWorld) -> None:
    from sync.sim.runner import SimFailure

    try:
        world.central.start()
    except SimFailure as exc:
        raise CafeError(f"{exc} (is port {world.central.port} free? try --port)") from exc


def restart_central(world: DemoWorld) -> None:
    _start_central(world)


def seed_business(world: DemoWorld, say: Say) -> dict[str, str]:
    """Hierarchy, credits down to the location's float, the owner's console user, staff, games; enroll codes."""
    from central_server.audit.log import Actor
    from central_server.console import credits
    from central_server.console import service as console
    from central_server.device_config.service import add_staff
    from central_server.devices.service import create_enroll_code
    from central_server.games.service import seed_builtin_games
    from central_server.keys import load_keys

    actor = Actor("admin", "127.0.0.1")
    keys = load_keys(world.central_dir)
    with world.engine.begin() as conn:
        credits.set_issuance_limit(conn, actor, biz.HEAD_OFFICE, biz.ISSUANCE_LIMIT_UNITS)
        credits.mint(conn, actor, node_id=biz.HEAD_OFFICE, amount_units=biz.MINT_UNITS, reason="demo: opening issuance")
        for node in biz.NODES:
            credits.create_node(conn, actor, parent_id=node.parent_id, node_id=node.node_id, kind=node.kind, name=node.name,
                                currency=biz.CURRENCY)
            credits.set_credit_line(conn, actor, node.node_id, node.credit_line_units)
            credits.sell(conn, actor, from_node_id=node.parent_id, to_node_id=node.node_id, amount_units=node.buys_units,
                         price_per_credit_units=node.price_per_credit_units)
        console.create_user(conn, actor, actor_role="head_office_admin", node_id=biz.LOCATION_ID, username=biz.OWNER_USERNAME,
                            display_name=biz.OWNER_DISPLAY, role="location_owner", password=world.owner_password)
        for member in biz.STAFF:
            world.staff_ids[member.name] = add_staff(conn, location_id=biz.LOCATION_ID, name=member.name, role=member.role,
                                                     pin=member.pin)
        games = seed_builtin_games(conn, keys.signing_key)
        codes = {role: create_enroll_code(conn, location_id=biz.LOCATION_ID, role=role, ttl_s=ENROLL_CODE_TTL_S)[0]
                 for role in ("pos", "kiosk")}
    chain = " → ".join(["Head office", *(n.name for n in biz.NODES)])
    say(f"seeded {chain}; minted {biz.MINT_UNITS // 100:,} credits, {biz.NODES[-1].buys_units // 100:,} reached the "
        f"location's float; {len(biz.STAFF)} staff; games: {', '.join(g.game_id for g in games) or 'already published'}")
    return codes


def enroll_devices(world: DemoWorld, codes: dict[str, str], say: Say) -> None:
    from central_server.keys import load_keys
    from sync.enrollment import enroll

    fingerprint = load_keys(world.central_dir).ca_fingerprint
    enroll(world.pos_dir, world.url, codes["pos"], "pos", expected_ca_fingerprint=fingerprint)
    enroll(world.kiosk_dir, world.url, codes["kiosk"], "kiosk", expected_ca_fingerprint=fingerprint)
    say(f"enrolled a POS ({world.pos_dir}) and a kiosk ({world.kiosk_dir}) with one-time codes, CA {fingerprint[:16]}…")


def register_players(world: DemoWorld, say: Say) -> None:
    """Players sign up at the counter: the POS's own registration call (age gate, sealed personal data, PIN)."""
    from pos_app.receipts import ReceiptPrinter
    from pos_app.service import PosService

    service = PosService(world.pos_dir, printer=ReceiptPrinter("dummy", world.pos_dir))
    service.open()
    try:
        for person in biz.PLAYERS:
            registered = service.register_player(full_name=person.full_name, date_of_birth=person.date_of_birth,
                                                 phone=person.phone, id_number=person.id_number, pin=person.pin)
            world.players.append(RegisteredPlayer(person, registered.player_id, registered.card_number))
    finally:
        service.close()
    say(f"registered {len(world.players)} players at the counter (name, birth date and phone sealed at rest)")

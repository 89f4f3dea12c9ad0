"""The fleet simulator's imperative shell: a real central process and real devices.

* Central is ``cafe central serve`` in a subprocess on a fixed port, so it can be
  SIGKILLed and started again on the same port and database.
* Each device has its own data folder, enrolled through ``sync.enrollment.enroll``, a
  real SQLCipher ``Journal`` and a ``SyncEngine`` whose ``CentralClient`` talks through
  ``FaultyTransport`` (seeded per device by the plan).
* A device "killed mid-write" is simulated in process: its journal, client and engine
  objects are dropped without any orderly shutdown (no final push, no flush beyond what
  ``append`` already made durable) and the device is started again from its data
  folder; the push cursor then comes back from the journal's acknowledgement marker.
  (A real SIGKILL of the writer is covered by tests/test_journal_crash.py.)
* Ops run one after another in plan order, so a seed replays the same schedule.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import zlib
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from central_server.admin import service as admin
from central_server.db import make_engine
from central_server.devices import service as devices_service
from central_server.keys import create_keys, load_keys
from central_server.migrate import upgrade
from shared.bodies import (
    Body,
    CashCount,
    GameRound,
    Redemption,
    Sale,
    SessionCheckin,
    SessionCheckout,
    ShiftClose,
    ShiftOpen,
    Void,
    VoucherIssue,
    VoucherRedemption,
    ticket_bearer,
)
from shared.entry import JournalEntry
from shared.ids import new_id
from shared.protocol import CHECKOUT_PATH, PLAYERS_PATH, TICKET_IN_PATH, VOUCHER_REDEEM_PATH
from sync.backoff import Backoff
from sync.central_client import CentralClient, CentralRefused, Offline, tls_verify
from sync.engine import SyncEngine
from sync.enrollment import DeviceIdentity, enroll
from sync.faults import FaultyTransport
from sync.journal import Journal
from sync.keystore import KEYRING_FILE_ENV, KeyStore
from sync.sim.checks import CheckReport, check_fleet
from sync.sim.plan import BUSINESS_KINDS, Op, PlanConfig, iter_plan

LOCATION = "sim-cafe"
CURRENCY = "USD"
FAULT_RATE = 0.1
CENTRAL_START_TIMEOUT_S = 60.0
ONLINE_ATTEMPTS = 60       # one online call: retries across faults (central is up when the plan calls)
DRAIN_ATTEMPTS = 200       # one push barrier: runs of push_pending until the outbox is empty
RETRY_PAUSE_S = 0.02
RECENT_SALES = 64          # per POS: sale entries kept for voids (the plan voids one of the last 20)
RETRYABLE_CODES = frozenset({"replayed_nonce", "checkout_conflict"})


class SimFailure(Exception):
    """The simulation could not do what the plan says (central unreachable for too long …)."""


@dataclass
class SimResult:
    seed: int
    devices: int
    ops: int
    business_ops: int
    entries: int
    lost: int
    duplicated: int
    violations: list[str]
    faults: dict[str, int]
    duration_s: float
    ops_per_s: float
    snapshots: int
    db: str
    op_kinds: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "ops": self.ops, "business_ops": self.business_ops, "entries": self.entries, "lost": self.lost,
            "duplicated": self.duplicated, "violations": self.violations, "seed": self.seed, "devices": self.devices,
            "faults": self.faults, "duration_s": round(self.duration_s, 2), "ops_per_s": round(self.ops_per_s, 1),
            "snapshots": self.snapshots, "db": self.db, "op_kinds": self.op_kinds,
        }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The child asks Linux to SIGKILL it when its parent dies (PR_SET_PDEATHSIG = 1), so a demo or
# simulator that is itself killed leaves no central behind holding the port; it exits at once if
# the parent is already gone. Done in the child because preexec_fn is unsafe with threads.
CHILD_PROLOGUE = (
    "import os, sys\n"
    "if sys.platform.startswith('linux'):\n"
    "    import ctypes, signal\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))\n"
    "    if os.getppid() != {parent}: sys.exit(1)\n"
    "from cafe_cli.main import main\n"
    "sys.exit(main())\n"
)


class CentralProcess:
    """``cafe central serve`` as a child process that can be SIGKILLed and started again."""

    def __init__(self, data_dir: Path, db_url: str, port: int):
        self.data_dir = data_dir
        self.db_url = db_url
        self.port = port
        self.url = f"https://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.starts = 0

    def start(self) -> None:
        assert self.process is None, "central is already running"
        log = open(self.data_dir / "central.log", "ab")  # noqa: SIM115 - the child owns it while it runs
        command = [sys.executable, "-c", CHILD_PROLOGUE.format(parent=os.getpid()),
                   "central", "serve", "--db", self.db_url, "--data-dir", str(self.data_dir),
                   "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        self.starts += 1
        context = ssl.create_default_context(cafile=str(self.data_dir / "ca_cert.pem"))
        deadline = time.monotonic() + CENTRAL_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SimFailure(f"central exited with {self.process.returncode}; see {self.data_dir / 'central.log'}")
            try:
                if httpx.get(self.url + "/readyz", verify=context, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise SimFailure(f"central did not become ready in {CENTRAL_START_TIMEOUT_S:.0f} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, open transactions die with the process."""
        assert self.process is not None, "central is not running"
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None
        self.kills += 1

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        self.process = None


class SimDevice:
    """One POS or kiosk: its data folder, journal, sync engine and faulty link to central."""

    def __init__(self, index: int, role: str, data_dir: Path, identity: DeviceIdentity, faults: frozenset[str], fault_seed: int):
        self.index = index
        self.role = role
        self.data_dir = data_dir
        self.identity = identity
        self.device_id = identity.device_id
        self._faults = faults
        self._fault_seed = fault_seed
        self.incarnation = 0
        self.fault_totals: Counter[str] = Counter()
        self.recent_sales: OrderedDict[int, JournalEntry] = OrderedDict()
        self.shift_ids: dict[int, str] = {}
        self.journal: Journal
        self.client: CentralClient
        self.engine: SyncEngine
        self.transport: FaultyTransport
        self._open()

    def _open(self) -> None:
        keystore = KeyStore(self.data_dir)
        key = keystore.device_key()
        self.journal = Journal.open(self.data_dir, keystore)
        inner = httpx.HTTPTransport(verify=tls_verify(str(self.data_dir / "central-ca.pem")))
        # Each incarnation gets its own stream, fixed by the plan's seed and how often it restarted.
        self.transport = FaultyTransport(inner, self._faults, seed=self._fault_seed + self.incarnation, rate=FAULT_RATE)
        self.client = CentralClient(self.identity.central_url, self.device_id, key, transport=self.transport, timeout_s=5.0)
        self.engine = SyncEngine(self.journal, self.client, key, backoff=Backoff(base_s=0.01, cap_s=0.2))

    def _collect_faults(self) -> None:
        self.fault_totals.update({k: v for k, v in self.transport.counts.by_fault.items() if v})

    def crash_and_restart(self) -> None:
        """Drop everything in memory, as a killed process would, and start again from disk."""
        self._collect_faults()
        self.client.close()
        self.journal.close()
        self.incarnation += 1
        self._open()

    def close(self) -> None:
        self._collect_faults()
        self.client.close()
        self.journal.close()

    def append(self, body: Body, **kwargs: Any) -> JournalEntry:
        return self.journal.append(body, actor=f"{self.role}-user-{self.index}", **kwargs)


class Simulation:
    def __init__(self, config: PlanConfig, work_dir: Path, db_url: str | None = None, log: Any = None):
        self.config = config
        self.work_dir = work_dir
        self.db_url = db_url or f"sqlite:///{work_dir / 'central' / 'central.db'}"
        self.central_dir = work_dir / "central"
        self.log = log
        self.devices: list[SimDevice] = []
        self.players: list[str] = []
        self.engine: Engine | None = None
        self.central: CentralProcess | None = None
        self.op_kinds: Counter[str] = Counter()
        self.violations: list[str] = []
        self.snapshots = 0
        self.offline_pushes_refused = 0

    def _say(self, message: str) -> None:
        if self.log is not None:
            print(message, file=self.log, flush=True)

    # -- setup ------------------------------------------------------------------------

    def setup(self) -> None:
        if not os.environ.get(KEYRING_FILE_ENV):
            # The simulated devices' keys are throwaway: keep them in a file in the work folder, said explicitly.
            os.environ[KEYRING_FILE_ENV] = str(self.work_dir / "sim-keys.cfg")
        self.central_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(self.db_url)
        self.engine = engine
        upgrade(engine)
        with engine.begin() as conn:
            admin.init_head_office(conn, admin_username="admin", password=admin.new_password())
            admin.add_node(conn, node_id=LOCATION, kind="location", name="Simulated cafe", parent_id=admin.HEAD_OFFICE_ID)
        create_keys(self.central_dir)
        fingerprint = load_keys(self.central_dir).ca_fingerprint
        codes: list[str] = []
        with engine.begin() as conn:
            for index in range(self.config.devices):
                code, _ = devices_service.create_enroll_code(conn, location_id=LOCATION, role=self.config.role(index), ttl_s=3600)
                codes.append(code)
        self.central = CentralProcess(self.central_dir, self.db_url, free_port())
        self.central.start()
        for index, code in enumerate(codes):
            data_dir = self.work_dir / f"device-{index:03d}"
            role = self.config.role(index)
            identity = enroll(data_dir, self.central.url, code, role, expected_ca_fingerprint=fingerprint)  # type: ignore[arg-type]
            self.devices.append(SimDevice(index, role, data_dir, identity, self.config.network_faults(),
                                          self.config.fault_seed(index)))
        self._register_players()
        self._say(f"central on {self.central.url} ({self.db_url.split('://')[0]}), "
                  f"{len(self.devices)} devices, {len(self.players)} players")

    def _register_players(self) -> None:
        """Players sign up at the counter before anything happens (through a clean link: setup, not the test)."""
        first = self.devices[0]
        key = KeyStore(first.data_dir).device_key()
        client = CentralClient(first.identity.central_url, first.device_id, key,
                               verify=str(first.data_dir / "central-ca.pem"))
        try:
            for number in range(self.config.player_count):
                body = client.request("POST", PLAYERS_PATH, {"card_number": f"SIM{number:07d}", "display_name": f"Player {number}"})
                self.players.append(str(body["player_id"]))
        finally:
            client.close()

    # -- running ----------------------------------------------------------------------

    def run(self) -> SimResult:
        started = time.monotonic()
        total_ops = 0
        business = 0
        report = CheckReport()
        try:
            self.setup()
            for op in iter_plan(self.config):
                total_ops += 1
                self.op_kinds[op.kind] += 1
                if op.kind in BUSINESS_KINDS:
                    business += 1
                try:
                    self._do(op)
                except SimFailure as exc:
                    self.violations.append(f"op {op.index} {op.kind} on device {op.device}: {exc}")
                    break
                if self.log is not None and business and business % 1000 == 0 and op.kind in BUSINESS_KINDS:
                    rate = business / (time.monotonic() - started)
                    self._say(f"{business} ops, {rate:.0f} ops/s")
            report = self._final_check()
        finally:
            for device in self.devices:
                device.close()
            if self.central is not None:
                self.central.stop()
            if self.engine is not None:
                self.engine.dispose()
        duration = time.monotonic() - started
        faults: Counter[str] = Counter()
        for device in self.devices:
            faults.update(device.fault_totals)
        if self.central is not None:
            faults["kill_central"] = self.central.kills
        faults["kill_device"] = self.op_kinds.get("kill_device", 0)
        return SimResult(
            seed=self.config.seed, devices=self.config.devices, ops=total_ops, business_ops=business,
            entries=report.entries, lost=report.lost, duplicated=report.duplicated,
            violations=self.violations + report.all_violations(), faults=dict(sorted(faults.items())),
            duration_s=duration, ops_per_s=business / duration if duration else 0.0, snapshots=self.snapshots,
            db=self.db_url.split("://")[0].split("+")[0], op_kinds=dict(sorted(self.op_kinds.items())),
        )

    def _final_check(self) -> CheckReport:
        assert self.central is not None
        if self.central.process is None:
            self.central.start()
        self._drain_all()
        return self._check()

    def _check(self) -> CheckReport:
        assert self.engine is not None
        return check_fleet(self.engine, [(d.role, d.journal) for d in self.devices])

    def _drain_all(self) -> None:
        for device in self.devices:
            self._drain(device)

    def _drain(self, device: SimDevice) -> None:
        for attempt in range(DRAIN_ATTEMPTS):
            status = device.engine.push_pending()
            if status.quarantined:
                raise SimFailure(f"{device.device_id} was quarantined: {status.last_error}")
            if device.journal.pending_count() == 0:
                return
            time.sleep(RETRY_PAUSE_S * min(attempt, 10))
        raise SimFailure(f"{device.device_id} could not drain its outbox in {DRAIN_ATTEMPTS} attempts")

    def _online(self, device: SimDevice, method: str, path: str, payload: Any = None) -> Any:
        """One online call the way a device makes it: retried with the same request id until answered."""
        last = ""
        for attempt in range(ONLINE_ATTEMPTS):
            try:
                return device.client.request(method, path, payload)
            except Offline as exc:
                last = exc.message
            except CentralRefused as exc:
                if exc.code not in RETRYABLE_CODES and (exc.http_status or 0) < 500:
                    raise SimFailure(f"central refused {method} {path}: {exc.code}: {exc.message}") from exc
                last = exc.message
            time.sleep(RETRY_PAUSE_S * min(attempt, 10))
        raise SimFailure(f"{method} {path} got no answer in {ONLINE_ATTEMPTS} attempts: {last}")

    def _do(self, op: Op) -> None:
        kind = op.kind
        if kind == "kill_central":
            assert self.central is not None
            self.central.kill()
        elif kind == "restart_central":
            assert self.central is not None
            self.central.start()
        elif kind == "snapshot":
            self._drain_all()
            report = self._check()
            self.snapshots += 1
            self.violations += [f"snapshot {self.snapshots}: {v}" for v in report.all_violations()]
            if report.lost or report.duplicated:
                self.violations.append(f"snapshot {self.snapshots}: lost {report.lost}, duplicated {report.duplicated}")
        elif kind == "push":
            self._drain(self.devices[op.device])
        elif kind == "push_offline":
            status = self.devices[op.device].engine.push_pending()
            if status.online and self.devices[op.device].journal.pending_count():
                raise SimFailure("a push while central is dead claimed to be online with entries left")
            self.offline_pushes_refused += not status.online
        elif kind == "kill_device":
            self.devices[op.device].crash_and_restart()
        else:
            device = self.devices[op.device]
            if device.role == "pos":
                self._pos(device, op)
            else:
                self._kiosk(device, op)

    def _shift_id(self, device: SimDevice, shift: int) -> str:
        return f"sh-{device.index}-{shift}"

    def _pos(self, device: SimDevice, op: Op) -> None:
        a = op.args
        where = {"location_id": LOCATION, "pos_id": device.device_id}
        if op.kind == "shift_open":
            units = a["float_units"]
            device.append(ShiftOpen(shift_id=self._shift_id(device, a["shift"]), cashier_id=f"cashier-{device.index}",
                                    float_units=units, currency=CURRENCY, denominations={"100": units // 100}, **where))
            device.recent_sales.clear()
        elif op.kind == "sale":
            entry = device.append(Sale(player_id=self.players[a["player"]], shift_id=self._shift_id(device, a["shift"]),
                                       amount_units=a["amount_units"], cash_units=a["amount_units"], currency=CURRENCY, **where))
            device.recent_sales[op.index] = entry
            while len(device.recent_sales) > RECENT_SALES:
                device.recent_sales.popitem(last=False)
        elif op.kind == "redemption":
            player_id = self.players[a["player"]]
            # Wallet redemptions need central (DESIGN §5): look the wallet up first.
            seen = self._online(device, "GET", f"{PLAYERS_PATH}/{player_id}")
            if int(seen["balance_units"]) < a["amount_units"]:
                raise SimFailure(f"central's wallet of {player_id} holds {seen['balance_units']}, "
                                 f"less than the {a['amount_units']} the plan knows it was given")
            device.append(Redemption(player_id=player_id, shift_id=self._shift_id(device, a["shift"]),
                                     amount_units=a["amount_units"], cash_units=a["amount_units"], currency=CURRENCY, **where))
        elif op.kind == "void_sale":
            original = device.recent_sales.pop(a["sale_op"], None)
            if original is None:
                raise SimFailure(f"the sale of op {a['sale_op']} to void is not among this POS's recent sales")
            device.append(Void(reverses_entry_id=original.id, reason="sold to the wrong card", approver="manager-1"),
                          postings=[p.reversed() for p in original.postings])
        elif op.kind == "voucher_redeem":
            voucher_id = a["voucher_id"]
            answer = self._online(device, "POST", VOUCHER_REDEEM_PATH, {"request_id": f"r-{voucher_id}", "voucher_id": voucher_id})
            if int(answer["amount_units"]) != a["amount_units"]:
                raise SimFailure(f"central says voucher {voucher_id} is for {answer['amount_units']}, not {a['amount_units']}")
            device.append(VoucherRedemption(voucher_id=voucher_id, shift_id=self._shift_id(device, a["shift"]),
                                            amount_units=a["amount_units"], cash_units=a["amount_units"], currency=CURRENCY, **where))
        elif op.kind == "cash_count":
            units = a["counted_units"]
            device.append(CashCount(shift_id=self._shift_id(device, a["shift"]), pos_id=device.device_id, counted_units=units,
                                    currency=CURRENCY, denominations={"1": units} if units else {}))
        elif op.kind == "shift_close":
            counted, expected = a["counted_units"], a["expected_units"]
            device.append(ShiftClose(shift_id=self._shift_id(device, a["shift"]), expected_units=expected, counted_units=counted,
                                     currency=CURRENCY, denominations={"1": counted} if counted else {},
                                     approver="manager-1" if counted != expected else None, **where))
        else:
            raise SimFailure(f"a POS cannot do {op.kind}")

    def _kiosk(self, device: SimDevice, op: Op) -> None:
        a = op.args
        where = {"kiosk_id": device.device_id, "location_id": LOCATION}
        if op.kind == "checkout":
            player_id = self.players[a["player"]]
            answer = self._online(device, "POST", CHECKOUT_PATH, {
                "request_id": f"c-{a['session_id']}", "session_id": a["session_id"], "player_id": player_id,
                "amount_units": a["amount_units"],
            })
            if int(answer["amount_units"]) != a["amount_units"]:
                raise SimFailure(f"central checked out {answer['amount_units']}, not {a['amount_units']}")
            device.append(SessionCheckout(session_id=a["session_id"], player_id=player_id, amount_units=a["amount_units"], **where))
        elif op.kind == "ticket_in":
            # As the kiosk does (decision 0007): the request id is the id of the checkout entry journaled after.
            voucher_id, request_id = a["voucher_id"], new_id()
            answer = self._online(device, "POST", TICKET_IN_PATH, {
                "request_id": request_id, "session_id": a["session_id"], "voucher_id": voucher_id,
            })
            if int(answer["amount_units"]) != a["amount_units"]:
                raise SimFailure(f"central took {answer['amount_units']} in from voucher {voucher_id}, not {a['amount_units']}")
            device.append(SessionCheckout(session_id=a["session_id"], player_id=ticket_bearer(voucher_id),
                                          amount_units=a["amount_units"], voucher_id=voucher_id, **where), entry_id=request_id)
        elif op.kind == "round":
            device.append(GameRound(session_id=a["session_id"], kiosk_id=device.device_id, location_id=LOCATION,
                                    game_id="sim-reels", game_version="1", round_no=a["round_no"], bet_units=a["bet_units"],
                                    win_units=a["win_units"], outcome={"multiplier_x": a["win_units"] // a["bet_units"]}))
        elif op.kind == "checkin":
            if a["amount_units"] > 0:  # an empty escrow just ends the session
                device.append(SessionCheckin(session_id=a["session_id"], player_id=self.players[a["player"]],
                                             amount_units=a["amount_units"], **where))
        elif op.kind == "voucher_issue":
            number = str(zlib.crc32(a["voucher_id"].encode())).zfill(10)
            device.append(VoucherIssue(voucher_id=a["voucher_id"], session_id=a["session_id"], amount_units=a["amount_units"],
                                       validation_number=number, **where))
        else:
            raise SimFailure(f"a kiosk cannot do {op.kind}")


def run_simulation(config: PlanConfig, work_dir: Path, db_url: str | None = None, log: Any = None) -> SimResult:
    work_dir.mkdir(parents=True, exist_ok=True)
    return Simulation(config, work_dir, db_url, log).run()


def result_line(result: SimResult) -> str:
    return json.dumps(result.to_json(), sort_keys=True)

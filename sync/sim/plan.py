"""The fleet simulator's schedule: a pure, seeded stream of operations and faults.

A small world model keeps the *true* state of the cafe (who holds what, which shift is
open, which voucher is printed) so the plan only issues what a real cashier or kiosk
could do:

* a wallet is debited (redemption, void of a sale, kiosk checkout) only from credits
  central is known to hold: the credits of entries that reached central at a ``push``
  barrier, minus every debit already issued. Central may hold more (entries pushed in
  the background), never less, so no wallet can go below zero there whatever the order
  in which the devices' entries arrive;
* a kiosk session starts with an online checkout (only while central is up), and every
  round is bounded by the session's escrow;
* a voucher is redeemed once, online, after the kiosk that printed it pushed it: paid
  out at a POS, or taken into a new session at a kiosk (ticket in), never both; a ticket
  session has no wallet behind it, so it ends with a new ticket (or nothing left);
* cash paid out of a drawer never exceeds the cash in it.

The same ``PlanConfig`` gives the same ops, in the same order, with the same faults:
``iter_plan`` is a generator (a million ops never sit in memory) and depends on nothing
but its config.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sync.faults import FAULTS

SIM_FAULTS = (*FAULTS, "kill_central", "kill_device")
"""Network faults of ``sync.faults`` plus the two kinds of crash the simulator causes."""

BUSINESS_KINDS = frozenset({
    "shift_open", "sale", "redemption", "void_sale", "voucher_redeem", "cash_count", "shift_close",
    "checkout", "ticket_in", "round", "checkin", "voucher_issue",
})
ONLINE_KINDS = frozenset({"checkout", "ticket_in", "voucher_redeem", "redemption", "push"})
"""Ops that need central up (a redemption looks the wallet up first; a push drains the outbox)."""

OPENING_FLOAT_UNITS = 20_000
BETS_UNITS = (25, 50, 100, 200)
MAX_ROUNDS_PER_SESSION = 60   # bounds a session: then the kiosk cashes out
CENTRAL_DOWN_OPS = (20, 120)  # how long (in ops) central stays dead after a SIGKILL
PUSH_RATE = 0.12              # chance per op that the acting device drains its outbox
OFFLINE_PUSH_RATE = 0.05      # while central is down: an attempt that must fail cleanly
TICKET_IN_RATE = 0.3          # chance that an idle kiosk's next player brings a printed ticket, when one is out
TICKET_BEARER = -1            # the "player" of a ticket-in session: whoever holds the ticket, no wallet


def parse_sim_faults(text: str) -> frozenset[str]:
    """``all``, ``none`` or a comma list of :data:`SIM_FAULTS`; unknown names are refused."""
    text = text.strip()
    if text in ("", "none"):
        return frozenset()
    if text == "all":
        return frozenset(SIM_FAULTS)
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = names - set(SIM_FAULTS)
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(sorted(unknown))}; choose from {', '.join(SIM_FAULTS)} or all")
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class PlanConfig:
    devices: int
    ops: int
    seed: int
    faults: frozenset[str] = frozenset()
    players: int = 0            # 0: two per device
    snapshots: int = 2          # checks during the run, besides the final one

    def __post_init__(self) -> None:
        if self.devices < 2:
            raise ValueError("the simulator needs at least 2 devices (a POS and a kiosk)")
        if self.ops < 1:
            raise ValueError("the simulator needs at least 1 operation")

    @property
    def pos_count(self) -> int:
        return max(1, self.devices * 2 // 5)

    @property
    def player_count(self) -> int:
        return self.players or 2 * self.devices

    def role(self, device: int) -> str:
        return "pos" if device < self.pos_count else "kiosk"

    def network_faults(self) -> frozenset[str]:
        return self.faults & frozenset(FAULTS)

    def fault_seed(self, device: int) -> int:
        """The seed of one device's fault layer: part of the schedule, fixed by the plan's seed."""
        return random.Random(f"{self.seed}:faults:{device}").getrandbits(63)


@dataclass(frozen=True, slots=True)
class Op:
    """One step: ``kind`` done by ``device`` (-1 for central or the whole fleet)."""

    index: int
    kind: str
    device: int
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Pos:
    shift_no: int = 0
    shift_open: bool = False
    drawer_units: int = 0
    voidable: list[tuple[int, int, int]] = field(default_factory=list)  # (op index, player, amount)


@dataclass
class _Session:
    session_id: str
    player: int                # TICKET_BEARER for a ticket-in session
    escrow_units: int
    rounds: int = 0


@dataclass
class _Kiosk:
    session_no: int = 0
    voucher_no: int = 0
    session: _Session | None = None


@dataclass
class _World:
    """The true state the plan keeps to issue only possible operations."""

    config: PlanConfig
    settled: list[int]                       # per player: credits central is known to hold
    debited: list[int]                       # per player: every debit issued so far
    pending: dict[int, list[tuple[int, int]]]  # per device: (player, credits) not yet pushed
    pos: dict[int, _Pos]
    kiosks: dict[int, _Kiosk]
    vouchers_pending: dict[int, list[tuple[str, int]]]  # per kiosk: printed, not yet pushed
    vouchers_ready: list[tuple[str, int]] = field(default_factory=list)
    central_up: bool = True
    central_back_at: int = 0

    def available(self, player: int) -> int:
        return self.settled[player] - self.debited[player]

    def credit(self, device: int, player: int, units: int) -> None:
        self.pending[device].append((player, units))

    def pushed(self, device: int) -> None:
        for player, units in self.pending[device]:
            self.settled[player] += units
        self.pending[device].clear()
        if device in self.vouchers_pending:
            self.vouchers_ready.extend(self.vouchers_pending[device])
            self.vouchers_pending[device].clear()


def iter_plan(config: PlanConfig) -> Iterator[Op]:
    """Every op of the run, in order: ``config.ops`` business ops plus pushes, crashes, snapshots."""
    rng = random.Random(f"cafesuite-sim:{config.seed}")
    world = _World(
        config=config, settled=[0] * config.player_count, debited=[0] * config.player_count,
        pending={d: [] for d in range(config.devices)},
        pos={d: _Pos() for d in range(config.pos_count)},
        kiosks={d: _Kiosk() for d in range(config.pos_count, config.devices)},
        vouchers_pending={d: [] for d in range(config.pos_count, config.devices)},
    )
    kill_central_at: set[int] = set()
    if "kill_central" in config.faults:
        # At least two kills in any run (when there are ops enough), one per 2,000 ops in a long one.
        kills = min(config.ops, max(2, config.ops // 2000))
        kill_central_at = set(rng.sample(range(config.ops), kills))
    kill_device_rate = (max(config.devices, config.ops // 300) / config.ops) if "kill_device" in config.faults else 0.0
    snapshot_every = config.ops // (config.snapshots + 1) if config.snapshots else 0
    next_snapshot = snapshot_every or config.ops + 1
    snapshots_left = config.snapshots
    index = 0
    for business in range(config.ops):  # each pass emits exactly one business op
        if not world.central_up and index >= world.central_back_at:
            world.central_up = True
            yield Op(index, "restart_central", -1)
            index += 1
        if world.central_up and business >= next_snapshot and snapshots_left:
            next_snapshot += snapshot_every
            snapshots_left -= 1
            yield Op(index, "snapshot", -1)
            index += 1
            for device in range(config.devices):
                world.pushed(device)  # a snapshot drains every device first
        if world.central_up and business in kill_central_at:
            world.central_up = False
            world.central_back_at = index + 1 + rng.randint(*CENTRAL_DOWN_OPS)
            yield Op(index, "kill_central", -1)
            index += 1
        device = rng.randrange(config.devices)
        if rng.random() < kill_device_rate:
            yield Op(index, "kill_device", device)
            index += 1
        op = _business_op(rng, world, device, index)
        yield op
        index += 1
        if world.central_up and rng.random() < PUSH_RATE:
            yield Op(index, "push", device)
            index += 1
            world.pushed(device)
        elif not world.central_up and rng.random() < OFFLINE_PUSH_RATE:
            yield Op(index, "push_offline", device)
            index += 1
    if not world.central_up:
        yield Op(index, "restart_central", -1)


def _business_op(rng: random.Random, world: _World, device: int, index: int) -> Op:
    if device in world.pos:
        return _pos_op(rng, world, device, world.pos[device], index)
    return _kiosk_op(rng, world, device, world.kiosks[device], index)


def _pos_op(rng: random.Random, world: _World, device: int, pos: _Pos, index: int) -> Op:
    if not pos.shift_open:
        pos.shift_no += 1
        pos.shift_open = True
        pos.drawer_units = OPENING_FLOAT_UNITS
        pos.voidable.clear()
        return Op(index, "shift_open", device, {"shift": pos.shift_no, "float_units": OPENING_FLOAT_UNITS})
    shift = pos.shift_no
    roll = rng.random()
    if roll < 0.02:
        counted = max(0, pos.drawer_units + rng.choice((0, 0, 0, -100, 100)))
        expected = pos.drawer_units
        pos.shift_open = False
        pos.drawer_units = 0
        return Op(index, "shift_close", device, {"shift": shift, "expected_units": expected, "counted_units": counted})
    if roll < 0.04:
        return Op(index, "cash_count", device, {"shift": shift, "counted_units": pos.drawer_units})
    player = rng.randrange(world.config.player_count)
    if roll < 0.12 and world.central_up:
        amount = min(world.available(player), pos.drawer_units, rng.randrange(1, 31) * 100)
        if amount > 0:
            world.debited[player] += amount
            pos.drawer_units -= amount
            return Op(index, "redemption", device, {"shift": shift, "player": player, "amount_units": amount})
    if roll < 0.16 and pos.voidable:
        sale_index, sale_player, amount = pos.voidable[-1]
        if world.available(sale_player) >= amount and pos.drawer_units >= amount:
            pos.voidable.pop()
            world.debited[sale_player] += amount
            pos.drawer_units -= amount
            return Op(index, "void_sale", device, {"sale_op": sale_index, "player": sale_player, "amount_units": amount})
    if roll < 0.22 and world.central_up and world.vouchers_ready:
        voucher_id, amount = world.vouchers_ready[rng.randrange(len(world.vouchers_ready))]
        if pos.drawer_units >= amount:
            world.vouchers_ready.remove((voucher_id, amount))
            pos.drawer_units -= amount
            return Op(index, "voucher_redeem", device, {"shift": shift, "voucher_id": voucher_id, "amount_units": amount})
    amount = rng.randrange(5, 51) * 100
    world.credit(device, player, amount)
    pos.drawer_units += amount
    pos.voidable.append((index, player, amount))
    del pos.voidable[:-20]  # a cashier voids a recent sale, not one from hours ago
    return Op(index, "sale", device, {"shift": shift, "player": player, "amount_units": amount})


def _kiosk_op(rng: random.Random, world: _World, device: int, kiosk: _Kiosk, index: int) -> Op:
    session = kiosk.session
    if session is None:
        if world.central_up and world.vouchers_ready and rng.random() < TICKET_IN_RATE:
            voucher_id, amount = world.vouchers_ready.pop(rng.randrange(len(world.vouchers_ready)))
            kiosk.session_no += 1
            session_id = f"s-{device}-{kiosk.session_no}"
            kiosk.session = _Session(session_id, TICKET_BEARER, amount)
            return Op(index, "ticket_in", device, {"session_id": session_id, "voucher_id": voucher_id, "amount_units": amount})
        if world.central_up:
            candidates = [p for p in range(world.config.player_count) if world.available(p) >= 100]
            if candidates:
                player = candidates[rng.randrange(len(candidates))]
                amount = min(world.available(player), rng.randrange(1, 41) * 100)
                world.debited[player] += amount
                kiosk.session_no += 1
                session_id = f"s-{device}-{kiosk.session_no}"
                kiosk.session = _Session(session_id, player, amount)
                return Op(index, "checkout", device, {"session_id": session_id, "player": player, "amount_units": amount})
        # Nobody can sit down (offline, or no funded wallet): the kiosk shows its attract screen;
        # the op still happens as a sale at the first POS so the op count means work done.
        return _pos_op(rng, world, 0, world.pos[0], index)
    if session.escrow_units > 0 and session.rounds < MAX_ROUNDS_PER_SESSION and rng.random() < 0.9:
        bet = min(session.escrow_units, rng.choice(BETS_UNITS))
        win = bet * rng.choice((0, 0, 0, 0, 0, 1, 1, 2, 3, 5)) if rng.random() < 0.95 else 0
        session.rounds += 1
        session.escrow_units += win - bet
        return Op(index, "round", device, {"session_id": session.session_id, "round_no": session.rounds,
                                           "bet_units": bet, "win_units": win})
    kiosk.session = None
    amount = session.escrow_units
    if amount > 0 and (session.player == TICKET_BEARER or rng.random() < 0.5):
        kiosk.voucher_no += 1
        voucher_id = f"v-{device}-{kiosk.voucher_no}"
        world.vouchers_pending[device].append((voucher_id, amount))
        return Op(index, "voucher_issue", device, {"session_id": session.session_id, "voucher_id": voucher_id,
                                                   "amount_units": amount, "player": session.player})
    if amount > 0:
        world.credit(device, session.player, amount)
    return Op(index, "checkin", device, {"session_id": session.session_id, "player": session.player, "amount_units": amount})

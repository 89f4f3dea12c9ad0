"""The fleet simulator (`cafe sim`): a short run with every fault on SQLite and PostgreSQL,
the same seed giving the same schedule, and checks that do catch a broken ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from cafe_cli.main import main
from central_server.db import make_engine
from shared.bodies import Sale
from sync.enrollment import DeviceIdentity
from sync.journal import Journal
from sync.sim.checks import check_fleet
from sync.sim.plan import SIM_FAULTS, PlanConfig, iter_plan, parse_sim_faults
from sync.sim.runner import run_simulation

SHORT_DEVICES = 20
SHORT_OPS = 5000


def test_short_run_with_every_fault_loses_and_duplicates_nothing(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code = main(["sim", "--devices", str(SHORT_DEVICES), "--ops", str(SHORT_OPS), "--seed", "7", "--faults", "all",
                 "--db", db_url, "--work-dir", str(tmp_path / "sim"), "--json"])
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["violations"] == [], result["violations"][:10]
    assert code == 0
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert result["seed"] == 7 and result["business_ops"] == SHORT_OPS
    assert result["entries"] >= SHORT_OPS * 0.9, "almost every op writes one entry"
    for fault in SIM_FAULTS:
        assert result["faults"].get(fault, 0) > 0, f"{fault} never happened: {result['faults']}"
    kinds = result["op_kinds"]
    for kind in ("shift_open", "shift_close", "sale", "redemption", "void_sale", "checkout", "ticket_in", "round", "checkin",
                 "voucher_issue", "voucher_redeem", "snapshot", "restart_central"):
        assert kinds.get(kind, 0) > 0, f"no {kind} in the run: {kinds}"


def test_the_same_seed_gives_the_same_schedule():
    config = PlanConfig(devices=8, ops=3000, seed=42, faults=parse_sim_faults("all"))
    first, again = list(iter_plan(config)), list(iter_plan(config))
    other = list(iter_plan(PlanConfig(devices=8, ops=3000, seed=43, faults=parse_sim_faults("all"))))
    assert first == again
    assert first != other
    assert [config.fault_seed(d) for d in range(8)] == [PlanConfig(8, 3000, 42).fault_seed(d) for d in range(8)]
    assert {op.kind for op in first} >= {"kill_central", "restart_central", "kill_device", "push"}


def test_plan_never_overdraws_what_it_knows_central_holds():
    """Replaying a long plan: credits and debits per wallet, escrows per session, drawers per POS stay >= 0,
    and every printed ticket is paid at most once, at the counter or into a kiosk session, for what it holds."""
    config = PlanConfig(devices=10, ops=20000, seed=5, faults=parse_sim_faults("all"))
    wallets: dict[int, int] = {}
    escrows: dict[str, int] = {}
    drawers: dict[int, int] = {}
    printed: dict[str, int] = {}
    paid: set[str] = set()
    ticket_sessions: set[str] = set()
    for op in iter_plan(config):
        a = op.args
        if op.kind == "sale":
            wallets[a["player"]] = wallets.get(a["player"], 0) + a["amount_units"]
            drawers[op.device] = drawers.get(op.device, 0) + a["amount_units"]
        elif op.kind in ("redemption", "void_sale"):
            wallets[a["player"]] -= a["amount_units"]
            drawers[op.device] -= a["amount_units"]
        elif op.kind == "checkout":
            wallets[a["player"]] -= a["amount_units"]
            escrows[a["session_id"]] = a["amount_units"]
        elif op.kind == "ticket_in":
            assert a["voucher_id"] not in paid and printed[a["voucher_id"]] == a["amount_units"], op
            paid.add(a["voucher_id"])
            escrows[a["session_id"]] = a["amount_units"]
            ticket_sessions.add(a["session_id"])
        elif op.kind == "round":
            escrows[a["session_id"]] += a["win_units"] - a["bet_units"]
        elif op.kind in ("checkin", "voucher_issue"):
            escrows[a["session_id"]] -= a["amount_units"]
            if op.kind == "checkin":
                # a ticket session has no wallet to go back to: it ends on a new ticket or on nothing
                assert a["session_id"] not in ticket_sessions or a["amount_units"] == 0, op
                wallets[a["player"]] = wallets.get(a["player"], 0) + a["amount_units"]
            else:
                printed[a["voucher_id"]] = a["amount_units"]
        elif op.kind == "shift_open":
            drawers[op.device] = a["float_units"]
        elif op.kind == "voucher_redeem":
            assert a["voucher_id"] not in paid and printed[a["voucher_id"]] == a["amount_units"], op
            paid.add(a["voucher_id"])
            drawers[op.device] -= a["amount_units"]
        assert min(wallets.values(), default=0) >= 0 and min(escrows.values(), default=0) >= 0, op
        assert min(drawers.values(), default=0) >= 0, op
    assert len(ticket_sessions) > 20 and len(paid) > len(ticket_sessions), "tickets are taken in at kiosks and paid at the counter"


def _reopen(work_dir: Path) -> list[tuple[str, Journal]]:
    journals = []
    for data_dir in sorted(work_dir.glob("device-*")):
        journals.append((DeviceIdentity.load(data_dir).role, Journal.open(data_dir)))
    return journals


def test_checks_catch_a_lost_entry_and_a_tampered_balance(tmp_path: Path):
    work_dir = tmp_path / "sim"
    result = run_simulation(PlanConfig(devices=4, ops=300, seed=3, faults=frozenset(), snapshots=0), work_dir)
    assert result.violations == [] and result.lost == 0
    engine = make_engine(f"sqlite:///{work_dir / 'central' / 'central.db'}")
    journals = _reopen(work_dir)
    try:
        clean = check_fleet(engine, journals)
        assert clean.violations == [] and clean.entries == result.entries

        # An entry a POS wrote that never reached central is lost.
        role, pos_journal = journals[0]
        assert role == "pos"
        pos_journal.append(Sale(player_id="p-unsynced", location_id="sim-cafe", pos_id=pos_journal.device_id, shift_id="sh-x",
                                amount_units=500, cash_units=500, currency="USD"), actor="cashier-x")
        lost = check_fleet(engine, journals)
        assert lost.lost == 1
        assert any("is not at central" in v for v in lost.violations)

        # A balance changed behind the ledger's back: the fleet disagrees, the unit no longer
        # sums to zero and central's verify finds it.
        with engine.begin() as conn:
            account = conn.execute(text("SELECT account FROM balances WHERE account LIKE 'wallet:%' ORDER BY account LIMIT 1")).scalar_one()
            conn.execute(text("UPDATE balances SET balance_units = balance_units + 100 WHERE account = :a AND unit = 'CR'"), {"a": account})
        tampered = check_fleet(engine, journals)
        assert any(account in v and "the fleet's journals" in v for v in tampered.violations)
        assert any("sums to 100" in v for v in tampered.violations)
        assert any(v.startswith("central verify:") for v in tampered.violations)

        # A ticket taken into a kiosk session whose entry central no longer links to the voucher.
        with engine.begin() as conn:
            voucher = conn.execute(text(
                "SELECT id FROM vouchers WHERE redeem_entry_id IN (SELECT id FROM journal_entries WHERE kind = 'session_checkout') "
                "ORDER BY id LIMIT 1")).scalar_one()
            conn.execute(text("UPDATE vouchers SET redeem_entry_id = NULL WHERE id = :v"), {"v": voucher})
        unlinked = check_fleet(engine, journals)
        assert any(f"ticket-in of {voucher} is not the voucher's redemption entry" in v for v in unlinked.violations)
    finally:
        for _, journal in journals:
            journal.close()
        engine.dispose()


def test_cli_refuses_an_unknown_fault(capsys: pytest.CaptureFixture[str]):
    assert main(["sim", "--devices", "4", "--ops", "10", "--faults", "meteor"]) == 1
    assert "unknown fault(s) meteor" in capsys.readouterr().err

"""The real device side against a real central: enrollment, the journal outbox and the
push engine, through an outage and through a network that loses answers."""

from __future__ import annotations

from pathlib import Path

import httpx

from central_server.keys import load_keys
from shared.bodies import Sale
from shared.ledger import Transaction, apply_transactions
from sync.central_client import CentralClient, tls_verify
from sync.engine import SyncEngine
from sync.enrollment import DeviceIdentity, client_for, enroll
from sync.faults import FaultyTransport
from sync.journal import Journal
from sync.keystore import KeyStore
from tests.central.conftest import LOCATION, Central


def sale(identity: DeviceIdentity, n: int) -> Sale:
    return Sale(player_id=f"player-{n % 3}", location_id=identity.location_id, pos_id=identity.device_id,
                shift_id="shift-1", amount_units=100 * (n + 1), cash_units=100 * (n + 1), currency="USD")


def enrolled_pos(central: Central, data_dir: Path) -> DeviceIdentity:
    fingerprint = load_keys(central.data_dir).ca_fingerprint
    return enroll(data_dir, central.base_url, central.enroll_code("pos"), "pos", expected_ca_fingerprint=fingerprint)


def test_enrollment_pins_central_and_creates_the_journal(central: Central, tmp_path: Path):
    identity = enrolled_pos(central, tmp_path / "pos")
    assert identity.location_id == LOCATION
    assert identity.ca_fingerprint == load_keys(central.data_dir).ca_fingerprint
    with Journal.open(tmp_path / "pos") as journal:
        assert journal.device_id == identity.device_id and journal.count() == 0
    assert DeviceIdentity.load(tmp_path / "pos") == identity


def test_journaled_sales_reach_central_once_and_both_sides_agree(central: Central, tmp_path: Path):
    data_dir = tmp_path / "pos"
    identity = enrolled_pos(central, data_dir)
    with Journal.open(data_dir) as journal:
        entries = [journal.append(sale(identity, n), actor="cashier-1") for n in range(25)]
        client = client_for(data_dir)
        status = SyncEngine(journal, client, KeyStore(data_dir).device_key(), batch_size=10).push_pending()
        client.close()
        assert status.online and status.pending == 0 and status.last_error is None
        assert journal.acked_seq == 25
    assert central.scalar("SELECT count(*) FROM journal_entries WHERE device_id = :d", d=identity.device_id) == 25
    device_view = apply_transactions({}, [Transaction(e.id, e.postings) for e in entries]).balances
    for (account, unit), amount in device_view.items():
        assert central.balance(account, unit) == amount, account


def test_outage_then_recovery_sends_everything_exactly_once(central: Central, tmp_path: Path):
    data_dir = tmp_path / "pos"
    identity = enrolled_pos(central, data_dir)
    key = KeyStore(data_dir).device_key()
    with Journal.open(data_dir) as journal:
        for n in range(7):
            journal.append(sale(identity, n), actor="cashier-1")
        down = CentralClient("https://127.0.0.1:9", identity.device_id, key, verify=False, timeout_s=2)
        status = SyncEngine(journal, down, key).push_pending()
        down.close()
        assert not status.online and status.pending == 7
        assert "Offline" in status.banner() and "7 waiting" in status.banner()
        for n in range(7, 10):
            journal.append(sale(identity, n), actor="cashier-1")
        up = client_for(data_dir)
        status = SyncEngine(journal, up, key).push_pending()
        up.close()
        assert status.online and status.pending == 0
    assert central.scalar("SELECT count(*) FROM journal_entries WHERE device_id = :d", d=identity.device_id) == 10
    assert central.balance("wallet:player-0") == 100 + 400 + 700 + 1000


def test_lost_answers_and_duplicates_never_double_count(central: Central, tmp_path: Path):
    data_dir = tmp_path / "pos"
    identity = enrolled_pos(central, data_dir)
    key = KeyStore(data_dir).device_key()
    inner = httpx.HTTPTransport(verify=tls_verify(str(data_dir / "central-ca.pem")))
    faulty = FaultyTransport(inner, frozenset({"drop_response", "duplicate", "drop_request"}), seed=11, rate=0.6)
    client = CentralClient(identity.central_url, identity.device_id, key, transport=faulty)
    with Journal.open(data_dir) as journal:
        engine = SyncEngine(journal, client, key, batch_size=4)
        for n in range(30):
            journal.append(sale(identity, n), actor="cashier-1")
            engine.push_pending()
        for _ in range(50):  # bounded: each run makes progress with probability > 0.4
            if engine.push_pending().pending == 0:
                break
        assert journal.pending_count() == 0
    client.close()
    assert sum(faulty.counts.by_fault.values()) > 10, "the network really misbehaved"
    assert central.scalar("SELECT count(*) FROM journal_entries WHERE device_id = :d", d=identity.device_id) == 30
    expected_wallet_0 = sum(100 * (n + 1) for n in range(30) if n % 3 == 0)
    assert central.balance("wallet:player-0") == expected_wallet_0


def test_heartbeat_reports_the_outbox_and_a_new_address_is_flagged(central: Central, tmp_path: Path):
    data_dir = tmp_path / "pos"
    identity = enrolled_pos(central, data_dir)
    key = KeyStore(data_dir).device_key()
    with Journal.open(data_dir) as journal:
        for n in range(3):
            journal.append(sale(identity, n), actor="cashier-1")
        client = client_for(data_dir)
        engine = SyncEngine(journal, client, key)
        assert engine.send_heartbeat()
        row = central.rows("SELECT outbox_depth, ip, app_version, last_sync_result FROM device_heartbeats WHERE device_id = :d",
                           d=identity.device_id)[0]
        assert (row.outbox_depth, row.ip, row.last_sync_result) == (3, "127.0.0.1", "ok")
        engine.push_pending()
        central.execute("UPDATE device_heartbeats SET ip = '203.0.113.9' WHERE device_id = :d", d=identity.device_id)
        assert engine.send_heartbeat()
        client.close()
    assert central.scalar("SELECT outbox_depth FROM device_heartbeats WHERE device_id = :d", d=identity.device_id) == 0
    events = central.rows("SELECT detail FROM significant_events WHERE kind = 'device_new_ip' AND device_id = :d",
                          d=identity.device_id)
    assert len(events) == 1 and "203.0.113.9" in events[0].detail


def test_an_idle_device_notices_the_line_going_down_and_coming_back(central: Central, tmp_path: Path):
    data_dir = tmp_path / "pos"
    identity = enrolled_pos(central, data_dir)
    key = KeyStore(data_dir).device_key()
    with Journal.open(data_dir) as journal:
        journal.append(sale(identity, 1), actor="cashier-1")
        up = client_for(data_dir)
        engine = SyncEngine(journal, up, key)
        assert engine.push_pending().online  # everything sent: the outbox is empty from here on
        engine.client = CentralClient("https://127.0.0.1:9", identity.device_id, key, verify=False, timeout_s=2)
        assert engine.push_pending().online, "an empty outbox contacts nobody, so it proves nothing either way"
        assert engine.send_heartbeat() is False
        assert not engine.status.online and "Offline" in engine.status.banner()
        assert not engine.push_pending().online  # still nothing to send: still offline until contact
        engine.client.close()
        engine.client = up
        assert engine.send_heartbeat() is True
        assert engine.status.online and engine.status.banner() == "Online"
        up.close()

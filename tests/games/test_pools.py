"""Finite pools against the real HTTPS central (SQLite and PostgreSQL): dealing under concurrency, rollover,
idempotency, the auditor's `cafe central pool-verify`, ingest checks of pool rounds, and offline play from a PoolDeck."""

from __future__ import annotations

import json
import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from cafe_cli.main import main as cafe
from central_server.games import service
from central_server.games.audit import verify_pool_document
from central_server.keys import load_keys
from shared.bodies import GameRound, SessionCheckout
from shared.games import parse_definition, play, round_body_fields
from shared.games.builtin import load_builtin_games
from shared.games.pool import PoolEntry
from shared.ids import new_id
from shared.protocol import POOL_DEAL_PATH, POOLS_PATH
from sync.central_client import Offline
from sync.device import Device as KioskApp
from sync.packages import GameLibrary
from sync.pools import PoolDeck, PoolDeckEmpty
from tests.central.conftest import LOCATION, Central, Device

POOL_SIZE = 20
PRIZES = {500: 1, 200: 2, 100: 4, 0: 13}


def tiny_scratch() -> dict[str, Any]:
    """A pool game whose pools hold 20 entries, so a test spends several of them."""
    doc = load_builtin_games()["gold-rush-scratch"].to_json()
    symbols = doc["math"]["symbols"]
    doc.update(id="tiny-scratch", title="Tiny Scratch", bet_options_units=[100, 200])
    doc["math"]["prize_table"] = [{"prize_units": p, "count": c} | ({"symbol": symbols[i]} if p else {})
                                  for i, (p, c) in enumerate(PRIZES.items())]
    return doc


@pytest.fixture
def tiny(central: Central) -> str:
    with central.engine.begin() as conn:
        service.publish(conn, parse_definition(tiny_scratch()), {}, load_keys(central.data_dir).signing_key)
    return "tiny-scratch"


def deal(kiosk: Device, session_id: str, count: int, game_id: str = "tiny-scratch", request_id: str | None = None) -> httpx.Response:
    return kiosk.request("POST", POOL_DEAL_PATH, {"request_id": request_id or new_id(), "session_id": session_id,
                                                  "game_id": game_id, "count": count})


def pool_doc(central: Central, pool_id: str) -> dict[str, Any]:
    response = central.client.get(f"{POOLS_PATH}/{pool_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_concurrent_deals_never_hand_out_an_entry_twice_and_pools_roll_over(central: Central, tiny: str) -> None:
    kiosks = [central.enroll("kiosk") for _ in range(4)]
    jobs = [(kiosks[i % 4], f"session-{i % 8}", 1 + i % 5) for i in range(48)]

    def run(job: tuple[Device, str, int]) -> tuple[dict[str, str], list[dict[str, Any]]]:
        kiosk, session_id, count = job
        response = deal(kiosk, session_id, count)
        assert response.status_code == 200, response.text
        assert len(response.json()["entries"]) == count
        return response.json()["commitments"], response.json()["entries"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(run, jobs))

    dealt = [(e["pool_id"], e["index"], e["prize_units"]) for _, entries in answers for e in entries]
    total = sum(count for _, _, count in jobs)
    assert len(dealt) == total == 141
    assert len({(p, i) for p, i, _ in dealt}) == total, "an entry was dealt twice"
    by_pool: dict[str, list[tuple[int, int]]] = {}
    for pool_id, index, prize in dealt:
        by_pool.setdefault(pool_id, []).append((index, prize))
    assert len(by_pool) == math.ceil(total / POOL_SIZE)
    spent = [p for p, items in by_pool.items() if len(items) == POOL_SIZE]
    assert len(spent) == total // POOL_SIZE
    for pool_id in spent:
        doc = pool_doc(central, pool_id)
        assert doc["status"] == "spent" and doc["dealt"] == POOL_SIZE
        assert sorted(i for i, _ in by_pool[pool_id]) == list(range(POOL_SIZE))
        assert Counter(prize for _, prize in by_pool[pool_id]) == Counter(PRIZES)  # each pool pays exactly its table
        assert all(doc["reveal"]["prizes"][i] == prize for i, prize in by_pool[pool_id])  # kiosks got what the pool holds
        assert verify_pool_document(doc) == []
    (open_pool,) = [p for p in by_pool if p not in spent]
    still_open = pool_doc(central, open_pool)
    assert still_open["status"] == "open" and still_open["reveal"] is None and still_open["dealt"] == total % POOL_SIZE
    assert central.scalar("SELECT count(*) FROM game_pools WHERE status = 'open'") == 1
    # The commitment a kiosk was given with its entries is the one the spent pool's reveal must match.
    for commitments, _ in answers:
        for pool_id, published in commitments.items():
            assert pool_doc(central, pool_id)["commitment"] == published


def test_a_deal_is_idempotent_and_bad_requests_are_refused(central: Central, tiny: str, kiosk: Device, pos: Device) -> None:
    request_id = new_id()
    first = deal(kiosk, "s-1", 3, request_id=request_id)
    again = deal(kiosk, "s-1", 3, request_id=request_id)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert central.scalar("SELECT count(*) FROM pool_deals") == 3
    body = first.json()
    assert body["game_version"] == "1.0.0" and set(body["commitments"]) == {e["pool_id"] for e in body["entries"]}

    assert deal(kiosk, "s-1", 4, request_id=request_id).json()["code"] == "request_id_reused"
    assert deal(pos, "s-1", 1).status_code == 403
    not_pool = deal(kiosk, "s-1", 1, game_id="fruit-fiesta")
    assert not_pool.status_code == 422 and not_pool.json()["code"] == "not_a_pool_game"
    assert deal(kiosk, "s-1", 1, game_id="no-such-game").status_code == 404
    for count in (0, 501):
        assert deal(kiosk, "s-1", count).status_code == 422
    unsigned = central.client.post(POOL_DEAL_PATH, json={"request_id": new_id(), "session_id": "s", "game_id": tiny, "count": 1})
    assert unsigned.status_code == 401
    assert central.client.get(f"{POOLS_PATH}/pool-unknown").status_code == 404
    assert central.scalar("SELECT count(*) FROM pool_deals") == 3


def _round(kiosk: Device, session_id: str, entry: PoolEntry, round_no: int, *, bet_units: int = 100,
           prize_units: int | None = None) -> GameRound:
    definition = parse_definition(tiny_scratch())
    shown = PoolEntry(entry.pool_id, entry.index, entry.prize_units if prize_units is None else prize_units)
    result = play(definition, bet_units, escrow_units=10_000, entry=shown)
    return GameRound(session_id=session_id, kiosk_id=kiosk.device_id, location_id=LOCATION, round_no=round_no,
                     **round_body_fields(result))


def _fund_session(kiosk: Device, pos: Device, session_id: str, units: int = 5000) -> None:
    player = f"player-{session_id}"
    assert pos.push([pos.sale(player, units)]).status_code == 200
    kiosk.append(SessionCheckout(session_id=session_id, player_id=player, kiosk_id=kiosk.device_id, location_id=LOCATION,
                                 amount_units=units))


def _cafe(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cafe(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_pool_verify_passes_an_honest_spent_pool_and_fails_a_tampered_one(
    central: Central, tiny: str, kiosk: Device, pos: Device, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    _fund_session(kiosk, pos, "s-audit")
    entries = [PoolEntry(e["pool_id"], e["index"], e["prize_units"]) for e in deal(kiosk, "s-audit", POOL_SIZE).json()["entries"]]
    pool_id = entries[0].pool_id
    rounds = [kiosk.append(_round(kiosk, "s-audit", entry, n + 1)) for n, entry in enumerate(entries)]
    assert kiosk.push(kiosk.chain).status_code == 200
    assert central.scalar("SELECT count(*) FROM ledger_exceptions") == 0
    assert len(rounds) == POOL_SIZE

    db = ("--db", central.db_url, "--data-dir", str(central.data_dir))
    code, out = _cafe(capsys, "central", "pool-verify", pool_id, *db)
    assert code == 0 and f"pool {pool_id} of tiny-scratch 1.0.0: sound" in out and f"{POOL_SIZE} paid rounds match" in out
    url = f"{central.base_url}{POOLS_PATH}/{pool_id}"
    code, out = _cafe(capsys, "central", "pool-verify", url, "--ca", str(central.data_dir / "ca_cert.pem"))
    assert code == 0 and "sound" in out

    doc = pool_doc(central, pool_id)
    honest = tmp_path / "pool.json"
    honest.write_text(json.dumps(doc))
    assert _cafe(capsys, "central", "pool-verify", str(honest))[0] == 0

    prizes = doc["reveal"]["prizes"]
    a, b = prizes.index(500), prizes.index(0)
    prizes[a], prizes[b] = prizes[b], prizes[a]  # the big prize moved after the fact
    swapped = tmp_path / "swapped.json"
    swapped.write_text(json.dumps(doc))
    code, out = _cafe(capsys, "central", "pool-verify", str(swapped))
    assert code == 1 and "do not match the published commitment" in out

    central.execute("UPDATE game_pools SET prizes = :p WHERE id = :i", p=json.dumps(prizes), i=pool_id)
    code, out = _cafe(capsys, "central", "pool-verify", pool_id, *db)
    assert code == 1 and "do not match the published commitment" in out and f"entry {a} paid" in out


def test_pool_rounds_are_recorded_and_flagged_when_they_break_the_deal(central: Central, tiny: str, kiosk: Device,
                                                                      pos: Device) -> None:
    for session_id in ("s-a", "s-b"):
        _fund_session(kiosk, pos, session_id)
    mine = [PoolEntry(e["pool_id"], e["index"], e["prize_units"]) for e in deal(kiosk, "s-a", 2).json()["entries"]]
    losing = next((e for e in mine if e.prize_units == 0), mine[0])
    kiosk.append(_round(kiosk, "s-a", mine[0], 1))                       # fine
    kiosk.append(_round(kiosk, "s-b", mine[1], 1))                       # dealt to s-a, played in s-b
    kiosk.append(_round(kiosk, "s-a", mine[0], 2))                       # the same entry again
    kiosk.append(_round(kiosk, "s-a", PoolEntry(mine[0].pool_id, 19, 0), 3))   # never dealt
    wrong_prize = 500 if losing.prize_units != 500 else 0
    kiosk.append(_round(kiosk, "s-a", PoolEntry(losing.pool_id, losing.index, wrong_prize), 4))
    response = kiosk.push(kiosk.chain)
    assert response.status_code == 200 and response.json()["status"] == "ok"  # central never refuses the facts

    rules = Counter(r for (r,) in central.rows("SELECT rule FROM ledger_exceptions"))
    assert rules == Counter({"pool_entry_wrong_session": 1, "pool_entry_not_dealt": 1, "pool_entry_played_twice": 2,
                             "pool_entry_prize_mismatch": 1})
    assert central.scalar("SELECT count(*) FROM journal_entries WHERE kind = 'game_round' AND posted") == 5
    assert central.scalar("SELECT count(*) FROM ledger_transactions WHERE kind = 'game_round'") == 5


def test_a_pool_game_keeps_playing_offline_from_the_dealt_block(
    central: Central, enrolled_device: Any, pos: Device, tmp_path: Path,
) -> None:
    data_dir = Path(enrolled_device("kiosk"))
    online = KioskApp.open(data_dir)
    library = GameLibrary(online)
    try:
        assert library.refresh().online
        scratch = {g.game_id: g for g in library.installed_games()}["gold-rush-scratch"]
        session_id = new_id()
        assert pos.push([pos.sale("player-off", 3000)]).status_code == 200
        online.record(SessionCheckout(session_id=session_id, player_id="player-off", kiosk_id=online.device_id,
                                      location_id=online.location_id, amount_units=3000), actor="player-off")
        deck = PoolDeck(online, block_size=10, low_water=2)
        assert deck.replenish(session_id, scratch.game_id) == 10
        assert deck.remaining(session_id, scratch.game_id) == 10 and not deck.needs_replenish(session_id, scratch.game_id)
    finally:
        library.close()
        online.close()

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("network down", request=request)

    offline = KioskApp.open(data_dir, client_kwargs={"transport": httpx.MockTransport(unreachable)})
    played: list[str] = []
    try:
        deck = PoolDeck(offline, block_size=10, low_water=2)
        escrow = 3000
        for n in range(10):
            entry = deck.take(session_id, scratch.game_id)
            result = play(scratch.definition, 100, escrow_units=escrow, entry=entry)
            offline.record(GameRound(session_id=session_id, kiosk_id=offline.device_id, location_id=offline.location_id,
                                     round_no=n + 1, **round_body_fields(result)), actor="player-off")
            escrow += result.win_units - result.bet_units
            played.append(entry.ref)
        with pytest.raises(PoolDeckEmpty, match="central must deal more"):
            deck.take(session_id, scratch.game_id)
        with pytest.raises(Offline, match="unreachable"):
            deck.replenish(session_id, scratch.game_id)
    finally:
        offline.close()
    assert len(set(played)) == 10

    back = KioskApp.open(data_dir)
    try:
        deck = PoolDeck(back, block_size=10, low_water=2)
        assert deck.replenish(session_id, scratch.game_id) == 10  # the pending request went through once online
        status = back.engine.push_pending()
        assert status.pending == 0, status
    finally:
        back.close()
    assert central.scalar("SELECT count(*) FROM journal_entries WHERE kind = 'game_round'") == 10
    assert central.scalar("SELECT count(*) FROM pool_deals WHERE round_entry_id IS NOT NULL") == 10
    assert central.scalar("SELECT count(*) FROM pool_deals WHERE session_id = :s", s=session_id) == 20
    assert central.scalar("SELECT count(*) FROM ledger_exceptions") == 0
    assert central.balance(f"escrow:{session_id}") == escrow

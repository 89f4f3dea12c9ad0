"""Finite pools: generate with the CSPRNG, publish the commitment, deal to kiosk sessions, reveal once spent.

Dealing locks the game version's open pool (``SELECT … FOR UPDATE``; SQLite holds its
write lock) and moves its position with a guarded UPDATE, and each dealt position is a
primary key: two concurrent deals can never hand out the same entry. When a pool runs
out the same transaction marks it spent and the next one is generated; the partial
unique index "one open pool per game version" makes two deals that race to start a new
pool end with one.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from central_server.devices.service import AuthedDevice
from central_server.errors import Conflict, Forbidden, NotFound
from central_server.games import repository as repo
from central_server.games import service as packages
from central_server.games.schemas import DealRequestBody, DealResponseBody, DealtEntryBody, PaidEntryBody, PoolBody, PrizeTierBody
from shared.bodies import GameRound
from shared.canonical import parse_canonical
from shared.entry import JournalEntry, utc_timestamp
from shared.errors import ValidationError
from shared.games.package import GamePackage
from shared.games.pool import PoolMath, commitment, generate_pool
from shared.games.rng import RandomSource, default_source
from shared.ids import new_id

MAX_AUDITED_ROUNDS = 2_000_000


def _pool_math(package: GamePackage) -> PoolMath:
    math = package.definition.math
    if not isinstance(math, PoolMath):
        raise ValidationError(f"{package.definition.id} is a {package.definition.engine} game, not a pool game", code="not_a_pool_game")
    return math


def deal(conn: Connection, device: AuthedDevice, request: DealRequestBody, rng: RandomSource | None = None) -> DealResponseBody:
    """Deal ``count`` entries to a kiosk session, starting new pools as needed; the same request id twice deals once."""
    if device.role != "kiosk":
        raise Forbidden("only a kiosk is dealt pool entries", code="wrong_role")
    claimed = repo.insert_deal_request(conn, request_id=request.request_id, device_id=device.id, session_id=request.session_id,
                                       game_id=request.game_id, count=request.count, created_at=utc_timestamp())
    if not claimed:
        return _replay(conn, device, request)
    row, package = packages.active_game(conn, request.game_id)
    math = _pool_math(package)
    dealt: list[DealtEntryBody] = []
    commitments: dict[str, str] = {}
    # Bounded: each turn deals at least one entry or starts a pool (at most one per entry dealt).
    for _ in range(2 * request.count + 4):
        if len(dealt) == request.count:
            break
        pool = repo.lock_open_pool(conn, request.game_id, row.version)
        if pool is None:
            _start_pool(conn, row, package, math, rng or default_source())
            continue
        start, size = int(pool.dealt), int(pool.size)
        take = min(request.count - len(dealt), size - start)
        prizes = json.loads(pool.prizes)[start:start + take]
        now = utc_timestamp()
        if not repo.advance_pool(conn, pool.id, from_dealt=start, to_dealt=start + take, spent_at=now if start + take == size else None):
            raise Conflict("the pool moved under a concurrent deal; retry", code="deal_conflict")
        repo.insert_deals(conn, [
            {"pool_id": pool.id, "entry_index": start + i, "request_id": request.request_id, "session_id": request.session_id,
             "device_id": device.id, "prize_units": prize, "dealt_at": now}
            for i, prize in enumerate(prizes)
        ])
        dealt += [DealtEntryBody(pool_id=pool.id, index=start + i, prize_units=prize, ref=f"{pool.id}:{start + i}")
                  for i, prize in enumerate(prizes)]
        commitments[pool.id] = pool.commitment
    if len(dealt) != request.count:
        raise Conflict("could not deal every entry; retry", code="deal_conflict")
    return DealResponseBody(request_id=request.request_id, session_id=request.session_id, game_id=request.game_id,
                            game_version=row.version, package_sha256=row.sha256, entries=dealt, commitments=commitments)


def _start_pool(conn: Connection, row: Any, package: GamePackage, math: PoolMath, rng: RandomSource) -> None:
    """Generate and store a fresh pool with its commitment; a concurrent deal may have made one first (then nothing)."""
    generated = generate_pool(math, f"pool-{new_id()}", row.game_id, row.version, rng)
    repo.insert_pool(conn, id=generated.pool_id, game_id=row.game_id, game_version=row.version, package_sha256=package.sha256,
                     size=len(generated.prizes), dealt=0, commitment=commitment(generated), salt=generated.salt,
                     prizes=json.dumps(list(generated.prizes), separators=(",", ":")), status="open", created_at=utc_timestamp())


def _replay(conn: Connection, device: AuthedDevice, request: DealRequestBody) -> DealResponseBody:
    done = repo.deal_request(conn, request.request_id)
    assert done is not None, "the request id is taken, so its row exists"
    if (done.device_id, done.session_id, done.game_id, int(done.count)) != (device.id, request.session_id, request.game_id, request.count):
        raise Conflict(f"request id {request.request_id} was used for another deal", code="request_id_reused")
    rows = repo.deals_of_request(conn, request.request_id)
    if not rows:  # the first attempt was refused (e.g. not a pool game) and rolled back its claim... or is still running
        raise Conflict("this deal request is being processed by a concurrent request; retry", code="deal_conflict")
    return DealResponseBody(
        request_id=request.request_id, session_id=request.session_id, game_id=request.game_id,
        game_version=rows[0].game_version, package_sha256=rows[0].package_sha256,
        entries=[DealtEntryBody(pool_id=r.pool_id, index=int(r.entry_index), prize_units=int(r.prize_units),
                                ref=f"{r.pool_id}:{r.entry_index}") for r in rows],
        commitments={r.pool_id: r.commitment for r in rows},
    )


# --- public commitments and the audit --------------------------------------------------------


def pool_document(conn: Connection, pool_id: str) -> PoolBody:
    """What anyone may know of a pool: commitment and prize table always, the reveal and paid rounds once spent."""
    pool = repo.pool(conn, pool_id)
    if pool is None:
        raise NotFound(f"there is no pool {pool_id!r}", code="pool_not_found")
    math = _pool_math(packages.load_package(conn, pool.package_sha256))
    spent = pool.status == "spent"
    reveal = None
    if spent:
        reveal = {"pool_id": pool.id, "game_id": pool.game_id, "game_version": pool.game_version, "salt": pool.salt,
                  "prizes": json.loads(pool.prizes)}
    return PoolBody(
        pool_id=pool.id, game_id=pool.game_id, game_version=pool.game_version, package_sha256=pool.package_sha256,
        base_bet_units=math.base_bet_units, prize_table=[PrizeTierBody(prize_units=t.prize_units, count=t.count) for t in math.tiers],
        size=int(pool.size), dealt=int(pool.dealt), status=pool.status, commitment=pool.commitment, created_at=pool.created_at,
        spent_at=pool.spent_at, reveal=reveal, paid=_paid_rounds(conn, pool.id) if spent else None,
    )


def _paid_rounds(conn: Connection, pool_id: str) -> list[PaidEntryBody]:
    """The prize per base bet each journaled round of the pool paid, from the device journals central holds."""
    paid = []
    for data in repo.round_entries_naming_pool(conn, pool_id, MAX_AUDITED_ROUNDS):
        body = parse_canonical(data.encode("utf-8"))["body"]
        ref, prize = body.get("pool_entry") or "", (body.get("outcome") or {}).get("prize_units_per_base")
        owner, _, index = ref.rpartition(":")
        if owner == pool_id and index.isdigit() and isinstance(prize, int):
            paid.append(PaidEntryBody(index=int(index), prize_units_per_base=prize))
    return sorted(paid, key=lambda p: p.index)


# --- ingest: a round that names a pool entry --------------------------------------------------


def names_pool_entry(entry: JournalEntry) -> bool:
    return isinstance(entry.body, GameRound) and entry.body.pool_entry is not None


def check_round(conn: Connection, entry: JournalEntry) -> list[tuple[str, str]]:
    """What a pool round broke, for a person to review; the round itself is always recorded (decision 0002)."""
    body = entry.body
    assert isinstance(body, GameRound), "only rounds name pool entries"
    pool_id, _, index_text = (body.pool_entry or "").rpartition(":")
    deal_row = repo.deal_of_entry(conn, pool_id, int(index_text)) if pool_id and index_text.isdigit() else None
    if deal_row is None:
        return [("pool_entry_not_dealt", f"round {entry.id} plays pool entry {body.pool_entry}, which central never dealt")]
    flags = []
    if (deal_row.session_id, deal_row.device_id) != (body.session_id, entry.device_id):
        flags.append(("pool_entry_wrong_session", (
            f"pool entry {body.pool_entry} was dealt to session {deal_row.session_id} on {deal_row.device_id}, "
            f"played in session {body.session_id} on {entry.device_id}")))
    prize = body.outcome.get("prize_units_per_base")
    if prize != int(deal_row.prize_units):
        flags.append(("pool_entry_prize_mismatch",
                      f"pool entry {body.pool_entry} holds prize {deal_row.prize_units}, the round shows {prize!r}"))
    if not repo.claim_deal_for_round(conn, pool_id, int(index_text), entry.id):
        flags.append(("pool_entry_played_twice", f"pool entry {body.pool_entry} was already played by another round"))
    return flags

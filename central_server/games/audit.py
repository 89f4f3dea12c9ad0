"""The auditor's check of a spent pool, from its public document alone (pure: no SQL, no HTTP).

The document is what ``GET /api/v1/pools/{pool_id}`` returns. Its commitment was public
before the first entry was dealt; once the pool is spent the reveal must hash to that
commitment, hold exactly the prize table, and every journaled round must have paid the
prize the pool holds at its index (``shared.games.pool.verify_spent_pool``).
"""

from __future__ import annotations

from typing import Any

from shared.errors import ValidationError
from shared.games.pool import GeneratedPool, verify_spent_pool


def verify_pool_document(doc: Any) -> list[str]:
    """Every problem found; an empty list means the pool is sound. A malformed document is a ValidationError."""
    if not isinstance(doc, dict) or not isinstance(doc.get("pool_id"), str) or not isinstance(doc.get("commitment"), str):
        raise ValidationError("not a pool document (expected the JSON of GET /api/v1/pools/{pool_id})")
    pool_id = doc["pool_id"]
    if doc.get("status") != "spent" or doc.get("reveal") is None:
        return [f"pool {pool_id} is not spent yet ({doc.get('dealt')} of {doc.get('size')} dealt): nothing is revealed to verify"]
    revealed = GeneratedPool.from_json(doc["reveal"])
    try:
        prize_table = {int(t["prize_units"]): int(t["count"]) for t in doc["prize_table"]}
        paid = {int(p["index"]): int(p["prize_units_per_base"]) for p in doc.get("paid") or []}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"pool {pool_id}: malformed prize table or paid rounds ({exc})") from exc
    problems = []
    if (revealed.pool_id, revealed.game_id, revealed.game_version) != (pool_id, doc.get("game_id"), doc.get("game_version")):
        problems.append(f"pool {pool_id}: the reveal names pool {revealed.pool_id} of {revealed.game_id} {revealed.game_version}")
    return problems + verify_spent_pool(revealed, doc["commitment"], prize_table, paid)

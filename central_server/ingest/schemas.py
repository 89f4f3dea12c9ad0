"""HTTP shapes of journal ingest (mirroring ``shared.protocol``).

The body is parsed by hand with ``shared.canonical.parse_json`` (floats refused) and
``JournalEntry.from_json``; these models document it in OpenAPI and check the head.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.protocol import MAX_BATCH_ENTRIES


class HeadBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    seq: int = Field(ge=1)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature: str = Field(min_length=1, max_length=128)


class IngestRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[dict[str, Any]] = Field(max_length=MAX_BATCH_ENTRIES, description="journal entries in seq order (entry JSON)")
    head: HeadBody | None = Field(default=None, description="signature over the last entry's (device_id, seq, hash); required with entries")


class EntryResultBody(BaseModel):
    seq: int
    id: str
    status: Literal["applied", "duplicate"]


class IngestResponseBody(BaseModel):
    status: Literal["ok", "gap", "rejected"]
    results: list[EntryResultBody]
    acked_through: int
    expected_seq: int | None = None
    reason: str | None = None


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its ``$defs`` inlined, to embed in an OpenAPI operation."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved

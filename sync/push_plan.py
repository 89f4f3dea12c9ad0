"""What the device does with central's answer to a pushed batch (pure decisions).

Kept apart from the HTTP code so every case of DESIGN §4 is decided in one small,
tested place: ``ok`` moves the acknowledgement marker; ``gap`` moves the cursor to the
seq central expects (lower than ours when central was restored from an older backup,
higher when our last acknowledgement was lost on the way back); ``rejected`` stops
sync for good until a person releases the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.protocol import IngestResponse

Action = Literal["advance", "rewind", "stop"]


@dataclass(frozen=True, slots=True)
class PushDecision:
    action: Action
    next_seq: int            # first seq to send in the next batch
    ack_through: int | None  # mark the outbox acknowledged through here (None: leave it)
    reason: str = ""


def decide(response: IngestResponse, sent_from_seq: int, sent_to_seq: int, acked_seq: int) -> PushDecision:
    """Turn one ingest response into the next step of the push loop."""
    assert sent_from_seq <= sent_to_seq, "a pushed batch holds at least one entry"
    if response.status == "ok":
        through = response.acked_through
        if through < sent_to_seq:
            # Central says it holds less than we sent although it answered ok: resend the rest.
            return PushDecision("rewind", through + 1, through if through > acked_seq else None, "partial acknowledgement")
        return PushDecision("advance", through + 1, through if through > acked_seq else None)
    if response.status == "gap":
        expected = response.expected_seq or 1
        # Everything below what central expects is safely held by central.
        ack = expected - 1 if expected - 1 > acked_seq else None
        return PushDecision("rewind", expected, ack, f"central expects seq {expected}")
    return PushDecision("stop", sent_from_seq, None, response.reason or "central rejected the batch")

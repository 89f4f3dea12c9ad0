"""The device's pure sync decisions: what to do with central's answer, and when to retry."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from shared.protocol import EntryResult, IngestResponse
from sync.backoff import Backoff
from sync.push_plan import decide
from sync.status import SyncStatus


def ok(through: int) -> IngestResponse:
    return IngestResponse("ok", (EntryResult(through, "x", "applied"),), acked_through=through)


def test_ok_advances_and_acknowledges_the_batch():
    decision = decide(ok(20), sent_from_seq=11, sent_to_seq=20, acked_seq=10)
    assert (decision.action, decision.next_seq, decision.ack_through) == ("advance", 21, 20)


def test_duplicate_replay_of_already_acknowledged_entries_moves_nothing_backwards():
    decision = decide(ok(20), sent_from_seq=11, sent_to_seq=20, acked_seq=20)
    assert decision.ack_through is None and decision.next_seq == 21


def test_gap_rewinds_to_what_central_expects_after_a_restore():
    # central was restored from a backup that ends at seq 5; we had 40 acknowledged
    response = IngestResponse("gap", (), acked_through=5, expected_seq=6)
    decision = decide(response, sent_from_seq=41, sent_to_seq=50, acked_seq=40)
    assert (decision.action, decision.next_seq, decision.ack_through) == ("rewind", 6, None)


def test_gap_ahead_of_us_means_our_acknowledgement_was_lost_and_is_recorded_now():
    response = IngestResponse("gap", (), acked_through=30, expected_seq=31)
    decision = decide(response, sent_from_seq=11, sent_to_seq=20, acked_seq=10)
    assert (decision.next_seq, decision.ack_through) == (31, 30)


def test_rejection_stops_sync_and_keeps_the_reason():
    response = IngestResponse("rejected", (), acked_through=3, reason="fork at seq 4")
    decision = decide(response, sent_from_seq=4, sent_to_seq=9, acked_seq=3)
    assert decision.action == "stop" and "fork" in decision.reason and decision.ack_through is None


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_its_exponential_ceiling_and_cap(failures, seed):
    backoff = Backoff(base_s=0.5, cap_s=60.0)
    delay = backoff.delay_s(failures, random.Random(seed))
    ceiling = 0.0 if failures == 0 else min(60.0, 0.5 * 2 ** min(failures - 1, 16))
    assert 0.0 <= delay <= ceiling


def test_backoff_spreads_devices_apart():
    delays = {Backoff().delay_s(6, random.Random(seed)) for seed in range(50)}
    assert len(delays) == 50 and max(delays) - min(delays) > 5


def test_status_banner_says_what_a_cashier_needs():
    assert SyncStatus(online=False, pending=3).banner() == "Offline: working from the last known state; 3 waiting to send"
    assert SyncStatus(online=True).banner() == "Online"
    assert "quarantined" in SyncStatus(online=True, quarantined=True).banner()

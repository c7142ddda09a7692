"""Discord's limits as delivery models them: alerts go at once while there is room (one a second,
or two close together), a busy channel is paced at the sustained rate instead of spending its
bucket in a burst and stalling, and Discord's own headers win over the model once seen."""

from __future__ import annotations

import itertools

import pytest

from bot.trades.pacing import BURST, BucketHeaders, ChannelBucket, SlidingWindow, TokenBucket


def test_a_sliding_window_allows_limit_events_in_any_period() -> None:
    window = SlidingWindow(3, 1.0)
    for t in (0.0, 0.1, 0.2):
        assert window.wait(t) == 0.0
        window.record(t)
    assert window.wait(0.5) == pytest.approx(0.5)  # the event at 0.0 leaves the window at 1.0
    assert window.wait(1.0) == 0.0
    window.record(1.0)
    assert window.wait(1.05) == pytest.approx(0.05)  # 0.1 leaves at 1.1


def test_a_token_bucket_spreads_a_burst() -> None:
    bucket = TokenBucket(2, 10.0)
    bucket.take(0.0)
    bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(0.1)
    assert bucket.wait(0.1) == 0.0


def send_all(bucket: ChannelBucket, arrivals: list[float]) -> list[float]:
    """When each alert goes (in order, one at a time), given when each arrived."""
    sent: list[float] = []
    ready = 0.0
    for arrival in arrivals:
        now = max(arrival, ready)
        now += bucket.wait(now)
        bucket.posting(now)
        sent.append(now)
        ready = now
    return sent


def test_one_alert_a_second_waits_at_most_its_jitter() -> None:
    """5 per 5 s is exactly one a second: an alert a few ms earlier than its second waits those
    few ms, never more."""
    arrivals = [second + 0.005 * (second % 3) for second in range(30)]
    sent = send_all(ChannelBucket(5, 5.0), arrivals)
    assert max(s - a for s, a in zip(sent, arrivals, strict=True)) <= 0.011


def test_two_close_alerts_in_a_quiet_channel_go_at_once() -> None:
    sent = send_all(ChannelBucket(5, 5.0), [0.0, 0.1])
    assert sent == [0.0, 0.1]
    assert BURST == 2


def test_a_busy_channel_is_paced_not_stalled() -> None:
    """Five alerts a second: after the burst of two, one a second; the burst is repaid once (a
    gap of two seconds at the first reset), then never a stall (greedy sending would post five
    at once, then nothing for four seconds, every five seconds)."""
    arrivals = [n * 0.2 for n in range(100)]
    bucket = ChannelBucket(5, 5.0)
    sent = []
    ready = 0.0
    for arrival in arrivals:  # an alert waits for the next post, which takes what has arrived
        if arrival < ready:
            continue
        now = arrival + bucket.wait(arrival)
        bucket.posting(now)
        sent.append(now)
        ready = now
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert max(gaps) <= 2.0 + 1e-9
    assert max(gaps[5:]) <= 1.0 + 1e-9
    window = SlidingWindow(5, 5.0)
    for t in sent:
        assert window.wait(t) == 0.0  # never more than Discord's 5 per 5 s
        window.record(t)


def test_discords_headers_replace_the_model() -> None:
    bucket = ChannelBucket(5, 5.0)
    bucket.posting(0.0)
    bucket.observe(BucketHeaders(limit=5, remaining=0, reset_after=2.0), 0.05)
    assert bucket.wait(1.0) == pytest.approx(1.05)  # Discord says: empty until 2.05
    assert bucket.wait(2.05) == 0.0
    bucket.posting(2.1)
    bucket.observe(BucketHeaders(limit=10, remaining=1, reset_after=5.0), 2.15)
    assert bucket.limit == 10
    assert bucket.wait(3.0) == 0.0
    bucket.posting(3.0)
    assert bucket.wait(3.5) == pytest.approx(7.15 - 3.5)  # the last one went: until the reset

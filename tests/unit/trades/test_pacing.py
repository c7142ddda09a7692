"""Discord's limits as delivery models them: sends go at once while there is room, pacing starts
only under pressure, and Discord's own headers win over the model once seen."""

from __future__ import annotations

import pytest

from bot.trades.pacing import BucketHeaders, ChannelBucket, SlidingWindow


def test_a_sliding_window_allows_limit_events_in_any_period() -> None:
    window = SlidingWindow(3, 1.0)
    for t in (0.0, 0.1, 0.2):
        assert window.wait(t) == 0.0
        window.record(t)
    assert window.wait(0.5) == pytest.approx(0.5)  # the event at 0.0 leaves the window at 1.0
    assert window.wait(1.0) == 0.0
    window.record(1.0)
    assert window.wait(1.05) == pytest.approx(0.05)  # 0.1 leaves at 1.1
    assert window.used(1.05) == 3


def post(bucket: ChannelBucket, now: float, *, backlog: bool = False) -> None:
    assert bucket.wait(now) == 0.0, f"had to wait at {now}"
    bucket.posting(now)
    bucket.posted(now + 0.01, backlog=backlog)


def test_one_alert_a_second_waits_at_most_its_jitter() -> None:
    """5 per 5 s is exactly one a second: a post a few ms earlier than five posts before it
    waits those few ms (the sixth in 5 s), never a pacing step."""
    bucket = ChannelBucket(5, 5.0)
    waits = []
    for second in range(30):
        now = second + 0.005 * (second % 3)  # a few ms of jitter either way
        waits.append(bucket.wait(now))
        now += waits[-1]
        bucket.posting(now)
        bucket.posted(now + 0.01, backlog=False)
    assert max(waits) <= 0.011
    assert not bucket.paced


def test_a_burst_goes_at_once_until_the_bucket_is_empty() -> None:
    bucket = ChannelBucket(5, 5.0)
    for n in range(5):
        post(bucket, n * 0.01)
    assert bucket.wait(0.1) == pytest.approx(4.9)  # the model: the first post leaves at 5.0


def test_pressure_paces_the_channel_at_the_sustained_rate_until_it_is_quiet() -> None:
    bucket = ChannelBucket(5, 5.0)
    for n in range(5):
        post(bucket, n * 0.2, backlog=True)  # alerts keep coming: the 5th empties the bucket
    assert bucket.paced
    assert bucket.wait(5.0) == pytest.approx(0.0)  # the bucket has room again at 5.0...
    post(bucket, 5.0, backlog=True)
    assert bucket.wait(5.2) == pytest.approx(0.8)  # ...but under pressure: one per second
    post(bucket, 6.0, backlog=True)
    assert bucket.wait(7.0) == 0.0
    post(bucket, 7.0)
    assert bucket.wait(20.0) == 0.0  # quiet for a whole period: no more pacing
    assert not bucket.paced


def test_discords_headers_replace_the_model() -> None:
    bucket = ChannelBucket(5, 5.0)
    bucket.posting(0.0)
    bucket.observe(BucketHeaders(limit=5, remaining=0, reset_after=2.0), 0.05)
    assert bucket.wait(1.0) == pytest.approx(1.05)  # Discord says: empty until 2.05
    assert bucket.wait(2.05) == 0.0
    bucket.posting(2.1)
    bucket.observe(BucketHeaders(limit=10, remaining=9, reset_after=5.0), 2.15)
    assert bucket.limit == 10
    for n in range(8):  # room for nine more, whatever the model would have said
        assert bucket.wait(2.2 + n * 0.01) == 0.0
        bucket.posting(2.2 + n * 0.01)
    assert bucket.wait(2.3) == 0.0
    bucket.posting(2.3)
    assert bucket.wait(2.31) == pytest.approx(7.15 - 2.31)

"""Discord's rate limits as alert delivery sees them: a channel's bucket, and sliding windows.

Pure: every method takes ``now`` (monotonic seconds), so the rules are tested without sleeping.

Discord lets a channel take a few messages per few seconds (5 per 5 s today) and a bot make 50
requests per second in all. The rules here are "no wait without a reason":

* The channel's bucket is a hard limit: Discord's own once its headers have been seen
  (``X-RateLimit-Remaining`` and ``-Reset-After`` of the last post); before that, a sliding
  window of ``limit`` posts per ``period`` stands in for it.
* Within it, a channel takes alerts at once up to a small burst (``BURST``, two) and then at
  the bucket's sustained rate, one per period/limit (a second). An alert at one a second, or
  two close together, never waits. Only a channel that receives more than that is paced, and
  what arrives meanwhile merges into the next message: spending the whole bucket in one burst
  would buy one fast second and then a wait of several for everything behind it. While a
  channel is being paced (it was, within the last period) it gets no new burst, so a busy
  channel settles at exactly the sustained rate instead of bursting and stalling each period.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

CHANNEL_LIMIT = 5  # Discord: messages per channel bucket (the headers give the real figure)
CHANNEL_PERIOD = 5.0  # seconds


class SlidingWindow:
    """At most ``limit`` events in any ``period`` seconds: a log of the last ``limit`` times."""

    def __init__(self, limit: int, period: float) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a window needs a positive limit and period")
        self.limit = limit
        self.period = period
        self._times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        times = self._times
        while times and now - times[0] >= self.period:
            times.popleft()
        if len(times) < self.limit:
            return 0.0
        return times[-self.limit] + self.period - now

    def record(self, now: float) -> None:
        self._times.append(now)
        while len(self._times) > self.limit:
            self._times.popleft()


class TokenBucket:
    """``rate`` events per second on average, at most ``capacity`` at once: spreads a burst, so
    requests reach Discord evenly and a second's count cannot bunch at a window's edge."""

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self._tokens = capacity
        self._updated: float | None = None

    def _refill(self, now: float) -> None:
        if self._updated is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def wait(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self._tokens -= 1


@dataclass(frozen=True, slots=True)
class BucketHeaders:
    """What Discord said about a channel's bucket in the answer to a post."""

    limit: int
    remaining: int
    reset_after: float  # seconds from when the answer arrived


BURST = 2  # alerts a quiet channel takes at once before pacing starts


class ChannelBucket:
    """One channel's posting budget: Discord's bucket when known, and its sustained rate."""

    def __init__(self, limit: int = CHANNEL_LIMIT, period: float = CHANNEL_PERIOD) -> None:
        self.limit = limit
        self.period = period
        self._model = SlidingWindow(limit, period)
        self._remaining: int | None = None  # from Discord's headers, once seen
        self._resets_at = 0.0
        self._pace = TokenBucket(min(BURST, limit), limit / period)
        self._paced_until = -math.inf  # a post waited for the sustained rate up to here

    def wait(self, now: float) -> float:
        """Seconds before the next post may go (0: now)."""
        pressed = now - self._paced_until < self.period
        self._pace.capacity = 1.0 if pressed else float(min(BURST, self.limit))
        pace = self._pace.wait(now)
        if pace > 0:
            self._paced_until = now + pace
        return max(self._bucket_wait(now), pace)

    def _bucket_wait(self, now: float) -> float:
        if self._remaining is None:
            return self._model.wait(now)
        if now >= self._resets_at or self._remaining > 0:
            return 0.0
        return self._resets_at - now

    def posting(self, now: float) -> None:
        """A post is about to go out (Discord's answer, if it has headers, corrects the count)."""
        self._model.record(now)
        self._pace.take(now)
        if self._remaining is not None and now < self._resets_at:
            self._remaining = max(0, self._remaining - 1)

    def observe(self, headers: BucketHeaders, now: float) -> None:
        """Discord's account of the bucket after a post: the truth from here on."""
        if headers.limit != self.limit and headers.limit >= 1:
            self.limit = headers.limit
            self._pace.rate = self.limit / self.period
        self._remaining = max(0, headers.remaining)
        self._resets_at = now + max(0.0, headers.reset_after)

"""Discord's rate limits as the fake applies them: per-channel message buckets and the global limit.

Fidelity: every answer to ``POST /channels/{id}/messages`` carries the bucket headers real Discord
sends (``X-RateLimit-Limit``, ``-Remaining``, ``-Reset``, ``-Reset-After``, ``-Bucket``,
``-Scope``), from a bucket of ``channel_limit`` posts that resets ``channel_period`` seconds
after the post that opened it (5 per 5 s). discord.py reads these headers and waits on its own
when a bucket is empty, as it does against Discord.

Enforcement is opt-in (``enforce_channel_limits``, ``enforce_global_limit``): when on, a post
past its channel's bucket, or any request past ``global_limit`` per rolling second (interaction
callbacks and webhooks are exempt, as on Discord), is answered 429 exactly as Discord answers
it, and counted in ``rate_limited_count``, so a benchmark or test can show the bot never meets
one.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class _Bucket:
    opened: float
    used: int = 0


@dataclass
class RateLimits:
    channel_limit: int = 5
    channel_period: float = 5.0
    global_limit: int = 50
    enforce_channel_limits: bool = False
    enforce_global_limit: bool = False
    _buckets: dict[int, _Bucket] = field(default_factory=dict)
    _recent: deque[float] = field(default_factory=deque)
    #: 429s answered because a limit was really exceeded (forced ones are not counted here).
    channel_429s: int = 0
    global_429s: int = 0

    def count_request(self, path: str, now: float | None = None) -> web.Response | None:
        """Count one request toward the global limit; a 429 when it is over (and enforced)."""
        if path.startswith(("/interactions/", "/webhooks/")):
            return None
        now = time.monotonic() if now is None else now
        recent = self._recent
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if self.enforce_global_limit and len(recent) >= self.global_limit:
            self.global_429s += 1
            retry_after = max(0.001, recent[0] + 1.0 - now)
            return too_many(retry_after, is_global=True, headers={})
        recent.append(now)
        return None

    def take_post(self, channel_id: int, now: float | None = None) -> tuple[dict[str, str], bool]:
        """One message post in a channel: the bucket headers to answer with, and whether the
        post is over the bucket (answer 429 when enforcing)."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(channel_id)
        if bucket is None or now - bucket.opened >= self.channel_period:
            bucket = self._buckets[channel_id] = _Bucket(opened=now)
        over = bucket.used >= self.channel_limit
        if not over:
            bucket.used += 1
        reset_after = max(0.0, bucket.opened + self.channel_period - now)
        headers = {
            "X-RateLimit-Limit": str(self.channel_limit),
            "X-RateLimit-Remaining": str(max(0, self.channel_limit - bucket.used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"channel-messages-{channel_id % 10**8:08d}",
            "X-RateLimit-Scope": "user",
        }
        if over and self.enforce_channel_limits:
            self.channel_429s += 1
            return headers, True
        return headers, False


def too_many(retry_after: float, *, is_global: bool, headers: dict[str, str]) -> web.Response:
    """Discord's 429: ``Via`` (else discord.py takes it for a Cloudflare ban), ``retry_after`` in
    the body and the headers."""
    body = {
        "message": "You are being rate limited.",
        "retry_after": round(retry_after, 3),
        "global": is_global,
        "code": 0,
    }
    # exactly application/json: discord.py treats "; charset=..." as text
    response = web.Response(
        body=json.dumps(body).encode(), status=429, content_type="application/json"
    )
    response.headers.update(headers)
    response.headers["Via"] = "1.1 google"
    response.headers["Retry-After"] = f"{retry_after:.3f}"
    if is_global:
        response.headers["X-RateLimit-Global"] = "true"
        response.headers["X-RateLimit-Scope"] = "global"
    return response

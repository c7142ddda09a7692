"""The one HTTP path to Polymarket: rate limits, timeouts, retries, and honest errors.

Everything that can go wrong upstream (429 with Retry-After, 5xx, Cloudflare HTML pages,
truncated JSON, timeouts) becomes either a retry or an ``UpstreamError``; never an unhandled
exception from aiohttp or the JSON decoder. Limits sit below the ones Polymarket publishes per
10 s (Gamma 4,000, Data API 1,000, CLOB 9,000, and lower for some routes, e.g. CLOB ``/book``
1,500) so we are throttled by ourselves, not by Cloudflare.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter
from yarl import URL

from bot.polymarket.rejections import Rejections

log = logging.getLogger(__name__)

MB = 1024 * 1024
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 524})


class UpstreamError(Exception):
    """An upstream call failed for good (after retries, or a non-retryable answer)."""

    def __init__(self, endpoint: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{endpoint}: {message}")
        self.endpoint = endpoint
        self.status = status


class _RetryableError(Exception):
    def __init__(self, message: str, status: int | None = None, wait: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.wait = wait


@dataclass(frozen=True)
class Limit:
    """``rate`` requests per ``period`` seconds."""

    rate: float
    period: float = 10.0


# ~80% of the published limits; the key is (host kind, path); "*" is the host's general limit.
DEFAULT_LIMITS: Mapping[str, Limit] = {
    "data:*": Limit(800),
    "data:/positions": Limit(120),
    "data:/closed-positions": Limit(120),
    # 87.5%: the reconciler checks up to 1,000 wallets a minute here (bot/trades/reconciler.py)
    "data:/trades": Limit(175),
    "gamma:*": Limit(3200),
    "gamma:/markets": Limit(240),
    "gamma:/events": Limit(400),
    "gamma:/public-search": Limit(280),
    "clob:*": Limit(7200),
    "clob:/book": Limit(1200),
    "clob:/price": Limit(1200),
    "clob:/midpoint": Limit(1200),
    "clob:/prices-history": Limit(800),
}


# Largest body read per route, so a runaway answer (100 MB was seen) costs at most this much
# memory. Real pages are far smaller: a leaderboard page ~20 KB, 100 positions ~100 KB, a search
# with its events ~1 MB. The key is (host kind, path) with "*" the host's default, as above.
DEFAULT_BODY_CAPS: Mapping[str, int] = {
    "data:*": 4 * MB,
    "gamma:*": 8 * MB,
    "gamma:/public-search": 16 * MB,
    "clob:*": 4 * MB,
}
MAX_REDIRECTS = 3  # each hop goes through the rate limiter; more than this is a loop
MAX_RETRY_AFTER = 600.0  # honour Retry-After up to 10 minutes: a bogus value cannot mute us
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def retry_after_seconds(
    headers: Mapping[str, str], body: Any, now: Callable[[], float] = time.time
) -> float | None:
    """Wait asked for by the server (``Retry-After`` seconds or HTTP-date, or a JSON
    ``retry_after_seconds``), bounded by ``MAX_RETRY_AFTER``; None when it asked nothing."""
    raw = headers.get("Retry-After")
    wait: float | None = None
    if raw is not None:
        try:
            wait = float(raw)
        except ValueError:
            try:
                wait = parsedate_to_datetime(raw).timestamp() - now()
            except (TypeError, ValueError, IndexError):
                wait = None
    elif isinstance(body, dict):
        for key in ("retry_after_seconds", "retry_after"):
            value = body.get(key)
            if isinstance(value, int | float):
                wait = float(value)
                break
    if wait is None or not math.isfinite(wait):
        return None
    return min(max(0.0, wait), MAX_RETRY_AFTER)


class _Redirect(Exception):
    def __init__(self, location: URL) -> None:
        super().__init__(str(location))
        self.location = location


class PolymarketHTTP:
    """Rate-limited, retrying JSON GETs against the three Polymarket hosts.

    Retry-After is honoured beyond the call that received it: the endpoint cools down until
    then, and a call that would have to wait longer than its budget (``max_wait``) fails at
    once without a request, so the loops' own backoff takes over instead of hammering.
    Redirects are followed by hand, at most ``MAX_REDIRECTS`` and only on the same host, each
    hop through the rate limiter. Bodies are read up to the route's cap and no further.
    ``rate_scale`` multiplies every limit (1 in production; tests against local fakes raise it)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        hosts: Mapping[str, str],
        timeout: float = 10.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        max_wait: float = 60.0,
        limits: Mapping[str, Limit] = DEFAULT_LIMITS,
        rate_scale: float = 1.0,
        body_caps: Mapping[str, int] = DEFAULT_BODY_CAPS,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._session = session
        self._hosts = dict(hosts)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_wait = max_wait
        self._sleep = sleep
        self._limiters = {
            # A bucket of one second's share refills continuously, so no 10 s window sees more
            # than rate + rate/period calls (a bucket of the whole `rate` allows ~2x at once).
            key: AsyncLimiter(rate_scale * limit.rate / limit.period, 1.0)
            for key, limit in limits.items()
        }
        self._body_caps = dict(body_caps)
        self._cooldown_until: dict[str, float] = {}  # endpoint -> monotonic end of Retry-After
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.rejections = Rejections()  # rows the parsers refused, for /admin status
        self.started_at = time.time()

    def _limiters_for(self, host: str, path: str) -> list[AsyncLimiter]:
        keys = (f"{host}:*", f"{host}:{path}")
        return [self._limiters[key] for key in keys if key in self._limiters]

    def body_cap(self, host: str, path: str) -> int:
        return self._body_caps.get(f"{host}:{path}", self._body_caps.get(f"{host}:*", 4 * MB))

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, at least a quarter of the step."""
        step = min(self._backoff_cap, self._backoff_base * 2.0**attempt)
        return step * (0.25 + 0.75 * random.random())

    async def _respect_cooldown(self, endpoint: str) -> None:
        """Wait out a Retry-After still running for ``endpoint`` if it fits the budget, else
        fail at once without asking (the caller's loop backs off)."""
        remaining = self._cooldown_until.get(endpoint, 0.0) - time.monotonic()
        if remaining <= 0:
            return
        if remaining > self._max_wait:
            self.failures[endpoint] += 1
            raise UpstreamError(
                endpoint, f"Polymarket asked us to wait {remaining:.0f}s more (Retry-After)", 429
            )
        await self._sleep(remaining)

    async def get_json(self, host: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` on ``host`` ("data", "gamma", "clob") and return the decoded JSON body."""
        base = self._hosts[host]
        endpoint = f"{host}:{path}"
        url = URL(base + path).with_query(
            {k: str(v) for k, v in (params or {}).items() if v is not None}
        )
        cap = self.body_cap(host, path)
        await self._respect_cooldown(endpoint)
        waited = 0.0
        attempt = hops = 0
        while True:
            try:
                for limiter in self._limiters_for(host, path):
                    await limiter.acquire()
                self.calls[endpoint] += 1
                return await self._attempt(endpoint, url, cap)
            except _Redirect as hop:
                hops += 1
                url = self._redirect_target(endpoint, base, hop.location, hops)
            except _RetryableError as exc:
                self.failures[endpoint] += 1
                wait = self._retry_wait(endpoint, exc, attempt, waited)
                log.warning("upstream %s: %s; retry %d in %.2fs", endpoint, exc, attempt + 1, wait)
                await self._sleep(wait)
                waited += wait
                attempt += 1
            except UpstreamError:
                self.failures[endpoint] += 1
                raise

    def _retry_wait(
        self, endpoint: str, exc: _RetryableError, attempt: int, waited: float
    ) -> float:
        """How long to wait before the next try, or ``UpstreamError`` when out of tries or
        budget. A Retry-After also cools the endpoint down for every other caller."""
        if exc.wait is not None and exc.wait > 0:
            self._cooldown_until[endpoint] = time.monotonic() + exc.wait
        if attempt >= self._max_retries:
            raise UpstreamError(
                endpoint, f"gave up after {attempt + 1} tries: {exc}", exc.status
            ) from None
        wait = exc.wait if exc.wait is not None else self._backoff(attempt)
        wait = max(wait, 0.05)
        if waited + wait > self._max_wait:
            raise UpstreamError(endpoint, f"retry wait too long after: {exc}", exc.status) from None
        return wait

    def _redirect_target(self, endpoint: str, base: str, location: URL, hops: int) -> URL:
        """The next hop of a redirect, if it stays on the configured host and within the limit."""
        if hops > MAX_REDIRECTS:
            self.failures[endpoint] += 1
            raise UpstreamError(endpoint, f"more than {MAX_REDIRECTS} redirects (a loop?)")
        if location.origin() != URL(base).origin():
            self.failures[endpoint] += 1
            raise UpstreamError(endpoint, f"redirected off host to {location.host}")
        return location

    async def _attempt(self, endpoint: str, url: URL, cap: int) -> Any:
        try:
            async with self._session.get(
                url, timeout=self._timeout, allow_redirects=False
            ) as response:
                status = response.status
                headers = response.headers
                location = headers.get("Location")
                if status in REDIRECT_STATUSES and location:
                    raise _Redirect(response.url.join(URL(location)))
                raw = await _read_capped(endpoint, response, cap)
                content_type = headers.get("Content-Type", "")
        except TimeoutError:
            raise _RetryableError("timeout") from None
        except aiohttp.ClientError as exc:
            raise _RetryableError(f"connection error: {type(exc).__name__}: {exc}") from None
        return _decode(endpoint, status, content_type, headers, raw)


async def _read_capped(endpoint: str, response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The body, or ``UpstreamError`` as soon as it is known to exceed ``cap`` bytes (the
    connection is then dropped unread, so memory never holds more than the cap)."""
    declared = response.content_length
    if declared is not None and declared > cap:
        raise UpstreamError(endpoint, f"body of {declared} bytes is over the {cap}-byte cap")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > cap:
            raise UpstreamError(endpoint, f"body is over the {cap}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(
    endpoint: str, status: int, content_type: str, headers: Mapping[str, str], raw: bytes
) -> Any:
    """The JSON of a 200, or the right error (retryable or not) for anything else."""
    body: Any = None
    is_json = "json" in content_type.lower()
    if is_json:
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            body = None
            if status == 200:
                raise _RetryableError("truncated or invalid JSON body", status) from None
    if status == 200:
        if not is_json:
            snippet = raw[:80].decode("utf-8", "replace").replace("\n", " ")
            raise _RetryableError(
                f"non-JSON 200 ({content_type or 'no type'}): {snippet!r}", status
            )
        return body
    if status in RETRYABLE_STATUSES:
        wait = retry_after_seconds(headers, body)
        kind = "rate limited" if status == 429 else "server error"
        raise _RetryableError(f"{kind} {status}", status, wait)
    if status == 403 and not is_json:
        # Cloudflare's bot/geo page: often transient under load, worth one more try later.
        raise _RetryableError("HTML 403 page (Cloudflare)", status)
    message = body.get("error") if isinstance(body, dict) else None
    raise UpstreamError(endpoint, f"HTTP {status}: {message or 'no error message'}", status)

"""The one HTTP path to Polymarket: rate limits, timeouts, retries, and honest errors.

Everything that can go wrong upstream (429 with Retry-After, 5xx, Cloudflare HTML pages,
truncated JSON, timeouts) becomes either a retry or an ``UpstreamError``; never an unhandled
exception from aiohttp or the JSON decoder. Limits sit below Polymarket's published ones
(../shared/polymarket-api.md §6) so we are throttled by ourselves, not by Cloudflare.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter

log = logging.getLogger(__name__)

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


def retry_after_seconds(headers: Mapping[str, str], body: Any) -> float | None:
    """Wait asked for by the server: ``Retry-After`` header or JSON ``retry_after_seconds``."""
    raw = headers.get("Retry-After")
    if raw is not None:
        try:
            return max(0.0, float(raw))
        except ValueError:
            return None  # an HTTP-date: rare here; fall back to our own backoff
    if isinstance(body, dict):
        for key in ("retry_after_seconds", "retry_after"):
            value = body.get(key)
            if isinstance(value, (int, float)):
                return max(0.0, float(value))
    return None


class PolymarketHTTP:
    """Rate-limited, retrying JSON GETs against the three Polymarket hosts."""

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
            key: AsyncLimiter(limit.rate / limit.period, 1.0)
            for key, limit in limits.items()
        }
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.started_at = time.time()

    def _limiters_for(self, host: str, path: str) -> list[AsyncLimiter]:
        keys = (f"{host}:*", f"{host}:{path}")
        return [self._limiters[key] for key in keys if key in self._limiters]

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, at least a quarter of the step."""
        step = min(self._backoff_cap, self._backoff_base * 2.0**attempt)
        return step * (0.25 + 0.75 * random.random())

    async def get_json(self, host: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` on ``host`` ("data", "gamma", "clob") and return the decoded JSON body."""
        base = self._hosts[host]
        endpoint = f"{host}:{path}"
        url = base + path
        clean_params = {k: str(v) for k, v in (params or {}).items() if v is not None}
        waited = 0.0
        attempt = 0
        while True:
            try:
                for limiter in self._limiters_for(host, path):
                    await limiter.acquire()
                self.calls[endpoint] += 1
                return await self._attempt(endpoint, url, clean_params)
            except _RetryableError as exc:
                self.failures[endpoint] += 1
                if attempt >= self._max_retries:
                    raise UpstreamError(
                        endpoint, f"gave up after {attempt + 1} tries: {exc}", exc.status
                    ) from None
                wait = exc.wait if exc.wait is not None else self._backoff(attempt)
                wait = max(wait, 0.05)
                if waited + wait > self._max_wait:
                    raise UpstreamError(
                        endpoint, f"retry wait too long after: {exc}", exc.status
                    ) from None
                log.warning("upstream %s: %s; retry %d in %.2fs", endpoint, exc, attempt + 1, wait)
                await self._sleep(wait)
                waited += wait
                attempt += 1
            except UpstreamError:
                self.failures[endpoint] += 1
                raise

    async def _attempt(self, endpoint: str, url: str, params: Mapping[str, str]) -> Any:
        try:
            async with self._session.get(url, params=params, timeout=self._timeout) as response:
                raw = await response.read()
                status = response.status
                content_type = response.headers.get("Content-Type", "")
                headers = response.headers
        except TimeoutError:
            raise _RetryableError("timeout") from None
        except aiohttp.ClientError as exc:
            raise _RetryableError(f"connection error: {type(exc).__name__}: {exc}") from None

        body: Any = None
        is_json = "json" in content_type.lower()
        if is_json:
            try:
                body = json.loads(raw)
            except ValueError:
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

"""Current outcome prices for alerts: CLOB midpoint, cached a few seconds, coalesced per token.

Alerts need "the market's current price" without delaying delivery, so a lookup is bounded
by a short timeout and answers None (shown as "—") rather than wait.
"""

from __future__ import annotations

import asyncio
import logging

from bot.cache import TTLCache
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.records import to_float

log = logging.getLogger(__name__)


class PriceService:
    def __init__(
        self, http: PolymarketHTTP, cache: TTLCache[float], *, timeout: float = 0.5
    ) -> None:
        self._http = http
        self._cache = cache
        self._timeout = timeout

    async def midpoint(self, token_id: str) -> float | None:
        if not token_id:
            return None
        try:
            return await asyncio.wait_for(
                self._cache.get(f"mid:{token_id}", lambda: self._fetch(token_id)), self._timeout
            )
        except Exception as exc:
            log.debug("no current price for %s: %s", token_id, exc)
            return self._cache.peek(f"mid:{token_id}")

    async def _fetch(self, token_id: str) -> float:
        body = await self._http.get_json("clob", "/midpoint", {"token_id": token_id})
        value = body.get("mid", body.get("mid_price")) if isinstance(body, dict) else None
        price = to_float(value, -1.0)
        if not 0.0 <= price <= 1.0:
            raise ValueError(f"no midpoint in {str(body)[:80]}")
        return price

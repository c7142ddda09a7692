"""Charts as the commands need them: rendered off the event loop, once per data version.

The one stateful piece of ``render/``: matplotlib takes ~100 ms per chart, so it runs in a
worker thread, and a trader's chart is kept per profile version (a profile changes when its
details are re-fetched), so repeated /trader calls cost no render at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.cache import HotCache, TTLCache
from bot.render.charts import pnl_chart, value_chart
from bot.render.text import display_name
from bot.traders.models import TraderProfile


class ChartRenderer:
    def __init__(self, cache: HotCache, *, ttl: float) -> None:
        self._charts: TTLCache[bytes] = cache.ttl_cache("charts", ttl=ttl, max_size=500)

    async def trader_pnl(self, profile: TraderProfile) -> bytes:
        wallet = profile.wallet
        title = f"{display_name(profile.name, wallet).replace(chr(92), '')} · cumulative PnL"
        version = f"{wallet}:{profile.details_at}:{len(profile.pnl_series)}"
        return await self._charts.get(
            version, lambda: asyncio.to_thread(pnl_chart, profile.pnl_series, title=title)
        )

    async def portfolio_value(self, points: Sequence[tuple[float, float]], title: str) -> bytes:
        return await asyncio.to_thread(value_chart, points, title=title)

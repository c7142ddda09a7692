"""Charts as the commands need them: titled, rendered off the event loop, once per data version.

The one stateful piece of ``render/``: matplotlib takes ~100 ms per chart, so it runs in a
worker thread, and a trader's chart is kept per profile version (a profile changes when its
details are re-fetched), so repeated /trader calls cost no render at all. With no history
there is nothing to draw: the commands then attach no image at all (None), rather than a
picture that says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.cache import HotCache, TTLCache
from bot.copytrading.models import ValuePoint
from bot.render.charts import pnl_chart, value_chart
from bot.render.numbers import duration, money, plural
from bot.render.text import display_name
from bot.traders.models import TraderProfile

DAY = 86_400.0


def period_text(points: Sequence[tuple[float, float]]) -> str:
    """The span the points cover, as a title says it: 'last 19h', 'last 45 days'."""
    if len(points) < 2:
        return ""
    times = [t for t, _ in points]
    span = max(times) - min(times)
    if span < 2 * DAY:
        return f" · last {duration(span)}"
    return f" · last {plural(round(span / DAY), 'day')}"


def latest(points: Sequence[tuple[float, float]]) -> float:
    return max(points)[1]


def pnl_subtitle(points: Sequence[tuple[float, float]]) -> str:
    """The PnL chart's headline: 'Cumulative PnL +$12.4K · last 365 days'."""
    return f"Cumulative PnL {money(latest(points), signed=True)}{period_text(points)}"


class ChartRenderer:
    def __init__(self, cache: HotCache, *, ttl: float) -> None:
        self._charts: TTLCache[bytes] = cache.ttl_cache("charts", ttl=ttl, max_size=500)

    async def trader_pnl(self, profile: TraderProfile) -> bytes | None:
        """The trader's cumulative PnL, or None when nothing is known of it."""
        points = profile.pnl_series
        if not points:
            return None
        wallet = profile.wallet
        title = display_name(profile.name or profile.pseudonym, wallet).replace("\\", "")
        subtitle = pnl_subtitle(points)
        version = f"{wallet}:{profile.details_at}:{len(points)}"
        return await self._charts.get(
            version,
            lambda: asyncio.to_thread(pnl_chart, points, title=title, subtitle=subtitle),
        )

    async def portfolio_value(self, history: Sequence[ValuePoint], owner: str) -> bytes | None:
        """The paper portfolio's hourly value, or None before its first snapshot."""
        points = [(p.at, p.value) for p in history]
        if not points:
            return None
        value = money(latest(points), exact=True)
        subtitle = f"Paper portfolio {value}{period_text(points)}"
        return await asyncio.to_thread(value_chart, points, title=owner, subtitle=subtitle)

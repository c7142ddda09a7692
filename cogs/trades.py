"""Lifecycle of the live trade path (stream, ingest writer, alert dispatcher) and its chores."""

from __future__ import annotations

import logging
import os
import resource

from discord.ext import commands

from bot.client import PolymarketBot
from bot.loops import PeriodicTask

log = logging.getLogger(__name__)

RETENTION_INTERVAL = 86_400.0
MEMORY_INTERVAL = 60.0


def rss_megabytes() -> float:
    """Current resident set size (Linux /proc), else the peak from getrusage."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TradesCog(commands.Cog):
    def __init__(self, bot: PolymarketBot) -> None:
        self.bot = bot
        self.retention = bot.register_loop(
            PeriodicTask("trade-retention", RETENTION_INTERVAL, self.prune_old_trades)
        )
        self.memory = bot.register_loop(PeriodicTask("memory", MEMORY_INTERVAL, self.log_memory))

    async def cog_load(self) -> None:
        self.bot.ingest.start()
        await self.bot.alerts.start()
        self.bot.stream.start()
        self.retention.start()
        self.memory.start()

    async def cog_unload(self) -> None:
        await self.bot.stream.stop()
        await self.bot.ingest.stop()
        await self.bot.alerts.close()
        await self.retention.stop()
        await self.memory.stop()

    async def prune_old_trades(self) -> None:
        days = self.bot.settings.trades_retention_days
        deleted = await self.bot.ingest.prune(days)
        log.info("retention: deleted %d trades older than %g days", deleted, days)

    async def log_memory(self) -> None:
        rss = rss_megabytes()
        if rss > self.bot.settings.memory_warn_mb:
            log.warning(
                "RSS %.0f MB is above MEMORY_WARN_MB=%g", rss, self.bot.settings.memory_warn_mb
            )
        else:
            log.info("RSS %.0f MB", rss)


async def setup(bot: PolymarketBot) -> None:
    await bot.add_cog(TradesCog(bot))

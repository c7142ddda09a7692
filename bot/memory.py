"""The memory chore: RSS measured for real, logged every minute, a warning above a threshold.

The bot runs on small hosts where an OOM kill is silent; the warning is the only early sign.
"""

from __future__ import annotations

import logging
import os
import resource

log = logging.getLogger(__name__)

MEMORY_INTERVAL = 60.0


def rss_megabytes() -> float:
    """Current resident set size (Linux /proc), else the peak from getrusage."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class MemoryWatch:
    """The body of the "memory" loop (every process measures itself)."""

    def __init__(self, warn_mb: float) -> None:
        self.warn_mb = warn_mb

    async def check(self) -> float:
        rss = rss_megabytes()
        if rss > self.warn_mb:
            log.warning("RSS %.0f MB is above MEMORY_WARN_MB=%g", rss, self.warn_mb)
        else:
            log.info("RSS %.0f MB", rss)
        return rss

"""The memory chore: RSS is measured for real and a warning fires above MEMORY_WARN_MB.

The bot runs on small hosts where an OOM kill is silent; the warning is the only early sign.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.loops import PeriodicTask
from cogs import trades as trades_cog
from cogs.trades import TradesCog, rss_megabytes


@dataclass
class StandInSettings:
    memory_warn_mb: float
    trades_retention_days: float = 30.0


@dataclass
class StandInBot:
    """Just what TradesCog's constructor and log_memory touch."""

    settings: StandInSettings
    loops: dict[str, PeriodicTask] = field(default_factory=dict)

    def register_loop(self, loop: PeriodicTask) -> PeriodicTask:
        self.loops[loop.name] = loop
        return loop


def make_cog(warn_mb: float) -> tuple[TradesCog, StandInBot]:
    bot = StandInBot(StandInSettings(memory_warn_mb=warn_mb))
    stand_in: Any = bot
    return TradesCog(stand_in), bot


def test_rss_is_a_plausible_number_of_megabytes() -> None:
    rss = rss_megabytes()
    # A Python process with discord.py and asyncpg imported: more than 1 MB, far less than 1 TB.
    assert 1 < rss < 1_000_000


def test_rss_falls_back_to_getrusage_without_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_proc(*_: object, **__: object) -> None:
        raise OSError("no /proc here")

    monkeypatch.setattr("builtins.open", no_proc)
    assert rss_megabytes() > 1


def test_the_cog_registers_its_loops() -> None:
    _, bot = make_cog(512)
    assert set(bot.loops) == {"trade-retention", "memory"}
    assert bot.loops["memory"].interval == trades_cog.MEMORY_INTERVAL


async def test_warns_above_the_threshold(caplog: pytest.LogCaptureFixture) -> None:
    cog, _ = make_cog(warn_mb=0.5)  # any live process is above half a megabyte
    with caplog.at_level(logging.INFO, logger="cogs.trades"):
        await cog.log_memory()
    (record,) = [r for r in caplog.records if r.name == "cogs.trades"]
    assert record.levelno == logging.WARNING
    assert "above MEMORY_WARN_MB=0.5" in record.getMessage()


async def test_only_informs_below_the_threshold(caplog: pytest.LogCaptureFixture) -> None:
    cog, _ = make_cog(warn_mb=10_000_000)
    with caplog.at_level(logging.INFO, logger="cogs.trades"):
        await cog.log_memory()
    (record,) = [r for r in caplog.records if r.name == "cogs.trades"]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("RSS ")


async def test_the_threshold_is_compared_with_the_measured_rss(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(trades_cog, "rss_megabytes", lambda: 600.0)
    cog, bot = make_cog(warn_mb=600.0)
    with caplog.at_level(logging.INFO, logger="cogs.trades"):
        await cog.log_memory()  # equal is not above
        bot.settings.memory_warn_mb = 599.0
        await cog.log_memory()
    levels = [r.levelno for r in caplog.records if r.name == "cogs.trades"]
    assert levels == [logging.INFO, logging.WARNING]

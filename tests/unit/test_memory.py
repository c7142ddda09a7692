"""The memory chore: RSS is measured for real and a warning fires above MEMORY_WARN_MB.

The bot runs on small hosts where an OOM kill is silent; the warning is the only early sign.
"""

from __future__ import annotations

import logging

import pytest

from bot import memory
from bot.memory import MemoryWatch, rss_megabytes


def test_rss_is_a_plausible_number_of_megabytes() -> None:
    rss = rss_megabytes()
    # A Python process with discord.py and asyncpg imported: more than 1 MB, far less than 1 TB.
    assert 1 < rss < 1_000_000


def test_rss_falls_back_to_getrusage_without_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_proc(*_: object, **__: object) -> None:
        raise OSError("no /proc here")

    monkeypatch.setattr("builtins.open", no_proc)
    assert rss_megabytes() > 1


async def test_warns_above_the_threshold(caplog: pytest.LogCaptureFixture) -> None:
    watch = MemoryWatch(warn_mb=0.5)  # any live process is above half a megabyte
    with caplog.at_level(logging.INFO, logger="bot.memory"):
        await watch.check()
    (record,) = [r for r in caplog.records if r.name == "bot.memory"]
    assert record.levelno == logging.WARNING
    assert "above MEMORY_WARN_MB=0.5" in record.getMessage()


async def test_only_informs_below_the_threshold(caplog: pytest.LogCaptureFixture) -> None:
    watch = MemoryWatch(warn_mb=10_000_000)
    with caplog.at_level(logging.INFO, logger="bot.memory"):
        await watch.check()
    (record,) = [r for r in caplog.records if r.name == "bot.memory"]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("RSS ")


async def test_the_threshold_is_compared_with_the_measured_rss(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(memory, "rss_megabytes", lambda: 600.0)
    watch = MemoryWatch(warn_mb=600.0)
    with caplog.at_level(logging.INFO, logger="bot.memory"):
        await watch.check()  # equal is not above
        watch.warn_mb = 599.0
        await watch.check()
    levels = [r.levelno for r in caplog.records if r.name == "bot.memory"]
    assert levels == [logging.INFO, logging.WARNING]

"""/healthz and /metrics of an application built as ``python -m bot`` builds it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import asyncpg
import pytest

from bot.app import Application, open_application
from bot.client import ShardedPolymarketBot
from bot.config import Settings
from bot.monitoring.server import MonitoringServer
from tests.e2e.cluster_harness import free_port


@pytest.fixture
async def app(pool: asyncpg.Pool) -> AsyncIterator[Application]:
    settings = Settings(discord_token="t", rtds_url="ws://127.0.0.1:9", metrics_port=free_port())
    async with open_application(settings, pool=pool) as app:
        yield app


async def test_health_says_why_it_is_not_ready_and_metrics_read_every_part(
    app: Application,
) -> None:
    report = await app.health.check()
    assert not report.ok
    assert report.reasons == [
        "discord: not connected yet",
        "leaderboard not loaded yet: day, week, month, all",
    ]
    assert report.body()["leader"] is False and report.body()["status"] == "unhealthy"

    app.reconciler.stats.missed_while_connected = 3  # what the health signal reads
    text = (await app.metrics.render()).decode()
    assert "polybot_stream_missed_trades_total 3.0" in text
    for name in (
        "polybot_loop_runs_total",
        "polybot_worker_running",
        "polybot_cache_entries",
        "polybot_stream_messages_total",
        "polybot_reconcile_rounds_total",
        "polybot_gap_recovered_trades_total",
        "polybot_alert_queue_depth 0.0",  # read from PostgreSQL at scrape time
        "polybot_alerts_sent_total",
        "polybot_orders_created_total",
        "polybot_leader 0.0",
        "polybot_cluster_coordination_queries_total",
        "polybot_cluster_events_refused_total 0.0",
        "polybot_rss_bytes",
        "polybot_trade_to_alert_seconds_bucket",
    ):
        assert name in text, name


async def test_the_server_answers_503_with_reasons_then_200(app: Application) -> None:
    assert app.monitoring is not None
    server: MonitoringServer = app.monitoring
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{server.port}/healthz") as response:
                assert response.status == 503
                assert "discord: not connected yet" in (await response.json())["reasons"]
            app.bot.gateway_problem = lambda: None  # type: ignore[method-assign]
            for period in ("day", "week", "month", "all"):
                app.cache.snapshot(f"leaderboard:{period}").swap(object())
            async with http.get(f"http://127.0.0.1:{server.port}/healthz") as response:
                assert response.status == 200 and (await response.json())["status"] == "ok"
            async with http.get(f"http://127.0.0.1:{server.port}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                assert "polybot_leader" in await response.text()
    finally:
        await server.stop()


async def test_shard_settings_make_a_sharded_client_for_those_shards(pool: asyncpg.Pool) -> None:
    settings = replace(
        Settings(discord_token="t"), shard_count=4, shard_ids=(1, 3), database_url="x"
    )
    async with open_application(settings, pool=pool) as app:
        assert isinstance(app.bot, ShardedPolymarketBot)
        assert app.bot.shard_count == 4 and app.bot.shard_ids == [1, 3]
        assert app.identity.shards == (1, 3)

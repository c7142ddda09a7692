"""PostgreSQL away while trades flow and alerts go out: nothing lost, nothing doubled.

The bot reaches PostgreSQL through a link the test can cut (PostgreSQL down) or freeze
(PostgreSQL hung) (tests/fakes/pg_link.py). The fake Discord forgets nonces after a moment, as
Discord does after a few minutes, so a message posted twice would show up twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from db.migrate import migrate
from db.pool import create_pool
from tests.e2e.harness import running_bot, settings_for, streaming_bot, wait_until
from tests.e2e.test_trade_alerts import alerted_txs, follow
from tests.fakes.discord import FakeDiscord
from tests.fakes.pg_link import PostgresLink
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS

pytestmark = pytest.mark.polymarket(n_traders=8, seed=23)


@pytest.fixture
async def linked_pool(link: PostgresLink) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(link.dsn, max_size=5)
    async with pool.acquire() as conn:
        await migrate(conn)
    yield pool
    pool.terminate()


async def test_postgresql_down_then_frozen_while_trades_flow_loses_and_doubles_nothing(
    discord_fake: FakeDiscord,
    polymarket: FakePolymarket,
    rtds: FakeRTDS,
    linked_pool: asyncpg.Pool,
    link: PostgresLink,
) -> None:
    discord_fake.nonce_ttl = 0.5
    async with streaming_bot(discord_fake, polymarket, rtds, linked_pool) as app:
        wallet = sorted(polymarket.traders)[0]
        channel = discord_fake.other_channel_id
        await follow(discord_fake, wallet, channel)
        pushed: list[str] = []

        async def trades(count: int) -> None:
            for n in range(count):
                payload = rtds.make_payload(wallet=wallet, size=10 + len(pushed), price=0.5)
                pushed.append(payload["transactionHash"].lower())
                await rtds.push(payload)
                await asyncio.sleep(0.15 if n % 3 else 0.4)

        await trades(4)
        link.cut()  # PostgreSQL goes down for 3 s while trades keep coming
        await trades(8)
        await asyncio.sleep(1.0)
        link.restore()
        await trades(4)
        link.freeze()  # then hangs for 2 s
        await trades(6)
        await asyncio.sleep(0.5)
        link.thaw()
        await trades(4)
        await wait_until(lambda: set(alerted_txs(discord_fake, channel)) >= set(pushed), 60)
        await asyncio.sleep(1.0)
        counts = Counter(alerted_txs(discord_fake, channel))
        assert set(counts) == set(pushed) and max(counts.values()) == 1
        assert app.ingest.stats.write_failures >= 1  # the outage really hit the writer


class CuttingDiscord(FakeDiscord):
    """Cuts the bot's link to PostgreSQL the moment it stores an alert: the bot hears Discord's
    answer but cannot write it down."""

    link: PostgresLink | None = None

    def _store(self, message: dict[str, Any]) -> dict[str, Any]:
        stored = super()._store(message)
        if self.link is not None and message.get("embeds"):
            self.link.cut()
            self.link = None
        return stored


async def test_a_message_sent_while_postgresql_went_away_is_recorded_not_posted_again(
    polymarket: FakePolymarket,
    rtds: FakeRTDS,
    linked_pool: asyncpg.Pool,
    link: PostgresLink,
) -> None:
    async with (
        CuttingDiscord(interaction_timeout=None) as discord_fake,
        streaming_bot(discord_fake, polymarket, rtds, linked_pool) as app,
    ):
        discord_fake.nonce_ttl = 0.5  # the outage outlasts Discord's memory of the nonce
        wallet = sorted(polymarket.traders)[1]
        channel = discord_fake.other_channel_id
        await follow(discord_fake, wallet, channel)
        discord_fake.link = link
        payload = rtds.make_payload(wallet=wallet, size=42, price=0.5)
        await rtds.push(payload)
        await wait_until(lambda: alerted_txs(discord_fake, channel), 10)
        await asyncio.sleep(3.0)  # PostgreSQL stays away well past the nonce's memory
        link.restore()
        await wait_until(lambda: app.alerts.stats.remembered == 1, 60)
        await asyncio.sleep(1.0)
        assert alerted_txs(discord_fake, channel) == [payload["transactionHash"].lower()]
        counts = await app.alerts.pending_counts()
        assert counts == {"SENT": 1}


class SlowAnswerDiscord(FakeDiscord):
    """Holds its answer to alert posts (after storing them) while ``hold`` is set up: the bot
    stops before it hears that Discord posted."""

    hold: asyncio.Event | None = None

    async def _handle_api(self, request: Any, handler: Any) -> Any:
        response = await super()._handle_api(request, handler)
        if self.hold is not None and request.method == "POST" and "/messages" in request.path:
            await self.hold.wait()
        return response


@pytest.fixture
async def discord_slow() -> AsyncIterator[SlowAnswerDiscord]:
    async with SlowAnswerDiscord(interaction_timeout=None) as fake:
        yield fake


async def test_a_restart_after_discord_forgot_the_nonce_finds_the_posted_alert_in_the_channel(
    discord_slow: SlowAnswerDiscord,
    polymarket: FakePolymarket,
    rtds: FakeRTDS,
    linked_pool: asyncpg.Pool,
) -> None:
    discord_fake = discord_slow
    wallet = sorted(polymarket.traders)[2]
    channel = discord_fake.other_channel_id
    payload = rtds.make_payload(wallet=wallet, size=42, price=0.5)
    async with streaming_bot(discord_fake, polymarket, rtds, linked_pool):
        await follow(discord_fake, wallet, channel)
        discord_fake.hold = asyncio.Event()
        await rtds.push(payload)
        await wait_until(lambda: alerted_txs(discord_fake, channel), 10)
    # The bot stopped before it heard Discord's answer; it comes back after Discord forgot.
    await linked_pool.execute(
        "UPDATE alert_messages SET created_at = now() - interval '10 minutes'"
    )
    discord_fake.nonce_ttl = 0
    assert discord_fake.hold is not None
    discord_fake.hold.set()
    discord_fake.hold = None
    settings = settings_for(discord_fake, polymarket, rtds.url)
    async with running_bot(discord_fake, linked_pool, settings) as app:
        await wait_until(lambda: app.alerts.stats.found_posted == 1, 20)
        await asyncio.sleep(1.0)
        assert alerted_txs(discord_fake, channel) == [payload["transactionHash"].lower()]
        assert await app.alerts.pending_counts() == {"SENT": 1}

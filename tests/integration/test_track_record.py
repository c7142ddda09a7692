"""TrackRecordService on real PostgreSQL and the fake Gamma: recorded from the outbox, marked
at +1 h / +24 h, settled at resolution, summarised per server, kind and period."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import asyncpg
import pytest

from bot.cache import HotCache
from bot.polymarket.gamma import GammaAPI
from bot.polymarket.http import PolymarketHTTP
from bot.trackrecord.returns import DAY, HOUR
from bot.trackrecord.service import TrackRecordService
from tests.factories import Clock
from tests.fakes.polymarket import FakeMarket, FakePolymarket

GUILD, OTHER_GUILD = 111, 222


@pytest.fixture
async def fake() -> AsyncIterator[FakePolymarket]:
    fake = FakePolymarket(n_traders=0, seed=17)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def service(
    fake: FakePolymarket, pool: asyncpg.Pool, clock: Clock
) -> AsyncIterator[TrackRecordService]:
    async with aiohttp.ClientSession() as session:
        http = PolymarketHTTP(
            session,
            hosts={"data": fake.base_url, "gamma": fake.base_url, "clob": fake.base_url},
            timeout=2.0,
            max_retries=0,
        )
        yield TrackRecordService(pool, GammaAPI(http), HotCache(), interval=300, clock=clock)


def open_markets(fake: FakePolymarket) -> list[FakeMarket]:
    return [m for m in fake.markets if not m.closed]


async def alerted(
    pool: asyncpg.Pool,
    key: str,
    market: FakeMarket,
    *,
    price: float,
    side: str = "BUY",
    sent_at: float,
    to: list[tuple[int, int, str, str]],
) -> None:
    """A stored trade on ``market``'s first outcome and its deliveries: (guild, channel, kind,
    status) each, as the alert outbox holds them."""
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO trades (trade_key, wallet, asset, condition_id, side, size, price,"
            " traded_at, transaction_hash, outcome, title, source)"
            " VALUES ($1, $2, $3, $4, $5, 100, $6, now(), $1, $7, $8, 'stream')",
            key,
            "0x" + "9" * 40,
            market.token_ids[0],
            market.condition_id,
            side,
            price,
            market.outcomes[0],
            market.title,
        )
        for guild, channel, kind, status in to:
            await conn.execute(
                "INSERT INTO alert_deliveries (trade_key, channel_id, guild_id, kind, status,"
                " sent_at) VALUES ($1, $2, $3, $4, $5, $6)",
                key,
                channel,
                guild,
                kind,
                status,
                datetime.fromtimestamp(sent_at, tz=UTC) if status == "SENT" else None,
            )


async def test_alerts_are_recorded_once_per_server_and_kind(
    service: TrackRecordService, fake: FakePolymarket, pool: asyncpg.Pool, clock: Clock
) -> None:
    market = open_markets(fake)[0]
    sent = clock.now
    await alerted(
        pool, "a", market, price=0.4, sent_at=sent,
        to=[(GUILD, 1, "follow", "SENT"), (GUILD, 2, "follow", "SENT"),
            (GUILD, 3, "whale", "SENT"), (OTHER_GUILD, 4, "follow", "SENT")],
    )  # fmt: skip
    await alerted(
        pool, "pending", market, price=0.4, sent_at=sent, to=[(GUILD, 1, "follow", "PENDING")]
    )
    await alerted(pool, "junk", market, price=1.0, sent_at=sent, to=[(GUILD, 1, "follow", "SENT")])
    first = await service.run()
    assert first.recorded == 3  # (GUILD, follow), (GUILD, whale), (OTHER_GUILD, follow)
    assert (await service.run()).recorded == 0
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM alert_outcomes") == 1
    everything = await service.summary(GUILD, "all", "month")
    assert everything.alerts == 1  # one trade, however many channels and kinds
    assert (await service.summary(GUILD, "whales", "month")).alerts == 1
    assert (await service.summary(GUILD, "smart", "month")).alerts == 0
    assert (await service.summary(OTHER_GUILD, "whales", "month")).alerts == 0
    assert (await service.summary(999, "all", "all")).alerts == 0


async def test_marks_at_one_hour_and_a_day_then_settlement(
    service: TrackRecordService, fake: FakePolymarket, pool: asyncpg.Pool, clock: Clock
) -> None:
    market = open_markets(fake)[1]
    token = market.token_ids[0]
    fake.set_price(token, 0.40)
    await alerted(
        pool, "b", market, price=0.40, sent_at=clock.now, to=[(GUILD, 1, "follow", "SENT")]
    )
    await service.run()
    summary = await service.summary(GUILD, "all", "week")
    assert summary.alerts == 1 and summary.marked_1h == 0 and summary.open == 1
    assert summary.average_return == pytest.approx(0.0)  # marked at the alert price

    fake.set_price(token, 0.50)
    clock.now += HOUR + 60
    await service.run()
    summary = await service.summary(GUILD, "all", "week")
    assert (summary.moved_1h, summary.marked_1h) == (1, 1)
    assert summary.average_return == pytest.approx(0.10 / 0.40)  # +10 cents: +25%

    fake.set_price(token, 0.30)
    clock.now += DAY - HOUR  # +24 h and a minute
    await service.run()
    summary = await service.summary(GUILD, "all", "week")
    assert (summary.moved_24h, summary.marked_24h) == (0, 1)
    assert (summary.moved_1h, summary.marked_1h) == (1, 1)  # kept

    fake.resolve_market(market.condition_id, 0)
    clock.now += HOUR
    settled = await service.run()
    assert settled.settled == 1
    summary = await service.summary(GUILD, "all", "week")
    assert summary.open == 0 and summary.average_return == pytest.approx(0.6 / 0.4)
    # settled once: a later price (there is none for a resolved market) changes nothing
    assert (await service.run()).marked == 0
    # older than a week: out of the week, still in the month
    clock.now += 7 * DAY
    service._summaries.clear()
    assert (await service.summary(GUILD, "all", "week")).alerts == 0
    assert (await service.summary(GUILD, "all", "month")).alerts == 1


async def test_a_gamma_outage_marks_nothing_and_the_next_pass_catches_up(
    service: TrackRecordService, fake: FakePolymarket, pool: asyncpg.Pool, clock: Clock
) -> None:
    market = open_markets(fake)[2]
    await alerted(pool, "c", market, price=0.3, sent_at=clock.now, to=[(GUILD, 1, "whale", "SENT")])
    fake.fail_all("503_html")
    result = await service.run()
    assert result.recorded == 1 and result.marked == 0
    fake.fail_all(None)
    assert (await service.run()).marked == 1


async def test_the_trader_record_counts_every_server(
    service: TrackRecordService, fake: FakePolymarket, pool: asyncpg.Pool, clock: Clock
) -> None:
    market = open_markets(fake)[3]
    await alerted(
        pool, "d", market, price=0.5, sent_at=clock.now, to=[(GUILD, 1, "follow", "SENT")]
    )
    await alerted(
        pool, "e", market, price=0.6, side="SELL", sent_at=clock.now,
        to=[(OTHER_GUILD, 2, "whale", "SENT")],
    )  # fmt: skip
    await service.run()
    record = await service.trader_summary("0x" + "9" * 40)
    assert record.alerts == 2 and record.returns == 2

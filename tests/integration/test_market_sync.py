"""The markets loop: describes markets seen in trades, and does not re-ask Gamma about misses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from bot.cache import HotCache
from bot.markets.prices import PriceService
from bot.markets.service import MarketService
from bot.polymarket.gamma import ClobAPI, GammaAPI
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.records import Trade, trade_key
from db import trade_queries
from tests.fakes.polymarket import FakePolymarket


@pytest.fixture
async def service(pool: asyncpg.Pool) -> AsyncIterator[tuple[MarketService, FakePolymarket]]:
    fake = FakePolymarket(n_traders=0, seed=9)
    await fake.start()
    async with aiohttp.ClientSession() as session:
        http = PolymarketHTTP(
            session, hosts={"data": fake.base_url, "gamma": fake.base_url, "clob": fake.base_url}
        )
        cache = HotCache()
        prices = PriceService(
            pool,
            GammaAPI(http),
            ClobAPI(http),
            cache,
        )
        yield MarketService(pool, GammaAPI(http), prices, cache), fake
    await fake.stop()


def trade_in(condition_id: str, n: int) -> Trade:
    tx = f"0x{n:064x}"
    wallet = "0x" + "1" * 40
    return Trade(
        trade_key(tx, wallet, str(n), "BUY", 1.0, 0.5),
        wallet,
        str(n),
        condition_id,
        "BUY",
        1.0,
        0.5,
        1.8e9,
        tx,
        "Yes",
        "t",
        "s",
        "",
        "",
        "",
    )


async def test_markets_seen_in_trades_are_described_and_misses_are_not_asked_again(
    pool: asyncpg.Pool, service: tuple[MarketService, FakePolymarket]
) -> None:
    markets, fake = service
    known = fake.add_market("Will the loop describe me?")["conditionId"]
    unknown = "0x" + "e" * 64
    async with pool.acquire() as conn:
        await trade_queries.insert_trades(
            conn, [trade_in(known, 1), trade_in(unknown, 2)], "stream"
        )

    described, _ = await markets.sync()
    assert described == 1
    stored = await markets.by_condition(known)
    assert stored is not None and stored.question == "Will the loop describe me?"

    fake.reset_calls()
    assert await markets.sync() == (0, 0)
    assert fake.calls["/markets"] == 0  # the miss is remembered for a day

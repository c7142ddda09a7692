"""Paper copy-trading end to end: /copy start, a live trade, /portfolio, resolution, settlement."""

from __future__ import annotations

import asyncio
import json
import re
import struct
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.app import Application
from bot.events import Event, StoredTrade, TradersChanged, TradesStored
from tests.e2e.harness import first_refresh_done, running_bot, settings_for, wait_until
from tests.factories import make_trade
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS


@pytest.fixture
async def polymarket() -> AsyncIterator[FakePolymarket]:
    fake = FakePolymarket(n_traders=10, seed=41)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def app(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS, pool: asyncpg.Pool
) -> AsyncIterator[Application]:
    settings = settings_for(discord_fake, polymarket, rtds.url)
    async with running_bot(discord_fake, pool, settings) as app:
        await rtds.wait_for_subscribers(1)
        yield app


async def start_copy(
    discord_fake: FakeDiscord, wallet: str, budget_usd: float, per_trade_usd: float
) -> str:
    """``/copy start`` as the test's user; the bot's answer."""
    start = await discord_fake.invoke(
        "copy",
        {"trader": wallet, "budget_usd": budget_usd, "per_trade_usd": per_trade_usd},
        subcommand="start",
        user_id=discord_fake.user_id,
    )
    return str((await start.wait_response())["content"])


def fields_of(message: dict) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}


async def test_copy_a_trade_see_it_in_the_portfolio_and_settle_it(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    trader = sorted(polymarket.traders)[0]
    assert "Copying" in await start_copy(discord_fake, trader, 500, 100)

    market = polymarket.add_market("Will the copy pay?", prices=(0.4, 0.6), slug="copy-pay")
    yes_token = json.loads(market["clobTokenIds"])[0]
    payload = rtds.make_payload(
        wallet=trader,
        asset=yes_token,
        condition_id=market["conditionId"],
        side="BUY",
        size=250,
        price=0.4,
        title="Will the copy pay?",
        outcome="Yes",
    )
    await rtds.push(payload)
    await wait_until(lambda: app.copytrading.stats.orders_created >= 1, timeout=10)
    for _ in range(200):  # the order is written first, then filled against the book
        view = await app.copytrading.portfolio(discord_fake.guild_id, discord_fake.user_id)
        if view is not None and view.positions:
            break
        await asyncio.sleep(0.05)

    portfolio = await discord_fake.invoke("portfolio", {}, user_id=discord_fake.user_id)
    message = await portfolio.wait_response(timeout=10)
    fields = fields_of(message)
    assert "Will the copy pay?" in fields["Open positions"]
    assert "filled" in fields["Latest orders"]
    assert "image" not in message["embeds"][0] and not message.get("attachments")  # no history
    view = await app.copytrading.portfolio(discord_fake.guild_id, discord_fake.user_id)
    assert view is not None and view.positions and view.cash < 500

    assert await app.order_sync_loop.run_once()  # marks the position, writes a value snapshot
    charted = await discord_fake.invoke("portfolio", {}, user_id=discord_fake.user_id)
    message = await charted.wait_response(timeout=10)
    assert message["embeds"][0]["image"]["url"] == "attachment://portfolio.png"
    png = discord_fake.attachment_bytes[int(message["attachments"][0]["id"])]
    assert struct.unpack(">II", png[16:24])[0] >= 1200  # drawn for high-density screens

    polymarket.resolve_market(market["conditionId"], 0)  # "Yes" wins: 1 per share
    assert await app.order_sync_loop.run_once()
    settled = await app.copytrading.portfolio(discord_fake.guild_id, discord_fake.user_id)
    assert settled is not None and not settled.positions
    assert settled.realized_pnl > 0 and settled.win_rate == 1.0
    # a second sync changes nothing: settled exactly once
    assert await app.order_sync_loop.run_once()
    again = await app.copytrading.portfolio(discord_fake.guild_id, discord_fake.user_id)
    assert again is not None and again.cash == settled.cash

    stop = await discord_fake.invoke(
        "copy", {"trader": trader}, subcommand="stop", user_id=discord_fake.user_id
    )
    assert "Stopped copying" in (await stop.wait_response())["content"]


async def test_portfolio_of_someone_without_one_explains(
    app: Application, discord_fake: FakeDiscord
) -> None:
    interaction = await discord_fake.invoke("portfolio", {}, user_id=discord_fake.other_user_id)
    message = await interaction.wait_response()
    assert interaction.ephemeral and "/copy start" in message["content"]
    bad = await discord_fake.invoke(
        "copy",
        {"trader": "0x" + "1" * 40, "budget_usd": 10, "per_trade_usd": 50},
        subcommand="start",
        user_id=discord_fake.user_id,
    )
    assert "at most the budget" in (await bad.wait_response())["content"]


CENTS = r"[+\u2212]?\$[\d,]+\.\d\d"  # $1,093.71, +$3.20, −$0.57


async def test_portfolio_reads_to_the_cent_names_traders_and_merges_a_burst(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    trader = polymarket.traders[sorted(polymarket.traders)[1]]
    assert "$37.37 per fill" in await start_copy(discord_fake, trader.wallet, 1000, 37.37)
    market = polymarket.add_market("Will the burst merge?", prices=(0.4, 0.6), slug="burst")
    yes_token = json.loads(market["clobTokenIds"])[0]
    now = time.time()
    for i in range(3):  # one trade filled in three parts within seconds: one alert card
        await rtds.push(
            rtds.make_payload(
                wallet=trader.wallet,
                asset=yes_token,
                condition_id=market["conditionId"],
                size=100 + i,
                price=0.4,
                timestamp=now + i,
                title="Will the burst merge?",
                name=trader.user_name,
            )
        )
    await wait_until(lambda: app.copytrading.stats.orders_created >= 3, timeout=10)
    for _ in range(200):
        view = await app.copytrading.portfolio(discord_fake.guild_id, discord_fake.user_id)
        if view is not None and view.positions and all(o.status != "PLACED" for o in view.orders):
            break
        await asyncio.sleep(0.05)
    assert await app.order_sync_loop.run_once()

    interaction = await discord_fake.invoke("portfolio", {}, user_id=discord_fake.user_id)
    message = await interaction.wait_response(timeout=10)
    embed = message["embeds"][0]
    assert re.search(rf"paper portfolio · {CENTS}$", embed["title"]), embed["title"]
    assert re.match(rf"Cash \*\*{CENTS}\*\* of \$1,000\.00 deposited", embed["description"])
    assert re.search(rf"PnL \*\*{CENTS}\*\*", embed["description"])
    assert "-$" not in str(embed) and "$0.00K" not in str(embed)
    fields = fields_of(message)
    assert trader.user_name in fields["Copying"] and trader.wallet[:6] not in fields["Copying"]
    orders = fields["Latest orders"].splitlines()
    assert len(orders) == 1, orders  # three fills of one burst, one line
    line = orders[0]
    assert "3 fills" in line and " sh @ 4" in line and "¢" in line and "<t:" in line
    assert trader.user_name in line
    assert embed["color"] != 0xE74C3C  # a few dollars of slippage is no red alarm


async def test_a_stored_batch_is_one_event_and_each_subscriber_handles_all_of_it(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, pool: asyncpg.Pool
) -> None:
    """A backfill of several traders' trades: one TradesStored, and still every trade of the
    copied trader gets its order, every trader's profile goes stale, every trader's score
    inputs expire and every trader reaches the other processes in a TradersChanged."""
    await first_refresh_done(app)
    copied, other = (polymarket.traders[w] for w in sorted(polymarket.traders)[2:4])
    assert "$5.00 per fill" in await start_copy(discord_fake, copied.wallet, 100, 5)
    market = polymarket.add_market("Will the batch split?", prices=(0.4, 0.6), slug="batch")
    yes_token = json.loads(market["clobTokenIds"])[0]
    wallets = [copied.wallet, other.wallet, copied.wallet, copied.wallet, other.wallet]
    trades = [  # recent fills as the reconciler hands them over
        make_trade(
            wallet=w,
            asset=yes_token,
            condition_id=market["conditionId"],
            size=20.0,
            price=0.4,
            timestamp=time.time() - 5,
        )
        for w in wallets
    ]
    for wallet in (copied.wallet, other.wallet):
        await app.profiles.get(wallet)  # cached, fresh
    assert all(app.trader_stats.fetched_at.get(w, 0.0) > 0 for w in (copied.wallet, other.wallet))
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    app.bus.subscribe(TradesStored, record)
    app.bus.subscribe(TradersChanged, record)
    stale_before = app.profiles.cache_stats.stale
    new = await app.ingest.store_each(trades, "reconcile")
    assert len(new) == 5
    keys = {t.key for t in trades}
    await wait_until(lambda: any(isinstance(e, TradersChanged) for e in seen))
    batches = [
        e for e in seen if isinstance(e, TradesStored) and keys & {t.trade_key for t in e.trades}
    ]
    assert batches == [TradesStored(tuple(StoredTrade(t.wallet, t.key) for t in new))]
    changed = {w for e in seen if isinstance(e, TradersChanged) for w in e.wallets}
    assert {copied.wallet, other.wallet} <= changed
    assert app.trader_stats.fetched_at[copied.wallet] == 0.0
    assert app.trader_stats.fetched_at[other.wallet] == 0.0
    for wallet in (copied.wallet, other.wallet):
        await app.profiles.get(wallet)  # served stale while it reloads
    assert app.profiles.cache_stats.stale == stale_before + 2
    copied_keys = [t.key for t in new if t.wallet == copied.wallet]

    async def order_keys() -> list[str]:
        rows = await pool.fetch("SELECT trade_key FROM paper_orders ORDER BY id")
        return [r["trade_key"] for r in rows if r["trade_key"] in keys]

    for _ in range(200):
        if len(await order_keys()) == 3:
            break
        await asyncio.sleep(0.05)
    assert await order_keys() == copied_keys  # one order per trade, in the batch's order

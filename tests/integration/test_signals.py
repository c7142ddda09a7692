"""Signals through the real ingest, against real PostgreSQL and the fake Polymarket over HTTP.

The promises under test: each kind fires for the right trade and not the wrong one; a
consensus fires once per outcome and channel however its trades arrive (duplicates, a fourth
trader, a restart); lookups are learnt once and never made for small trades; category filters
hold for follows, whales and signals; a slow upstream costs a signal, never a follow.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.events import EventBus
from bot.polymarket.accounts import AccountsAPI
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.records import Trade
from bot.polymarket.tags import MarketTagsAPI
from bot.signals import lookups
from bot.signals.service import SignalService
from bot.trades.follows import FollowService
from bot.trades.ingest import TradeIngest
from tests import factories
from tests.fakes.polymarket import FakePolymarket

GUILD = 1


def wallet(n: int) -> str:
    return f"0x{n:040x}"


TOP = [wallet(1000 + n) for n in range(1, 61)]  # rank n+1 by copy score


@dataclass
class World:
    pool: asyncpg.Pool
    fake: FakePolymarket
    http: PolymarketHTTP
    follows: FollowService
    signals: SignalService
    ingest: TradeIngest
    bus: EventBus

    def market(self, family: int) -> tuple[str, str]:
        """(condition id, token id) of an open pool market of a family: 0 sports, 1 politics,
        2 crypto, 3 weather."""
        found = next(m for n, m in enumerate(self.fake.markets) if n % 4 == family and not m.closed)
        return found.condition_id, found.token_ids[0]

    def restart(self) -> World:
        """A new process on the same database: fresh memory, nothing carried over."""
        bus = EventBus()
        follows = FollowService(self.pool, bus)
        signals = build_signals(self.pool, self.http, bus, follows)
        ingest = TradeIngest(self.pool, follows, bus, on_deliveries=lambda _: None, signals=signals)
        return World(self.pool, self.fake, self.http, follows, signals, ingest, bus)

    async def start(self) -> World:
        await self.follows.load()
        await self.signals.load()
        return self


def build_signals(
    pool: asyncpg.Pool, http: PolymarketHTTP, bus: EventBus, follows: FollowService
) -> SignalService:
    return SignalService(
        pool,
        bus,
        factories.WeekBoard(TOP),  # type: ignore[arg-type]  # the board is all signals read
        lookups.wallet_ages(pool, AccountsAPI(http)),
        lookups.market_facts(pool, MarketTagsAPI(http)),
        fresh_days=14,
        prepare_timeout=1.0,
        follows=follows,
    )


@pytest.fixture
async def world(pool: asyncpg.Pool) -> AsyncIterator[World]:
    fake = FakePolymarket(n_traders=6, seed=5)
    await fake.start()
    async with aiohttp.ClientSession() as session:
        hosts = dict.fromkeys(("data", "gamma", "clob"), fake.base_url)
        http = PolymarketHTTP(session, hosts=hosts, timeout=1.0, max_retries=0)
        bus = EventBus()
        follows = FollowService(pool, bus)
        signals = build_signals(pool, http, bus, follows)
        ingest = TradeIngest(pool, follows, bus, on_deliveries=lambda _: None, signals=signals)
        yield await World(pool, fake, http, follows, signals, ingest, bus).start()
        await bus.drain()
    await fake.stop()


def make_trade(
    owner: str, usd: float, market: tuple[str, str], *, side: str = "BUY", price: float = 0.5
) -> Trade:
    condition_id, asset = market
    return factories.make_trade(
        wallet=owner, usd=usd, price=price, side=side, condition_id=condition_id, asset=asset,
        timestamp=time.time() - 1,
    )  # fmt: skip


async def deliveries(pool: asyncpg.Pool) -> list[tuple[str, int, str]]:
    rows = await pool.fetch(
        "SELECT trade_key, channel_id, kind FROM alert_deliveries ORDER BY created_at, trade_key"
    )
    return [(r["trade_key"], r["channel_id"], r["kind"]) for r in rows]


async def watch(world: World, kind: str, channel: int, min_usd: float, **kw: Any) -> None:
    await world.signals.set_watch(
        guild_id=kw.pop("guild", GUILD),
        kind=kind,
        channel_id=channel,
        min_usd=min_usd,
        category=kw.pop("category", None),
        user_id=7,
    )


# ---- fresh wallets -------------------------------------------------------------------------------


async def test_fresh_fires_for_a_new_account_and_not_an_old_one(world: World) -> None:
    await watch(world, "fresh", 100, 1_000)
    market = world.market(0)
    new, old = wallet(1), sorted(world.fake.traders)[0]
    world.fake.add_account(new, time.time() - 2 * 86_400)
    fresh_trade = make_trade(new, 2_000, market)
    await world.ingest.store([fresh_trade, make_trade(old, 2_000, market)], "stream")
    assert await deliveries(world.pool) == [(fresh_trade.key, 100, "fresh")]
    assert world.fake.calls["/public-profile"] == 2


async def test_a_wallet_polymarket_does_not_know_yet_is_fresh(world: World) -> None:
    await watch(world, "fresh", 100, 1_000)
    unknown = make_trade(wallet(2), 5_000, world.market(1))
    await world.ingest.store([unknown], "stream")
    assert await deliveries(world.pool) == [(unknown.key, 100, "fresh")]
    assert world.fake.calls["/activity"] == 1  # no profile: its first trade was asked for
    age = (await world.pool.fetchrow("SELECT source FROM wallet_ages"))["source"]
    assert age == "first_seen"


async def test_lookups_are_learnt_once_and_never_made_for_small_trades(world: World) -> None:
    await watch(world, "fresh", 100, 1_000)
    market = world.market(0)
    old = sorted(world.fake.traders)[1]
    await world.ingest.store([make_trade(old, 999, market)], "stream")
    assert world.fake.calls["/public-profile"] == 0  # below every fresh threshold
    await world.ingest.store([make_trade(old, 1_500, market)], "stream")
    await world.ingest.store([make_trade(old, 1_500, market)], "stream")
    assert world.fake.calls["/public-profile"] == 1  # learnt once, kept in memory
    restarted = await world.restart().start()
    await restarted.ingest.store([make_trade(old, 1_500, market)], "stream")
    assert world.fake.calls["/public-profile"] == 1  # after a restart: from PostgreSQL
    assert await deliveries(world.pool) == []


async def test_a_slow_upstream_costs_the_signal_never_the_follow(world: World) -> None:
    await watch(world, "fresh", 100, 1_000)
    followed = wallet(3)
    await world.follows.follow(
        guild_id=GUILD, channel_id=200, wallet=followed, label="", min_usd=0, side="both", user_id=1
    )
    world.fake.latency = 3.0  # longer than the signals' time limit (1 s)
    trade = make_trade(followed, 5_000, world.market(2))
    started = time.monotonic()
    await world.ingest.store([trade], "stream")
    assert time.monotonic() - started < 2.5
    assert await deliveries(world.pool) == [(trade.key, 200, "follow")]
    assert world.signals.undecided == 1


# ---- smart money ---------------------------------------------------------------------------------


async def test_smart_fires_for_a_top_25_trader_only(world: World) -> None:
    await watch(world, "smart", 300, 500)
    assert world.ingest.wants(TOP[0], 1.0) and not world.ingest.wants(TOP[40], 1.0)
    market = world.market(3)
    top, outside, small = (
        make_trade(TOP[0], 600, market),
        make_trade(TOP[30], 600, market),
        make_trade(TOP[1], 100, market),
    )
    await world.ingest.store([top, outside, small], "stream")
    assert await deliveries(world.pool) == [(top.key, 300, "smart")]


# ---- consensus -----------------------------------------------------------------------------------


async def test_three_top_traders_on_one_outcome_make_exactly_one_consensus(world: World) -> None:
    await watch(world, "consensus", 400, 500)
    await watch(world, "consensus", 401, 1_000, guild=2)  # their $600 each is too small here
    market = world.market(1)
    first, second, third, fourth = (make_trade(TOP[n], 600, market) for n in (4, 10, 40, 45))
    await world.ingest.store([first], "stream")
    await world.ingest.store([second], "stream")
    assert await deliveries(world.pool) == []
    await world.ingest.store([third, third], "stream")
    assert await deliveries(world.pool) == [(third.key, 400, "consensus")]
    participants = await world.pool.fetchval("SELECT participants FROM consensus_alerts")
    assert [p["rank"] for p in participants] == [5, 11, 41]
    assert participants[0]["usd"] == pytest.approx(600) and participants[0]["name"] == "Top5"

    await world.ingest.store([fourth, third], "stream")  # a fourth trader, a duplicate
    restarted = await world.restart().start()
    await restarted.ingest.store([make_trade(TOP[50 - 1], 900, market)], "stream")
    assert await deliveries(world.pool) == [(third.key, 400, "consensus")]
    assert await world.pool.fetchval("SELECT count(*) FROM consensus_alerts") == 1


async def test_a_traders_fills_add_up_and_sells_do_not_count(world: World) -> None:
    await watch(world, "consensus", 400, 500)
    market = world.market(2)
    fills = [make_trade(TOP[0], 300, market), make_trade(TOP[0], 300, market)]
    seller = make_trade(TOP[1], 5_000, market, side="SELL")
    await world.ingest.store([*fills, seller, make_trade(TOP[2], 700, market)], "stream")
    assert await deliveries(world.pool) == []
    closer = make_trade(TOP[3], 500, market)
    await world.ingest.store([closer], "stream")
    assert await deliveries(world.pool) == [(closer.key, 400, "consensus")]


async def test_one_card_per_trade_and_channel_the_consensus_first(world: World) -> None:
    await watch(world, "consensus", 500, 500)
    await watch(world, "smart", 500, 500)
    market = world.market(0)
    await world.follows.follow(
        guild_id=GUILD, channel_id=500, wallet=TOP[2], label="", min_usd=0, side="both", user_id=1
    )
    trades = [make_trade(TOP[n], 600, market) for n in range(3)]
    for trade in trades:
        await world.ingest.store([trade], "stream")
    assert await deliveries(world.pool) == [
        (trades[0].key, 500, "smart"),
        (trades[1].key, 500, "smart"),
        (trades[2].key, 500, "consensus"),  # also followed there: one card, the consensus
    ]


# ---- categories ----------------------------------------------------------------------------------


async def test_category_filters_hold_for_whales_follows_and_signals(world: World) -> None:
    stranger, followed = wallet(4), wallet(5)
    await world.follows.set_whales(
        guild_id=GUILD, channel_id=600, min_usd=1_000, include_near_certain=False, user_id=1,
        category="sports",
    )  # fmt: skip
    await world.follows.follow(
        guild_id=GUILD, channel_id=601, wallet=followed, label="", min_usd=0, side="both",
        user_id=1, category="crypto",
    )  # fmt: skip
    await watch(world, "smart", 602, 500, category="politics")
    sports, crypto, politics = world.market(0), world.market(2), world.market(1)
    unknown = ("0x" + "ab" * 32, "123")
    wanted = [
        make_trade(stranger, 5_000, sports),
        make_trade(followed, 10, crypto),
        make_trade(TOP[0], 600, politics),
    ]
    unwanted = [
        make_trade(stranger, 5_000, crypto),
        make_trade(followed, 10, sports),
        make_trade(TOP[0], 600, sports),
        make_trade(stranger, 5_000, unknown),  # a market nobody knows is in no category
    ]
    await world.ingest.store([*wanted, *unwanted], "stream")
    got = {(key, channel) for key, channel, _ in await deliveries(world.pool)}
    assert got == {(wanted[0].key, 600), (wanted[1].key, 601), (wanted[2].key, 602)}
    stored = await world.pool.fetch("SELECT condition_id, categories FROM market_facts")
    assert {r["condition_id"]: r["categories"] for r in stored}[sports[0]] == ["sports"]
    calls = world.fake.calls["/markets"]
    await world.ingest.store([make_trade(stranger, 5_000, sports)], "stream")
    assert world.fake.calls["/markets"] == calls  # learnt once


# ---- changes -------------------------------------------------------------------------------------


async def test_min_usd_zero_turns_a_kind_off_and_a_lost_channel_disables_it(world: World) -> None:
    await watch(world, "smart", 700, 500)
    assert world.signals.wants(TOP[0], 1.0)
    await watch(world, "smart", 700, 0)
    assert not world.signals.wants(TOP[0], 1.0)
    await watch(world, "fresh", 701, 2_000)
    await world.follows.disable_channel(701, "the channel was deleted")
    await world.bus.drain()
    assert world.signals.fresh_min == float("inf")
    watches, _ = await world.signals.guild_watches(GUILD)
    assert [(w.kind, w.enabled, w.disabled_reason) for w in watches] == [
        ("fresh", False, "the channel was deleted")
    ]


async def test_trades_recovered_from_before_a_watch_was_set_are_history(world: World) -> None:
    """The reconciler recovers up to an hour of trades after a gap in the stream: a watch
    alerts those made since it was set, and setting it again (moving it) starts it anew."""
    await watch(world, "smart", 900, 500)
    await world.pool.execute("UPDATE signal_watches SET created_at = now() - interval '1 hour'")
    await world.signals.load()
    condition_id, asset = world.market(1)

    def ten_minutes_ago() -> Trade:
        return factories.make_trade(
            wallet=TOP[0], usd=1_000, condition_id=condition_id, asset=asset,
            timestamp=time.time() - 600,
        )  # fmt: skip

    in_gap = ten_minutes_ago()
    await world.ingest.store([in_gap], "backfill")
    assert await deliveries(world.pool) == [(in_gap.key, 900, "smart")]

    await watch(world, "smart", 901, 500)
    before_move = ten_minutes_ago()
    await world.ingest.store([before_move], "backfill")
    assert await deliveries(world.pool) == [(in_gap.key, 900, "smart")]


async def test_without_a_category_filter_markets_are_learnt_without_waiting(world: World) -> None:
    followed = wallet(6)
    await world.follows.follow(
        guild_id=GUILD, channel_id=800, wallet=followed, label="", min_usd=0, side="both", user_id=1
    )
    world.fake.latency = 0.5
    trade = make_trade(followed, 10, world.market(3))
    started = time.monotonic()
    await world.ingest.store([trade], "stream")
    assert time.monotonic() - started < 0.4  # the follow did not wait for the market's tags
    assert await deliveries(world.pool) == [(trade.key, 800, "follow")]
    deadline = time.monotonic() + 5
    while world.signals.facts.peek(trade.condition_id) is None:  # learnt for the card
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert world.signals.facts.peek(trade.condition_id).categories == {"weather"}

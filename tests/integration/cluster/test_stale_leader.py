"""Two leaders at once (a stale one that has not yet noticed it lost its lock, and the new
one) never double a write: every write the leader's work makes is keyed or guarded.

Paper orders are covered where they live: two services writing the same trade's orders
(tests/integration/copytrading/test_writer.py) and two order syncs at once
(tests/integration/copytrading/test_sync.py, test_settlement.py). Here: ingestion, alert
delivery and the leaderboard.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import asyncpg

from bot.events import EventBus
from bot.leaderboard.service import LeaderboardService
from bot.trades.follows import FollowService
from bot.trades.ingest import TradeIngest
from tests.integration.cluster.helpers import eventually
from tests.integration.test_alert_dispatcher import (
    CHANNEL,
    DispatcherFactory,
    FakeDiscord,
    ScriptedSender,
    make_trade,
    whales,
)


def make_ingest(pool: asyncpg.Pool, follows: FollowService) -> TradeIngest:
    return TradeIngest(pool, follows, EventBus(), on_deliveries=lambda _: None)


async def test_two_leaders_storing_the_same_trades_store_and_route_them_once(
    pool: asyncpg.Pool,
) -> None:
    old = FollowService(pool, EventBus())
    new = FollowService(pool, EventBus())
    await whales(old, CHANNEL)
    await whales(old, CHANNEL + 1)
    await new.load()
    everything = []
    for _ in range(8):  # each round: the same 100 trades at once, in opposite orders
        trades = [make_trade(usd=50) for _ in range(100)]
        everything += trades
        stored = await asyncio.gather(
            make_ingest(pool, old).store(trades, "stream"),
            make_ingest(pool, new).store(list(reversed(trades)), "backfill"),
        )  # neither deadlocks: both take the rows' locks in key order
        assert sorted(t.key for batch in stored for t in batch) == sorted(t.key for t in trades)
    async with pool.acquire() as conn:
        per_channel = await conn.fetch(
            "SELECT channel_id, count(*) AS n, count(DISTINCT trade_key) AS keys"
            " FROM alert_deliveries GROUP BY channel_id ORDER BY channel_id"
        )
    assert [(r["channel_id"], r["n"], r["keys"]) for r in per_channel] == [
        (CHANNEL, len(everything), len(everything)),
        (CHANNEL + 1, len(everything), len(everything)),
    ]


async def test_two_leaders_delivering_the_same_alerts_post_each_trade_once(
    pool: asyncpg.Pool, follows: FollowService, make_dispatcher: DispatcherFactory
) -> None:
    discord = FakeDiscord()  # one Discord: both dispatchers post with the same bot token
    channels = [CHANNEL + i for i in range(4)]
    for channel in channels:
        await whales(follows, channel)
    trades = [make_trade(usd=20) for _ in range(120)]
    await make_ingest(pool, follows).store(trades, "stream")
    old = make_dispatcher(ScriptedSender(discord))
    new = make_dispatcher(ScriptedSender(discord))
    for dispatcher in (old, new):  # both resume the same pending work at the same moment
        await dispatcher.start()

    async def all_sent() -> None:
        while True:
            async with pool.acquire() as conn:
                pending = await conn.fetchval(
                    "SELECT count(*) FROM alert_deliveries WHERE status = 'PENDING'"
                )
            if pending == 0:
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(all_sent(), 20)
    for channel in channels:
        shown = Counter(discord.keys_in(channel))
        assert set(shown) == {t.key for t in trades}
        assert max(shown.values()) == 1, [k for k, n in shown.items() if n > 1]
    async with pool.acquire() as conn:
        sent = await conn.fetchval("SELECT sum(alerts_sent) FROM whale_watches")
    assert sent == len(trades) * len(channels)  # the per-watch counter is not doubled either


async def test_a_stale_leader_waiting_for_its_pacing_slot_does_not_repost_what_the_new_sent(
    pool: asyncpg.Pool, follows: FollowService, make_dispatcher: DispatcherFactory
) -> None:
    """The stale leader saw pending deliveries and waited for its channel's pacing slot;
    meanwhile the new leader (which also saw one more) sent them all. The stale one composes
    only after its wait, from what is still unassigned: nothing is posted twice."""
    discord = FakeDiscord()
    await whales(follows, CHANNEL)
    ingest = make_ingest(pool, follows)
    stale = make_dispatcher(ScriptedSender(discord), channel_limit=1, channel_period=1.25)
    await stale.start()
    first = make_trade(usd=20)
    await ingest.store([first], "stream")
    stale.notify({CHANNEL})
    await eventually(lambda: len(discord.messages) == 1, within=5)  # its slot is used

    burst = [make_trade(usd=20) for _ in range(5)]
    await ingest.store(burst, "stream")
    stale.notify({CHANNEL})  # reads the 5, then waits ~1 s for its next slot
    await asyncio.sleep(0.2)
    late = make_trade(usd=20)
    await ingest.store([late], "stream")
    new = make_dispatcher(ScriptedSender(discord))
    await new.start()  # the new leader resumes: the 5 and the late one, one message
    await eventually(lambda: len(discord.messages) >= 2, within=5)
    await asyncio.sleep(1.5)  # the stale one's slot comes
    shown = Counter(discord.keys_in(CHANNEL))
    assert set(shown) == {t.key for t in [first, *burst, late]}
    assert max(shown.values()) == 1, [k for k, n in shown.items() if n > 1]


async def test_two_leaders_refreshing_at_once_leave_whole_boards_for_everyone(
    pool: asyncpg.Pool, make_service: Callable[[], LeaderboardService]
) -> None:
    """The stale leader is mid-refresh when the new one takes over: the new one marks the
    stale one's open snapshots failed (recover_interrupted) and refreshes too. Both finish,
    and a follower reloading from PostgreSQL gets every period whole."""
    old, new, follower = make_service(), make_service(), make_service()
    old_refresh = asyncio.create_task(old.refresh())
    await asyncio.sleep(0.05)  # the old leader's snapshots are IN_PROGRESS now
    await new.recover_interrupted()
    reports = await asyncio.gather(old_refresh, new.refresh())
    assert all(report.periods_ok for report in reports)
    assert await follower.reload() == 4
    async with pool.acquire() as conn:
        for period in ("day", "week", "month", "all"):
            board = follower.board(period)
            assert board is not None
            stored = await conn.fetchval(
                "SELECT count(*) FROM leaderboard_entries WHERE snapshot_id = $1",
                board.snapshot_id,
            )
            assert stored == len(board.by_metric["score"]) > 0
        in_progress = await conn.fetchval(
            "SELECT count(*) FROM leaderboard_snapshots WHERE status = 'IN_PROGRESS'"
        )
    assert in_progress == 0

"""AlertDispatcher against real PostgreSQL and an in-memory Discord: exactly once, paced.

FakeDiscord models the one Discord behaviour exactly-once depends on: with ``enforce_nonce``
a second create with a nonce it has already accepted returns the existing message instead of
posting again. Senders are scripted per channel to fail before posting, "crash" after Discord
accepted (reply lost, or the process dies), or refuse the channel for good.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest

from bot.events import EventBus
from bot.polymarket.records import Trade, trade_key
from bot.trades.cards import MAX_CARDS, AlertCard
from bot.trades.dispatcher import AlertDispatcher, ChannelUnavailable
from bot.trades.follows import FollowService
from bot.trades.ingest import TradeIngest
from bot.trades.sending import MessageRejected, Prepared, Rejected
from db import trade_queries
from tests.e2e.harness import wait_until

GUILD = 1
CHANNEL = 10
_tx_numbers = itertools.count(1)
_wallet_numbers = itertools.count(1)

# A scripted sender step: "ok", "lost_reply" (Discord posted, the answer never came back),
# "hang" (Discord posted, then the process died before mark_sent), or an exception raised
# before anything is posted.
Step = str | Exception


@dataclass
class Posted:
    channel_id: int
    nonce: str
    message_id: int
    cards: tuple[tuple[str, ...], ...]  # trade keys per card
    txs: tuple[str, ...] = ()


@dataclass
class FakeDiscord:
    messages: list[Posted] = field(default_factory=list)
    remembers_nonces: bool = True  # False: as Discord, minutes after the first post
    _by_nonce: dict[tuple[int, str], Posted] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(900_000))

    def create(self, channel_id: int, nonce: str, cards: Sequence[AlertCard]) -> int:
        existing = self._by_nonce.get((channel_id, nonce))
        if existing is not None and self.remembers_nonces:  # the resend is answered, not posted
            return existing.message_id
        posted = Posted(
            channel_id,
            nonce,
            next(self._ids),
            tuple(tuple(t.key for t in card.trades) for card in cards),
            tuple(t.transaction_hash for card in cards for t in card.trades),
        )
        self.messages.append(posted)
        self._by_nonce[(channel_id, nonce)] = posted
        return posted.message_id

    def find(self, channel_id: int, nonce: str, transactions: Collection[str]) -> int | None:
        """A posted message by nonce, or showing one of these transactions (the history check)."""
        for m in self.messages:
            if m.channel_id != channel_id:
                continue
            if m.nonce == nonce or set(m.txs) & set(transactions):
                return m.message_id
        return None

    def keys_in(self, channel_id: int) -> list[str]:
        """Every trade key shown in the channel, with repeats (there must be none)."""
        return [
            key
            for m in self.messages
            if m.channel_id == channel_id
            for card in m.cards
            for key in card
        ]


@dataclass
class Call:
    channel_id: int
    nonce: str
    cards: tuple[tuple[str, ...], ...]
    at: float


class ScriptedSender:
    """An AlertSender over FakeDiscord whose next outcomes per channel are scripted."""

    def __init__(self, discord: FakeDiscord, script: dict[int, list[Step]] | None = None) -> None:
        self.discord = discord
        self.script = script or {}
        self.calls: list[Call] = []
        self.hanging = asyncio.Event()
        self.unrenderable: set[str] = set()  # trade keys whose card cannot be rendered
        self.breaks_prepare: set[str] = set()  # trade keys that make prepare fail as a whole
        self.refused: set[str] = set()  # trade keys whose message Discord refuses (HTTP 400)
        self.card_size = 600
        self.sizes: dict[str, int] = {}  # a card's size by its first trade key, if not card_size

    async def prepare(
        self, channel_id: int, cards: Sequence[AlertCard]
    ) -> list[Prepared | Rejected]:
        if any(t.key in self.breaks_prepare for card in cards for t in card.trades):
            raise OverflowError("cannot convert float infinity to integer")
        results: list[Prepared | Rejected] = []
        for card in cards:
            if any(t.key in self.unrenderable for t in card.trades):
                results.append(Rejected(card, "cannot be rendered: OverflowError"))
            else:
                size = self.sizes.get(card.first.key, self.card_size)
                results.append(Prepared(card, size, card))
        return results

    async def send(
        self,
        channel_id: int,
        nonce: str,
        cards: Sequence[Prepared],
        before_post: Callable[[], Awaitable[None]],
    ) -> int:
        await before_post()
        if any(t.key in self.refused for p in cards for t in p.card.trades):
            raise MessageRejected("HTTP 400: Invalid Form Body (embeds.3.url)")
        keys = tuple(tuple(t.key for t in p.card.trades) for p in cards)
        self.calls.append(Call(channel_id, nonce, keys, time.monotonic()))
        steps = self.script.get(channel_id, [])
        step = steps.pop(0) if steps else "ok"
        if isinstance(step, Exception):
            raise step
        message_id = self.discord.create(channel_id, nonce, [p.card for p in cards])
        if step == "lost_reply":
            raise ConnectionResetError("connection reset after Discord accepted the message")
        if step == "hang":
            self.hanging.set()
            await asyncio.Event().wait()  # until cancelled: the "crash"
        return message_id

    async def find_posted(
        self, channel_id: int, nonce: str, transactions: Collection[str], since: float
    ) -> int | None:
        return self.discord.find(channel_id, nonce, transactions)


def make_trade(*, wallet: str | None = None, ago: float = 5.0, usd: float = 100.0) -> Trade:
    """A fill of a fresh wallet unless given one, so trades do not merge unless meant to."""
    wallet = wallet or f"0x{next(_wallet_numbers):040x}"
    tx = f"0x{next(_tx_numbers):064x}"
    size = usd / 0.5
    return Trade(
        key=trade_key(tx, wallet, "asset", "BUY", size, 0.5),
        wallet=wallet,
        asset="asset",
        condition_id="",
        side="BUY",
        size=size,
        price=0.5,
        timestamp=time.time() - ago,
        transaction_hash=tx,
        outcome="Yes",
        title="Will it rain?",
        slug="rain",
        event_slug="",
        name="",
        pseudonym="",
    )


@pytest.fixture
def ingest(pool: asyncpg.Pool, follows: FollowService) -> TradeIngest:
    """Stores trades and their deliveries; the tests decide when a dispatcher hears of them."""
    return TradeIngest(pool, follows, EventBus(), on_deliveries=lambda _: None)


DispatcherFactory = Callable[..., AlertDispatcher]


@pytest.fixture
async def make_dispatcher(
    pool: asyncpg.Pool, follows: FollowService
) -> AsyncIterator[DispatcherFactory]:
    made: list[AlertDispatcher] = []

    def build(sender: ScriptedSender, **kw: Any) -> AlertDispatcher:
        kw.setdefault("retry_base", 0.001)
        kw.setdefault("retry_cap", 0.02)
        kw.setdefault("channel_limit", 1000)
        kw.setdefault("channel_period", 1.0)
        kw.setdefault("global_rate", 1000)
        dispatcher = AlertDispatcher(pool, follows, sender, **kw)
        made.append(dispatcher)
        return dispatcher

    yield build
    for dispatcher in made:
        await dispatcher.stop()


async def whales(follows: FollowService, channel_id: int = CHANNEL, min_usd: float = 1) -> None:
    """A whale watch set up long ago, so the old trades these tests make are alerted."""
    await follows.set_whales(
        guild_id=GUILD,
        channel_id=channel_id,
        min_usd=min_usd,
        include_near_certain=False,
        user_id=99,
    )
    await follows._pool.execute(
        "UPDATE whale_watches SET created_at = now() - interval '90 days' WHERE channel_id = $1",
        channel_id,
    )
    await follows.load()


async def follow(follows: FollowService, wallet: str, channel_id: int = CHANNEL) -> int:
    created = await follows.follow(
        guild_id=GUILD,
        channel_id=channel_id,
        wallet=wallet,
        label="",
        min_usd=0,
        side="both",
        user_id=99,
    )
    return created.id


async def settle(pool: asyncpg.Pool, dispatcher: AlertDispatcher, within: float = 5.0) -> None:
    """Wait until nothing is pending and no channel worker is left running."""
    deadline = time.monotonic() + within
    while True:
        pending = await pool.fetchval(
            "SELECT (SELECT count(*) FROM alert_deliveries WHERE status = 'PENDING')"
            " + (SELECT count(*) FROM alert_messages WHERE status = 'PENDING')"
        )
        if pending == 0 and dispatcher.active_channels == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{pending} rows still pending")
        await asyncio.sleep(0.01)


async def run_until_settled(
    pool: asyncpg.Pool, make_dispatcher: DispatcherFactory, sender: ScriptedSender, **kw: Any
) -> AlertDispatcher:
    """A dispatcher started on what is stored, once it has delivered all it can."""
    dispatcher = make_dispatcher(sender, **kw)
    await dispatcher.start()
    await settle(pool, dispatcher)
    return dispatcher


async def crash_after_posting(
    make_dispatcher: DispatcherFactory, discord: FakeDiscord
) -> ScriptedSender:
    """The process dies after Discord posted the first message, before PostgreSQL heard of it
    (before mark_sent); the sender returned shows what was sent."""
    crashing = ScriptedSender(discord, {CHANNEL: ["hang"]})
    before = make_dispatcher(crashing)
    await before.start()
    await asyncio.wait_for(crashing.hanging.wait(), timeout=5)
    await before.stop()
    return crashing


async def statuses(pool: asyncpg.Pool, channel_id: int = CHANNEL) -> dict[str, str]:
    rows = await pool.fetch(
        "SELECT trade_key, status FROM alert_deliveries WHERE channel_id = $1", channel_id
    )
    return {r["trade_key"]: r["status"] for r in rows}


async def messages(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT id, channel_id, nonce, status, attempts, discord_message_id, error"
        " FROM alert_messages ORDER BY id"
    )


# ---- exactly once ------------------------------------------------------------------------------


async def test_deliveries_become_messages_of_at_most_max_cards(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    trades = [make_trade(ago=100 - n) for n in range(23)]
    await ingest.store(trades, "stream")
    discord = FakeDiscord()
    dispatcher = await run_until_settled(pool, make_dispatcher, ScriptedSender(discord))

    assert [len(m.cards) for m in discord.messages] == [MAX_CARDS, MAX_CARDS, 23 - 2 * MAX_CARDS]
    assert discord.keys_in(CHANNEL) == [t.key for t in trades]  # oldest first, each once
    assert set((await statuses(pool)).values()) == {"SENT"}
    rows = await messages(pool)
    assert [(m["status"], m["attempts"]) for m in rows] == [("SENT", 1)] * 3
    assert [m["discord_message_id"] for m in rows] == [m.message_id for m in discord.messages]
    assert dispatcher.stats.sent_messages == 3 and dispatcher.stats.sent_alerts == 23
    assert await dispatcher.pending_counts() == {"SENT": 23}


async def test_a_burst_is_one_card_and_messages_hold_whole_cards(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    trader = "0x" + "b" * 40
    burst = [make_trade(wallet=trader, ago=60 - n) for n in range(3)]
    others = [make_trade(ago=50 - n) for n in range(MAX_CARDS)]
    await ingest.store([*burst, *others], "stream")
    discord = FakeDiscord()
    dispatcher = await run_until_settled(pool, make_dispatcher, ScriptedSender(discord))

    first, second = discord.messages
    assert len(first.cards) == MAX_CARDS
    assert first.cards[0] == tuple(t.key for t in burst)  # 3 fills, 1 card
    assert second.cards == ((others[-1].key,),)  # the card past MAX_CARDS waits for the next
    message_of = {
        r["trade_key"]: r["message_id"]
        for r in await pool.fetch("SELECT trade_key, message_id FROM alert_deliveries")
    }
    assert len({message_of[t.key] for t in burst}) == 1
    assert dispatcher.stats.sent_alerts == len(burst) + len(others)


async def test_lost_reply_is_retried_with_the_same_nonce_and_sent_once(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    trades = [make_trade() for _ in range(3)]
    await ingest.store(trades, "stream")
    discord = FakeDiscord()
    sender = ScriptedSender(discord, {CHANNEL: ["lost_reply"]})
    dispatcher = await run_until_settled(pool, make_dispatcher, sender)

    first, retry = sender.calls
    assert retry.nonce == first.nonce and retry.cards == first.cards
    assert len(discord.messages) == 1  # Discord deduped the resend
    (row,) = await messages(pool)
    assert row["status"] == "SENT" and row["attempts"] == 2
    assert row["discord_message_id"] == discord.messages[0].message_id
    assert "ConnectionResetError" in row["error"]  # the failed attempt is on record
    assert set((await statuses(pool)).values()) == {"SENT"}
    assert dispatcher.stats.send_errors == 1 and dispatcher.stats.sent_alerts == 3


async def test_a_restart_resumes_the_composed_message_with_its_nonce(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    trades = [make_trade(ago=100 - n) for n in range(14)]
    await ingest.store(trades, "stream")
    discord = FakeDiscord()  # Discord outlives the bot process
    crashing = await crash_after_posting(make_dispatcher, discord)

    (pending,) = await messages(pool)
    assert pending["status"] == "PENDING"
    assert len(discord.messages) == 1
    # New trades arrived while the bot was down; they must not join the composed message.
    late = [make_trade(ago=1) for _ in range(2)]
    await ingest.store(late, "stream")

    resumed = ScriptedSender(discord)
    await run_until_settled(pool, make_dispatcher, resumed)

    assert resumed.calls[0].nonce == pending["nonce"] == crashing.calls[0].nonce
    assert resumed.calls[0].cards == crashing.calls[0].cards  # same composition
    total = len(discord.keys_in(CHANNEL))
    assert len(discord.messages[0].cards) == MAX_CARDS
    assert sum(len(m.cards) for m in discord.messages) == total
    assert sorted(discord.keys_in(CHANNEL)) == sorted(t.key for t in [*trades, *late])
    rows = await messages(pool)
    assert rows[0]["discord_message_id"] == discord.messages[0].message_id
    assert [r["status"] for r in rows] == ["SENT", "SENT"]


async def test_a_composed_message_whose_trades_were_pruned_is_closed_silently(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    await ingest.store([make_trade(ago=40 * 86_400)], "stream")
    await crash_after_posting(make_dispatcher, FakeDiscord())
    await ingest.prune(30)

    resumed = ScriptedSender(FakeDiscord())
    await run_until_settled(pool, make_dispatcher, resumed)

    assert resumed.calls == []  # nothing left to say: no empty message
    (row,) = await messages(pool)
    assert row["status"] == "SENT"


# ---- failures ----------------------------------------------------------------------------------


async def test_unavailable_channel_fails_its_alerts_and_disables_its_follows(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    wallet = "0x" + "c" * 40
    await follow(follows, wallet, channel_id=10)
    await whales(follows, channel_id=10)
    await follow(follows, wallet, channel_id=20)
    # Within a minute of the follows, or they would not take the trade (BACKDATE_TOLERANCE).
    trades = [make_trade(wallet=wallet, ago=30), make_trade(ago=20), make_trade(ago=10)]
    await ingest.store(trades, "stream")
    discord = FakeDiscord()
    reason = "403 Forbidden (error code: 50001): Missing Access"
    sender = ScriptedSender(discord, {10: [ChannelUnavailable(reason)]})
    dispatcher = await run_until_settled(pool, make_dispatcher, sender)

    assert set((await statuses(pool, 10)).values()) == {"FAILED"}
    assert set((await statuses(pool, 20)).values()) == {"SENT"}
    assert [m.channel_id for m in discord.messages] == [20]
    assert {(m["channel_id"], m["status"]) for m in await messages(pool)} == {
        (10, "FAILED"),
        (20, "SENT"),
    }
    assert len(sender.calls) == 2  # no retry of a channel that cannot work

    overview_follows, overview_whales = await follows.guild_overview(GUILD)
    by_channel = {f.channel_id: f for f in overview_follows}
    assert not by_channel[10].enabled and by_channel[10].disabled_reason == reason
    assert by_channel[20].enabled and by_channel[20].disabled_reason is None
    (watch,) = overview_whales
    assert not watch.enabled and watch.disabled_reason == reason
    # The in-memory index follows suit: new trades no longer target the channel.
    assert [t.channel_id for t in follows.targets(make_trade(wallet=wallet))] == [20]
    assert dispatcher.stats.channels_disabled == 1
    assert dispatcher.stats.failed_alerts == 3


async def test_transient_errors_are_retried_with_growing_backoff(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await whales(follows)
    trades = [make_trade() for _ in range(2)]
    await ingest.store(trades, "stream")
    discord = FakeDiscord()
    errors: list[Step] = [RuntimeError("502 Bad Gateway")] * 3 + [OSError("reset")]
    sender = ScriptedSender(discord, {CHANNEL: errors})
    base, cap = 0.002, 0.012
    with caplog.at_level(logging.WARNING, logger="bot.trades.dispatcher"):
        dispatcher = await run_until_settled(
            pool, make_dispatcher, sender, retry_base=base, retry_cap=cap
        )

    delays = [r.args[2] for r in caplog.records if r.getMessage().startswith("alerts for")]
    assert len(delays) == 4
    for failures, delay in enumerate(delays, start=1):
        step = min(cap, base * 2**failures)
        assert step / 2 <= delay <= step  # exponential, jittered down by at most half, capped
    assert len({c.nonce for c in sender.calls}) == 1 and len(sender.calls) == 5
    assert len(discord.messages) == 1
    (row,) = await messages(pool)
    assert row["status"] == "SENT" and row["attempts"] == 5
    assert set((await statuses(pool)).values()) == {"SENT"}
    assert dispatcher.stats.send_errors == 4


async def test_alert_counters_of_follows_and_whale_watches(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    wallet = "0x" + "d" * 40
    follow_id = await follow(follows, wallet, channel_id=10)
    await whales(follows, channel_id=10, min_usd=50)
    await whales(follows, channel_id=20, min_usd=50)
    followed = [make_trade(wallet=wallet, ago=55 - 20 * n) for n in range(3)]
    others = [make_trade() for _ in range(2)]
    await ingest.store([*followed, *others], "stream")
    await run_until_settled(pool, make_dispatcher, ScriptedSender(FakeDiscord()))

    assert await pool.fetchval("SELECT alerts_sent FROM follows WHERE id = $1", follow_id) == 3
    counts = dict(await pool.fetch("SELECT channel_id, alerts_sent FROM whale_watches"))
    # Channel 10's follow took its wallet's trades; channel 20's watch saw all five.
    assert counts == {10: 2, 20: 5}
    overview_follows, _ = await follows.guild_overview(GUILD)
    assert [f.alerts_sent for f in overview_follows] == [3]


async def test_pacing_delays_but_never_drops(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows, channel_id=10)
    await whales(follows, channel_id=20)
    trades = [make_trade(ago=200 - n) for n in range(45)]
    discord = FakeDiscord()
    sender = ScriptedSender(discord)
    # 2 messages per 0.1 s per channel (a sliding window, as Discord's bucket).
    dispatcher = make_dispatcher(sender, channel_limit=2, channel_period=0.1)
    await dispatcher.start()  # nothing yet: deliveries arrive while running, as in production

    for chunk in (trades[:20], trades[20:]):
        await ingest.store(chunk, "stream")
        dispatcher.notify({10, 20})
        await asyncio.sleep(0.01)
    await settle(pool, dispatcher)

    for channel_id in (10, 20):
        assert sorted(discord.keys_in(channel_id)) == sorted(t.key for t in trades)
        times = [c.at for c in sender.calls if c.channel_id == channel_id]
        assert len(times) >= 5  # 45 cards need at least five messages
        # At most two messages in any 0.1 s: the fifth came at least 0.2 s after the first.
        assert times[4] - times[0] >= 0.2 - 0.01
    assert all(len(m.cards) <= MAX_CARDS for m in discord.messages)
    assert await dispatcher.pending_counts() == {"SENT": 90}


async def test_after_close_notifications_are_ignored(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    dispatcher = make_dispatcher(ScriptedSender(FakeDiscord()))
    await dispatcher.stop()
    await ingest.store([make_trade()], "stream")
    dispatcher.notify({CHANNEL})
    assert dispatcher.active_channels == 0
    assert await dispatcher.pending_counts() == {"PENDING": 1}  # the next start picks it up


# ---- one bad card never blocks a channel -------------------------------------------------------


async def test_a_card_that_cannot_be_rendered_is_set_aside_and_the_rest_go_out_once(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    poison, *good = [make_trade(ago=60 - n) for n in range(4)]
    await ingest.store([poison, *good], "stream")
    discord = FakeDiscord()
    sender = ScriptedSender(discord)
    sender.unrenderable.add(poison.key)
    dispatcher = await run_until_settled(pool, make_dispatcher, sender)

    assert discord.keys_in(CHANNEL) == [t.key for t in good]  # once each, nothing blocked
    status = await statuses(pool)
    assert status[poison.key] == "FAILED" and {status[t.key] for t in good} == {"SENT"}
    reason = await pool.fetchval(
        "SELECT error FROM alert_deliveries WHERE trade_key = $1", poison.key
    )
    assert reason == "cannot be rendered: OverflowError"
    assert [(f.trade_key, f.error) for f in await dispatcher.recent_failures()] == [
        (poison.key, reason)
    ]
    assert dispatcher.stats.failed_alerts == 1

    # A restart does not try it again: the set-aside card stays set aside.
    again = ScriptedSender(discord)
    await run_until_settled(pool, make_dispatcher, again)
    assert again.calls == []


async def test_a_sender_that_fails_as_a_whole_costs_only_the_card_that_breaks_it(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    poison, good = make_trade(ago=20), make_trade(ago=10)
    await ingest.store([poison, good], "stream")
    discord = FakeDiscord()
    sender = ScriptedSender(discord)
    sender.breaks_prepare.add(poison.key)

    await run_until_settled(pool, make_dispatcher, sender)

    assert discord.keys_in(CHANNEL) == [good.key]
    assert (await statuses(pool))[poison.key] == "FAILED"


async def test_a_message_discord_refuses_is_split_until_only_the_bad_card_is_set_aside(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    trades = [make_trade(ago=60 - n) for n in range(5)]
    bad = trades[3]
    await ingest.store(trades, "stream")
    discord = FakeDiscord()
    sender = ScriptedSender(discord)
    sender.refused.add(bad.key)

    dispatcher = await run_until_settled(pool, make_dispatcher, sender)

    good = [t.key for t in trades if t is not bad]
    assert sorted(discord.keys_in(CHANNEL)) == sorted(good)  # each exactly once
    status = await statuses(pool)
    assert status[bad.key] == "FAILED" and {status[k] for k in good} == {"SENT"}
    assert "Invalid Form Body" in await pool.fetchval(
        "SELECT error FROM alert_deliveries WHERE trade_key = $1", bad.key
    )
    assert dispatcher.stats.split_messages >= 1 and dispatcher.stats.failed_alerts == 1


async def test_messages_are_packed_within_discords_size_limit_and_a_huge_card_is_set_aside(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    trades = [make_trade(ago=60 - n) for n in range(5)]
    await ingest.store(trades, "stream")
    discord = FakeDiscord()
    sender = ScriptedSender(discord)
    sender.card_size = 2_000  # two fit in 5,500 characters, three would not
    huge = trades[2]
    sender.sizes[huge.key] = 7_000

    await run_until_settled(pool, make_dispatcher, sender)

    assert [len(m.cards) for m in discord.messages] == [2, 2]
    assert sorted(discord.keys_in(CHANNEL)) == sorted(t.key for t in trades if t is not huge)
    assert (await statuses(pool))[huge.key] == "FAILED"


# ---- PostgreSQL away, Discord forgetful: still exactly once ------------------------------------


async def test_a_send_postgresql_could_not_record_is_recorded_from_memory_not_sent_again(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    trades = [make_trade() for _ in range(2)]
    await ingest.store(trades, "stream")
    discord = FakeDiscord(remembers_nonces=False)  # a long outage: Discord forgot the nonce
    sender = ScriptedSender(discord)
    original = sender.send
    outage = asyncio.Event()

    async def send(
        channel_id: int,
        nonce: str,
        cards: Sequence[Prepared],
        before_post: Callable[[], Awaitable[None]],
    ) -> int:
        message_id = await original(channel_id, nonce, cards, before_post)
        # PostgreSQL goes away the moment Discord answered: mark_sent cannot be written.
        await pool.execute("ALTER TABLE alert_messages RENAME TO alert_messages_away")
        outage.set()
        return message_id

    sender.send = send  # type: ignore[method-assign]
    dispatcher = make_dispatcher(sender)
    await dispatcher.start()
    await asyncio.wait_for(outage.wait(), 5)
    await asyncio.sleep(0.2)  # several retries fail meanwhile
    assert dispatcher.status().detail.endswith("1 sends awaiting PostgreSQL")
    await pool.execute("ALTER TABLE alert_messages_away RENAME TO alert_messages")
    await settle(pool, dispatcher)

    assert len(sender.calls) == 1 and len(discord.messages) == 1  # posted once, never again
    (row,) = await messages(pool)
    assert row["status"] == "SENT" and row["discord_message_id"] == discord.messages[0].message_id
    assert dispatcher.stats.remembered == 1 and dispatcher.stats.sent_alerts == 2


async def test_after_discord_forgot_the_nonce_a_pending_message_is_found_in_the_channel(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    posted, never_posted = make_trade(ago=30), make_trade(ago=20)
    await ingest.store([posted], "stream")
    discord = FakeDiscord()
    await crash_after_posting(make_dispatcher, discord)
    # Another message composed but never posted (the process died before the request).
    await ingest.store([never_posted], "stream")
    async with pool.acquire() as conn:
        await trade_queries.create_message(conn, CHANNEL, "never-posted", [never_posted.key])
    # The bot stays down longer than Discord remembers nonces.
    await pool.execute("UPDATE alert_messages SET created_at = now() - interval '10 minutes'")
    discord.remembers_nonces = False

    resumed = ScriptedSender(discord)
    after = await run_until_settled(pool, make_dispatcher, resumed)

    assert discord.keys_in(CHANNEL) == [posted.key, never_posted.key]  # each exactly once
    assert [c.cards for c in resumed.calls] == [((never_posted.key,),)]
    assert after.stats.found_posted == 1
    rows = await messages(pool)
    assert [r["status"] for r in rows] == ["SENT", "SENT"]
    assert rows[0]["discord_message_id"] == discord.messages[0].message_id


# ---- no wait without a reason, fair under a fan-out --------------------------------------------


async def test_alerts_go_at_once_while_the_bucket_has_room_and_merge_only_under_pressure(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    await whales(follows)
    discord = FakeDiscord()
    sender = ScriptedSender(discord)
    dispatcher = make_dispatcher(sender, channel_limit=3, channel_period=0.5)
    await dispatcher.start()

    for _ in range(3):  # alerts at the channel's sustained rate: three messages, no wait
        await ingest.store([make_trade()], "stream")
        dispatcher.notify({CHANNEL})
        await settle(pool, dispatcher)
        await asyncio.sleep(0.5 / 3)
    assert [len(m.cards) for m in discord.messages] == [1, 1, 1]
    assert dispatcher.stats.bucket_waits == 0

    burst = [make_trade(ago=10 - n) for n in range(6)]  # faster than the channel may take
    for trade in burst:
        await ingest.store([trade], "stream")
        dispatcher.notify({CHANNEL})
        await asyncio.sleep(0.01)
    await settle(pool, dispatcher)
    assert dispatcher.stats.bucket_waits >= 1  # some waited for the channel's rate...
    assert len(discord.messages) < 3 + len(burst)  # ...and went together, merged
    assert max(len(m.cards) for m in discord.messages) > 1
    assert sorted(discord.keys_in(CHANNEL)[3:]) == sorted(t.key for t in burst)


async def test_an_unrelated_alert_is_not_held_up_by_a_big_fan_out(
    pool: asyncpg.Pool,
    follows: FollowService,
    ingest: TradeIngest,
    make_dispatcher: DispatcherFactory,
) -> None:
    wallet = "0x" + "9" * 40
    fan_out = list(range(1000, 1200))
    for channel_id in fan_out:
        await follow(follows, wallet, channel_id=channel_id)
    await whales(follows, channel_id=CHANNEL, min_usd=10_000)
    discord = FakeDiscord()
    sender = ScriptedSender(discord)
    dispatcher = make_dispatcher(sender, global_rate=40)  # 200 posts take 5 s at 40/s
    await dispatcher.start()

    await ingest.store([make_trade(wallet=wallet, ago=1)], "stream")
    dispatcher.notify(set(fan_out))
    await wait_until(lambda: len(discord.messages) >= 45)  # a second into the fan-out
    unrelated = make_trade(usd=20_000, ago=1)  # another trade, another server's whale channel
    await ingest.store([unrelated], "stream")
    dispatcher.notify({CHANNEL})
    arrived = len(discord.messages)
    await settle(pool, dispatcher, within=15)

    order = [m.channel_id for m in discord.messages]
    assert sorted(order) == sorted([*fan_out, CHANNEL])
    # It went within a second of arriving (its own reads and writes take a moment under the
    # fan-out's load), not after the fan-out posts still queued (a queue would put it last).
    assert arrived < 120
    assert order.index(CHANNEL) < arrived + 40

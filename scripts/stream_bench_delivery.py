"""bench_stream.py (b): trade -> alert latency and a 1,000-channel fan-out, real bot, fake Discord.

The real bot runs in-process (``tests/e2e/harness.running_bot``): fake RTDS -> TradeStream ->
TradeIngest (PostgreSQL) -> AlertDispatcher -> discord.py -> fake Discord, which enforces
Discord's limits (5 messages per 5 s per channel, 50 requests per rolling second) by answering
429 exactly as Discord does, so "no 429" is measured, not assumed. A trade's latency is the
moment the fake stored the message carrying it (``perf_counter`` in a ``_store`` override) minus
the moment it was pushed into the fake RTDS; trades are mapped to messages by the card's
transaction link. Every trade has its own transaction and asset, so no merge hides one unless
delivery merged cards under pressure.

Runs: 1 trade/s for 120 s into one channel (the goal is p99 <= 50 ms), and 0.95 trades/s for
60 s beside it: 1 trade/s is exactly the 5 per 5 s a channel may take, and Discord's bucket is a
window that opens with the first post after the last one reset, so at exactly that rate every
fifth alert finds the bucket empty for the few milliseconds between its arrival and the reset,
and the next window opens that much later (the lag adds up over the minutes); just below the
limit no window fills and nothing waits;
50 trades/s for 20 s into 10 channels (each channel gets 5 trades/s, five times what Discord
lets a channel take: cards must merge, and no 429 may come back); and one trader followed in
1,000 channels with one trade, plus one unrelated alert in another channel a third of the way
through: total time against Discord's 50 requests/s (goal >= 0.95 of it) and how long the
unrelated alert waited (goal <= 2 s). Baseline for the 1 trade/s run: the same schedule through
a bare discord.py sender (``bench_bare_sender``: a task per post, nothing stored or rendered),
so the figure shows what the rate limit alone costs at exactly a channel's limit. Left out:
network latency to Discord (loopback here).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord as discord_py
from benchlib import percentile, progress

from bot.app import Application
from tests.fakes.discord import API_PREFIX, FakeDiscord
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS

DISCORD_GLOBAL_PER_S = 50
DISCORD_CHANNEL_PER_5S = 5
GOAL_ONE_CHANNEL_P99_MS = 50.0
GOAL_FANOUT_SHARE = 0.95
GOAL_UNRELATED_S = 2.0


def max_in_window(times: Sequence[float], window: float) -> int:
    """Most events in any half-open window of ``window`` seconds (times sorted ascending)."""
    best = start = 0
    for i, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, i - start + 1)
    return best


def random_wallet(rng: random.Random) -> str:
    return f"0x{rng.getrandbits(160):040x}"


def random_tx(rng: random.Random) -> str:
    return f"0x{rng.getrandbits(256):064x}"


class TimedDiscord(FakeDiscord):
    """The fake Discord, enforcing Discord's limits, timestamping every stored message and every
    REST request it receives."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate_limits.enforce_channel_limits = True
        self.rate_limits.enforce_global_limit = True
        self.stored_at: dict[int, float] = {}
        self.request_log: list[tuple[float, str, str]] = []  # (perf_counter, method, path)

    def _store(self, message: dict[str, Any]) -> dict[str, Any]:
        self.stored_at[int(message["id"])] = time.perf_counter()
        return super()._store(message)

    async def _handle_api(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        if request.path.startswith(API_PREFIX):
            path = request.path[len(API_PREFIX) :]
            self.request_log.append((time.perf_counter(), request.method, path))
        return await super()._handle_api(request, handler)


def message_txs(message: dict[str, Any]) -> list[tuple[str, int]]:
    """(transaction hash, fills in that card) for every alert card of a message."""
    out = []
    for embed in message.get("embeds", []):
        fills = 1
        title = str(embed.get("title", ""))
        if "fills merged" in title:
            try:
                fills = int(title.split(" · ")[1].split()[0])
            except (IndexError, ValueError):
                fills = 1
        for fld in embed.get("fields", []):
            if fld.get("name") == "Transaction" and "/tx/" in fld.get("value", ""):
                out.append((fld["value"].split("/tx/")[1].rstrip(")").lower(), fills))
    return out


@dataclass
class World:
    app: Application
    discord: TimedDiscord
    rtds: FakeRTDS
    polymarket: FakePolymarket
    tokens: list[tuple[str, str]] = field(default_factory=list)  # (token id, condition id)


async def until(
    condition: Callable[[], bool],
    *,
    every: float = 0.05,
    timeout: float = 120.0,  # noqa: ASYNC109 - a deadline for polling, not for one call
) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(every)
    return True


async def wait_idle(app: Application, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Until the ingest queue is empty and no alert worker is running."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if app.ingest.queue_depth() == 0 and app.alerts.active_channels == 0:
            return
        await asyncio.sleep(0.05)
    progress("warning: the bot did not become idle")


async def make_channels(discord: TimedDiscord, prefix: str, n: int) -> list[int]:
    return [await discord.add_channel(f"{prefix}-{i}") for i in range(n)]


async def follow_all(world: World, pairs: Sequence[tuple[str, int]], label: str) -> None:
    follows = world.app.follows
    sem = asyncio.Semaphore(8)

    async def one(i: int, wallet: str, channel_id: int) -> None:
        async with sem:
            await follows.follow(
                guild_id=world.discord.guild_id,
                channel_id=channel_id,
                wallet=wallet,
                label=f"{label}-{i}",
                min_usd=0.0,
                side="both",
                user_id=world.discord.admin_user_id,
            )

    await asyncio.gather(*(one(i, w, c) for i, (w, c) in enumerate(pairs)))


# ---- latency -----------------------------------------------------------------------------------


@dataclass
class LatencyResult:
    label: str
    rate: float
    seconds: float
    channels: int
    pushed: int
    delivered: int  # distinct trades seen in alerts (merged fills included)
    lost: int
    doubled: int
    messages: int
    cards_per_message: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    over_50_ms: int  # alerts that took longer than 50 ms
    bucket_waits: int  # messages that waited for their channel's bucket
    rate_limited: int  # 429s answered by the fake (it enforces Discord's limits)
    peak_channel_messages_per_5s: int


def _payloads(
    world: World, rng: random.Random, wallets: Sequence[str], n: int
) -> list[dict[str, Any]]:
    per_wallet = math.ceil(n / len(wallets))
    if per_wallet > len(world.tokens):
        raise RuntimeError("not enough fake market tokens for distinct assets per wallet")
    payloads = []
    for i in range(n):
        w, k = i % len(wallets), i // len(wallets)
        token, condition = world.tokens[(w * per_wallet + k) % len(world.tokens)]
        payloads.append(
            world.rtds.make_payload(
                wallet=wallets[w],
                size=round(rng.uniform(5, 500), 2),
                price=round(rng.uniform(0.05, 0.95), 2),
                side="BUY" if k % 2 == 0 else "SELL",
                asset=token,
                condition_id=condition,
                tx=random_tx(rng),
            )
        )
    return payloads


async def _push_on_schedule(
    world: World, payloads: Sequence[dict[str, Any]], rate: float
) -> dict[str, float]:
    pushed_at: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, payload in enumerate(payloads):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        payload["timestamp"] = int(time.time())
        pushed_at[payload["transactionHash"].lower()] = time.perf_counter()
        await world.rtds.push(payload)
    return pushed_at


async def bench_latency(
    world: World, rng: random.Random, *, label: str, rate: float, seconds: float, channels: int
) -> LatencyResult:
    app, discord = world.app, world.discord
    channel_ids = await make_channels(discord, label, channels)
    wallets = [random_wallet(rng) for _ in range(channels)]
    await follow_all(world, list(zip(wallets, channel_ids, strict=True)), label)
    await wait_idle(app)
    await asyncio.sleep(5.5)  # every channel bucket fresh
    n = int(rate * seconds)
    payloads = _payloads(world, rng, wallets, n)
    limited0, waits0, sent0 = (
        discord.rate_limited_count,
        app.alerts.stats.bucket_waits,
        app.alerts.stats.sent_alerts,
    )
    progress(f"(b) {label}: {n} trades at {rate:g}/s into {channels} channel(s)")
    pushed_at = await _push_on_schedule(world, payloads, rate)
    await until(lambda: app.alerts.stats.sent_alerts - sent0 >= n, timeout=60)
    await asyncio.sleep(1.0)  # a doubled alert would arrive by now

    latencies: list[float] = []
    shown: Counter[str] = Counter()
    fills_seen: Counter[str] = Counter()
    messages = 0
    per_channel: dict[int, list[float]] = {}
    for ch in channel_ids:
        for message in discord.channel_messages.get(ch, []):
            stored = discord.stored_at[int(message["id"])]
            messages += 1
            per_channel.setdefault(ch, []).append(stored)
            for tx, fills in message_txs(message):
                shown[tx] += 1
                fills_seen[tx] += fills
                if tx in pushed_at:
                    latencies.append((stored - pushed_at[tx]) * 1000.0)
    delivered = app.alerts.stats.sent_alerts - sent0
    return LatencyResult(
        label=label,
        rate=rate,
        seconds=seconds,
        channels=channels,
        pushed=n,
        delivered=delivered,
        lost=max(0, n - delivered),
        doubled=sum(c - 1 for c in shown.values() if c > 1),
        messages=messages,
        cards_per_message=sum(shown.values()) / messages if messages else 0.0,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies) if latencies else math.nan,
        over_50_ms=sum(1 for ms in latencies if ms > 50),
        bucket_waits=app.alerts.stats.bucket_waits - waits0,
        rate_limited=discord.rate_limited_count - limited0,
        peak_channel_messages_per_5s=max(
            (max_in_window(sorted(ts), 5.0) for ts in per_channel.values()), default=0
        ),
    )


@dataclass
class BareResult:
    """The floor under ``bench_latency``'s 1 trade/s: discord.py alone, no bot around it."""

    rate: float
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    over_50_ms: int
    rate_limited: int


async def bench_bare_sender(discord: TimedDiscord, *, rate: float, seconds: float) -> BareResult:
    """What the simplest bot does, as the baseline: each trade posted through discord.py the
    moment it arrives, in a task of its own (discord.py's own rate limiter queues it), with
    nothing stored, rendered or guarded. Same schedule, same channel limits, a fresh channel.

    At exactly a channel's limit even this sender's latency grows window after window, by the
    moments between a bucket's reset and the next post reaching Discord: it shows how much of
    the bot's figure is the rate limit itself and how much the bot's own work."""
    channel_id = await discord.add_channel("bare")
    client = discord_py.Client(intents=discord_py.Intents.none())
    await client.login(discord.token)
    channel = client.get_partial_messageable(channel_id)
    limited0 = discord.rate_limited_count
    latencies: list[float] = []

    async def post(n: int, pushed: float) -> None:
        message = await channel.send(content=f"trade {n}")
        latencies.append((discord.stored_at[message.id] - pushed) * 1000.0)

    await asyncio.sleep(5.5)  # a fresh global window
    progress(f"(b) bare discord.py sender: {int(rate * seconds)} posts at {rate:g}/s")
    loop = asyncio.get_running_loop()
    start, posts = loop.time(), []
    try:
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
            posts.append(asyncio.create_task(post(n, time.perf_counter())))
        await asyncio.gather(*posts)
    finally:
        await client.close()
    return BareResult(
        rate=rate,
        seconds=seconds,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies) if latencies else math.nan,
        over_50_ms=sum(1 for ms in latencies if ms > 50),
        rate_limited=discord.rate_limited_count - limited0,
    )


def bare_rows(row: Callable[[str, str], None], r: BareResult) -> None:
    row(
        "  baseline: bare discord.py, a task per post",
        f"p50 {r.p50_ms:.0f} ms  p99 {r.p99_ms:.0f} ms  max {r.max_ms:.0f} ms"
        f"  ({r.over_50_ms} over 50 ms; {r.rate_limited} x 429)",
    )


# ---- fan-out -----------------------------------------------------------------------------------


@dataclass
class FanoutResult:
    channels: int
    delivered: int
    first_alert_s: float
    all_alerts_s: float
    posts_per_s: float  # between the first post and the last
    share_of_discord: float  # posts per second over Discord's 50
    unrelated_delay_s: float  # an unrelated alert pushed a third of the way through
    unrelated_at_post: int  # how many fan-out posts had gone when it arrived
    rate_limited: int
    peak_requests_per_s: int
    timed_out: bool


async def bench_fanout(world: World, rng: random.Random, n_channels: int) -> FanoutResult:
    app, discord, rtds = world.app, world.discord, world.rtds
    progress(f"(b) creating {n_channels} channels and following one trader in each")
    channels = await make_channels(discord, "fan", n_channels)
    wallet, other = random_wallet(rng), random_wallet(rng)
    await follow_all(world, [(wallet, ch) for ch in channels], "fan")
    (other_channel,) = await make_channels(discord, "unrelated", 1)
    await follow_all(world, [(other, other_channel)], "unrelated")
    await wait_idle(app)
    await asyncio.sleep(6.0)  # buckets and the global window fresh

    token, condition = world.tokens[-1]
    payload = rtds.make_payload(
        wallet=wallet, size=1234.0, price=0.61, asset=token, condition_id=condition,
        tx=random_tx(rng),
    )  # fmt: skip
    limited0, requests0 = discord.rate_limited_count, len(discord.request_log)
    progress(f"(b) one trade for {n_channels} channels, an unrelated one a third of the way")
    t0 = time.perf_counter()
    await rtds.push(payload)

    def delivered() -> int:
        return sum(1 for ch in channels if discord.channel_messages.get(ch))

    await until(lambda: delivered() >= n_channels // 3, every=0.01)
    unrelated_at_post = delivered()
    token2, condition2 = world.tokens[-2]
    unrelated = rtds.make_payload(
        wallet=other, size=50.0, price=0.4, asset=token2, condition_id=condition2,
        tx=random_tx(rng),
    )  # fmt: skip
    u0 = time.perf_counter()
    await rtds.push(unrelated)
    timed_out = not await until(
        lambda: delivered() >= n_channels and bool(discord.channel_messages.get(other_channel))
    )
    await wait_idle(app, timeout=10)

    stored = sorted(
        discord.stored_at[int(m["id"])] - t0
        for ch in channels
        for m in discord.channel_messages.get(ch, [])
    )
    unrelated_msgs = discord.channel_messages.get(other_channel, [])
    unrelated_delay = (
        discord.stored_at[int(unrelated_msgs[0]["id"])] - u0 if unrelated_msgs else math.nan
    )
    times = sorted(t for t, _, _ in discord.request_log[requests0:] if t >= t0)
    total = stored[-1] if stored else math.nan
    rate = (len(stored) - 1) / (stored[-1] - stored[0]) if len(stored) > 1 else 0.0
    return FanoutResult(
        channels=n_channels,
        delivered=len(stored),
        first_alert_s=stored[0] if stored else math.nan,
        all_alerts_s=total,
        posts_per_s=rate,
        share_of_discord=rate / DISCORD_GLOBAL_PER_S,
        unrelated_delay_s=unrelated_delay,
        unrelated_at_post=unrelated_at_post,
        rate_limited=discord.rate_limited_count - limited0,
        peak_requests_per_s=max_in_window(times, 1.0),
        timed_out=timed_out,
    )


# ---- report ------------------------------------------------------------------------------------


def latency_rows(row: Callable[[str, str], None], r: LatencyResult) -> None:
    row(
        "  latency push -> stored in fake Discord",
        f"p50 {r.p50_ms:.0f} ms  p99 {r.p99_ms:.0f} ms  max {r.max_ms:.0f} ms"
        f"  ({r.over_50_ms} of {r.pushed} over 50 ms)",
    )
    row("  delivered / lost / doubled", f"{r.delivered}/{r.pushed} / {r.lost} / {r.doubled}")
    row(
        "  messages, cards per message, bucket waits",
        f"{r.messages}, {r.cards_per_message:.2f}, {r.bucket_waits}",
    )
    row(
        "  429s; peak msgs/channel/5 s",
        f"{r.rate_limited}; {r.peak_channel_messages_per_5s} (Discord {DISCORD_CHANNEL_PER_5S})",
    )


def fanout_rows(row: Callable[[str, str], None], c: FanoutResult) -> None:
    timed_out = " (TIMED OUT)" if c.timed_out else ""
    row("  alerts delivered", f"{c.delivered:,}/{c.channels:,}{timed_out}")
    row(
        "  first / all delivered",
        f"{c.first_alert_s:.2f} s / {c.all_alerts_s:.2f} s (at 50/s: {c.channels / 50:.1f} s)",
    )
    row(
        "  pace from the first post to the last",
        f"{c.posts_per_s:.1f} posts/s = {c.share_of_discord:.3f} of Discord's"
        f" {DISCORD_GLOBAL_PER_S}/s",
    )
    row(
        "  unrelated alert, pushed after",
        f"{c.unrelated_at_post} fan-out posts: delivered in {c.unrelated_delay_s:.2f} s",
    )
    row(
        "  429s; peak requests per rolling second",
        f"{c.rate_limited}; {c.peak_requests_per_s} (the fake enforces 50)",
    )


def goals(
    one: LatencyResult, under: LatencyResult, burst: LatencyResult, c: FanoutResult
) -> list[dict[str, Any]]:
    return [
        {
            "goal": f"1 trade/s into one channel: p99 <= {GOAL_ONE_CHANNEL_P99_MS:g} ms",
            "value": f"{one.p99_ms:.0f} ms",
            "pass": one.p99_ms <= GOAL_ONE_CHANNEL_P99_MS and one.lost == one.doubled == 0,
        },
        {
            "goal": f"{under.rate:g} trades/s: p99 <= {GOAL_ONE_CHANNEL_P99_MS:g} ms",
            "value": f"{under.p99_ms:.0f} ms",
            "pass": under.p99_ms <= GOAL_ONE_CHANNEL_P99_MS and under.lost == under.doubled == 0,
        },
        {
            "goal": "50 trades/s burst: merged, 0 x 429, none lost or doubled",
            "value": f"{burst.cards_per_message:.1f} cards/msg, {burst.rate_limited} x 429",
            "pass": burst.rate_limited == 0
            and burst.lost == burst.doubled == 0
            and burst.cards_per_message > 1,
        },
        {
            "goal": f"fan-out >= {GOAL_FANOUT_SHARE} of Discord's 50/s, 0 x 429",
            "value": f"{c.share_of_discord:.3f}, {c.rate_limited} x 429",
            "pass": c.share_of_discord >= GOAL_FANOUT_SHARE
            and c.rate_limited == 0
            and not c.timed_out,
        },
        {
            "goal": f"unrelated alert during the fan-out <= {GOAL_UNRELATED_S:g} s",
            "value": f"{c.unrelated_delay_s:.2f} s",
            "pass": c.unrelated_delay_s <= GOAL_UNRELATED_S,
        },
    ]

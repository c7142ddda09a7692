"""bench_stream.py (a): fills the live stream misses, found by reconciliation (1,000 wallets).

The real bot runs in-process against the fakes with the default RECONCILE_SECONDS (60) and its
own rate limits. 1,000 wallets of the fake Data API are followed; after one full round, fills
are added to random wallets' Data API history at random moments over one interval and never sent
on the fake RTDS (the stream misses them, staying connected and healthy). Detection latency of a
miss = the moment the fake Discord stored its alert minus the moment the fill was made. Beside
it: the Data API requests per 10 s against the published 1,000 per 10 s, the reconciler's own
(``/trades``: the goal is at most 30% of the budget) and everything the bot did (the leaderboard
and category loops share the limiter, so their refreshes add to a busy window), and how long a
round over 1,000 wallets took. Left out: the real Data API's own indexing delay (a fill listed
seconds after it happened adds those seconds).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchlib import percentile, progress
from stream_bench_delivery import TimedDiscord, World, follow_all, message_txs, until

from tests.fakes.polymarket import FakePolymarket, FakeTrader

WALLETS = 1_000
MISSES = 40
DATA_API_PER_10S = 1_000  # published general budget of the Data API
GOAL_SHARE = 0.30


class TimedPolymarket(FakePolymarket):
    """The fake Polymarket, timestamping every request."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request_times: list[tuple[float, str]] = []

    async def _handle(self, request: Any) -> Any:
        self.request_times.append((time.perf_counter(), request.path))
        return await super()._handle(request)


def trade_row(wallet: str, tx: str, ts: float, rng: random.Random) -> dict[str, Any]:
    size = round(rng.uniform(5, 500), 2)
    price = round(rng.uniform(0.05, 0.95), 2)
    return {
        "proxyWallet": wallet, "timestamp": int(ts), "conditionId": "0x" + "c" * 64,
        "type": "TRADE", "size": size, "usdcSize": size * price, "transactionHash": tx,
        "price": price, "asset": str(rng.randrange(10**20)), "side": "BUY", "outcomeIndex": 0,
        "title": "Will it rain?", "slug": "will-it-rain", "icon": "", "eventSlug": "rain",
        "outcome": "Yes", "name": "", "pseudonym": "",
    }  # fmt: skip


@dataclass
class ReconcileResult:
    wallets: int
    interval: float
    misses: int
    found: int
    doubled: int
    p50_s: float
    p99_s: float
    max_s: float
    round_s: float
    rounds: int
    peak_data_per_10s: int
    peak_trades_per_10s: int
    peak_window_paths: dict[str, int]  # what the bot asked for in the busiest 10 s, by path


def peak_window(requests: Sequence[tuple[float, str]]) -> list[tuple[float, str]]:
    """The requests (time-sorted) of the busiest 10 seconds."""
    best: tuple[int, int] = (0, 0)
    start = 0
    for i, (t, _) in enumerate(requests):
        while t - requests[start][0] >= 10.0:
            start += 1
        if i - start + 1 > best[1] - best[0]:
            best = (start, i + 1)
    return list(requests[best[0] : best[1]])


def peak_per_10s(times: Sequence[float]) -> int:
    return len(peak_window([(t, "") for t in times]))


async def bench_reconcile(
    world: World, polymarket: TimedPolymarket, rng: random.Random, misses: int
) -> ReconcileResult:
    app, discord = world.app, world.discord
    wallets = [f"0x{rng.getrandbits(160):040x}" for _ in range(WALLETS)]
    for wallet in wallets:
        polymarket.add_trader(FakeTrader(wallet, "", {}, {}))
    channels = [await discord.add_channel(f"rec-{n}") for n in range(50)]
    progress(f"(a) following {WALLETS} wallets in {len(channels)} channels")
    await follow_all(world, [(w, channels[i % 50]) for i, w in enumerate(wallets)], "rec")
    reconciler = app.reconciler
    interval = reconciler.interval
    rounds0 = reconciler.stats.rounds
    await reconciler.request_round()
    progress("(a) waiting for a full round over the 1,000 wallets")
    await until(
        lambda: (
            reconciler.stats.rounds > rounds0 and reconciler.stats.last_round_wallets >= WALLETS
        ),
        every=0.5,
        timeout=300,
    )
    measure_from = time.perf_counter()
    made: dict[str, float] = {}  # tx -> wall time the fill was made
    progress(f"(a) {misses} fills the stream never sends, over {interval:g} s")
    start = time.time()
    moments = sorted(rng.uniform(0, interval) for _ in range(misses))
    for moment in moments:
        await asyncio.sleep(max(0.0, start + moment - time.time()))
        wallet = rng.choice(wallets)
        tx = f"0x{rng.getrandbits(256):064x}"
        polymarket.traders[wallet].activity.insert(0, trade_row(wallet, tx, time.time(), rng))
        made[tx] = time.time()
    await until(
        lambda: len(_found(discord, channels, made)) >= misses, every=0.5, timeout=2 * interval + 30
    )
    found = _found(discord, channels, made)
    delays = [found[tx] - made[tx] for tx in found]
    requests = sorted((t, path) for t, path in polymarket.request_times if t >= measure_from)
    data_times = [t for t, _ in requests]
    trade_times = sorted(
        t for t, path in polymarket.request_times if t >= measure_from and path == "/trades"
    )
    doubled = sum(
        1
        for ch in channels
        for m in discord.channel_messages.get(ch, [])
        for tx, _ in message_txs(m)
        if tx in made
    ) - len(found)
    return ReconcileResult(
        wallets=WALLETS,
        interval=interval,
        misses=misses,
        found=len(found),
        doubled=doubled,
        p50_s=percentile(delays, 50),
        p99_s=percentile(delays, 99),
        max_s=max(delays) if delays else math.nan,
        round_s=reconciler.stats.last_round_seconds or math.nan,
        rounds=reconciler.stats.rounds,
        peak_data_per_10s=peak_per_10s(data_times),
        peak_trades_per_10s=peak_per_10s(trade_times),
        peak_window_paths=dict(Counter(path for _, path in peak_window(requests)).most_common()),
    )


def _found(
    discord: TimedDiscord, channels: Sequence[int], made: Mapping[str, float]
) -> dict[str, float]:
    """tx -> wall-clock time its alert was stored, for the injected fills alerted so far."""
    found: dict[str, float] = {}
    offset = time.time() - time.perf_counter()
    for ch in channels:
        for message in discord.channel_messages.get(ch, []):
            for tx, _ in message_txs(message):
                if tx in made and tx not in found:
                    found[tx] = discord.stored_at[int(message["id"])] + offset
    return found


def reconcile_rows(row: Callable[[str, str], None], a: ReconcileResult) -> None:
    row(
        f"  {a.misses} fills the stream never sent, {a.wallets:,} wallets",
        f"found {a.found}/{a.misses}, doubled {a.doubled}",
    )
    row(
        "  detection latency (fill made -> alert posted)",
        f"p50 {a.p50_s:.1f} s  p99 {a.p99_s:.1f} s  max {a.max_s:.1f} s"
        f"  (RECONCILE_SECONDS {a.interval:g})",
    )
    row("  a round over the 1,000 wallets", f"{a.round_s:.1f} s")
    row(
        "  Data API requests, peak per 10 s",
        f"{a.peak_data_per_10s} in all ({a.peak_data_per_10s / DATA_API_PER_10S:.0%} of the"
        f" published {DATA_API_PER_10S:,}); {a.peak_trades_per_10s} to /trades, the"
        f" reconciler's ({a.peak_trades_per_10s / DATA_API_PER_10S:.0%}; /trades alone: published"
        " 200)",
    )
    paths = ", ".join(f"{path} {n}" for path, n in a.peak_window_paths.items())
    row("  the busiest 10 s of all, by path", paths)


def reconcile_goals(a: ReconcileResult) -> list[dict[str, Any]]:
    share = a.peak_trades_per_10s / DATA_API_PER_10S  # the reconciler's own requests
    return [
        {
            "goal": f"misses found within RECONCILE_SECONDS ({a.interval:g} s) + grace",
            "value": f"{a.found}/{a.misses}, p99 {a.p99_s:.0f} s, doubled {a.doubled}",
            "pass": a.found == a.misses and a.doubled == 0 and a.p99_s <= a.interval + 10,
        },
        {
            "goal": f"reconciliation within {GOAL_SHARE:.0%} of the Data API budget",
            "value": f"{share:.0%} (all: {a.peak_data_per_10s / DATA_API_PER_10S:.0%})",
            "pass": share <= GOAL_SHARE,
        },
    ]

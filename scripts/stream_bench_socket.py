"""bench_stream.py (d): the stream path through a real socket, and the event loop with 100k follows.

Throughput: a fake RTDS runs in a child process (``tests/fakes/rtds.FakeRTDS``) and sends a
million prebuilt activity frames over a real WebSocket as fast as the bot takes them; the bot's
own ``TradeStream`` reads them (websockets, parse, the ``FollowService.wants`` filter over
100,000 followed wallets), ``TradeIngest`` queues the matches and writes them with their
deliveries to PostgreSQL in batches. The figure is frames per second from the first frame read
to the last one read, with the database writes of the matches done; the frame mix is ~1%
followed wallets, some whale-sized, some ``PONG`` and junk (as ``build_frames``). Beside it: the
same frames read by a bare websockets client that does nothing with them (the socket library's
own ceiling on this machine), and the hot path alone (``process_frame``, no socket, no queue,
no database: the figure earlier versions reported). Left out: Discord (deliveries are written,
not sent) and the network (loopback).

Stalls: 100,000 follows stored in PostgreSQL; the longest the event loop is held (a 1 ms ticker
measures how late it wakes) while the follows are loaded at start, while 200 follow and
unfollow commands and 20 channels disabled are applied, and, side by side, while a disabled
channel is handled the old way (every follow read again and the index rebuilt at once).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from benchlib import ROOT, progress, rss_mb
from stream_bench_delivery import until
from websockets.asyncio.client import connect

from bot.events import EventBus
from bot.polymarket.records import Trade
from bot.polymarket.stream import TradeStream
from bot.trades.follows import FollowService
from bot.trades.ingest import TradeIngest
from bot.trades.models import Follow, WhaleWatch
from db import follow_queries
from tests.fakes.rtds import REJECTION_FRAME, FakeRTDS

FOLLOWED_WALLETS = 100_000
FRAMES = 1_000_000
FRAME_POOL = 20_000
FOLLOWED_SHARE = 0.01
PONG_SHARE = 0.005
JUNK_SHARE = 0.002
ORDERS_MATCHED_SHARE = 0.3
WHALE_MIN_USD = 10_000.0
GOAL_STALL_MS = 50.0


def followed_wallets(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return [f"0x{rng.getrandbits(160):040x}" for _ in range(n)]


def build_frames(seed: int, followed: Sequence[str], pool: int) -> tuple[list[str], Counter[str]]:
    """A realistic frame mix, serialized exactly as FakeRTDS sends activity frames."""
    rng = random.Random(seed + 1)
    rtds = FakeRTDS(seed=seed + 2)
    strangers = [f"0x{rng.getrandbits(160):040x}" for _ in range(pool // 2)]
    junk = ["", "not json", '{"foo":1}', REJECTION_FRAME, '{"payload":{"proxyWallet":"nope"}}']
    frames: list[str] = []
    mix: Counter[str] = Counter()
    now = time.time()
    for n in range(pool):
        r = rng.random()
        if r < PONG_SHARE + JUNK_SHARE:
            frames.append("PONG" if r < PONG_SHARE else rng.choice(junk))
            mix["pong" if r < PONG_SHARE else "junk"] += 1
            continue
        is_followed = rng.random() < FOLLOWED_SHARE
        payload = rtds.make_payload(
            wallet=rng.choice(followed) if is_followed else rng.choice(strangers),
            size=round(rng.lognormvariate(3.5, 1.8), 2) + 0.01,
            price=round(rng.uniform(0.01, 0.99), 3),
            side=rng.choice(("BUY", "SELL")),
            timestamp=now,
            tx=f"0x{n:064x}",
        )
        kind = "orders_matched" if rng.random() < ORDERS_MATCHED_SHARE else "trades"
        frames.append(
            json.dumps(
                {"connection_id": "bench", "payload": payload, "timestamp": int(now * 1000),
                 "topic": "activity", "type": kind},
                separators=(",", ":"),
            )
        )  # fmt: skip
        mix["followed" if is_followed else "unfollowed"] += 1
        if payload["size"] * payload["price"] >= WHALE_MIN_USD:
            mix["whale-sized"] += 1
    return frames, mix


def build_index(wallets: Sequence[str]) -> FollowService:
    """The in-memory index over ``wallets`` (one follow each) and one whale watch."""
    follows = [
        Follow(
            id=i + 1,
            guild_id=1,
            channel_id=10_000 + i % 2_000,
            wallet=wallet,
            label="",
            min_usd=0.0,
            side="both",
            created_at=0.0,
        )
        for i, wallet in enumerate(wallets)
    ]
    whales = [WhaleWatch(9_999, 1, WHALE_MIN_USD, include_near_certain=False)]
    none: Any = None  # the index only
    service = FollowService(none, EventBus())
    service._rebuild(follows, whales)
    return service


# ---- the sender (a child process) --------------------------------------------------------------


async def serve(seed: int, frames: int, wallets: int) -> None:
    """Child process: a fake RTDS that sends ``frames`` frames to its first subscriber."""
    pool, _ = build_frames(seed, followed_wallets(seed, wallets), FRAME_POOL)
    rtds = FakeRTDS()
    await rtds.start()
    print(rtds.url, flush=True)
    await rtds.wait_for_subscribers(1, timeout=120)
    for n in range(frames):
        await rtds.push_raw(pool[n % len(pool)])
    await asyncio.sleep(3600)  # the parent ends the process


@dataclass
class SocketResult:
    followed_wallets: int
    frames: int
    frame_mix: dict[str, int]
    seconds: float
    frames_per_s: float
    cpu_per_frame_us: float
    matched: int
    stored: int
    junk: int
    hot_path_frames_per_s: float
    bare_socket_frames_per_s: float
    bare_socket_cpu_us: float
    rss_growth_mb: float


async def sender(seed: int, frames: int, wallets: int) -> tuple[asyncio.subprocess.Process, str]:
    """The fake RTDS in a child process, and its URL."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", str(seed), str(frames), str(wallets),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    return child, (await child.stdout.readline()).decode().strip()


async def bare_socket(seed: int, frames: int, wallets: int) -> tuple[float, float]:
    """(frames/s, µs CPU per frame) of a websockets client that only receives."""
    child, url = await sender(seed, frames, wallets)
    try:
        async with connect(url, max_queue=256, ping_interval=None) as ws:
            await ws.send(TradeStream(url, _nothing, _nothing_wanted).subscribe_message())
            await ws.recv()
            started, cpu0 = time.perf_counter(), time.process_time()
            for _ in range(frames - 1):
                await ws.recv()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu0
    finally:
        child.kill()
        await child.wait()
    return (frames - 1) / seconds, cpu / (frames - 1) * 1e6


async def _nothing(trade: Trade) -> None:
    return None


def _nothing_wanted(wallet: str, usd: float) -> bool:
    return False


async def bench_socket(pool: asyncpg.Pool, seed: int, frames: int, wallets: int) -> SocketResult:
    followed = followed_wallets(seed, wallets)
    follows = build_index(followed)
    sample, mix = build_frames(seed, followed, FRAME_POOL)
    hot = hot_path(follows, sample)
    progress(f"(d) {frames:,} frames to a bare websockets client")
    bare, bare_cpu = await bare_socket(seed, frames, wallets)
    child, url = await sender(seed, frames, wallets)
    try:
        ingest = TradeIngest(pool, follows, EventBus(), on_deliveries=lambda _: None)
        stream = TradeStream(url, ingest.submit, ingest.wants, ping_interval=5, silence_timeout=60)
        await ingest.start()
        gc.collect()
        rss0 = rss_mb()
        progress(f"(d) {frames:,} frames through a WebSocket from a child process")
        await stream.start()
        await until(lambda: stream.stats.messages > 0, every=0.001)
        started, cpu0 = time.perf_counter(), time.process_time()
        await until(lambda: stream.stats.messages >= frames, every=0.01, timeout=600)
        await asyncio.wait_for(ingest.queue.join(), 120)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu0
        await stream.stop()
        await ingest.stop()
        gc.collect()
        rss1 = rss_mb()
    finally:
        child.kill()
        await child.wait()
    return SocketResult(
        followed_wallets=wallets,
        frames=stream.stats.messages,
        frame_mix=dict(mix),
        seconds=seconds,
        frames_per_s=stream.stats.messages / seconds,
        cpu_per_frame_us=cpu / stream.stats.messages * 1e6,
        matched=stream.stats.matched,
        stored=ingest.stats.stored,
        junk=stream.stats.junk,
        hot_path_frames_per_s=hot,
        bare_socket_frames_per_s=bare,
        bare_socket_cpu_us=bare_cpu,
        rss_growth_mb=rss1 - rss0,
    )


def hot_path(follows: FollowService, frames: Sequence[str], passes: int = 10) -> float:
    """Frames per second through ``process_frame`` alone (the figure without the socket)."""

    async def on_trade(trade: Trade) -> None:  # never called: process_frame is driven directly
        return None

    process = TradeStream("ws://127.0.0.1:9", on_trade, follows.wants).process_frame
    for frame in frames:
        process(frame)
    started = time.process_time()
    for _ in range(passes):
        for frame in frames:
            process(frame)
    return passes * len(frames) / (time.process_time() - started)


# ---- stalls ------------------------------------------------------------------------------------


class LoopWatch:
    """How late a 1 ms ticker wakes: the longest the event loop was held by anyone."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.sleep(0.01)
        assert self._task is not None
        self._task.cancel()

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - before - 0.001)


@dataclass
class StallResult:
    follows: int
    load_s: float
    load_stall_ms: float
    changes: int
    change_stall_ms: float
    disables: int
    disable_stall_ms: float
    old_reload_stall_ms: float


async def bench_stalls(pool: asyncpg.Pool, n: int) -> StallResult:
    progress(f"(d) {n:,} follows in PostgreSQL; loading and changing them")
    await pool.execute(
        "INSERT INTO follows (guild_id, channel_id, wallet, created_by)"
        " SELECT 1, 20000 + g % 2000, '0x' || lpad(to_hex(g), 40, '0'), 1"
        " FROM generate_series(1, $1) g",
        n,
    )
    service = FollowService(pool, EventBus())
    async with LoopWatch() as watch:
        started = time.perf_counter()
        await service.load()
        load_s = time.perf_counter() - started
    load_stall = watch.worst
    changes = 200
    async with LoopWatch() as watch:
        for k in range(changes // 2):
            wallet = f"0x{'f' * 30}{k:010x}"
            await service.follow(
                guild_id=1, channel_id=20_000 + k, wallet=wallet, label="", min_usd=0,
                side="both", user_id=1,
            )  # fmt: skip
            await service.unfollow(20_000 + k, wallet)
    change_stall = watch.worst
    disables = 20
    async with LoopWatch() as watch:
        for k in range(disables):
            await service.disable_channel(20_000 + k, "bench")
    disable_stall = watch.worst
    async with LoopWatch() as watch:  # what disable_channel did before: everything again
        async with pool.acquire() as conn:
            everything = await follow_queries.all_follows(conn)
            whales = await follow_queries.all_whales(conn)
        service._rebuild(everything, whales)
    return StallResult(
        follows=len(everything),
        load_s=load_s,
        load_stall_ms=load_stall * 1000,
        changes=changes,
        change_stall_ms=change_stall * 1000,
        disables=disables,
        disable_stall_ms=disable_stall * 1000,
        old_reload_stall_ms=watch.worst * 1000,
    )


# ---- report ------------------------------------------------------------------------------------


def socket_rows(row: Callable[[str, str], None], d: SocketResult, s: StallResult) -> None:
    mix = ", ".join(f"{k} {v}" for k, v in sorted(d.frame_mix.items()))
    row("  frame mix (per 20,000)", mix)
    row(
        f"  {d.frames:,} frames, socket -> filter -> queue -> PostgreSQL",
        f"{d.frames_per_s:,.0f} frames/s ({d.seconds:.1f} s, {d.cpu_per_frame_us:.1f} µs CPU"
        " per frame in the bot's process)",
    )
    row("  matched / stored (with deliveries) / junk", f"{d.matched:,} / {d.stored:,} / {d.junk:,}")
    row(
        "  a bare websockets client (the library's ceiling)",
        f"{d.bare_socket_frames_per_s:,.0f} frames/s ({d.bare_socket_cpu_us:.1f} µs CPU per frame)",
    )
    row("  hot path alone (no socket, queue, database)", f"{d.hot_path_frames_per_s:,.0f} frames/s")
    row("  RSS growth over the run", f"{d.rss_growth_mb:+.1f} MB")
    row(
        f"  {s.follows:,} follows loaded at start (before serving)",
        f"{s.load_s:.2f} s, longest stall {s.load_stall_ms:.1f} ms (the GC's full collections)",
    )
    row(
        f"  {s.changes} follow/unfollow, {s.disables} channels disabled",
        f"longest stall {s.change_stall_ms:.1f} ms / {s.disable_stall_ms:.1f} ms",
    )
    row("  old way: reload and rebuild everything", f"stall {s.old_reload_stall_ms:.0f} ms")


def socket_goals(d: SocketResult, s: StallResult) -> list[dict[str, Any]]:
    worst = max(s.change_stall_ms, s.disable_stall_ms)
    return [
        {
            "goal": "the bot keeps >= 2/3 of the bare socket's rate, every match stored",
            "value": f"{d.frames_per_s / d.bare_socket_frames_per_s:.0%}",
            "pass": d.frames_per_s >= 2 / 3 * d.bare_socket_frames_per_s and d.stored > 0,
        },
        {
            "goal": f"no stall > {GOAL_STALL_MS:g} ms on follow changes at 100k follows",
            "value": f"{worst:.1f} ms",
            "pass": worst <= GOAL_STALL_MS and not math.isnan(worst),
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the child process of bench_stream.py (d)")
    parser.add_argument("--serve", nargs=3, type=int, metavar=("SEED", "FRAMES", "WALLETS"))
    args = parser.parse_args()
    asyncio.run(serve(*args.serve))

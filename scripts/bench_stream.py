"""Benchmark of the live-trade path: misses found, alerts delivered, storage, the stream's socket.

Run from the repository root::

    python scripts/bench_stream.py              # plain-text table, every part (~12 minutes)
    python scripts/bench_stream.py --only bd    # some parts
    python scripts/bench_stream.py --json       # the same figures as one JSON document

Nothing here touches the internet: RTDS, Discord and Polymarket are the local fakes
(``tests/fakes/``) on 127.0.0.1, and the fake Discord enforces Discord's rate limits (a 429 is
counted, not assumed away). PostgreSQL is an embedded server in a temporary directory (or
``BENCH_DATABASE_URL``); each part gets a fresh scratch database, migrated, dropped at the end.
Progress goes to stderr, figures to stdout. What each part measures, and what it leaves out:

(a) scripts/stream_bench_reconcile.py: fills the stream never sends, with 1,000 followed
    wallets: detection latency and the Data API budget used.
(b) scripts/stream_bench_delivery.py: trade -> alert latency at 1 trade/s into one channel (and
    a bare discord.py sender on the same schedule as its baseline) and at 50 trades/s into 10
    channels; a 1,000-channel fan-out against Discord's 50 requests/s and an unrelated alert
    during it.
(c) scripts/stream_bench_storage.py: per-message bookkeeping and retention with 1,000,000 rows
    of alert history.
(d) scripts/stream_bench_socket.py: a million frames through a real socket to PostgreSQL with
    100,000 followed wallets, and the event loop's longest stall with 100,000 follows.
(e) scripts/stream_signals.py: the stream's filter with 10,000 followed wallets and all three
    signal kinds on in 1,000 servers against follows alone, and fresh-wallet lookups per minute
    under a realistic flow, then under a burst.

A missed goal is printed as MISS; the benchmark itself never fails.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from benchlib import Table, arg_parser, migrated_pool, progress, run, run_meta
from stream_bench_delivery import (
    BareResult,
    FanoutResult,
    LatencyResult,
    TimedDiscord,
    World,
    bare_rows,
    bench_bare_sender,
    bench_fanout,
    bench_latency,
    fanout_rows,
    goals,
    latency_rows,
    wait_idle,
)
from stream_bench_reconcile import (
    MISSES,
    ReconcileResult,
    TimedPolymarket,
    bench_reconcile,
    reconcile_goals,
    reconcile_rows,
)
from stream_bench_socket import (
    FOLLOWED_WALLETS,
    FRAME_POOL,
    FRAMES,
    SocketResult,
    StallResult,
    bench_socket,
    bench_stalls,
    socket_goals,
    socket_rows,
)
from stream_bench_storage import StorageResult, bench_storage, storage_goals, storage_rows
from stream_signals import (
    FLOW_MINUTES,
    bench_fresh_lookups,
    bench_signal_filter,
    render_signals,
    signal_goals,
)

from tests.e2e.harness import running_bot, settings_for
from tests.fakes.rtds import FakeRTDS

FANOUT_CHANNELS = 1_000


DeliveryResults = tuple[LatencyResult, LatencyResult, LatencyResult, FanoutResult, BareResult]


async def run_live(
    args: argparse.Namespace,
) -> tuple[ReconcileResult | None, DeliveryResults | None]:
    """(a) and (b): the real bot against the fakes, one run."""
    rng = random.Random(args.seed)
    discord = TimedDiscord()
    polymarket = TimedPolymarket(n_traders=20, seed=args.seed)
    rtds = FakeRTDS(seed=args.seed)
    for fake in (discord, polymarket, rtds):
        await fake.start()
    a = b = None
    try:
        async with migrated_pool("stream", scratch_on_embedded=True) as (pool, _):
            settings = settings_for(
                discord,
                polymarket,
                rtds.url,
                leaderboard_candidates=20,
                http_max_retries=2,
                http_rate_scale=1.0,  # Polymarket's real limits (the tests run them x20)
            )
            progress("starting the bot against the fakes")
            async with running_bot(discord, pool, settings) as app:
                await rtds.wait_for_subscribers(1, timeout=10)
                tokens = [
                    (token, m.condition_id)
                    for m in polymarket.markets
                    if not m.closed
                    for token in m.token_ids
                ]
                world = World(app, discord, rtds, polymarket, tokens)
                if "b" in args.only:
                    one = await bench_latency(
                        world, rng, label="one", rate=1.0, seconds=120.0, channels=1
                    )
                    await wait_idle(app)
                    under = await bench_latency(
                        world, rng, label="under", rate=0.95, seconds=60.0, channels=1
                    )
                    await wait_idle(app)
                    burst = await bench_latency(
                        world, rng, label="burst", rate=50.0, seconds=20.0, channels=10
                    )
                    await wait_idle(app)
                    fanout = await bench_fanout(world, rng, args.fanout)
                    bare = await bench_bare_sender(discord, rate=1.0, seconds=120.0)
                    b = (one, under, burst, fanout, bare)
                if "a" in args.only:
                    a = await bench_reconcile(world, polymarket, rng, args.misses)
    finally:
        for fake in (rtds, polymarket, discord):
            await fake.stop()
    return a, b


async def run_storage(args: argparse.Namespace) -> StorageResult:
    async with migrated_pool("storage", scratch_on_embedded=True) as (pool, _):
        return await bench_storage(pool, new_messages=300, old_messages=20)


async def run_socket(args: argparse.Namespace) -> tuple[SocketResult, StallResult]:
    async with migrated_pool("socket", scratch_on_embedded=True) as (pool, _):
        d = await bench_socket(pool, args.seed, args.frames, FOLLOWED_WALLETS)
        return d, await bench_stalls(pool, FOLLOWED_WALLETS)


SIGNALS_GOAL_MPS = 50_000.0  # messages/s through the filter with every signal kind on


def render(results: dict[str, Any], meta: dict[str, Any]) -> str:
    table = Table()
    row, section = table.row, table.section
    all_goals: list[dict[str, Any]] = []
    if (a := results.get("a")) is not None:
        section("(a) fills the live stream never sent, found by reconciliation")
        reconcile_rows(row, a)
        all_goals += reconcile_goals(a)
    if (b := results.get("b")) is not None:
        one, under, burst, fanout, bare = b
        section(f"(b) 1 trade/s for {one.seconds:g} s into one channel (exactly its limit)")
        latency_rows(row, one)
        bare_rows(row, bare)
        section(
            f"(b) {under.rate:g} trades/s for {under.seconds:g} s into one channel (just under)"
        )
        latency_rows(row, under)
        section("(b) 50 trades/s for 20 s into 10 channels (5x what a channel may take)")
        latency_rows(row, burst)
        section(f"(b) one trader followed in {fanout.channels:,} channels, one trade")
        fanout_rows(row, fanout)
        all_goals += goals(one, under, burst, fanout)
    if (c := results.get("c")) is not None:
        section("(c) alert storage with 1,000,000 rows of history")
        storage_rows(row, c)
        all_goals += storage_goals(c)
    if (d := results.get("d")) is not None:
        section("(d) the stream through a real socket, 100,000 followed wallets")
        socket_rows(row, *d)
        all_goals += socket_goals(*d)
    if (e := results.get("e")) is not None:
        render_signals(row, section, *e)
        all_goals += signal_goals(*e, SIGNALS_GOAL_MPS)
    header = (
        f"stream benchmark · fake RTDS + fake Discord (enforcing its limits) + fake Polymarket"
        f" on 127.0.0.1 · {meta['database']} · {meta['cpus']} CPUs · Python {meta['python']} ·"
        f" {meta['seconds']:.0f} s"
    )
    return table.render(header, all_goals, align_titles=True)


def as_json(results: dict[str, Any], meta: dict[str, Any]) -> str:
    doc: dict[str, Any] = {"meta": meta}
    for part, value in results.items():
        if isinstance(value, tuple):
            doc[part] = [asdict(v) for v in value]
        elif value is not None:
            doc[part] = asdict(value)
    return json.dumps(doc, indent=2, default=str)


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    results: dict[str, Any] = {}
    if "a" in args.only or "b" in args.only:
        results["a"], results["b"] = await run_live(args)
    if "c" in args.only:
        results["c"] = await run_storage(args)
    if "d" in args.only:
        results["d"] = await run_socket(args)
    if "e" in args.only:
        progress("(e) the filter with signals on, then fresh-wallet lookups")
        filtered = bench_signal_filter(args.seed, FRAME_POOL)
        results["e"] = (filtered, await bench_fresh_lookups(args.seed, args.minutes))
    meta = run_meta("embedded PostgreSQL (temp dir), scratch databases", started)
    print(as_json(results, meta) if args.json else render(results, meta))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = arg_parser(__doc__)
    parser.add_argument("--only", default="abcde", help="parts to run, e.g. 'bd'")
    parser.add_argument("--minutes", type=int, default=FLOW_MINUTES, help="flow in (e)")
    parser.add_argument("--frames", type=int, default=FRAMES, help="frames through (d)")
    parser.add_argument("--misses", type=int, default=MISSES, help="missed fills in (a)")
    parser.add_argument("--fanout", type=int, default=FANOUT_CHANNELS, help="channels in (b)")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(main, parse_args)

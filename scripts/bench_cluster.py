"""Several bot processes on one PostgreSQL: takeover, propagation, follower replies, idle load.

(a) Takeover after SIGKILL: two real ``python -m bot`` processes (one shard each, default
    ``CLUSTER_POLL_SECONDS`` and heartbeat); the leader is SIGKILLed 10 times (restarted each
    time, so two always run). Measured from the kill to (1) another process reporting itself
    leader on ``/healthz`` and (2) the leader's work really resumed: its RTDS connection open on
    the fake stream (election, reload of follows/copies/stats, workers started, socket up).
(b) Invalidation propagation: a cluster-wide event published on one process's bus until a
    handler runs on the other's, through the bot's own EventBridge (NOTIFY on one connection,
    LISTEN on another), two bridges in this process standing for two processes. Leaves out the
    reload that follows an event (one or two queries of the mirrored table).
(c) ``/leaderboard`` reply, invocation to answer through the fake Discord, in the leader's guild
    and in a follower's (interleaved): a follower answers from its own memory, so the ratio
    should be about 1.
(d) Extra PostgreSQL load of the coordination at idle: lock polls and health checks, LISTEN
    pings, heartbeats (each process counts its own round trips, read from ``/metrics``), next to
    every transaction the database committed meanwhile (``pg_stat_database``).

Baseline: what an operator would otherwise run, one process, is (a)'s "no takeover at all"
and (c)'s leader column. Run: ``.venv/bin/python scripts/bench_cluster.py`` (an embedded
PostgreSQL is started unless ``BENCH_DATABASE_URL`` is set).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import benchlib
from benchlib import Table, percentile, progress

from bot.cluster.bridge import EventBridge
from bot.cluster.connections import connector
from bot.events import EventBus, FollowsChanged
from db.migrate import migrate
from db.pool import create_pool
from tests.e2e.cluster_harness import BotProcess, Cluster, running_cluster

PRODUCTION_TIMING = {"CLUSTER_POLL_SECONDS": "1", "CLUSTER_HEARTBEAT_SECONDS": "5"}


async def takeover(cluster: Cluster, kills: int, seed: int) -> dict[str, list[float]]:
    """A random pause before each kill, so it falls anywhere in the followers' poll cycle."""
    rng = random.Random(seed)
    lock_times: list[float] = []
    work_times: list[float] = []
    for n in range(kills):
        leader = await cluster.wait_for_leader(within=30)
        await asyncio.sleep(rng.uniform(0.0, 2.0))
        streams_before = cluster.rtds.total_connections
        leader.process.send_signal(signal.SIGKILL)
        killed = time.perf_counter()
        await leader.process.wait()
        new_leader: BotProcess | None = None
        while new_leader is None or cluster.rtds.total_connections == streams_before:
            if new_leader is None:
                found = await cluster.leaders()
                if found:
                    new_leader = found[0]
                    lock_times.append(time.perf_counter() - killed)
            await asyncio.sleep(0.01)
        work_times.append(time.perf_counter() - killed)
        progress(f"(a) kill {n + 1}: lock {lock_times[-1]:.2f} s, stream {work_times[-1]:.2f} s")
        replacement = await cluster.start_process(leader.shard)
        await cluster.wait_healthy([replacement])
    return {"lock": lock_times, "work": work_times}


async def propagation(dsn: str, events: int) -> list[float]:
    pool = await create_pool(dsn, max_size=4)
    buses = [EventBus(), EventBus()]
    arrived: dict[int, float] = {}
    landed = asyncio.Event()

    async def record(event: FollowsChanged) -> None:
        arrived[event.channel_id] = time.perf_counter()
        landed.set()

    async def no_resync() -> None:
        return None

    buses[1].subscribe(FollowsChanged, record)
    bridges = [
        EventBridge(connector(dsn), pool, bus, f"bench-{i}", on_resync=no_resync)
        for i, bus in enumerate(buses)
    ]
    for bridge in bridges:
        await bridge.start()
    samples = []
    try:
        for n in range(events):
            sent = time.perf_counter()
            landed.clear()
            buses[0].publish(FollowsChanged(channel_id=n))
            await asyncio.wait_for(landed.wait(), 10)
            samples.append(arrived[n] - sent)
            await asyncio.sleep(0.005)
    finally:
        for bridge in bridges:
            await bridge.stop()
        await pool.close()
    return samples


async def replies(cluster: Cluster, rounds: int) -> dict[str, list[float]]:
    leader = await cluster.wait_for_leader()
    follower = next(b for b in cluster.processes if b.alive and b is not leader)
    times: dict[str, list[float]] = {"leader": [], "follower": []}
    for n in range(2 * rounds):
        role, bot = ("leader", leader) if n % 2 == 0 else ("follower", follower)
        started = time.perf_counter()
        interaction = await cluster.discord.invoke(
            "leaderboard", {"metric": "pnl"}, guild_id=bot.guild.id
        )
        await interaction.wait_response(timeout=30)
        times[role].append(time.perf_counter() - started)
    return times


async def transactions(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database"
                " WHERE datname = current_database()"
            )
        )
    finally:
        await conn.close()


async def idle_load(cluster: Cluster, dsn: str, seconds: float) -> dict[str, float]:
    bots = [b for b in cluster.processes if b.alive]
    before = [await cluster.metrics(b) for b in bots]
    tx_before = await transactions(dsn)
    await asyncio.sleep(seconds)
    after = [await cluster.metrics(b) for b in bots]
    tx_after = await transactions(dsn)
    name = "polybot_cluster_coordination_queries_total"
    per_process = [(a[name] - b[name]) / seconds for a, b in zip(after, before, strict=True)]
    return {
        "processes": len(bots),
        "coordination_qps": sum(per_process),
        "coordination_qps_max_process": max(per_process),
        "all_transactions_per_s": (tx_after - tx_before) / seconds,
    }


def summary(samples: Sequence[float]) -> dict[str, float]:
    return {"p50": percentile(samples, 50), "p99": percentile(samples, 99), "n": len(samples)}


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    async with benchlib.database("cluster", scratch_on_embedded=True) as (dsn, description):
        progress("(b) event propagation between two bridges")
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        prop = await propagation(dsn, args.events)
        with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
            progress("starting two bot processes")
            async with running_cluster(dsn, Path(tmp), processes=2, **PRODUCTION_TIMING) as cluster:
                progress(f"(d) idle for {args.idle:g} s")
                load = await idle_load(cluster, dsn, args.idle)
                progress(f"(c) {args.rounds} /leaderboard replies on each process")
                reply = await replies(cluster, args.rounds)
                progress(f"(a) {args.kills} SIGKILLs of the leader")
                kills = await takeover(cluster, args.kills, args.seed)
    return {
        "database": description,
        "takeover_lock": summary(kills["lock"]),
        "takeover_work": summary(kills["work"]),
        "propagation": summary(prop),
        "reply_leader": summary(reply["leader"]),
        "reply_follower": summary(reply["follower"]),
        "idle": load,
    }


def render(results: dict[str, Any], meta: dict[str, Any]) -> str:
    def ms(d: dict[str, float]) -> str:
        return f"p50 {d['p50'] * 1000:,.1f} ms, p99 {d['p99'] * 1000:,.1f} ms (n={d['n']})"

    lead, follow, idle = results["reply_leader"], results["reply_follower"], results["idle"]
    ratio = follow["p99"] / lead["p99"]
    table = Table()
    table.section("(a) takeover after SIGKILL of the leader")
    table.row("  another process holds the lock", ms(results["takeover_lock"]))
    table.row("  the leader's work resumed (stream up)", ms(results["takeover_work"]))
    table.section("(b) invalidation propagation, publish -> handler on the other process")
    table.row("  NOTIFY/LISTEN through EventBridge", ms(results["propagation"]))
    table.section("(c) /leaderboard reply through the fake Discord")
    table.row("  leader's guild", ms(lead))
    table.row("  a follower's guild", ms(follow))
    table.row("  follower / leader p99", f"{ratio:.2f}")
    table.section(f"(d) PostgreSQL load at idle, {idle['processes']} processes")
    table.row("  coordination round trips", f"{idle['coordination_qps']:.2f} /s in all")
    table.row("  busiest process", f"{idle['coordination_qps_max_process']:.2f} /s")
    table.row("  every transaction committed", f"{idle['all_transactions_per_s']:.2f} /s")
    goals = [
        {
            "goal": "takeover p99 <= 10 s",
            "pass": results["takeover_work"]["p99"] <= 10.0,
            "value": f"{results['takeover_work']['p99']:.2f} s",
        },
        {"goal": "follower/leader reply p99 ~ 1", "pass": ratio <= 1.5, "value": f"{ratio:.2f}"},
    ]
    header = f"bench_cluster: {meta['database']}, {meta['cpus']} CPUs, {meta['seconds']:.0f} s"
    return table.render(header, goals)


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    results = await measure(args)
    meta = benchlib.run_meta(results["database"], started)
    print(json.dumps({"meta": meta, **results}, indent=2) if args.json else render(results, meta))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = benchlib.arg_parser(__doc__)
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs of the leader in (a)")
    parser.add_argument("--events", type=int, default=500, help="events through (b)")
    parser.add_argument("--rounds", type=int, default=300, help="replies per process in (c)")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle in (d)")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


if __name__ == "__main__":
    benchlib.run(main, parse_args)

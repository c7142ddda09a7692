"""Three ``python -m bot`` processes, one shard each, one PostgreSQL: one bot.

Each guild lives on a different shard, so each guild's commands reach a different process
(the fake gateway routes by Discord's ``(guild_id >> 22) % shard_count`` rule). One process
leads: it alone holds the RTDS connection, refreshes the leaderboard and delivers alerts.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import asyncpg

from tests.e2e.cluster_harness import BotProcess, Cluster, running_cluster
from tests.e2e.harness import wait_until
from tests.e2e.test_trade_alerts import alerted_txs, record_upstream
from tests.fakes.discord.state import FakeGuild
from tests.integration.cluster.helpers import terminate

REFRESH_SECONDS = 2.0


async def leaderboard_rows(cluster: Cluster, guild: FakeGuild) -> list[str]:
    interaction = await cluster.discord.invoke(
        "leaderboard", {"metric": "pnl"}, guild_id=guild.id, user_id=cluster.discord.user_id
    )
    message = await interaction.wait_response(timeout=20)
    return message["embeds"][0]["description"].splitlines()[1:]


async def follow(cluster: Cluster, guild: FakeGuild, wallet: str) -> str:
    interaction = await cluster.discord.invoke(
        "follow",
        {"trader": wallet, "channel": guild.other_channel_id},
        guild_id=guild.id,
        channel_id=guild.channel_id,
        user_id=cluster.discord.admin_user_id,
    )
    return str((await interaction.wait_response(timeout=20))["content"])


async def refreshes_since(database_url: str, since: float) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM leaderboard_snapshots WHERE period = 'week'"
                " AND status = 'SUCCESS' AND finished_at > to_timestamp($1)",
                since,
            )
        )
    finally:
        await conn.close()


def a_follower(cluster: Cluster, leader: BotProcess) -> BotProcess:
    return next(b for b in cluster.processes if b is not leader and b.alive)


async def test_three_processes_on_three_shards_serve_one_bot(
    database_url: str, tmp_path: Path
) -> None:
    async with running_cluster(
        database_url, tmp_path, LEADERBOARD_REFRESH_SECONDS=str(REFRESH_SECONDS)
    ) as cluster:
        leader = await cluster.wait_for_leader()
        follower = a_follower(cluster, leader)

        # every guild's /leaderboard, each answered by its own process, shows the same board
        await asyncio.sleep(REFRESH_SECONDS)  # let a refresh or two happen meanwhile
        boards = [await leaderboard_rows(cluster, g) for g in cluster.guilds]
        if boards[0] != boards[-1]:  # a refresh landed between two commands: ask again
            boards = [await leaderboard_rows(cluster, g) for g in cluster.guilds]
        assert boards[0] and boards[0] == boards[1] == boards[2]

        # the leader alone streams and refreshes: one RTDS connection, one refresh per interval
        assert cluster.rtds.connections == 1 and cluster.rtds.total_connections == 1
        window_start = time.time()
        await asyncio.sleep(4 * REFRESH_SECONDS)
        refreshes = await refreshes_since(database_url, window_start)
        assert 2 <= refreshes <= 5, refreshes  # ~4 intervals; three processes would make ~12

        # a follow made through a follower alerts exactly once (the leader learns of it)
        wallet = sorted(cluster.polymarket.traders)[0]
        assert "Following" in await follow(cluster, follower.guild, wallet)
        payload = cluster.rtds.make_payload(wallet=wallet, size=40, price=0.5)
        await asyncio.sleep(0.5)  # FollowsChanged reaches the leader over NOTIFY
        record_upstream(cluster.polymarket, payload)
        await cluster.rtds.push(payload)
        channel = follower.guild.other_channel_id
        await wait_until(lambda: len(alerted_txs(cluster.discord, channel)) == 1, timeout=15)
        await asyncio.sleep(1.0)
        assert alerted_txs(cluster.discord, channel) == [payload["transactionHash"].lower()]

        # /admin refresh from a follower: the leader runs it, the follower answers
        interaction = await cluster.discord.invoke(
            "admin",
            {"target": "leaderboard"},
            subcommand="refresh",
            guild_id=follower.guild.id,
            user_id=cluster.discord.admin_user_id,
        )
        reply = (await interaction.wait_response(timeout=40))["content"]
        assert reply.startswith("Leaderboard refreshed in"), reply

        # /admin status on a follower lists the three processes and the leader
        interaction = await cluster.discord.invoke(
            "admin",
            subcommand="status",
            guild_id=follower.guild.id,
            user_id=cluster.discord.admin_user_id,
        )
        embed = (await interaction.wait_response(timeout=20))["embeds"][0]
        processes = next(f for f in embed["fields"] if f["name"] == "Processes")["value"]
        assert processes.count("shards ") == 3 and processes.count("**leader**") == 1
        assert f":{leader.process.pid}` · shards {leader.shard} · **leader**" in processes

        # /healthz and /metrics of every process
        for bot in cluster.processes:
            status, body = await cluster.health(bot)
            assert status == 200 and body["status"] == "ok" and body["shards"] == [bot.shard]
            metrics = await cluster.metrics(bot)
            assert metrics["polybot_leader"] == (1.0 if bot is leader else 0.0)
            assert metrics["polybot_cluster_members"] == 3
            assert "polybot_rss_bytes" in metrics
        leader_metrics = await cluster.metrics(leader)
        assert leader_metrics["polybot_stream_connected"] == 1
        assert leader_metrics["polybot_alerts_sent_total"] == 1
        assert leader_metrics["polybot_trade_to_alert_seconds_count"] == 1

        # every LISTEN connection killed from PostgreSQL, and a follow added with no NOTIFY
        # (as if it was lost in the gap): the re-established LISTEN's full reload finds it
        second = sorted(cluster.polymarket.traders)[1]
        await _add_follow_silently(database_url, leader.guild, second)
        assert await terminate(database_url, "polymarket-bot events") == 3
        for _ in range(100):
            if (await cluster.metrics(leader))["polybot_cluster_listen_reconnects_total"] >= 1:
                break
            await asyncio.sleep(0.1)
        trade = cluster.rtds.make_payload(wallet=second, size=30, price=0.4)
        record_upstream(cluster.polymarket, trade)
        await asyncio.sleep(0.5)
        await cluster.rtds.push(trade)
        await wait_until(
            lambda: len(alerted_txs(cluster.discord, leader.guild.other_channel_id)) == 1, 15
        )


async def _add_follow_silently(database_url: str, guild: FakeGuild, wallet: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO follows (guild_id, channel_id, wallet, created_by, created_at)"
            " VALUES ($1, $2, $3, 1, now() - interval '1 minute')",
            guild.id,
            guild.other_channel_id,
            wallet,
        )
    finally:
        await conn.close()


async def test_the_leader_killed_mid_burst_is_replaced_within_10_s_and_no_alert_is_lost_or_doubled(
    database_url: str, tmp_path: Path
) -> None:
    async with running_cluster(database_url, tmp_path) as cluster:
        leader = await cluster.wait_for_leader()
        follower = a_follower(cluster, leader)
        wallet = sorted(cluster.polymarket.traders)[0]
        assert "Following" in await follow(cluster, follower.guild, wallet)
        await asyncio.sleep(0.5)
        channel = follower.guild.other_channel_id

        burst = [
            cluster.rtds.make_payload(wallet=wallet, size=10 + i, price=0.5) for i in range(30)
        ]
        killed_at = 0.0
        for index, payload in enumerate(burst):
            record_upstream(cluster.polymarket, payload)  # it happened on Polymarket either way
            await cluster.rtds.push(payload)  # nobody listens during the gap: backfilled later
            if index == 10:
                await wait_until(lambda: len(alerted_txs(cluster.discord, channel)) >= 3, 10)
                leader.process.send_signal(signal.SIGKILL)  # no cleanup, no flush, no unlock
                await leader.process.wait()
                killed_at = asyncio.get_running_loop().time()
            await asyncio.sleep(0.02)
        successor = await cluster.wait_for_leader(within=10)
        took = asyncio.get_running_loop().time() - killed_at
        assert successor is not leader and took < 10.0, took

        expected = {p["transactionHash"].lower() for p in burst}
        await wait_until(lambda: set(alerted_txs(cluster.discord, channel)) >= expected, 30)
        await asyncio.sleep(1.0)  # any duplicate would show up now
        counts = Counter(alerted_txs(cluster.discord, channel))
        assert set(counts) == expected
        assert max(counts.values()) == 1, [tx for tx, n in counts.items() if n > 1]
        assert cluster.rtds.connections == 1

        # a planned stop (SIGTERM) hands over at once: the lock is released, the others told
        stopping_at = asyncio.get_running_loop().time()
        assert await cluster.stop(successor) == 0
        third = await cluster.wait_for_leader(within=10)
        handover = asyncio.get_running_loop().time() - stopping_at
        assert third is not successor and handover < 8.0, handover
        assert "this process is no longer the leader: shutting down" in successor.log()

"""Heartbeat rows: every process sees every member, the leader, and the ones gone quiet."""

from __future__ import annotations

import asyncio

import asyncpg

from bot.cluster.membership import Membership
from bot.cluster.models import FOLLOWER, LEADER, Identity


async def test_members_see_each_other_the_leader_and_the_stale_ones(pool: asyncpg.Pool) -> None:
    roles = {"a": LEADER, "b": FOLLOWER}
    a = Membership(pool, Identity.of_this_process((0,), 2), lambda: roles["a"], interval=0.2)
    b = Membership(pool, Identity.of_this_process((1,), 2), lambda: roles["b"], interval=0.2)
    await a.start()
    await b.start()
    try:
        await asyncio.sleep(0.3)
        view = b.view
        assert [m.shards for m in view.members] == [(0,), (1,)]
        assert view.leader is not None and view.leader.process_id == a.identity.process_id
        assert view.me == b.identity.process_id and view.stale == []

        # a is killed (no goodbye): after three missed beats it is stale, and no longer leader
        task = a._task
        assert task is not None
        task.cancel()
        await asyncio.sleep(0.9)
        view = b.view
        assert [m.process_id for m in view.stale] == [a.identity.process_id]
        assert view.leader is None

        roles["b"] = LEADER  # b takes over; its next beat says so at once
        b.beat_soon()
        await asyncio.sleep(0.1)
        assert b.view.leader is not None and b.view.leader.process_id == b.identity.process_id
    finally:
        await b.stop()
    async with pool.acquire() as conn:  # b said goodbye; the killed a is kept for the status
        rows = await conn.fetch("SELECT process_id FROM cluster_members")
    assert [r["process_id"] for r in rows] == [a.identity.process_id]


async def _add_silent_member(pool: asyncpg.Pool, process_id: str) -> None:
    """A row of a process killed two days ago (no goodbye)."""
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO cluster_members (process_id, host, pid, shards, shard_count, role,"
            " started_at, last_beat) VALUES ($1, 'gone', 1, '{}', NULL, 'follower',"
            " now() - interval '3 days', now() - interval '2 days')",
            process_id,
        )


async def test_day_old_rows_are_forgotten_at_start_then_at_most_hourly(
    pool: asyncpg.Pool,
) -> None:
    now = 1_000.0
    member = Membership(
        pool, Identity.of_this_process((0,), 1), lambda: FOLLOWER, clock=lambda: now
    )
    await _add_silent_member(pool, "killed-before-start")
    await member.beat()  # the first beat forgets
    assert [m.process_id for m in member.view.members] == [member.identity.process_id]

    await _add_silent_member(pool, "killed-later")
    for seconds in (5.0, 1_800.0, 3_599.0):  # beats within the hour leave it be
        now = 1_000.0 + seconds
        await member.beat()
        assert len(member.view.members) == 2
    queries_per_beat = member.queries

    now = 1_000.0 + 3_600.0  # an hour after the last forget: forgotten
    await member.beat()
    assert [m.process_id for m in member.view.members] == [member.identity.process_id]
    assert queries_per_beat == 3 + 3 * 2  # the forget's round trip only when it runs

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

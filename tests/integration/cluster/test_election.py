"""Leader election on a real PostgreSQL: one leader, and a fast, clean handover on every kind
of leader death (backend killed, planned stop, broken pool, network partition)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.cluster.connections import connector
from tests.fakes.pg_link import PostgresLink
from tests.integration.cluster.helpers import (
    Candidate,
    eventually,
    make_candidate,
    terminate,
    via_proxy,
)

LOCK_CONNECTION = "polymarket-bot leader lock"


@pytest.fixture
async def started() -> AsyncIterator[list[Candidate]]:
    """Candidates a test started; all stopped at the end."""
    candidates: list[Candidate] = []
    yield candidates
    for candidate in candidates:
        await candidate.election.stop()


async def test_exactly_one_of_three_leads_and_the_first_start_decides(
    database_url: str, started: list[Candidate]
) -> None:
    for name in "abc":
        candidate = make_candidate(name, connector(database_url))
        await candidate.election.start()
        started.append(candidate)
    await asyncio.sleep(0.6)  # several polls: nobody else wins a held lock
    assert [c.election.is_leader for c in started] == [True, False, False]
    assert started[0].changes == ["elected"] and started[0].working
    assert not started[1].changes and not started[2].changes


async def test_a_killed_lock_connection_stops_the_leader_at_once_and_another_takes_over(
    database_url: str, started: list[Candidate]
) -> None:
    first = make_candidate("first", connector(database_url), poll_interval=0.5)
    second = make_candidate("second", connector(database_url), poll_interval=0.5)
    for candidate in (first, second):
        await candidate.election.start()
        started.append(candidate)
    assert first.election.is_leader
    # pg_terminate_backend of both lock sessions: the leader's is the one that matters
    assert await terminate(database_url, LOCK_CONNECTION) == 2
    stopped_after = await eventually(lambda: not first.working, within=2)
    assert stopped_after < 0.5  # the termination listener wakes it: no wait for the poll
    await eventually(lambda: first.election.is_leader or second.election.is_leader, within=3)
    leaders = [c for c in started if c.election.is_leader]
    assert len(leaders) == 1


async def test_a_planned_stop_drains_before_releasing_and_the_other_takes_over_at_once(
    database_url: str, started: list[Candidate]
) -> None:
    resigned = asyncio.Event()
    first = make_candidate(
        "first", connector(database_url), on_resigned=resigned.set, stop_takes=0.3
    )
    second = make_candidate("second", connector(database_url), poll_interval=1.5)
    for candidate in (first, second):
        await candidate.election.start()
    started.append(second)
    stopping = asyncio.create_task(first.election.stop())
    await asyncio.sleep(0.15)  # the leader's workers are still draining: the lock is held
    second.election.campaign_now()
    await asyncio.sleep(0.1)
    assert not second.election.is_leader
    await stopping
    assert resigned.is_set() and first.changes == ["elected", "deposed"]
    second.election.campaign_now()  # what the LeaderResigned event does in the application
    took = await eventually(lambda: second.election.is_leader, within=1.4)
    assert took < 1.0  # did not wait for its 1.5 s poll


async def test_a_leader_whose_pool_fails_hands_over(
    database_url: str, started: list[Candidate]
) -> None:
    first = make_candidate("first", connector(database_url))
    second = make_candidate("second", connector(database_url))
    for candidate in (first, second):
        await candidate.election.start()
        started.append(candidate)
    first.pool_ok = False
    await eventually(lambda: second.election.is_leader, within=3)
    await eventually(lambda: not first.working, within=1)  # released first, then stopped
    assert first.changes == ["elected", "deposed"] and not first.working
    await asyncio.sleep(0.6)  # with a failing pool it does not campaign again
    assert not first.election.is_leader
    assert first.election.stats.last_change_reason == "the connection pool is failing"


async def test_a_partitioned_leader_stops_before_the_server_frees_its_lock(
    database_url: str, started: list[Candidate]
) -> None:
    proxy = PostgresLink(database_url)
    await proxy.start()
    try:
        first = make_candidate("first", connector(via_proxy(database_url, proxy.port)))
        second = make_candidate("second", connector(database_url))
        for candidate in (first, second):
            await candidate.election.start()
            started.append(candidate)
        assert first.election.is_leader
        loop = asyncio.get_running_loop()
        cut_at = loop.time()
        # the server's keepalive gives up after 3 s (the bot asks for ~6 s in production)
        cutting = asyncio.create_task(proxy.partition(server_gives_up=3.0))
        await eventually(lambda: not first.working, within=3)
        stopped = loop.time() - cut_at
        assert not second.election.is_leader  # the server still holds the old session
        await eventually(lambda: second.election.is_leader, within=5)
        took_over = loop.time() - cut_at
        await cutting
        assert stopped < 2.0 < took_over < 10.0, (stopped, took_over)
        assert "lost the lock connection" in first.election.stats.last_change_reason
        assert not first.election.is_leader
    finally:
        await proxy.stop()

"""The event bridge on a real PostgreSQL: cluster-wide events reach the other processes once,
local ones stay local, and a LISTEN connection killed by the server is re-established and
followed by a full reload."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import pytest

import bot.cluster.bridge as bridge_module
from bot.cluster.bridge import EventBridge
from bot.cluster.connections import connector
from bot.events import EventBus, FollowsChanged, StoredTrade, TradersChanged, TradesStored
from tests.integration.cluster.helpers import eventually, terminate

LISTEN_CONNECTION = "polymarket-bot events"


@dataclass
class Process:
    """A bus with its bridge, and what its handlers saw."""

    name: str
    bus: EventBus = field(default_factory=EventBus)
    seen: list[object] = field(default_factory=list)
    resyncs: int = 0
    bridge: EventBridge | None = None

    async def record(self, event: object) -> None:
        self.seen.append(event)

    async def resync(self) -> None:
        self.resyncs += 1


@pytest.fixture
async def processes(database_url: str, pool: asyncpg.Pool) -> AsyncIterator[list[Process]]:
    made = [Process("leader"), Process("follower")]
    for process in made:
        process.bridge = EventBridge(
            connector(database_url),
            pool,
            process.bus,
            process.name,
            on_resync=process.resync,
            ping_interval=0.3,
        )
        for kind in (FollowsChanged, TradersChanged, TradesStored):
            process.bus.subscribe(kind, process.record)
        await process.bridge.start()
    yield made
    for process in made:
        assert process.bridge is not None
        await process.bridge.stop()
        await process.bus.close()


async def test_a_cluster_wide_event_reaches_the_other_process_once_and_a_local_one_does_not(
    processes: list[Process],
) -> None:
    leader, follower = processes
    leader.bus.publish(TradesStored((StoredTrade("0xabc", "k"),)))  # local only
    leader.bus.publish(TradersChanged(wallets=("0xabc", "0xdef")))
    follower.bus.publish(FollowsChanged(channel_id=42))
    await eventually(lambda: len(follower.seen) == 2 and len(leader.seen) == 3, within=3)
    await asyncio.sleep(0.3)  # nothing more arrives: no echo of one's own events
    # each process's handlers saw its own events and the other's cluster-wide ones, once
    assert set(follower.seen) == {
        FollowsChanged(channel_id=42),
        TradersChanged(wallets=("0xabc", "0xdef")),
    }
    assert leader.seen[:2] == [
        TradesStored((StoredTrade("0xabc", "k"),)),
        TradersChanged(wallets=("0xabc", "0xdef")),
    ]
    assert leader.seen[2] == FollowsChanged(channel_id=42)
    assert follower.bus.received == {"TradersChanged": 1}
    assert leader.bus.received == {"FollowsChanged": 1}


async def test_events_keep_their_order(processes: list[Process]) -> None:
    leader, follower = processes
    for channel in range(50):
        leader.bus.publish(FollowsChanged(channel_id=channel))
    await eventually(lambda: len(follower.seen) == 50, within=5)
    assert [e.channel_id for e in follower.seen] == list(range(50))  # type: ignore[attr-defined]


async def test_a_killed_listen_connection_comes_back_with_a_full_reload(
    database_url: str, processes: list[Process]
) -> None:
    leader, follower = processes
    assert await terminate(database_url, LISTEN_CONNECTION) == 2
    # published while nobody listens: lost for the follower, hence the full reload
    leader.bus.publish(FollowsChanged(channel_id=1))
    await eventually(lambda: follower.resyncs == 1 and leader.resyncs == 1, within=5)
    assert follower.bridge is not None and follower.bridge.stats.reconnects == 1
    leader.bus.publish(FollowsChanged(channel_id=2))  # and it listens again
    await eventually(lambda: FollowsChanged(channel_id=2) in follower.seen, within=3)


async def test_an_unreadable_notification_is_skipped(
    database_url: str, processes: list[Process]
) -> None:
    leader, follower = processes
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SELECT pg_notify('polymarket_bot_events', 'not json')")
        await conn.execute(
            "SELECT pg_notify('polymarket_bot_events', "
            '\'{"type": "Unknown", "origin": "x", "fields": {}}\')'
        )
    finally:
        await conn.close()
    leader.bus.publish(FollowsChanged(channel_id=7))
    await eventually(lambda: follower.seen == [FollowsChanged(channel_id=7)], within=3)
    assert follower.bridge is not None and follower.bridge.stats.skipped == 2


def first_notify_fails(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """The bridge's first NOTIFY raises ``error``; the later ones go through."""
    notify = bridge_module.queries.notify
    calls = 0

    async def failing_once(conn: asyncpg.Connection, channel: str, payload: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise error
        await notify(conn, channel, payload)

    monkeypatch.setattr(bridge_module.queries, "notify", failing_once)


async def test_an_unexpected_send_failure_costs_that_event_not_the_sender(
    processes: list[Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    leader, follower = processes
    first_notify_fails(monkeypatch, RuntimeError("a bug, not an outage"))
    leader.bus.publish(FollowsChanged(channel_id=1))  # lost to the bug, logged
    leader.bus.publish(FollowsChanged(channel_id=2))  # the sender lives on
    await eventually(lambda: FollowsChanged(channel_id=2) in follower.seen, within=3)
    assert FollowsChanged(channel_id=1) not in follower.seen
    assert leader.bridge is not None and leader.bridge.stats.skipped == 1


async def test_an_event_postgresql_refuses_is_dropped_once_and_later_ones_still_go(
    processes: list[Process], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A refusal is permanent (retrying sends the same payload): it costs that event only.
    The size check in ``forward`` is lifted so the oversized payload reaches PostgreSQL,
    which refuses it for real ("payload string too long")."""
    leader, follower = processes
    monkeypatch.setattr(bridge_module, "MAX_PAYLOAD", 100_000)
    leader.bus.publish(TradersChanged(wallets=tuple(f"0x{i:040x}" for i in range(400))))
    leader.bus.publish(FollowsChanged(channel_id=3))  # behind it in the outbox
    await eventually(lambda: FollowsChanged(channel_id=3) in follower.seen, within=5)
    assert not any(isinstance(e, TradersChanged) for e in follower.seen)
    assert leader.bridge is not None
    assert leader.bridge.stats.refused == 1
    assert leader.bridge.stats.send_failures == 0  # not retried
    assert "refused 1" in leader.bridge.status().detail
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and "TradersChanged" in refusals[0].getMessage()


async def test_a_connection_error_on_send_is_retried_and_the_event_arrives(
    processes: list[Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    leader, follower = processes
    first_notify_fails(monkeypatch, asyncpg.exceptions.AdminShutdownError("terminating"))
    monkeypatch.setattr(leader.bridge, "_retry_delay", 0.01)
    leader.bus.publish(FollowsChanged(channel_id=4))
    await eventually(lambda: FollowsChanged(channel_id=4) in follower.seen, within=5)
    assert leader.bridge is not None
    assert leader.bridge.stats.send_failures == 1 and leader.bridge.stats.refused == 0


async def test_events_heard_while_held_are_delivered_on_release_in_order(
    processes: list[Process],
) -> None:
    """Start-up: the bridge listens while the caches warm, and holds what it hears."""
    leader, follower = processes
    assert follower.bridge is not None
    follower.bridge.hold()
    for channel in range(3):
        leader.bus.publish(FollowsChanged(channel_id=channel))
    await eventually(lambda: follower.bridge is not None and follower.bridge.stats.received == 3, 3)
    assert follower.bus.received == {}  # delivery counts as it happens: none yet
    await follower.bridge.release()
    leader.bus.publish(FollowsChanged(channel_id=3))  # after release: delivered as it comes
    await eventually(lambda: len(follower.seen) == 4, within=3)
    assert [e.channel_id for e in follower.seen] == [0, 1, 2, 3]  # type: ignore[attr-defined]


async def test_a_connection_re_established_while_held_reloads_on_release(
    database_url: str, processes: list[Process]
) -> None:
    leader, follower = processes
    assert follower.bridge is not None
    follower.bridge.hold()
    assert await terminate(database_url, LISTEN_CONNECTION) == 2
    await eventually(lambda: follower.bridge is not None and follower.bridge.stats.reconnects, 5)
    await eventually(lambda: leader.resyncs == 1, within=5)  # not held: reloads at once
    assert follower.resyncs == 0  # not under the caches' own first read
    await follower.bridge.release()
    assert follower.resyncs == 1

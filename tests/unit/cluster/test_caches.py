"""Cache reloads on cluster events: coalesced, never overlapping, skipped when not needed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from bot.cluster.caches import CacheParts, CacheSync, Reloader, TraderInvalidations
from bot.events import (
    BoardsPublished,
    EventBus,
    FollowsChanged,
    MarketsForgotten,
    TradersChanged,
)


async def test_requests_during_a_reload_make_exactly_one_more_and_runs_never_overlap() -> None:
    running = 0
    overlaps = 0
    runs = 0
    gate = asyncio.Event()

    async def load() -> None:
        nonlocal running, overlaps, runs
        running += 1
        overlaps += running > 1
        await gate.wait()
        runs += 1
        running -= 1

    reloader = Reloader("follows", load)
    reloader.request()
    await asyncio.sleep(0)
    for _ in range(5):  # five changes while the first reload runs
        reloader.request()
    gate.set()
    await reloader.run()  # returns once a run that started after this call finished
    assert runs == 2 and overlaps == 0 and reloader.runs == 2


async def test_a_failed_reload_is_retried() -> None:
    attempts = 0

    async def flaky() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("database restarting")

    reloader = Reloader("boards", flaky, retry_delay=0.01)
    await reloader.run()
    assert attempts == 2 and reloader.failures == 1 and reloader.runs == 1


class Parts:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.held = {"week": 7, "day": 8}
        self.leader = False

    async def boards(self) -> None:
        self.calls.append("boards")

    async def follows(self) -> None:
        self.calls.append("follows")

    async def copies(self) -> None:
        self.calls.append("copies")

    def forget_traders(self, wallets: Iterable[str]) -> None:
        self.calls.append("traders:" + ",".join(wallets))

    def parts(self) -> CacheParts:
        return CacheParts(
            boards=self.boards,
            board_ids=lambda: dict(self.held),
            writes_boards=lambda: self.leader,
            follows=self.follows,
            copies=self.copies,
            forget_traders=self.forget_traders,
            forget_all_traders=lambda: self.calls.append("all traders"),
            forget_markets=lambda: self.calls.append("markets"),
        )


async def settle(bus: EventBus, sync: CacheSync) -> None:
    await bus.drain()
    for reloader in (sync.boards, sync.follows, sync.copies):
        if reloader._task is not None:
            await reloader._task


async def test_each_event_reloads_its_part_and_boards_only_when_newer() -> None:
    bus, parts = EventBus(), Parts()
    sync = CacheSync(bus, parts.parts())
    bus.deliver(BoardsPublished(snapshot_ids={"week": 7, "day": 8}))  # what we hold: nothing
    bus.deliver(TradersChanged(wallets=("0xa", "0xb")))
    bus.deliver(MarketsForgotten())
    await settle(bus, sync)
    assert parts.calls == ["traders:0xa,0xb", "markets"]
    bus.deliver(BoardsPublished(snapshot_ids={"week": 9, "day": 10}))
    bus.deliver(FollowsChanged(channel_id=1))
    await settle(bus, sync)
    assert sorted(parts.calls[2:]) == ["boards", "follows"]
    parts.leader = True  # the leader wrote them: its memory is already the newest
    bus.publish(BoardsPublished(snapshot_ids={"week": 11, "day": 12}))
    await settle(bus, sync)
    assert parts.calls.count("boards") == 1
    await sync.full_reload()
    assert parts.calls[-5:-3] == ["all traders", "markets"]
    assert sorted(parts.calls[-3:]) == ["boards", "copies", "follows"]


async def test_trader_invalidations_are_batched_and_sent_in_small_events() -> None:
    bus = EventBus()
    sent: list[TradersChanged] = []

    async def record(event: TradersChanged) -> None:
        sent.append(event)

    bus.subscribe(TradersChanged, record)
    relay = TraderInvalidations(bus, delay=0.05)
    relay.add("0xignored")  # not leading: nothing to relay
    await relay.start()
    for n in range(250):
        relay.add(f"0x{n:040x}")
    relay.add(f"0x{0:040x}")
    await asyncio.sleep(0.1)
    await bus.drain()
    assert [len(e.wallets) for e in sent] == [100, 100, 50]
    await relay.stop()

from __future__ import annotations

import pytest

from bot.events import (
    Event,
    EventBus,
    FollowAdded,
    FollowsChanged,
    RefreshFinished,
    StoredTrade,
    TradesStored,
    cluster_event_types,
    decode,
    encode,
)


async def test_handlers_get_events_and_a_failing_handler_does_not_break_others() -> None:
    bus = EventBus()
    seen: list[TradesStored] = []

    async def broken(event: TradesStored) -> None:
        raise RuntimeError("boom")

    async def good(event: TradesStored) -> None:
        seen.append(event)

    bus.subscribe(TradesStored, broken)
    bus.subscribe(TradesStored, good)
    bus.publish(TradesStored((StoredTrade("0xabc", "k1"),)))
    bus.publish(FollowAdded(wallet="0xabc", channel_id=1))  # no subscribers: fine
    await bus.drain()
    assert seen == [TradesStored((StoredTrade("0xabc", "k1"),))]
    assert bus.published["TradesStored"] == 1
    bus.unsubscribe(TradesStored, good)
    bus.publish(TradesStored((StoredTrade("0xabc", "k2"),)))
    await bus.drain()
    assert len(seen) == 1


async def test_cluster_wide_events_are_forwarded_and_remote_ones_are_not_sent_back() -> None:
    bus = EventBus()
    forwarded: list[Event] = []
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    bus.forward_to(forwarded.append)
    bus.subscribe(FollowsChanged, record)
    bus.subscribe(TradesStored, record)
    bus.publish(TradesStored((StoredTrade("0xabc", "k1"),)))  # local only
    bus.publish(FollowsChanged(channel_id=5))  # cluster-wide: also forwarded
    bus.deliver(FollowsChanged(channel_id=6))  # from another process: handlers only
    await bus.drain()
    assert forwarded == [FollowsChanged(channel_id=5)]
    assert seen == [
        TradesStored((StoredTrade("0xabc", "k1"),)),
        FollowsChanged(channel_id=5),
        FollowsChanged(channel_id=6),
    ]
    assert bus.received == {"FollowsChanged": 1}


async def test_a_remote_only_handler_runs_for_other_processes_changes_never_for_this_ones() -> None:
    """A reload handler re-reads what another process changed; what this process changed is
    already in its memory, so a /follow here never reloads every follow."""
    bus = EventBus()
    reloads: list[FollowsChanged] = []

    async def reload(event: FollowsChanged) -> None:
        reloads.append(event)

    bus.subscribe(FollowsChanged, reload, remote_only=True)
    bus.publish(FollowsChanged(channel_id=5))  # made here
    bus.deliver(FollowsChanged(channel_id=6))  # made by another process
    await bus.drain()
    assert reloads == [FollowsChanged(channel_id=6)]
    bus.unsubscribe(FollowsChanged, reload)
    bus.deliver(FollowsChanged(channel_id=7))
    await bus.drain()
    assert len(reloads) == 1


def test_an_event_round_trips_through_its_wire_form_with_tuples_restored() -> None:
    event = RefreshFinished(
        request_id="r1",
        error=None,
        duration=1.5,
        trader_count=40,
        rows_written=320,
        periods_ok=("day", "week"),
        periods_failed={"all": "500 from upstream"},
        details_fetched=3,
        joined=False,
        markets_outcome=None,
        positions_outcome="ok",
    )
    origin, decoded = decode(encode(event, "host:1:abc"))
    assert origin == "host:1:abc" and decoded == event
    assert isinstance(decoded, RefreshFinished) and decoded.periods_ok == ("day", "week")


def test_only_opted_in_events_are_cluster_wide_and_junk_is_refused() -> None:
    names = cluster_event_types()
    assert {"FollowsChanged", "BoardsPublished", "TradersChanged", "FollowAdded"} <= set(names)
    assert "TradesStored" not in names  # the leader's own: its order writer must see it once
    for junk in ("", "[]", '{"type": "TradesStored", "origin": "x", "fields": {}}', "{"):
        with pytest.raises(ValueError):
            decode(junk)
    with pytest.raises(ValueError):  # a known event with fields it does not have
        decode('{"type": "FollowsChanged", "origin": "x", "fields": {"nope": 1}}')


def test_a_stored_batch_names_each_of_its_wallets_once_in_order() -> None:
    event = TradesStored(
        (StoredTrade("0xb", "k1"), StoredTrade("0xa", "k2"), StoredTrade("0xb", "k3"))
    )
    assert event.wallets == ("0xb", "0xa")
    assert [t.trade_key for t in event.trades] == ["k1", "k2", "k3"]

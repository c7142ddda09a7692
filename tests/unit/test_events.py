from __future__ import annotations

from bot.events import EventBus, FollowAdded, TradeStored


async def test_handlers_get_events_and_a_failing_handler_does_not_break_others() -> None:
    bus = EventBus()
    seen: list[TradeStored] = []

    async def broken(event: TradeStored) -> None:
        raise RuntimeError("boom")

    async def good(event: TradeStored) -> None:
        seen.append(event)

    bus.subscribe(TradeStored, broken)
    bus.subscribe(TradeStored, good)
    bus.publish(TradeStored(wallet="0xabc", trade_key="k1"))
    bus.publish(FollowAdded(wallet="0xabc", channel_id=1))  # no subscribers: fine
    await bus.drain()
    assert seen == [TradeStored(wallet="0xabc", trade_key="k1")]
    assert bus.published["TradeStored"] == 1
    bus.unsubscribe(TradeStored, good)
    bus.publish(TradeStored(wallet="0xabc", trade_key="k2"))
    await bus.drain()
    assert len(seen) == 1

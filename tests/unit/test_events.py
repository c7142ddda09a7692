from __future__ import annotations

from bot.events import Event, EventBus


async def test_handlers_get_events_and_a_failing_handler_does_not_break_others() -> None:
    bus = EventBus()
    seen: list[Event] = []

    async def broken(event: Event) -> None:
        raise RuntimeError("boom")

    async def good(event: Event) -> None:
        seen.append(event)

    bus.subscribe("x", broken)
    bus.subscribe("x", good)
    bus.publish("x", wallet="0xabc")
    bus.publish("y")  # no subscribers: fine
    await bus.drain()
    assert [e.data for e in seen] == [{"wallet": "0xabc"}]
    assert bus.published["x"] == 1
    bus.unsubscribe("x", good)
    bus.publish("x")
    await bus.drain()
    assert len(seen) == 1

from __future__ import annotations

import asyncio

from bot.loops import PeriodicTask


async def test_a_failing_iteration_is_recorded_and_the_loop_keeps_going() -> None:
    calls = 0

    async def body() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("upstream down")

    task = PeriodicTask("t", 0.01, body, max_backoff=0.02)
    assert await task.run_once() is False
    assert task.loop_status.consecutive_failures == 1
    assert task.loop_status.last_outcome == "failed" and "upstream down" in (
        task.loop_status.last_error or ""
    )
    assert await task.run_once() is True
    assert task.loop_status.consecutive_failures == 0 and task.loop_status.runs == 2


async def test_backoff_grows_with_failures_and_is_capped() -> None:
    async def body() -> None:
        raise ValueError

    task = PeriodicTask("t", 10, body, max_backoff=60)
    assert task._delay() == 10
    for expected in (20, 40, 60, 60):
        await task.run_once()
        assert task._delay() == expected


async def test_run_once_runs_now_and_stop_cancels_the_sleeping_loop() -> None:
    count = 0

    async def body() -> None:
        nonlocal count
        count += 1

    task = PeriodicTask("t", 3600, body, run_first_immediately=False)
    await task.start()
    await asyncio.sleep(0.01)
    assert count == 0 and task.loop_status.next_run_at is not None
    assert await task.run_once() is True  # an admin's "run now"
    assert count == 1
    await task.stop()
    assert not task.is_running and task.loop_status.next_run_at is None
    assert count == 1

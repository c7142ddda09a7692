"""run_together and cancel_and_wait: work that never outlives its caller (no database; a
cancelled sync pass against PostgreSQL is tested in tests/integration/copytrading/test_sync.py)."""

from __future__ import annotations

import asyncio

import pytest

from bot.workers import cancel_and_wait, run_together


class Parts:
    """Coroutines that wait until cancelled, then take ``cleanup`` seconds to stop (a rollback
    or a COMMIT on its way), and say when they have ended."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.started = 0
        self.all_started = asyncio.Event()
        self.ended: list[str] = []

    async def wait_forever(self, name: str, cleanup: float = 0.0) -> None:
        self.started += 1
        if self.started == self.count:
            self.all_started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(cleanup)  # a second cancel would cut this short
            self.ended.append(name)
            raise

    async def fail(self, name: str) -> None:
        self.started += 1
        if self.started == self.count:
            self.all_started.set()
        await self.all_started.wait()
        self.ended.append(name)
        raise ValueError(name)


async def test_every_part_runs_side_by_side() -> None:
    done: list[int] = []
    both = asyncio.Event()

    async def part(n: int) -> None:
        done.append(n)
        if len(done) == 2:
            both.set()
        await both.wait()  # neither finishes before the other started

    await asyncio.wait_for(run_together(part(n) for n in range(2)), timeout=5)
    await run_together([])
    assert sorted(done) == [0, 1]


async def test_a_cancelled_caller_returns_only_once_every_part_has_stopped() -> None:
    parts = Parts(3)
    task = asyncio.create_task(
        run_together(
            [
                parts.wait_forever("fast"),
                parts.wait_forever("slow", cleanup=0.05),
                parts.wait_forever("slower", cleanup=0.1),
            ]
        )
    )
    await asyncio.wait_for(parts.all_started.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # All three ended, their cleanups uncut: none was cancelled a second time.
    assert parts.ended == ["fast", "slow", "slower"]


async def test_a_failing_part_stops_the_others_and_its_error_is_raised_as_is() -> None:
    parts = Parts(2)
    with pytest.raises(ValueError, match="boom"):
        await run_together([parts.fail("boom"), parts.wait_forever("other", cleanup=0.05)])
    assert parts.ended == ["boom", "other"]


async def test_stopping_a_worker_waits_until_its_cleanup_has_run() -> None:
    parts = Parts(1)
    worker = asyncio.create_task(parts.wait_forever("worker", cleanup=0.05))
    await asyncio.wait_for(parts.all_started.wait(), timeout=5)
    await cancel_and_wait(worker)
    assert parts.ended == ["worker"]
    await cancel_and_wait(worker)  # stopping a stopped worker again is harmless
    await cancel_and_wait(None)


async def test_a_worker_that_failed_before_its_stop_raises_its_error_there() -> None:
    async def broken() -> None:
        raise ValueError("broken")

    worker = asyncio.create_task(broken())
    await asyncio.wait({worker})
    with pytest.raises(ValueError, match="broken"):
        await cancel_and_wait(worker)


async def test_a_caller_cancelled_while_stopping_a_worker_is_cancelled_after_it_stopped() -> None:
    """The caller's own cancellation is not swallowed (it used to be: the caller carried on as
    if nothing had happened), and the worker's cleanup is not cut short by a second cancel."""
    parts = Parts(1)
    worker = asyncio.create_task(parts.wait_forever("worker", cleanup=0.1))
    await asyncio.wait_for(parts.all_started.wait(), timeout=5)
    carried_on = False

    async def stop_then_go_on() -> None:
        nonlocal carried_on
        await cancel_and_wait(worker)
        carried_on = True

    caller = asyncio.create_task(stop_then_go_on())
    await asyncio.sleep(0.02)  # the caller is now waiting for the worker's cleanup
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert not carried_on
    assert worker.done() and parts.ended == ["worker"]  # stopped, its cleanup uncut


async def test_a_worker_failing_in_its_cleanup_while_its_caller_is_cancelled_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its error is retrieved and logged, not left for "exception was never retrieved"."""
    started = asyncio.Event()

    async def fails_when_stopped() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)
            raise ValueError("cleanup failed") from None

    worker = asyncio.create_task(fails_when_stopped(), name="fragile")
    await asyncio.wait_for(started.wait(), timeout=5)
    caller = asyncio.create_task(cancel_and_wait(worker))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert "fragile ended with an error while stopping" in caplog.text
    assert "cleanup failed" in caplog.text

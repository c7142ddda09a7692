"""/admin refresh asked on a follower: run by the leader, answered by the follower."""

from __future__ import annotations

import pytest

from bot.admin import RefreshOutcome, RefreshQueued, RefreshTarget
from bot.cluster.refresh import RefreshFailedOnLeader, RefreshRelay
from bot.events import EventBus
from bot.leaderboard.service import RefreshReport


def linked_buses() -> tuple[EventBus, EventBus]:
    """Two processes' buses joined the way the bridge joins them (cluster-wide events only)."""
    a, b = EventBus(), EventBus()
    a.forward_to(b.deliver)
    b.forward_to(a.deliver)
    return a, b


async def test_the_leader_runs_it_and_the_follower_answers_with_its_figures() -> None:
    leader_bus, follower_bus = linked_buses()
    ran: list[RefreshTarget] = []
    reloaded: list[bool] = []

    async def run(target: RefreshTarget) -> RefreshOutcome:
        ran.append(target)
        report = RefreshReport(1.25, 40, 320, ("day", "week"), {"all": "upstream 500"}, 3)
        return RefreshOutcome(report, joined=False, waited=1.3, positions_outcome="ok")

    async def refused(target: RefreshTarget) -> RefreshOutcome:
        raise AssertionError("a follower must not run it")

    async def reload() -> None:
        reloaded.append(True)

    RefreshRelay(leader_bus, is_leader=lambda: True, run=run, after_finished=reload)
    follower = RefreshRelay(
        follower_bus, is_leader=lambda: False, run=refused, after_finished=reload
    )
    outcome = await follower.request(RefreshTarget.TRADERS)
    assert ran == [RefreshTarget.TRADERS] and reloaded == [True]
    assert outcome.report.trader_count == 40 and outcome.report.periods_ok == ("day", "week")
    assert outcome.report.periods_failed == {"all": "upstream 500"}
    assert outcome.positions_outcome == "ok" and not outcome.joined


async def test_a_failure_on_the_leader_is_reported_and_no_leader_means_queued() -> None:
    leader_bus, follower_bus = linked_buses()

    async def failing(target: RefreshTarget) -> RefreshOutcome:
        raise RuntimeError("every period failed")

    async def nothing() -> None:
        return None

    leading = True
    RefreshRelay(leader_bus, is_leader=lambda: leading, run=failing, after_finished=nothing)
    follower = RefreshRelay(
        follower_bus, is_leader=lambda: False, run=failing, after_finished=nothing
    )
    with pytest.raises(RefreshFailedOnLeader, match="every period failed"):
        await follower.request(RefreshTarget.LEADERBOARD)

    leading = False  # the leader died: nobody answers
    follower.wait_seconds = 0.1
    with pytest.raises(RefreshQueued):
        await follower.request(RefreshTarget.LEADERBOARD)

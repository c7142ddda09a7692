from __future__ import annotations

import time

from bot.cluster.models import ClusterView, Member
from bot.render.status import cluster_lines


def member(pid: int, role: str, shards: tuple[int, ...], age: float, stale: bool) -> Member:
    return Member(f"h:{pid}:x", "h", pid, shards, 3, role, time.time() - 60, age, stale)


def test_the_processes_field_names_the_leader_this_process_and_the_stale_ones() -> None:
    view = ClusterView(
        me="h:2:x",
        members=[
            member(1, "leader", (0,), 1.0, False),
            member(2, "follower", (1,), 0.5, False),
            member(3, "leader", (2,), 40.0, True),  # killed while leading: not the leader now
        ],
    )
    lines = cluster_lines(view)
    assert lines[0].startswith("`h:1` · shards 0 · **leader** · started <t:")
    assert "this process" in lines[1] and "**leader**" not in lines[1]
    assert "**stale**, last beat 40s ago" in lines[2] and "**leader**" not in lines[2]
    assert len(lines) == 3


def test_no_leader_is_said() -> None:
    view = ClusterView(me="h:2:x", members=[member(2, "follower", (), 0.5, False)])
    assert cluster_lines(view) == [
        cluster_lines(view)[0],
        "no leader right now: another process takes over within seconds",
    ]
    assert "shards all" in cluster_lines(view)[0]

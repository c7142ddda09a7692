"""What the cluster code and its storage exchange: this process's identity, a member's heartbeat
row as the processes see it, and the view of all of them that ``/admin status`` shows."""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field

LEADER = "leader"
FOLLOWER = "follower"


@dataclass(frozen=True)
class Member:
    """One process of the bot, as its heartbeat row says; ``beat_age`` and ``stale`` are computed
    by PostgreSQL (one clock for every host)."""

    process_id: str
    host: str
    pid: int
    shards: tuple[int, ...]  # empty: every shard of shard_count, or no sharding
    shard_count: int | None
    role: str
    started_at: float
    beat_age: float
    stale: bool

    @property
    def is_leader(self) -> bool:
        return self.role == LEADER and not self.stale


@dataclass
class ClusterView:
    """The last heartbeat read: every member, this process's id, and when it was read."""

    me: str
    members: list[Member] = field(default_factory=list)
    read_at: float | None = None

    @property
    def leader(self) -> Member | None:
        return next((m for m in self.members if m.is_leader), None)

    @property
    def stale(self) -> list[Member]:
        return [m for m in self.members if m.stale]


@dataclass(frozen=True)
class Identity:
    """This process, as the other members see it."""

    process_id: str
    host: str
    pid: int
    shards: tuple[int, ...]
    shard_count: int | None
    started_at: float

    @classmethod
    def of_this_process(cls, shards: tuple[int, ...], shard_count: int | None) -> Identity:
        host, pid = socket.gethostname(), os.getpid()
        process_id = f"{host}:{pid}:{uuid.uuid4().hex[:6]}"
        return cls(process_id, host, pid, shards, shard_count, time.time())

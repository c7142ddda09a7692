"""Coordination of several processes: the leader lock, NOTIFY, and the members' heartbeat rows.

The leader lock is a session-level advisory lock: it lives exactly as long as the connection
that took it, so a process that dies (or whose connection PostgreSQL drops) loses it at once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.cluster.models import Identity, Member
from db.pool import Connection

LEADER_LOCK_KEY = 7_310_002  # arbitrary, fixed; the migration runner's is 7_310_001


async def try_lock(conn: Connection) -> bool:
    """Take the leader lock if nobody holds it (never waits)."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK_KEY))


async def ping(conn: Connection) -> None:
    """One round trip: proves the connection (and with it a session lock) is alive."""
    await conn.fetchval("SELECT 1")


async def detect_dead_peers(conn: Connection, seconds: int) -> None:
    """Have the server drop this session within about ``seconds`` when the client vanishes
    (TCP keepalives and a user timeout; ignored on Unix sockets, where death is seen at once)."""
    idle = max(1, seconds // 3)
    await conn.execute(
        f"SET tcp_keepalives_idle = {idle}; SET tcp_keepalives_interval = 1;"
        f" SET tcp_keepalives_count = {max(1, seconds - idle)};"
        f" SET tcp_user_timeout = {seconds * 1000}"
    )


async def notify(conn: Connection, channel: str, payload: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", channel, payload)


async def beat(conn: Connection, me: Identity, role: str) -> None:
    """Insert or refresh this process's row (last_beat is the server's now())."""
    await conn.execute(
        "INSERT INTO cluster_members (process_id, host, pid, shards, shard_count, role,"
        " started_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (process_id) DO UPDATE"
        " SET role = EXCLUDED.role, last_beat = now()",
        me.process_id,
        me.host,
        me.pid,
        list(me.shards),
        me.shard_count,
        role,
        datetime.fromtimestamp(me.started_at, UTC),
    )


async def members(conn: Connection, stale_after: float) -> list[Member]:
    rows = await conn.fetch(
        "SELECT process_id, host, pid, shards, shard_count, role, started_at,"
        " extract(epoch FROM now() - last_beat)::float8 AS beat_age"
        " FROM cluster_members ORDER BY started_at, process_id"
    )
    return [
        Member(
            process_id=row["process_id"],
            host=row["host"],
            pid=row["pid"],
            shards=tuple(row["shards"]),
            shard_count=row["shard_count"],
            role=row["role"],
            started_at=row["started_at"].timestamp(),
            beat_age=row["beat_age"],
            stale=row["beat_age"] > stale_after,
        )
        for row in rows
    ]


async def leave(conn: Connection, process_id: str) -> None:
    await conn.execute("DELETE FROM cluster_members WHERE process_id = $1", process_id)


async def forget_members(conn: Connection, silent_for: float) -> int:
    """Rows of processes gone for long (killed without a goodbye): kept a while for the status."""
    result = await conn.execute(
        "DELETE FROM cluster_members WHERE last_beat < now() - make_interval(secs => $1)",
        silent_for,
    )
    return int(result.split()[-1])

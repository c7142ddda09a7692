"""Shared pieces of the cluster integration tests: elections whose callbacks are recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import asyncpg

from bot.cluster.connections import Connect
from bot.cluster.election import LeaderElection


@dataclass
class Candidate:
    """One process's election, and what it did: every change of role, in order."""

    name: str
    election: LeaderElection
    changes: list[str] = field(default_factory=list)
    pool_ok: bool = True
    working: bool = False  # the "leader workers" this candidate runs


def make_candidate(
    name: str,
    connect: Connect,
    *,
    poll_interval: float = 0.2,
    ping_timeout: float = 1.0,
    on_resigned: Callable[[], None] = lambda: None,
    stop_takes: float = 0.0,
) -> Candidate:
    candidate: Candidate

    async def elected() -> None:
        candidate.changes.append("elected")
        candidate.working = True

    async def deposed() -> None:
        candidate.changes.append("deposed")
        candidate.working = False
        await asyncio.sleep(stop_takes)

    async def pool_healthy() -> bool:
        return candidate.pool_ok

    election = LeaderElection(
        connect,
        on_elected=elected,
        on_deposed=deposed,
        pool_healthy=pool_healthy,
        on_resigned=on_resigned,
        poll_interval=poll_interval,
        ping_timeout=ping_timeout,
    )
    candidate = Candidate(name, election)
    return candidate


def unix_socket_of(dsn: str) -> str:
    """The Unix socket file of an embedded server's DSN (``?host=/dir``)."""
    parts = urlsplit(dsn)
    directory = parse_qs(parts.query)["host"][0]
    return f"{directory}/.s.PGSQL.{parts.port or 5432}"


def via_proxy(dsn: str, port: int) -> str:
    database = urlsplit(dsn).path
    return f"postgresql://postgres@127.0.0.1:{port}{database}?sslmode=disable"


async def backend_pids(dsn: str, application_name: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1 || '%'"
            " AND datname = current_database()",
            application_name,
        )
        return [row["pid"] for row in rows]
    finally:
        await conn.close()


async def terminate(dsn: str, application_name: str) -> int:
    """pg_terminate_backend on this database's sessions whose name starts so; how many."""
    pids = await backend_pids(dsn, application_name)
    conn = await asyncpg.connect(dsn)
    try:
        for pid in pids:
            await conn.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()
    return len(pids)


async def eventually(check: Callable[[], bool], within: float, step: float = 0.02) -> float:
    """Seconds until ``check()`` held; AssertionError after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not check():
        if loop.time() - started > within:
            raise AssertionError(f"not reached within {within} s")
        await asyncio.sleep(step)
    return loop.time() - started

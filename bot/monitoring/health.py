"""``/healthz``: is this process fit to answer its shards' commands?

Healthy means: the Discord gateway is connected for every shard this process runs, PostgreSQL
answers, and the leaderboard is warm (every period has a board in memory). Anything else is a
503 with the reasons, so a load balancer or systemd watchdog can tell "starting" or "cut off"
from "fine" without parsing logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from db import cluster_queries as queries

DB_TIMEOUT = 2.0


@dataclass(frozen=True)
class HealthReport:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "unhealthy", "reasons": self.reasons} | self.details


class HealthCheck:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        gateway_problem: Callable[[], str | None],
        missing_boards: Callable[[], list[str]],
        details: Callable[[], dict[str, Any]],
    ) -> None:
        self._pool = pool
        self._gateway_problem = gateway_problem
        self._missing_boards = missing_boards
        self._details = details

    async def check(self) -> HealthReport:
        reasons = []
        if (problem := self._gateway_problem()) is not None:
            reasons.append(f"discord: {problem}")
        if (database := await self._database_problem()) is not None:
            reasons.append(f"postgresql: {database}")
        if missing := self._missing_boards():
            reasons.append("leaderboard not loaded yet: " + ", ".join(missing))
        return HealthReport(not reasons, reasons, self._details())

    async def _database_problem(self) -> str | None:
        try:
            async with asyncio.timeout(DB_TIMEOUT), self._pool.acquire() as conn:
                await queries.ping(conn)
        except TimeoutError:
            return f"no answer within {DB_TIMEOUT:g} s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:200]
        return None

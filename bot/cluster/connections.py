"""Connections of the cluster's own, outside the pool: the leader lock's and LISTEN's.

They must not share the pool's fate: a pool exhausted by slow queries must not delay the
leader's heartbeat on its lock, and a LISTEN session must do nothing else. Each is named
(``application_name``) so ``pg_stat_activity`` shows what it is.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

Connect = Callable[[str], Awaitable["asyncpg.Connection[Any]"]]


def connector(dsn: str) -> Connect:
    async def connect(application_name: str) -> asyncpg.Connection[Any]:
        name = f"{application_name} (pid {os.getpid()})"  # which process, in pg_stat_activity
        return await asyncpg.connect(dsn, server_settings={"application_name": name})

    return connect

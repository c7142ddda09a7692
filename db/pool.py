"""The one asyncpg pool of a process, with a jsonb codec so JSON columns round-trip as Python,
and the wait for PostgreSQL at start-up.

A bot started by compose or systemd next to its database often starts first: an unreachable
server is retried with backoff (one log line per attempt) for ``DATABASE_WAIT_SECONDS``. A
wrong password, user or database name will not fix itself, so it fails at once. Both end in one
line an operator can act on, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import TypeAlias
from urllib.parse import parse_qs, urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

log = logging.getLogger(__name__)

# Answers that mean "the URL is wrong", not "the server is not up yet".
WRONG_URL_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidAuthorizationSpecificationError,  # no such role, or pg_hba refuses it
    asyncpg.InvalidCatalogNameError,  # no such database
    asyncpg.ClientConfigurationError,
    ValueError,  # a malformed URL
)
# Answers that mean "not reachable yet": worth waiting for.
NOT_UP_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, unreachable, name not resolvable yet
    TimeoutError,
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.TooManyConnectionsError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
)
CONNECT_TIMEOUT = 5.0
MAX_BACKOFF = 10.0


class DatabaseStartError(Exception):
    """PostgreSQL cannot be used: the message is the one line shown to the operator;
    ``wrong_url`` when retrying cannot help (a setting to fix), else it stayed unreachable."""

    def __init__(self, message: str, *, wrong_url: bool) -> None:
        super().__init__(message)
        self.wrong_url = wrong_url


def describe_dsn(dsn: str) -> str:
    """host:port (or the socket directory) of a URL, without credentials, for messages."""
    try:
        parts = urlsplit(dsn)
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        host = parts.hostname or socket_dir or "localhost"
        return f"{host}:{parts.port or 5432}"
    except ValueError:
        return "the DATABASE_URL"


# What every query function takes: a plain connection, or one borrowed from the pool.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, schema="pg_catalog", encoder=json.dumps, decoder=json.loads, format="text"
        )


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=30
    )
    assert pool is not None
    return pool


async def wait_for_database(
    dsn: str, wait_seconds: float, *, clock: Callable[[], float] = time.monotonic
) -> None:
    """Return once PostgreSQL accepts a connection; ``DatabaseStartError`` at once for a wrong
    URL, or after ``wait_seconds`` of retries (backoff, one log line each) for an absent one."""
    where = describe_dsn(dsn)
    deadline = clock() + wait_seconds
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - clock()
        try:
            conn = await asyncpg.connect(dsn, timeout=max(0.5, min(CONNECT_TIMEOUT, remaining)))
        except WRONG_URL_ERRORS as exc:
            raise DatabaseStartError(
                f"PostgreSQL at {where} refused DATABASE_URL: {exc}; fix the user, password or "
                "database name in DATABASE_URL.",
                wrong_url=True,
            ) from None
        except NOT_UP_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            remaining = deadline - clock()
            if remaining <= 0:
                raise DatabaseStartError(
                    f"PostgreSQL at {where} did not answer within {wait_seconds:g}s ({reason}); "
                    "check DATABASE_URL and that the server is running.",
                    wrong_url=False,
                ) from None
            delay = min(MAX_BACKOFF, 2.0 ** (attempt - 1), remaining)
            log.warning(
                "waiting for PostgreSQL at %s… (attempt %d: %s; next try in %.0fs, giving up "
                "in %.0fs)",
                where,
                attempt,
                reason,
                delay,
                remaining,
            )
            await asyncio.sleep(delay)
        else:
            await conn.close()
            return

"""bot/cluster/bridge.py: which failures to send a NOTIFY are worth retrying."""

from __future__ import annotations

import asyncpg
import pytest

from bot.cluster.bridge import is_connection_error

COME_BACK_LATER = [
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.TooManyConnectionsError("too many clients already"),
    asyncpg.exceptions.DiskFullError("could not extend file"),
    asyncpg.exceptions.OutOfMemoryError("out of memory"),
    asyncpg.exceptions.ProgramLimitExceededError("too many notifications in the NOTIFY queue"),
    asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute NOTIFY in a read-only"),
    asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
    asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout"),
    asyncpg.exceptions.PostgresIOError("could not write to file"),
    asyncpg.exceptions.ConnectionFailureError("connection failure"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
    asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
    TimeoutError(),
    ConnectionResetError(),
]
NEVER_GOES = [
    asyncpg.exceptions.InvalidParameterValueError("payload string too long"),
    asyncpg.exceptions.UndefinedFunctionError("function pg_notify(text) does not exist"),
    asyncpg.exceptions.PostgresSyntaxError("syntax error at or near"),
    asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"),
]


@pytest.mark.parametrize("error", COME_BACK_LATER, ids=lambda e: type(e).__name__)
def test_connection_errors_are_retried(error: Exception) -> None:
    assert is_connection_error(error)


@pytest.mark.parametrize("error", NEVER_GOES, ids=lambda e: type(e).__name__)
def test_other_postgres_errors_are_not(error: Exception) -> None:
    assert not is_connection_error(error)

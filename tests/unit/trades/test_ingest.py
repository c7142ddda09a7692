"""Which storage failures are worth retrying the same batch for (an outage) and which belong to
one row (isolated, skipped alone)."""

from __future__ import annotations

import asyncpg
import pytest

from bot.trades.ingest import _is_outage


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError("connect"),
        TimeoutError(),
        asyncpg.PostgresConnectionError("lost"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.exceptions.UndefinedTableError("relation does not exist"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
    ],
)
def test_postgresql_away_is_an_outage(exc: BaseException) -> None:
    assert _is_outage(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"),
        asyncpg.exceptions.CheckViolationError("side"),
        asyncpg.exceptions._base.DataError("invalid input for query argument $8"),
        OverflowError("timestamp out of range"),
        ValueError("year 33658 is out of range"),
        KeyError("a bug"),
    ],
)
def test_one_rows_problem_is_not(exc: BaseException) -> None:
    assert not _is_outage(exc)

"""Shared fixtures: one embedded PostgreSQL per test session, a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from db.embedded import EmbeddedPostgres
from db.migrate import migrate
from db.pool import create_pool

# Real Polymarket payloads (where each comes from: tests/fixtures/polymarket/SOURCES.md).
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "polymarket"


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DSN of the server: TEST_DATABASE_URL if set, else an embedded one for this session."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield external
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    dsn = server.start()
    yield dsn
    server.stop()


@pytest.fixture
async def database_url(pg_server: str) -> AsyncIterator[str]:
    """A brand-new empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield with_database(pg_server, name)
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A migrated database's pool."""
    pool = await create_pool(database_url, max_size=5)
    async with pool.acquire() as conn:
        await migrate(conn)
    yield pool
    await pool.close()

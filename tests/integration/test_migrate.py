from __future__ import annotations

import asyncio

import asyncpg

from db.migrate import discover, migrate


async def test_migrations_apply_from_empty_and_are_recorded(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        applied = await migrate(conn)
        assert applied == [m.version for m in discover()]
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
        assert {"leaderboard_snapshots", "leaderboard_entries", "trader_stats"} <= tables
        recorded = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert recorded == len(applied)
        # a second start applies nothing
        assert await migrate(conn) == []
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_behind(database_url: str, tmp_path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE a (x int);")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE b (x int); SELECT * FROM nope;")
    conn = await asyncpg.connect(database_url)
    try:
        try:
            await migrate(conn, tmp_path)
        except asyncpg.PostgresError:
            pass
        else:
            raise AssertionError("broken migration should raise")
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        assert versions == [1]
        assert await conn.fetchval("SELECT to_regclass('b')") is None
    finally:
        await conn.close()


async def test_processes_starting_together_on_an_empty_database_all_migrate(
    database_url: str,
) -> None:
    """Several processes of a cluster start at once on a fresh database: each one's migrate
    must succeed, and every file be applied exactly once (the bookkeeping table included)."""
    conns = [await asyncpg.connect(database_url) for _ in range(6)]
    try:
        results = await asyncio.gather(*(migrate(conn) for conn in conns))
        applied = sorted(v for result in results for v in result)
        assert applied == [m.version for m in discover()]
        recorded = await conns[0].fetchval("SELECT count(*) FROM schema_migrations")
        assert recorded == len(applied)
    finally:
        for conn in conns:
            await conn.close()

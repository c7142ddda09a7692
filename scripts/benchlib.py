"""What the benchmark scripts in this folder share: set-up, measuring and reporting helpers.

The scripts are run by path (``python scripts/bench_stream.py`` and so on), so Python puts this
folder first on ``sys.path`` and they import this module as ``benchlib``. Importing it puts the
repository root on ``sys.path`` too, which is what lets the scripts import ``bot``, ``db`` and
``tests`` afterwards: import it before those packages (isort keeps it there, as a third-party import
it sorts ahead of the first-party ones).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence  # noqa: E402
from contextlib import asynccontextmanager  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import asyncpg  # noqa: E402

from db.embedded import EmbeddedPostgres  # noqa: E402
from db.migrate import migrate  # noqa: E402
from db.pool import create_pool  # noqa: E402
from tests.fakes.polymarket import FakePolymarket  # noqa: E402

DATABASE_ENV = "BENCH_DATABASE_URL"


def progress(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the figures (and can be piped as JSON)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---- measuring -----------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least q% of samples at or below it.

    Nearest rank rather than interpolation, so every figure printed is a time that was actually
    measured (p99 of 30 samples is their maximum). No samples give NaN instead of an error, so a
    run that timed out still reports the rest.
    """
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def total_calls(fake: FakePolymarket) -> int:
    """Every request the fake Polymarket has answered since its counters were last reset."""
    return sum(fake.calls.values())


def rss_mb() -> float:
    """Resident set size now, from /proc/self/statm (Linux): no psutil needed for one number."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576


# ---- PostgreSQL ----------------------------------------------------------------------------------


def _with_database(dsn: str, name: str) -> str:
    """``dsn`` pointed at database ``name`` on the same server, with the same credentials."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _admin(server: str, sql: str) -> None:
    """Run one statement on its own connection: CREATE/DROP DATABASE cannot run in a pool's."""
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


@asynccontextmanager
async def _server(name: str) -> AsyncIterator[tuple[str, str, bool]]:
    """(dsn, description, external) of ``BENCH_DATABASE_URL``, or else of an embedded server.

    The embedded server lives in a temporary directory and is stopped at the end, so a run
    leaves nothing behind and needs no PostgreSQL set up beforehand.
    """
    external = os.environ.get(DATABASE_ENV)
    if external:
        yield external, DATABASE_ENV, True
        return
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        server = EmbeddedPostgres(Path(tmp))
        progress("starting embedded PostgreSQL")
        dsn = await asyncio.to_thread(server.start)
        try:
            yield dsn, "embedded PostgreSQL (temp dir)", False
        finally:
            await asyncio.to_thread(server.stop)


@asynccontextmanager
async def database(
    name: str, *, scratch_on_embedded: bool = False, fall_back: bool = True
) -> AsyncIterator[tuple[str, str]]:
    """(dsn, description) of an empty database, removed (or its server stopped) afterwards.

    On ``BENCH_DATABASE_URL`` a scratch database is created and dropped at the end, so a run
    never sees (nor leaves) another run's tables. ``scratch_on_embedded`` makes one on the
    embedded server as well (its description then says so). If it cannot be created, the
    server's own database is used as is when ``fall_back``, and the error is raised otherwise.
    ``name`` tells the temporary directories of the scripts apart.
    """
    async with _server(name) as (server, description, external):
        if not (external or scratch_on_embedded):
            yield server, description
            return
        scratch = f"bench_{uuid.uuid4().hex[:12]}"
        try:
            await _admin(server, f'CREATE DATABASE "{scratch}"')
        except (asyncpg.PostgresError, OSError) as exc:
            if not fall_back:
                raise
            what = "the server's database" if scratch_on_embedded else DATABASE_ENV
            progress(f"no scratch database ({exc}); using {what} as is")
            yield server, description
            return
        if scratch_on_embedded:
            description = f"{description}, scratch database"
        else:
            description = f"{description} (scratch database)"
        try:
            yield _with_database(server, scratch), description
        finally:
            await _admin(server, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


@asynccontextmanager
async def migrated_pool(
    name: str,
    *,
    max_size: int = 10,
    scratch_on_embedded: bool = False,
    fall_back: bool = True,
) -> AsyncIterator[tuple[asyncpg.Pool, str]]:
    """(pool, description) of a ``database()`` migrated with ``db.migrate``, closed afterwards.

    The pool is the bot's own (``db.pool.create_pool``), so the benchmarks pay what the bot pays
    per connection; ``max_size`` defaults to its production size.
    """
    async with database(name, scratch_on_embedded=scratch_on_embedded, fall_back=fall_back) as (
        dsn,
        description,
    ):
        pool = await create_pool(dsn, max_size=max_size)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
            yield pool, description
        finally:
            await pool.close()


# ---- fakes ---------------------------------------------------------------------------------------


@asynccontextmanager
async def polymarket_fake(
    n_traders: int, seed: int, latency: float
) -> AsyncIterator[FakePolymarket]:
    """The fake Polymarket (``tests/fakes/polymarket/``) on 127.0.0.1, stopped afterwards.

    ``latency`` seconds are added to every request, so upstream calls cost what real ones
    would and a cache's saving shows in the wall times.
    """
    fake = FakePolymarket(n_traders=n_traders, seed=seed)
    fake.latency = latency
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


# ---- reporting -----------------------------------------------------------------------------------


def run_meta(description: str, started: float, **extra: Any) -> dict[str, Any]:
    """The "meta" of a report: where it ran and for how long, to judge its figures by.

    ``extra`` goes between the CPU count and the duration, where a script's settings read best.
    """
    return {
        "database": description,
        "cpus": os.cpu_count(),
        **extra,
        "seconds": time.perf_counter() - started,
        "python": sys.version.split()[0],
    }


class Table:
    """A two-column plain-text report: section titles, then label/value rows aligned by label.

    The scripts build theirs with ``row`` and ``section`` (bound methods work as the plain
    functions they were) and ``render`` adds the header and the GOALS line the same way for all.
    """

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def row(self, label: str, value: str) -> None:
        self.lines.append((label, value))

    def section(self, title: str) -> None:
        self.lines.append((title, ""))

    def render(
        self, header: str, goals: Sequence[Mapping[str, Any]], *, align_titles: bool = False
    ) -> str:
        """Header, blank line, the rows, blank line, one GOALS line of PASS/MISS per goal.

        Labels are padded to the longest label of a row; with ``align_titles`` section titles
        count too, otherwise a long title may overhang the values.
        """
        width = max(len(label) for label, value in self.lines if value or align_titles) + 2
        out = [header, ""]
        out += [f"{label:<{width}}{value}".rstrip() for label, value in self.lines]
        out.append("")
        out.append(
            "GOALS: "
            + " | ".join(
                f"{g['goal']}: {'PASS' if g['pass'] else 'MISS'} ({g['value']})" for g in goals
            )
        )
        return "\n".join(out)


# ---- command line --------------------------------------------------------------------------------


def arg_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of ``doc``, with the ``--json`` of every script."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser


def run(
    main: Callable[[argparse.Namespace], Coroutine[Any, Any, None]],
    parse_args: Callable[[], argparse.Namespace],
) -> None:
    """Run a script's ``main``: only warnings are logged, so the bot's logs do not drown the
    progress lines."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(main(parse_args()))

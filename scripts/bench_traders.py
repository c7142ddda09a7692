"""Benchmark of /market prices, the /trader reply and the PnL chart, with their upstream calls.

Run from the repository root::

    python scripts/bench_traders.py            # plain-text table
    python scripts/bench_traders.py --json     # the same figures as one JSON document

Nothing here touches the internet. Polymarket is the local fake (``tests/fakes/polymarket/``)
on 127.0.0.1 with 150 ms of latency added to every request; PostgreSQL is an embedded server
started in a temporary directory and stopped at the end, unless ``BENCH_DATABASE_URL`` is set
(then a scratch database is created on that server and dropped at the end; if it cannot be
created the URL is used as is). The database is migrated with ``db.migrate``. No Discord: the
services are built directly, wired as ``bot/client.py`` wires them (one ``HotCache``, the
``Settings()`` defaults for TTLs, timeouts and retries, the default rate limits), on a real
asyncpg pool. Progress goes to stderr, figures to stdout.

Set-up: the fake holds 60 traders; one real ``LeaderboardService.refresh()`` ranks them and,
through ``TraderStatsStore.on_details = ProfileService.record_details`` (as in the client),
stores every ranked trader's details in PostgreSQL, which is how a ranked /trader costs no
upstream call.

(a) Price coalescing. A new market is added to the fake (``add_market``) and resolved through
    ``MarketService.by_slug`` (untimed). Then, per round, the quote cache is cleared and 1,000
    ``PriceService.quote(market)`` run concurrently (one ``asyncio.gather``); the fake's request
    counter gives the upstream calls of the burst (goal: exactly 1, the coalesced Gamma load)
    and ``perf_counter`` the wall time until the last of the 1,000 has its quote. 5 rounds;
    every round must make one call. A last burst of 1,000 while the quote is still cached is
    timed too (expected: 0 calls).

(b) /trader reply build: ``ProfileService.get(wallet)`` + ``trader_embed(profile).to_dict()``,
    timed per iteration with ``perf_counter_ns``, split into the get and the embed, with the
    event-loop thread's CPU time (``thread_time_ns``) of the iteration beside it: on a shared
    machine a wall-time p99 far above the CPU p99 means the process was waiting for a core.
    - warm: the profile is in the traders cache (every ranked wallet loaded once first, then a
      warm-up); ~2,000 iterations cycling over the ranked wallets.
    - cold, details in PostgreSQL: the traders cache is cleared before each iteration (untimed),
      so ``get`` builds the profile from PostgreSQL (``_load`` + ``_build``); ~100 iterations
      over the ranked wallets; the fake must see 0 calls.
    - cold, unknown wallet: a new trader (``make_trader``/``add_trader``) per iteration, so
      ``get`` fetches its details upstream (3 Data API calls side by side), stores them, then
      builds; ~20 iterations; the fake's counter gives the calls per lookup (expected: 3).
    Ratios: cold p50 / warm p50. Percentiles use the nearest-rank method.

(c) Chart render: ``pnl_chart`` of 365 daily points (a seeded random walk that crosses zero, so
    both fills are drawn) at the default size (1,200 px wide, for high-density screens), titled
    as /trader titles it (a name with CJK and an emoji, and the headline subtitle). The
    first render (fonts and caches loading) is timed alone; then ~30 renders one after another
    (p50/p99 wall, and CPU), then 3 rounds of 4 renders at once via ``asyncio.to_thread`` (total
    wall; charts.py serialises renders under a module lock, so ~4x one render is expected),
    during which a 1 ms ticker on the event loop records how late it wakes up (loop lag). For
    comparison, ~10 renders of the same chart at the former 800x360.

Goals: (a) 1 upstream call per burst of 1,000 lookups (every round); (b) warm p99 <= 1 ms;
(c) <= 150 ms per PNG (the p99 of the one-after-another renders). A missed goal is printed as
MISS; the benchmark itself never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchlib import (
    Table,
    arg_parser,
    migrated_pool,
    percentile,
    polymarket_fake,
    progress,
    run,
    run_meta,
    total_calls,
)

from bot.app import Application, open_application
from bot.config import Settings
from bot.render.chart_cache import pnl_subtitle
from bot.render.charts import HEIGHT_PX, WIDTH_PX, pnl_chart
from bot.render.text import display_name
from bot.render.trader import trader_embed
from bot.traders.profiles import ProfileService
from tests.fakes.polymarket import FakePolymarket

LATENCY = 0.15  # seconds the fake waits before answering each request
N_TRADERS = 60
UNKNOWN_BASE_INDEX = 10_000  # make_trader indices of the unknown wallets (none collide)
DETAIL_PATHS = ("/positions", "/closed-positions", "/activity")
QUOTE_LOOKUPS = 1000
QUOTE_ROUNDS = 5
CHART_POINTS = 365
CONCURRENT_RENDERS = 4
CONCURRENT_ROUNDS = 3
LAG_TICK = 0.001
SMALL_RENDERS = 10

GOAL_QUOTE_CALLS = 1
GOAL_WARM_P99_MS = 1.0
GOAL_PNG_MS = 150.0


# ---- environment: PostgreSQL and the services ----------------------------------------------------


def settings_for(fake: FakePolymarket) -> Settings:
    """The bot's default settings, every upstream pointed at the fake."""
    return Settings(
        data_api_url=fake.base_url, gamma_api_url=fake.base_url, clob_api_url=fake.base_url
    )


# ---- (a) price coalescing ------------------------------------------------------------------------


@dataclass
class QuoteResult:
    lookups: int
    rounds: int
    calls_per_round: list[int]
    fetches_per_round: list[int]  # PriceService.fetches: loads actually started
    calls_by_path: dict[str, int]
    wall_ms: list[float]
    distinct_quotes: int  # distinct price tuples over all answers (expected: 1)
    any_stale: bool
    source: str
    cached_calls: int
    cached_wall_ms: float

    @property
    def worst_calls(self) -> int:
        return max(self.calls_per_round)


async def bench_quotes(services: Application, fake: FakePolymarket, lookups: int) -> QuoteResult:
    slug = "will-the-bench-coalesce"
    fake.add_market("Will the bench coalesce?", prices=(0.62, 0.38), slug=slug)
    market = await services.markets.by_slug(slug)
    if market is None:
        raise RuntimeError(f"market {slug} not found through MarketService")
    prices = services.prices
    calls: list[int] = []
    fetches: list[int] = []
    walls: list[float] = []
    by_path: dict[str, int] = {}
    seen: set[tuple[float, ...]] = set()
    stale = False
    source = ""
    for round_no in range(QUOTE_ROUNDS):
        services.prices.forget_prices()  # a cold quote: the burst has to load it
        fake.reset_calls()
        fetched = prices.fetches
        started = time.perf_counter()
        quotes = await asyncio.gather(*(prices.quote(market) for _ in range(lookups)))
        walls.append((time.perf_counter() - started) * 1000)
        calls.append(total_calls(fake))
        fetches.append(prices.fetches - fetched)
        for path, n in fake.calls.items():
            by_path[path] = by_path.get(path, 0) + n
        seen |= {q.prices for q in quotes}
        stale = stale or any(q.stale for q in quotes)
        source = quotes[0].source
        progress(
            f"(a) round {round_no + 1}/{QUOTE_ROUNDS}: {lookups} quotes in {walls[-1]:.1f} ms,"
            f" {calls[-1]} upstream calls"
        )
    fake.reset_calls()
    started = time.perf_counter()
    await asyncio.gather(*(prices.quote(market) for _ in range(lookups)))
    cached_wall = (time.perf_counter() - started) * 1000
    return QuoteResult(
        lookups=lookups,
        rounds=QUOTE_ROUNDS,
        calls_per_round=calls,
        fetches_per_round=fetches,
        calls_by_path=by_path,
        wall_ms=walls,
        distinct_quotes=len(seen),
        any_stale=stale,
        source=source,
        cached_calls=total_calls(fake),
        cached_wall_ms=cached_wall,
    )


# ---- (b) /trader reply ---------------------------------------------------------------------------


@dataclass
class Timing:
    """One kind of reply: total, get and embed wall time per iteration, and the event-loop
    thread's CPU time per iteration (wall minus CPU = waiting: PostgreSQL, upstream, or the
    machine giving the CPU to someone else), in microseconds."""

    iterations: int
    total_p50_us: float
    total_p99_us: float
    get_p50_us: float
    get_p99_us: float
    embed_p50_us: float
    embed_p99_us: float
    cpu_p50_us: float
    cpu_p99_us: float
    upstream_calls: int = 0

    @classmethod
    def of(cls, samples: Sequence[Sample], calls: int = 0) -> Timing:
        totals = [s.get_ns + s.embed_ns for s in samples]
        gets = [s.get_ns for s in samples]
        embeds = [s.embed_ns for s in samples]
        cpus = [s.cpu_ns for s in samples]
        return cls(
            iterations=len(totals),
            total_p50_us=percentile(totals, 50) / 1e3,
            total_p99_us=percentile(totals, 99) / 1e3,
            get_p50_us=percentile(gets, 50) / 1e3,
            get_p99_us=percentile(gets, 99) / 1e3,
            embed_p50_us=percentile(embeds, 50) / 1e3,
            embed_p99_us=percentile(embeds, 99) / 1e3,
            cpu_p50_us=percentile(cpus, 50) / 1e3,
            cpu_p99_us=percentile(cpus, 99) / 1e3,
            upstream_calls=calls,
        )


@dataclass
class ProfileResult:
    wallets: int  # ranked wallets cycled over
    with_standings: int  # of those, profiles with at least one leaderboard standing
    warm: Timing
    warm_misses: int  # traders-cache misses during the warm loop (expected: 0)
    cold_db: Timing
    cold_unknown: Timing
    unknown_calls_by_path: dict[str, int] = field(default_factory=dict)
    embed_fields: int = 0

    @property
    def cold_db_ratio(self) -> float:
        return self.cold_db.total_p50_us / self.warm.total_p50_us

    @property
    def cold_unknown_ratio(self) -> float:
        return self.cold_unknown.total_p50_us / self.warm.total_p50_us


@dataclass(frozen=True, slots=True)
class Sample:
    get_ns: int
    embed_ns: int
    cpu_ns: int  # this thread's CPU time over the whole iteration
    embed: dict[str, Any]


async def _reply(profiles: ProfileService, wallet: str) -> Sample:
    """One /trader reply build, timed."""
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    c0 = cpu()
    t0 = clock()
    profile = await profiles.get(wallet)
    t1 = clock()
    embed = trader_embed(profile).to_dict()
    t2 = clock()
    return Sample(t1 - t0, t2 - t1, cpu() - c0, embed)


async def bench_profiles(
    services: Application,
    fake: FakePolymarket,
    warm_iterations: int,
    cold_iterations: int,
    unknown_iterations: int,
) -> ProfileResult:
    profiles = services.profiles
    wallets = sorted(services.leaderboard.stats.fetched_at)
    if not wallets:
        raise RuntimeError("the leaderboard refresh stored no trader details")
    loaded = [await profiles.get(w) for w in wallets]  # fills the cache (and warms code paths)
    with_standings = sum(1 for p in loaded if p.standings)

    # warm: every profile in the cache
    fake.reset_calls()
    for i in range(200):
        await _reply(profiles, wallets[i % len(wallets)])
    misses = services.profiles.cache_stats.misses
    samples = [await _reply(profiles, wallets[i % len(wallets)]) for i in range(warm_iterations)]
    embed = samples[-1].embed
    warm = Timing.of(samples, total_calls(fake))
    warm_misses = services.profiles.cache_stats.misses - misses
    progress(f"(b) warm: p50 {warm.total_p50_us:.1f} us, p99 {warm.total_p99_us:.1f} us")

    # cold: the cache cleared before each lookup, the details in PostgreSQL
    fake.reset_calls()
    samples = []
    for i in range(cold_iterations):
        services.profiles.forget_profiles()
        samples.append(await _reply(profiles, wallets[i % len(wallets)]))
    cold_db = Timing.of(samples, total_calls(fake))
    progress(f"(b) cold (PostgreSQL): p50 {cold_db.total_p50_us / 1e3:.2f} ms")

    # cold: unknown wallets, fetched upstream
    fake.reset_calls()
    samples = []
    for i in range(unknown_iterations):
        trader = fake.make_trader(UNKNOWN_BASE_INDEX + i)
        fake.add_trader(trader)
        samples.append(await _reply(profiles, trader.wallet.lower()))
    cold_unknown = Timing.of(samples, total_calls(fake))
    by_path = dict(sorted(fake.calls.items()))
    progress(f"(b) cold (unknown): p50 {cold_unknown.total_p50_us / 1e3:.1f} ms, {by_path}")
    return ProfileResult(
        wallets=len(wallets),
        with_standings=with_standings,
        warm=warm,
        warm_misses=warm_misses,
        cold_db=cold_db,
        cold_unknown=cold_unknown,
        unknown_calls_by_path=by_path,
        embed_fields=len(embed.get("fields", [])),
    )


# ---- (c) chart render ----------------------------------------------------------------------------


@dataclass
class ChartResult:
    points: int
    png_bytes: int
    first_ms: float
    renders: int
    p50_ms: float
    p99_ms: float
    cpu_p50_ms: float
    concurrent: int
    concurrent_rounds: int
    concurrent_wall_ms: list[float]
    loop_lag_max_ms: float
    loop_lag_p99_ms: float
    small_p50_ms: float  # the same chart at the former 800x360

    @property
    def concurrent_wall_median_ms(self) -> float:
        return statistics.median(self.concurrent_wall_ms)

    @property
    def concurrent_per_png_ms(self) -> float:
        return self.concurrent_wall_median_ms / self.concurrent


def pnl_series(seed: int, days: int) -> list[tuple[float, float]]:
    """Cumulative PnL at the end of each of the last ``days`` days, drifting through zero."""
    rng = random.Random(seed)
    today = math.floor(time.time() / 86_400) * 86_400
    total = 0.0
    points = []
    for n in range(days):
        total += rng.gauss(40.0 if n > days // 3 else -60.0, 900.0)
        points.append((float(today - (days - n) * 86_400 + 86_399), round(total, 2)))
    return points


async def _lag_ticker(stop: asyncio.Event, lags: list[float]) -> None:
    """How late the event loop wakes a 1 ms sleep, while renders hold the GIL in threads."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(LAG_TICK)
        lags.append(max(0.0, time.perf_counter() - started - LAG_TICK) * 1000)


async def bench_charts(seed: int, renders: int, title_name: str) -> ChartResult:
    points = pnl_series(seed, CHART_POINTS)
    title = f"{title_name} 鲸鱼 🐋"
    subtitle = pnl_subtitle(points)

    def render() -> bytes:
        return pnl_chart(points, title=title, subtitle=subtitle)

    started = time.perf_counter()
    png = render()
    first = (time.perf_counter() - started) * 1000
    progress(f"(c) first render {first:.1f} ms ({len(png)} bytes)")
    render()  # one more untimed: the first one also paid for imports and font caches
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(renders):
        c0, w0 = time.process_time(), time.perf_counter()
        png = render()
        walls.append((time.perf_counter() - w0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    progress(f"(c) {renders} renders: p50 {percentile(walls, 50):.1f} ms")
    small: list[float] = []
    for _ in range(SMALL_RENDERS):
        w0 = time.perf_counter()
        pnl_chart(points, title=title, subtitle=subtitle, width_px=800, height_px=360)
        small.append((time.perf_counter() - w0) * 1000)

    concurrent_walls: list[float] = []
    lags: list[float] = []
    for _ in range(CONCURRENT_ROUNDS):
        stop = asyncio.Event()
        ticker = asyncio.create_task(_lag_ticker(stop, lags))
        await asyncio.sleep(0)
        started = time.perf_counter()
        pngs = await asyncio.gather(*(asyncio.to_thread(render) for _ in range(CONCURRENT_RENDERS)))
        concurrent_walls.append((time.perf_counter() - started) * 1000)
        stop.set()
        await ticker
        if any(p != png for p in pngs):
            progress("(c) WARNING: a concurrent render differs from the sequential one")
    progress(f"(c) {CONCURRENT_RENDERS} at once: {statistics.median(concurrent_walls):.1f} ms")
    return ChartResult(
        points=len(points),
        png_bytes=len(png),
        first_ms=first,
        renders=renders,
        p50_ms=percentile(walls, 50),
        p99_ms=percentile(walls, 99),
        cpu_p50_ms=percentile(cpus, 50),
        concurrent=CONCURRENT_RENDERS,
        concurrent_rounds=CONCURRENT_ROUNDS,
        concurrent_wall_ms=concurrent_walls,
        loop_lag_max_ms=max(lags, default=0.0),
        loop_lag_p99_ms=percentile(lags, 99) if lags else 0.0,
        small_p50_ms=percentile(small, 50),
    )


# ---- report --------------------------------------------------------------------------------------


def goals(
    quotes: QuoteResult, profiles: ProfileResult, charts: ChartResult
) -> list[dict[str, Any]]:
    warm_p99_ms = profiles.warm.total_p99_us / 1000
    return [
        {
            "goal": f"(a) {GOAL_QUOTE_CALLS} upstream call per {quotes.lookups} lookups",
            "value": f"{quotes.worst_calls} (worst of {quotes.rounds} rounds)",
            "pass": all(n == GOAL_QUOTE_CALLS for n in quotes.calls_per_round),
        },
        {
            "goal": f"(b) warm p99 <= {GOAL_WARM_P99_MS:g} ms",
            "value": f"{warm_p99_ms:.3f} ms",
            "pass": warm_p99_ms <= GOAL_WARM_P99_MS,
        },
        {
            "goal": f"(c) <= {GOAL_PNG_MS:g} ms per PNG",
            "value": f"p99 {charts.p99_ms:.1f} ms, p50 {charts.p50_ms:.1f} ms",
            "pass": charts.p99_ms <= GOAL_PNG_MS,
        },
    ]


def _timing_row(t: Timing, unit: str) -> str:
    scale, fmt = (1.0, "8.1f") if unit == "us" else (1e-3, "8.2f")
    return (
        f"p50 {t.total_p50_us * scale:{fmt}} {unit}   p99 {t.total_p99_us * scale:{fmt}} {unit}"
        f"   (get p50 {t.get_p50_us * scale:.{1 if unit == 'us' else 2}f} {unit},"
        f" embed p50 {t.embed_p50_us:.0f} us; CPU p50 {t.cpu_p50_us:.0f} us,"
        f" p99 {t.cpu_p99_us:.0f} us)"
    )


def render_table(
    quotes: QuoteResult, profiles: ProfileResult, charts: ChartResult, meta: dict[str, Any]
) -> str:
    table = Table()
    row, section = table.row, table.section
    section(f"(a) {quotes.lookups} concurrent PriceService.quote of one market, cold cache")
    row(
        f"  upstream calls per burst ({quotes.rounds} rounds)",
        ", ".join(map(str, quotes.calls_per_round))
        + "   by path: "
        + ", ".join(f"{p} {n}" for p, n in sorted(quotes.calls_by_path.items())),
    )
    row("  loads started per burst", ", ".join(map(str, quotes.fetches_per_round)))
    row(
        "  wall per burst",
        f"median {statistics.median(quotes.wall_ms):.1f} ms   min {min(quotes.wall_ms):.1f} ms"
        f"   max {max(quotes.wall_ms):.1f} ms   (upstream latency {LATENCY * 1000:.0f} ms)",
    )
    row(
        "  answers",
        f"{quotes.distinct_quotes} distinct price tuple(s), stale: {quotes.any_stale},"
        f" source: {quotes.source}",
    )
    row(
        "  burst while cached",
        f"{quotes.cached_calls} calls, {quotes.cached_wall_ms:.1f} ms",
    )
    section(
        f"(b) /trader reply: ProfileService.get + trader_embed().to_dict()"
        f" ({profiles.wallets} ranked wallets, {profiles.with_standings} with standings)"
    )
    row(
        f"  warm (cached), {profiles.warm.iterations} iterations",
        _timing_row(profiles.warm, "us"),
    )
    row(
        f"  cold, PostgreSQL build, {profiles.cold_db.iterations} it.",
        _timing_row(profiles.cold_db, "ms"),
    )
    row(
        f"  cold, unknown wallet, {profiles.cold_unknown.iterations} it.",
        _timing_row(profiles.cold_unknown, "ms"),
    )
    row(
        "  upstream calls",
        f"warm {profiles.warm.upstream_calls}, cold PostgreSQL {profiles.cold_db.upstream_calls},"
        f" unknown {profiles.cold_unknown.upstream_calls}"
        f" ({profiles.cold_unknown.upstream_calls / profiles.cold_unknown.iterations:g} per"
        f" wallet: "
        + ", ".join(f"{p} {n}" for p, n in profiles.unknown_calls_by_path.items())
        + ")",
    )
    row("  cache misses in the warm loop", str(profiles.warm_misses))
    row(
        "  cold p50 / warm p50",
        f"PostgreSQL {profiles.cold_db_ratio:,.0f}x   unknown {profiles.cold_unknown_ratio:,.0f}x",
    )
    section(
        f"(c) pnl_chart, {charts.points} daily points, {WIDTH_PX}x{HEIGHT_PX} PNG"
        f" ({charts.png_bytes:,} bytes)"
    )
    row("  first render (cold process)", f"{charts.first_ms:.1f} ms")
    row(
        f"  one after another, {charts.renders} renders",
        f"p50 {charts.p50_ms:6.1f} ms   p99 {charts.p99_ms:6.1f} ms"
        f"   CPU p50 {charts.cpu_p50_ms:.1f} ms",
    )
    row(
        f"  {charts.concurrent} at once via to_thread, {charts.concurrent_rounds} rounds",
        f"wall median {charts.concurrent_wall_median_ms:.1f} ms"
        f" ({', '.join(f'{w:.0f}' for w in charts.concurrent_wall_ms)})"
        f" = {charts.concurrent_per_png_ms:.1f} ms per PNG",
    )
    row(f"  the same at 800x360, {SMALL_RENDERS} renders", f"p50 {charts.small_p50_ms:6.1f} ms")
    row(
        "  event-loop lag meanwhile (1 ms ticker)",
        f"p99 {charts.loop_lag_p99_ms:.1f} ms   max {charts.loop_lag_max_ms:.1f} ms",
    )
    header = (
        f"traders benchmark · fake Polymarket {N_TRADERS} traders, {LATENCY * 1000:.0f} ms"
        f" latency · {meta['database']} · {meta['cpus']} CPUs · {meta['seconds']:.0f} s"
    )
    return table.render(header, goals(quotes, profiles, charts))


def as_json(
    quotes: QuoteResult, profiles: ProfileResult, charts: ChartResult, meta: dict[str, Any]
) -> str:
    doc = {
        "meta": meta,
        "quotes": asdict(quotes),
        "profiles": {
            **asdict(profiles),
            "cold_db_ratio": profiles.cold_db_ratio,
            "cold_unknown_ratio": profiles.cold_unknown_ratio,
        },
        "charts": {
            **asdict(charts),
            "concurrent_wall_median_ms": charts.concurrent_wall_median_ms,
            "concurrent_per_png_ms": charts.concurrent_per_png_ms,
        },
        "goals": goals(quotes, profiles, charts),
    }
    return json.dumps(doc, indent=2)


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    async with (
        polymarket_fake(N_TRADERS, args.seed, LATENCY) as fake,
        migrated_pool("traders") as (pool, description),
    ):
        async with open_application(settings_for(fake), pool=pool) as services:  # as the bot
            progress("leaderboard refresh (stores every ranked trader's details)")
            t0 = time.perf_counter()
            report = await services.leaderboard.refresh()
            progress(
                f"refresh {time.perf_counter() - t0:.2f} s: {report.trader_count}"
                f" traders, {report.details_fetched} details fetched"
            )
            progress("(a) price coalescing")
            quotes = await bench_quotes(services, fake, args.lookups)
            progress("(b) /trader reply")
            profiles = await bench_profiles(services, fake, args.warm, args.cold, args.unknown)
            top = services.leaderboard.board("all")
            leader = top.by_metric["score"][0] if top else None
            name = display_name(leader.user_name, leader.wallet) if leader else "trader"
    progress("(c) chart render")
    charts = await bench_charts(args.seed, args.renders, name.replace("\\", ""))
    meta = run_meta(description, started)
    out = as_json if args.json else render_table
    print(out(quotes, profiles, charts, meta))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = arg_parser(__doc__)
    parser.add_argument("--lookups", type=int, default=QUOTE_LOOKUPS, help="quotes per burst (a)")
    parser.add_argument("--warm", type=int, default=2000, help="warm iterations (b)")
    parser.add_argument("--cold", type=int, default=100, help="cold PostgreSQL iterations (b)")
    parser.add_argument("--unknown", type=int, default=20, help="unknown-wallet iterations (b)")
    parser.add_argument("--renders", type=int, default=30, help="sequential renders (c)")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(main, parse_args)

"""Benchmark of one paper-order sync pass: 10,000 open orders across 500 markets.

Run from the repository root::

    python scripts/bench_orders.py            # plain-text table
    python scripts/bench_orders.py --json     # the same figures as one JSON document

Nothing here touches the internet. Polymarket is the local fake (``tests/fakes/polymarket/``)
on 127.0.0.1 with 500 markets added through ``add_market`` (optionally ``--latency`` seconds added
to every request); PostgreSQL is an embedded server started in a temporary directory and stopped
at the end, unless ``BENCH_DATABASE_URL`` is set (then a scratch database is created on that
server and dropped at the end). Progress goes to stderr, figures to stdout.

Set-up (untimed): 1,000 users, each with a portfolio and one copy config (of 50 traders), and
10,000 PENDING BUY orders of $10 inserted directly, 20 per market, spread over the users. Half
copy a trade at the market's price (0.50: the best ask 0.51 is within the 2¢ limit, so they
fill), half a trade at 0.30 (nothing within the limit: they stay PENDING).

Timed, each with ``time.perf_counter`` around ``CopyTradingService.sync()``:

1. the first pass: 5,000 fills (one transaction each), 5,000 unfilled orders touched in one batch
   update, 500 books fetched, 1,000 portfolio snapshots written;
2. a steady pass: nothing fillable is left (each order walks its book minus its own take),
   5,000 open orders, positions marked to the book mid;
3. the same steady pass through the bot's default rate limits (CLOB ``/book`` 1,200 per 10 s):
   what a production pass costs when the limiter, not the code, is the bound.

Upstream calls are counted by the fake per pass; the goal is one ``/book`` per market token
per pass (500), whatever the number of orders. The bookkeeping is checked at the end:
cash + cost basis - realized PnL = deposited for every portfolio.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
from benchlib import arg_parser, migrated_pool, polymarket_fake, progress, run, run_meta

from bot.copytrading.fills import limit_price
from bot.copytrading.models import SyncReport
from bot.copytrading.service import CopyTradingService
from bot.polymarket.gamma import ClobAPI, GammaAPI
from bot.polymarket.http import DEFAULT_LIMITS, Limit, PolymarketHTTP
from bot.polymarket.records import Market
from tests.fakes.polymarket import FakePolymarket

MARKETS = 500
ORDERS = 10_000
USERS = 1_000
TRADERS = 50
ORDER_USD = 10.0
GUILD = 1


async def seed(pool: asyncpg.Pool, tokens: Sequence[tuple[str, str]]) -> None:
    """Users, portfolios, configs and 10,000 PENDING orders, inserted directly."""
    now = datetime.now(UTC)
    wallets = [f"0x{n:040x}" for n in range(1, TRADERS + 1)]
    budget = ORDER_USD * ORDERS / USERS * 2
    async with pool.acquire() as conn, conn.transaction():
        portfolio_ids = await conn.fetch(
            "INSERT INTO portfolios (guild_id, user_id, cash, deposited, created_at)"
            " SELECT $1, u, $2, $2, $3 FROM generate_series(1, $4) AS u RETURNING id, user_id",
            GUILD,
            budget,
            now,
            USERS,
        )
        by_user = {row["user_id"]: row["id"] for row in portfolio_ids}
        configs = await conn.fetch(
            "INSERT INTO copy_configs (portfolio_id, guild_id, user_id, wallet, budget_usd,"
            " per_trade_usd, created_at) SELECT p, $1, u, w, $2, $3, $4"
            " FROM unnest($5::int8[], $6::int8[], $7::text[]) AS t(p, u, w) RETURNING id, user_id",
            GUILD,
            budget,
            ORDER_USD,
            now,
            [by_user[u] for u in range(1, USERS + 1)],
            list(range(1, USERS + 1)),
            [wallets[u % TRADERS] for u in range(1, USERS + 1)],
        )
        config_of = {row["user_id"]: row["id"] for row in configs}
        rows = []
        for n in range(ORDERS):
            user = n % USERS + 1
            condition_id, token = tokens[n % MARKETS]
            price = 0.5 if n % 2 == 0 else 0.3
            rows.append(
                (
                    f"{config_of[user]}:bench-{n}",
                    config_of[user],
                    by_user[user],
                    f"bench-{n}",
                    wallets[user % TRADERS],
                    token,
                    condition_id,
                    "BUY",
                    price,
                    limit_price("BUY", price, 0.02),
                    ORDER_USD,
                    "PENDING",
                    now,
                    now,
                )
            )
        await conn.copy_records_to_table(
            "paper_orders",
            records=rows,
            columns=[
                "idempotency_key",
                "config_id",
                "portfolio_id",
                "trade_key",
                "wallet",
                "asset",
                "condition_id",
                "side",
                "trade_price",
                "limit_price",
                "size_usd",
                "status",
                "created_at",
                "updated_at",
            ],
        )
        await conn.execute("ANALYZE")


async def balanced(pool: asyncpg.Pool) -> bool:
    rows = await pool.fetch(
        "SELECT p.cash + COALESCE(sum(pos.cost_basis), 0) - p.realized_pnl - p.deposited AS gap"
        " FROM portfolios p LEFT JOIN paper_positions pos ON pos.portfolio_id = p.id"
        " GROUP BY p.id"
    )
    return all(abs(row["gap"]) < 1e-6 for row in rows)


@dataclass
class PassResult:
    name: str
    seconds: float
    calls: dict[str, int]
    report: dict[str, Any]


def make_service(
    pool: asyncpg.Pool, session: aiohttp.ClientSession, fake: FakePolymarket,
    limits: Mapping[str, Limit],
) -> CopyTradingService:  # fmt: skip
    http = PolymarketHTTP(
        session,
        hosts={"data": fake.base_url, "gamma": fake.base_url, "clob": fake.base_url},
        limits=limits,
    )
    gamma = GammaAPI(http)

    async def market_of(condition_id: str) -> Market | None:
        found = await gamma.markets_by_condition([condition_id])
        return next((m for m in found if m.condition_id == condition_id), None)

    return CopyTradingService(pool, ClobAPI(http), market_of=market_of)


async def timed_pass(name: str, service: CopyTradingService, fake: FakePolymarket) -> PassResult:
    fake.reset_calls()
    started = time.perf_counter()
    report: SyncReport = await service.sync()
    seconds = time.perf_counter() - started
    progress(f"{name}: {seconds:.2f} s, {dict(fake.calls)}")
    return PassResult(name, seconds, dict(fake.calls), asdict(report))


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    results: list[PassResult] = []
    async with polymarket_fake(0, args.seed, args.latency) as fake:
        tokens = []
        for n in range(MARKETS):
            market = fake.add_market(f"Bench market {n}?", prices=(0.5, 0.5))
            tokens.append((market["conditionId"], json.loads(market["clobTokenIds"])[0]))
        async with migrated_pool("orders", max_size=5, fall_back=False) as (pool, description):
            progress(f"seeding {ORDERS} orders over {MARKETS} markets")
            await seed(pool, tokens)
            async with aiohttp.ClientSession() as session:
                fast = make_service(pool, session, fake, {})
                results.append(await timed_pass("first pass (fills)", fast, fake))
                results.append(await timed_pass("steady pass", fast, fake))
                limited = make_service(pool, session, fake, DEFAULT_LIMITS)
                results.append(await timed_pass("steady pass, default limits", limited, fake))
            ok = await balanced(pool)
            counts = {
                row["status"]: row["n"]
                for row in await pool.fetch(
                    "SELECT status, count(*) AS n FROM paper_orders GROUP BY status"
                )
            }
    meta = run_meta(description, started, latency_ms=args.latency * 1000)
    if args.json:
        doc = {
            "meta": meta,
            "passes": [asdict(r) for r in results],
            "orders_by_status": counts,
            "balanced": ok,
        }
        print(json.dumps(doc, indent=2))
        return
    lines = [
        f"order sync benchmark · {ORDERS:,} open orders · {MARKETS} markets · {USERS:,} users ·"
        f" fake latency {args.latency * 1000:.0f} ms · {description} · {meta['cpus']} CPUs ·"
        f" {meta['seconds']:.0f} s",
        "",
    ]
    for r in results:
        rep = r.report
        lines.append(f"{r.name}")
        lines.append(f"  wall                         {r.seconds * 1000:9.0f} ms")
        lines.append(
            f"  open orders / filled / unfilled  {rep['open_orders']:,} / {rep['filled']:,}"
            f" / {rep['unfilled']:,}"
        )
        lines.append(
            f"  upstream calls               /book {r.calls.get('/book', 0)}, total"
            f" {sum(r.calls.values())}  (books per market per pass:"
            f" {r.calls.get('/book', 0) / MARKETS:.2f})"
        )
        lines.append(f"  snapshots written            {rep['snapshots']:,}")
    lines.append("")
    lines.append(f"orders by status after the passes: {counts}")
    lines.append(f"cash + cost basis - realized = deposited for every portfolio: {ok}")
    book_ok = all(r.calls.get("/book", 0) == MARKETS for r in results)
    lines.append(
        f"GOALS: one /book per market per pass: {'PASS' if book_ok else 'MISS'} | "
        f"books balance: {'PASS' if ok else 'MISS'}"
    )
    print("\n".join(lines))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = arg_parser(__doc__)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per fake request")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(main, parse_args)

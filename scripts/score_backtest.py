"""Backtest of the copy score: do its top 10 beat the PnL leaders out of sample?

Run from the repository root::

    python scripts/score_backtest.py               # on the fake world (no network), a table
    python scripts/score_backtest.py --json        # the same figures as one JSON document
    python scripts/score_backtest.py --live        # against the real Data API (operators)

For each week T of the available history, every trader is scored from data before T only, with
the bot's own code (``summarize``, ``population_priors``, the evidence thresholds,
``score_inputs`` + ``score_row``), from what the bot itself would have fetched at T: the
trader's 50 latest closed positions and 100 latest trades before T, and the month's PnL and
volume (the last 30 days' realised PnL and traded dollars before T, the month board the bot
picks from). Then the top 10 by copy score (traders with enough evidence only, as on the
board), by PnL and by volume are taken, and each top 10's realised PnL per dollar traded over
the following 7 and 30 days is measured (PnL of the positions they closed in that window over
the dollars they traded in it, pooled over the ten: what the bot's weekly picks record shows).
The table lists every week and the averages; a 30-day column needs 30 days after T.

The fake world (``tests/fakes/polymarket/``, started here on 127.0.0.1) is built with a long
history (``--history-days``, default 240) in which each trader keeps a hidden edge: consistent
traders, regular ones with edges from -5 to +7 points, losers, one-lucky-bet traders and market
makers (tests/fakes/polymarket/history.py). It shows whether the score's mechanics find edge
among size, luck and market making; it cannot show that real traders' edges persist.

``--live`` reads the real API through the bot's rate-limited client (below Polymarket's
published limits): the traders of the all-time and monthly leaderboards by PnL and volume
(``--traders`` each), then every trader's closed positions (up to ``--max-closed`` rows) and
trades (the API serves at most 3,500). That is thousands of requests: expect it to take a
while. Today's leaders are a survivor-biased sample of the past, and truncated histories leave
out the oldest weeks of the most active traders; read live results with that in mind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from benchlib import progress

from bot.config import Settings
from bot.leaderboard.evidence import Evidence, EvidenceStatus
from bot.leaderboard.scoring import (
    DAY,
    population_priors,
    score_inputs,
    score_row,
    summarize,
)
from bot.polymarket.data_api import DataAPI
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.records import Activity, ClosedPosition
from tests.fakes.polymarket import FakePolymarket

HORIZONS = (7, 30)
METRICS = ("score", "pnl", "volume")
TOP = 10
BOARD_DAYS = 30  # the month board the picks come from
LOOKBACK_DAYS = 90  # a week T is tested only with this much history before it
CLOSED_PAGE, ACTIVITY_PAGE, ACTIVITY_MAX_OFFSET = 50, 500, 3000


@dataclass
class History:
    """One trader's closed positions and trades, oldest first."""

    wallet: str
    closed: list[ClosedPosition]
    trades: list[Activity]


@dataclass
class Week:
    at: float  # T
    picks: dict[str, list[str]]
    results: dict[tuple[str, int], float | None] = field(default_factory=dict)


# ---- fetching ------------------------------------------------------------------------------------


async def universe(api: DataAPI, per_list: int) -> list[str]:
    """The traders of the all-time and monthly boards, by PnL and by volume."""
    wallets: dict[str, None] = {}
    for period in ("all", "month"):
        for order in ("PNL", "VOL"):
            for row in await api.leaderboard(period, order, per_list):
                wallets.setdefault(row.wallet)
    return list(wallets)


async def history_of(api: DataAPI, wallet: str, max_closed: int) -> History:
    closed: list[ClosedPosition] = []
    while len(closed) < max_closed:
        page = await api.closed_positions(wallet, limit=CLOSED_PAGE, offset=len(closed))
        closed += page
        if len(page) < CLOSED_PAGE:
            break
    trades: list[Activity] = []
    while len(trades) <= ACTIVITY_MAX_OFFSET:
        page = await api.activity(wallet, limit=ACTIVITY_PAGE, offset=len(trades))
        trades += page
        if len(page) < ACTIVITY_PAGE:
            break
    closed = sorted((c for c in closed if c.timestamp > 0), key=lambda c: c.timestamp)
    trades = sorted(
        (a for a in trades if a.type == "TRADE" and a.timestamp > 0), key=lambda a: a.timestamp
    )
    return History(wallet, closed, trades)


async def fetch(api: DataAPI, per_list: int, max_closed: int, concurrency: int) -> list[History]:
    wallets = await universe(api, per_list)
    progress(f"{len(wallets)} traders; fetching their histories")
    semaphore = asyncio.Semaphore(concurrency)
    done = 0

    async def one(wallet: str) -> History | None:
        nonlocal done
        async with semaphore:
            try:
                found = await history_of(api, wallet, max_closed)
            except Exception as exc:  # one trader's failure leaves them out, not the run
                progress(f"skipped {wallet}: {exc}")
                return None
        done += 1
        if done % 50 == 0:
            progress(f"{done}/{len(wallets)} histories")
        return found

    return [h for h in await asyncio.gather(*(one(w) for w in wallets)) if h is not None]


# ---- the backtest (pure) -------------------------------------------------------------------------


def usd(trade: Activity) -> float:
    return trade.usdc_size or trade.size * trade.price


def window(history: History, start: float, end: float) -> tuple[float, float]:
    """(realised PnL of positions closed in (start, end], dollars traded in (start, end])."""
    pnl = sum(c.realized_pnl for c in history.closed if start < c.timestamp <= end)
    traded = sum(usd(a) for a in history.trades if start < a.timestamp <= end)
    return pnl, traded


def picks_at(histories: Sequence[History], at: float, evidence: Evidence) -> dict[str, list[str]]:
    """The top 10s by copy score, month PnL and month volume, from data before ``at`` only."""
    month = {h.wallet: window(h, at - BOARD_DAYS * DAY, at) for h in histories}
    stats = {}
    for h in histories:
        closed = [c for c in h.closed if c.timestamp < at][-50:]  # what the bot fetches
        trades = [a for a in h.trades if a.timestamp < at][-100:]
        stats[h.wallet] = summarize(h.wallet, [], closed[::-1], trades[::-1], at)
    priors = population_priors(stats.values())
    scores: dict[str, float] = {}
    for wallet, trader in stats.items():
        pnl, volume = month[wallet]
        if evidence.status(trader, volume) is EvidenceStatus.SCORED:
            scores[wallet] = score_row(pnl, volume, score_inputs(trader, at, priors))[0]
    active = [w for w, (pnl, volume) in month.items() if volume > 0 or pnl != 0]

    def top(key: dict[str, float], among: Sequence[str]) -> list[str]:
        return sorted(among, key=lambda w: (-key[w], w))[:TOP]

    return {
        "score": top(scores, list(scores)),
        "pnl": top({w: month[w][0] for w in active}, active),
        "volume": top({w: month[w][1] for w in active}, active),
    }


def per_dollar(
    histories: dict[str, History], wallets: Sequence[str], start: float, days: int
) -> float | None:
    pnl = traded = 0.0
    for wallet in wallets:
        p, t = window(histories[wallet], start, start + days * DAY)
        pnl += p
        traded += t
    return pnl / traded if traded > 0 else None


def backtest(histories: list[History], now: float, evidence: Evidence) -> list[Week]:
    first = min((a.timestamp for h in histories for a in h.trades), default=now)
    by_wallet = {h.wallet: h for h in histories}
    weeks = []
    at = now - 7 * DAY
    while at - LOOKBACK_DAYS * DAY >= first:
        week = Week(at, picks_at(histories, at, evidence))
        for metric in METRICS:
            for days in HORIZONS:
                if at + days * DAY <= now:
                    week.results[metric, days] = per_dollar(by_wallet, week.picks[metric], at, days)
        weeks.append(week)
        at -= 7 * DAY
    return weeks[::-1]


# ---- reporting -----------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f}%"


def averages(weeks: Sequence[Week]) -> dict[tuple[str, int], float | None]:
    out: dict[tuple[str, int], float | None] = {}
    for metric in METRICS:
        for days in HORIZONS:
            values = [v for w in weeks if (v := w.results.get((metric, days))) is not None]
            out[metric, days] = statistics.fmean(values) if values else None
    return out


def wins(weeks: Sequence[Week], days: int) -> tuple[int, int]:
    """(weeks where the score's top 10 beat PnL's, weeks where both have a result)."""
    pairs = [
        (s, p)
        for w in weeks
        if (s := w.results.get(("score", days))) is not None
        and (p := w.results.get(("pnl", days))) is not None
    ]
    return sum(1 for s, p in pairs if s > p), len(pairs)


def table(weeks: Sequence[Week]) -> str:
    head = "| week of T | " + " | ".join(f"{m} {d} d" for d in HORIZONS for m in METRICS) + " |"
    lines = [head, "|" + "---|" * (1 + len(HORIZONS) * len(METRICS))]
    for week in weeks:
        day = time.strftime("%Y-%m-%d", time.gmtime(week.at))
        cells = [pct(week.results.get((m, d))) for d in HORIZONS for m in METRICS]
        lines.append(f"| {day} | " + " | ".join(cells) + " |")
    mean = averages(weeks)
    cells = [f"**{pct(mean[m, d])}**" for d in HORIZONS for m in METRICS]
    lines.append("| **average** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(weeks: Sequence[Week]) -> str:
    parts = []
    for days in HORIZONS:
        won, total = wins(weeks, days)
        parts.append(f"{days} d: score's top 10 beat PnL's in {won} of {total} weeks")
    return "; ".join(parts)


# ---- running -------------------------------------------------------------------------------------


async def load(args: argparse.Namespace) -> tuple[list[History], float, str]:
    """(histories, now, what they come from): the real API, or a fake world started here."""
    async with aiohttp.ClientSession() as session:
        if args.live:
            settings = Settings.from_env({})
            hosts = {
                "data": settings.data_api_url,
                "gamma": settings.gamma_api_url,
                "clob": settings.clob_api_url,
            }
            api = DataAPI(PolymarketHTTP(session, hosts=hosts))  # the bot's own rate limits
            histories = await fetch(api, args.traders, args.max_closed, concurrency=4)
            return histories, time.time(), "the real API"
        fake = FakePolymarket(
            n_traders=args.fake_traders, seed=args.seed, history_days=args.history_days
        )
        await fake.start()
        try:
            hosts = dict.fromkeys(("data", "gamma", "clob"), fake.base_url)
            api = DataAPI(PolymarketHTTP(session, hosts=hosts, limits={}))
            histories = await fetch(api, 1000, args.max_closed, concurrency=16)
        finally:
            await fake.stop()
        source = (
            f"the fake world (seed {args.seed}, {len(histories)} traders, {args.history_days} days)"
        )
        return histories, float(fake.now), source


def as_json(weeks: Sequence[Week], source: str, traders: int) -> str:
    def named(results: dict[tuple[str, int], float | None]) -> dict[str, float | None]:
        return {f"{metric}_{days}d": value for (metric, days), value in results.items()}

    return json.dumps(
        {
            "source": source,
            "traders": traders,
            "weeks": [{"at": w.at, "picks": w.picks, "results": named(w.results)} for w in weeks],
            "averages": named(averages(weeks)),
            "summary": summary(weeks),
        },
        indent=2,
    )


async def main(args: argparse.Namespace) -> int:
    histories, now, source = await load(args)
    progress(f"backtesting {len(histories)} traders")
    weeks = backtest(histories, now, Evidence(args.min_closed, args.min_volume))
    if args.json:
        print(as_json(weeks, source, len(histories)))
    else:
        print(f"Realised PnL per $ traded by each top 10 after week T, on {source}:\n")
        print(table(weeks))
        print(f"\n{summary(weeks)}.")
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--live", action="store_true", help="the real Data API (slow, rate-limited)"
    )
    parser.add_argument(
        "--traders", type=int, default=100, help="--live: traders per leaderboard list"
    )
    parser.add_argument("--max-closed", type=int, default=2_000, help="closed positions per trader")
    parser.add_argument("--fake-traders", type=int, default=300)
    parser.add_argument("--history-days", type=int, default=240)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-closed", type=int, default=5, help="SCORE_MIN_CLOSED")
    parser.add_argument("--min-volume", type=float, default=1_000.0, help="SCORE_MIN_VOLUME")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))

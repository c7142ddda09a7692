"""Benchmark of the first /leaderboard a user gets after the bot's very first start.

Run from the repository root::

    python scripts/bench_first_answer.py            # plain-text table
    python scripts/bench_first_answer.py --json     # the same figures as one JSON document

What is measured: the time from READY (the gateway session is up: the moment a user can type a
command) to the first ``/leaderboard`` answer, on a fresh database, through the real bot built
by ``bot/app.py`` (``tests/e2e/harness.py`` ``running_bot``) against the local fakes: fake
Discord (gateway + REST, with Discord's 3 s deadline for the first callback), fake Polymarket
(400 traders, 150 ms added to every request) and the fake RTDS. Settings are production's
defaults (200 candidates per ordering, 10 s HTTP timeout, the bot's own rate limits). Each run
gets a new embedded PostgreSQL database, so nothing is warm: the first refresh begins when the
workers start, just before READY. Measured per run, side by side:

- the first ``/leaderboard`` with default options (week, copy score), then the first
  ``/leaderboard metric:pnl``: READY -> the answer message (after the bot's "thinking" defer),
  as the fake Discord sees it; and what the first answer showed (its title, and whether it says
  scores are still loading);
- the baseline: READY -> the end of the first refresh (every candidate's details fetched at the
  rate limit). That is when the first answer came before this change (the command waited for the
  whole refresh), and what a bot without the early board would make a user wait.

Left out: Discord's own network latency, and the process start (import, embedded PostgreSQL
start, migrations) before READY. Goal: the first answer <= 3 s after READY (the worst run).
A missed goal is printed as MISS; the benchmark itself never fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchlib import (
    Table,
    arg_parser,
    migrated_pool,
    polymarket_fake,
    progress,
    run,
    run_meta,
)

from bot.config import Settings
from tests.e2e.harness import running_bot, settings_for
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS

LATENCY = 0.15
N_TRADERS = 400
RUNS = 3
ANSWER_TIMEOUT = 120.0
GOAL_FIRST_ANSWER_S = 3.0


@dataclass
class FirstAnswer:
    score_s: float  # READY -> first /leaderboard (week, score)
    pnl_s: float  # READY -> first /leaderboard metric:pnl
    refresh_s: float  # READY -> the first refresh's end (the old first answer)
    title: str
    loading_note: bool


@dataclass
class Result:
    runs: list[FirstAnswer] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(getattr(r, key) for r in self.runs)

    def worst(self, key: str) -> float:
        return max(getattr(r, key) for r in self.runs)


def production_settings(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds_url: str
) -> Settings:
    """The harness's fake endpoints with production's defaults for everything that is timed."""
    defaults = Settings()
    return settings_for(
        discord_fake,
        polymarket,
        rtds_url,
        stream_ping_seconds=defaults.stream_ping_seconds,
        stream_silence_seconds=defaults.stream_silence_seconds,
        leaderboard_candidates=defaults.leaderboard_candidates,
        http_timeout_seconds=defaults.http_timeout_seconds,
        http_max_retries=defaults.http_max_retries,
        http_rate_scale=defaults.http_rate_scale,  # Polymarket's real limits, not the tests' x20
    )


async def one_run(seed: int) -> FirstAnswer:
    """A first start on a new database; READY, then the two commands, then the refresh's end."""
    async with (
        polymarket_fake(N_TRADERS, seed, LATENCY) as polymarket,
        migrated_pool("first-answer", max_size=10) as (pool, _),
    ):
        discord_fake, rtds = FakeDiscord(), FakeRTDS()
        await discord_fake.start()
        await rtds.start()
        try:
            settings = production_settings(discord_fake, polymarket, rtds.url)
            async with running_bot(discord_fake, pool, settings) as app:
                ready = time.perf_counter()
                first = await discord_fake.invoke("leaderboard", {})
                message = await first.wait_response(timeout=ANSWER_TIMEOUT)
                score_s = time.perf_counter() - ready
                pnl = await discord_fake.invoke("leaderboard", {"metric": "pnl"})
                await pnl.wait_response(timeout=ANSWER_TIMEOUT)
                pnl_s = time.perf_counter() - ready
                if app.leaderboard.refreshing:
                    await app.leaderboard.refresh()  # joins the first refresh, never a second
                refresh_s = time.perf_counter() - ready
        finally:
            await rtds.stop()
            await discord_fake.stop()
    embed = message["embeds"][0]
    return FirstAnswer(
        score_s=score_s,
        pnl_s=pnl_s,
        refresh_s=refresh_s,
        title=embed.get("title", ""),
        loading_note="⏳" in embed.get("description", ""),
    )


def goals(result: Result) -> list[dict[str, Any]]:
    worst = result.worst("score_s")
    return [
        {
            "goal": f"first answer <= {GOAL_FIRST_ANSWER_S:g} s after READY",
            "value": f"{worst:.2f} s",
            "pass": worst <= GOAL_FIRST_ANSWER_S,
        }
    ]


def render_table(result: Result, meta: dict[str, Any]) -> str:
    table = Table()
    row, section = table.row, table.section
    section(f"first /leaderboard after a first start, {len(result.runs)} runs (median, worst)")
    for label, key in (
        ("  /leaderboard (week, score)", "score_s"),
        ("  /leaderboard metric:pnl", "pnl_s"),
        ("  baseline: the whole first refresh", "refresh_s"),
    ):
        row(label, f"{result.median(key):6.2f} s   {result.worst(key):6.2f} s")
    ratio = result.median("refresh_s") / result.median("score_s")
    row("  baseline / first answer", f"{ratio:.0f}x sooner")
    first = result.runs[0]
    note = "says scores are still loading" if first.loading_note else "no loading note"
    row("  the first answer showed", f"{first.title!r}, {note}")
    header = (
        f"first-answer benchmark · fake Polymarket {N_TRADERS} traders, {LATENCY * 1000:.0f} ms"
        f" latency · fresh database per run · {meta['cpus']} CPUs · {meta['seconds']:.0f} s"
    )
    return table.render(header, goals(result))


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    result = Result()
    for index in range(args.runs):
        progress(f"run {index + 1}/{args.runs}: first start on a new database")
        answer = await one_run(args.seed + index)
        progress(
            f"  first answer {answer.score_s:.2f} s, pnl {answer.pnl_s:.2f} s,"
            f" refresh done {answer.refresh_s:.2f} s"
        )
        result.runs.append(answer)
    meta = run_meta("embedded PostgreSQL, new database per run", started, runs=args.runs)
    if args.json:
        doc = {"meta": meta, "runs": [asdict(r) for r in result.runs], "goals": goals(result)}
        print(json.dumps(doc, indent=2))
    else:
        print(render_table(result, meta))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = arg_parser(__doc__)
    parser.add_argument("--runs", type=int, default=RUNS, help="first starts to time")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(main, parse_args)

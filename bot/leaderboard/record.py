"""The copy score's own track record: do its picks beat simply following the PnL leaders?

Once a week the top 10 of the month's overall board by score, by PnL and by volume are
stored (``score_picks``). How each top 10 did since, in realised PnL per dollar traded from
the day after the pick to 30 days later, is read from the per-day statistics every detail
fetch stores (``trader_daily_stats``), and shown in one line under the score ordering. Picked
traders that have left the boards get their details fetched once a day so those statistics
keep coming.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta

import asyncpg

from bot.leaderboard.models import PeriodBoard, Pick
from bot.leaderboard.service import LeaderboardService
from db import leaderboard_queries as queries

log = logging.getLogger(__name__)

PICK_EVERY = timedelta(days=7)
PICK_SIZE = 10
PICK_PERIOD = "month"
HORIZON_DAYS = 30  # each pick is followed this long
KEEP = timedelta(weeks=26)  # picks older than this are dropped
DETAILS_EVERY = 20 * 3600.0  # a picked trader's details are fetched again after this long
DETAILS_PER_RUN = 60

RefreshDetails = Callable[[Sequence[str]], Awaitable[int]]


def weekly_picks(board: PeriodBoard, day: date, size: int = PICK_SIZE) -> list[Pick]:
    """The top ``size`` of each ordering of ``board``, as stored picks of ``day``."""
    return [
        Pick(day, metric, rank, entry.wallet)
        for metric in ("score", "pnl", "volume")
        for rank, entry in enumerate(board.by_metric.get(metric, ())[:size], 1)
    ]


class ScoreRecordKeeper:
    """The score-record loop body (hourly; it picks at most once a week)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        service: LeaderboardService,
        refresh_details: RefreshDetails,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._service = service
        self._refresh_details = refresh_details
        self._clock = clock

    def _today(self) -> date:
        return datetime.fromtimestamp(self._clock(), tz=UTC).date()

    async def run(self) -> None:
        today = self._today()
        async with self._pool.acquire() as conn:
            last = await queries.latest_pick_day(conn)
        board = self._service.board(PICK_PERIOD)
        # Picks from a board still loading details would rank only the traders loaded so far.
        if (last is None or today - last >= PICK_EVERY) and board and board.pending == 0:
            picks = weekly_picks(board, today)
            async with self._pool.acquire() as conn:
                await queries.store_picks(conn, picks)
                await queries.prune_picks(conn, today - KEEP)
            log.info("stored this week's top %d picks (%d traders)", PICK_SIZE, len(picks))
        await self._follow_picks(today)
        await self.load()

    async def _follow_picks(self, today: date) -> None:
        """Fetch the details of picked traders no board refresh keeps current."""
        since = today - timedelta(days=HORIZON_DAYS + 7)
        async with self._pool.acquire() as conn:
            stale = await queries.picks_needing_details(
                conn, since, self._clock() - DETAILS_EVERY, DETAILS_PER_RUN * 2
            )
        ranked = self._service.overall_wallets | self._service.category_wallets
        wanted = [wallet for wallet in stale if wallet not in ranked][:DETAILS_PER_RUN]
        if wanted:
            updated = await self._refresh_details(wanted)
            log.info("details of %d/%d picked traders off the boards updated", updated, len(wanted))

    async def load(self) -> None:
        """Recompute the line the score ordering shows (also on start, from PostgreSQL)."""
        async with self._pool.acquire() as conn:
            self._service.record = await queries.picks_record(
                conn, self._today() - KEEP, HORIZON_DAYS
            )

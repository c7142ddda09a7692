"""Reconciliation: the trades the live stream never delivered are found, stored and alerted once.

Polymarket's RTDS is undocumented and lossy: it can drop a followed trader's fill while other
trades keep flowing (no silence, no reconnect), and whatever happens while the socket is down or
silent never arrives at all. So the stream is not trusted alone:

* Every followed or copied wallet's latest fills are fetched from the Data API (``/trades``)
  once per ``RECONCILE_SECONDS`` and compared with what was stored; what is missing is stored
  (alerted once: the natural key collapses any later copy) and marked delayed. Wallets that
  trade often are checked first. A round runs inside a fixed share of the Data API's published
  budget (30% of its general 1,000 requests per 10 s) and through the shared limiter, a few
  requests in flight at a time, then the reconciler rests until the next one is due.
* Whale watches (and any platform-wide threshold) cannot be checked wallet by wallet: one
  query of the platform's ``/trades`` with a cash filter at the smallest active threshold covers
  the time since the last check, in at most ``PLATFORM_PAGES`` pages: when they are all full,
  the older part of the window is not read, so it is logged and counted, never silent.
* A wallet's check reads one page (``PAGE`` fills) since its last check: a market maker
  filling more than that between checks has its older fills unread, counted and logged (one
  line a round).
* A (re)connect asks for a round at once. One round runs at a time: a reconnect during a round
  does not queue another (ten reconnects in a row make no backlog of rounds); the running
  round checks whale-sized fills once more at its end, and the next round (at most
  ``RECONCILE_SECONDS`` later) covers the wallets it had already passed.

A trade found while the stream was connected is a *miss* (the health signal in /admin status):
a stream that misses often should be visible. One found after a gap is a recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from aiolimiter import AsyncLimiter

from bot.polymarket.data_api import DataAPI
from bot.polymarket.records import Trade
from bot.trades.follows import FollowService
from bot.trades.ingest import TradeIngest, WatchedWallets
from bot.trades.models import BACKDATE_TOLERANCE
from bot.workers import Role, WorkerStatus, cancel_and_wait
from db import trade_queries as queries

log = logging.getLogger(__name__)

DATA_API_PER_SECOND = 100.0  # published: 1,000 requests per 10 s for the Data API in all
BUDGET_SHARE = 0.30  # of it for reconciliation, at most
CONCURRENCY = 8  # requests in flight: latency must not be what limits a round
PAGE = 500  # fills per request
PLATFORM_PAGES = 4  # pages of whale-sized fills per platform check, at most
GRACE_SECONDS = 5.0  # fills younger than this may still be on their way through the stream
INDEX_LAG_SECONDS = 300.0  # the Data API may list a fill this late: windows overlap by it
PLATFORM_LOOKBACK = 3600.0  # after a restart, whale-sized fills are recovered this far back
ACTIVITY_WINDOW = 86_400.0  # "trades often" = stored fills over the last day
MISSES_KEPT = 1_000  # times of the latest misses, for "how many in the last hour"


def _utc(seconds: float) -> str:
    """A time for the log, to the second."""
    return datetime.fromtimestamp(int(seconds), tz=UTC).isoformat(timespec="seconds")


@dataclass
class ReconcileStats:
    """For /admin status: rounds, their time, and what the stream missed."""

    rounds: int = 0
    running: bool = False
    last_round_seconds: float | None = None
    last_round_wallets: int = 0
    last_round_at: float | None = None
    wallet_checks: int = 0
    failures: int = 0
    wallet_checks_capped: int = 0  # a wallet had more than a PAGE: its oldest went unchecked
    platform_checks_capped: int = 0  # more fills than PLATFORM_PAGES: the oldest went unchecked
    missed_while_connected: int = 0  # the stream was up and never sent it
    recovered_after_gap: int = 0  # the stream was down or reconnecting
    platform_recovered: int = 0  # of those, found by the whale (cash-filtered) check
    coalesced: int = 0  # reconnects that joined a running round
    miss_times: deque[float] = field(default_factory=lambda: deque(maxlen=MISSES_KEPT))

    def misses_since(self, since: float) -> int:
        """Misses (found while the stream was connected) stored at or after ``since``: the
        health verdict looks at a recent rate, not at a total that only grows."""
        return sum(1 for at in self.miss_times if at >= since)


class Reconciler:
    """A worker: one round at a time, every ``interval`` seconds or at once on request."""

    name = "reconciler"
    role = Role.LEADER

    def __init__(
        self,
        pool: asyncpg.Pool,
        data_api: DataAPI,
        ingest: TradeIngest,
        follows: FollowService,
        *,
        interval: float,
        connected_since: Callable[[], float | None],
        platform_min_usd: Callable[[], float] | None = None,
        watched: WatchedWallets | None = None,
        retention_days: float = 30.0,
        budget_per_second: float = DATA_API_PER_SECOND * BUDGET_SHARE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._api = data_api
        self._ingest = ingest
        self._follows = follows
        self._interval = interval
        self._connected_since = connected_since
        self._platform_min = platform_min_usd or (lambda: follows.whale_min)
        self._watched = watched
        self._retention_days = retention_days
        self._budget = AsyncLimiter(1, 1.0 / budget_per_second)
        self._clock = clock
        self._checked: dict[str, float] = {}  # wallet -> fills up to here are reconciled
        self._platform_checked: float | None = None
        self._wanted = asyncio.Event()  # a round is asked for now
        self._gap_during_round = False
        self._undecided: list[Trade] = []  # fills too recent to call missed yet
        self._capped: list[tuple[str, float, float]] = []  # this round: (wallet, unread window)
        self._task: asyncio.Task[None] | None = None
        self.stats = ReconcileStats()

    def status(self) -> WorkerStatus:
        running = self._task is not None and not self._task.done()
        detail = f"every {self._interval:g}s · {self.stats.rounds} rounds"
        return WorkerStatus(self.name, self.role, running, detail)

    @property
    def interval(self) -> float:
        return self._interval

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="reconciler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def request_round(self) -> None:
        """After a (re)connect: reconcile now. A round already running takes the request (and
        checks whale-sized fills again at its end) instead of queueing another round."""
        if self.stats.running:
            self.stats.coalesced += 1
            self._gap_during_round = True
        else:
            self._wanted.set()

    async def _run(self) -> None:
        """Rounds every ``interval`` (or at once when asked), and in between, the fills a round
        found too recent to judge are judged once their grace is over."""
        next_round = self._clock()
        while True:
            now = self._clock()
            try:
                if now >= next_round or self._wanted.is_set():
                    self._wanted.clear()
                    next_round = now + self._interval
                    await self.run_round()
                elif self._undecided and self._undecided_due() <= now:
                    await self.judge_undecided()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not end reconciliation
                log.exception("reconciliation failed")
            wake = min(next_round, self._undecided_due()) - self._clock()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), timeout=max(0.0, wake))

    def _undecided_due(self) -> float:
        if not self._undecided:
            return math.inf
        return min(t.timestamp for t in self._undecided) + GRACE_SECONDS + 0.5

    async def judge_undecided(self) -> int:
        """Fills a round saw that the stream could still have delivered: now their grace is
        over, the ones still missing are misses."""
        due = [t for t in self._undecided if t.timestamp + GRACE_SECONDS <= self._clock()]
        self._undecided = [t for t in self._undecided if t not in due]
        return await self._store_missing(due, self._clock())

    async def run_round(self) -> int:
        """Check the platform (whale-sized fills) and every watched wallet, busiest first;
        returns the fills stored."""
        started = self._clock()
        self.stats.running = True
        self._gap_during_round = False
        self._capped = []
        failures_before = self.stats.failures
        try:
            found = await self._check_platform_logged()
            wallets = await self._wallets_busiest_first()
            found += await self._check_wallets(wallets)
            if self._gap_during_round:  # the stream reconnected meanwhile: one request more
                found += await self._check_platform_logged()
        finally:
            self.stats.running = False
        self.stats.rounds += 1
        self.stats.last_round_seconds = self._clock() - started
        self.stats.last_round_wallets = len(wallets)
        self.stats.last_round_at = started
        failed = self.stats.failures - failures_before
        if failed:
            log.warning("reconciliation: %d of %d checks failed this round", failed, len(wallets))
        if self._capped:
            self._log_capped_wallets()
        return found

    def _log_capped_wallets(self) -> None:
        """One line a round for the wallets (market makers) that filled more than a page
        since their last check, with the windows left unread (the widest first, a few)."""
        widest = sorted(self._capped, key=lambda c: c[2] - c[1], reverse=True)[:3]
        log.warning(
            "reconciliation: %d wallets had more than %d fills since their last check; "
            "their older fills were not checked: %s",
            len(self._capped),
            PAGE,
            "; ".join(f"{w} from {_utc(start)} to {_utc(end)}" for w, start, end in widest),
        )

    async def _check_wallets(self, wallets: Sequence[tuple[str, float]]) -> int:
        slots = asyncio.Semaphore(CONCURRENCY)
        found = 0

        async def check(wallet: str, since: float) -> None:
            nonlocal found
            try:
                stored = await self._check_wallet(wallet, since)
                found += stored  # added after the await: another check may have added meanwhile
            except Exception as exc:  # one wallet's failure never stops the others
                self.stats.failures += 1
                log.debug("reconciling %s failed: %s", wallet, exc)
            finally:
                slots.release()

        tasks: list[asyncio.Task[None]] = []
        for wallet, since in wallets:
            await slots.acquire()
            tasks.append(asyncio.get_running_loop().create_task(check(wallet, since)))
        await asyncio.gather(*tasks)
        return found

    async def _wallets_busiest_first(self) -> list[tuple[str, float]]:
        """(wallet, alert from) for every followed or copied wallet, most stored fills over the
        last day first; built in slices so 100,000 follows never hold the event loop."""
        starts: dict[str, float] = {}
        wallets = self._follows.followed_wallets()
        for offset in range(0, len(wallets), 2_000):
            for wallet in wallets[offset : offset + 2_000]:
                follows = self._follows.follows_of(wallet)
                if follows:
                    # Polymarket stamps whole seconds: look back as far as a follow accepts.
                    starts[wallet] = min(f.created_at for f in follows) - BACKDATE_TOLERANCE
            await asyncio.sleep(0)
        if self._watched is not None:
            for wallet, since in self._watched.backfill_since().items():
                starts[wallet] = min(since, starts.get(wallet, since))
        async with self._pool.acquire() as conn:
            busy = await queries.trade_counts(conn, list(starts), self._clock() - ACTIVITY_WINDOW)
        order = sorted(starts, key=lambda w: -busy.get(w, 0))
        return [(wallet, starts[wallet]) for wallet in order]

    async def _check_wallet(self, wallet: str, since: float) -> int:
        """One wallet: its fills since the last check (overlapping by the Data API's lag), or
        since it was followed after a restart (bounded by retention and one page)."""
        oldest_kept = self._clock() - self._retention_days * 86_400 + 3_600
        checked = self._checked.get(wallet)
        start = max(since, oldest_kept)
        if checked is not None:
            start = max(start, checked - INDEX_LAG_SECONDS)
        async with self._budget:
            asked_at = self._clock()
            trades = await self._api.trades(user=wallet, since=start, limit=PAGE)
        self.stats.wallet_checks += 1
        if len(trades) >= PAGE:  # newest first: what is older than this page was not read
            self.stats.wallet_checks_capped += 1
            self._capped.append((wallet, start, min(t.timestamp for t in trades)))
        mine = [t for t in trades if t.wallet == wallet and t.timestamp >= max(since, oldest_kept)]
        found = await self._store_missing(mine, asked_at)
        self._checked[wallet] = asked_at - GRACE_SECONDS
        return found

    async def _check_platform_logged(self) -> int:
        try:
            return await self._check_platform()
        except Exception as exc:  # the wallets are still worth checking
            self.stats.failures += 1
            log.warning("reconciling whale-sized fills failed: %s", exc)
            return 0

    async def _check_platform(self) -> int:
        """Whale-sized fills since the last check, from the platform's ``/trades`` filtered on
        cash at the smallest active threshold (one request, a few pages when busy)."""
        threshold = self._platform_min()
        if not math.isfinite(threshold):
            self._platform_checked = None
            return 0
        now = self._clock()
        start = now - PLATFORM_LOOKBACK
        if self._platform_checked is not None:
            start = max(start, self._platform_checked - INDEX_LAG_SECONDS)
        found = 0
        oldest_read = now
        for page in range(PLATFORM_PAGES):
            async with self._budget:
                trades = await self._api.trades(
                    since=start, cash_at_least=threshold, limit=PAGE, offset=page * PAGE
                )
            before = self.stats.missed_while_connected + self.stats.recovered_after_gap
            found += await self._store_missing(trades, now)
            after = self.stats.missed_while_connected + self.stats.recovered_after_gap
            self.stats.platform_recovered += after - before
            oldest_read = min([oldest_read, *(t.timestamp for t in trades)])
            if len(trades) < PAGE:
                break
        else:  # every page was full: what is older than the last one was not read
            self.stats.platform_checks_capped += 1
            log.warning(
                "reconciling fills of $%s or more: more than %s since the last check; "
                "fills from %s to %s were not checked",
                f"{threshold:,.0f}",
                f"{PLATFORM_PAGES * PAGE:,}",
                _utc(start),
                _utc(oldest_read),
            )
        self._platform_checked = now - GRACE_SECONDS
        return found

    async def _store_missing(self, trades: Sequence[Trade], asked_at: float) -> int:
        """Store the fills that are neither stored nor on their way from the stream. A fill
        made while the stream was down cannot be on its way; one made since it connected is
        given GRACE_SECONDS to arrive (Polymarket stamps whole seconds: one more of margin)."""
        since = self._connected_since()
        connected_from = math.inf if since is None else since - 1.0
        candidates = [t for t in trades if not self._ingest.in_flight(t.key)]
        if not candidates:
            return 0
        async with self._pool.acquire() as conn:
            stored = await queries.existing_keys(conn, [t.key for t in candidates])
        unseen = list({t.key: t for t in candidates if t.key not in stored}.values())
        missing = [
            t
            for t in unseen
            if t.timestamp <= asked_at - GRACE_SECONDS or t.timestamp < connected_from
        ]
        known = {t.key for t in self._undecided}
        self._undecided += [  # a stamp from the future is junk, not a fill to wait for
            t
            for t in unseen
            if t not in missing and t.key not in known and t.timestamp <= asked_at + 60
        ]
        if not missing:
            return 0
        during = [t for t in missing if t.timestamp >= connected_from]
        gap = [t for t in missing if t.timestamp < connected_from]
        new_during = await self._ingest.store_each(during, "reconcile") if during else []
        new_gap = await self._ingest.store_each(gap, "backfill") if gap else []
        self.stats.missed_while_connected += len(new_during)
        self.stats.miss_times.extend([self._clock()] * len(new_during))
        self.stats.recovered_after_gap += len(new_gap)
        if new_during:
            log.warning("the live stream missed %d fills; alerted late", len(new_during))
        return len(new_during) + len(new_gap)

"""Part (e) of ``bench_stream.py``: the live-trade path with signals on (imported by it).

(e1) The stream's filter as the bot wires it, ``TradeIngest.wants`` (FollowService, then
     copied wallets, then SignalService), over 10,000 followed wallets plus all three signal
     kinds on in 1,000 servers (fresh wallets with thresholds of $1,000 to $5,000, smart money
     and consensus at $500, a third of them with a category), against the same filter with no
     signals. Signals run twice: "cold", no wallet age known yet (every trade of $1,000 or more
     is kept, to be dated), and "steady", every trading wallet already dated (a big trade of a
     wallet known to be old is dropped by the filter), which is where a running bot soon is.
     Same kind of frames as part (d) (scripts/stream_bench_socket.py: a realistic mix of sizes,
     ``PONG`` and junk), the three
     run in alternating rounds on one thread and are compared on CPU time; the top 50 traders
     are wallets that trade in the frames. What it leaves out: what happens to a kept frame
     after the filter (the queue, PostgreSQL), which parts (b) and (d) measure.

(e2) Fresh-wallet lookups per minute under a realistic flow: 60 simulated minutes of 40
     trades/s (Polymarket's platform rate is ~33–50/s), sizes drawn like part (a), by wallets
     drawn from 50,000 active accounts with a Zipf law (a few trade often), plus a share of
     brand-new wallets among the big trades. Every trade goes through ``SignalService.wants``
     and, if kept, ``SignalService.prepare`` with the real wallet-age store (PostgreSQL, the
     fake Polymarket's ``/public-profile`` over HTTP) and a simulated clock. The store's rate
     limit is lifted for this run so the figure is the demand itself; the baseline is what a
     bot without the store would do: one lookup per trade above the threshold. (e3) then
     checks the limit in real time: a burst of brand-new wallets at once, lookups counted over
     10 s against the bot's budget and Polymarket's published limit.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from benchlib import migrated_pool, progress
from stream_bench_socket import build_frames, build_index, followed_wallets

from bot.events import EventBus
from bot.polymarket.accounts import AccountsAPI
from bot.polymarket.http import PolymarketHTTP
from bot.polymarket.records import Trade
from bot.polymarket.stream import TradeStream
from bot.polymarket.tags import MarketTagsAPI
from bot.signals import lookups
from bot.signals.learnt import LearntOnce
from bot.signals.models import SignalWatch, WalletAge
from bot.signals.service import SignalService
from bot.trades.ingest import TradeIngest
from tests.factories import WeekBoard, known_ages, make_trade
from tests.fakes.polymarket import FakePolymarket

SIGNAL_FOLLOWED = 10_000
SIGNAL_SERVERS = 1_000
SIGNAL_ROUNDS = 3
SIGNAL_MESSAGES_PER_ROUND = 300_000
CATEGORIES = ("politics", "sports", "crypto")
FLOW_MINUTES = 60
FLOW_RATE = 40  # trades per second
FLOW_ACCOUNTS = 50_000
FLOW_ZIPF = 1.1
FLOW_NEW_SHARE = 0.03  # of trades above the threshold: wallets never seen on Polymarket before
FRESH_MIN = 1_000.0
BURST_WALLETS = 600
BURST_SECONDS = 10.0
PUBLISHED_GAMMA_PER_10S = 4_000  # Polymarket's published limit for Gamma in general
PUBLISHED_DATA_PER_10S = 1_000  # Data API general (/activity, the first-trade fallback)


# ---- (d1) the filter -----------------------------------------------------------------------------


@dataclass
class SignalFilterResult:
    followed_wallets: int
    servers: int
    watches: int
    messages_per_round: int
    rounds: int
    # per mode (follows only, signals with no wallet age learnt, signals in steady state):
    # messages/s on CPU time (median round), its ratio to follows only, share of frames kept
    mps: dict[str, float] = field(default_factory=dict)
    ratio: dict[str, float] = field(default_factory=dict)
    kept_pct: dict[str, float] = field(default_factory=dict)
    wants_ns: dict[str, float] = field(default_factory=dict)  # the decision alone, per trade


MODES = ("follows only", "signals, cold", "signals, steady")


def signal_watches(servers: int) -> list[SignalWatch]:
    watches = []
    for n in range(servers):
        category = CATEGORIES[n % 3] if n % 3 == 0 else None
        channel = 500_000 + n
        watches += [
            SignalWatch(n, "fresh", channel, FRESH_MIN * (1 + n % 5), category),
            SignalWatch(n, "smart", channel, 500.0, category),
            SignalWatch(n, "consensus", channel, 500.0, category),
        ]
    return watches


def frame_trades(frames: Sequence[str]) -> list[tuple[str, float]]:
    """(wallet, dollars) of every trade frame."""
    found = []
    for frame in frames:
        if frame.startswith("{") and '"payload"' in frame:
            payload = json.loads(frame).get("payload") or {}
            wallet = str(payload.get("proxyWallet", "")).lower()
            if wallet.startswith("0x"):
                found.append((wallet, float(payload["size"]) * float(payload["price"])))
    return found


def traded_wallets(trades: Sequence[tuple[str, float]], followed: set[str]) -> list[str]:
    """Unfollowed wallets that trade in the frames, most active first."""
    seen = Counter(wallet for wallet, _ in trades if wallet not in followed)
    return [w for w, _ in seen.most_common()]


def wants_ns(wants: Any, trades: Sequence[tuple[str, float]]) -> float:
    """CPU nanoseconds of one filter decision (the call the stream makes), averaged."""
    started = time.process_time()
    for _ in range(10):
        for wallet, usd in trades:
            wants(wallet, usd)
    return (time.process_time() - started) / (10 * len(trades)) * 1e9


def timed_round(stream: TradeStream, frames: Sequence[str], messages: int) -> tuple[float, int]:
    """(messages/s on CPU time, frames kept) of ``messages`` frames through the filter."""
    stream.stats = type(stream.stats)()
    passes, rest = divmod(messages, len(frames))
    started = time.process_time()
    for _ in range(passes):
        for frame in frames:
            stream.process_frame(frame)
    for frame in frames[:rest]:
        stream.process_frame(frame)
    cpu = time.process_time() - started
    return messages / cpu, stream.stats.matched


def bench_signal_filter(seed: int, pool_n: int) -> SignalFilterResult:
    """Part (d)'s builders (the follow index, the frame mix), so (e1) sees the same frames."""
    followed = followed_wallets(seed, SIGNAL_FOLLOWED)
    follows = build_index(followed)
    frames, _ = build_frames(seed, followed, pool_n)
    trades = frame_trades(frames)
    traders = traded_wallets(trades, set(followed))
    watches = signal_watches(SIGNAL_SERVERS)
    unused: Any = None  # the filter never reaches the pool, HTTP or market facts

    def signals_with(ages: LearntOnce[WalletAge]) -> SignalService:
        signals = SignalService(unused, EventBus(), WeekBoard(traders[:50]), ages, unused)  # type: ignore[arg-type]
        signals._rebuild(watches)  # the in-memory index as load() builds it
        signals.refresh_boards()
        return signals

    async def ignore(trade: Trade) -> None:
        return None

    decisions: dict[int, Any] = {}  # id(stream) -> the filter it was given

    def stream_for(signals: SignalService | None) -> TradeStream:
        ingest = TradeIngest(
            unused, follows, EventBus(), on_deliveries=lambda _: None, signals=signals
        )
        stream = TradeStream("ws://127.0.0.1:9", ignore, ingest.wants)
        decisions[id(stream)] = ingest.wants
        return stream

    old = WalletAge(time.time() - 365 * 86_400, "profile")  # steady state: all dated
    streams = dict(
        zip(
            MODES,
            (
                stream_for(None),
                stream_for(signals_with(known_ages({}))),
                stream_for(signals_with(known_ages(dict.fromkeys(traders, old)))),
            ),
            strict=True,
        )
    )
    for stream in streams.values():  # warm-up
        for frame in frames:
            stream.process_frame(frame)
    rounds: list[dict[str, tuple[float, int]]] = []
    for n in range(SIGNAL_ROUNDS):
        progress(f"(e1) round {n + 1}/{SIGNAL_ROUNDS}: {SIGNAL_MESSAGES_PER_ROUND:,} frames each")
        rounds.append(
            {m: timed_round(st, frames, SIGNAL_MESSAGES_PER_ROUND) for m, st in streams.items()}
        )
    base = MODES[0]
    return SignalFilterResult(
        followed_wallets=SIGNAL_FOLLOWED,
        servers=SIGNAL_SERVERS,
        watches=len(watches),
        messages_per_round=SIGNAL_MESSAGES_PER_ROUND,
        rounds=SIGNAL_ROUNDS,
        mps={m: statistics.median(r[m][0] for r in rounds) for m in MODES},
        ratio={m: statistics.median(r[m][0] / r[base][0] for r in rounds) for m in MODES},
        kept_pct={m: 100.0 * rounds[-1][m][1] / SIGNAL_MESSAGES_PER_ROUND for m in MODES},
        wants_ns={m: wants_ns(decisions[id(st)], trades) for m, st in streams.items()},
    )


# ---- (d2, d3) fresh-wallet lookups ---------------------------------------------------------------


@dataclass
class FreshLookupResult:
    minutes: int
    trades: int
    qualifying: int  # trades at or above the smallest fresh threshold
    kept: int  # of those, trades the filter let through (wallet not known to be old)
    distinct_wallets: int  # of the qualifying trades
    lookups: int  # /public-profile calls
    first_trade_lookups: int  # /activity calls (no profile)
    per_minute: list[int] = field(default_factory=list)
    fresh_trades: int = 0
    burst_wallets: int = 0
    burst_lookups_10s: int = 0
    budget_per_minute: float = lookups.WALLET_LOOKUPS_PER_MINUTE

    @property
    def naive_per_minute(self) -> float:
        return self.qualifying / self.minutes

    @property
    def peak(self) -> int:
        return max(self.per_minute, default=0)

    @property
    def last_quarter(self) -> float:
        tail = self.per_minute[-max(1, self.minutes // 4) :]
        return sum(tail) / len(tail)


class Flow:
    """The simulated platform: who trades, how much, and when."""

    def __init__(self, rng: random.Random, fake: FakePolymarket, start: float) -> None:
        self.rng = rng
        self.accounts = [f"0x{rng.getrandbits(160):040x}" for _ in range(FLOW_ACCOUNTS)]
        for wallet in self.accounts:
            fake.add_account(wallet, start - rng.uniform(30, 1_000) * 86_400)
        weights = [1.0 / (rank**FLOW_ZIPF) for rank in range(1, FLOW_ACCOUNTS + 1)]
        self.cumulative = list(_accumulate(weights))
        self.newcomers = 0

    def trade(self, now: float) -> Trade:
        rng = self.rng
        size = round(rng.lognormvariate(3.5, 1.8), 2) + 0.01
        price = round(rng.uniform(0.02, 0.98), 3)
        if size * price >= FRESH_MIN and rng.random() < FLOW_NEW_SHARE:
            self.newcomers += 1
            wallet = f"0x{rng.getrandbits(160):040x}"  # no profile, no trade yet: brand new
        else:
            wallet = rng.choices(self.accounts, cum_weights=self.cumulative)[0]
        tx = f"0x{rng.getrandbits(256):064x}"
        return make_trade(
            wallet=wallet, size=size, price=price, timestamp=now, transaction_hash=tx, title=""
        )


def _accumulate(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def fresh_service(pool: Any, http: PolymarketHTTP, clock: Any, rate: float) -> SignalService:
    signals = SignalService(
        pool,
        EventBus(),
        WeekBoard(),  # type: ignore[arg-type]
        lookups.wallet_ages(pool, AccountsAPI(http), rate=rate, clock=clock),
        lookups.market_facts(pool, MarketTagsAPI(http), clock=clock),
        clock=clock,
    )
    signals._rebuild(signal_watches(SIGNAL_SERVERS))
    return signals


async def simulate_flow(
    signals: SignalService, flow: Flow, fake: FakePolymarket, now: list[float], minutes: int
) -> FreshLookupResult:
    result = FreshLookupResult(minutes=minutes, trades=0, qualifying=0, kept=0,
                               distinct_wallets=0, lookups=0, first_trade_lookups=0)  # fmt: skip
    wallets: set[str] = set()
    for minute in range(minutes):
        before = fake.calls["/public-profile"]
        for _ in range(60):
            now[0] += 1.0
            batch = [flow.trade(now[0]) for _ in range(FLOW_RATE)]
            kept = [t for t in batch if signals.wants(t.wallet, t.usd)]
            qualifying = [t.wallet for t in batch if t.usd >= signals.fresh_min]
            result.trades += len(batch)
            result.qualifying += len(qualifying)
            result.kept += len(kept)
            wallets.update(qualifying)
            if kept:
                prepared = await signals.prepare(kept)
                result.fresh_trades += sum(1 for t in kept if t.wallet in prepared.fresh)
        result.per_minute.append(fake.calls["/public-profile"] - before)
        if minute % 10 == 9:
            progress(f"(e2) {minute + 1}/{minutes} simulated minutes")
    result.distinct_wallets = len(wallets)
    result.lookups = fake.calls["/public-profile"]
    result.first_trade_lookups = fake.calls["/activity"]
    return result


async def burst(pool: Any, http: PolymarketHTTP, fake: FakePolymarket, rng: random.Random) -> int:
    """Brand-new wallets all at once, through the real rate limit: lookups in BURST_SECONDS."""
    signals = fresh_service(pool, http, time.time, lookups.WALLET_LOOKUPS_PER_MINUTE)
    wallets = [f"0x{rng.getrandbits(160):040x}" for _ in range(BURST_WALLETS)]
    before = fake.calls["/public-profile"]
    task = asyncio.create_task(signals.ages.get_many(wallets))
    await asyncio.sleep(BURST_SECONDS)
    counted = fake.calls["/public-profile"] - before
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await signals.close()
    return counted


async def bench_fresh_lookups(seed: int, minutes: int = FLOW_MINUTES) -> FreshLookupResult:
    rng = random.Random(seed + 4242)
    fake = FakePolymarket(n_traders=0, seed=seed)
    await fake.start()
    try:
        async with (
            migrated_pool("signals", scratch_on_embedded=True) as (pool, _),
            aiohttp.ClientSession() as session,
        ):
            hosts = dict.fromkeys(("data", "gamma", "clob"), fake.base_url)
            http = PolymarketHTTP(session, hosts=hosts, timeout=5.0, max_retries=1)
            now = [time.time()]
            flow = Flow(rng, fake, now[0])
            progress(f"(e2) {minutes} simulated minutes of {FLOW_RATE} trades/s")
            signals = fresh_service(pool, http, lambda: now[0], rate=1e9)  # demand, unthrottled
            result = await simulate_flow(signals, flow, fake, now, minutes)
            await signals.close()
            progress(f"(e3) {BURST_WALLETS} brand-new wallets at once, {BURST_SECONDS:g} s")
            result.burst_wallets = BURST_WALLETS
            result.burst_lookups_10s = await burst(pool, http, fake, rng)
    finally:
        await fake.stop()
    return result


# ---- report --------------------------------------------------------------------------------------


def signal_goals(
    d1: SignalFilterResult, d2: FreshLookupResult, goal_mps: float
) -> list[dict[str, Any]]:
    budget_10s = d2.budget_per_minute / 6
    return [
        {
            "goal": f"filter with signals >= {goal_mps:,.0f} msg/s",
            "value": (
                f"{d1.mps[MODES[2]]:,.0f} msg/s steady, {d1.mps[MODES[1]]:,.0f} cold"
                f" (x{d1.ratio[MODES[2]]:.2f} / x{d1.ratio[MODES[1]]:.2f} of follows only)"
            ),
            "pass": min(d1.mps[MODES[1]], d1.mps[MODES[2]]) >= goal_mps,
        },
        {
            "goal": "fresh lookups bounded by the cache",
            "value": (
                f"last quarter {d2.last_quarter:.1f}/min vs {d2.naive_per_minute:.1f}/min uncached"
            ),
            "pass": d2.last_quarter < d2.naive_per_minute and d2.lookups <= d2.distinct_wallets,
        },
        {
            "goal": "lookups <= published limit",
            "value": (
                f"peak {d2.peak}/min; burst {d2.burst_lookups_10s} per 10 s"
                f" (budget {budget_10s:.0f}, Polymarket {PUBLISHED_GAMMA_PER_10S:,})"
            ),
            "pass": d2.peak * 10 / 60 <= PUBLISHED_GAMMA_PER_10S
            and d2.burst_lookups_10s <= budget_10s + d2.budget_per_minute / 60 + 1
            and d2.burst_lookups_10s <= PUBLISHED_DATA_PER_10S,
        },
    ]


def render_signals(row: Any, section: Any, d1: SignalFilterResult, d2: FreshLookupResult) -> None:
    section(f"(e1) filter + signals, {d1.followed_wallets:,} followed, {d1.servers:,} servers")
    row("  signal watches", f"fresh, smart and consensus in every server: {d1.watches:,}")
    for mode in MODES:
        row(
            f"  {mode}",
            f"{d1.mps[mode]:,.0f} msg/s CPU (x{d1.ratio[mode]:.2f}), kept {d1.kept_pct[mode]:.2f}%;"
            f" the decision alone {d1.wants_ns[mode]:,.0f} ns",
        )
    row("", f"median of {d1.rounds} alternating rounds of {d1.messages_per_round:,} frames")
    section(f"(e2) fresh-wallet lookups, {d2.minutes} simulated minutes")
    row(
        "  flow",
        f"{FLOW_RATE} trades/s by {FLOW_ACCOUNTS:,} accounts (Zipf {FLOW_ZIPF}),"
        f" {FLOW_NEW_SHARE:.0%} of trades >= $1K by brand-new wallets",
    )
    row(
        "  trades / >= $1K / kept by the filter",
        f"{d2.trades:,} / {d2.qualifying:,} by {d2.distinct_wallets:,} wallets / {d2.kept:,}",
    )
    row(
        "  /public-profile lookups per minute",
        f"first {d2.per_minute[0] if d2.per_minute else 0}, peak {d2.peak},"
        f" last quarter {d2.last_quarter:.1f}; {d2.lookups:,} in all"
        f" (+ {d2.first_trade_lookups:,} /activity for wallets without a profile)",
    )
    row("  without the store (one per trade >= $1K)", f"{d2.naive_per_minute:.1f} per minute")
    row("  fresh-wallet trades found", f"{d2.fresh_trades:,}")
    section(f"(e3) burst of {d2.burst_wallets} brand-new wallets, real rate limit")
    row(
        f"  lookups in {BURST_SECONDS:g} s",
        f"{d2.burst_lookups_10s} (bot budget {d2.budget_per_minute:g}/min;"
        f" Polymarket publishes {PUBLISHED_GAMMA_PER_10S:,}/10 s for Gamma,"
        f" {PUBLISHED_DATA_PER_10S:,}/10 s for the Data API)",
    )

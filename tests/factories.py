"""Domain objects for tests and benchmarks, built with sensible defaults: one place, so a test
names only what it is about."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aiolimiter import AsyncLimiter

from bot.leaderboard.models import BoardEntry, PeriodBoard
from bot.polymarket.records import Trade, trade_key
from bot.signals.learnt import LearntOnce
from bot.signals.models import WalletAge

_tx_numbers = itertools.count(1)


class Clock:
    """Unix seconds (from now, unless given) that move only when the test moves them."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_trade(**overrides: Any) -> Trade:
    """A BUY of 10 Yes shares at 50¢ now, with a unique transaction; ``usd`` sets the size at
    the given (or default) price. The key is derived like the parser's."""
    fields: dict[str, Any] = {
        "wallet": "0x" + "f" * 40,
        "asset": "token-yes",
        "condition_id": "0x" + "c" * 64,
        "side": "BUY",
        "size": 10.0,
        "price": 0.5,
        "timestamp": time.time(),
        "transaction_hash": "",
        "outcome": "Yes",
        "title": "Will it rain in London?",
        "slug": "rain-london",
        "event_slug": "weather-london",
        "name": "",
        "pseudonym": "",
    }
    usd = overrides.pop("usd", None)
    fields.update(overrides)
    if usd is not None:
        fields["size"] = usd / fields["price"]
    if not fields["transaction_hash"]:
        fields["transaction_hash"] = f"0x{next(_tx_numbers):064x}"
    key = trade_key(
        fields["transaction_hash"],
        fields["wallet"],
        fields["asset"],
        fields["side"],
        fields["size"],
        fields["price"],
    )
    return Trade(key=key, **fields)


class WeekBoard:
    """The leaderboard as signals read it: the week's board, ``wallets`` in copy-score order
    (named ``Top1``, ``Top2`` …); ``publish`` replaces it, as a refresh does."""

    def __init__(self, wallets: Sequence[str] = ()) -> None:
        self.week: PeriodBoard | None = None
        if wallets:
            self.publish(wallets)

    def publish(self, wallets: Sequence[str]) -> None:
        entries = tuple(
            BoardEntry(w, f"Top{n}", "", False, 1000.0 - n, 10_000.0, 90.0 - n, ())
            for n, w in enumerate(wallets, 1)
        )
        self.week = PeriodBoard("week", 1, time.time(), (), {"score": entries, "pnl": entries})

    def board(self, period: str) -> PeriodBoard | None:
        return self.week if period == "week" else None


def known_ages(ages: Mapping[str, WalletAge]) -> LearntOnce[WalletAge]:
    """A wallet-age store that already knows ``ages`` and must never look anything up."""

    async def never(*_: Any) -> Any:
        raise AssertionError("a lookup where none was expected")

    learnt: LearntOnce[WalletAge] = LearntOnce(
        "wallet age", load_stored=never, fetch=never, store=never, limiter=AsyncLimiter(1)
    )
    for wallet, age in ages.items():
        learnt._remember(wallet, age)
    return learnt

"""The signal service's memory: the stream's O(1) filter, the top traders it follows from the
leaderboard, and one card per trade and channel."""

from __future__ import annotations

import math
import time
from typing import Any

from bot.events import EventBus
from bot.signals.models import SignalWatch, WalletAge
from bot.signals.service import SignalService, merge_target
from bot.trades.models import Target
from tests.factories import WeekBoard, known_ages, make_trade

WALLETS = [f"0x{n:040x}" for n in range(1, 61)]


def service(boards: WeekBoard, ages: dict[str, WalletAge] | None = None) -> SignalService:
    unused: Any = None  # market facts are not reached by these tests
    leaderboard: Any = boards  # the week's board is all signals read of the leaderboard
    return SignalService(
        unused, EventBus(), leaderboard, known_ages(ages or {}), unused, fresh_days=14
    )


def test_the_stream_filter_follows_the_watches_and_the_board() -> None:
    boards = WeekBoard()
    signals = service(boards)
    assert not signals.wants(WALLETS[0], 1e9)  # nothing on
    signals._rebuild([SignalWatch(1, "fresh", 10, 1_000), SignalWatch(2, "fresh", 20, 3_000)])
    assert signals.fresh_min == 1_000 and signals.wants("0x" + "9" * 40, 1_000)
    assert not signals.wants("0x" + "9" * 40, 999)
    boards.publish(WALLETS)
    assert signals.refresh_boards() and not signals.refresh_boards()  # once per new board
    assert not signals.wants(WALLETS[0], 1)  # no smart or consensus watch yet
    signals._rebuild([SignalWatch(1, "smart", 10, 500)])
    assert signals.wants(WALLETS[24], 1) and not signals.wants(WALLETS[25], 1)
    assert signals.fresh_min == math.inf
    signals._rebuild([SignalWatch(1, "consensus", 10, 500)])
    assert signals.wants(WALLETS[49], 1) and not signals.wants(WALLETS[50], 1)
    assert signals.smart[WALLETS[0]] == (1, "Top1") and signals.top[WALLETS[49]][0] == 50


def test_one_target_per_channel_in_order_of_precedence() -> None:
    found = [Target(1, 9, "whale", None), Target(2, 9, "follow", 5)]
    merge_target(found, Target(1, 9, "fresh", None))
    merge_target(found, Target(2, 9, "smart", None))
    merge_target(found, Target(2, 9, "consensus", None))
    merge_target(found, Target(3, 9, "smart", None))
    assert [(t.channel_id, t.kind) for t in found] == [(1, "fresh"), (2, "consensus"), (3, "smart")]


def test_big_trades_of_wallets_known_to_be_old_are_dropped_by_the_filter() -> None:
    now = time.time()
    old, young, unknown = "0x" + "1" * 40, "0x" + "2" * 40, "0x" + "3" * 40
    signals = service(
        WeekBoard(),
        {old: WalletAge(now - 400 * 86_400, "profile"), young: WalletAge(now - 86_400, "profile")},
    )
    signals._rebuild([SignalWatch(1, "fresh", 10, 1_000)])
    assert not signals.wants(old, 50_000)
    assert signals.wants(young, 1_000) and signals.wants(unknown, 1_000)
    assert not signals.wants(unknown, 999)


def test_a_trade_from_before_a_watch_was_set_is_history() -> None:
    """The reconciler recovers up to an hour of trades after a gap: only those made since a
    watch was set (a minute of tolerance for whole-second stamps) become its alerts."""
    boards = WeekBoard()
    signals = service(boards)
    boards.publish(WALLETS)
    signals.refresh_boards()
    now = time.time()
    signals._rebuild([SignalWatch(1, "smart", 10, 500, created_at=now - 300)])
    recent = make_trade(wallet=WALLETS[0], usd=1_000, timestamp=now - 200)
    edge = make_trade(wallet=WALLETS[0], usd=1_000, timestamp=now - 330)
    history = make_trade(wallet=WALLETS[0], usd=1_000, timestamp=now - 600)
    assert [t.kind for t in signals.instant_targets(recent, frozenset(), {})] == ["smart"]
    assert [t.kind for t in signals.instant_targets(edge, frozenset(), {})] == ["smart"]
    assert signals.instant_targets(history, frozenset(), {}) == []

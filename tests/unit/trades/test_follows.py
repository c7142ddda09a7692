"""Who gets which trade: Follow/WhaleWatch filters and the in-memory index behind wants().

These run without a database: the index is built through FollowService._rebuild, the same
path load() takes after reading PostgreSQL, so what is tested here is what the stream sees.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import pytest

from bot.events import EventBus
from bot.polymarket.records import Trade, trade_key
from bot.trades.follows import FollowService
from bot.trades.models import BACKDATE_TOLERANCE, NEAR_CERTAIN_PRICE, Follow, Target, WhaleWatch

WALLET = "0x" + "a" * 40
OTHER = "0x" + "b" * 40
CREATED = 1_800_000_000.0
_tx_numbers = itertools.count(1)


def make_trade(
    *,
    wallet: str = WALLET,
    side: str = "BUY",
    size: float = 100.0,
    price: float = 0.5,
    ts: float = CREATED + 10,
) -> Trade:
    tx = f"0x{next(_tx_numbers):064x}"
    return Trade(
        key=trade_key(tx, wallet, "asset", side, size, price),
        wallet=wallet,
        asset="asset",
        condition_id="",
        side=side,
        size=size,
        price=price,
        timestamp=ts,
        transaction_hash=tx,
        outcome="Yes",
        title="",
        slug="",
        event_slug="",
        name="",
        pseudonym="",
    )


def usd_trade(usd: float, **kw: Any) -> Trade:
    """A trade worth exactly ``usd`` at price 0.5."""
    return make_trade(size=usd / 0.5, price=0.5, **kw)


def make_follow(
    *,
    id: int = 1,
    channel_id: int = 10,
    wallet: str = WALLET,
    min_usd: float = 0.0,
    side: str = "both",
    enabled: bool = True,
) -> Follow:
    return Follow(
        id=id,
        guild_id=1,
        channel_id=channel_id,
        wallet=wallet,
        label="",
        min_usd=min_usd,
        side=side,
        created_at=CREATED,
        enabled=enabled,
    )


def make_whale(
    *, channel_id: int = 20, min_usd: float = 1000.0, near: bool = False, enabled: bool = True
) -> WhaleWatch:
    return WhaleWatch(
        channel_id=channel_id,
        guild_id=1,
        min_usd=min_usd,
        include_near_certain=near,
        enabled=enabled,
    )


def service(follows: Sequence[Follow] = (), whales: Sequence[WhaleWatch] = ()) -> FollowService:
    none: Any = None  # the hot path never touches the pool
    svc = FollowService(none, EventBus())
    svc._rebuild(follows, whales)
    return svc


# ---- Follow.accepts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("follow_side", "trade_side", "accepted"),
    [
        ("both", "BUY", True),
        ("both", "SELL", True),
        ("buy", "BUY", True),
        ("buy", "SELL", False),
        ("sell", "SELL", True),
        ("sell", "BUY", False),
    ],
)
def test_follow_side_filter(follow_side: str, trade_side: str, accepted: bool) -> None:
    # Trades carry BUY/SELL upper case; follows store buy/sell/both lower case.
    assert make_follow(side=follow_side).accepts(make_trade(side=trade_side)) is accepted


def test_follow_min_usd_is_inclusive() -> None:
    follow = make_follow(min_usd=250)
    assert follow.accepts(usd_trade(250))
    assert follow.accepts(usd_trade(10_000))
    assert not follow.accepts(usd_trade(249.99))


def test_follow_ignores_trades_older_than_itself_beyond_the_tolerance() -> None:
    # A backfill right after /follow must not dump the trader's history into the channel, but a
    # fill from the last minute (clock skew, stream lag) still counts.
    follow = make_follow()
    assert follow.accepts(make_trade(ts=CREATED - BACKDATE_TOLERANCE))
    assert follow.accepts(make_trade(ts=CREATED))
    assert not follow.accepts(make_trade(ts=CREATED - BACKDATE_TOLERANCE - 1))
    assert not follow.accepts(make_trade(ts=CREATED - 86_400))


# ---- WhaleWatch.accepts --------------------------------------------------------------------------


def test_whale_min_usd_is_inclusive() -> None:
    whale = make_whale(min_usd=1000)
    assert whale.accepts(usd_trade(1000))
    assert not whale.accepts(usd_trade(999.99))


def test_near_certain_trades_are_skipped_unless_asked_for() -> None:
    # Buying 99¢ shares is size without conviction: noise for a whale channel by default.
    near = make_trade(size=10_000, price=NEAR_CERTAIN_PRICE)
    almost = make_trade(size=10_000, price=0.9499)
    assert not make_whale().accepts(near)
    assert make_whale().accepts(almost)
    assert make_whale(near=True).accepts(near)
    assert make_whale(near=True).accepts(make_trade(size=10_000, price=0.999))


# ---- FollowService.targets ----------------------------------------------------------------------


def test_follow_wins_over_a_whale_watch_in_the_same_channel() -> None:
    svc = service([make_follow(id=7, channel_id=10)], [make_whale(channel_id=10, min_usd=100)])
    assert svc.targets(usd_trade(5000)) == [Target(10, 1, "follow", 7)]


def test_whale_watch_catches_what_the_channels_follow_filters_out() -> None:
    # The follow wants sells only; the buy is still a whale trade for that channel.
    svc = service(
        [make_follow(channel_id=10, side="sell")], [make_whale(channel_id=10, min_usd=100)]
    )
    assert svc.targets(usd_trade(5000, side="BUY")) == [Target(10, 1, "whale", None)]


def test_one_target_per_channel_across_follows_and_whales() -> None:
    svc = service(
        [make_follow(id=1, channel_id=10), make_follow(id=2, channel_id=11)],
        [make_whale(channel_id=10, min_usd=100), make_whale(channel_id=20, min_usd=100)],
    )
    targets = svc.targets(usd_trade(5000))
    assert sorted(targets, key=lambda t: t.channel_id) == [
        Target(10, 1, "follow", 1),
        Target(11, 1, "follow", 2),
        Target(20, 1, "whale", None),
    ]
    assert len({t.channel_id for t in targets}) == len(targets)


def test_unfollowed_wallet_only_reaches_whale_channels_above_their_own_minimum() -> None:
    svc = service(
        [make_follow(channel_id=10)],
        [make_whale(channel_id=20, min_usd=1000), make_whale(channel_id=30, min_usd=5000)],
    )
    assert svc.targets(usd_trade(500, wallet=OTHER)) == []
    assert svc.targets(usd_trade(2000, wallet=OTHER)) == [Target(20, 1, "whale", None)]
    assert {t.channel_id for t in svc.targets(usd_trade(5000, wallet=OTHER))} == {20, 30}


def test_disabled_follows_and_watches_are_not_indexed() -> None:
    svc = service(
        [make_follow(channel_id=10, enabled=False)],
        [make_whale(channel_id=20, min_usd=100, enabled=False)],
    )
    assert svc.targets(usd_trade(5000)) == []
    assert not svc.is_followed(WALLET)
    assert svc.whale_min == math.inf


# ---- FollowService.wants (the per-platform-trade hot path) ---------------------------------------


def test_wants_nothing_without_follows_or_watches() -> None:
    svc = service()
    assert svc.whale_min == math.inf  # no watch: no amount is a whale
    assert not svc.wants(WALLET, 1e12)
    assert svc.followed_wallets() == []


def test_wants_every_trade_of_a_followed_wallet_whatever_its_size() -> None:
    # wants() is a cheap superset: the writer stores it, targets() applies the filters later.
    svc = service([make_follow(min_usd=10_000, side="sell")])
    assert svc.wants(WALLET, 0.0)
    assert not svc.wants(OTHER, 9_999.0)
    # The stream lowercases wallets before asking; the index is keyed lower case.
    assert not svc.wants(WALLET.upper().replace("0X", "0x"), 0.0)


def test_wants_whale_trades_from_the_smallest_enabled_minimum() -> None:
    svc = service(
        [],
        [
            make_whale(channel_id=20, min_usd=5000),
            make_whale(channel_id=21, min_usd=1000),
            make_whale(channel_id=22, min_usd=10, enabled=False),
        ],
    )
    assert svc.whale_min == 1000
    assert svc.wants(OTHER, 1000)
    assert not svc.wants(OTHER, 999.99)


def test_wants_agrees_with_targets() -> None:
    # Anything that has a target must be wanted, or the stream would drop an alert.
    svc = service(
        [make_follow(channel_id=10, min_usd=50)],
        [make_whale(channel_id=20, min_usd=300), make_whale(channel_id=21, min_usd=800)],
    )
    for wallet in (WALLET, OTHER):
        for usd in (1, 49, 50, 299, 300, 799, 800, 5000):
            trade = usd_trade(usd, wallet=wallet)
            if svc.targets(trade):
                assert svc.wants(wallet, trade.usd), (wallet, usd)


def test_category_filters_on_follows_and_whales() -> None:
    sports = frozenset({"sports"})
    follow = Follow(
        id=1, guild_id=1, channel_id=10, wallet=WALLET, label="", min_usd=0.0, side="both",
        created_at=CREATED, category="sports",
    )  # fmt: skip
    whale = WhaleWatch(20, 1, 1000.0, False, category="crypto")
    svc = service([follow], [whale])
    assert [t.channel_id for t in svc.targets(usd_trade(5000), sports)] == [10]
    assert [t.channel_id for t in svc.targets(usd_trade(5000), frozenset({"crypto"}))] == [20]
    assert svc.targets(usd_trade(5000)) == []  # a market of no known category matches neither
    assert svc.filters_by_category(usd_trade(10))  # the followed wallet's follow has a category
    assert svc.filters_by_category(usd_trade(1000, wallet=OTHER))  # whale-sized, whale has one
    assert not svc.filters_by_category(usd_trade(999, wallet=OTHER))


def test_whale_thresholds_in_any_order_and_the_category_threshold_follow_changes() -> None:
    # Watches are walked by threshold (a trade stops at the first it is too small for), and
    # "could a category decide this?" is the smallest category-filtered threshold: both are
    # worked out when the watches change, so they must follow every change.
    svc = service(
        [],
        [
            make_whale(channel_id=30, min_usd=5000),
            make_whale(channel_id=20, min_usd=100),
            WhaleWatch(40, 1, 2000.0, False, category="crypto"),
        ],
    )
    crypto = frozenset({"crypto"})
    assert svc.whale_min == 100
    assert {t.channel_id for t in svc.targets(usd_trade(99, wallet=OTHER), crypto)} == set()
    assert {t.channel_id for t in svc.targets(usd_trade(1999, wallet=OTHER), crypto)} == {20}
    assert {t.channel_id for t in svc.targets(usd_trade(2000, wallet=OTHER), crypto)} == {20, 40}
    assert {t.channel_id for t in svc.targets(usd_trade(5000, wallet=OTHER), crypto)} == {
        20,
        30,
        40,
    }
    assert not svc.filters_by_category(usd_trade(1999, wallet=OTHER))
    assert svc.filters_by_category(usd_trade(2000, wallet=OTHER))

    svc.index_whales(45, WhaleWatch(45, 1, 500.0, False, category="sports"))
    assert svc.filters_by_category(usd_trade(500, wallet=OTHER))
    svc.index_whales(45, None)
    svc.index_whales(40, None)
    assert not svc.filters_by_category(usd_trade(1e9, wallet=OTHER))
    svc.index_whales(20, None)
    assert svc.whale_min == 5000
    assert svc.targets(usd_trade(4999, wallet=OTHER)) == []


# ---- incremental index changes -------------------------------------------------------------------


def test_changes_touch_only_their_entries_and_keep_the_index_consistent() -> None:
    other_channel = make_follow(id=2, channel_id=11, wallet=OTHER)
    svc = service([make_follow(), make_follow(id=3, channel_id=11), other_channel], [make_whale()])

    svc.unindex_channel(11)  # a channel that went away: its follows and nothing else
    assert [f.channel_id for f in svc.follows_of(WALLET)] == [10]
    assert not svc.is_followed(OTHER)
    assert svc.whale_min == 1000.0

    svc.index_follow(make_follow(id=4, channel_id=12, wallet=OTHER, min_usd=50))
    svc.index_follow(make_follow(id=4, channel_id=12, wallet=OTHER, min_usd=75))  # an edit
    assert [f.min_usd for f in svc.follows_of(OTHER)] == [75]
    svc.index_follow(make_follow(id=4, channel_id=12, wallet=OTHER, enabled=False))
    assert not svc.is_followed(OTHER)

    svc.unindex_follow(10, WALLET)
    assert svc.followed_wallets() == []
    svc.unindex_channel(20)  # the whale watch's channel
    assert svc.whale_min == math.inf
    assert svc._by_channel == {}  # nothing left behind for channels without follows


def test_a_whale_watch_made_after_a_trade_does_not_alert_it() -> None:
    """A whale-sized fill recovered from before the watch existed is history, not an alert."""
    watch = WhaleWatch(
        channel_id=20, guild_id=1, min_usd=100, include_near_certain=False, created_at=CREATED
    )
    assert watch.accepts(usd_trade(500, ts=CREATED + 5))
    assert watch.accepts(usd_trade(500, ts=CREATED - BACKDATE_TOLERANCE))
    assert not watch.accepts(usd_trade(500, ts=CREATED - 3600))

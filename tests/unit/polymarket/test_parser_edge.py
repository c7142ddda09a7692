"""The parser edge: text PostgreSQL and Discord can take, and only values that can be true.

Each case is one upstream has really sent: a market title with half an emoji (a lone surrogate
escape), a price of 500¢ or 1e307, a 309-digit share count, a date in 2100.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.polymarket.data_api import parse_rows
from bot.polymarket.http import UpstreamError
from bot.polymarket.records import (
    Activity,
    ClosedPosition,
    LeaderboardRow,
    Market,
    RecordError,
    RecordRejected,
    Trade,
    to_str,
)
from bot.polymarket.rejections import Rejections
from bot.polymarket.stream import TradeStream, parse_frame
from tests.conftest import FIXTURES

WALLET = "0x" + "ab" * 20
TRADE: dict[str, Any] = json.loads((FIXTURES / "rtds_trade_message.json").read_text())["payload"]
BROKEN_TITLE = "Will \\ud83d win?"  # JSON text: an escaped high surrogate with no low half


def trade(**changes: Any) -> dict[str, Any]:
    return dict(TRADE, proxyWallet=WALLET, **changes)


def frame_text(payload: dict[str, Any], title_json: str | None = None) -> str:
    text = json.dumps({"topic": "activity", "type": "trades", "payload": payload})
    if title_json is not None:  # splice raw JSON (json.dumps would escape the backslash)
        text = text.replace('"__TITLE__"', f'"{title_json}"')
    return text


def test_text_is_cleaned_of_lone_surrogates_and_nul() -> None:
    assert to_str("Will \ud83d win?") == "Will \ufffd win?"
    assert to_str("\ud83d\ude00 ok") == "😀 ok"  # a proper pair stays one emoji
    assert to_str("a\x00b") == "ab"
    assert to_str("plain") == "plain" and to_str(None) == ""
    parsed = Trade.from_api(
        json.loads(frame_text(trade(title="__TITLE__"), BROKEN_TITLE))["payload"]
    )
    parsed.title.encode("utf-8")  # storable and sendable
    assert parsed.title == "Will \ufffd win?"


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({"price": 5.0}, "price"),  # "500¢"
        ({"price": 1e307}, "price"),
        ({"size": 1e308}, "size"),  # the 309-digit share count
        ({"size": 9e9, "price": 0.99, "asset": "1"}, "usd"),
        ({"timestamp": 4_102_444_800}, "timestamp"),  # 2100-01-01
        ({"timestamp": 4_102_444_800_000}, "timestamp"),  # the same in milliseconds
        ({"timestamp": 1e20}, "timestamp"),
        ({"timestamp": -5}, "timestamp"),
    ],
)
def test_impossible_trade_values_are_rejected_by_kind(changes: dict[str, Any], kind: str) -> None:
    with pytest.raises(RecordRejected) as info:
        Trade.from_api(trade(**changes))
    assert info.value.kind == kind


def test_possible_extremes_pass_and_a_missing_time_is_now() -> None:
    assert Trade.from_api(trade(price=1.0)).price == 1.0
    assert Trade.from_api(trade(price=0.001, size=5e6)).size == 5e6
    before = time.time()
    assert Trade.from_api(trade(timestamp=None)).timestamp >= before
    milliseconds = Trade.from_api(trade(timestamp=1_760_000_000_000)).timestamp
    assert milliseconds == 1_760_000_000


def test_other_records_are_bounded_too() -> None:
    with pytest.raises(RecordRejected):
        LeaderboardRow.from_api({"proxyWallet": WALLET, "pnl": 1e300, "vol": 1})
    with pytest.raises(RecordRejected):
        Activity.from_api({"proxyWallet": WALLET, "timestamp": 4_102_444_800, "type": "TRADE"})
    with pytest.raises(RecordRejected):
        ClosedPosition.from_api({"proxyWallet": WALLET, "avgPrice": 3, "timestamp": 1.7e9})
    # a market is not hidden for one absurd number: the number becomes unknown
    gamma = json.loads((FIXTURES / "gamma_market.json").read_text())
    odd = Market.from_gamma(dict(gamma, outcomePrices='["7", "0.4"]', volumeNum=1e300))
    assert odd.prices[0] == -1.0 and odd.prices[1] == 0.4 and odd.volume == 0.0


def test_parse_rows_counts_rejections_and_refuses_the_wrong_shape() -> None:
    rejections = Rejections()
    good = {"proxyWallet": WALLET, "pnl": 10, "vol": 100}
    rows = parse_rows(
        "data:/v1/leaderboard",
        [good, {"proxyWallet": None}, {"pnl": 1e300, "proxyWallet": WALLET}],
        LeaderboardRow.from_api,
        rejections,
    )
    assert len(rows) == 1
    assert rejections.counts == {"malformed": 1, "usd": 1}
    assert parse_rows("data:/v1/leaderboard", [], LeaderboardRow.from_api, rejections) == []
    for wrong in ([[good]], [dict.fromkeys(good)], [None, None], {"rows": [good]}):
        with pytest.raises(UpstreamError):
            parse_rows("data:/v1/leaderboard", wrong, LeaderboardRow.from_api, rejections)


class Consumer:
    async def __call__(self, _trade: Trade) -> None:  # pragma: no cover - not awaited here
        return None


def test_the_stream_keeps_a_frame_with_a_broken_emoji_and_counts_poison_apart() -> None:
    rejections = Rejections()
    stream = TradeStream("ws://unused", Consumer(), lambda w, u: True, rejections=rejections)
    kept = stream.process_frame(frame_text(trade(title="__TITLE__"), BROKEN_TITLE))
    assert kept is not None and kept.title == "Will \ufffd win?"
    assert parse_frame(frame_text(trade(title="__TITLE__"), BROKEN_TITLE)) is not None
    for poison in (trade(price=5.0), trade(size=1e308), trade(timestamp=4_102_444_800)):
        assert stream.process_frame(frame_text(poison)) is None
    assert stream.stats.junk == 0 and stream.stats.rejected == 3
    assert rejections.counts == {"price": 1, "size": 1, "timestamp": 1}
    with pytest.raises(RecordError):
        Trade.from_api(trade(price=0))

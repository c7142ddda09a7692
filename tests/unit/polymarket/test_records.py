"""Parsing of every Data API fixture this slice uses, in both v1 and v2 spellings."""

from __future__ import annotations

import json

import pytest

from bot.polymarket.data_api import parse_rows
from bot.polymarket.http import UpstreamError
from bot.polymarket.records import (
    Activity,
    ClosedPosition,
    LeaderboardRow,
    Position,
    RecordError,
    normalize_wallet,
    to_float,
    to_timestamp,
)
from tests.conftest import FIXTURES


def load(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text())


def test_live_v1_leaderboard_rows() -> None:
    rows = [LeaderboardRow.from_api(r) for r in load("data_leaderboard.json")]
    first, second = rows
    assert first.rank == 1  # "1" as a string upstream
    assert first.wallet == "0xfe787d2da716d60e8acff57fb87eb13cd4d10319"
    assert first.user_name == "ferrariChampions2026"
    assert first.volume == pytest.approx(52656603.277074985)
    assert first.pnl == pytest.approx(406988.5809159999)
    assert first.profile_image == "" and first.verified is False
    assert second.x_username == "RN1polymarket"


def test_docs_example_with_placeholder_rank() -> None:
    (row,) = [LeaderboardRow.from_api(r) for r in load("data_leaderboard_docs_example.json")]
    assert row.rank == 0  # "<string>" is not a number: defaults instead of crashing
    assert row.volume == 123 and row.verified is True


def test_v2_leaderboard_spelling() -> None:
    rows = [LeaderboardRow.from_api(r) for r in load("data_leaderboard_v2.json")]
    assert rows[0].wallet == "0x31e5d54aded22aa7cd80dbe9e33102abe2504879"
    assert rows[0].volume == pytest.approx(1491184.383039)
    assert rows[0].user_name == "Noprajsk" and rows[0].rank == 1


def test_v2_positions() -> None:
    rows = [Position.from_api(r) for r in load("data_positions_v2.json")]
    assert rows[0].asset.startswith("9447682920160440846")  # token ids stay strings
    assert rows[0].size == 400000.0 and rows[0].avg_price == 0.5
    assert rows[0].cash_pnl == 101800.0 and rows[1].cash_pnl == -101800.0
    assert rows[0].outcome == "No"


def test_v1_position_camel_case_with_string_numbers() -> None:
    row = Position.from_api(
        {
            "proxyWallet": "0x56687BF447DB6FFA42FFE2204A05EDAA20F55839",
            "asset": "123",
            "conditionId": "0x" + "a" * 64,
            "size": "10.5",
            "avgPrice": "0.4",
            "initialValue": 4.2,
            "currentValue": "5.25",
            "cashPnl": "1.05",
            "curPrice": 0.5,
            "title": "T",
        }
    )
    assert row.wallet == "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
    assert row.size == 10.5 and row.cash_pnl == pytest.approx(1.05)
    assert row.slug == "" and row.outcome == ""  # missing optional fields


def test_v2_activity_and_trades() -> None:
    acts = [Activity.from_api(r) for r in load("data_activity_v2.json")]
    assert acts[0].timestamp == 1788886609 and acts[0].side == "BUY"
    assert acts[0].usdc_size == pytest.approx(13.285715)
    trades = [Activity.from_api(r) for r in load("data_trades_v2.json")]
    assert trades[1].side == "SELL" and trades[1].type == "TRADE"


def test_closed_position_timestamp_in_ms_is_normalised() -> None:
    row = ClosedPosition.from_api(
        {"proxyWallet": "0x" + "1" * 40, "realizedPnl": "-3.5", "timestamp": 1787102287053}
    )
    assert row.timestamp == pytest.approx(1787102287.053)
    assert row.realized_pnl == -3.5


@pytest.mark.parametrize("bad", [None, "", "0x123", "0x" + "g" * 40, 12345, "ferrari"])
def test_malformed_wallets_are_record_errors(bad: object) -> None:
    with pytest.raises(RecordError):
        normalize_wallet(bad)


def test_number_coercion_is_defensive() -> None:
    assert to_float("nan") == 0.0 and to_float("inf") == 0.0
    assert to_float("abc", 7.0) == 7.0 and to_float(True) == 0.0
    assert to_timestamp("1787102287") == 1787102287


def test_parse_rows_skips_bad_rows_and_rejects_non_arrays() -> None:
    good = load("data_leaderboard.json")
    rows = parse_rows(
        "x", [good[0], {"proxyWallet": "nope"}, "junk", good[1]], LeaderboardRow.from_api
    )
    assert [r.rank for r in rows] == [1, 2]
    assert parse_rows("x", {"data": good}, LeaderboardRow.from_api)[0].rank == 1  # v2 envelope
    with pytest.raises(UpstreamError):
        parse_rows("x", {"error": "bad"}, LeaderboardRow.from_api)

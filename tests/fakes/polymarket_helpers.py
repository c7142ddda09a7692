"""Helpers shared by the self-tests of the Polymarket fake (``tests/fakes/test_fake_*.py``).

Why those tests exist: if the fake drifts from the real wire format or its faults stop firing,
every test built on it would pass for the wrong reason. The ``fake`` and ``session`` fixtures are
in ``tests/fakes/conftest.py``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.polymarket import FakeMarket, FakePolymarket, FakeTrader

LEADERBOARD_KEYS = {
    "rank", "proxyWallet", "userName", "xUsername", "verifiedBadge", "vol", "pnl", "profileImage",
}  # fmt: skip

POSITION_KEYS = {
    "proxyWallet", "asset", "conditionId", "size", "avgPrice", "initialValue", "currentValue",
    "cashPnl", "percentPnl", "totalBought", "realizedPnl", "percentRealizedPnl", "curPrice",
    "redeemable", "mergeable", "title", "slug", "icon", "eventSlug", "outcome", "outcomeIndex",
    "oppositeOutcome", "oppositeAsset", "endDate", "negativeRisk", "eventId",
}  # fmt: skip

CLOSED_KEYS = {
    "proxyWallet", "asset", "conditionId", "avgPrice", "totalBought", "realizedPnl", "curPrice",
    "timestamp", "title", "slug", "icon", "eventSlug", "outcome", "outcomeIndex",
    "oppositeOutcome", "oppositeAsset", "endDate",
}  # fmt: skip

ACTIVITY_KEYS = {
    "proxyWallet", "timestamp", "conditionId", "type", "size", "usdcSize", "transactionHash",
    "price", "asset", "side", "outcomeIndex", "title", "slug", "icon", "eventSlug", "outcome",
    "name", "pseudonym", "bio", "profileImage", "profileImageOptimized",
}  # fmt: skip

TRADE_KEYS = {
    "proxyWallet", "side", "asset", "conditionId", "size", "price", "timestamp", "title", "slug",
    "icon", "eventSlug", "outcome", "outcomeIndex", "name", "pseudonym", "bio", "profileImage",
    "profileImageOptimized", "transactionHash",
}  # fmt: skip

LOWER_WALLET = re.compile(r"^0x[0-9a-f]{40}$")

UNKNOWN_WALLET = "0x" + "ab" * 20

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket"


async def get(
    session: aiohttp.ClientSession, fake: FakePolymarket, path: str, **params: Any
) -> tuple[int, Any]:
    """GET and decode; JSON 200s and 4xxs are the cases these tests read."""
    query = {k: str(v) for k, v in params.items()}
    async with session.get(fake.base_url + path, params=query) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def until(condition: Callable[[], bool], within: float = 2.0) -> None:
    """Poll ``condition``: the fake's counters are plain attributes with no event to await."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def a_trader(fake: FakePolymarket, kind: str = "regular") -> FakeTrader:
    return next(t for t in fake.traders.values() if t.kind == kind)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def same_json_types(ours: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """Keys both objects carry whose JSON types differ (int and float both count as number)."""

    def kind(value: Any) -> str:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        return type(value).__name__

    return [
        key
        for key, value in live.items()
        if key in ours and value is not None and kind(ours[key]) != kind(value)
    ]


async def get_pairs(
    session: aiohttp.ClientSession, fake: FakePolymarket, path: str, params: Sequence[tuple]
) -> tuple[int, Any]:
    """GET with repeated query parameters (``slug=a&slug=b``)."""
    query = [(k, str(v)) for k, v in params]
    async with session.get(fake.base_url + path, params=query) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


def open_position(fake: FakePolymarket) -> dict[str, Any]:
    return next(p for t in fake.traders.values() for p in t.positions if not p["redeemable"])


def live_markets(fake: FakePolymarket) -> list[FakeMarket]:
    return [m for m in fake.markets if not m.closed]

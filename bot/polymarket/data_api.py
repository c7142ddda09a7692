"""Data API v1 client: the only place that knows its paths and parameters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from bot.polymarket.http import PolymarketHTTP, UpstreamError
from bot.polymarket.records import (
    Activity,
    ClosedPosition,
    LeaderboardRow,
    Position,
    RecordError,
    RecordRejected,
    Trade,
)
from bot.polymarket.rejections import Rejections

log = logging.getLogger(__name__)

R = TypeVar("R")

ORDERS = ("PNL", "VOL")
LEADERBOARD_PAGE = 50  # the API never returns more rows per page
LEADERBOARD_MAX_OFFSET = 1000


def parse_rows(
    endpoint: str,
    body: Any,
    parse: Callable[[dict[str, Any]], R],
    rejections: Rejections | None = None,
) -> list[R]:
    """Parse a bare-array body row by row; a bad row is skipped and counted, not fatal.

    Valid JSON of the wrong shape is a failed call (``UpstreamError``), never an empty answer:
    a body that is not an array, or an array of rows none of which is usable (``[[…]]``,
    all-null rows). Only ``[]`` means "nothing"; the caller decides whether that is believable
    (a leaderboard that had rows a minute ago is not)."""
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        body = body["data"]  # the v2 envelope, should a base URL point at v2
    if not isinstance(body, list):
        raise UpstreamError(endpoint, f"expected a JSON array, got {type(body).__name__}")
    rows: list[R] = []
    for item in body:
        try:
            if not isinstance(item, dict):
                raise RecordError(f"a row is a {type(item).__name__}, not an object")
            rows.append(parse(item))
        except RecordError as exc:
            kind = exc.kind if isinstance(exc, RecordRejected) else "malformed"
            if rejections is not None:
                rejections.add(kind, endpoint, str(exc))
    skipped = len(body) - len(rows)
    if skipped and not rows:
        raise UpstreamError(endpoint, f"wrong shape: none of the {len(body)} rows is usable")
    if skipped and rejections is None:
        log.warning("%s: skipped %d malformed rows of %d", endpoint, skipped, len(body))
    return rows


class DataAPI:
    def __init__(self, http: PolymarketHTTP) -> None:
        self._http = http

    async def leaderboard_page(
        self,
        period: str,
        order: str,
        *,
        limit: int = LEADERBOARD_PAGE,
        offset: int = 0,
        category: str = "overall",
    ) -> list[LeaderboardRow]:
        body = await self._http.get_json(
            "data",
            "/v1/leaderboard",
            {
                "timePeriod": period.upper(),
                "orderBy": order,
                "limit": limit,
                "offset": offset,
                "category": category.upper(),
            },
        )
        return parse_rows(
            "data:/v1/leaderboard", body, LeaderboardRow.from_api, self._http.rejections
        )

    async def leaderboard(
        self, period: str, order: str, total: int, *, category: str = "overall"
    ) -> list[LeaderboardRow]:
        """Up to ``total`` rows, paged 50 at a time; stops early at a short page."""
        rows: list[LeaderboardRow] = []
        offset = 0
        while len(rows) < total and offset <= LEADERBOARD_MAX_OFFSET:
            limit = min(LEADERBOARD_PAGE, total - len(rows))
            page = await self.leaderboard_page(
                period, order, limit=limit, offset=offset, category=category
            )
            rows.extend(page)
            if len(page) < limit:
                break
            offset += limit
        return rows

    async def positions(self, wallet: str, *, limit: int = 100) -> list[Position]:
        body = await self._http.get_json(
            "data", "/positions", {"user": wallet, "limit": limit, "sizeThreshold": 1}
        )
        return parse_rows("data:/positions", body, Position.from_api, self._http.rejections)

    async def closed_positions(
        self, wallet: str, *, limit: int = 50, offset: int = 0
    ) -> list[ClosedPosition]:
        """The most recent closed positions: recency matters more than the biggest ones."""
        body = await self._http.get_json(
            "data",
            "/closed-positions",
            {
                "user": wallet,
                "limit": limit,
                "offset": offset,
                "sortBy": "TIMESTAMP",
                "sortDirection": "DESC",
            },
        )
        return parse_rows(
            "data:/closed-positions", body, ClosedPosition.from_api, self._http.rejections
        )

    async def activity(self, wallet: str, *, limit: int = 100, offset: int = 0) -> list[Activity]:
        body = await self._http.get_json(
            "data",
            "/activity",
            {
                "user": wallet,
                "limit": limit,
                "offset": offset,
                "type": "TRADE",
                "sortBy": "TIMESTAMP",
                "sortDirection": "DESC",
            },
        )
        return parse_rows("data:/activity", body, Activity.from_api, self._http.rejections)

    async def trades(
        self,
        *,
        user: str | None = None,
        since: float | None = None,
        cash_at_least: float | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> list[Trade]:
        """Fills, newest first: one wallet's (``user``) or the platform's, maker fills included
        (``takerOnly=false``, as the stream sends them), from ``since`` (epoch seconds) on, and
        at least ``cash_at_least`` dollars each when given (``filterType=CASH``)."""
        params: dict[str, Any] = {"limit": limit, "offset": offset, "takerOnly": "false"}
        if user is not None:
            params["user"] = user
        if since is not None:
            params["start"] = int(since)
        if cash_at_least is not None:
            params["filterType"] = "CASH"
            params["filterAmount"] = f"{cash_at_least:.2f}"
        body = await self._http.get_json("data", "/trades", params)
        return parse_rows("data:/trades", body, Trade.from_api, self._http.rejections)

"""The CLOB read routes: order books, midpoints, prices, price history, and markets by condition id.

Shapes follow the captures in tests/fixtures/polymarket/ (``clob_market.json``, ``clob_book.json``):
book levels worst first (the best level is last), prices as strings, snake_case markets whose
``tokens[].winner`` marks the resolved outcome. A resolved market has no book: ``/book``,
``/midpoint`` and ``/price`` answer 404, and its ``/prices-history`` stops at the resolution.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tests.fakes.polymarket.markets import (
    FakeMarket,
    Row,
    book_levels,
    current_price,
    description,
    fmt_price,
)
from tests.fakes.polymarket.params import (
    CONDITION_RE,
    BadRequest,
    NotFound,
    query_choice,
    query_int,
)

if TYPE_CHECKING:
    from tests.fakes.polymarket.world import World

# CLOB /prices-history ``interval`` values and the window each covers (None: since creation).
HISTORY_INTERVALS: dict[str, int | None] = {
    "1h": 3600,
    "6h": 6 * 3600,
    "1d": 86_400,
    "1w": 7 * 86_400,
    "1m": 30 * 86_400,
    "max": None,
    "all": None,
}
HISTORY_MAX_POINTS = 20_000  # finer requests are coarsened so one answer stays small


class ClobApi:
    """The CLOB routes over one world's markets."""

    def __init__(self, world: World) -> None:
        self.world = world

    def _book_for(self, query: Mapping[str, str]) -> tuple[FakeMarket, int]:
        token = query.get("token_id", "")
        if not token.isdigit():
            raise BadRequest("Invalid token id")
        hit = self.world.markets_by_token.get(token)
        if hit is None or hit[0].closed:
            raise NotFound("No orderbook exists for the requested token id")
        return hit

    def book(self, query: Mapping[str, str]) -> Row:
        """Order book with the live quirk: both sides worst-first, so the best level is last."""
        market, index = self._book_for(query)
        mid = market.prices[index]
        bids, asks = book_levels(mid)
        size = zlib.crc32(market.token_ids[index].encode()) % 900 + 100
        return {
            "market": market.condition_id,
            "asset_id": market.token_ids[index],
            "timestamp": str(int(time.time() * 1000)),
            "hash": f"{zlib.crc32(market.slug.encode()):08x}" * 5,
            "bids": [{"price": f"{p:g}", "size": f"{size + 7 * n}.00"} for n, p in enumerate(bids)],
            "asks": [{"price": f"{p:g}", "size": f"{size + 5 * n}.00"} for n, p in enumerate(asks)],
            "min_order_size": "5",
            "tick_size": "0.01",
            "neg_risk": market.neg_risk,
            "last_trade_price": fmt_price(mid),
        }

    def midpoint(self, query: Mapping[str, str]) -> Row:
        market, index = self._book_for(query)
        return {"mid": fmt_price(market.prices[index])}

    def price(self, query: Mapping[str, str]) -> Row:
        side = query.get("side", "")
        if side not in ("BUY", "SELL"):
            raise BadRequest("Invalid side")
        market, index = self._book_for(query)
        mid = market.prices[index]
        price = mid - 0.01 if side == "BUY" else mid + 0.01
        return {"price": f"{min(0.999, max(0.001, price)):.3f}"}

    def market(self, condition_id: str, query: Mapping[str, str]) -> Row:
        """CLOB ``/markets/{condition_id}``: snake_case, ``tokens[].winner`` once resolved."""
        condition_id = condition_id.lower()
        if not CONDITION_RE.match(condition_id):
            raise BadRequest("Invalid condition id")
        market = self.world.markets_by_condition.get(condition_id)
        if market is None:
            raise NotFound("market not found")
        closed = market.closed
        return {
            "enable_order_book": True,
            "active": True,
            "closed": closed,
            "archived": False,
            "accepting_orders": not closed,
            "accepting_order_timestamp": None,
            "minimum_order_size": 5,
            "minimum_tick_size": 0.01,
            "condition_id": market.condition_id,
            "question_id": market.question_id,
            "question": market.title,
            "description": description(market),
            "market_slug": market.slug,
            "end_date_iso": market.end_iso,
            "game_start_time": None,
            "seconds_delay": 0,
            "fpmm": "",
            "maker_base_fee": 0,
            "taker_base_fee": 0,
            "notifications_enabled": False,
            "neg_risk": market.neg_risk,
            "neg_risk_market_id": market.question_id if market.neg_risk else "",
            "neg_risk_request_id": "",
            "icon": market.icon,
            "image": market.icon,
            "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
            "is_50_50_outcome": False,
            "tokens": [
                {
                    "token_id": token,
                    "outcome": outcome,
                    "price": current_price(market, index),
                    "winner": closed and market.winner == index,
                }
                for index, (token, outcome) in enumerate(
                    zip(market.token_ids, market.outcomes, strict=True)
                )
            ],
            "tags": ["All", *market.tags],
        }

    def prices_history(self, query: Mapping[str, str]) -> Row:
        """``/prices-history``: ``{"history": [{"t": s, "p": float}]}``, oldest first.

        ``market`` is a token id (400 when missing or not digits; unknown → empty history).
        ``interval`` (1h 6h 1d 1w 1m max all) and ``startTs``/``endTs`` are mutually exclusive;
        with neither, the whole life of the market. ``fidelity`` minutes between points
        (default 1; coarsened past :data:`HISTORY_MAX_POINTS`). A resolved market's series stops
        at its resolution, so an ``interval`` after that is empty, as live.
        """
        token = query.get("market", "")
        if not token:
            raise BadRequest("market is required")
        if not token.isdigit():
            raise BadRequest("Invalid market: expected a token id")
        interval = query_choice(query, "interval", HISTORY_INTERVALS, "")
        start = query_int(query, "startTs", -1, 0, 2**40)
        end = query_int(query, "endTs", -1, 0, 2**40)
        if interval and (start >= 0 or end >= 0):
            raise BadRequest("'interval' and 'startTs'/'endTs' are mutually exclusive")
        fidelity = query_int(query, "fidelity", 1, 1, 525_600)
        hit = self.world.markets_by_token.get(token)
        if hit is None:
            return {"history": []}
        now = int(time.time())
        if interval:
            span = HISTORY_INTERVALS[interval]
            low, high = (now - span if span is not None else 0), now
        else:
            low, high = max(start, 0), (end if end >= 0 else now)
        market, index = hit
        return {"history": self._price_walk(market, index, low, high, fidelity * 60, now)}

    def _price_walk(
        self, market: FakeMarket, index: int, low: int, high: int, step: int, now: int
    ) -> list[Row]:
        """A random walk on a ``step`` grid, drawn backwards from the current price.

        Each step hashes (token, step, time), so a repeated request gets the same points; the
        newest grid point (at or before now, or the resolution) carries the exact price.
        """
        anchor_time = market.closed_ts if market.closed else now
        low = max(low, market.start_ts)
        high = min(high, anchor_time)
        if high < low:
            return []
        if (anchor_time - low) // step + 1 > HISTORY_MAX_POINTS:
            step = math.ceil((anchor_time - low) / (HISTORY_MAX_POINTS - 1) / 60) * 60
        first = -(-low // step) * step
        last = high // step * step
        anchor = anchor_time // step * step
        price = current_price(market, index)
        token = market.token_ids[index]
        scale = 2 * min(0.05, 0.004 * math.sqrt(step / 60)) / 4_294_967_296
        crc = zlib.crc32
        points: list[Row] = []
        p = price
        t = anchor
        while t >= first:
            if t <= last:
                points.append({"t": t, "p": price if t == anchor else round(p, 4)})
            p += (crc(f"{token}:{step}:{t}".encode()) - 2_147_483_648) * scale
            if p < 0.001:
                p = 0.002 - p
            elif p > 0.999:
                p = 1.998 - p
            t -= step
        points.reverse()
        return points

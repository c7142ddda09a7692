"""The Data API v1 routes: leaderboard, positions, closed positions, activity, trades, value.

Shapes follow the real **v1** wire format (v1 captures:
tests/fixtures/polymarket/data_leaderboard.json and data_value.json; the ``*_v2.json`` captures
there show the same rows in snake_case): bare JSON arrays, camelCase keys, ``rank`` as a string,
lowercase ``proxyWallet`` in Data API rows, unix-second ``timestamp`` integers, ``{"error": "..."}``
bodies on 400/404. Limits are the live ones: at most 50 leaderboard rows a page whatever ``limit``
says, offsets capped (activity refuses past 3,000, earlier than its docs say), ``takerOnly`` trades
by default.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tests.fakes.polymarket.markets import Row
from tests.fakes.polymarket.params import (
    CONDITION_RE,
    BadRequest,
    query_bool,
    query_choice,
    query_float,
    query_int,
    query_user,
)
from tests.fakes.polymarket.traders import PERIODS, FakeTrader

if TYPE_CHECKING:
    from tests.fakes.polymarket.world import World

LEADERBOARD_CATEGORIES: frozenset[str] = frozenset(
    {
        "OVERALL", "POLITICS", "SPORTS", "ESPORTS", "CRYPTO", "CULTURE", "MENTIONS",
        "WEATHER", "ECONOMICS", "TECH", "FINANCE",
    }
)  # fmt: skip
ACTIVITY_TYPES: frozenset[str] = frozenset(
    {
        "TRADE", "SPLIT", "MERGE", "REDEEM", "REWARD", "CONVERSION", "MAKER_REBATE",
        "TAKER_REBATE", "REFERRAL_REWARD",
    }
)  # fmt: skip
# A trader with the (pnl, vol) by window it is ranked on (overall or one category's).
Ranked = tuple[FakeTrader, tuple[dict[str, float], dict[str, float]]]
LEADERBOARD_MAX_ROWS = 50  # real API: at most 50 rows per page whatever ``limit`` says
LEADERBOARD_MAX_OFFSET = 1000
ACTIVITY_MAX_OFFSET = 3000  # observed cap (docs say 10,000; live API refuses earlier, §1.4)

POSITION_SORTS: dict[str, Callable[[Row], Any]] = {
    "CURRENT": lambda r: r["currentValue"],
    "INITIAL": lambda r: r["initialValue"],
    "TOKENS": lambda r: r["size"],
    "CASHPNL": lambda r: r["cashPnl"],
    "PERCENTPNL": lambda r: r["percentPnl"],
    "TITLE": lambda r: r["title"],
    "RESOLVING": lambda r: r["endDate"],
    "PRICE": lambda r: r["curPrice"],
    "AVGPRICE": lambda r: r["avgPrice"],
}

CLOSED_SORTS: dict[str, Callable[[Row], Any]] = {
    "REALIZEDPNL": lambda r: r["realizedPnl"],
    "TITLE": lambda r: r["title"],
    "PRICE": lambda r: r["curPrice"],
    "AVGPRICE": lambda r: r["avgPrice"],
    "TIMESTAMP": lambda r: r["timestamp"],
}

ACTIVITY_SORTS: dict[str, Callable[[Row], Any]] = {
    "TIMESTAMP": lambda r: r["timestamp"],
    "TOKENS": lambda r: r["size"],
    "CASH": lambda r: r["usdcSize"],
}


class DataApi:
    """The Data API routes over one world's traders."""

    def __init__(self, world: World) -> None:
        self.world = world

    def _market_filter(self, query: Mapping[str, str]) -> Callable[[Row], bool] | None:
        """``market`` (condition ids) and ``eventId`` (ints) are comma lists, mutually exclusive."""
        markets = query.get("market")
        events = query.get("eventId")
        if markets and events:
            raise BadRequest("market and eventId are mutually exclusive")
        if markets:
            ids = {m.strip().lower() for m in markets.split(",") if m.strip()}
            if not ids or not all(CONDITION_RE.match(m) for m in ids):
                raise BadRequest("invalid market: expected 0x-prefixed 64-hex condition ids")
            return lambda row: row["conditionId"].lower() in ids
        if events:
            parts = [e.strip() for e in events.split(",") if e.strip()]
            if not parts or not all(p.isdigit() and int(p) >= 1 for p in parts):
                raise BadRequest("invalid eventId")
            wanted = {str(int(p)) for p in parts}

            def in_event(row: Row) -> bool:
                market = self.world.markets_by_condition.get(row["conditionId"])
                event_id = row.get("eventId") or (market.event_id if market else None)
                return event_id in wanted

            return in_event
        return None

    @staticmethod
    def _title_filter(query: Mapping[str, str]) -> Callable[[Row], bool] | None:
        title = query.get("title")
        if not title:
            return None
        if len(title) > 100:
            raise BadRequest("title must be at most 100 characters")
        needle = title.lower()
        return lambda row: needle in str(row.get("title", "")).lower()

    @staticmethod
    def _sorted_page(
        rows: Iterable[Row],
        filters: Iterable[Callable[[Row], bool] | None],
        key: Callable[[Row], Any],
        descending: bool,
        offset: int,
        limit: int,
    ) -> list[Row]:
        active = [f for f in filters if f is not None]
        kept = [r for r in rows if all(f(r) for f in active)]
        kept.sort(key=key, reverse=descending)
        return [dict(r) for r in kept[offset : offset + limit]]

    def _rows_of(self, user: str, attribute: str) -> list[Row]:
        trader = self.world.traders.get(user)
        return list(getattr(trader, attribute)) if trader is not None else []

    def leaderboard(self, query: Mapping[str, str]) -> list[Row]:
        period = query_choice(query, "timePeriod", PERIODS, "DAY")
        order = query_choice(query, "orderBy", ("PNL", "VOL"), "PNL")
        category = query_choice(query, "category", sorted(LEADERBOARD_CATEGORIES), "OVERALL")
        limit = query_int(query, "limit", 25, 1, LEADERBOARD_MAX_ROWS, clamp=True)
        offset = query_int(query, "offset", 0, 0, LEADERBOARD_MAX_OFFSET)
        user = query_user(query, required=False)
        user_name = query.get("userName") or None

        board = self.category_board(category, period, order)
        if user is not None or user_name is not None:
            return [
                t.leaderboard_row(period, rank, totals)
                for rank, (t, totals) in enumerate(board, start=1)
                if (user is None or t.wallet == user)
                and (user_name is None or t.user_name == user_name)
            ][:limit]
        page = board[offset : offset + limit]
        return [
            t.leaderboard_row(period, offset + n, totals) for n, (t, totals) in enumerate(page, 1)
        ]

    def category_board(self, category: str, period: str, order: str) -> list[Ranked]:
        """The whole ranking of one category (``OVERALL`` or a category in capitals): each
        trader with the (pnl, vol) it is ranked on. A category board ranks the PnL and volume
        of each trader's rows on that category's markets only; traders with none are left out.
        """
        traders = self.world.traders.values()
        ranked: list[Ranked]
        if category == "OVERALL":
            ranked = [(t, (t.pnl, t.vol)) for t in traders]
        else:
            name, now = category.lower(), self.world.now
            ranked = [(t, t.category_totals(name, self.world.category_of, now)) for t in traders]
        key = 1 if order == "VOL" else 0
        return sorted(
            (r for r in ranked if r[1][1].get(period, 0.0) > 0 or r[1][0].get(period, 0.0) != 0),
            key=lambda r: (-r[1][key].get(period, 0.0), r[0].wallet),
        )

    def positions(self, query: Mapping[str, str]) -> list[Row]:
        user = query_user(query, required=True)
        assert user is not None
        limit = query_int(query, "limit", 100, 0, 500)
        offset = query_int(query, "offset", 0, 0, 10_000)
        sort_by = query_choice(query, "sortBy", POSITION_SORTS, "TOKENS")
        direction = query_choice(query, "sortDirection", ("ASC", "DESC"), "DESC")
        threshold = query_float(query, "sizeThreshold", 1.0)
        redeemable = query_bool(query, "redeemable", False)
        mergeable = query_bool(query, "mergeable", False)
        filters = [
            self._market_filter(query),
            self._title_filter(query),
            lambda r: r["size"] >= (threshold or 0.0),
            (lambda r: bool(r["redeemable"])) if redeemable else None,
            (lambda r: bool(r["mergeable"])) if mergeable else None,
        ]
        return self._sorted_page(
            self._rows_of(user, "positions"),
            filters,
            POSITION_SORTS[sort_by],
            direction == "DESC",
            offset,
            limit,
        )

    def closed_positions(self, query: Mapping[str, str]) -> list[Row]:
        user = query_user(query, required=True)
        assert user is not None
        limit = query_int(query, "limit", 10, 0, 50)
        offset = query_int(query, "offset", 0, 0, 100_000)
        sort_by = query_choice(query, "sortBy", CLOSED_SORTS, "REALIZEDPNL")
        direction = query_choice(query, "sortDirection", ("ASC", "DESC"), "DESC")
        return self._sorted_page(
            self._rows_of(user, "closed_positions"),
            [self._market_filter(query), self._title_filter(query)],
            CLOSED_SORTS[sort_by],
            direction == "DESC",
            offset,
            limit,
        )

    def _time_filters(self, query: Mapping[str, str]) -> list[Callable[[Row], bool] | None]:
        start = query_int(query, "start", -1, 0, 2**53)
        end = query_int(query, "end", -1, 0, 2**53)
        side = query_choice(query, "side", ("BUY", "SELL"), "")
        return [
            (lambda r: r["timestamp"] >= start) if start >= 0 else None,
            (lambda r: r["timestamp"] <= end) if end >= 0 else None,
            (lambda r: r["side"] == side) if side else None,
        ]

    def activity(self, query: Mapping[str, str]) -> list[Row]:
        user = query_user(query, required=True)
        assert user is not None
        limit = query_int(query, "limit", 100, 0, 500)
        offset = query_int(query, "offset", 0, 0, ACTIVITY_MAX_OFFSET)
        sort_by = query_choice(query, "sortBy", ACTIVITY_SORTS, "TIMESTAMP")
        direction = query_choice(query, "sortDirection", ("ASC", "DESC"), "DESC")
        types_raw = query.get("type")
        types: set[str] | None = None
        if types_raw:
            types = {t.strip() for t in types_raw.split(",") if t.strip()}
            if not types or not types <= ACTIVITY_TYPES:
                raise BadRequest(f"invalid type: {types_raw!r}")
        filters = [
            self._market_filter(query),
            (lambda r: r["type"] in types) if types is not None else None,
            *self._time_filters(query),
        ]
        return self._sorted_page(
            self._rows_of(user, "activity"),
            filters,
            ACTIVITY_SORTS[sort_by],
            direction == "DESC",
            offset,
            limit,
        )

    @staticmethod
    def _trade_row(row: Row) -> Row:
        """An activity TRADE row re-keyed as a v1 ``/trades`` row (spec order, no usdcSize)."""
        return {
            "proxyWallet": row["proxyWallet"],
            "side": row["side"],
            "asset": row["asset"],
            "conditionId": row["conditionId"],
            "size": row["size"],
            "price": row["price"],
            "timestamp": row["timestamp"],
            "title": row["title"],
            "slug": row["slug"],
            "icon": row["icon"],
            "eventSlug": row["eventSlug"],
            "outcome": row["outcome"],
            "outcomeIndex": row["outcomeIndex"],
            "name": row.get("name", ""),
            "pseudonym": row.get("pseudonym", ""),
            "bio": row.get("bio", ""),
            "profileImage": row.get("profileImage", ""),
            "profileImageOptimized": row.get("profileImageOptimized", ""),
            "transactionHash": row["transactionHash"],
        }

    def trades(self, query: Mapping[str, str]) -> list[Row]:
        """Newest first; without ``user`` the platform-wide tape (all traders merged)."""
        user = query_user(query, required=False)
        limit = query_int(query, "limit", 100, 0, 10_000, clamp=True)
        offset = query_int(query, "offset", 0, 0, 10_000)
        taker_only = query_bool(query, "takerOnly", True)
        filter_type = query_choice(query, "filterType", ("CASH", "TOKENS"), "")
        filter_amount = query_float(query, "filterAmount", None)
        if bool(filter_type) != (filter_amount is not None):
            raise BadRequest("filterType and filterAmount must be given together")
        filters = [
            self._market_filter(query),
            *self._time_filters(query),
            lambda r: r["type"] == "TRADE",
        ]
        if filter_type == "CASH":
            filters.append(lambda r: r["size"] * r["price"] >= (filter_amount or 0.0))
        elif filter_type == "TOKENS":
            filters.append(lambda r: r["size"] >= (filter_amount or 0.0))
        active = [f for f in filters if f is not None]
        if user is None:
            traders = list(self.world.traders.values())
        else:
            traders = [self.world.traders[user]] if user in self.world.traders else []

        def rows_of(trader: FakeTrader) -> Iterator[Row]:
            hidden = trader.maker_tx if taker_only else frozenset()
            ordered = sorted(trader.activity, key=lambda r: r["timestamp"], reverse=True)
            for row in ordered:
                if row["transactionHash"] not in hidden and all(f(row) for f in active):
                    yield row

        merged = heapq.merge(
            *(rows_of(t) for t in traders), key=lambda r: r["timestamp"], reverse=True
        )
        return [self._trade_row(r) for r in itertools.islice(merged, offset, offset + limit)]

    def value(self, query: Mapping[str, str]) -> list[Row]:
        user = query_user(query, required=True)
        assert user is not None
        positions = self._rows_of(user, "positions")
        market = self._market_filter(query)
        if market is not None:
            positions = [p for p in positions if market(p)]
        if not positions:
            return []
        return [{"user": user, "value": sum(p["currentValue"] for p in positions)}]

    def traded(self, query: Mapping[str, str]) -> Row:
        user = query_user(query, required=True)
        assert user is not None
        trader = self.world.traders.get(user)
        if trader is None:
            return {"user": user, "traded": 0}
        rows = itertools.chain(trader.positions, trader.closed_positions, trader.activity)
        return {"user": user, "traded": len({r["conditionId"] for r in rows})}

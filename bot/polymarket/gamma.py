"""Gamma (market metadata, prices, search) and CLOB (midpoints, price history) clients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.polymarket.data_api import parse_rows
from bot.polymarket.http import PolymarketHTTP, UpstreamError
from bot.polymarket.records import Market, RecordError, to_float

SEARCH_LIMIT = 10


class GammaAPI:
    def __init__(self, http: PolymarketHTTP) -> None:
        self._http = http

    async def markets_by_condition(self, condition_ids: Sequence[str]) -> list[Market]:
        """Open markets come back by default; resolved ones only when asked with closed=true
        (§7 pitfall 8), so ids missing from the first answer are asked for again that way."""
        found: list[Market] = []
        missing = list(dict.fromkeys(condition_ids))
        for closed in ("false", "true"):
            if not missing:
                break
            body = await self._http.get_json(
                "gamma",
                "/markets",
                {"condition_ids": ",".join(missing), "closed": closed, "limit": len(missing)},
            )
            found.extend(
                parse_rows("gamma:/markets", body, Market.from_gamma, self._http.rejections)
            )
            seen = {m.condition_id for m in found}
            missing = [cid for cid in missing if cid not in seen]
        return found

    async def _found(self, path: str) -> Any:
        """The body at ``path``, or None when Gamma answers 404 (no such slug)."""
        try:
            return await self._http.get_json("gamma", path)
        except UpstreamError as exc:
            if exc.status == 404:
                return None
            raise

    async def market_by_slug(self, slug: str) -> Market | None:
        body = await self._found(f"/markets/slug/{slug}")
        if body is None:
            return None
        # A 200 that is not a market is a failed lookup, not "no such market" (only 404 is).
        if not isinstance(body, dict):
            raise UpstreamError("gamma:/markets/slug", "expected a market object")
        try:
            return Market.from_gamma(body)
        except RecordError as exc:
            raise UpstreamError("gamma:/markets/slug", f"wrong shape: {exc}") from None

    async def event_markets(self, event_slug: str) -> list[Market] | None:
        """The markets of the event at ``/event/<slug>`` (§2.4); None when there is no such
        event. Markets embedded in an event do not name it, so its slug is added to each."""
        body = await self._found(f"/events/slug/{event_slug}")
        if body is None:
            return None
        markets = body.get("markets") if isinstance(body, dict) else None
        if not isinstance(markets, list):
            raise UpstreamError("gamma:/events/slug", "expected an event with markets")
        slug = str(body.get("slug") or event_slug)
        rows = [dict(m, events=[{"slug": slug}]) for m in markets if isinstance(m, dict)]
        return parse_rows("gamma:/events/slug", rows, Market.from_gamma, self._http.rejections)

    async def search(self, query: str) -> list[Market]:
        """Markets whose question or event matches free text (open ones first)."""
        body = await self._http.get_json(
            "gamma",
            "/public-search",
            {"q": query, "limit_per_type": SEARCH_LIMIT, "keep_closed_markets": 1},
        )
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            raise UpstreamError("gamma:/public-search", "expected {events: [...]}")
        markets: list[Market] = []
        for event in events:
            if isinstance(event, dict) and isinstance(event.get("markets"), list):
                rows = [dict(m, events=[{"slug": event.get("slug", "")}]) for m in event["markets"]]
                markets.extend(
                    parse_rows(
                        "gamma:/public-search", rows, Market.from_gamma, self._http.rejections
                    )
                )
        markets.sort(key=lambda m: (m.closed, -m.volume))
        return markets


class ClobAPI:
    def __init__(self, http: PolymarketHTTP) -> None:
        self._http = http

    async def midpoint(self, token_id: str) -> float:
        body = await self._http.get_json("clob", "/midpoint", {"token_id": token_id})
        value = body.get("mid", body.get("mid_price")) if isinstance(body, dict) else None
        price = to_float(value, -1.0)
        if not 0.0 <= price <= 1.0:
            raise UpstreamError("clob:/midpoint", f"no midpoint in {str(body)[:80]}")
        return price

    async def book(self, token_id: str) -> dict[str, Any]:
        body = await self._http.get_json("clob", "/book", {"token_id": token_id})
        if not isinstance(body, dict):
            raise UpstreamError("clob:/book", "expected a book object")
        return body

"""A market's tags, icon and tick size: what category filters and alert cards need to know.

Gamma lists a market's tags when asked (``/markets?condition_ids=…&include_tag=true``: objects
with ``label`` and ``slug``; older markets also carry a ``category`` string). Markets Gamma does
not return open (resolved ones, §7 pitfall 8) are read from the CLOB's ``/markets/{condition
id}``, whose ``tags`` are plain strings (``clob_market.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.polymarket.http import PolymarketHTTP, UpstreamError
from bot.polymarket.records import CONDITION_RE, pick, to_float, to_str

MAX_TAGS = 50


def tag_names(raw: Any) -> tuple[str, ...]:
    """Lowercased labels and slugs of a tag list (objects or strings), duplicates dropped."""
    names: dict[str, None] = {}
    for tag in raw if isinstance(raw, list) else ():
        if isinstance(tag, dict):
            for key in ("slug", "label"):
                text = to_str(tag.get(key)).strip().lower()
                if text:
                    names[text] = None
        elif isinstance(tag, str) and tag.strip():
            names[tag.strip().lower()] = None
        if len(names) >= MAX_TAGS:
            break
    return tuple(names)


@dataclass(frozen=True, slots=True)
class MarketTags:
    condition_id: str
    tags: tuple[str, ...]
    icon: str
    tick_size: float | None

    @classmethod
    def from_gamma(cls, row: dict[str, Any]) -> MarketTags:
        tags = tag_names(row.get("tags"))
        category = to_str(row.get("category")).strip().lower()
        if category and category not in tags:
            tags = (*tags, category)
        tick = to_float(pick(row, "orderPriceMinTickSize"), 0.0)
        return cls(
            condition_id=to_str(pick(row, "conditionId", "condition_id")).lower(),
            tags=tags,
            icon=to_str(pick(row, "icon", "image")),
            tick_size=tick if 0 < tick < 1 else None,
        )

    @classmethod
    def from_clob(cls, row: dict[str, Any]) -> MarketTags:
        tick = to_float(row.get("minimum_tick_size"), 0.0)
        return cls(
            condition_id=to_str(row.get("condition_id")).lower(),
            tags=tag_names(row.get("tags")),
            icon=to_str(pick(row, "icon", "image")),
            tick_size=tick if 0 < tick < 1 else None,
        )


class MarketTagsAPI:
    def __init__(self, http: PolymarketHTTP) -> None:
        self._http = http

    async def market_tags(self, condition_id: str) -> MarketTags | None:
        """Tags of one market (Gamma first, the CLOB for markets Gamma lists only as closed);
        None when neither knows the market."""
        condition_id = condition_id.lower()
        if not CONDITION_RE.match(condition_id):
            return None
        body = await self._http.get_json(
            "gamma",
            "/markets",
            {"condition_ids": condition_id, "include_tag": "true", "limit": 1},
        )
        if not isinstance(body, list):
            raise UpstreamError("gamma:/markets", "expected a JSON array")
        for row in body:
            if isinstance(row, dict):
                found = MarketTags.from_gamma(row)
                if found.condition_id == condition_id:
                    return found
        try:
            market = await self._http.get_json("clob", f"/markets/{condition_id}")
        except UpstreamError as exc:
            if exc.status in (400, 404):
                return None
            raise
        if not isinstance(market, dict):
            raise UpstreamError("clob:/markets", "expected a market object")
        found = MarketTags.from_clob(market)
        return found if found.condition_id == condition_id else None

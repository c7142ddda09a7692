"""The Gamma routes: market lists (legacy and keyset), single markets by id or slug, and search.

Shapes follow the captures ``gamma_market*.json`` and ``gamma_public_search.json`` in
tests/fixtures/polymarket/: JSON-in-string ``outcomes``/``outcomePrices``/``clobTokenIds``,
``volume``/``liquidity`` as strings next to numeric ``volumeNum``/``liquidityNum``, events with
numbers as numbers, and Gamma's traps: ``/markets`` defaults to ``closed=false`` even for an
explicit id, answers 422 past offset 2000, and its errors carry a ``type``.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tests.fakes.polymarket.markets import (
    FakeMarket,
    Row,
    book_levels,
    description,
    fmt_price,
    slugify,
)
from tests.fakes.polymarket.params import (
    WALLET_RE,
    BadRequest,
    GammaNotFound,
    GammaValidation,
    Unprocessable,
    query_bool,
    query_choice,
    query_int,
)

if TYPE_CHECKING:
    from tests.fakes.polymarket.world import World

GAMMA_MAX_OFFSET = 2000  # legacy Gamma lists answer 422 beyond this (use /markets/keyset)
SEARCH_DEFAULT_LIMIT = 10  # /public-search events per page when limit_per_type is absent


def _iso(ts: float) -> str:
    """Gamma's millisecond ISO timestamps (``2025-07-11T18:35:56.805Z``)."""
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _event_slug(market: FakeMarket) -> str:
    """Gamma always names the event; Data API rows may carry ``eventSlug: ""`` (a live quirk)."""
    return market.event_slug or slugify(market.event_title)


def gamma_tags(market: FakeMarket) -> list[Row]:
    """The market's tags as Gamma lists them with ``include_tag=true`` (the shape of the event
    tags in ``gamma_public_search.json``: id, label, slug, …)."""
    return [
        {
            "id": str(1000 + zlib.crc32(label.encode()) % 9000),
            "label": label,
            "slug": slugify(label),
            "forceShow": False,
            "updatedBy": 15,
            "requiresTranslation": False,
        }
        for label in market.tags
    ]


def gamma_market(
    market: FakeMarket, now: int, *, with_events: bool = True, with_tags: bool = False
) -> Row:
    """A Gamma market object in the live shape (``gamma_market.json``, ``…_closed.json``).

    JSON-in-string ``outcomes``/``outcomePrices``/``clobTokenIds``; ``volume``/``liquidity``
    strings next to numeric ``volumeNum``/``liquidityNum``; resolved markets keep
    ``active: true`` and add ``closedTime`` and ``umaResolutionStatus``. ``with_events=False``
    leaves out ``events``, as in the markets embedded in an event; ``with_tags`` adds ``tags``
    (Gamma's ``include_tag=true``).
    """
    closed = market.closed
    if closed:
        prices = ["1", "0"] if market.winner == 0 else ["0", "1"]
    else:
        prices = [fmt_price(p) for p in market.prices]
    created = _iso(market.start_ts)
    row: Row = {
        "id": market.market_id,
        "question": market.title,
        "conditionId": market.condition_id,
        "slug": market.slug,
        "resolutionSource": "",
        "endDate": market.end_iso,
        "liquidity": f"{market.liquidity}",
        "startDate": created,
        "image": market.icon,
        "icon": market.icon,
        "description": description(market),
        "outcomes": json.dumps(list(market.outcomes)),
        "outcomePrices": json.dumps(prices),
        "volume": f"{market.volume}",
        "active": True,
        "closed": closed,
        "marketMakerAddress": "",
        "createdAt": created,
        "updatedAt": _iso(market.closed_ts or max(market.start_ts, now - 600)),
    }
    if closed:
        closed_at = datetime.fromtimestamp(market.closed_ts, UTC)
        row["closedTime"] = f"{closed_at:%Y-%m-%d %H:%M:%S}+00"
    row["new"] = False
    row["featured"] = False
    row["archived"] = False
    row["restricted"] = True
    row["groupItemTitle"] = ""
    row["questionID"] = market.question_id
    row["enableOrderBook"] = True
    row["orderPriceMinTickSize"] = 0.01
    row["orderMinSize"] = 5
    if closed:
        row["umaResolutionStatus"] = "resolved"
    row["volumeNum"] = market.volume
    row["liquidityNum"] = market.liquidity
    row["endDateIso"] = market.end_date
    row["startDateIso"] = created[:10]
    row["volume24hr"] = 0.0 if closed else round(market.volume * 0.004, 6)
    row["clobTokenIds"] = json.dumps(list(market.token_ids))
    row["umaBond"] = "500"
    row["umaReward"] = "5"
    row["acceptingOrders"] = not closed
    row["negRisk"] = market.neg_risk
    if not closed:  # quotes of the first outcome, as Gamma shows them
        bids, asks = book_levels(market.prices[0])
        row["lastTradePrice"] = market.prices[0]
        if bids:
            row["bestBid"] = bids[-1]
        if asks:
            row["bestAsk"] = asks[-1]
        if bids and asks:
            row["spread"] = round(asks[-1] - bids[-1], 4)
    row["umaResolutionStatuses"] = '["proposed", "resolved"]' if closed else "[]"
    if with_events:
        row["events"] = [
            {"id": market.event_id, "slug": _event_slug(market), "title": market.event_title}
        ]
    if with_tags:
        row["tags"] = gamma_tags(market)
    return row


class GammaApi:
    """The Gamma routes over one world's markets."""

    def __init__(self, world: World) -> None:
        self.world = world

    def _event(self, markets: list[FakeMarket], shown: list[FakeMarket]) -> Row:
        """A Gamma event (numbers as numbers, unlike markets) embedding ``shown`` markets."""
        first = markets[0]
        slug = _event_slug(first)
        created = _iso(min(m.start_ts for m in markets))
        volume = sum(m.volume for m in markets)
        liquidity = sum(m.liquidity for m in markets)
        return {
            "id": first.event_id,
            "ticker": slug,
            "slug": slug,
            "title": first.event_title,
            "description": description(first),
            "startDate": created,
            "creationDate": created,
            "endDate": max(m.end_iso for m in markets),
            "image": first.icon,
            "icon": first.icon,
            "active": True,
            "closed": all(m.closed for m in markets),
            "archived": False,
            "new": False,
            "featured": False,
            "restricted": True,
            "liquidity": liquidity,
            "volume": volume,
            "openInterest": round(liquidity * 0.4, 6),
            "createdAt": created,
            "updatedAt": _iso(self.world.now - 600),
            "volume24hr": round(sum(0.0 if m.closed else m.volume * 0.004 for m in markets), 6),
            "enableOrderBook": True,
            "liquidityClob": liquidity,
            "negRisk": first.neg_risk,
            "commentCount": zlib.crc32(slug.encode()) % 800,
            "markets": [self.world.gamma_market(m, with_events=False) for m in shown],
        }

    def _selection(self, query: Mapping[str, str]) -> list[FakeMarket]:
        """The legacy list filters: note ``closed`` defaults to false even for an explicit id."""
        closed = query_bool(query, "closed", False)

        def values(name: str) -> set[str]:
            getall = getattr(query, "getall", None)
            raw = getall(name, []) if getall is not None else [query.get(name, "")]
            return {v.strip() for item in raw for v in item.split(",") if v.strip()}

        slugs, tokens = values("slug"), values("clob_token_ids")
        conditions = {c.lower() for c in values("condition_ids")}
        ids: set[str] = set()
        for raw in values("id"):
            if not raw.isdigit():
                raise BadRequest(f"invalid id: {raw!r}")
            ids.add(str(int(raw)))
        return [
            m
            for m in self.world.markets
            if m.closed == closed
            and (not slugs or m.slug in slugs)
            and (not conditions or m.condition_id in conditions)
            and (not tokens or not tokens.isdisjoint(m.token_ids))
            and (not ids or m.market_id in ids)
        ]

    def markets(self, query: Mapping[str, str]) -> list[Row]:
        """Legacy ``/markets``: a bare array; ``slug``, ``condition_ids``, ``clob_token_ids`` and
        ``id`` take repeated params or comma lists; offset past 2000 is a 422."""
        limit = query_int(query, "limit", 100, 0, 1000, clamp=True)
        offset = query_int(query, "offset", 0, 0, 2**31)
        if offset > GAMMA_MAX_OFFSET:
            raise Unprocessable("offset too large, use /markets/keyset for deeper pagination")
        found = self._selection(query)
        with_tags = query_bool(query, "include_tag", False)
        return [
            self.world.gamma_market(m, with_tags=with_tags) for m in found[offset : offset + limit]
        ]

    def markets_keyset(self, query: Mapping[str, str]) -> Row:
        """``/markets/keyset``: ``{"markets": [...], "next_cursor": ...}``, paged by
        ``after_cursor``; ``next_cursor`` is absent on the last page; ``offset`` is a 422."""
        if query.get("offset") is not None:
            raise Unprocessable("offset is not supported, page with after_cursor")
        limit = query_int(query, "limit", 20, 1, 1000, clamp=True)
        start = self._decode_cursor(query.get("after_cursor") or "")
        found = self._selection(query)
        body: Row = {"markets": [self.world.gamma_market(m) for m in found[start : start + limit]]}
        if start + limit < len(found):
            body["next_cursor"] = base64.b64encode(f"offset:{start + limit}".encode()).decode()
        return body

    @staticmethod
    def _decode_cursor(cursor: str) -> int:
        if not cursor:
            return 0
        try:
            text = base64.b64decode(cursor, validate=True).decode()
            kind, _, number = text.partition(":")
            if kind != "offset" or not number.isdigit():
                raise ValueError(text)
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            raise Unprocessable("invalid after_cursor") from None
        return int(number)

    def by_slug(self, slug: str, query: Mapping[str, str]) -> Row:
        """``/markets/slug/{slug}``: one object, open or resolved (no ``closed`` trap here)."""
        market = self.world.markets_by_slug.get(slug)
        if market is None:
            raise GammaNotFound("market not found")
        return self.world.gamma_market(market)

    def by_id(self, market_id: str, query: Mapping[str, str]) -> Row:
        if not market_id.isdigit():
            raise Unprocessable(f"invalid id: {market_id!r}")
        market = self.world.markets_by_id.get(str(int(market_id)))
        if market is None:
            raise GammaNotFound("market not found")
        return self.world.gamma_market(market)

    def event_by_slug(self, slug: str, query: Mapping[str, str]) -> Row:
        """``/events/slug/{slug}``: one event with every market of it embedded, open or
        resolved (as Gamma's "Get event by slug")."""
        markets = [m for m in self.world.markets if _event_slug(m) == slug]
        if not markets:
            raise GammaNotFound("event not found")
        return self._event(markets, markets)

    def public_profile(self, query: Mapping[str, str]) -> Row:
        """``/public-profile?address=``: the account's ``createdAt`` and public identity, every
        field nullable as on Gamma. A malformed address is a 400, a wallet with no profile (not a
        trader nor an account of this world) a 404, both with Gamma's ``type``."""
        address = (query.get("address") or "").strip()
        if not WALLET_RE.match(address):
            raise GammaValidation("invalid address")
        wallet = address.lower()
        account = self.world.accounts.get(wallet)
        trader = self.world.traders.get(wallet)
        if account is None and trader is None:
            raise GammaNotFound("profile not found")
        created = account if account is not None else self.world.account_created(wallet)
        name = trader.user_name if trader is not None else ""
        return {
            "createdAt": _iso(created),
            "proxyWallet": wallet,
            "profileImage": trader.profile_image if trader is not None else None,
            "displayUsernamePublic": bool(name),
            "bio": trader.bio if trader is not None else None,
            "pseudonym": trader.pseudonym if trader is not None else None,
            "name": name or None,
            "users": [{"id": str(zlib.crc32(wallet.encode())), "creator": False, "mod": False}],
            "xUsername": trader.x_username if trader is not None else None,
            "verifiedBadge": trader.verified if trader is not None else False,
        }

    def search(self, query: Mapping[str, str]) -> Row:
        """``/public-search``: events whose title or any market question holds ``q``.

        Open events first, then by volume. Closed markets are dropped from each event unless
        ``keep_closed_markets`` (events left empty go); ``events_status`` active/closed narrows
        by event state. ``limit_per_type`` events per 1-based ``page``.
        """
        needle = (query.get("q") or "").strip().lower()
        if not needle:
            raise Unprocessable("q is required")
        limit = query_int(query, "limit_per_type", SEARCH_DEFAULT_LIMIT, 0, 1000, clamp=True)
        page = query_int(query, "page", 1, 1, 10_000)
        keep_closed = query_bool(query, "keep_closed_markets", False)
        status = query_choice(query, "events_status", ("active", "closed", "all"), "all")
        events: dict[str, list[FakeMarket]] = {}
        for market in self.world.markets:
            events.setdefault(market.event_id, []).append(market)
        hits: list[tuple[bool, float, str, list[FakeMarket], list[FakeMarket]]] = []
        for markets in events.values():
            if needle not in markets[0].event_title.lower() and not any(
                needle in m.title.lower() for m in markets
            ):
                continue
            event_closed = all(m.closed for m in markets)
            if (status == "active" and event_closed) or (status == "closed" and not event_closed):
                continue
            shown = markets if keep_closed else [m for m in markets if not m.closed]
            if shown:
                volume = sum(m.volume for m in markets)
                hits.append((event_closed, -volume, markets[0].event_id, markets, shown))
        hits.sort(key=lambda hit: hit[:3])
        chunk = hits[(page - 1) * limit : page * limit]
        return {
            "events": [self._event(markets, shown) for *_, markets, shown in chunk],
            "pagination": {"hasMore": page * limit < len(hits), "totalResults": len(hits)},
        }

"""The world one fake Polymarket serves: its markets and traders, and the controls that move them.

:class:`World` holds the markets (``markets`` and the ``markets_by_*`` indices) and the traders
(``traders``, by lowercase wallet); every route reads them afresh on each request, so a test may
add a trader or market, move a price or resolve a market, and the next request of every API
reflects it. ``FakePolymarket`` *is* a :class:`World` plus the HTTP server.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import time
import zlib

from tests.fakes.polymarket.gamma import gamma_market
from tests.fakes.polymarket.markets import (
    S3,
    FakeMarket,
    Row,
    current_price,
    market_pool,
    question_id_for,
    random_hex,
    random_token_id,
    slugify,
    with_templates,
    ymd,
)
from tests.fakes.polymarket.traders import FakeTrader, TraderFactory


class World:
    """The markets and traders of one fake (see the module docstring)."""

    def __init__(self, n_traders: int = 60, seed: int = 1, history_days: int = 0) -> None:
        """``history_days``: give every trader that long a history with a persistent edge
        (tests/fakes/polymarket/history.py) instead of the default recent sample."""
        self.seed = seed
        self.history_days = history_days
        self.now = int(time.time())
        self.traders: dict[str, FakeTrader] = {}
        # Gamma /public-profile: accounts added by tests (wallet -> createdAt, unix seconds);
        # the world's traders have a profile too, created a year or more ago.
        self.accounts: dict[str, float] = {}
        # Every market this fake serves, in Gamma id order; entries are replaced (never mutated)
        # by set_price / resolve_market, so read them afresh rather than holding on to one.
        self.markets: list[FakeMarket] = list(market_pool(seed, self.now // 86_400))
        self.markets_by_condition: dict[str, FakeMarket] = {m.condition_id: m for m in self.markets}
        self.markets_by_token: dict[str, tuple[FakeMarket, int]] = {
            token: (m, i) for m in self.markets for i, token in enumerate(m.token_ids)
        }
        self.markets_by_slug: dict[str, FakeMarket] = {m.slug: m for m in self.markets}
        self.markets_by_id: dict[str, FakeMarket] = {m.market_id: m for m in self.markets}
        self._market_pos: dict[str, int] = {m.condition_id: n for n, m in enumerate(self.markets)}
        self._event_ids: dict[str, str] = {m.event_title: m.event_id for m in self.markets}
        self._added = 0
        self._next_event_id = max(int(e) for e in self._event_ids.values())
        # Generation pools of make_trader: fixed membership (determinism), current objects.
        self._open = [m for m in self.markets if not m.closed]
        self._closed = [m for m in self.markets if m.closed]
        self._pool_slot: dict[str, tuple[list[FakeMarket], int]] = {
            m.condition_id: (pool, n)
            for pool in (self._open, self._closed)
            for n, m in enumerate(pool)
        }
        self._trader_factory = TraderFactory(self)
        for index in range(n_traders):
            self.add_trader(self.make_trader(index))

    # ------------------------------------------------------------------ traders

    def make_trader(self, index: int) -> FakeTrader:
        """Trader number ``index``: the same seed and index always give the same trader.

        Archetypes by index (so a test can rely on them): ``index % 20 == 3`` market maker,
        ``index % 20 == 7`` one lucky bet, ``index % 4 == 2`` loser, else regular; usernames of
        ``index % 10 == 9`` follow the default ``0x<MixedCase>-<ms>`` pattern; see
        :data:`SPECIAL_NAMES` for the names that need escaping. Independent of other indices, so
        ``make_trader(10_000)`` adds a new trader without shifting the existing ones.
        """
        return self._trader_factory.make(index)

    def category_of(self, condition_id: str) -> str:
        """The leaderboard category of a market ("" when unknown or in none)."""
        market = self.markets_by_condition.get(condition_id)
        return market.category if market is not None else ""

    def add_trader(self, trader: FakeTrader) -> None:
        """Register (or replace) a trader; it shows up in every endpoint from the next request."""
        self.traders[trader.wallet.lower()] = trader

    def add_account(self, wallet: str, created_at: float) -> None:
        """A Polymarket account (a ``/public-profile``) created at ``created_at`` (unix s), e.g.
        a brand-new wallet for fresh-wallet signals."""
        self.accounts[wallet.lower()] = float(created_at)

    def account_created(self, wallet: str) -> float:
        """When a trader's account was created: deterministic, one to three years ago."""
        days = 365 + zlib.crc32(f"{self.seed}:{wallet.lower()}".encode()) % 730
        return float(self.now - days * 86_400)

    # ------------------------------------------------------------------ markets control

    def add_market(
        self,
        question: str,
        outcomes: tuple[str, str] = ("Yes", "No"),
        prices: tuple[float, float] = (0.4, 0.6),
        slug: str | None = None,
        volume: float = 10_000.0,
        closed: bool = False,
        *,
        event_title: str | None = None,
        liquidity: float = 1_000.0,
        end_date: str | None = None,
        neg_risk: bool = False,
        category: str = "",
        tags: tuple[str, ...] = (),
    ) -> Row:
        """Add a binary market and return its Gamma object (ids, slug and token ids to use).

        Deterministic per (seed, number of markets added so far). ``slug`` defaults to the
        slugified question (suffixed if taken). ``closed=True`` adds it already resolved, the
        outcome with the higher price winning. ``event_title`` joins an existing event of that
        title (or starts one); by default the market is alone in an event named after it.
        ``end_date`` is ``YYYY-MM-DD``. ``category`` is its leaderboard category (lowercase,
        e.g. ``"politics"``; none by default); ``tags`` are the tag labels Gamma
        (``include_tag``) and the CLOB list. No trader holds it until a test adds rows that do.
        """
        if len(outcomes) != 2 or len(prices) != 2:
            raise ValueError("CLOB markets are binary: give two outcomes and two prices")
        if not all(0.0 <= p <= 1.0 for p in prices):
            raise ValueError(f"prices must be within [0, 1]: {prices!r}")
        base = slug or slugify(question) or "market"
        if slug is not None and slug in self.markets_by_slug:
            raise ValueError(f"slug {slug!r} is taken")
        number = self._added
        self._added += 1
        if slug is None and base in self.markets_by_slug:
            base = f"{base}-{number}"
        rng = random.Random(f"added:{self.seed}:{number}")
        condition_id = random_hex(rng, 32)
        token_ids = (random_token_id(rng), random_token_id(rng))
        while condition_id in self.markets_by_condition or set(token_ids) & set(
            self.markets_by_token
        ):
            condition_id = random_hex(rng, 32)
            token_ids = (random_token_id(rng), random_token_id(rng))
        now = int(time.time())
        if end_date is None:
            end_date = ymd(now + (-86_400 if closed else 30 * 86_400))
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", end_date):
            raise ValueError(f"end_date must be YYYY-MM-DD: {end_date!r}")
        if event_title is None:
            title, event_slug = question, base
            event_id = self._new_event_id()
        else:
            title, event_slug = event_title, slugify(event_title)
            event_id = self._event_ids.get(event_title) or self._new_event_id()
            self._event_ids[event_title] = event_id
        winner = (0 if prices[0] >= prices[1] else 1) if closed else -1
        market = FakeMarket(
            condition_id=condition_id,
            token_ids=token_ids,
            outcomes=(str(outcomes[0]), str(outcomes[1])),
            title=question,
            slug=base,
            icon=f"{S3}/{base[:40]}-{rng.getrandbits(40):x}.png",
            event_slug=event_slug,
            event_id=event_id,
            event_title=title,
            end_date=end_date,
            end_iso=f"{end_date}T00:00:00Z",
            neg_risk=neg_risk,
            prices=self._resolved_prices(winner) if closed else (prices[0], prices[1]),
            closed=closed,
            winner=winner,
            market_id=str(900_000 + number),
            volume=float(volume),
            liquidity=0.0 if closed else float(liquidity),
            start_ts=now - 30 * 86_400,
            closed_ts=now if closed else 0,
            question_id=question_id_for(condition_id),
            category=category,
            tags=tags,
        )
        market = with_templates(market)
        self._market_pos[condition_id] = len(self.markets)
        self.markets.append(market)
        self._index(market)
        return self.gamma_market(market)

    def _new_event_id(self) -> str:
        self._next_event_id += 1
        return str(self._next_event_id)

    @staticmethod
    def _resolved_prices(winner: int) -> tuple[float, float]:
        return (1.0, 0.0) if winner == 0 else (0.0, 1.0)

    def _index(self, market: FakeMarket) -> None:
        self.markets_by_condition[market.condition_id] = market
        for index, token in enumerate(market.token_ids):
            self.markets_by_token[token] = (market, index)
        self.markets_by_slug[market.slug] = market
        self.markets_by_id[market.market_id] = market

    def _replace_market(self, market: FakeMarket) -> None:
        """Swap in a changed copy everywhere this fake looks markets up."""
        self.markets[self._market_pos[market.condition_id]] = market
        self._index(market)
        slot = self._pool_slot.get(market.condition_id)
        if slot is not None:
            pool, position = slot
            pool[position] = market
        self._reprice_positions(market)

    def _reprice_positions(self, market: FakeMarket) -> None:
        """Open positions on ``market`` follow its price; resolved ones become redeemable."""
        tokens = market.token_ids
        for trader in self.traders.values():
            for row in trader.positions:
                if row["conditionId"] != market.condition_id or row["asset"] not in tokens:
                    continue
                price = current_price(market, tokens.index(row["asset"]))
                row["curPrice"] = price
                row["currentValue"] = row["size"] * price
                row["cashPnl"] = row["currentValue"] - row["initialValue"]
                if row["initialValue"]:
                    row["percentPnl"] = row["cashPnl"] / row["initialValue"] * 100
                if market.closed:
                    row["redeemable"] = True

    def resolve_market(self, condition_id: str, winning_outcome_index: int) -> None:
        """Resolve a market as the live APIs show it once settled.

        Gamma: ``closed`` true (``active`` stays true), ``acceptingOrders`` false, outcomePrices
        ``["1", "0"]``-style, ``umaResolutionStatus`` "resolved", ``closedTime`` now, and it
        drops out of ``/markets`` unless ``closed=true``. CLOB: ``/markets/{id}`` tokens carry
        ``winner``; ``/book``, ``/midpoint`` and ``/price`` answer 404. Data API: open positions on
        it turn redeemable at 1 or 0. ``/prices-history`` ends at the resolution.
        """
        market = self.markets_by_condition.get(condition_id.lower())
        if market is None:
            raise KeyError(f"unknown market {condition_id!r}")
        if winning_outcome_index not in (0, 1):
            raise ValueError("winning_outcome_index must be 0 or 1")
        self._replace_market(
            dataclasses.replace(
                market,
                closed=True,
                winner=winning_outcome_index,
                prices=self._resolved_prices(winning_outcome_index),
                liquidity=0.0,
                closed_ts=market.closed_ts or int(time.time()),
            )
        )

    def set_price(self, token_id: str, price: float) -> None:
        """Move one outcome's price (the other becomes ``1 - price``).

        Moves Gamma ``outcomePrices``, CLOB ``/midpoint``, ``/price``, ``/book`` (levels around
        the new mid) and ``/markets/{id}`` token prices, the last ``/prices-history`` point, and
        the ``curPrice``/value/PnL of open positions on it (leaderboard totals stay as they are).
        """
        hit = self.markets_by_token.get(token_id)
        if hit is None:
            raise KeyError(f"unknown token {token_id!r}")
        if not 0.0 <= price <= 1.0 or math.isnan(price):
            raise ValueError(f"price must be within [0, 1]: {price!r}")
        market, index = hit
        if market.closed:
            raise ValueError("market is resolved; its prices are final")
        prices = [0.0, 0.0]
        prices[index] = float(price)
        prices[1 - index] = round(1.0 - price, 6)
        self._replace_market(dataclasses.replace(market, prices=(prices[0], prices[1])))

    def market_for_token(self, token_id: str) -> Row | None:
        """The Gamma object of the market ``token_id`` belongs to, or None."""
        hit = self.markets_by_token.get(token_id)
        return self.gamma_market(hit[0]) if hit is not None else None

    def market_for_condition(self, condition_id: str) -> Row | None:
        """The Gamma object of the market with that condition id, or None."""
        market = self.markets_by_condition.get(condition_id.lower())
        return self.gamma_market(market) if market is not None else None

    def gamma_market(
        self, market: FakeMarket, *, with_events: bool = True, with_tags: bool = False
    ) -> Row:
        """The Gamma object of ``market``; see :func:`tests.fakes.polymarket.gamma.gamma_market`."""
        return gamma_market(market, self.now, with_events=with_events, with_tags=with_tags)

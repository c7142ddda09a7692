"""The fill model: how a paper order takes liquidity from a real CLOB order book.

Why it is shaped like this: CLOB ``/book`` sends its levels worst-first (the best level is the last
element, as in tests/fixtures/polymarket/clob_book_legacy.json), so nothing here trusts a level's
position; it sorts by price and walks best-first, never past the copy's limit price and never beyond
what the order asks for. An order remembers what it already took per price (``taken``), so retrying
it against an unchanged book cannot fill the same liquidity twice. Pure: no I/O, cheap to test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.copytrading.models import MISSING_BOOK, Books, Fill, Level, OrderStatus, PaperOrder
from bot.polymarket.records import Market, to_float

USD_DUST = 0.01  # a BUY with less than a cent left to spend is filled
SHARE_DUST = 1e-6  # a SELL (or a position) with less than this many shares left is done
PRICE_EPS = 1e-9  # float noise when comparing book prices to a limit


def parse_levels(raw: Any) -> list[Level]:
    """Book levels as sent (price and size strings, any order); junk and empty levels dropped."""
    if not isinstance(raw, list):
        return []
    levels = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        price = to_float(item.get("price"), -1.0)
        size = to_float(item.get("size"), 0.0)
        if 0.0 < price <= 1.0 and size > 0.0:
            levels.append(Level(price, size))
    return levels


def best_bid(levels: Sequence[Level]) -> float | None:
    """The dearest bid, wherever the book put it."""
    return max((level.price for level in levels), default=None)


def best_ask(levels: Sequence[Level]) -> float | None:
    """The cheapest ask, wherever the book put it."""
    return min((level.price for level in levels), default=None)


def book_mid(book: Mapping[str, Any]) -> float | None:
    """A value for marking positions: the mid of the best levels, else the last trade, else the
    one side there is."""
    bid = best_bid(parse_levels(book.get("bids")))
    ask = best_ask(parse_levels(book.get("asks")))
    if bid is not None and ask is not None:
        return (bid + ask) / 2.0
    last = to_float(book.get("last_trade_price"), -1.0)
    if 0.0 <= last <= 1.0:
        return last
    return bid if bid is not None else ask


def limit_price(side: str, trade_price: float, max_slippage: float) -> float:
    """The worst price a copy accepts: the copied price plus (BUY) or minus (SELL) the slippage."""
    if side == "BUY":
        return min(1.0, trade_price + max_slippage)
    return max(0.0, trade_price - max_slippage)


def walk_book(levels: Sequence[Level], side: str, amount: float, limit: float) -> list[Fill]:
    """Fills for an order of ``amount`` (BUY: dollars, SELL: shares) taking liquidity best-first
    (asks cheapest first for a BUY, bids dearest first for a SELL) and stopping at ``limit``."""
    if amount <= 0:
        return []
    buying = side == "BUY"
    ordered = sorted(levels, key=lambda level: level.price, reverse=not buying)
    fills: list[Fill] = []
    remaining = amount
    for level in ordered:
        if buying and level.price > limit + PRICE_EPS:
            break
        if not buying and level.price < limit - PRICE_EPS:
            break
        wanted = remaining / level.price if buying else remaining
        shares = min(level.size, wanted)
        if shares <= 0:
            break
        fills.append(Fill(level.price, shares))
        remaining -= shares * level.price if buying else shares
        if remaining <= (USD_DUST / 100 if buying else SHARE_DUST / 100):
            break
    return fills


def price_key(price: float) -> str:
    """A level's price as a stable dict key (the book sends strings like "0.51")."""
    return f"{price:.6f}"


def without_taken(levels: Sequence[Level], taken: Mapping[str, float]) -> list[Level]:
    """The book as one order may still use it: each level minus what that order already took
    at that price. A static book then cannot fill the same liquidity twice, while a moved book
    (new prices, or more size than was taken) can."""
    if not taken:
        return list(levels)
    left = []
    for level in levels:
        size = level.size - taken.get(price_key(level.price), 0.0)
        if size > SHARE_DUST:
            left.append(Level(level.price, size))
    return left


def add_taken(taken: Mapping[str, float], fills: Iterable[Fill]) -> dict[str, float]:
    """The order's per-price take after ``fills``: what the next try must leave alone."""
    merged = dict(taken)
    for fill in fills:
        key = price_key(fill.price)
        merged[key] = merged.get(key, 0.0) + fill.shares
    return merged


def fill_totals(fills: Iterable[Fill]) -> tuple[float, float]:
    """(shares, dollars) of a walk."""
    shares = usd = 0.0
    for fill in fills:
        shares += fill.shares
        usd += fill.usd
    return shares, usd


def is_complete(side: str, requested: float, filled: float) -> bool:
    """Whether nothing worth filling is left (BUY in dollars, SELL in shares)."""
    dust = USD_DUST if side == "BUY" else SHARE_DUST
    return requested - filled < dust


def status_after_fill(side: str, requested: float, filled_total: float) -> OrderStatus:
    """The status a fill leads to: FILLED when done, PARTIAL with something filled, else
    PENDING. The caller still asks the lifecycle whether the order may move there."""
    if is_complete(side, requested, filled_total):
        return OrderStatus.FILLED
    return OrderStatus.PARTIAL if filled_total > 0 else OrderStatus.PENDING


def sell_fraction(trade_size: float, trader_position_before: float | None) -> float:
    """The share of their position a trader sold; unknown position -> everything (1.0)."""
    if trader_position_before is None or trade_size <= 0:
        return 1.0
    return min(1.0, trade_size / max(trade_size, trader_position_before))


# ---- one pass over many orders -------------------------------------------------------------


@dataclass(slots=True)
class FillPlan:
    """What a fill pass does with each order, decided before anything is written.

    ``fills``: orders with something to take, by portfolio (each portfolio's in given order);
    ``untouched``: tried without a fill (PLACED ones become PENDING); ``closed``: their market
    closed or resolved (cancelled); ``missing``: their market was not found (one more sync
    towards LOST)."""

    fills: dict[int, list[tuple[PaperOrder, list[Fill]]]] = field(default_factory=dict)
    untouched: list[PaperOrder] = field(default_factory=list)
    closed: list[PaperOrder] = field(default_factory=list)
    missing: list[PaperOrder] = field(default_factory=list)


def plan_fills(
    orders: Iterable[PaperOrder],
    books: Books,
    markets: Mapping[str, Market | None],
    *,
    in_sync: bool,
) -> FillPlan:
    """Walk each order's book (each side parsed once per pass, whatever the number of orders).

    An order whose book failed to load, or whose market lookup failed, is left out: nothing is
    decided on upstream trouble. Only a sync pass (``in_sync``) counts a vanished market towards
    LOST ("three syncs in a row"); the writer's first try leaves such an order PENDING."""
    plan = FillPlan()
    levels_cache: dict[tuple[str, str], list[Level]] = {}
    for order in orders:
        book = books.get(order.asset)
        if book is None:
            continue  # upstream trouble: decide nothing
        if book is MISSING_BOOK:
            if order.condition_id not in markets:
                continue
            market = markets[order.condition_id]
            if market is None:
                (plan.missing if in_sync else plan.untouched).append(order)
            elif market.closed or market.resolved:
                plan.closed.append(order)
            else:
                plan.untouched.append(order)  # listed but no book yet: try again later
            continue
        key = (order.asset, order.side)
        levels = levels_cache.get(key)
        if levels is None:
            levels = parse_levels(book.get("asks" if order.side == "BUY" else "bids"))
            levels_cache[key] = levels
        usable = without_taken(levels, order.taken)
        fills = walk_book(usable, order.side, order.remaining, order.limit_price)
        if fills:
            plan.fills.setdefault(order.portfolio_id, []).append((order, fills))
        else:
            plan.untouched.append(order)
    return plan

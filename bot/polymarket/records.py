"""Typed records parsed from Polymarket payloads.

Upstream drifts between v1 camelCase and v2 snake_case, sends numbers as strings, mixes wallet
case and omits optional fields, so every parser here reads defensively: it accepts both key
spellings, coerces numbers, lowercases wallets, and raises ``RecordError`` only when a field the
bot cannot do without (the wallet, say) is missing or malformed. Callers skip such rows and log.

Values are also checked against what is possible, because upstream has sent a price of 1e307,
a 309-digit share count and a date in 2100, and each became an alert: a price outside [0, 1],
a size or dollar amount beyond ``MAX_SHARES`` / ``MAX_USD`` (``MAX_TRADE_USD`` for one fill)
and a timestamp outside [2020, now + 1 day] raise ``RecordRejected`` (counted by kind, see
``Rejections``). Text is
cleaned of what PostgreSQL cannot store (NUL, lone surrogates from a broken emoji), so one
odd title never fails a whole backfill.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any, Literal, get_args

WALLET_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")

MAX_SHARES = 1e10  # no outcome token has ever had this many shares traded in one fill
MAX_USD = 1e10  # $10B: beyond any position, trader's volume or market's liquidity
MAX_TRADE_USD = 1e9  # $1B in one fill: a thousand times the largest ever seen
EARLIEST_TIMESTAMP = 1_577_836_800.0  # 2020-01-01, before Polymarket's order book existed
FUTURE_SLACK_SECONDS = 86_400.0  # clocks disagree by seconds; a day ahead is already absurd


# Polymarket's categories, as its leaderboard names them (``/v1/leaderboard`` ``category``,
# lowercased): the category boards, and the filters of /follow, /whales and /signals.
Category = Literal[
    "politics",
    "sports",
    "crypto",
    "culture",
    "economics",
    "tech",
    "finance",
    "weather",
    "mentions",
    "esports",
]
CATEGORIES: tuple[str, ...] = get_args(Category)


class RecordError(ValueError):
    """A payload row lacks a field the bot needs; the row is skipped, not the batch."""


class RecordRejected(RecordError):
    """A row whose values are impossible (``kind``: price, size, usd or timestamp)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def pick(row: dict[str, Any], *keys: str, default: Any = None) -> Any:
    """First present, non-null value among the spellings ``keys`` (v1 camelCase, v2 snake_case)."""
    for key in keys:
        value = row.get(key)
        if value is not None:
            return value
    return default


def to_float(value: Any, default: float = 0.0) -> float:
    """Numbers arrive as numbers or numeric strings; junk and NaN fall back to ``default``."""
    if value is None or isinstance(value, bool):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def to_int(value: Any, default: int = 0) -> int:
    return int(to_float(value, float(default)))


def to_bool(value: Any) -> bool:
    """JSON booleans, and the strings "true"/"false" some payloads carry instead."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def to_str(value: Any) -> str:
    """Text as PostgreSQL and Discord can take it: no NUL characters (valid JSON may carry
    them) and no lone surrogates (``"\\ud83d"`` alone, half an emoji), which become U+FFFD."""
    if value is None:
        return ""
    text = str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # only lone surrogates fail; a pair round-trips through UTF-16
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def to_timestamp(value: Any) -> float:
    """Unix seconds from seconds, milliseconds (heuristic > 1e11) or a numeric string."""
    number = to_float(value)
    return number / 1000.0 if number > 1e11 else number


def sane_timestamp(value: Any, now: float | None = None) -> float:
    """``to_timestamp``, 0.0 when absent, and ``RecordRejected`` outside [2020, now + 1 day]."""
    stamp = to_timestamp(value)
    if stamp == 0.0:
        return 0.0
    latest = (time.time() if now is None else now) + FUTURE_SLACK_SECONDS
    if not EARLIEST_TIMESTAMP <= stamp <= latest:
        raise RecordRejected("timestamp", f"timestamp {stamp:.0f} is outside [2020, tomorrow]")
    return stamp


def bounded(value: float, limit: float, kind: str) -> float:
    """``value`` when its magnitude is possible, else ``RecordRejected(kind)``."""
    if abs(value) > limit:
        raise RecordRejected(kind, f"{kind} {value:.6g} is beyond {limit:.0e}")
    return value


def price_in_range(value: float, kind: str = "price") -> float:
    """A share's price is a probability: [0, 1] dollars, else ``RecordRejected``."""
    if not 0.0 <= value <= 1.0:
        raise RecordRejected(kind, f"price {value:.6g} is outside [0, 1]")
    return value


def usd(row: dict[str, Any], *keys: str) -> float:
    """A dollar amount under one of ``keys``, checked against ``MAX_USD``."""
    return bounded(to_float(pick(row, *keys)), MAX_USD, "usd")


def normalize_wallet(value: Any) -> str:
    """Lowercased 0x address, or ``RecordError`` when it is not one."""
    text = to_str(value).strip()
    if not WALLET_RE.match(text):
        raise RecordError(f"not a wallet address: {text[:60]!r}")
    return text.lower()


def is_wallet(value: str) -> bool:
    return bool(WALLET_RE.match(value.strip()))


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    """One row of ``/v1/leaderboard`` (or the v2 spelling)."""

    rank: int
    wallet: str
    user_name: str
    volume: float
    pnl: float
    profile_image: str
    x_username: str
    verified: bool

    @classmethod
    def from_api(cls, row: dict[str, Any]) -> LeaderboardRow:
        return cls(
            rank=to_int(pick(row, "rank")),
            wallet=normalize_wallet(pick(row, "proxyWallet", "proxy_wallet", "user_id")),
            user_name=to_str(pick(row, "userName", "user_name")),
            volume=bounded(to_float(pick(row, "vol", "volume")), MAX_USD, "usd"),
            pnl=bounded(to_float(pick(row, "pnl")), MAX_USD, "usd"),
            profile_image=to_str(pick(row, "profileImage", "profile_image")),
            x_username=to_str(pick(row, "xUsername", "x_username")),
            verified=to_bool(pick(row, "verifiedBadge", "verified", default=False)),
        )


@dataclass(frozen=True, slots=True)
class Position:
    """An open position (``/positions``)."""

    wallet: str
    asset: str
    condition_id: str
    size: float
    avg_price: float
    initial_value: float
    current_value: float
    cash_pnl: float
    realized_pnl: float
    cur_price: float
    title: str
    slug: str
    outcome: str

    @classmethod
    def from_api(cls, row: dict[str, Any]) -> Position:
        return cls(
            wallet=normalize_wallet(pick(row, "proxyWallet", "proxy_wallet")),
            asset=to_str(pick(row, "asset", "token_id")),
            condition_id=to_str(pick(row, "conditionId", "condition_id")),
            size=bounded(to_float(pick(row, "size", "current_size")), MAX_SHARES, "size"),
            avg_price=price_in_range(to_float(pick(row, "avgPrice", "avg_price"))),
            initial_value=usd(row, "initialValue", "entry_cost_usdc", "total_cost_usdc"),
            current_value=usd(row, "currentValue", "current_value"),
            cash_pnl=usd(row, "cashPnl", "unrealized_pnl", "total_pnl"),
            realized_pnl=usd(row, "realizedPnl", "realized_pnl"),
            cur_price=price_in_range(to_float(pick(row, "curPrice", "current_price"))),
            title=to_str(pick(row, "title")),
            slug=to_str(pick(row, "slug")),
            outcome=to_str(pick(row, "outcome")),
        )


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """A closed position (``/closed-positions``); ``timestamp`` in unix seconds."""

    wallet: str
    asset: str
    condition_id: str
    avg_price: float
    total_bought: float
    realized_pnl: float
    timestamp: float
    title: str
    slug: str
    outcome: str

    @classmethod
    def from_api(cls, row: dict[str, Any]) -> ClosedPosition:
        return cls(
            wallet=normalize_wallet(pick(row, "proxyWallet", "proxy_wallet")),
            asset=to_str(pick(row, "asset", "token_id")),
            condition_id=to_str(pick(row, "conditionId", "condition_id")),
            avg_price=price_in_range(to_float(pick(row, "avgPrice", "avg_price"))),
            total_bought=bounded(
                to_float(pick(row, "totalBought", "total_bought", "total_size")), MAX_SHARES, "size"
            ),
            realized_pnl=usd(row, "realizedPnl", "realized_pnl"),
            timestamp=sane_timestamp(pick(row, "timestamp", "last_event_at")),
            title=to_str(pick(row, "title")),
            slug=to_str(pick(row, "slug")),
            outcome=to_str(pick(row, "outcome")),
        )


@dataclass(frozen=True, slots=True)
class Activity:
    """A row of ``/activity`` (trades, redeems, ...); ``timestamp`` in unix seconds."""

    wallet: str
    timestamp: float
    type: str
    condition_id: str
    asset: str
    side: str
    size: float
    usdc_size: float
    price: float
    transaction_hash: str
    title: str
    slug: str
    outcome: str
    name: str = ""
    pseudonym: str = ""
    profile_image: str = ""

    @classmethod
    def from_api(cls, row: dict[str, Any]) -> Activity:
        return cls(
            wallet=normalize_wallet(pick(row, "proxyWallet", "proxy_wallet")),
            timestamp=sane_timestamp(pick(row, "timestamp")),
            type=to_str(pick(row, "type", default="TRADE")).upper(),
            condition_id=to_str(pick(row, "conditionId", "condition_id")),
            asset=to_str(pick(row, "asset", "token_id")),
            side=to_str(pick(row, "side")).upper(),
            size=bounded(to_float(pick(row, "size")), MAX_SHARES, "size"),
            usdc_size=usd(row, "usdcSize", "usdc_size"),
            price=price_in_range(to_float(pick(row, "price"))),
            transaction_hash=to_str(pick(row, "transactionHash", "transaction_hash")),
            title=to_str(pick(row, "title")),
            slug=to_str(pick(row, "slug")),
            outcome=to_str(pick(row, "outcome")),
            name=to_str(pick(row, "name")),
            pseudonym=to_str(pick(row, "pseudonym")),
            profile_image=to_str(pick(row, "profileImage", "profile_image")),
        )


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill of one wallet, from the RTDS stream or Data API ``/trades`` (same camelCase keys).

    ``key`` is the natural key that makes storage idempotent: the same fill arriving under
    ``trades`` and ``orders_matched``, again after a reconnect, or from a backfill collapses.
    Sizes and prices are rounded before hashing, so float noise between sources cannot split it.
    """

    key: str
    wallet: str
    asset: str
    condition_id: str
    side: str
    size: float
    price: float
    timestamp: float
    transaction_hash: str
    outcome: str
    title: str
    slug: str
    event_slug: str
    name: str
    pseudonym: str

    @property
    def usd(self) -> float:
        return self.size * self.price

    @classmethod
    def from_api(cls, row: dict[str, Any]) -> Trade:
        wallet = normalize_wallet(pick(row, "proxyWallet", "proxy_wallet"))
        tx = to_str(pick(row, "transactionHash", "transaction_hash")).lower()
        asset = to_str(pick(row, "asset", "token_id"))
        side = to_str(pick(row, "side")).upper()
        size = to_float(pick(row, "size"))
        price = to_float(pick(row, "price"))
        if not tx or not asset or side not in ("BUY", "SELL") or size <= 0 or price <= 0:
            raise RecordError("trade lacks transaction hash, asset, side, size or price")
        price_in_range(price)
        bounded(size, MAX_SHARES, "size")
        bounded(size * price, MAX_TRADE_USD, "usd")
        # A fill without a time happened about now (the stream is live; backfills carry times).
        timestamp = sane_timestamp(pick(row, "timestamp")) or time.time()
        return cls(
            key=trade_key(tx, wallet, asset, side, size, price),
            wallet=wallet,
            asset=asset,
            condition_id=to_str(pick(row, "conditionId", "condition_id")),
            side=side,
            size=size,
            price=price,
            timestamp=timestamp,
            transaction_hash=tx,
            outcome=to_str(pick(row, "outcome")),
            title=to_str(pick(row, "title")),
            slug=to_str(pick(row, "slug")),
            event_slug=to_str(pick(row, "eventSlug", "event_slug")),
            name=to_str(pick(row, "name")),
            pseudonym=to_str(pick(row, "pseudonym")),
        )


def trade_key(tx: str, wallet: str, asset: str, side: str, size: float, price: float) -> str:
    raw = f"{tx}|{wallet}|{asset}|{side}|{size:.6f}|{price:.6f}"
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def json_list(value: Any) -> list[Any]:
    """Gamma sends some arrays as JSON inside a string ("[\\"Yes\\", \\"No\\"]"); accept both."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return []
        return parsed if isinstance(parsed, list) else []
    return []


def plausible_usd(value: float) -> float:
    """A market's volume or liquidity, 0.0 (unknown) when negative or beyond ``MAX_USD``."""
    return value if 0.0 <= value <= MAX_USD else 0.0


CONDITION_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")


@dataclass(frozen=True, slots=True)
class Market:
    """A Gamma market: one question with its outcomes, their token ids and prices."""

    condition_id: str
    gamma_id: str
    slug: str
    question: str
    outcomes: tuple[str, ...]
    token_ids: tuple[str, ...]
    prices: tuple[float, ...]
    volume: float
    liquidity: float
    end_date: str
    closed: bool
    resolved: bool
    winner_index: int | None
    event_slug: str
    image: str

    @classmethod
    def from_gamma(cls, row: dict[str, Any]) -> Market:
        condition_id = to_str(pick(row, "conditionId", "condition_id")).lower()
        if not CONDITION_RE.match(condition_id):
            raise RecordError(f"market without a condition id: {condition_id[:70]!r}")
        outcomes = tuple(to_str(o) for o in json_list(pick(row, "outcomes")))
        tokens = tuple(to_str(t) for t in json_list(pick(row, "clobTokenIds")))
        if not tokens:  # V2 markets: positionIds is a plain array, clobTokenIds may be null
            tokens = tuple(to_str(t) for t in json_list(pick(row, "positionIds")))
        # An impossible price is unknown (-1.0) rather than a reason to hide the market.
        prices = tuple(
            p if 0.0 <= p <= 1.0 else -1.0
            for p in (to_float(p, -1.0) for p in json_list(pick(row, "outcomePrices")))
        )
        closed = to_bool(pick(row, "closed", default=False))
        resolution = to_str(pick(row, "umaResolutionStatus")).lower()
        resolved = closed and (resolution == "resolved" or any(p >= 0.999 for p in prices))
        winner = None
        if resolved and prices and len(prices) == len(outcomes):
            best = max(range(len(prices)), key=lambda i: prices[i])
            winner = best if prices[best] >= 0.999 else None
        events = pick(row, "events", default=[])
        event_slug = ""
        if isinstance(events, list) and events and isinstance(events[0], dict):
            event_slug = to_str(events[0].get("slug"))
        return cls(
            condition_id=condition_id,
            gamma_id=to_str(pick(row, "id")),
            slug=to_str(pick(row, "slug")),
            question=to_str(pick(row, "question")),
            outcomes=outcomes,
            token_ids=tokens,
            prices=prices if len(prices) == len(outcomes) else tuple(-1.0 for _ in outcomes),
            volume=plausible_usd(to_float(pick(row, "volumeNum", "volume"))),
            liquidity=plausible_usd(to_float(pick(row, "liquidityNum", "liquidity"))),
            end_date=to_str(pick(row, "endDate", "endDateIso")),
            closed=closed,
            resolved=resolved,
            winner_index=winner,
            event_slug=event_slug,
            image=to_str(pick(row, "icon", "image")),
        )

"""Typed records parsed from Polymarket payloads.

Upstream drifts between v1 camelCase and v2 snake_case, sends numbers as strings, mixes wallet
case and omits optional fields, so every parser here reads defensively: it accepts both key
spellings, coerces numbers, lowercases wallets, and raises ``RecordError`` only when a field the
bot cannot do without (the wallet, say) is missing or malformed. Callers skip such rows and log.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

WALLET_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


class RecordError(ValueError):
    """A payload row lacks a field the bot needs; the row is skipped, not the batch."""


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
    """Text as PostgreSQL can store it (no NUL characters, which valid JSON may carry)."""
    return "" if value is None else str(value).replace("\x00", "")


def to_timestamp(value: Any) -> float:
    """Unix seconds from seconds, milliseconds (heuristic > 1e11) or a numeric string."""
    number = to_float(value)
    return number / 1000.0 if number > 1e11 else number


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
            volume=to_float(pick(row, "vol", "volume")),
            pnl=to_float(pick(row, "pnl")),
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
            size=to_float(pick(row, "size", "current_size")),
            avg_price=to_float(pick(row, "avgPrice", "avg_price")),
            initial_value=to_float(pick(row, "initialValue", "entry_cost_usdc", "total_cost_usdc")),
            current_value=to_float(pick(row, "currentValue", "current_value")),
            cash_pnl=to_float(pick(row, "cashPnl", "unrealized_pnl", "total_pnl")),
            realized_pnl=to_float(pick(row, "realizedPnl", "realized_pnl")),
            cur_price=to_float(pick(row, "curPrice", "current_price")),
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
            avg_price=to_float(pick(row, "avgPrice", "avg_price")),
            total_bought=to_float(pick(row, "totalBought", "total_bought", "total_size")),
            realized_pnl=to_float(pick(row, "realizedPnl", "realized_pnl")),
            timestamp=to_timestamp(pick(row, "timestamp", "last_event_at")),
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
            timestamp=to_timestamp(pick(row, "timestamp")),
            type=to_str(pick(row, "type", default="TRADE")).upper(),
            condition_id=to_str(pick(row, "conditionId", "condition_id")),
            asset=to_str(pick(row, "asset", "token_id")),
            side=to_str(pick(row, "side")).upper(),
            size=to_float(pick(row, "size")),
            usdc_size=to_float(pick(row, "usdcSize", "usdc_size")),
            price=to_float(pick(row, "price")),
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
        return cls(
            key=trade_key(tx, wallet, asset, side, size, price),
            wallet=wallet,
            asset=asset,
            condition_id=to_str(pick(row, "conditionId", "condition_id")),
            side=side,
            size=size,
            price=price,
            timestamp=to_timestamp(pick(row, "timestamp")),
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
        prices = tuple(to_float(p, -1.0) for p in json_list(pick(row, "outcomePrices")))
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
            volume=to_float(pick(row, "volumeNum", "volume")),
            liquidity=to_float(pick(row, "liquidityNum", "liquidity")),
            end_date=to_str(pick(row, "endDate", "endDateIso")),
            closed=closed,
            resolved=resolved,
            winner_index=winner,
            event_slug=event_slug,
            image=to_str(pick(row, "icon", "image")),
        )

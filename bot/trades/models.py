"""The trades feature's domain types: who wants which trades, and what an alert carries.

Plain data with the pure rules that go with it (``accepts``), so the database layer can build
them and the hot path can use them without importing any service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from bot.polymarket.records import Trade

NEAR_CERTAIN_PRICE = 0.95
BACKDATE_TOLERANCE = 60.0  # seconds: a trade a little older than its follow still alerts


@dataclass(frozen=True, slots=True)
class Follow:
    id: int
    guild_id: int
    channel_id: int
    wallet: str
    label: str
    min_usd: float
    side: str  # buy, sell, both
    created_at: float
    enabled: bool = True
    disabled_reason: str | None = None
    alerts_sent: int = 0
    category: str | None = None  # only markets of this category (None: all)

    def accepts(self, trade: Trade, categories: frozenset[str] = frozenset()) -> bool:
        """``categories``: the trade's market's categories, as far as they are known."""
        if self.side != "both" and trade.side.lower() != self.side:
            return False
        if trade.usd < self.min_usd:
            return False
        if self.category is not None and self.category not in categories:
            return False
        return trade.timestamp >= self.created_at - BACKDATE_TOLERANCE


@dataclass(frozen=True, slots=True)
class WhaleWatch:
    channel_id: int
    guild_id: int
    min_usd: float
    include_near_certain: bool
    enabled: bool = True
    disabled_reason: str | None = None
    alerts_sent: int = 0
    category: str | None = None  # only markets of this category (None: all)
    created_at: float = 0.0

    def accepts(self, trade: Trade, categories: frozenset[str] = frozenset()) -> bool:
        """A recovered trade from before the watch existed is history, not an alert."""
        if trade.usd < self.min_usd:
            return False
        if trade.timestamp < self.created_at - BACKDATE_TOLERANCE:
            return False
        if self.category is not None and self.category not in categories:
            return False
        return self.include_near_certain or trade.price < NEAR_CERTAIN_PRICE


@dataclass(frozen=True, slots=True)
class Target:
    """A channel a trade must be alerted in; a follow wins over a whale watch for one channel."""

    channel_id: int
    guild_id: int
    kind: str  # follow | whale | fresh | smart | consensus
    follow_id: int | None


class Delivery(NamedTuple):
    """A trade to be alerted in a channel, as the outbox reads it back."""

    trade: Trade
    kind: str  # follow | whale | fresh | smart | consensus
    delayed: bool


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """An outbox message composed but not confirmed sent."""

    id: int
    nonce: str
    created_at: float = 0.0  # wall clock; Discord remembers a nonce only for a few minutes


@dataclass(frozen=True, slots=True)
class FailedAlert:
    """A delivery set aside for good, with Discord's or the renderer's reason."""

    channel_id: int
    trade_key: str
    error: str
    failed_at: float

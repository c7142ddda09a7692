"""The signals feature's domain types: signal watches, what is known of wallets and markets,
and what an alert card says besides the trade itself. Plain data, so the database layer can
build them and render can show them without importing any service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.polymarket.records import Trade
from bot.trades.models import BACKDATE_TOLERANCE

SignalKind = Literal["fresh", "smart", "consensus"]
SIGNAL_KINDS: tuple[SignalKind, ...] = ("fresh", "smart", "consensus")
DEFAULT_MIN_USD: dict[str, float] = {"fresh": 1_000.0, "smart": 500.0, "consensus": 500.0}
SMART_TOP = 25  # smart money: the top of the week's copy-score board
CONSENSUS_TOP = 50
CONSENSUS_TRADERS = 3  # distinct top traders on one outcome make a consensus
CONSENSUS_WINDOW = 24 * 3600.0  # seconds: their buys count within this, and it is not repeated


def category_matches(wanted: str | None, categories: frozenset[str]) -> bool:
    """No filter, or the market is in the wanted category (an unknown market is in none)."""
    return wanted is None or wanted in categories


@dataclass(frozen=True, slots=True)
class SignalWatch:
    """One kind of signal switched on in one server, posted to one channel."""

    guild_id: int
    kind: str  # fresh | smart | consensus
    channel_id: int
    min_usd: float
    category: str | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    created_at: float = 0.0  # when it was last set: it alerts trades made from then on

    def accepts(self, trade: Trade, categories: frozenset[str]) -> bool:
        return (
            trade.usd >= self.min_usd
            and category_matches(self.category, categories)
            and self.watching_at(trade.timestamp)
        )

    def watching_at(self, timestamp: float) -> bool:
        """A trade recovered after a gap in the stream (the reconciler looks back up to an
        hour) from before the watch was set is history, not an alert."""
        return timestamp >= self.created_at - BACKDATE_TOLERANCE


@dataclass(frozen=True, slots=True)
class WalletAge:
    """When a wallet's account began, and how that was learnt (profile, first trade, or first
    seen by the bot when Polymarket knows neither yet)."""

    created_at: float
    source: str  # profile | first_trade | first_seen


@dataclass(frozen=True, slots=True)
class MarketFacts:
    """What the bot learnt once about a market from its tags."""

    condition_id: str
    categories: frozenset[str]
    icon: str = ""
    tick_size: float | None = None


@dataclass(frozen=True, slots=True)
class ConsensusParticipant:
    """One top trader's buys of the outcome within the consensus window."""

    wallet: str
    name: str
    rank: int
    usd: float
    shares: float

    @property
    def average_price(self) -> float:
        return self.usd / self.shares if self.shares else 0.0


@dataclass(frozen=True, slots=True)
class HistoryTrade:
    side: str
    size: float
    price: float
    timestamp: float
    key: str


@dataclass(frozen=True, slots=True)
class PositionHistory:
    """A wallet's position in one token as last read whole (``synced_at``; None: never), and
    its stored trades in that token."""

    synced_at: float | None
    base_size: float
    base_avg_price: float
    trades: tuple[HistoryTrade, ...]


@dataclass(frozen=True, slots=True)
class PositionChange:
    """What a card's trades did to the trader's position."""

    kind: str  # new | added | trimmed | closed
    before: float
    after: float
    sold_share: float = 0.0  # trimmed: the share of the position sold
    realized_pnl: float | None = None  # closed: when the cost basis is known


@dataclass(frozen=True, slots=True)
class Standing:
    """The trader on the relevant leaderboard (the first period they are ranked in)."""

    period: str
    rank: int
    pnl: float
    score: float


@dataclass(frozen=True)
class CardContext:
    """Everything an alert card shows besides its trades, gathered when it is sent."""

    standing: Standing | None = None
    win_rate: float | None = None
    current_price: float | None = None
    tick_size: float | None = None
    label: str | None = None
    position: PositionChange | None = None
    icon: str = ""
    account_age_days: float | None = None
    participants: tuple[ConsensusParticipant, ...] = field(default_factory=tuple)

"""Copy trading's domain types: plain values shared by the service, its parts and the database.

Why a module of its own, with standard-library imports only: ``db/copytrading_queries.py``
builds these objects from rows and may not import services, so the types must not import
asyncpg, ``db`` or any service; the pure parts (lifecycle, fill model) and their tests then need
nothing but this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, TypeAlias


class OrderStatus(StrEnum):
    """Where a paper order stands; stored as this text. Moves only as ``lifecycle`` allows."""

    PLACED = "PLACED"
    PENDING = "PENDING"
    PARTIAL = "PARTIAL"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    LOST = "LOST"


# ---- the order book ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Level:
    """One price level of one side of a CLOB book."""

    price: float
    size: float


@dataclass(frozen=True, slots=True)
class Fill:
    """Shares taken at one level by one walk of the book."""

    price: float
    shares: float

    @property
    def usd(self) -> float:
        return self.price * self.shares


class NoBook(Enum):
    """A token whose book does not exist (CLOB 400/404): its market closed or is unknown.

    Distinct from ``None`` in a :data:`Books` mapping, which means the fetch failed and nothing
    may be decided about the token this pass."""

    MISSING = "missing"


MISSING_BOOK = NoBook.MISSING
Book: TypeAlias = dict[str, Any]  # a CLOB /book answer, as sent
BookResult: TypeAlias = Book | NoBook | None  # None: the fetch failed
Books: TypeAlias = Mapping[str, BookResult]  # by token id


# ---- what is stored ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CopyConfig:
    """A user's copy of one trader: the budget behind it and the size of each copied BUY."""

    id: int
    portfolio_id: int
    guild_id: int
    user_id: int
    wallet: str
    budget_usd: float
    per_trade_usd: float
    active: bool
    created_at: float
    stopped_at: float | None


@dataclass(frozen=True, slots=True)
class PaperOrder:
    """One copied trade for one copy, with what it filled so far.

    ``version`` is the order's optimistic lock: every write is guarded by the status and version
    read here, so a stale copy of the order can never apply a second fill."""

    id: int
    config_id: int
    portfolio_id: int
    trade_key: str
    wallet: str
    asset: str
    condition_id: str
    title: str
    outcome: str
    side: str
    trade_price: float
    limit_price: float
    size_usd: float
    size_shares: float
    filled_shares: float
    filled_usd: float
    taken: dict[str, float]
    status: OrderStatus
    reason: str
    version: int
    attempts: int
    missing_syncs: int
    created_at: float
    updated_at: float

    @property
    def requested(self) -> float:
        """Dollars (BUY) or shares (SELL) the order is for."""
        return self.size_usd if self.side == "BUY" else self.size_shares

    @property
    def remaining(self) -> float:
        """What is left to fill, in the unit of :attr:`requested`."""
        filled = self.filled_usd if self.side == "BUY" else self.filled_shares
        return max(0.0, self.requested - filled)


@dataclass(frozen=True, slots=True)
class MissedSync:
    """An open order after one more sync that could not find its market: what a guarded move
    to LOST needs."""

    id: int
    status: OrderStatus
    version: int
    missing_syncs: int


@dataclass(frozen=True, slots=True)
class PaperPosition:
    """A portfolio's holding of one outcome token. A closed or settled one keeps its row (for
    the realised PnL and the win rate)."""

    portfolio_id: int
    asset: str
    condition_id: str
    title: str
    outcome: str
    size: float
    cost_basis: float
    avg_price: float
    realized_pnl: float
    last_price: float | None
    settled: bool
    closed_at: float | None


@dataclass(frozen=True, slots=True)
class Portfolio:
    """A user's paper money: cash now, every dollar deposited, the PnL realised so far."""

    id: int
    guild_id: int
    user_id: int
    cash: float
    deposited: float
    realized_pnl: float


# ---- what is shown -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionView:
    """An open position as /portfolio shows it: marked without an upstream call."""

    asset: str
    condition_id: str
    title: str
    outcome: str
    size: float
    avg_price: float
    cost_basis: float
    price: float | None  # last mark (book mid at the latest sync); None before the first
    value: float
    unrealized_pnl: float
    realized_pnl: float


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One line of /portfolio's orders: a copied order, or a burst of one trader's fills in one
    outcome and side (merged as their alert card merges them), so ten fills of one trade do not
    push everything else off the list."""

    wallet: str
    title: str
    outcome: str
    side: str
    fills: int  # orders merged into this line
    statuses: tuple[tuple[OrderStatus, int], ...]  # how many of them are in each status
    reason: str  # why one was cancelled or lost, if any was
    filled_shares: float
    filled_usd: float  # BUY: cost, SELL: proceeds
    requested: float  # BUY: dollars, SELL: shares, not yet filled or not
    limit_price: float
    created_at: float  # the latest order of the line

    @property
    def average_price(self) -> float | None:
        """The price the filled shares were bought or sold at; None before any fill."""
        return self.filled_usd / self.filled_shares if self.filled_shares > 0 else None


@dataclass(frozen=True, slots=True)
class ValuePoint:
    """One hourly snapshot of a portfolio: a point of the /portfolio chart."""

    at: float  # unix seconds, start of the hour
    cash: float
    value: float


@dataclass(frozen=True, slots=True)
class PortfolioView:
    """Everything /portfolio shows, read from PostgreSQL only (no upstream call)."""

    guild_id: int
    user_id: int
    cash: float
    deposited: float
    realized_pnl: float
    unrealized_pnl: float
    value: float
    positions: tuple[PositionView, ...]
    closed_positions: int
    winning_positions: int
    orders: tuple[PaperOrder, ...]
    history: tuple[ValuePoint, ...]
    copies: tuple[CopyConfig, ...]
    order_rows: tuple[OrderRow, ...] = ()  # ``orders`` with each burst on one line, newest first

    @property
    def win_rate(self) -> float | None:
        """Closed (sold or settled) positions with a positive PnL; None before the first."""
        if not self.closed_positions:
            return None
        return self.winning_positions / self.closed_positions


@dataclass(frozen=True, slots=True)
class StopResult:
    """A stopped copy and how many of its open orders were cancelled (told to the user)."""

    config: CopyConfig
    cancelled_orders: int


# ---- what was done -------------------------------------------------------------------------


@dataclass
class SyncReport:
    """What one sync pass did (for logs, /admin status and the benchmark)."""

    open_orders: int = 0
    books_fetched: int = 0
    book_errors: int = 0
    books_missing: int = 0
    markets_checked: int = 0
    filled: int = 0
    partial: int = 0
    unfilled: int = 0
    expired: int = 0
    cancelled_closed: int = 0
    lost: int = 0
    conflicts: int = 0
    settled: int = 0
    snapshots: int = 0
    seconds: float = 0.0


@dataclass
class OrderStats:
    """Counters since start, shared by every part of the service (writer, sync, copies)."""

    queued: int = 0
    deduplicated: int = 0
    orders_created: int = 0
    duplicates: int = 0
    write_failures: int = 0
    dropped: int = 0
    syncs: int = 0
    last_sync: SyncReport | None = None
    by_reason: dict[str, int] = field(default_factory=dict)

    def count_reason(self, reason: str, n: int = 1) -> None:
        """Count ``n`` orders cancelled or lost for ``reason`` (nothing when ``n`` is 0)."""
        if n:
            self.by_reason[reason] = self.by_reason.get(reason, 0) + n

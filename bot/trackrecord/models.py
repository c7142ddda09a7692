"""The alert track record's domain types: an alerted trade's follow-through, and summaries.

Plain data, so the database layer can return it and render can show it without importing the
service that computes it.
"""

from __future__ import annotations

from dataclasses import dataclass

# /track-record's ``kind`` option -> the delivery kind stored in the alert outbox.
KIND_OPTIONS: dict[str, str] = {
    "follows": "follow",
    "whales": "whale",
    "fresh": "fresh",
    "smart": "smart",
    "consensus": "consensus",
}
# /track-record's ``period`` option -> its length in days (None: everything recorded).
PERIOD_DAYS: dict[str, int | None] = {"week": 7, "month": 30, "all": None}


@dataclass(frozen=True, slots=True)
class AlertedTrade:
    """A trade that was alerted in a server, as read from the alert outbox."""

    trade_key: str
    guild_id: int
    kind: str  # follow | whale | fresh | smart | consensus
    alerted_at: float  # when the alert was sent (the first send, for that server and kind)
    wallet: str
    asset: str
    condition_id: str
    side: str  # BUY | SELL
    price: float  # the trade's price: the alert price
    title: str
    outcome: str


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """How an alerted trade went since the alert: its marks at +1 h and +24 h, its latest mark,
    and the payout per share (1 or 0) once the market resolved."""

    trade_key: str
    wallet: str
    asset: str
    condition_id: str
    side: str
    alert_price: float
    alerted_at: float
    title: str = ""
    outcome: str = ""
    price_1h: float | None = None
    price_24h: float | None = None
    last_price: float | None = None
    last_marked_at: float | None = None
    payout: float | None = None  # set once, at resolution

    @property
    def settled(self) -> bool:
        return self.payout is not None


@dataclass(frozen=True, slots=True)
class Marked:
    """A pass's new marks for one alerted trade (None: unchanged)."""

    trade_key: str
    last_price: float
    price_1h: float | None = None
    price_24h: float | None = None
    payout: float | None = None


@dataclass(frozen=True, slots=True)
class Extreme:
    """The best or worst alert of a summary: what it was and its return."""

    title: str
    outcome: str
    side: str
    alert_price: float
    return_: float  # fraction: 0.25 is +25%


@dataclass(frozen=True, slots=True)
class TrackRecordSummary:
    """What /track-record and /trader show of a set of alerts."""

    alerts: int
    marked_1h: int  # alerts with a +1 h mark ...
    moved_1h: int  # ... of which the price moved the trade's way
    marked_24h: int
    moved_24h: int
    returns: int  # alerts with a return (a payout or a mark)
    average_return: float | None  # mean return if copied at the alert price (fraction)
    best: Extreme | None
    worst: Extreme | None
    open: int  # not resolved yet

"""What a card's fills did to the trader's position: new, added, trimmed or closed. Pure.

The position before the card is the last whole read of the wallet's positions (its size and
average price in the token then) moved forward by the wallet's stored trades between that read
and the card's first fill. A read taken after the card's fills already contains them, so those
are taken back instead (the size is then exact but the cost basis is not, and no realised PnL
is claimed). Without any read of the wallet the position is unknown and the card says nothing.

Polymarket stamps trades in whole seconds and its positions lag its trades, so a trade stamped
in the second of the read, or later, counts as after it; trades of one second are ordered by
their arrival.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bot.polymarket.records import Trade
from bot.signals.models import HistoryTrade, PositionChange, PositionHistory

DUST = 0.01  # shares: less than this is no position
CLOSED_SHARE = 0.001  # a sell leaving under 0.1% of the position closed it


def _signed(trade: HistoryTrade | Trade) -> float:
    return trade.size if trade.side == "BUY" else -trade.size


def _buy(size: float, avg: float, shares: float, price: float) -> tuple[float, float]:
    """Size and average price after buying ``shares`` at ``price``."""
    total = max(size, 0.0) + shares
    return total, (max(size, 0.0) * avg + shares * price) / total if total else 0.0


def position_before(
    history: PositionHistory, card_keys: set[str], first_at: float
) -> tuple[float, float, bool]:
    """(size, average price, cost basis known) just before the card's first fill.

    ``history.trades`` are in the order they happened (time, then arrival), so the trades before
    the card are those listed before its first fill; fills of one second keep their order."""
    assert history.synced_at is not None
    read_at = math.floor(history.synced_at)  # trades stamped before this are in the read
    start = next((n for n, t in enumerate(history.trades) if t.key in card_keys), None)
    if start is None:  # the card's fills are not stored (yet): order by time alone
        start = sum(1 for t in history.trades if t.timestamp < first_at)
    earlier, later = history.trades[:start], history.trades[start:]
    size, avg = history.base_size, history.base_avg_price
    basis_known = size <= DUST or avg > 0
    if read_at <= first_at:
        for trade in earlier:
            if trade.timestamp < read_at or trade.key in card_keys:
                continue
            if trade.side == "BUY":
                size, avg = _buy(size, avg, trade.size, trade.price)
            else:
                size = max(size - trade.size, 0.0)
        return size, avg, basis_known
    for trade in later:  # the read already holds these fills: take them back
        if trade.timestamp < read_at:
            size -= _signed(trade)
    return max(size, 0.0), avg, False


def position_change(
    history: PositionHistory | None, fills: Sequence[Trade]
) -> PositionChange | None:
    """The card's effect on the position, or None when it cannot be known."""
    if history is None or history.synced_at is None or not fills:
        return None
    size, avg, basis_known = position_before(
        history, {t.key for t in fills}, min(t.timestamp for t in fills)
    )
    before = size
    realized = 0.0
    for fill in fills:
        if fill.side == "BUY":
            size, avg = _buy(size, avg, fill.size, fill.price)
        else:
            sold = min(fill.size, max(size, 0.0))
            realized += sold * (fill.price - avg)
            size -= sold
    after = max(size, 0.0)
    if fills[0].side == "BUY":
        return PositionChange("new" if before <= DUST else "added", before, after)
    if before <= DUST:
        return None  # selling what we never saw bought: the position is not known
    if after <= max(DUST, before * CLOSED_SHARE):
        pnl = realized if basis_known and avg > 0 else None
        return PositionChange("closed", before, 0.0, 1.0, pnl)
    return PositionChange("trimmed", before, after, (before - after) / before)

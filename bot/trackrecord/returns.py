"""The arithmetic of an alert's follow-through: returns, marks and summaries. Pure.

An alert is judged as if its trade had been copied at the alert price p (the trade's own
price, the one the alert shows):

* a BUY alert buys the outcome at p: return = (value - p) / p;
* a SELL alert is taken as buying the other outcome at 1 - p (what selling short amounts to
  on a binary market): return = (p - value) / (1 - p);

where value is the payout per share (1 or 0) once the market resolved, else the latest mark.
It "moved the trade's way" when the price rose after a buy (fell after a sell).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.trackrecord.models import AlertOutcome, Extreme, Marked, TrackRecordSummary

HOUR = 3600.0
DAY = 86_400.0
MARK_AFTER: tuple[float, float] = (HOUR, DAY)  # the +1 h and +24 h marks


def copy_return(side: str, alert_price: float, value: float) -> float:
    """Return (a fraction) of copying the alerted trade at ``alert_price`` now worth ``value``."""
    if side == "SELL":
        return (alert_price - value) / (1.0 - alert_price)
    return (value - alert_price) / alert_price


def moved_its_way(side: str, alert_price: float, price: float) -> bool:
    return price < alert_price if side == "SELL" else price > alert_price


def _new_mark(
    current: float | None, due: float, now: float, late: float, price: float, resolved: bool
) -> float | None:
    """A +1 h / +24 h mark taken now, or None (already taken, not due, or missed).

    A mark is taken by the first pass after it is due, if that pass is at most ``late``
    seconds late (a bot that was down longer leaves it missing rather than record a later
    price under its name). A market that resolved before a mark was due sets it to the payout:
    that is the price it would have had.
    """
    if current is not None:
        return None
    if now < due:
        return price if resolved else None
    return price if now <= due + late else None


def mark(outcome: AlertOutcome, price: float, *, resolved: bool, now: float, late: float) -> Marked:
    """This pass's marks of an open alert whose outcome trades at ``price`` now (its payout
    per share when ``resolved``)."""
    due_1h, due_24h = (outcome.alerted_at + after for after in MARK_AFTER)
    return Marked(
        trade_key=outcome.trade_key,
        last_price=price,
        price_1h=_new_mark(outcome.price_1h, due_1h, now, late, price, resolved),
        price_24h=_new_mark(outcome.price_24h, due_24h, now, late, price, resolved),
        payout=price if resolved else None,
    )


def value_now(outcome: AlertOutcome) -> float | None:
    """The payout where resolved, else the latest mark (None before the first mark)."""
    return outcome.payout if outcome.payout is not None else outcome.last_price


def summarize(outcomes: Iterable[AlertOutcome]) -> TrackRecordSummary:
    """Counts, the share that moved the trade's way at +1 h and +24 h, the average, best and
    worst return if copied at the alert price, and how many are still open."""
    outcomes = list(outcomes)
    at_1h = [(o, o.price_1h) for o in outcomes if o.price_1h is not None]
    at_24h = [(o, o.price_24h) for o in outcomes if o.price_24h is not None]
    returns: list[tuple[float, AlertOutcome]] = []
    for o in outcomes:
        value = value_now(o)
        if value is not None:
            returns.append((copy_return(o.side, o.alert_price, value), o))

    def extreme(found: tuple[float, AlertOutcome] | None) -> Extreme | None:
        if found is None:
            return None
        ret, o = found
        return Extreme(o.title, o.outcome, o.side, o.alert_price, ret)

    by_return = sorted(returns, key=lambda pair: pair[0])
    return TrackRecordSummary(
        alerts=len(outcomes),
        marked_1h=len(at_1h),
        moved_1h=sum(1 for o, price in at_1h if moved_its_way(o.side, o.alert_price, price)),
        marked_24h=len(at_24h),
        moved_24h=sum(1 for o, price in at_24h if moved_its_way(o.side, o.alert_price, price)),
        returns=len(returns),
        average_return=sum(r for r, _ in returns) / len(returns) if returns else None,
        best=extreme(by_return[-1] if by_return else None),
        worst=extreme(by_return[0] if by_return else None),
        open=sum(1 for o in outcomes if not o.settled),
    )

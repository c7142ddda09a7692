"""Every number a user reads, formatted one way: money, prices in cents, percentages, counts.

One module so that a card, a board and a portfolio never disagree on how "$5K" or "−$43" is
written. Rules: compact money drops trailing zeros (``$5K``, ``$25.05K``, never ``$5.00K``);
every negative number uses a real minus sign (``−$43``, ``−3%``, ``−5¢``) and none shows as
``−0``; signed money and returns carry a ``+`` too (``+$409``, ``+12%``); exact money
is to the cent with thousands separators (``$1,093.71``); prices are cents with at most one
decimal (``5¢``, ``83.5¢``); counts agree with their noun (``1 alert``, ``2 alerts``).
Pure functions, no Discord: the domain's numbers in, text out.
"""

from __future__ import annotations

import math

MINUS = "\u2212"  # a real minus sign: a hyphen reads as a dash in Discord's font
_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))
# A position priced at (almost exactly) 1 or 0 is in a resolved market: live books trade in
# ticks of at least 0.1¢, so only a resolution puts the price on the very end of the range.
RESOLVED_HIGH, RESOLVED_LOW = 0.9995, 0.0005


def _trim(number: str) -> str:
    """'5.00' -> '5', '25.50' -> '25.5'."""
    return number.rstrip("0").rstrip(".") if "." in number else number


def _minus(negative: bool, shown: str) -> str:
    """``shown`` (a value's magnitude as printed) behind a real minus when the value is negative,
    unless it prints as zero: a tiny negative reads '0', never '−0'."""
    nonzero = any(digit in shown for digit in "123456789")
    return f"{MINUS}{shown}" if negative and nonzero else shown


def _compact(amount: float) -> str:
    """A non-negative amount with a unit: 950 -> '950', 5000 -> '5K', 25_050 -> '25.05K'."""
    for threshold, unit in _UNITS:
        if amount >= threshold * 0.9995:  # 999,950 rounds to 1M, not 1000K
            return f"{_trim(f'{amount / threshold:.2f}')}{unit}"
    return f"{amount:,.0f}"


def money(value: float, *, signed: bool = False, exact: bool = False) -> str:
    """Dollars: compact by default (``$5K``), to the cent with ``exact`` (``$1,093.71``),
    with a leading ``+``/``−`` with ``signed``. Non-finite values show as ``—``."""
    if not math.isfinite(value):
        return "—"
    body = f"{abs(value):,.2f}" if exact else _compact(abs(value))
    if float(body.replace(",", "").rstrip("KMBT") or 0) == 0:
        return "$0.00" if exact else "$0"  # never −$0 or +$0
    if value < 0:
        return f"{MINUS}${body}"
    return f"+${body}" if signed else f"${body}"


def cents(price: float) -> str:
    """A price in [0, 1] dollars as cents: 0.05 -> '5¢', 0.835 -> '83.5¢', 0.0004 -> '0.04¢'."""
    if not math.isfinite(price):
        return "—"
    value = abs(price * 100)
    shown = _trim(f"{value:.2f}") if 0 < value < 0.1 else _trim(f"{value:.1f}")
    return f"{_minus(price < 0, shown)}¢"


def percent(fraction: float, *, digits: int = 0, signed: bool = False) -> str:
    """0.835 -> '84%' (``digits=1``: '83.5%'), -0.03 -> '−3%'; ``signed`` for returns: '+12%'."""
    if not math.isfinite(fraction):
        return "—"
    text = _trim(f"{abs(fraction) * 100:.{digits}f}")
    if float(text) == 0:
        return "0%"
    if fraction < 0:
        return f"{MINUS}{text}%"
    return f"+{text}%" if signed else f"{text}%"


def chance(price: float) -> str:
    """The implied chance of an outcome priced ``price``: '84%', or '<1%' / '>99%' at the ends."""
    if not math.isfinite(price):
        return "—"
    if 0 < price < 0.005:
        return "<1%"
    if 0.995 < price < 1:
        return ">99%"
    return percent(price)


def count(amount: float) -> str:
    """Shares and other quantities: '950', '12.5K', '1.2M' (no currency)."""
    if not math.isfinite(amount):
        return "—"
    magnitude = abs(amount)
    if magnitude < 1000 and magnitude != int(magnitude):
        return _minus(amount < 0, _trim(f"{magnitude:.2f}"))
    return _minus(amount < 0, _compact(magnitude))


def integer(n: int) -> str:
    """A whole number with thousands separators, for exact tallies: '1,234'."""
    return _minus(n < 0, f"{abs(n):,}")


def score(value: float) -> str:
    """A 0–100 copy score with one decimal at most: '72.4', '100'."""
    if not math.isfinite(value):
        return "—"
    return _minus(value < 0, _trim(f"{abs(value):.1f}"))


def price_move(entry: float, current: float) -> str:
    """Where a position's price went: '45¢ → 62¢'; a price of exactly 0 or 1 is a resolved
    market, which reads 'won' or 'lost' instead of '45¢ → 0¢'."""
    if current >= RESOLVED_HIGH:
        return f"{cents(entry)} · won"
    if 0 <= current <= RESOLVED_LOW:
        return f"{cents(entry)} · lost"
    return f"{cents(entry)} → {cents(current)}"


def rate(per_second: float) -> str:
    """Events per second: '0.4/s', '12.5/s', '1.2K/s'."""
    if not math.isfinite(per_second):
        return "—"
    if per_second < 1000:
        return f"{_trim(f'{per_second:.1f}')}/s"
    return f"{_compact(per_second)}/s"


def plural(n: int, noun: str, many: str | None = None) -> str:
    """'1 alert', '2 alerts', '1,200 alerts'; ``many`` for irregular plurals."""
    word = noun if n == 1 else (many or noun + "s")
    return f"{n:,} {word}"


def duration(seconds: float) -> str:
    """An interval as people say it: '45s', '1m', '90m' -> '1.5h', '1h', '24h', '7d'."""
    if not math.isfinite(seconds):
        return "—"
    seconds = abs(seconds)
    if seconds < 60:
        return f"{_trim(f'{seconds:.1f}')}s"
    if seconds < 3600:
        return f"{_trim(f'{seconds / 60:.1f}')}m"
    if seconds < 2 * 86_400:
        return f"{_trim(f'{seconds / 3600:.1f}')}h"
    return f"{_trim(f'{seconds / 86_400:.1f}')}d"

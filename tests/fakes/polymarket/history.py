"""A long trading history per trader, with an edge that persists: the score backtest's world.

``World(history_days=N)`` gives every trader N days of closed positions and the trades that
opened and closed them, instead of the default recent sample. Each trader has a hidden edge
that holds for the whole history (the chance that a bet at price p wins is p + edge), a size
that has nothing to do with that edge, and a rate of new positions; the archetypes are those of
the default world:

* regular: edge drawn in [-5, +7] points, sizes from small to large;
* consistent: edge in [+8, +14] points, moderate sizes, several positions every week;
* loser: edge in [-12, -6] points, often large sizes;
* lucky: edge in [-6, 0] points and small sizes, plus one long shot (60K-300K shares at 2-8
  cents) that paid, somewhere in the history;
* maker: dozens of round trips a week in large sizes that exit within about a cent of entry
  (about $1M traded a month at a margin near zero).

So a ranking that can tell edge from size and luck should pick traders that keep earning per
dollar after the day it ranked them; one that ranks by PnL picks size and luck. The rows have
the live v1 shapes and point into the world's resolved markets, like the default rows.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from tests.fakes.polymarket.markets import Row

if TYPE_CHECKING:
    from tests.fakes.polymarket.world import World

DAY = 86_400

# kind -> (edge low, edge high, positions per week low, high, log-size low, high)
_PROFILES: dict[str, tuple[float, float, float, float, float, float]] = {
    "regular": (-0.05, 0.07, 2.0, 6.0, 2.0, 7.0),
    "consistent": (0.08, 0.14, 5.0, 9.0, 4.0, 6.0),
    "loser": (-0.12, -0.06, 2.0, 5.0, 3.0, 8.0),
    "lucky": (-0.06, 0.0, 1.0, 3.0, 1.5, 4.0),
    "maker": (0.0, 0.0, 25.0, 35.0, 8.0, 9.5),
}


def history_rows(
    rng: random.Random,
    world: World,
    wallet: str,
    kind: str,
    identity: tuple[str, str, str, str],
    days: int,
) -> tuple[list[Row], list[Row], list[str]]:
    """(closed positions, TRADE activity newest first, maker transactions) of one trader."""
    rnd = rng.random
    edge_lo, edge_hi, rate_lo, rate_hi, size_lo, size_hi = _PROFILES[kind]
    edge = edge_lo + (edge_hi - edge_lo) * rnd()
    per_week = rate_lo + (rate_hi - rate_lo) * rnd()
    log_size = size_lo + (size_hi - size_lo) * rnd()
    count = int(per_week * days / 7)
    lucky_at = int(rnd() * count) if kind == "lucky" and count else -1
    closed: list[Row] = []
    activity: list[Row] = []
    maker_tx: list[str] = []
    for n in range(count):
        opened = world.now - int(rnd() * days * DAY)
        position = _position(rng, world, kind, edge, log_size, lucky=n == lucky_at)
        row, exit_price, sold = position
        held = int(-math.log(1.0 - rnd()) * (0.3 if kind == "maker" else 4.0) * DAY) + 600
        closed_at = opened + held
        if closed_at > world.now:
            continue  # still open: not a closed position yet
        row["proxyWallet"] = wallet
        row["timestamp"] = closed_at
        closed.append(row)
        trades = [(opened, "BUY", row["avgPrice"])]
        if sold:
            trades.append((closed_at, "SELL", exit_price))
        for ts, side, price in trades:
            tx = f"0x{rng.getrandbits(256):064x}"
            if rnd() < (0.9 if kind == "maker" else 0.2):
                maker_tx.append(tx)
            activity.append(_trade(row, identity, ts, side, price, tx))
    activity.sort(key=lambda r: r["timestamp"], reverse=True)
    return closed, activity, maker_tx


def _position(
    rng: random.Random, world: World, kind: str, edge: float, log_size: float, *, lucky: bool
) -> tuple[Row, float, bool]:
    """A closed position's row (without wallet and time), its exit price, and whether it was
    sold before resolution (else it was held to its 1 or 0 payout)."""
    rnd = rng.random
    resolved = world._closed
    market = resolved[int(rnd() * len(resolved))]
    bought = round(math.exp(log_size + 0.8 * (rnd() - 0.5)), 2)
    if lucky:
        price, bought = round(0.02 + 0.06 * rnd(), 4), round(60_000 + 240_000 * rnd(), 2)
        won, sold, exit_price = True, False, 1.0
    elif kind == "maker":
        price = round(0.1 + 0.8 * rnd(), 4)
        won, sold = rnd() < 0.5, True
        exit_price = min(0.99, max(0.01, price + (rnd() - 0.45) * 0.012))
    else:
        price = round(0.1 + 0.8 * rnd(), 4)
        won = rnd() < min(0.99, max(0.01, price + edge))
        sold = rnd() < 0.2
        exit_price = 1.0 if won else 0.0
        if sold:  # sold on the way: part of the move, the same direction
            exit_price = min(0.99, max(0.01, price + (exit_price - price) * (0.2 + 0.5 * rnd())))
    outcome_index = market.winner if won else 1 - market.winner
    row = market.closed_templates[outcome_index].copy()
    row["avgPrice"] = price
    row["totalBought"] = bought
    row["realizedPnl"] = round(bought * (exit_price - price), 6)
    return row, exit_price, sold


def _trade(
    position: Row, identity: tuple[str, str, str, str], ts: int, side: str, price: float, tx: str
) -> Row:
    """A v1 ``/activity`` TRADE row of one side of a closed position."""
    name, pseudonym, bio, profile_image = identity
    size = position["totalBought"]
    return {
        "proxyWallet": position["proxyWallet"],
        "timestamp": ts,
        "conditionId": position["conditionId"],
        "type": "TRADE",
        "size": size,
        "usdcSize": size * price,
        "transactionHash": tx,
        "price": price,
        "asset": position["asset"],
        "side": side,
        "outcomeIndex": position["outcomeIndex"],
        "title": position["title"],
        "slug": position["slug"],
        "icon": position["icon"],
        "eventSlug": position["eventSlug"],
        "outcome": position["outcome"],
        "name": name,
        "pseudonym": pseudonym,
        "bio": bio,
        "profileImage": profile_image,
        "profileImageOptimized": "",
    }

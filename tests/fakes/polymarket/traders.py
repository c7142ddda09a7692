"""Synthetic traders: deterministic per (seed, index), with the spreads a ranking must cope with.

Traders are synthetic but deterministic (``seed`` and trader index), with spreads a ranking has
to cope with: market-maker-like wallets (huge volume, tiny PnL), one-lucky-bet wallets (one
closed position holds most of the PnL), losers, default ``0x<Address>-<ms>`` usernames and
names that need Discord escaping (``@everyone``, ``**bold**``). Their positions, closed positions
and activity are rows in the live v1 shape on the world's markets, and their leaderboard totals
per window are consistent with those rows.
"""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.fakes.polymarket.history import history_rows
from tests.fakes.polymarket.markets import S3, Row

if TYPE_CHECKING:
    from tests.fakes.polymarket.world import World

PERIODS: tuple[str, ...] = ("DAY", "WEEK", "MONTH", "ALL")
PERIOD_SECONDS: dict[str, int | None] = {
    "DAY": 86_400,
    "WEEK": 7 * 86_400,
    "MONTH": 30 * 86_400,
    "ALL": None,
}
# Share of the open positions' mark-to-market PnL that a window's PnL includes.
OPEN_PNL_SHARE: dict[str, float] = {"DAY": 0.1, "WEEK": 0.3, "MONTH": 0.6, "ALL": 1.0}

_ADJECTIVES = (
    "Brave", "Lucky", "Silent", "Rapid", "Golden", "Crimson", "Frozen", "Hidden", "Mighty",
    "Clever", "Wild", "Quiet", "Cosmic", "Iron", "Neon", "Salty", "Sunny", "Shadow", "Atomic",
    "Velvet", "Rusty", "Polar", "Lunar", "Solar", "Stormy", "Jolly", "Grumpy", "Sneaky", "Noble",
    "Peppery", "Spicy", "Agitated", "Unaware", "Rowdy", "Tart", "Fuzzy", "Bold", "Calm", "Dizzy",
    "Eager",
)  # fmt: skip
_NOUNS = (
    "Fox", "Whale", "Falcon", "Otter", "Tiger", "Badger", "Raven", "Shark", "Panda", "Wolf",
    "Hamster", "Samurai", "Capital", "Tenement", "Neighbour", "Bricklaying", "Oracle", "Degen",
    "Trader", "Prophet", "Sniper", "Monk", "Pirate", "Wizard", "Knight", "Comet", "Harbor",
    "Engine", "Lantern", "Summit", "Cactus", "Pepper", "Mango", "Walrus", "Heron", "Bison",
    "Lynx", "Gecko", "Koala", "Moose",
)  # fmt: skip
# Names that a Discord embed must escape; placed at fixed indices so tests can find them.
SPECIAL_NAMES: dict[int, str] = {
    4: "@everyone",
    5: "**bold**",
    6: "__under__ `tick` ~~gone~~",
    8: "<@123456789012345678> ||spoiler|| @here",
}
_BIOS = ("", "", "", "", "gm", "what is your plan", "Lets go", "not financial advice", "[link](x)")


@dataclass
class FakeTrader:
    """One synthetic trader: its leaderboard numbers and the rows every endpoint serves.

    ``positions``, ``closed_positions`` and ``activity`` hold the exact v1 camelCase rows; the
    endpoints filter, sort and page copies of them, so a test may edit a trader in place (say,
    bump ``pnl["DAY"]``) and the next request reflects it.
    """

    wallet: str
    user_name: str
    pnl: dict[str, float]
    vol: dict[str, float]
    positions: list[Row] = field(default_factory=list)
    closed_positions: list[Row] = field(default_factory=list)
    activity: list[Row] = field(default_factory=list)
    # "regular" | "maker" | "lucky" | "loser" | "consistent" (for tests to pick from)
    kind: str = "regular"
    x_username: str = ""
    profile_image: str = ""
    verified: bool = False
    pseudonym: str = ""
    bio: str = ""
    # Transactions where this wallet was the maker: /trades hides them when takerOnly=true.
    maker_tx: frozenset[str] = frozenset()
    # Volume counted / volume served: a maker's served activity is a sample (window_totals).
    volume_multiplier: float = 1.0
    # Per-category (pnl, vol) by window, computed on first use from the rows (category_totals).
    category_cache: dict[str, tuple[dict[str, float], dict[str, float]]] = field(
        default_factory=dict, repr=False
    )

    def leaderboard_row(
        self,
        period: str,
        rank: int,
        totals: tuple[dict[str, float], dict[str, float]] | None = None,
    ) -> Row:
        """The v1 ``/v1/leaderboard`` row, key order as in the live capture; ``totals`` are a
        category's (pnl, vol) instead of the overall ones."""
        pnl, vol = totals if totals is not None else (self.pnl, self.vol)
        return {
            "rank": str(rank),
            "proxyWallet": self.wallet,
            "userName": self.user_name,
            "xUsername": self.x_username,
            "verifiedBadge": self.verified,
            "vol": vol.get(period, 0.0),
            "pnl": pnl.get(period, 0.0),
            "profileImage": self.profile_image,
        }

    def category_totals(
        self, category: str, category_of: Callable[[str], str], now: int
    ) -> tuple[dict[str, float], dict[str, float]]:
        """(pnl, vol) by window of the rows on markets of ``category`` only (cached: like the
        overall totals, they are fixed when first computed)."""
        cached = self.category_cache.get(category)
        if cached is None:

            def in_category(rows: list[Row]) -> list[Row]:
                return [r for r in rows if category_of(r["conditionId"]) == category]

            cached = self.category_cache[category] = window_totals(
                now,
                self.volume_multiplier,
                in_category(self.positions),
                in_category(self.closed_positions),
                in_category(self.activity),
            )
        return cached


def window_totals(
    now: int, multiplier: float, positions: list[Row], closed: list[Row], activity: list[Row]
) -> tuple[dict[str, float], dict[str, float]]:
    """Per-window PnL and volume consistent with the rows; windows nest (DAY within ALL).

    PnL = realized PnL of positions closed in the window + a share of the open positions'
    mark-to-market PnL; volume = traded cash in the window (times ``multiplier``: the served
    activity may be only a sample) + the cost of closed ones (+ open ones' for ALL).
    """
    windows = [
        (period, now - span if span is not None else -1) for period, span in PERIOD_SECONDS.items()
    ]
    realized = dict.fromkeys(PERIODS, 0.0)
    cost = dict.fromkeys(PERIODS, 0.0)
    traded = dict.fromkeys(PERIODS, 0.0)
    for row in closed:
        ts = row["timestamp"]
        for period, since in windows:
            if ts >= since:
                realized[period] += row["realizedPnl"]
                cost[period] += row["totalBought"] * row["avgPrice"]
    for row in activity:
        ts = row["timestamp"]
        for period, since in windows:
            if ts >= since:
                traded[period] += row["usdcSize"]
    open_pnl = sum(p["cashPnl"] for p in positions)
    open_cost = sum(p["initialValue"] for p in positions)
    pnl = {p: realized[p] + OPEN_PNL_SHARE[p] * open_pnl for p in PERIODS}
    vol = {p: traded[p] * multiplier + cost[p] for p in PERIODS}
    vol["ALL"] += open_cost
    return pnl, vol


def _mixed_case(rng: random.Random, wallet: str) -> str:
    """EIP-55-looking case (the real checksum needs keccak; tests only need mixed case)."""
    flipped = (c.upper() if c.isalpha() and rng.random() < 0.5 else c for c in wallet[2:])
    return "0x" + "".join(flipped)


_by_timestamp = operator.itemgetter("timestamp")


class TraderFactory:
    """Builds the traders of one world: trader ``index`` is always the same trader.

    Reads the world's ``seed``, ``now`` and its open and resolved markets (current objects, fixed
    membership), so a trader made later sees markets moved or resolved since.
    """

    def __init__(self, world: World) -> None:
        self.world = world

    def make(self, index: int) -> FakeTrader:
        """Trader number ``index`` of the world (see :meth:`World.make_trader`)."""
        rng = random.Random(f"trader:{self.world.seed}:{index}")
        wallet = f"0x{rng.getrandbits(160):040x}"
        if index % 20 == 3:
            kind = "maker"
        elif index % 20 == 7:
            kind = "lucky"
        elif index % 20 == 11:
            kind = "consistent"
        elif index % 4 == 2:
            kind = "loser"
        else:
            kind = "regular"

        if index in SPECIAL_NAMES:
            user_name = SPECIAL_NAMES[index]
        elif index % 10 == 9:
            created_ms = rng.randint(1_650_000_000_000, 1_760_000_000_000)
            user_name = f"{_mixed_case(rng, wallet)}-{created_ms}"
        else:
            # Unique by construction: the (adjective, noun) pair encodes the index.
            adjective = _ADJECTIVES[index % len(_ADJECTIVES)]
            noun = _NOUNS[(index // len(_ADJECTIVES)) % len(_NOUNS)]
            base = adjective + noun
            if index >= len(_ADJECTIVES) * len(_NOUNS):
                base += f"_{index}"
            style = rng.random()
            if style < 0.3:
                user_name = base.lower()
            elif style < 0.55:
                user_name = f"{base}{rng.randint(1, 2030)}"
            else:
                user_name = base
        pseudonym = f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}"
        profile_image = (
            f"{S3}/profile-image-{rng.randint(1000, 9_999_999)}-{rng.getrandbits(64):016x}.png"
            if rng.random() < 0.4
            else ""
        )
        x_username = ""
        if rng.random() < 0.2:
            x_username = f"{pseudonym.split('-')[1].lower()}{rng.randint(1, 999)}"
        bio = rng.choice(_BIOS)
        verified = rng.random() < 0.05
        positions = self._make_positions(rng, wallet, kind)
        identity = (user_name, pseudonym, bio, profile_image)
        if self.world.history_days:
            # A long history in which every trader keeps their edge (the score backtest's world).
            closed, activity, maker_tx = history_rows(
                rng, self.world, wallet, kind, identity, self.world.history_days
            )
            multiplier = 1.0  # the whole history is served: nothing is sampled
        else:
            closed = self._make_closed(rng, wallet, kind)
            activity, maker_tx = self._make_activity(rng, wallet, kind, positions, closed, identity)
            # Makers trade far more than their served activity shows.
            maker = kind == "maker"
            multiplier = 800 + 1700 * rng.random() if maker else 1.0 + 2.0 * rng.random()
        pnl, vol = window_totals(self.world.now, multiplier, positions, closed, activity)
        return FakeTrader(
            wallet=wallet,
            user_name=user_name,
            pnl=pnl,
            vol=vol,
            positions=positions,
            closed_positions=closed,
            activity=activity,
            kind=kind,
            x_username=x_username,
            profile_image=profile_image,
            verified=verified,
            pseudonym=pseudonym,
            bio=bio,
            maker_tx=frozenset(maker_tx),
            volume_multiplier=multiplier,
        )

    # The generators below draw with rng.random() and arithmetic instead of rng.choice/gauss/
    # lognormvariate: 5,000 traders must build in a few seconds for the benchmarks.

    def _make_positions(self, rng: random.Random, wallet: str, kind: str) -> list[Row]:
        rnd = rng.random
        opened, resolved = self.world._open, self.world._closed
        n_open, n_resolved = len(opened), len(resolved)
        maker = kind == "maker"
        count = 15 + int(rnd() * 6) if maker else 5 + int(rnd() * 16)
        drift = 0.06 if kind == "loser" else 0.0
        rows: list[Row] = []
        for _ in range(count):
            redeemable = rnd() < 0.1  # resolved but not redeemed yet (often worthless)
            if redeemable:
                market = resolved[int(rnd() * n_resolved)]
                outcome_index = 1 if rnd() < 0.5 else 0
                cur_price = 1.0 if market.winner == outcome_index else 0.0
            else:
                market = opened[int(rnd() * n_open)]
                outcome_index = 1 if rnd() < 0.5 else 0
                cur_price = market.prices[outcome_index]
                if market.closed:  # resolved by resolve_market after the fake was built
                    redeemable = True
                    cur_price = 1.0 if market.winner == outcome_index else 0.0
            if maker:
                avg_price = cur_price + (rnd() - 0.5) * 0.02
                size = round(math.exp(7.5 + 3.0 * rnd()), 2)
            else:
                avg_price = cur_price + drift + (rnd() + rnd() + rnd() - 1.5) * 0.25
                size = round(5 + math.exp(1.5 + 6.5 * rnd()), 2)
            avg_price = round(0.01 if avg_price < 0.01 else min(avg_price, 0.99), 4)
            initial = size * avg_price
            current = size * cur_price
            cash_pnl = current - initial
            realized = 0.0 if rnd() < 0.7 else round((rnd() - 0.5) * 0.1 * initial, 4)
            row = market.position_templates[outcome_index].copy()
            row["proxyWallet"] = wallet
            row["size"] = size
            row["avgPrice"] = avg_price
            row["initialValue"] = initial
            row["currentValue"] = current
            row["cashPnl"] = cash_pnl
            row["percentPnl"] = cash_pnl / initial * 100
            row["totalBought"] = round(size * (1 + 0.6 * rnd()), 2)
            row["realizedPnl"] = realized
            row["percentRealizedPnl"] = realized / initial * 100
            row["curPrice"] = cur_price
            row["redeemable"] = redeemable
            if maker and rnd() < 0.3:
                row["mergeable"] = True
            rows.append(row)
        return rows

    def _make_closed(self, rng: random.Random, wallet: str, kind: str) -> list[Row]:
        """Closed positions; PnL follows the archetype (see :meth:`make_trader`)."""
        rnd = rng.random
        log = math.log
        resolved = self.world._closed
        n_resolved = len(resolved)
        now = self.world.now
        if kind == "lucky":
            count = 10 + int(rnd() * 21)
        elif kind == "consistent":
            count = 40 + int(rnd() * 21)
        else:
            count = 10 + int(rnd() * rnd() * 51)
        lucky_at = int(rnd() * count) if kind == "lucky" else -1
        rows: list[Row] = []
        for n in range(count):
            market = resolved[int(rnd() * n_resolved)]
            winner = market.winner
            age = int(-log(1.0 - rnd()) * 25 * 86_400)
            if age > 400 * 86_400:
                age = 400 * 86_400
            if n == lucky_at:
                # One long shot that paid: most of this wallet's PnL, within the last month.
                outcome_index = winner
                avg_price = round(0.02 + 0.06 * rnd(), 4)
                bought = round(60_000 + 240_000 * rnd(), 2)
                exit_price = 1.0
                age = int((3 + 17 * rnd()) * 86_400)
            elif kind == "consistent":
                # A steady edge: fair-priced bets that win 12 points more often than their
                # price says, a few every week of the last ten, held to resolution.
                avg_price = round(0.3 + 0.4 * rnd(), 4)
                won = rnd() < avg_price + 0.12
                bought = round(50 + 450 * rnd(), 2)
                exit_price = 1.0 if won else 0.0
                outcome_index = winner if won else 1 - winner
                age = int(rnd() * 70 * 86_400)
            elif kind == "maker":
                # Makers round-trip: exit close to entry, PnL a rounding error of the volume.
                outcome_index = 1 if rnd() < 0.5 else 0
                avg_price = round(0.1 + 0.8 * rnd(), 4)
                bought = round(math.exp(7.5 + 3.0 * rnd()), 2)
                exit_price = avg_price + (rnd() - 0.45) * 0.012
            else:
                bought = round(5 + math.exp(1.5 + 6.0 * rnd()), 2)
                if kind == "lucky":
                    bought = round(bought / 4, 2)  # everything else is small change
                if kind == "loser":
                    won = rnd() < 0.3
                    # Buys favourites that win little, and loses big when they don't.
                    avg_price = 0.6 + 0.35 * rnd() if won else 0.25 + 0.65 * rnd()
                else:
                    won = rnd() < (0.4 if kind == "lucky" else 0.58)
                    avg_price = 0.05 + 0.9 * rnd()
                avg_price = round(avg_price, 4)
                if rnd() < 0.2:  # sold before resolution
                    exit_price = avg_price + (rnd() + rnd() - (1.1 if won else 0.9)) * 0.15
                    exit_price = 0.01 if exit_price < 0.01 else min(exit_price, 0.99)
                    outcome_index = 1 if rnd() < 0.5 else 0
                else:
                    exit_price = 1.0 if won else 0.0
                    outcome_index = winner if won else 1 - winner
            row = market.closed_templates[outcome_index].copy()
            row["proxyWallet"] = wallet
            row["avgPrice"] = avg_price
            row["totalBought"] = bought
            row["realizedPnl"] = round(bought * (exit_price - avg_price), 6)
            row["timestamp"] = now - age
            rows.append(row)
        return rows

    def _make_activity(
        self,
        rng: random.Random,
        wallet: str,
        kind: str,
        positions: list[Row],
        closed: list[Row],
        identity: tuple[str, str, str, str],
    ) -> tuple[list[Row], list[str]]:
        """TRADE rows, newest first, on the trader's own markets.

        Some rows share a transaction (multi-fill) and ~3% carry the ``outcomeIndex`` 999
        sentinel seen live, so the bot has to match outcomes by ``asset``.
        """
        rnd = rng.random
        getrandbits = rng.getrandbits
        log = math.log
        now = self.world.now
        name, pseudonym, bio, profile_image = identity
        maker = kind == "maker"
        count = 80 + int(rnd() * 21) if maker else 20 + int(rnd() * rnd() * 81)
        mean_age = 0.5 * 86_400 if maker else 6 * 86_400
        if kind == "consistent":  # trades every week, in moderate sizes
            count, mean_age = 60 + int(rnd() * 41), 12 * 86_400
        max_age = 200 * 86_400
        maker_share = 0.9 if maker else 0.2
        size_lo, size_span = (4.0, 5.0) if maker else (1.0, 6.0)
        sources = positions + closed
        n_sources = len(sources)
        n_open = len(positions)
        # One row template per source position (built on first use), keys in the live order:
        # a C-level dict copy plus a few stores is much cheaper than a 21-key literal per row.
        templates: dict[int, Row] = {}

        def template(pick: int) -> Row:
            src = sources[pick]
            row = templates[pick] = {
                "proxyWallet": wallet,
                "timestamp": 0,
                "conditionId": src["conditionId"],
                "type": "TRADE",
                "size": 0.0,
                "usdcSize": 0.0,
                "transactionHash": "",
                "price": 0.0,
                "asset": src["asset"],
                "side": "BUY",
                "outcomeIndex": src["outcomeIndex"],
                "title": src["title"],
                "slug": src["slug"],
                "icon": src["icon"],
                "eventSlug": src["eventSlug"],
                "outcome": src["outcome"],
                "name": name,
                "pseudonym": pseudonym,
                "bio": bio,
                "profileImage": profile_image,
                "profileImageOptimized": "",
            }
            return row

        rows: list[Row] = []
        maker_tx: list[str] = []
        tx = ""
        for _ in range(count):
            pick = int(rnd() * n_sources)
            price = sources[pick]["avgPrice"] + (rnd() - 0.5) * 0.08
            price = 0.001 if price < 0.001 else min(price, 0.999)
            size = math.exp(size_lo + size_span * rnd())
            if not tx or rnd() > 0.05:
                tx = f"0x{getrandbits(256):064x}"
                if rnd() < maker_share:
                    maker_tx.append(tx)
            age = int(-log(1.0 - rnd()) * mean_age)
            base = templates.get(pick)
            row = (base if base is not None else template(pick)).copy()
            row["timestamp"] = now - (age if age < max_age else max_age)
            row["size"] = size
            row["usdcSize"] = size * price
            row["transactionHash"] = tx
            row["price"] = price
            if pick >= n_open and rnd() < 0.5:
                row["side"] = "SELL"
            if rnd() < 0.03:
                row["outcomeIndex"] = 999
            rows.append(row)
        rows.sort(key=_by_timestamp, reverse=True)
        return rows, maker_tx

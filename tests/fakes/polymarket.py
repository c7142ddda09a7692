"""A local fake of Polymarket's public HTTP APIs, for tests and benchmarks.

Why a fake and not recorded responses: the bot's hard parts are paging, sorting, validation and
surviving upstream failures (429 with Retry-After, Cloudflare HTML, truncated JSON, hangs). A
real server on 127.0.0.1 exercises the bot's actual HTTP stack (aiohttp, timeouts, retries)
against those behaviours on demand, deterministically, and without the network.

Shapes follow the real **v1** wire format documented in ../shared/polymarket-api.md §1 and the
captures in ../shared/fixtures/polymarket/: bare JSON arrays, camelCase keys, ``rank`` as a
string, lowercase ``proxyWallet`` in Data API rows, unix-second ``timestamp`` integers,
``{"error": "..."}`` bodies on 400/404. Data API, Gamma and CLOB paths share one host, so every
base URL of the bot can point at :attr:`FakePolymarket.base_url`.

Traders are synthetic but deterministic (``seed`` and trader index), with spreads a ranking has
to cope with: market-maker-like wallets (huge volume, tiny PnL), one-lucky-bet wallets (one
closed position holds most of the PnL), losers, default ``0x<Address>-<ms>`` usernames and
names that need Discord escaping (``@everyone``, ``**bold**``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import heapq
import itertools
import json
import math
import operator
import random
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

Row = dict[str, Any]

WALLET_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
CONDITION_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")

PERIODS: tuple[str, ...] = ("DAY", "WEEK", "MONTH", "ALL")
PERIOD_SECONDS: dict[str, int | None] = {
    "DAY": 86_400,
    "WEEK": 7 * 86_400,
    "MONTH": 30 * 86_400,
    "ALL": None,
}
# Share of the open positions' mark-to-market PnL that a window's PnL includes.
OPEN_PNL_SHARE: dict[str, float] = {"DAY": 0.1, "WEEK": 0.3, "MONTH": 0.6, "ALL": 1.0}
LEADERBOARD_CATEGORIES: frozenset[str] = frozenset(
    {
        "OVERALL", "POLITICS", "SPORTS", "ESPORTS", "CRYPTO", "CULTURE", "MENTIONS",
        "WEATHER", "ECONOMICS", "TECH", "FINANCE",
    }
)  # fmt: skip
ACTIVITY_TYPES: frozenset[str] = frozenset(
    {
        "TRADE", "SPLIT", "MERGE", "REDEEM", "REWARD", "CONVERSION", "MAKER_REBATE",
        "TAKER_REBATE", "REFERRAL_REWARD",
    }
)  # fmt: skip
FAULT_KINDS: frozenset[str] = frozenset(
    {"500", "503_html", "429", "html403", "timeout", "truncated", "junk200"}
)

LEADERBOARD_MAX_ROWS = 50  # real API: at most 50 rows per page whatever ``limit`` says
LEADERBOARD_MAX_OFFSET = 1000
ACTIVITY_MAX_OFFSET = 3000  # observed cap (docs say 10,000; live API refuses earlier, §1.4)
TIMEOUT_FAULT_SECONDS = 30.0  # longer than any client timeout the bot or the tests use

S3 = "https://polymarket-upload.s3.us-east-2.amazonaws.com"

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
_TEAMS = (
    "Real Madrid", "Inter", "Arsenal", "Lakers", "Celtics", "Yankees", "Dodgers", "Chiefs",
    "Eagles", "Bayern", "Barcelona", "Warriors", "Knicks", "Bruins", "Liverpool", "Juventus",
)  # fmt: skip
_PEOPLE = (
    "JD Vance", "Gavin Newsom", "Marco Rubio", "Josh Shapiro", "AOC", "Pete Buttigieg",
    "Kamala Harris", "Donald Trump Jr.", "Tucker Carlson", "Wes Moore",
)  # fmt: skip
_COINS = ("Bitcoin", "Ethereum", "Solana", "XRP", "Dogecoin")
_CITIES = ("Wellington", "London", "NYC", "Seoul", "Paris", "Toronto", "Chicago", "Tokyo")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
# Names that a Discord embed must escape; placed at fixed indices so tests can find them.
SPECIAL_NAMES: dict[int, str] = {
    4: "@everyone",
    5: "**bold**",
    6: "__under__ `tick` ~~gone~~",
    8: "<@123456789012345678> ||spoiler|| @here",
}
_BIOS = ("", "", "", "", "gm", "what is your plan", "Lets go", "not financial advice", "[link](x)")
_FAKE_HTML_403 = (
    '<!DOCTYPE html>\n<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> '
    '<![endif]-->\n<html lang="en-US"><head><title>Attention Required! | Cloudflare</title>'
    '<meta charset="UTF-8" /></head><body><div id="cf-wrapper"><h1 data-translate='
    '"block_headline">Sorry, you have been blocked</h1><h2 class="cf-subheadline">You are '
    "unable to access polymarket.com</h2><p>Cloudflare Ray ID: <strong>8f2a1b3c4d5e6f70"
    "</strong></p></div></body></html>\n"
)
_FAKE_HTML_503 = (
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>cloudflare"
    "</center>\r\n</body>\r\n</html>\r\n"
)
_FAKE_HTML_200 = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head><body>'
    "<noscript>Enable JavaScript and cookies to continue</noscript></body></html>"
)


POSITION_SORTS: dict[str, Callable[[Row], Any]] = {
    "CURRENT": lambda r: r["currentValue"],
    "INITIAL": lambda r: r["initialValue"],
    "TOKENS": lambda r: r["size"],
    "CASHPNL": lambda r: r["cashPnl"],
    "PERCENTPNL": lambda r: r["percentPnl"],
    "TITLE": lambda r: r["title"],
    "RESOLVING": lambda r: r["endDate"],
    "PRICE": lambda r: r["curPrice"],
    "AVGPRICE": lambda r: r["avgPrice"],
}

CLOSED_SORTS: dict[str, Callable[[Row], Any]] = {
    "REALIZEDPNL": lambda r: r["realizedPnl"],
    "TITLE": lambda r: r["title"],
    "PRICE": lambda r: r["curPrice"],
    "AVGPRICE": lambda r: r["avgPrice"],
    "TIMESTAMP": lambda r: r["timestamp"],
}

ACTIVITY_SORTS: dict[str, Callable[[Row], Any]] = {
    "TIMESTAMP": lambda r: r["timestamp"],
    "TOKENS": lambda r: r["size"],
    "CASH": lambda r: r["usdcSize"],
}


class BadRequest(Exception):
    """A query parameter the real API would refuse; answered as 400 ``{"error": ...}``."""


class _NotFound(BadRequest):
    """A lookup miss inside a known route (CLOB unknown token): 404, not 400."""


@dataclass(frozen=True, slots=True)
class FakeMarket:
    """One binary market of the synthetic universe; rows of every endpoint point into these."""

    condition_id: str
    token_ids: tuple[str, str]
    outcomes: tuple[str, str]
    title: str
    slug: str
    icon: str
    event_slug: str
    event_id: str
    event_title: str
    end_date: str  # YYYY-MM-DD (as /positions shows it)
    end_iso: str  # YYYY-MM-DDT00:00:00Z (as /closed-positions shows it)
    neg_risk: bool
    prices: tuple[float, float]  # current prices of both outcomes (open markets)
    closed: bool
    winner: int  # winning outcome index (closed markets), else -1
    market_id: str
    # Per-outcome row skeletons in the live key order; rows are copies (never mutate these).
    position_templates: tuple[Row, Row] = field(default=({}, {}), compare=False, repr=False)
    closed_templates: tuple[Row, Row] = field(default=({}, {}), compare=False, repr=False)


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
    kind: str = "regular"  # "regular" | "maker" | "lucky" | "loser" (for tests to pick from)
    x_username: str = ""
    profile_image: str = ""
    verified: bool = False
    pseudonym: str = ""
    bio: str = ""
    # Transactions where this wallet was the maker: /trades hides them when takerOnly=true.
    maker_tx: frozenset[str] = frozenset()

    def leaderboard_row(self, period: str, rank: int) -> Row:
        """The v1 ``/v1/leaderboard`` row, key order as in the live capture."""
        return {
            "rank": str(rank),
            "proxyWallet": self.wallet,
            "userName": self.user_name,
            "xUsername": self.x_username,
            "verifiedBadge": self.verified,
            "vol": self.vol.get(period, 0.0),
            "pnl": self.pnl.get(period, 0.0),
            "profileImage": self.profile_image,
        }


@dataclass
class _Fault:
    pattern: str
    kind: str
    remaining: int
    retry_after: float

    def matches(self, path: str) -> bool:
        if self.pattern.endswith("*"):
            return path.startswith(self.pattern[:-1])
        return path == self.pattern


def _hex(rng: random.Random, nbytes: int) -> str:
    return f"0x{rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"


def _token_id(rng: random.Random) -> str:
    """A 70–78 digit decimal token id, like the real ERC-1155 ids (never a float-safe int)."""
    return str(rng.getrandbits(255) | (1 << 240))


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _mixed_case(rng: random.Random, wallet: str) -> str:
    """EIP-55-looking case (the real checksum needs keccak; tests only need mixed case)."""
    flipped = (c.upper() if c.isalpha() and rng.random() < 0.5 else c for c in wallet[2:])
    return "0x" + "".join(flipped)


_by_timestamp = operator.itemgetter("timestamp")


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


@functools.lru_cache(maxsize=16)
def market_pool(seed: int, day: int, count: int = 400) -> tuple[FakeMarket, ...]:
    """The fixed pool of markets (about a third resolved) that every trader's rows point into.

    Cached per (seed, day): markets are immutable and many fakes of one test run share them.
    """
    rng = random.Random(f"markets:{seed}")
    today = day * 86_400
    markets: list[FakeMarket] = []
    for n in range(count):
        family = n % 4
        day_of_month = rng.randint(1, 28)
        month = rng.choice(_MONTHS)
        if family == 0:
            team, other = rng.sample(_TEAMS, 2)
            month_number = _MONTHS.index(month) + 1
            title = f"Will {team} win on 2026-{month_number:02d}-{day_of_month:02d}?"
            event_title = f"{team} vs. {other}"
            outcomes = ("Yes", "No") if rng.random() < 0.7 else (team, other)
        elif family == 1:
            person = rng.choice(_PEOPLE)
            title = f"Will {person} win the 2028 US Presidential Election?"
            event_title = "Presidential Election Winner 2028"
            outcomes = ("Yes", "No")
        elif family == 2:
            coin = rng.choice(_COINS)
            title = f"{coin} Up or Down on {month} {day_of_month}?"
            event_title = f"{coin} daily {month} {day_of_month}"
            outcomes = ("Up", "Down")
        else:
            city = rng.choice(_CITIES)
            temp = rng.randint(-5, 38)
            title = f"Will the highest temperature in {city} be {temp}°C on {month} {day_of_month}?"
            event_title = f"Highest temperature in {city} on {month} {day_of_month}?"
            outcomes = ("Yes", "No")
        slug = f"{_slugify(title)}-{n}"
        closed = rng.random() < 0.35
        end_ts = today + (-1 if closed else 1) * rng.randint(1, 200) * 86_400
        event_slug = "" if rng.random() < 0.1 else _slugify(event_title)
        price = round(rng.uniform(0.02, 0.98), 3)
        market = FakeMarket(
            condition_id=_hex(rng, 32),
            token_ids=(_token_id(rng), _token_id(rng)),
            outcomes=outcomes,
            title=title,
            slug=slug,
            icon="" if rng.random() < 0.1 else f"{S3}/{slug[:40]}-{rng.getrandbits(40):x}.png",
            event_slug=event_slug,
            event_id=str(10_000 + n // 3),
            event_title=event_title,
            end_date=_date(end_ts),
            end_iso=f"{_date(end_ts)}T00:00:00Z",
            neg_risk=family == 1,
            prices=(price, round(1 - price, 3)),
            closed=closed,
            winner=rng.randint(0, 1) if closed else -1,
            market_id=str(500_000 + n),
        )
        markets.append(_with_templates(market))
    return tuple(markets)


def _with_templates(market: FakeMarket) -> FakeMarket:
    """Attach the per-outcome row skeletons that the trader generators copy."""
    positions: list[Row] = []
    closed: list[Row] = []
    for index in (0, 1):
        other = 1 - index
        positions.append(
            {
                "proxyWallet": "",
                "asset": market.token_ids[index],
                "conditionId": market.condition_id,
                "size": 0.0,
                "avgPrice": 0.0,
                "initialValue": 0.0,
                "currentValue": 0.0,
                "cashPnl": 0.0,
                "percentPnl": 0.0,
                "totalBought": 0.0,
                "realizedPnl": 0.0,
                "percentRealizedPnl": 0.0,
                "curPrice": 0.0,
                "redeemable": False,
                "mergeable": False,
                "title": market.title,
                "slug": market.slug,
                "icon": market.icon,
                "eventId": market.event_id,
                "eventSlug": market.event_slug,
                "outcome": market.outcomes[index],
                "outcomeIndex": index,
                "oppositeOutcome": market.outcomes[other],
                "oppositeAsset": market.token_ids[other],
                "endDate": market.end_date,
                "negativeRisk": market.neg_risk,
            }
        )
        closed.append(
            {
                "proxyWallet": "",
                "asset": market.token_ids[index],
                "conditionId": market.condition_id,
                "avgPrice": 0.0,
                "totalBought": 0.0,
                "realizedPnl": 0.0,
                "curPrice": 1.0 if market.winner == index else 0.0,
                "timestamp": 0,
                "title": market.title,
                "slug": market.slug,
                "icon": market.icon,
                "eventSlug": market.event_slug,
                "outcome": market.outcomes[index],
                "outcomeIndex": index,
                "oppositeOutcome": market.outcomes[other],
                "oppositeAsset": market.token_ids[other],
                "endDate": market.end_iso,
            }
        )
    return dataclasses.replace(
        market,
        position_templates=(positions[0], positions[1]),
        closed_templates=(closed[0], closed[1]),
    )


class FakePolymarket:
    """Data API v1 + a slice of Gamma and CLOB, served by aiohttp on 127.0.0.1.

    Usage::

        fake = FakePolymarket(n_traders=60, seed=1)
        await fake.start()
        ...  # point the bot's data/gamma/clob base URLs at fake.base_url
        fake.inject("/positions", "429", count=2, retry_after=0.1)
        await fake.stop()
    """

    def __init__(self, n_traders: int = 60, seed: int = 1) -> None:
        self.seed = seed
        self.now = int(time.time())
        self.base_url = ""
        self.traders: dict[str, FakeTrader] = {}
        self.latency = 0.0
        self.calls: collections.Counter[str] = collections.Counter()
        self.hold: asyncio.Event | None = None
        self._faults: list[_Fault] = []
        self._fail_all: str | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.markets: list[FakeMarket] = list(market_pool(seed, self.now // 86_400))
        self.markets_by_condition: dict[str, FakeMarket] = {m.condition_id: m for m in self.markets}
        self.markets_by_token: dict[str, tuple[FakeMarket, int]] = {
            token: (m, i) for m in self.markets for i, token in enumerate(m.token_ids)
        }
        self._open = [m for m in self.markets if not m.closed]
        self._closed = [m for m in self.markets if m.closed]
        for index in range(n_traders):
            self.add_trader(self.make_trader(index))
        self._routes: dict[str, Callable[[Mapping[str, str]], Any]] = {
            "/v1/leaderboard": self._leaderboard,
            "/positions": self._positions,
            "/closed-positions": self._closed_positions,
            "/activity": self._activity,
            "/trades": self._trades,
            "/value": self._value,
            "/traded": self._traded,
            "/markets": self._gamma_markets,
            "/book": self._clob_book,
            "/midpoint": self._clob_midpoint,
            "/price": self._clob_price,
        }

    # ------------------------------------------------------------------ synthetic universe

    def make_trader(self, index: int) -> FakeTrader:
        """Trader number ``index``: the same seed and index always give the same trader.

        Archetypes by index (so a test can rely on them): ``index % 20 == 3`` market maker,
        ``index % 20 == 7`` one lucky bet, ``index % 4 == 2`` loser, else regular; usernames of
        ``index % 10 == 9`` follow the default ``0x<MixedCase>-<ms>`` pattern; see
        :data:`SPECIAL_NAMES` for the names that need escaping. Independent of other indices, so
        ``make_trader(10_000)`` adds a new trader without shifting the existing ones.
        """
        rng = random.Random(f"trader:{self.seed}:{index}")
        wallet = f"0x{rng.getrandbits(160):040x}"
        if index % 20 == 3:
            kind = "maker"
        elif index % 20 == 7:
            kind = "lucky"
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
        closed = self._make_closed(rng, wallet, kind)
        identity = (user_name, pseudonym, bio, profile_image)
        activity, maker_tx = self._make_activity(rng, wallet, kind, positions, closed, identity)
        pnl, vol = self._totals(rng, kind, positions, closed, activity)
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
        )

    # The generators below draw with rng.random() and arithmetic instead of rng.choice/gauss/
    # lognormvariate: 5,000 traders must build in a few seconds for the benchmarks.

    def _make_positions(self, rng: random.Random, wallet: str, kind: str) -> list[Row]:
        rnd = rng.random
        opened, resolved = self._open, self._closed
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
        resolved = self._closed
        n_resolved = len(resolved)
        now = self.now
        if kind == "lucky":
            count = 10 + int(rnd() * 21)
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
        now = self.now
        name, pseudonym, bio, profile_image = identity
        maker = kind == "maker"
        count = 80 + int(rnd() * 21) if maker else 20 + int(rnd() * rnd() * 81)
        mean_age = 0.5 * 86_400 if maker else 6 * 86_400
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

    def _totals(
        self,
        rng: random.Random,
        kind: str,
        positions: list[Row],
        closed: list[Row],
        activity: list[Row],
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Per-window PnL and volume consistent with the rows; windows nest (DAY within ALL).

        PnL = realized PnL of positions closed in the window + a share of the open positions'
        mark-to-market PnL; volume = traded cash in the window (scaled: the served activity is
        only a recent sample; makers trade far more than they show) + the cost of closed ones.
        """
        multiplier = 800 + 1700 * rng.random() if kind == "maker" else 1.0 + 2.0 * rng.random()
        windows = [
            (period, self.now - span if span is not None else -1)
            for period, span in PERIOD_SECONDS.items()
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

    def add_trader(self, trader: FakeTrader) -> None:
        """Register (or replace) a trader; it shows up in every endpoint from the next request."""
        self.traders[trader.wallet.lower()] = trader

    # ------------------------------------------------------------------ control

    def inject(self, path: str, kind: str, count: int = 1, retry_after: float = 1.0) -> None:
        """Fault the next ``count`` requests to ``path`` (prefix match when it ends with ``*``)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        self._faults.append(_Fault(path, kind, count, retry_after))

    def fail_all(self, kind: str | None) -> None:
        """Fault every request with ``kind`` until ``fail_all(None)``; an outage switch."""
        if kind is not None and kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        self._fail_all = kind

    def clear_faults(self) -> None:
        """Drop pending injected faults and the outage switch."""
        self._faults.clear()
        self._fail_all = None

    def reset_calls(self) -> None:
        """Zero the per-path counters, e.g. after warm-up, so a test counts only what it caused."""
        self.calls.clear()

    @property
    def pending_faults(self) -> int:
        """Injected faults not yet consumed (lets a test assert the bot really hit them)."""
        return sum(f.remaining for f in self._faults)

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port; ``base_url`` holds the real port afterwards."""
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that gave up (timeout) frees its handler at once.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop promptly, even with requests parked in ``hold`` or a ``timeout`` fault."""
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakePolymarket:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ request handling

    def _take_fault(self, path: str) -> _Fault | None:
        if self._fail_all is not None:
            return _Fault(path, self._fail_all, 1, 1.0)
        for fault in self._faults:
            if fault.remaining > 0 and fault.matches(path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds`` unless the server stops first."""
        if seconds <= 0:
            return
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _wait_hold(self) -> None:
        hold = self.hold
        if hold is None or hold.is_set():
            return
        assert self._stopping is not None
        waiters = {
            asyncio.ensure_future(hold.wait()),
            asyncio.ensure_future(self._stopping.wait()),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.calls[path] += 1
        fault = self._take_fault(path)
        await self._wait_hold()
        await self._pause(self.latency)
        if fault is not None and fault.kind != "truncated":
            return await self._fault_response(fault)
        status, payload = self._dispatch(request)
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        if fault is not None:  # truncated: a 200 that promises JSON and stops half way
            return web.Response(
                status=200, text=text[: max(1, len(text) // 2)], content_type="application/json"
            )
        return web.Response(status=status, text=text, content_type="application/json")

    async def _fault_response(self, fault: _Fault) -> web.Response:
        kind = fault.kind
        if kind == "500":
            return web.json_response({"error": "internal"}, status=500)
        if kind == "503_html":
            return web.Response(status=503, text=_FAKE_HTML_503, content_type="text/html")
        if kind == "429":
            wait = fault.retry_after
            header = str(int(wait)) if float(wait).is_integer() else f"{wait:g}"
            return web.json_response(
                {"error": "rate limited"}, status=429, headers={"Retry-After": header}
            )
        if kind == "html403":
            return web.Response(
                status=403,
                text=_FAKE_HTML_403,
                content_type="text/html",
                headers={"Server": "cloudflare", "CF-RAY": "8f2a1b3c4d5e6f70-AMS"},
            )
        if kind == "junk200":
            return web.Response(status=200, text=_FAKE_HTML_200, content_type="text/html")
        # "timeout": hang well past any client timeout; answer 504 if nobody gave up.
        await self._pause(TIMEOUT_FAULT_SECONDS)
        return web.json_response({"error": "gateway timeout"}, status=504)

    def _dispatch(self, request: web.Request) -> tuple[int, Any]:
        route = self._routes.get(request.path)
        if route is None:
            return 404, {"error": "not found"}
        if request.method not in ("GET", "HEAD"):
            return 405, {"error": "method not allowed"}
        try:
            return 200, route(request.query)
        except _NotFound as exc:
            return 404, {"error": str(exc)}
        except BadRequest as exc:
            return 400, {"error": str(exc)}

    # ------------------------------------------------------------------ parameter parsing

    @staticmethod
    def _int(
        query: Mapping[str, str],
        name: str,
        default: int,
        low: int,
        high: int,
        *,
        clamp: bool = False,
    ) -> int:
        raw = query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"invalid {name}: {raw!r} is not an integer") from None
        if value < low:
            raise BadRequest(f"{name} must be >= {low}")
        if value > high:
            if clamp:
                return high
            raise BadRequest(f"{name} must be <= {high}")
        return value

    @staticmethod
    def _choice(query: Mapping[str, str], name: str, allowed: Iterable[str], default: str) -> str:
        raw = query.get(name)
        if raw is None or raw == "":
            return default
        allowed = tuple(allowed)
        if raw not in allowed:
            raise BadRequest(f"invalid {name}: {raw!r}; allowed: {', '.join(allowed)}")
        return raw

    @staticmethod
    def _bool(query: Mapping[str, str], name: str, default: bool) -> bool:
        raw = query.get(name)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise BadRequest(f"invalid {name}: {raw!r} is not a boolean")

    @staticmethod
    def _user(query: Mapping[str, str], *, required: bool) -> str | None:
        raw = query.get("user")
        if raw is None or raw == "":
            if required:
                raise BadRequest("user is required")
            return None
        if not WALLET_RE.match(raw):
            raise BadRequest("invalid user address")
        return raw.lower()

    @staticmethod
    def _float(query: Mapping[str, str], name: str, default: float | None) -> float | None:
        raw = query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise BadRequest(f"invalid {name}: {raw!r}") from None
        if not math.isfinite(value) or value < 0:
            raise BadRequest(f"invalid {name}: {raw!r}")
        return value

    def _market_filter(self, query: Mapping[str, str]) -> Callable[[Row], bool] | None:
        """``market`` (condition ids) and ``eventId`` (ints) are comma lists, mutually exclusive."""
        markets = query.get("market")
        events = query.get("eventId")
        if markets and events:
            raise BadRequest("market and eventId are mutually exclusive")
        if markets:
            ids = {m.strip().lower() for m in markets.split(",") if m.strip()}
            if not ids or not all(CONDITION_RE.match(m) for m in ids):
                raise BadRequest("invalid market: expected 0x-prefixed 64-hex condition ids")
            return lambda row: row["conditionId"].lower() in ids
        if events:
            parts = [e.strip() for e in events.split(",") if e.strip()]
            if not parts or not all(p.isdigit() and int(p) >= 1 for p in parts):
                raise BadRequest("invalid eventId")
            wanted = {str(int(p)) for p in parts}

            def in_event(row: Row) -> bool:
                market = self.markets_by_condition.get(row["conditionId"])
                event_id = row.get("eventId") or (market.event_id if market else None)
                return event_id in wanted

            return in_event
        return None

    @staticmethod
    def _title_filter(query: Mapping[str, str]) -> Callable[[Row], bool] | None:
        title = query.get("title")
        if not title:
            return None
        if len(title) > 100:
            raise BadRequest("title must be at most 100 characters")
        needle = title.lower()
        return lambda row: needle in str(row.get("title", "")).lower()

    @staticmethod
    def _sorted_page(
        rows: Iterable[Row],
        filters: Iterable[Callable[[Row], bool] | None],
        key: Callable[[Row], Any],
        descending: bool,
        offset: int,
        limit: int,
    ) -> list[Row]:
        active = [f for f in filters if f is not None]
        kept = [r for r in rows if all(f(r) for f in active)]
        kept.sort(key=key, reverse=descending)
        return [dict(r) for r in kept[offset : offset + limit]]

    def _rows_of(self, user: str, attribute: str) -> list[Row]:
        trader = self.traders.get(user)
        return list(getattr(trader, attribute)) if trader is not None else []

    # ------------------------------------------------------------------ Data API v1

    def _leaderboard(self, query: Mapping[str, str]) -> list[Row]:
        period = self._choice(query, "timePeriod", PERIODS, "DAY")
        order = self._choice(query, "orderBy", ("PNL", "VOL"), "PNL")
        category = self._choice(query, "category", sorted(LEADERBOARD_CATEGORIES), "OVERALL")
        limit = self._int(query, "limit", 25, 1, LEADERBOARD_MAX_ROWS, clamp=True)
        offset = self._int(query, "offset", 0, 0, LEADERBOARD_MAX_OFFSET)
        user = self._user(query, required=False)
        user_name = query.get("userName") or None

        traders: Iterator[FakeTrader] = iter(self.traders.values())
        if category != "OVERALL":
            # A deterministic third of the traders are active in any one category.
            traders = (t for t in traders if zlib.crc32(f"{t.wallet}:{category}".encode()) % 3 == 0)
        metric = self._metric(period, order)
        board = sorted(
            (t for t in traders if t.vol.get(period, 0.0) > 0 or t.pnl.get(period, 0.0) != 0),
            key=lambda t: (-metric(t), t.wallet),
        )
        if user is not None or user_name is not None:
            return [
                t.leaderboard_row(period, rank)
                for rank, t in enumerate(board, start=1)
                if (user is None or t.wallet == user)
                and (user_name is None or t.user_name == user_name)
            ][:limit]
        page = board[offset : offset + limit]
        return [t.leaderboard_row(period, offset + n) for n, t in enumerate(page, start=1)]

    @staticmethod
    def _metric(period: str, order: str) -> Callable[[FakeTrader], float]:
        if order == "VOL":
            return lambda t: t.vol.get(period, 0.0)
        return lambda t: t.pnl.get(period, 0.0)

    def _positions(self, query: Mapping[str, str]) -> list[Row]:
        user = self._user(query, required=True)
        assert user is not None
        limit = self._int(query, "limit", 100, 0, 500)
        offset = self._int(query, "offset", 0, 0, 10_000)
        sort_by = self._choice(query, "sortBy", POSITION_SORTS, "TOKENS")
        direction = self._choice(query, "sortDirection", ("ASC", "DESC"), "DESC")
        threshold = self._float(query, "sizeThreshold", 1.0)
        redeemable = self._bool(query, "redeemable", False)
        mergeable = self._bool(query, "mergeable", False)
        filters = [
            self._market_filter(query),
            self._title_filter(query),
            lambda r: r["size"] >= (threshold or 0.0),
            (lambda r: bool(r["redeemable"])) if redeemable else None,
            (lambda r: bool(r["mergeable"])) if mergeable else None,
        ]
        return self._sorted_page(
            self._rows_of(user, "positions"),
            filters,
            POSITION_SORTS[sort_by],
            direction == "DESC",
            offset,
            limit,
        )

    def _closed_positions(self, query: Mapping[str, str]) -> list[Row]:
        user = self._user(query, required=True)
        assert user is not None
        limit = self._int(query, "limit", 10, 0, 50)
        offset = self._int(query, "offset", 0, 0, 100_000)
        sort_by = self._choice(query, "sortBy", CLOSED_SORTS, "REALIZEDPNL")
        direction = self._choice(query, "sortDirection", ("ASC", "DESC"), "DESC")
        return self._sorted_page(
            self._rows_of(user, "closed_positions"),
            [self._market_filter(query), self._title_filter(query)],
            CLOSED_SORTS[sort_by],
            direction == "DESC",
            offset,
            limit,
        )

    def _time_filters(self, query: Mapping[str, str]) -> list[Callable[[Row], bool] | None]:
        start = self._int(query, "start", -1, 0, 2**53)
        end = self._int(query, "end", -1, 0, 2**53)
        side = self._choice(query, "side", ("BUY", "SELL"), "")
        return [
            (lambda r: r["timestamp"] >= start) if start >= 0 else None,
            (lambda r: r["timestamp"] <= end) if end >= 0 else None,
            (lambda r: r["side"] == side) if side else None,
        ]

    def _activity(self, query: Mapping[str, str]) -> list[Row]:
        user = self._user(query, required=True)
        assert user is not None
        limit = self._int(query, "limit", 100, 0, 500)
        offset = self._int(query, "offset", 0, 0, ACTIVITY_MAX_OFFSET)
        sort_by = self._choice(query, "sortBy", ACTIVITY_SORTS, "TIMESTAMP")
        direction = self._choice(query, "sortDirection", ("ASC", "DESC"), "DESC")
        types_raw = query.get("type")
        types: set[str] | None = None
        if types_raw:
            types = {t.strip() for t in types_raw.split(",") if t.strip()}
            if not types or not types <= ACTIVITY_TYPES:
                raise BadRequest(f"invalid type: {types_raw!r}")
        filters = [
            self._market_filter(query),
            (lambda r: r["type"] in types) if types is not None else None,
            *self._time_filters(query),
        ]
        return self._sorted_page(
            self._rows_of(user, "activity"),
            filters,
            ACTIVITY_SORTS[sort_by],
            direction == "DESC",
            offset,
            limit,
        )

    @staticmethod
    def _trade_row(row: Row) -> Row:
        """An activity TRADE row re-keyed as a v1 ``/trades`` row (spec order, no usdcSize)."""
        return {
            "proxyWallet": row["proxyWallet"],
            "side": row["side"],
            "asset": row["asset"],
            "conditionId": row["conditionId"],
            "size": row["size"],
            "price": row["price"],
            "timestamp": row["timestamp"],
            "title": row["title"],
            "slug": row["slug"],
            "icon": row["icon"],
            "eventSlug": row["eventSlug"],
            "outcome": row["outcome"],
            "outcomeIndex": row["outcomeIndex"],
            "name": row.get("name", ""),
            "pseudonym": row.get("pseudonym", ""),
            "bio": row.get("bio", ""),
            "profileImage": row.get("profileImage", ""),
            "profileImageOptimized": row.get("profileImageOptimized", ""),
            "transactionHash": row["transactionHash"],
        }

    def _trades(self, query: Mapping[str, str]) -> list[Row]:
        """Newest first; without ``user`` the platform-wide tape (all traders merged)."""
        user = self._user(query, required=False)
        limit = self._int(query, "limit", 100, 0, 10_000, clamp=True)
        offset = self._int(query, "offset", 0, 0, 10_000)
        taker_only = self._bool(query, "takerOnly", True)
        filter_type = self._choice(query, "filterType", ("CASH", "TOKENS"), "")
        filter_amount = self._float(query, "filterAmount", None)
        if bool(filter_type) != (filter_amount is not None):
            raise BadRequest("filterType and filterAmount must be given together")
        filters = [
            self._market_filter(query),
            *self._time_filters(query),
            lambda r: r["type"] == "TRADE",
        ]
        if filter_type == "CASH":
            filters.append(lambda r: r["size"] * r["price"] >= (filter_amount or 0.0))
        elif filter_type == "TOKENS":
            filters.append(lambda r: r["size"] >= (filter_amount or 0.0))
        active = [f for f in filters if f is not None]
        if user is None:
            traders = list(self.traders.values())
        else:
            traders = [self.traders[user]] if user in self.traders else []

        def rows_of(trader: FakeTrader) -> Iterator[Row]:
            hidden = trader.maker_tx if taker_only else frozenset()
            ordered = sorted(trader.activity, key=lambda r: r["timestamp"], reverse=True)
            for row in ordered:
                if row["transactionHash"] not in hidden and all(f(row) for f in active):
                    yield row

        merged = heapq.merge(
            *(rows_of(t) for t in traders), key=lambda r: r["timestamp"], reverse=True
        )
        return [self._trade_row(r) for r in itertools.islice(merged, offset, offset + limit)]

    def _value(self, query: Mapping[str, str]) -> list[Row]:
        user = self._user(query, required=True)
        assert user is not None
        positions = self._rows_of(user, "positions")
        market = self._market_filter(query)
        if market is not None:
            positions = [p for p in positions if market(p)]
        if not positions:
            return []
        return [{"user": user, "value": sum(p["currentValue"] for p in positions)}]

    def _traded(self, query: Mapping[str, str]) -> Row:
        user = self._user(query, required=True)
        assert user is not None
        trader = self.traders.get(user)
        if trader is None:
            return {"user": user, "traded": 0}
        rows = itertools.chain(trader.positions, trader.closed_positions, trader.activity)
        return {"user": user, "traded": len({r["conditionId"] for r in rows})}

    # ------------------------------------------------------------------ Gamma / CLOB slices

    def gamma_market(self, market: FakeMarket) -> Row:
        """A Gamma market object: JSON-in-string arrays, numbers-as-strings where live has them."""
        if market.closed:
            prices = ["1", "0"] if market.winner == 0 else ["0", "1"]
        else:
            prices = [f"{p:g}" for p in market.prices]
        volume = (zlib.crc32(market.condition_id.encode()) % 5_000_000) + 0.123456
        return {
            "id": market.market_id,
            "question": market.title,
            "conditionId": market.condition_id,
            "slug": market.slug,
            "endDate": market.end_iso,
            "endDateIso": market.end_date,
            "outcomes": json.dumps(list(market.outcomes)),
            "outcomePrices": json.dumps(prices),
            "clobTokenIds": json.dumps(list(market.token_ids)),
            "volume": f"{volume}",
            "volumeNum": volume,
            "active": True,
            "closed": market.closed,
            "archived": False,
            "acceptingOrders": not market.closed,
            "enableOrderBook": True,
            "icon": market.icon,
            "image": market.icon,
            "negRisk": market.neg_risk,
            "groupItemTitle": "",
            **({"umaResolutionStatus": "resolved"} if market.closed else {}),
            "events": [
                {"id": market.event_id, "slug": market.event_slug, "title": market.event_title}
            ],
        }

    def _gamma_markets(self, query: Mapping[str, str]) -> list[Row]:
        """Legacy ``/markets``: note ``closed`` defaults to false even for an explicit id."""
        limit = self._int(query, "limit", 100, 0, 1000, clamp=True)
        offset = self._int(query, "offset", 0, 0, 2000)
        closed = self._bool(query, "closed", False)

        def values(name: str) -> set[str]:
            getall = getattr(query, "getall", None)
            raw = getall(name, []) if getall is not None else [query.get(name, "")]
            return {v.strip() for item in raw for v in item.split(",") if v.strip()}

        slugs, tokens = values("slug"), values("clob_token_ids")
        conditions = {c.lower() for c in values("condition_ids")}
        found = [
            m
            for m in self.markets
            if m.closed == closed
            and (not slugs or m.slug in slugs)
            and (not conditions or m.condition_id in conditions)
            and (not tokens or tokens & set(m.token_ids))
        ]
        return [self.gamma_market(m) for m in found[offset : offset + limit]]

    def _book_for(self, query: Mapping[str, str]) -> tuple[FakeMarket, int]:
        token = query.get("token_id", "")
        if not token.isdigit():
            raise BadRequest("Invalid token id")
        hit = self.markets_by_token.get(token)
        if hit is None or hit[0].closed:
            raise _NotFound("No orderbook exists for the requested token id")
        return hit

    def _clob_book(self, query: Mapping[str, str]) -> Row:
        """Order book with the live quirk: both sides worst-first, so the best level is last."""
        market, index = self._book_for(query)
        mid = market.prices[index]
        bids = [round(mid - 0.01 * k, 2) for k in range(5, 0, -1) if mid - 0.01 * k > 0]
        asks = [round(mid + 0.01 * k, 2) for k in range(5, 0, -1) if mid + 0.01 * k < 1]
        size = zlib.crc32(market.token_ids[index].encode()) % 900 + 100
        return {
            "market": market.condition_id,
            "asset_id": market.token_ids[index],
            "timestamp": str(int(time.time() * 1000)),
            "hash": f"{zlib.crc32(market.slug.encode()):08x}" * 5,
            "bids": [{"price": f"{p:g}", "size": f"{size + 7 * n}.00"} for n, p in enumerate(bids)],
            "asks": [{"price": f"{p:g}", "size": f"{size + 5 * n}.00"} for n, p in enumerate(asks)],
            "min_order_size": "5",
            "tick_size": "0.01",
            "neg_risk": market.neg_risk,
            "last_trade_price": f"{mid:g}",
        }

    def _clob_midpoint(self, query: Mapping[str, str]) -> Row:
        market, index = self._book_for(query)
        return {"mid": f"{market.prices[index]:g}"}

    def _clob_price(self, query: Mapping[str, str]) -> Row:
        side = query.get("side", "")
        if side not in ("BUY", "SELL"):
            raise BadRequest("Invalid side")
        market, index = self._book_for(query)
        mid = market.prices[index]
        price = mid - 0.01 if side == "BUY" else mid + 0.01
        return {"price": f"{min(0.999, max(0.001, price)):.3f}"}

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

Gamma (§2) and CLOB (§3) follow ``gamma_market*.json``, ``gamma_public_search.json``,
``clob_market.json`` and ``clob_book.json``: JSON-in-string ``outcomes``/``outcomePrices``/
``clobTokenIds``, Gamma's ``closed=false`` default, worst-first book levels, snake_case CLOB
markets with ``tokens[].winner``.

Traders are synthetic but deterministic (``seed`` and trader index), with spreads a ranking has
to cope with: market-maker-like wallets (huge volume, tiny PnL), one-lucky-bet wallets (one
closed position holds most of the PnL), losers, default ``0x<Address>-<ms>`` usernames and
names that need Discord escaping (``@everyone``, ``**bold**``).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import dataclasses
import functools
import hashlib
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

GAMMA_MAX_OFFSET = 2000  # legacy Gamma lists answer 422 beyond this (use /markets/keyset)
# CLOB /prices-history ``interval`` values and the window each covers (None: since creation).
HISTORY_INTERVALS: dict[str, int | None] = {
    "1h": 3600,
    "6h": 6 * 3600,
    "1d": 86_400,
    "1w": 7 * 86_400,
    "1m": 30 * 86_400,
    "max": None,
    "all": None,
}
HISTORY_MAX_POINTS = 20_000  # finer requests are coarsened so one answer stays small
SEARCH_DEFAULT_LIMIT = 10  # /public-search events per page when limit_per_type is absent
# ``calls`` keys of the templated routes (every other path counts under itself).
CALL_KEY_MARKET_BY_SLUG = "/markets/slug"  # Gamma GET /markets/slug/{slug}
CALL_KEY_MARKET_BY_ID = "/markets/id"  # Gamma GET /markets/{id}
CALL_KEY_CLOB_MARKET = "/markets/condition"  # CLOB GET /markets/{condition_id}

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

    status = 400
    error_type: str | None = None  # Gamma adds ``"type"`` to its error bodies

    def payload(self) -> Row:
        if self.error_type is None:
            return {"error": str(self)}
        return {"type": self.error_type, "error": str(self)}


class _NotFound(BadRequest):
    """A lookup miss inside a known route (CLOB unknown token): 404, not 400."""

    status = 404


class _GammaNotFound(_NotFound):
    """Gamma's 404: ``{"type": "not found error", "error": ...}``."""

    error_type = "not found error"


class _Unprocessable(BadRequest):
    """Gamma's validation failure: 422 ``{"type": "validation error", "error": ...}``."""

    status = 422
    error_type = "validation error"


@dataclass(frozen=True, slots=True)
class FakeMarket:
    """One binary market of the synthetic universe; rows of every endpoint point into these.

    Frozen (the pool is cached and shared between fakes): :meth:`FakePolymarket.set_price` and
    :meth:`FakePolymarket.resolve_market` swap in a changed copy in that one fake only.
    """

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
    volume: float = 0.0
    liquidity: float = 0.0
    start_ts: int = 0  # creation, and the first point of /prices-history (unix s)
    closed_ts: int = 0  # resolution time (unix s); 0 while open
    question_id: str = ""


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

    def matches(self, *paths: str) -> bool:
        """True when the pattern names any of ``paths`` (the call key or the raw path)."""
        if self.pattern.endswith("*"):
            return any(path.startswith(self.pattern[:-1]) for path in paths)
        return self.pattern in paths


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
    event_ids: dict[str, str] = {}  # one Gamma event per event title
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
        condition_id = _hex(rng, 32)
        # Derived without the rng, so adding fields never shifts the generated universe.
        age_days = 20 + zlib.crc32(f"{condition_id}:start".encode()) % 300
        start_ts = min(today, end_ts) - age_days * 86_400
        start_ts += zlib.crc32(f"{condition_id}:hour".encode()) % 86_400
        liquidity = 0.0 if closed else zlib.crc32(f"{condition_id}:liq".encode()) % 400_000 + 0.25
        closed_ts = end_ts + 3600 + zlib.crc32(f"{condition_id}:shut".encode()) % 40_000
        market = FakeMarket(
            condition_id=condition_id,
            token_ids=(_token_id(rng), _token_id(rng)),
            outcomes=outcomes,
            title=title,
            slug=slug,
            icon="" if rng.random() < 0.1 else f"{S3}/{slug[:40]}-{rng.getrandbits(40):x}.png",
            event_slug=event_slug,
            event_id=event_ids.setdefault(event_title, str(10_000 + len(event_ids))),
            event_title=event_title,
            end_date=_date(end_ts),
            end_iso=f"{_date(end_ts)}T00:00:00Z",
            neg_risk=family == 1,
            prices=(price, round(1 - price, 3)),
            closed=closed,
            winner=rng.randint(0, 1) if closed else -1,
            market_id=str(500_000 + n),
            volume=_pool_volume(condition_id),
            liquidity=liquidity,
            start_ts=start_ts,
            closed_ts=closed_ts if closed else 0,
            question_id=_question_id(condition_id),
        )
        markets.append(_with_templates(market))
    return tuple(markets)


def _pool_volume(condition_id: str) -> float:
    return (zlib.crc32(condition_id.encode()) % 5_000_000) + 0.123456


def _question_id(condition_id: str) -> str:
    return "0x" + hashlib.sha256(f"question:{condition_id}".encode()).hexdigest()


def _iso(ts: float) -> str:
    """Gamma's millisecond ISO timestamps (``2025-07-11T18:35:56.805Z``)."""
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _event_slug(market: FakeMarket) -> str:
    """Gamma always names the event; Data API rows may carry ``eventSlug: ""`` (a live quirk)."""
    return market.event_slug or _slugify(market.event_title)


def _fmt(price: float) -> str:
    """A price as the APIs print it: ``0.42``, ``1``, ``0`` (never ``0.42000000000000004``)."""
    return f"{round(price, 6):g}"


def _book_levels(mid: float) -> tuple[list[float], list[float]]:
    """Bid and ask levels around ``mid``, worst first (the live order: best level last)."""
    bids = [round(mid - 0.01 * k, 2) for k in range(5, 0, -1) if mid - 0.01 * k > 0]
    asks = [round(mid + 0.01 * k, 2) for k in range(5, 0, -1) if mid + 0.01 * k < 1]
    return bids, asks


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
    """Data API v1 + the read side of Gamma and CLOB, served by aiohttp on 127.0.0.1.

    Usage::

        fake = FakePolymarket(n_traders=60, seed=1)
        await fake.start()
        ...  # point the bot's data/gamma/clob base URLs at fake.base_url
        fake.inject("/positions", "429", count=2, retry_after=0.1)
        await fake.stop()

    Routes: Data API ``/v1/leaderboard``, ``/positions``, ``/closed-positions``, ``/activity``,
    ``/trades``, ``/value``, ``/traded``; Gamma ``/markets``, ``/markets/keyset``,
    ``/markets/{id}``, ``/markets/slug/{slug}``, ``/public-search``; CLOB ``/book``,
    ``/midpoint``, ``/price``, ``/prices-history``, ``/markets/{condition_id}``.

    ``calls`` counts requests per path, except the templated routes, which count under one key
    each (:meth:`call_key`): ``"/markets/slug"``, ``"/markets/id"`` (Gamma by numeric id) and
    ``"/markets/condition"`` (CLOB by ``0x`` condition id). ``inject`` takes those keys, concrete
    paths or ``*`` prefixes; ``fail_all``, ``hold`` and ``latency`` cover every route.

    Markets: :attr:`markets` (also ``markets_by_condition``/``_token``/``_slug``/``_id``) is the
    universe every row points into; :meth:`add_market`, :meth:`set_price`,
    :meth:`resolve_market`, :meth:`market_for_token` and :meth:`market_for_condition` let a test
    create and move markets.
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
        # Every market this fake serves, in Gamma id order; entries are replaced (never mutated)
        # by set_price / resolve_market, so read them afresh rather than holding on to one.
        self.markets: list[FakeMarket] = list(market_pool(seed, self.now // 86_400))
        self.markets_by_condition: dict[str, FakeMarket] = {m.condition_id: m for m in self.markets}
        self.markets_by_token: dict[str, tuple[FakeMarket, int]] = {
            token: (m, i) for m in self.markets for i, token in enumerate(m.token_ids)
        }
        self.markets_by_slug: dict[str, FakeMarket] = {m.slug: m for m in self.markets}
        self.markets_by_id: dict[str, FakeMarket] = {m.market_id: m for m in self.markets}
        self._market_pos: dict[str, int] = {m.condition_id: n for n, m in enumerate(self.markets)}
        self._event_ids: dict[str, str] = {m.event_title: m.event_id for m in self.markets}
        self._added = 0
        self._next_event_id = max(int(e) for e in self._event_ids.values())
        # Generation pools of make_trader: fixed membership (determinism), current objects.
        self._open = [m for m in self.markets if not m.closed]
        self._closed = [m for m in self.markets if m.closed]
        self._pool_slot: dict[str, tuple[list[FakeMarket], int]] = {
            m.condition_id: (pool, n)
            for pool in (self._open, self._closed)
            for n, m in enumerate(pool)
        }
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
            "/markets/keyset": self._gamma_markets_keyset,
            "/public-search": self._gamma_search,
            "/book": self._clob_book,
            "/midpoint": self._clob_midpoint,
            "/price": self._clob_price,
            "/prices-history": self._clob_prices_history,
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

    # ------------------------------------------------------------------ markets control

    def add_market(
        self,
        question: str,
        outcomes: tuple[str, str] = ("Yes", "No"),
        prices: tuple[float, float] = (0.4, 0.6),
        slug: str | None = None,
        volume: float = 10_000.0,
        closed: bool = False,
        *,
        event_title: str | None = None,
        liquidity: float = 1_000.0,
        end_date: str | None = None,
        neg_risk: bool = False,
    ) -> Row:
        """Add a binary market and return its Gamma object (ids, slug and token ids to use).

        Deterministic per (seed, number of markets added so far). ``slug`` defaults to the
        slugified question (suffixed if taken). ``closed=True`` adds it already resolved, the
        outcome with the higher price winning. ``event_title`` joins an existing event of that
        title (or starts one); by default the market is alone in an event named after it.
        ``end_date`` is ``YYYY-MM-DD``. No trader holds it until a test adds rows that do.
        """
        if len(outcomes) != 2 or len(prices) != 2:
            raise ValueError("CLOB markets are binary: give two outcomes and two prices")
        if not all(0.0 <= p <= 1.0 for p in prices):
            raise ValueError(f"prices must be within [0, 1]: {prices!r}")
        base = slug or _slugify(question) or "market"
        if slug is not None and slug in self.markets_by_slug:
            raise ValueError(f"slug {slug!r} is taken")
        number = self._added
        self._added += 1
        if slug is None and base in self.markets_by_slug:
            base = f"{base}-{number}"
        rng = random.Random(f"added:{self.seed}:{number}")
        condition_id = _hex(rng, 32)
        token_ids = (_token_id(rng), _token_id(rng))
        while condition_id in self.markets_by_condition or set(token_ids) & set(
            self.markets_by_token
        ):
            condition_id = _hex(rng, 32)
            token_ids = (_token_id(rng), _token_id(rng))
        now = int(time.time())
        if end_date is None:
            end_date = _date(now + (-86_400 if closed else 30 * 86_400))
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", end_date):
            raise ValueError(f"end_date must be YYYY-MM-DD: {end_date!r}")
        if event_title is None:
            title, event_slug = question, base
            event_id = self._new_event_id()
        else:
            title, event_slug = event_title, _slugify(event_title)
            event_id = self._event_ids.get(event_title) or self._new_event_id()
            self._event_ids[event_title] = event_id
        winner = (0 if prices[0] >= prices[1] else 1) if closed else -1
        market = FakeMarket(
            condition_id=condition_id,
            token_ids=token_ids,
            outcomes=(str(outcomes[0]), str(outcomes[1])),
            title=question,
            slug=base,
            icon=f"{S3}/{base[:40]}-{rng.getrandbits(40):x}.png",
            event_slug=event_slug,
            event_id=event_id,
            event_title=title,
            end_date=end_date,
            end_iso=f"{end_date}T00:00:00Z",
            neg_risk=neg_risk,
            prices=self._resolved_prices(winner) if closed else (prices[0], prices[1]),
            closed=closed,
            winner=winner,
            market_id=str(900_000 + number),
            volume=float(volume),
            liquidity=0.0 if closed else float(liquidity),
            start_ts=now - 30 * 86_400,
            closed_ts=now if closed else 0,
            question_id=_question_id(condition_id),
        )
        market = _with_templates(market)
        self._market_pos[condition_id] = len(self.markets)
        self.markets.append(market)
        self._index(market)
        return self.gamma_market(market)

    def _new_event_id(self) -> str:
        self._next_event_id += 1
        return str(self._next_event_id)

    @staticmethod
    def _resolved_prices(winner: int) -> tuple[float, float]:
        return (1.0, 0.0) if winner == 0 else (0.0, 1.0)

    def _index(self, market: FakeMarket) -> None:
        self.markets_by_condition[market.condition_id] = market
        for index, token in enumerate(market.token_ids):
            self.markets_by_token[token] = (market, index)
        self.markets_by_slug[market.slug] = market
        self.markets_by_id[market.market_id] = market

    def _replace_market(self, market: FakeMarket) -> None:
        """Swap in a changed copy everywhere this fake looks markets up."""
        self.markets[self._market_pos[market.condition_id]] = market
        self._index(market)
        slot = self._pool_slot.get(market.condition_id)
        if slot is not None:
            pool, position = slot
            pool[position] = market
        self._reprice_positions(market)

    def _reprice_positions(self, market: FakeMarket) -> None:
        """Open positions on ``market`` follow its price; resolved ones become redeemable."""
        tokens = market.token_ids
        for trader in self.traders.values():
            for row in trader.positions:
                if row["conditionId"] != market.condition_id or row["asset"] not in tokens:
                    continue
                price = self._current_price(market, tokens.index(row["asset"]))
                row["curPrice"] = price
                row["currentValue"] = row["size"] * price
                row["cashPnl"] = row["currentValue"] - row["initialValue"]
                if row["initialValue"]:
                    row["percentPnl"] = row["cashPnl"] / row["initialValue"] * 100
                if market.closed:
                    row["redeemable"] = True

    @staticmethod
    def _current_price(market: FakeMarket, index: int) -> float:
        if market.closed:
            return 1.0 if market.winner == index else 0.0
        return float(market.prices[index])

    def resolve_market(self, condition_id: str, winning_outcome_index: int) -> None:
        """Resolve a market as the live APIs show it once settled.

        Gamma: ``closed`` true (``active`` stays true), ``acceptingOrders`` false, outcomePrices
        ``["1", "0"]``-style, ``umaResolutionStatus`` "resolved", ``closedTime`` now, and it
        drops out of ``/markets`` unless ``closed=true``. CLOB: ``/markets/{id}`` tokens carry
        ``winner``; ``/book``, ``/midpoint`` and ``/price`` answer 404. Data API: open positions on
        it turn redeemable at 1 or 0. ``/prices-history`` ends at the resolution.
        """
        market = self.markets_by_condition.get(condition_id.lower())
        if market is None:
            raise KeyError(f"unknown market {condition_id!r}")
        if winning_outcome_index not in (0, 1):
            raise ValueError("winning_outcome_index must be 0 or 1")
        self._replace_market(
            dataclasses.replace(
                market,
                closed=True,
                winner=winning_outcome_index,
                prices=self._resolved_prices(winning_outcome_index),
                liquidity=0.0,
                closed_ts=market.closed_ts or int(time.time()),
            )
        )

    def set_price(self, token_id: str, price: float) -> None:
        """Move one outcome's price (the other becomes ``1 - price``).

        Moves Gamma ``outcomePrices``, CLOB ``/midpoint``, ``/price``, ``/book`` (levels around
        the new mid) and ``/markets/{id}`` token prices, the last ``/prices-history`` point, and
        the ``curPrice``/value/PnL of open positions on it (leaderboard totals stay as they are).
        """
        hit = self.markets_by_token.get(token_id)
        if hit is None:
            raise KeyError(f"unknown token {token_id!r}")
        if not 0.0 <= price <= 1.0 or math.isnan(price):
            raise ValueError(f"price must be within [0, 1]: {price!r}")
        market, index = hit
        if market.closed:
            raise ValueError("market is resolved; its prices are final")
        prices = [0.0, 0.0]
        prices[index] = float(price)
        prices[1 - index] = round(1.0 - price, 6)
        self._replace_market(dataclasses.replace(market, prices=(prices[0], prices[1])))

    def market_for_token(self, token_id: str) -> Row | None:
        """The Gamma object of the market ``token_id`` belongs to, or None."""
        hit = self.markets_by_token.get(token_id)
        return self.gamma_market(hit[0]) if hit is not None else None

    def market_for_condition(self, condition_id: str) -> Row | None:
        """The Gamma object of the market with that condition id, or None."""
        market = self.markets_by_condition.get(condition_id.lower())
        return self.gamma_market(market) if market is not None else None

    # ------------------------------------------------------------------ control

    def inject(self, path: str, kind: str, count: int = 1, retry_after: float = 1.0) -> None:
        """Fault the next ``count`` requests to ``path`` (prefix match when it ends with ``*``).

        ``path`` may be a call key (``"/markets/slug"`` faults every slug lookup, see
        :meth:`call_key`) or a concrete path (``"/markets/slug/some-market"`` only that one).
        """
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

    def call_key(self, path: str) -> str:
        """The ``calls`` key (and ``inject`` name) of a request path.

        Fixed routes count under their path. The templated ones: Gamma ``/markets/slug/{slug}``
        → ``"/markets/slug"``, Gamma ``/markets/{id}`` → ``"/markets/id"``, CLOB
        ``/markets/{condition_id}`` (a ``0x`` id; same host, so told apart by the id's form) →
        ``"/markets/condition"``. Unknown paths count under themselves.
        """
        return self._route_for(path)[0]

    def _route_for(self, path: str) -> tuple[str, Callable[[Mapping[str, str]], Any] | None]:
        route = self._routes.get(path)
        if route is not None:
            return path, route
        if path.startswith("/markets/"):
            rest = path[len("/markets/") :]
            if rest.startswith("slug/"):
                slug = rest[len("slug/") :]
                if slug and "/" not in slug:
                    return CALL_KEY_MARKET_BY_SLUG, functools.partial(self._gamma_by_slug, slug)
            elif rest and "/" not in rest:
                if rest[:2].lower() == "0x":
                    return CALL_KEY_CLOB_MARKET, functools.partial(self._clob_market, rest)
                return CALL_KEY_MARKET_BY_ID, functools.partial(self._gamma_by_id, rest)
        return path, None

    def _take_fault(self, key: str, path: str) -> _Fault | None:
        if self._fail_all is not None:
            return _Fault(path, self._fail_all, 1, 1.0)
        for fault in self._faults:
            if fault.remaining > 0 and fault.matches(key, path):
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
        key, route = self._route_for(path)
        self.calls[key] += 1
        fault = self._take_fault(key, path)
        await self._wait_hold()
        await self._pause(self.latency)
        if fault is not None and fault.kind != "truncated":
            return await self._fault_response(fault)
        status, payload = self._dispatch(request, route)
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

    @staticmethod
    def _dispatch(
        request: web.Request, route: Callable[[Mapping[str, str]], Any] | None
    ) -> tuple[int, Any]:
        if route is None:
            return 404, {"error": "not found"}
        if request.method not in ("GET", "HEAD"):
            return 405, {"error": "method not allowed"}
        try:
            return 200, route(request.query)
        except BadRequest as exc:
            return exc.status, exc.payload()

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

    # ------------------------------------------------------------------ Gamma

    @staticmethod
    def _description(market: FakeMarket) -> str:
        yes, no = market.outcomes
        return (
            f'This market will resolve to "{yes}" if the answer to "{market.title}" is {yes}. '
            f'Otherwise, this market will resolve to "{no}".'
        )

    def gamma_market(self, market: FakeMarket, *, with_events: bool = True) -> Row:
        """A Gamma market object in the live shape (``gamma_market.json``, ``…_closed.json``).

        JSON-in-string ``outcomes``/``outcomePrices``/``clobTokenIds``; ``volume``/``liquidity``
        strings next to numeric ``volumeNum``/``liquidityNum``; resolved markets keep
        ``active: true`` and add ``closedTime`` and ``umaResolutionStatus``. ``with_events=False``
        leaves out ``events``, as in the markets embedded in an event.
        """
        closed = market.closed
        if closed:
            prices = ["1", "0"] if market.winner == 0 else ["0", "1"]
        else:
            prices = [_fmt(p) for p in market.prices]
        created = _iso(market.start_ts)
        row: Row = {
            "id": market.market_id,
            "question": market.title,
            "conditionId": market.condition_id,
            "slug": market.slug,
            "resolutionSource": "",
            "endDate": market.end_iso,
            "liquidity": f"{market.liquidity}",
            "startDate": created,
            "image": market.icon,
            "icon": market.icon,
            "description": self._description(market),
            "outcomes": json.dumps(list(market.outcomes)),
            "outcomePrices": json.dumps(prices),
            "volume": f"{market.volume}",
            "active": True,
            "closed": closed,
            "marketMakerAddress": "",
            "createdAt": created,
            "updatedAt": _iso(market.closed_ts or max(market.start_ts, self.now - 600)),
        }
        if closed:
            closed_at = datetime.fromtimestamp(market.closed_ts, UTC)
            row["closedTime"] = f"{closed_at:%Y-%m-%d %H:%M:%S}+00"
        row["new"] = False
        row["featured"] = False
        row["archived"] = False
        row["restricted"] = True
        row["groupItemTitle"] = ""
        row["questionID"] = market.question_id
        row["enableOrderBook"] = True
        row["orderPriceMinTickSize"] = 0.01
        row["orderMinSize"] = 5
        if closed:
            row["umaResolutionStatus"] = "resolved"
        row["volumeNum"] = market.volume
        row["liquidityNum"] = market.liquidity
        row["endDateIso"] = market.end_date
        row["startDateIso"] = created[:10]
        row["volume24hr"] = 0.0 if closed else round(market.volume * 0.004, 6)
        row["clobTokenIds"] = json.dumps(list(market.token_ids))
        row["umaBond"] = "500"
        row["umaReward"] = "5"
        row["acceptingOrders"] = not closed
        row["negRisk"] = market.neg_risk
        if not closed:  # quotes of the first outcome, as Gamma shows them
            bids, asks = _book_levels(market.prices[0])
            row["lastTradePrice"] = market.prices[0]
            if bids:
                row["bestBid"] = bids[-1]
            if asks:
                row["bestAsk"] = asks[-1]
            if bids and asks:
                row["spread"] = round(asks[-1] - bids[-1], 4)
        row["umaResolutionStatuses"] = '["proposed", "resolved"]' if closed else "[]"
        if with_events:
            row["events"] = [
                {"id": market.event_id, "slug": _event_slug(market), "title": market.event_title}
            ]
        return row

    def _gamma_event(self, markets: list[FakeMarket], shown: list[FakeMarket]) -> Row:
        """A Gamma event (numbers as numbers, unlike markets) embedding ``shown`` markets."""
        first = markets[0]
        slug = _event_slug(first)
        created = _iso(min(m.start_ts for m in markets))
        volume = sum(m.volume for m in markets)
        liquidity = sum(m.liquidity for m in markets)
        return {
            "id": first.event_id,
            "ticker": slug,
            "slug": slug,
            "title": first.event_title,
            "description": self._description(first),
            "startDate": created,
            "creationDate": created,
            "endDate": max(m.end_iso for m in markets),
            "image": first.icon,
            "icon": first.icon,
            "active": True,
            "closed": all(m.closed for m in markets),
            "archived": False,
            "new": False,
            "featured": False,
            "restricted": True,
            "liquidity": liquidity,
            "volume": volume,
            "openInterest": round(liquidity * 0.4, 6),
            "createdAt": created,
            "updatedAt": _iso(self.now - 600),
            "volume24hr": round(sum(0.0 if m.closed else m.volume * 0.004 for m in markets), 6),
            "enableOrderBook": True,
            "liquidityClob": liquidity,
            "negRisk": first.neg_risk,
            "commentCount": zlib.crc32(slug.encode()) % 800,
            "markets": [self.gamma_market(m, with_events=False) for m in shown],
        }

    def _gamma_selection(self, query: Mapping[str, str]) -> list[FakeMarket]:
        """The legacy list filters: note ``closed`` defaults to false even for an explicit id."""
        closed = self._bool(query, "closed", False)

        def values(name: str) -> set[str]:
            getall = getattr(query, "getall", None)
            raw = getall(name, []) if getall is not None else [query.get(name, "")]
            return {v.strip() for item in raw for v in item.split(",") if v.strip()}

        slugs, tokens = values("slug"), values("clob_token_ids")
        conditions = {c.lower() for c in values("condition_ids")}
        ids: set[str] = set()
        for raw in values("id"):
            if not raw.isdigit():
                raise BadRequest(f"invalid id: {raw!r}")
            ids.add(str(int(raw)))
        return [
            m
            for m in self.markets
            if m.closed == closed
            and (not slugs or m.slug in slugs)
            and (not conditions or m.condition_id in conditions)
            and (not tokens or not tokens.isdisjoint(m.token_ids))
            and (not ids or m.market_id in ids)
        ]

    def _gamma_markets(self, query: Mapping[str, str]) -> list[Row]:
        """Legacy ``/markets``: a bare array; ``slug``, ``condition_ids``, ``clob_token_ids`` and
        ``id`` take repeated params or comma lists; offset past 2000 is a 422."""
        limit = self._int(query, "limit", 100, 0, 1000, clamp=True)
        offset = self._int(query, "offset", 0, 0, 2**31)
        if offset > GAMMA_MAX_OFFSET:
            raise _Unprocessable("offset too large, use /markets/keyset for deeper pagination")
        found = self._gamma_selection(query)
        return [self.gamma_market(m) for m in found[offset : offset + limit]]

    def _gamma_markets_keyset(self, query: Mapping[str, str]) -> Row:
        """``/markets/keyset``: ``{"markets": [...], "next_cursor": ...}``, paged by
        ``after_cursor``; ``next_cursor`` is absent on the last page; ``offset`` is a 422."""
        if query.get("offset") is not None:
            raise _Unprocessable("offset is not supported, page with after_cursor")
        limit = self._int(query, "limit", 20, 1, 1000, clamp=True)
        start = self._decode_cursor(query.get("after_cursor") or "")
        found = self._gamma_selection(query)
        body: Row = {"markets": [self.gamma_market(m) for m in found[start : start + limit]]}
        if start + limit < len(found):
            body["next_cursor"] = base64.b64encode(f"offset:{start + limit}".encode()).decode()
        return body

    @staticmethod
    def _decode_cursor(cursor: str) -> int:
        if not cursor:
            return 0
        try:
            text = base64.b64decode(cursor, validate=True).decode()
            kind, _, number = text.partition(":")
            if kind != "offset" or not number.isdigit():
                raise ValueError(text)
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            raise _Unprocessable("invalid after_cursor") from None
        return int(number)

    def _gamma_by_slug(self, slug: str, query: Mapping[str, str]) -> Row:
        """``/markets/slug/{slug}``: one object, open or resolved (no ``closed`` trap here)."""
        market = self.markets_by_slug.get(slug)
        if market is None:
            raise _GammaNotFound("market not found")
        return self.gamma_market(market)

    def _gamma_by_id(self, market_id: str, query: Mapping[str, str]) -> Row:
        if not market_id.isdigit():
            raise _Unprocessable(f"invalid id: {market_id!r}")
        market = self.markets_by_id.get(str(int(market_id)))
        if market is None:
            raise _GammaNotFound("market not found")
        return self.gamma_market(market)

    def _gamma_search(self, query: Mapping[str, str]) -> Row:
        """``/public-search``: events whose title or any market question holds ``q``.

        Open events first, then by volume. Closed markets are dropped from each event unless
        ``keep_closed_markets`` (events left empty go); ``events_status`` active/closed narrows
        by event state. ``limit_per_type`` events per 1-based ``page``.
        """
        needle = (query.get("q") or "").strip().lower()
        if not needle:
            raise _Unprocessable("q is required")
        limit = self._int(query, "limit_per_type", SEARCH_DEFAULT_LIMIT, 0, 1000, clamp=True)
        page = self._int(query, "page", 1, 1, 10_000)
        keep_closed = self._bool(query, "keep_closed_markets", False)
        status = self._choice(query, "events_status", ("active", "closed", "all"), "all")
        events: dict[str, list[FakeMarket]] = {}
        for market in self.markets:
            events.setdefault(market.event_id, []).append(market)
        hits: list[tuple[bool, float, str, list[FakeMarket], list[FakeMarket]]] = []
        for markets in events.values():
            if needle not in markets[0].event_title.lower() and not any(
                needle in m.title.lower() for m in markets
            ):
                continue
            event_closed = all(m.closed for m in markets)
            if (status == "active" and event_closed) or (status == "closed" and not event_closed):
                continue
            shown = markets if keep_closed else [m for m in markets if not m.closed]
            if shown:
                volume = sum(m.volume for m in markets)
                hits.append((event_closed, -volume, markets[0].event_id, markets, shown))
        hits.sort(key=lambda hit: hit[:3])
        chunk = hits[(page - 1) * limit : page * limit]
        return {
            "events": [self._gamma_event(markets, shown) for *_, markets, shown in chunk],
            "pagination": {"hasMore": page * limit < len(hits), "totalResults": len(hits)},
        }

    # ------------------------------------------------------------------ CLOB

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
        bids, asks = _book_levels(mid)
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
            "last_trade_price": _fmt(mid),
        }

    def _clob_midpoint(self, query: Mapping[str, str]) -> Row:
        market, index = self._book_for(query)
        return {"mid": _fmt(market.prices[index])}

    def _clob_price(self, query: Mapping[str, str]) -> Row:
        side = query.get("side", "")
        if side not in ("BUY", "SELL"):
            raise BadRequest("Invalid side")
        market, index = self._book_for(query)
        mid = market.prices[index]
        price = mid - 0.01 if side == "BUY" else mid + 0.01
        return {"price": f"{min(0.999, max(0.001, price)):.3f}"}

    def _clob_market(self, condition_id: str, query: Mapping[str, str]) -> Row:
        """CLOB ``/markets/{condition_id}``: snake_case, ``tokens[].winner`` once resolved."""
        condition_id = condition_id.lower()
        if not CONDITION_RE.match(condition_id):
            raise BadRequest("Invalid condition id")
        market = self.markets_by_condition.get(condition_id)
        if market is None:
            raise _NotFound("market not found")
        closed = market.closed
        return {
            "enable_order_book": True,
            "active": True,
            "closed": closed,
            "archived": False,
            "accepting_orders": not closed,
            "accepting_order_timestamp": None,
            "minimum_order_size": 5,
            "minimum_tick_size": 0.01,
            "condition_id": market.condition_id,
            "question_id": market.question_id,
            "question": market.title,
            "description": self._description(market),
            "market_slug": market.slug,
            "end_date_iso": market.end_iso,
            "game_start_time": None,
            "seconds_delay": 0,
            "fpmm": "",
            "maker_base_fee": 0,
            "taker_base_fee": 0,
            "notifications_enabled": False,
            "neg_risk": market.neg_risk,
            "neg_risk_market_id": market.question_id if market.neg_risk else "",
            "neg_risk_request_id": "",
            "icon": market.icon,
            "image": market.icon,
            "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
            "is_50_50_outcome": False,
            "tokens": [
                {
                    "token_id": token,
                    "outcome": outcome,
                    "price": self._current_price(market, index),
                    "winner": closed and market.winner == index,
                }
                for index, (token, outcome) in enumerate(
                    zip(market.token_ids, market.outcomes, strict=True)
                )
            ],
            "tags": ["All"],
        }

    def _clob_prices_history(self, query: Mapping[str, str]) -> Row:
        """``/prices-history``: ``{"history": [{"t": s, "p": float}]}``, oldest first.

        ``market`` is a token id (400 when missing or not digits; unknown → empty history).
        ``interval`` (1h 6h 1d 1w 1m max all) and ``startTs``/``endTs`` are mutually exclusive;
        with neither, the whole life of the market. ``fidelity`` minutes between points
        (default 1; coarsened past :data:`HISTORY_MAX_POINTS`). A resolved market's series stops
        at its resolution, so an ``interval`` after that is empty, as live.
        """
        token = query.get("market", "")
        if not token:
            raise BadRequest("market is required")
        if not token.isdigit():
            raise BadRequest("Invalid market: expected a token id")
        interval = self._choice(query, "interval", HISTORY_INTERVALS, "")
        start = self._int(query, "startTs", -1, 0, 2**40)
        end = self._int(query, "endTs", -1, 0, 2**40)
        if interval and (start >= 0 or end >= 0):
            raise BadRequest("'interval' and 'startTs'/'endTs' are mutually exclusive")
        fidelity = self._int(query, "fidelity", 1, 1, 525_600)
        hit = self.markets_by_token.get(token)
        if hit is None:
            return {"history": []}
        now = int(time.time())
        if interval:
            span = HISTORY_INTERVALS[interval]
            low, high = (now - span if span is not None else 0), now
        else:
            low, high = max(start, 0), (end if end >= 0 else now)
        market, index = hit
        return {"history": self._price_walk(market, index, low, high, fidelity * 60, now)}

    def _price_walk(
        self, market: FakeMarket, index: int, low: int, high: int, step: int, now: int
    ) -> list[Row]:
        """A random walk on a ``step`` grid, drawn backwards from the current price.

        Each step hashes (token, step, time), so a repeated request gets the same points; the
        newest grid point (at or before now, or the resolution) carries the exact price.
        """
        anchor_time = market.closed_ts if market.closed else now
        low = max(low, market.start_ts)
        high = min(high, anchor_time)
        if high < low:
            return []
        if (anchor_time - low) // step + 1 > HISTORY_MAX_POINTS:
            step = math.ceil((anchor_time - low) / (HISTORY_MAX_POINTS - 1) / 60) * 60
        first = -(-low // step) * step
        last = high // step * step
        anchor = anchor_time // step * step
        price = self._current_price(market, index)
        token = market.token_ids[index]
        scale = 2 * min(0.05, 0.004 * math.sqrt(step / 60)) / 4_294_967_296
        crc = zlib.crc32
        points: list[Row] = []
        p = price
        t = anchor
        while t >= first:
            if t <= last:
                points.append({"t": t, "p": price if t == anchor else round(p, 4)})
            p += (crc(f"{token}:{step}:{t}".encode()) - 2_147_483_648) * scale
            if p < 0.001:
                p = 0.002 - p
            elif p > 0.999:
                p = 1.998 - p
            t -= step
        points.reverse()
        return points

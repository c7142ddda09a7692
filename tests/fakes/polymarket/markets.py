"""The market universe: the fixed pool of binary markets every trader's rows point into.

``market_pool(seed, day)`` is deterministic per (seed, day) and shared between fakes (markets are
frozen; a fake that moves or resolves one swaps in a changed copy of its own). About a third are
resolved; families of sports, election, crypto up-or-down and weather markets give the titles,
events and outcome names a bot has to render. The helpers below compute what every API derives
from a market (its current prices, the book around them, its description) so the Data API, Gamma
and CLOB agree.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import random
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]

S3 = "https://polymarket-upload.s3.us-east-2.amazonaws.com"

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


# Tags per family of the pool (sports, elections, crypto up-or-down, weather): not drawn from
# the rng, so they never shift the generated universe.
_FAMILY_TAGS: tuple[tuple[str, ...], ...] = (
    ("Sports", "Soccer", "Games"),
    ("Politics", "Elections", "US Election"),
    ("Crypto", "Crypto Prices", "Up or Down"),
    ("Weather", "Daily Temperature"),
)


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
    # Polymarket's leaderboard category of the market (lowercase), "" when in none of them.
    category: str = ""
    tags: tuple[str, ...] = ()  # tag labels, as Gamma (include_tag) and the CLOB list them


def random_hex(rng: random.Random, nbytes: int) -> str:
    return f"0x{rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"


def random_token_id(rng: random.Random) -> str:
    """A 70–78 digit decimal token id, like the real ERC-1155 ids (never a float-safe int)."""
    return str(rng.getrandbits(255) | (1 << 240))


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def ymd(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


# The leaderboard category of each market family (sports, elections, crypto, weather).
FAMILY_CATEGORIES: tuple[str, ...] = ("sports", "politics", "crypto", "weather")


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
        tags = _FAMILY_TAGS[family]
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
        slug = f"{slugify(title)}-{n}"
        closed = rng.random() < 0.35
        end_ts = today + (-1 if closed else 1) * rng.randint(1, 200) * 86_400
        event_slug = "" if rng.random() < 0.1 else slugify(event_title)
        price = round(rng.uniform(0.02, 0.98), 3)
        condition_id = random_hex(rng, 32)
        # Derived without the rng, so adding fields never shifts the generated universe.
        age_days = 20 + zlib.crc32(f"{condition_id}:start".encode()) % 300
        start_ts = min(today, end_ts) - age_days * 86_400
        start_ts += zlib.crc32(f"{condition_id}:hour".encode()) % 86_400
        liquidity = 0.0 if closed else zlib.crc32(f"{condition_id}:liq".encode()) % 400_000 + 0.25
        closed_ts = end_ts + 3600 + zlib.crc32(f"{condition_id}:shut".encode()) % 40_000
        market = FakeMarket(
            condition_id=condition_id,
            token_ids=(random_token_id(rng), random_token_id(rng)),
            outcomes=outcomes,
            title=title,
            slug=slug,
            icon="" if rng.random() < 0.1 else f"{S3}/{slug[:40]}-{rng.getrandbits(40):x}.png",
            event_slug=event_slug,
            event_id=event_ids.setdefault(event_title, str(10_000 + len(event_ids))),
            event_title=event_title,
            end_date=ymd(end_ts),
            end_iso=f"{ymd(end_ts)}T00:00:00Z",
            neg_risk=family == 1,
            prices=(price, round(1 - price, 3)),
            closed=closed,
            winner=rng.randint(0, 1) if closed else -1,
            market_id=str(500_000 + n),
            volume=_pool_volume(condition_id),
            liquidity=liquidity,
            start_ts=start_ts,
            closed_ts=closed_ts if closed else 0,
            question_id=question_id_for(condition_id),
            category=FAMILY_CATEGORIES[family],
            tags=tags,
        )
        markets.append(with_templates(market))
    return tuple(markets)


def _pool_volume(condition_id: str) -> float:
    return (zlib.crc32(condition_id.encode()) % 5_000_000) + 0.123456


def question_id_for(condition_id: str) -> str:
    return "0x" + hashlib.sha256(f"question:{condition_id}".encode()).hexdigest()


def with_templates(market: FakeMarket) -> FakeMarket:
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


def description(market: FakeMarket) -> str:
    """The market's resolution text, as Gamma and the CLOB both show it."""
    yes, no = market.outcomes
    return (
        f'This market will resolve to "{yes}" if the answer to "{market.title}" is {yes}. '
        f'Otherwise, this market will resolve to "{no}".'
    )


def current_price(market: FakeMarket, index: int) -> float:
    """Outcome ``index``'s price: 1 or 0 once the market is resolved."""
    if market.closed:
        return 1.0 if market.winner == index else 0.0
    return float(market.prices[index])


def fmt_price(price: float) -> str:
    """A price as the APIs print it: ``0.42``, ``1``, ``0`` (never ``0.42000000000000004``)."""
    return f"{round(price, 6):g}"


def book_levels(mid: float) -> tuple[list[float], list[float]]:
    """Bid and ask levels around ``mid``, worst first (the live order: best level last)."""
    bids = [round(mid - 0.01 * k, 2) for k in range(5, 0, -1) if mid - 0.01 * k > 0]
    asks = [round(mid + 0.01 * k, 2) for k in range(5, 0, -1) if mid + 0.01 * k < 1]
    return bids, asks

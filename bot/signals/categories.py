"""Polymarket's categories and how a market's tags place it in them. Pure.

The categories (``CATEGORIES`` in bot/polymarket/records.py) are the ones Polymarket's own
leaderboard offers (``/v1/leaderboard``
``category``). Markets are not labelled with one category: they carry tags (``Politics``,
``Elections``, ``NBA``, ``Bitcoin`` …), so a market belongs to every category one of its tags
names, directly or through a well-known sub-tag. A market may be in several (an esports market
tagged ``Sports`` too); one in none is matched by no category filter.
"""

from __future__ import annotations

from collections.abc import Iterable

# Tag slugs or labels (lowercase) that put a market in a category besides the category's name.
TAG_ALIASES: dict[str, tuple[str, ...]] = {
    "politics": (
        "elections", "us-politics", "us politics", "geopolitics", "world-elections",
        "global-elections", "us-elections", "us elections", "trump", "congress",
    ),
    "sports": (
        "nba", "nfl", "mlb", "nhl", "soccer", "football", "basketball", "baseball", "tennis",
        "golf", "ufc", "mma", "boxing", "f1", "formula 1", "cricket", "epl", "champions league",
    ),
    "crypto": (
        "bitcoin", "ethereum", "solana", "xrp", "dogecoin", "crypto-prices", "crypto prices",
    ),
    "culture": ("pop-culture", "pop culture", "movies", "music", "celebrities", "awards", "tv"),
    "economics": ("economy", "fed", "fed-rates", "inflation", "interest-rates", "macro", "gdp"),
    "tech": ("technology", "ai", "big-tech", "big tech", "science", "space"),
    "finance": ("stocks", "business", "earnings", "ipos", "ipo", "equities", "commodities"),
    "weather": ("climate", "temperature", "hurricanes", "climate & weather"),
    "mentions": ("mention-markets", "mention markets", "what will they say"),
    "esports": (
        "e-sports", "league-of-legends", "league of legends", "counter-strike", "cs2",
        "dota-2", "dota 2", "valorant",
    ),
}  # fmt: skip

_CATEGORY_OF_TAG: dict[str, str] = {
    tag: category for category, tags in TAG_ALIASES.items() for tag in (category, *tags)
}


def categories_of(tags: Iterable[str]) -> frozenset[str]:
    """The categories a market with these tags belongs to (tags compared lowercase)."""
    found = {_CATEGORY_OF_TAG.get(tag.strip().lower()) for tag in tags}
    found.discard(None)
    return frozenset(c for c in found if c is not None)

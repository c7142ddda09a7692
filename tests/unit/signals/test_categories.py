"""A market's tags -> Polymarket's categories."""

from __future__ import annotations

import json

from bot.polymarket.records import CATEGORIES
from bot.polymarket.tags import MarketTags
from bot.signals.categories import TAG_ALIASES, categories_of
from tests.conftest import FIXTURES


def test_the_ten_categories_of_polymarkets_leaderboard() -> None:
    assert CATEGORIES == (
        "politics", "sports", "crypto", "culture", "economics", "tech", "finance", "weather",
        "mentions", "esports",
    )  # fmt: skip
    assert set(TAG_ALIASES) == set(CATEGORIES)


def test_tags_place_a_market_in_every_category_they_name() -> None:
    assert categories_of(["Politics", "Elections"]) == {"politics"}
    assert categories_of(["nba", "Games"]) == {"sports"}
    assert categories_of(["Esports", "Sports"]) == {"esports", "sports"}
    assert categories_of(["pop-culture"]) == {"culture"}
    assert categories_of(["Breaking News", ""]) == frozenset()


def test_real_clob_tags_and_gamma_event_tags() -> None:
    clob = json.loads((FIXTURES / "clob_market.json").read_text())
    assert "politics" in categories_of(MarketTags.from_clob(clob).tags)
    search = json.loads((FIXTURES / "gamma_public_search.json").read_text())
    event_tags = search["events"][0]["tags"]
    assert categories_of(MarketTags.from_gamma({"tags": event_tags}).tags) == {"crypto"}

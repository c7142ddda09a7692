"""Parsing what fresh wallets and categories read: /public-profile createdAt and market tags."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.polymarket.accounts import PublicProfile, parse_created_at
from bot.polymarket.tags import MarketTags, tag_names
from tests.conftest import FIXTURES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-05T10:00:00.123Z", datetime(2024, 1, 5, 10, 0, 0, 123000, UTC).timestamp()),
        ("2024-01-05 10:00:00+00", datetime(2024, 1, 5, 10, tzinfo=UTC).timestamp()),
        (1_704_448_800_000, 1_704_448_800.0),
        (None, None),
        ("", None),
        ("yesterday", None),
        ("2024-01-05T10:00:00", None),  # no zone: not guessed
        (True, None),
    ],
)
def test_created_at(raw: object, expected: float | None) -> None:
    assert parse_created_at(raw) == expected


def test_a_profile_with_every_field_null() -> None:
    profile = PublicProfile.from_api({"createdAt": None, "name": None, "pseudonym": None})
    assert profile == PublicProfile(None, "", "")


def test_tag_names_from_objects_and_strings() -> None:
    assert tag_names([{"label": "Politics", "slug": "politics"}, "  NBA ", 3, None]) == (
        "politics",
        "nba",
    )
    assert tag_names("not a list") == ()


def test_market_tags_from_the_clob_fixture() -> None:
    clob = json.loads((FIXTURES / "clob_market.json").read_text())
    tags = MarketTags.from_clob(clob)
    assert tags.condition_id == clob["condition_id"].lower()
    assert "politics" in tags.tags and tags.icon == clob["icon"]
    assert tags.tick_size == pytest.approx(float(clob["minimum_tick_size"]))


def test_market_tags_from_gamma_with_its_old_category_field() -> None:
    gamma = json.loads((FIXTURES / "gamma_market.json").read_text())
    found = MarketTags.from_gamma({**gamma, "category": "Sports"})
    assert found.tags == ("sports",) and found.tick_size == gamma["orderPriceMinTickSize"]
    assert MarketTags.from_gamma({"orderPriceMinTickSize": "junk"}).tick_size is None

"""Pasted Polymarket links -> the market or event they name."""

from __future__ import annotations

import pytest

from bot.markets.links import MarketLink, looks_like_link, parse_market_link


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("https://polymarket.com/event/fed-cut", MarketLink(event_slug="fed-cut")),
        (
            "https://polymarket.com/event/fed-cut/fed-cuts-50bps",
            MarketLink(event_slug="fed-cut", market_slug="fed-cuts-50bps"),
        ),
        ("https://polymarket.com/market/fed-cuts-50bps", MarketLink(market_slug="fed-cuts-50bps")),
        ("  polymarket.com/event/fed-cut  ", MarketLink(event_slug="fed-cut")),
        ("http://www.polymarket.com/event/fed-cut/", MarketLink(event_slug="fed-cut")),
        (
            "https://polymarket.com/event/fed-cut?tid=1712345678901",
            MarketLink(event_slug="fed-cut"),
        ),
        ("https://polymarket.com/event/fed-cut#comments", MarketLink(event_slug="fed-cut")),
        ("https://polymarket.com/zh/event/fed-cut", MarketLink(event_slug="fed-cut")),
        ("https://polymarket.com/pt-br/market/abc", MarketLink(market_slug="abc")),
        ("HTTPS://POLYMARKET.COM/EVENT/Fed-Cut", MarketLink(event_slug="fed-cut")),
    ],
)
def test_the_three_page_forms_are_understood(text: str, link: MarketLink) -> None:
    assert looks_like_link(text)
    assert parse_market_link(text) == link


@pytest.mark.parametrize(
    "text",
    [
        "https://polymarket.com/",
        "https://polymarket.com/profile/0xabc",
        "https://polymarket.com/event/",
        "https://polymarket.com/event/a/b/c",
        "https://polymarket.com/event/not a slug",
        "https://polymarket.com/event/%3Cscript%3E",
        "https://example.com/event/fed-cut",
        "https://polymarket.com.evil.example/event/fed-cut",
        "https://polymarket.com/event/" + "a" * 400,
    ],
)
def test_other_links_name_no_market(text: str) -> None:
    assert looks_like_link(text)
    assert parse_market_link(text) is None


@pytest.mark.parametrize("text", ["fed-cut", "will the fed cut", "0x" + "a" * 64, ""])
def test_plain_queries_are_not_links(text: str) -> None:
    assert not looks_like_link(text)
    assert parse_market_link(text) is None

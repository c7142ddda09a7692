"""The one number formatter: every figure a user reads goes through these rules."""

from __future__ import annotations

import math

import pytest

from bot.render.numbers import (
    MINUS,
    cents,
    chance,
    count,
    duration,
    integer,
    money,
    percent,
    plural,
    price_move,
    score,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "$0"),
        (409, "$409"),
        (999.4, "$999"),
        (5_000, "$5K"),
        (5_050, "$5.05K"),
        (25_050, "$25.05K"),
        (25_500, "$25.5K"),
        (999_950, "$1M"),
        (1_234_567, "$1.23M"),
        (3_000_000_000, "$3B"),
        (-43, f"{MINUS}$43"),
        (-1_630, f"{MINUS}$1.63K"),
    ],
)
def test_compact_money_drops_trailing_zeros(value: float, text: str) -> None:
    assert money(value) == text


def test_signed_money_has_a_plus_or_a_real_minus_and_never_a_signed_zero() -> None:
    assert money(409, signed=True) == "+$409"
    assert money(-43, signed=True) == f"{MINUS}$43"
    assert money(-0.3, signed=True) == "$0"
    assert money(0.2, signed=True) == "$0"
    assert money(-0.001, signed=True, exact=True) == "$0.00"


def test_exact_money_is_to_the_cent_with_separators() -> None:
    assert money(1093.71, exact=True) == "$1,093.71"
    assert money(1_000_000, exact=True) == "$1,000,000.00"
    assert money(-12.5, exact=True, signed=True) == f"{MINUS}$12.50"


def test_non_finite_money_is_a_dash() -> None:
    assert money(math.inf) == "—" and money(math.nan) == "—"


@pytest.mark.parametrize(
    ("price", "text"),
    [(0.05, "5¢"), (0.835, "83.5¢"), (0.5, "50¢"), (1.0, "100¢"), (0.0004, "0.04¢"), (0, "0¢")],
)
def test_cents_keep_at_most_one_decimal(price: float, text: str) -> None:
    assert cents(price) == text


def test_percentages_and_chances() -> None:
    assert percent(0.835) == "84%"
    assert percent(0.835, digits=1) == "83.5%"
    assert percent(0.125, signed=True, digits=1) == "+12.5%"
    assert percent(-0.03, signed=True) == f"{MINUS}3%"
    assert percent(-0.001, signed=True) == "0%"
    assert chance(0.835) == "84%" and chance(0.001) == "<1%" and chance(0.999) == ">99%"
    assert chance(1.0) == "100%" and chance(0.0) == "0%"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (percent(-0.03), f"{MINUS}3%"),
        (percent(-0.125, digits=1), f"{MINUS}12.5%"),
        (percent(-0.004), "0%"),
        (cents(-0.05), f"{MINUS}5¢"),
        (cents(-0.0004), f"{MINUS}0.04¢"),
        (cents(-0.0000001), "0¢"),
        (count(-12_500), f"{MINUS}12.5K"),
        (count(-2.5), f"{MINUS}2.5"),
        (count(-0.001), "0"),
        (integer(-1234), f"{MINUS}1,234"),
        (score(-3.25), f"{MINUS}3.2"),
        (score(-0.01), "0"),
    ],
)
def test_every_negative_uses_the_real_minus_sign_and_never_shows_minus_zero(
    text: str, expected: str
) -> None:
    # The same sign as money(): a hyphen reads as a dash, and "−0" is not a number anyone lost.
    assert text == expected


def test_counts_and_plurals() -> None:
    assert count(950) == "950" and count(12_500) == "12.5K" and count(2.5) == "2.5"
    assert plural(1, "alert") == "1 alert"
    assert plural(2, "alert") == "2 alerts"
    assert plural(0, "alert") == "0 alerts"
    assert plural(1_200, "alert") == "1,200 alerts"
    assert plural(3, "entry", "entries") == "3 entries"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45, "45s"), (60, "1m"), (90 * 60, "1.5h"), (3600, "1h"), (86_400, "24h"), (7 * 86_400, "7d")],
)
def test_durations_read_like_speech(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_exact_tallies_and_scores() -> None:
    assert integer(1234) == "1,234" and integer(0) == "0"
    assert score(72.44) == "72.4" and score(100.0) == "100" and score(math.nan) == "—"


@pytest.mark.parametrize(
    ("entry", "current", "text"),
    [
        (0.45, 0.62, "45¢ → 62¢"),
        (0.05, 0.0, "5¢ · lost"),
        (0.05, 1.0, "5¢ · won"),
        (0.3, 0.001, "30¢ → 0.1¢"),  # a live price near the end is still a price
        (0.3, 0.999, "30¢ → 99.9¢"),
    ],
)
def test_resolved_positions_say_won_or_lost(entry: float, current: float, text: str) -> None:
    assert price_move(entry, current) == text

"""What a resolved market pays per share: a pure function, no database (settling exactly once is
tested against PostgreSQL in tests/integration/copytrading/)."""

from __future__ import annotations

from bot.copytrading.settlement import payout
from tests.unit.copytrading.factories import make_market


def test_the_winner_pays_one_and_the_others_zero() -> None:
    market = make_market(resolved=True, winner_index=1, prices=(0.0, 1.0))
    assert (payout(market, "yes"), payout(market, "no")) == (0.0, 1.0)


def test_a_resolution_without_a_winner_pays_the_final_price() -> None:
    split = make_market(resolved=True, prices=(0.5, 0.5))
    assert payout(split, "yes") == 0.5


def test_nothing_is_paid_when_it_cannot_be_told() -> None:
    assert payout(make_market(resolved=True), "another token") is None
    assert payout(make_market(resolved=True, prices=(-1.0, -1.0)), "yes") is None
    assert payout(make_market(resolved=True, prices=()), "no") is None

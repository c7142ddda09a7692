"""The score content of /trader: the rank's label, the parts that add up, the evidence."""

from __future__ import annotations

from dataclasses import replace

from bot.leaderboard.evidence import Evidence, EvidenceStatus
from bot.leaderboard.scoring import copy_score
from bot.render.trader import trader_embed
from bot.trackrecord.models import TrackRecordSummary
from bot.traders.models import Standing, TraderProfile
from tests.unit.leaderboard.factories import NOW, WALLET, stats

PROFILE = TraderProfile(
    wallet=WALLET,
    name="BraveFox",
    pseudonym="",
    standings={
        "week": Standing(3, "score", 409.0, 5_000.0),
        "all": Standing(19, "pnl", -1_630.0, 90_000.0),
    },
    score=copy_score(4_000.0, 19_000.0, stats(share=0.8), NOW),
    evidence=EvidenceStatus.SCORED,
    thresholds=Evidence(5, 1_000.0),
    volume_recent=20_000.0,
    stats=stats(share=0.8),
    markets_traded=12,
    positions=(),
    latest_trades=(),
    pnl_series=(),
    details_at=NOW,
)


def fields(profile: TraderProfile) -> dict[str, str]:
    return {f["name"]: f["value"] for f in trader_embed(profile).to_dict()["fields"]}


def test_score_parts_are_weighted_contributions_that_add_up_to_the_score() -> None:
    embed = trader_embed(PROFILE).to_dict()
    assert embed["title"] == "BraveFox · copy score 44"
    assert fields(PROFILE)["Copy score"] == (
        "margin +32 win rate +9 consistency +16.7 recency +10 one-bet penalty −23.7 = **44**"
    )


def test_ranks_say_by_what_and_pnl_is_signed() -> None:
    ranks = fields(PROFILE)["Leaderboard"].splitlines()
    assert ranks == [
        "**Week** #3 by copy score · PnL +$409 · Vol $5K",
        "**All** #19 by PnL · PnL −$1.63K · Vol $90K",
    ]


def test_without_enough_history_there_is_no_score_and_it_says_why() -> None:
    thin = replace(
        PROFILE,
        score=None,
        evidence=EvidenceStatus.THIN,
        stats=stats(recent=3),
        volume_recent=420.0,
    )
    assert trader_embed(thin).to_dict()["title"] == "BraveFox · no copy score"
    assert fields(thin)["Copy score"] == (
        "Not enough history for a copy score: 3 of 5 closed positions and $420 of $1K traded"
        " in the last 90 days."
    )


def test_the_traders_own_alert_record() -> None:
    assert "Alert record (every server)" not in fields(PROFILE)
    record = TrackRecordSummary(3, 2, 1, 1, 1, 3, 0.25, None, None, 1)
    line = fields(replace(PROFILE, alerts=record))["Alert record (every server)"]
    assert line.startswith("3 alerts · moved their way at 24 h: 100% of 1 · average +25%")

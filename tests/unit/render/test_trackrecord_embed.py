from __future__ import annotations

from bot.render.trackrecord import record_summary_line, track_record_embed
from bot.trackrecord.models import Extreme, TrackRecordSummary

SUMMARY = TrackRecordSummary(
    alerts=12,
    marked_1h=10,
    moved_1h=6,
    marked_24h=8,
    moved_24h=5,
    returns=11,
    average_return=0.0825,
    best=Extreme("Will **it** rain? @everyone", "Yes", "BUY", 0.4, 1.5),
    worst=Extreme("Fed cuts?", "No", "SELL", 0.7, -1.0),
    open=4,
)


def test_embed_shows_counts_shares_average_best_worst_and_open() -> None:
    embed = track_record_embed(SUMMARY, "follows", "month").to_dict()
    assert embed["title"] == "Track record · Follows · last 30 days"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Alerts"] == "12"
    assert fields["Moved their way at 1 h"] == "60% of 10"
    assert fields["Moved their way at 24 h"] == "62% of 8"
    assert fields["Average return if copied"] == "+8.2%"
    assert fields["Still open"] == "4"
    assert fields["Best"].startswith("+150% · Buy Yes · Will \\*\\*it\\*\\* rain? @\u200beveryone")
    assert fields["Best"].endswith("@ 40¢")
    assert fields["Worst"].startswith("−100% · Sell No · Fed cuts?")


def test_no_alerts_yet() -> None:
    empty = TrackRecordSummary(0, 0, 0, 0, 0, 0, None, None, None, 0)
    embed = track_record_embed(empty, "all", "week").to_dict()
    assert "No alerts of this kind were sent in this server" in embed["description"]
    assert record_summary_line(empty) == "No alerts on their trades yet."


def test_one_line_for_trader_profiles() -> None:
    assert record_summary_line(SUMMARY) == (
        "12 alerts · moved their way at 24 h: 62% of 8 · average +8.2% if copied at the alert"
        " price · 4 open"
    )

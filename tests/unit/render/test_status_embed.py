"""/admin status embed: the verdict first, intervals as people say them, and no field over
Discord's limits however much there is to show."""

from __future__ import annotations

from bot.leaderboard.service import PeriodState
from bot.polymarket.stream import StreamStats
from bot.render.status import FIGURES, reconcile_line, status_embed
from bot.trades.reconciler import ReconcileStats
from bot.workers import Role, WorkerStatus
from tests.unit.test_admin import NOW, healthy, loop


def embed_of(report: object) -> dict:  # type: ignore[type-arg]
    return status_embed(report).to_dict()  # type: ignore[arg-type]


def fields(embed: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {f["name"].split(" since ")[0]: f["value"] for f in embed["fields"]}


def test_the_first_line_is_the_verdict() -> None:
    assert embed_of(healthy())["description"] == "✅ Healthy"
    failing = healthy(workers=[loop("orders", consecutive_failures=4, last_error="DB down")])
    embed = embed_of(failing)
    assert embed["description"] == "❌ Failing: orders failed 4× in a row"
    assert "failed 4× in a row: DB down" in fields(embed)["Background work"]
    assert embed["color"] == 0xE74C3C
    degraded = embed_of(healthy(database_ok=True, alert_counts={"PENDING": 500}))
    assert degraded["description"].startswith("⚠️ Degraded: ")


def test_intervals_read_1m_1h_24h() -> None:
    workers = [
        loop("leaderboard", interval=60.0),
        loop("trader-sync", interval=3600.0),
        loop("daily", interval=86_400.0),
    ]
    work = fields(embed_of(healthy(workers=workers)))["Background work"]
    assert "**leaderboard** every 1m" in work
    assert "**trader-sync** every 1h" in work
    assert "**daily** every 24h" in work
    assert "60s" not in work and "86400" not in work


def test_no_field_passes_1024_characters_and_the_embed_6000() -> None:
    error = "E" * 2000
    report = healthy(
        workers=[loop(f"loop-{i}", consecutive_failures=9, last_error=error) for i in range(40)]
        + [WorkerStatus("w" * 300, Role.LEADER, False, detail=error)],
        periods={f"p{i}": PeriodState(None, error, 3) for i in range(20)},
        cache=[{"name": f"c{i}", "kind": "ttl", "entries": 5, "hits": 1} for i in range(200)],
        calls={f"gamma:/route-{i}": i for i in range(500)},
        failures={f"gamma:/route-{i}": 1 for i in range(500)},
    )
    embed = embed_of(report)
    assert all(len(f["value"]) <= 1024 for f in embed["fields"])
    assert len(embed["description"]) <= 4096
    total = len(embed["title"]) + len(embed["description"])
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert total <= 6000
    assert "other routes" in fields(embed)["Upstream calls"]


def test_every_figure_is_one_line_of_its_field() -> None:
    shown = fields(embed_of(healthy()))
    for name, label, _ in FIGURES:
        assert any(line.startswith(f"{label}: ") for line in shown[name].splitlines())


def test_the_colour_follows_the_verdict() -> None:
    assert embed_of(healthy())["color"] == 0x2ECC71
    periods = {"day": PeriodState(NOW - 30, "HTTP 500", 1)}
    assert embed_of(healthy(periods=periods))["color"] == 0x2ECC71  # stale period, loop fine
    assert embed_of(healthy(stream=StreamStats()))["color"] == 0xE67E22


def test_the_reconcile_line_shows_misses_and_says_when_a_check_hit_the_page_cap() -> None:
    stats = ReconcileStats(
        last_round_seconds=42.0, last_round_wallets=900, missed_while_connected=3
    )
    line = reconcile_line(healthy(reconcile=stats, reconcile_interval=60.0))
    assert "missed by the stream 3" in line and "page cap" not in line
    stats.wallet_checks_capped, stats.platform_checks_capped = 2, 1
    line = reconcile_line(healthy(reconcile=stats, reconcile_interval=60.0))
    assert "3 checks hit the page cap" in line

"""/admin status embed: workers, periods, live trades, cache, upstream calls. Pure."""

from __future__ import annotations

import time

import discord

from bot.admin import StatusReport
from bot.render.numbers import count, duration, plural
from bot.render.text import relative_time
from bot.workers import LoopStatus, WorkerStatus

FIELD_LIMIT = 1024


def _clip(text: str) -> str:
    return text if len(text) <= FIELD_LIMIT else text[: FIELD_LIMIT - 1] + "…"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def loop_line(status: LoopStatus) -> str:
    last = relative_time(status.last_started_at) if status.last_started_at else "never"
    duration = f"{status.last_duration:.2f}s" if status.last_duration is not None else "—"
    upcoming = relative_time(status.next_run_at) if status.next_run_at else "—"
    line = (
        f"**{status.name}** every {status.interval:g}s · {status.runs} runs · last {last} "
        f"({duration}, {'running' if status.running else status.last_outcome}) · "
        f"next {upcoming} · "
        f"failures in a row: {status.consecutive_failures}"
    )
    if status.last_error:
        line += f"\n  ↳ {discord.utils.escape_markdown(status.last_error[:150])}"
    return line


def worker_line(status: WorkerStatus) -> str:
    if status.loop is not None:
        return loop_line(status.loop)
    state = "running" if status.running else "stopped"
    detail = f" · {status.detail}" if status.detail else ""
    return f"**{status.name}** {state}{detail}"


def live_lines(report: StatusReport) -> dict[str, str]:
    stream, ingest, counts = report.stream, report.ingest, report.alert_counts
    now = time.time()
    since = relative_time(stream.connected_since) if stream.connected_since else "—"
    last = f"{now - stream.last_message_at:.1f}s ago" if stream.last_message_at else "never"
    return {
        "Stream": ("connected since " + since) if stream.connected else "disconnected",
        "Messages": f"{stream.messages_per_second():.1f}/s · last {last} · total "
        f"{stream.messages} · trades {stream.trades} · matched {stream.matched}",
        "Problems": f"reconnects {stream.reconnects} (silent {stream.silent_reconnects}) · "
        f"junk frames {stream.junk} · shed {ingest.shed}",
        "Queues": f"ingest {report.ingest_queue} · channels sending {report.sending_channels}",
        "Trades": f"stored {ingest.stored} · duplicates {ingest.duplicates} · "
        f"backfilled {ingest.backfilled}",
        "Alerts": f"sent {count(counts.get('SENT', 0))} · pending {count(counts.get('PENDING', 0))}"
        f" · failed {count(counts.get('FAILED', 0))} (sent and failed: last 24 h)",
        **reconcile_lines(report),
    }


def reconcile_lines(report: StatusReport) -> dict[str, str]:
    """What the live stream missed (the health signal) and how long a reconcile round takes
    against its interval; the latest alerts set aside, with their reasons."""
    lines: dict[str, str] = {}
    stats = report.reconcile
    if stats is not None:
        round_time = (
            f"round {duration(stats.last_round_seconds)} over "
            f"{plural(stats.last_round_wallets, 'wallet')}"
            if stats.last_round_seconds is not None
            else "first round running"
        )
        lines["Reconcile"] = (
            f"{round_time} (every {duration(report.reconcile_interval)}) · missed by the stream "
            f"{count(stats.missed_while_connected)} · recovered after gaps "
            f"{count(stats.recovered_after_gap)} (whale-sized {count(stats.platform_recovered)})"
        )
    if report.failed_alerts:
        lines["Set aside (latest)"] = " · ".join(
            f"<#{f.channel_id}> {relative_time(f.failed_at)}: "
            + discord.utils.escape_markdown(f.error[:120])
            for f in report.failed_alerts
        )
    return lines


def status_embed(report: StatusReport) -> discord.Embed:
    embed = discord.Embed(title="Bot status", colour=discord.Colour.dark_grey())
    embed.add_field(
        name="Background work",
        value=_clip("\n".join(worker_line(s) for s in report.workers) or "none running"),
        inline=False,
    )
    period_lines = []
    for period, state in report.periods.items():
        ok = relative_time(state.last_success_at) if state.last_success_at else "never"
        line = f"**{period}** last success {ok}, failures in a row {state.consecutive_failures}"
        if state.last_error:
            line += f" ({discord.utils.escape_markdown(state.last_error[:80])})"
        period_lines.append(line)
    embed.add_field(name="Leaderboard periods", value=_clip("\n".join(period_lines)), inline=False)
    embed.add_field(
        name="Live trades",
        value=_clip("\n".join(f"{label}: {value}" for label, value in live_lines(report).items())),
        inline=False,
    )
    cache_lines = []
    for item in report.cache:
        age = item.get("age") if item.get("kind") == "snapshot" else item.get("oldest_age")
        cache_lines.append(
            f"`{item['name']}` {item.get('kind')} · entries {item.get('entries', 0)} · "
            f"age {_age(age)} · v{item.get('version', '—')} · hits {item.get('hits', 0)} "
            f"misses {item.get('misses', 0)}"
        )
    embed.add_field(name="Cache", value=_clip("\n".join(cache_lines) or "empty"), inline=False)
    failures = report.failures
    call_lines = [
        f"`{endpoint}` {count}"
        + (f" ({failures[endpoint]} failed)" if failures.get(endpoint) else "")
        for endpoint, count in sorted(report.calls.items())
    ]
    embed.add_field(
        name=f"Upstream calls since {relative_time(report.calls_since)}",
        value=_clip("\n".join(call_lines) or "none yet"),
        inline=False,
    )
    return embed

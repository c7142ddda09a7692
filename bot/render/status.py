"""/admin status embed: a verdict first, then the figures behind it. Pure.

Readable in five seconds: the first line says healthy, degraded or failing and why (the rules
are ``bot.admin.verdict``); below it one short line per loop, leaderboard period, live-trade
figure, cache and upstream route, every field kept under Discord's 1,024 characters.

Adding a figure is one line in FIGURES (and its field on ``StatusReport``).
"""

from __future__ import annotations

from collections.abc import Callable

import discord

from bot.admin import Health, StatusReport, verdict
from bot.cluster.models import ClusterView
from bot.render.numbers import duration, integer, percent, plural, rate
from bot.render.text import escape_text, lines_within, relative_time
from bot.workers import LoopStatus, WorkerStatus

COLOURS = {
    Health.HEALTHY: discord.Colour.green(),
    Health.DEGRADED: discord.Colour.orange(),
    Health.FAILING: discord.Colour.red(),
}
VERDICTS = {
    Health.HEALTHY: "✅ Healthy",
    Health.DEGRADED: "⚠️ Degraded",
    Health.FAILING: "❌ Failing",
}
REASONS_SHOWN = 3
ROUTES_SHOWN = 12


def verdict_line(report: StatusReport) -> str:
    """'✅ Healthy', or '❌ Failing: orders failed 3× in a row; stream disconnected (+1 more)'."""
    found = verdict(report)
    line = VERDICTS[found.health]
    if found.reasons:
        shown = "; ".join(escape_text(r, 120) for r in found.reasons[:REASONS_SHOWN])
        more = len(found.reasons) - REASONS_SHOWN
        line += f": {shown}" + (f" (+{integer(more)} more)" if more > 0 else "")
    return line


def loop_line(status: LoopStatus) -> str:
    icon = "✅" if status.consecutive_failures == 0 else "❌"
    line = f"{icon} **{status.name}** every {duration(status.interval)}"
    if status.running:
        line += " · running now"
    elif status.last_started_at is not None:
        took = f" in {duration(status.last_duration)}" if status.last_duration is not None else ""
        line += f" · {status.last_outcome} {relative_time(status.last_started_at)}{took}"
    else:
        line += " · not run yet"
    if status.consecutive_failures:
        line += f" · failed {status.consecutive_failures}× in a row"
        if status.last_error:
            line += f": {escape_text(status.last_error, 80)}"
        if status.next_run_at:  # after failures the loop backs off: say when it tries again
            line += f" · next try {relative_time(status.next_run_at)}"
    return line


def worker_line(status: WorkerStatus) -> str:
    if status.loop is not None:
        return loop_line(status.loop)
    icon, state = ("✅", "running") if status.running else ("❌", "stopped")
    detail = f" · {escape_text(status.detail, 80)}" if status.detail else ""
    return f"{icon} **{status.name}** {state}{detail}"


def period_lines(report: StatusReport) -> list[str]:
    lines = []
    for period, state in report.periods.items():
        ok = relative_time(state.last_success_at) if state.last_success_at else "never"
        if state.consecutive_failures:
            cause = f": {escape_text(state.last_error, 60)}" if state.last_error else ""
            lines.append(
                f"❌ **{period}** failed {state.consecutive_failures}× in a row{cause} · "
                f"last good {ok}"
            )
        else:
            lines.append(f"✅ **{period}** updated {ok}")
    return lines


def stream_state(report: StatusReport) -> str:
    stream = report.stream
    if not stream.connected:
        return "❌ disconnected"
    since = relative_time(stream.connected_since) if stream.connected_since else "—"
    return f"✅ connected since {since}"


def stream_messages(report: StatusReport) -> str:
    stream = report.stream
    last = (
        f"{duration(report.now - stream.last_message_at)} ago"
        if stream.last_message_at
        else "never"
    )
    return (
        f"{rate(stream.messages_per_second())} · last {last} · {integer(stream.messages)} in all"
        f" · {integer(stream.trades)} trades, {integer(stream.matched)} matched"
    )


def stream_problems(report: StatusReport) -> str:
    stream, ingest = report.stream, report.ingest
    return (
        f"{plural(stream.reconnects, 'reconnect')} ({integer(stream.silent_reconnects)} silent) · "
        f"{plural(stream.junk, 'junk frame')} · {integer(ingest.shed)} shed"
    )


def reconcile_line(report: StatusReport) -> str:
    """What the live stream missed (a health signal) and how long a reconcile round takes
    against its interval."""
    stats = report.reconcile
    if stats is None:
        return "—"
    round_time = (
        f"round {duration(stats.last_round_seconds)} over "
        f"{plural(stats.last_round_wallets, 'wallet')}"
        if stats.last_round_seconds is not None
        else "first round running"
    )
    capped = stats.wallet_checks_capped + stats.platform_checks_capped
    return (
        f"{round_time} (every {duration(report.reconcile_interval)}) · missed by the stream "
        f"{integer(stats.missed_while_connected)} · recovered after gaps "
        f"{integer(stats.recovered_after_gap)} (whale-sized {integer(stats.platform_recovered)})"
        + (f" · {plural(capped, 'check')} hit the page cap (see the log)" if capped else "")
    )


def set_aside_line(report: StatusReport) -> str:
    """The latest alerts set aside (never retried), with their reasons."""
    return (
        " · ".join(
            f"<#{f.channel_id}> {relative_time(f.failed_at)}: {escape_text(f.error, 120)}"
            for f in report.failed_alerts
        )
        or "none"
    )


# (field, label, figure). One line per figure: a new figure is one more line here.
FIGURES: tuple[tuple[str, str, Callable[[StatusReport], str]], ...] = (
    ("Live trades", "Stream", stream_state),
    ("Live trades", "Messages", stream_messages),
    ("Live trades", "Problems", stream_problems),
    (
        "Live trades",
        "Stored",
        lambda r: (
            f"{integer(r.ingest.stored)} trades · {integer(r.ingest.duplicates)} duplicates"
            f" · {integer(r.ingest.backfilled)} backfilled"
        ),
    ),
    (
        "Live trades",
        "Queues",
        lambda r: (
            f"ingest {integer(r.ingest_queue)} · {plural(r.sending_channels, 'channel')} sending"
        ),
    ),
    (
        "Live trades",
        "Signals",
        lambda r: " · ".join(f"{name} {integer(n)}" for name, n in r.signals.items()) or "—",
    ),
    (
        "Live trades",
        "Rejected upstream values",
        lambda r: (
            " · ".join(f"{kind} {integer(n)}" for kind, n in sorted(r.rejections.items())) or "none"
        ),
    ),
    (
        "Live trades",
        "Database for commands",
        lambda r: (
            (
                "❌ not answering (commands answer from memory)"
                if r.database_unavailable
                else "answering"
            )
            + f" · {plural(r.database_failures, 'timeout or failure', 'timeouts or failures')}"
        ),
    ),
    ("Live trades", "Reconcile", reconcile_line),
    (
        "Alerts",
        "Deliveries",
        lambda r: (
            f"{integer(r.alert_counts.get('SENT', 0))} sent · "
            f"{integer(r.alert_counts.get('PENDING', 0))} pending · "
            f"{integer(r.alert_counts.get('FAILED', 0))} failed (sent and failed: last 24 h)"
            if r.database_ok
            else "unknown: PostgreSQL did not answer"
        ),
    ),
    ("Alerts", "Set aside (latest)", set_aside_line),
)


def figure_fields(report: StatusReport) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name, label, figure in FIGURES:
        fields.setdefault(name, []).append(f"{label}: {figure(report)}")
    return fields


def cache_lines(report: StatusReport) -> list[str]:
    lines = []
    for item in report.cache:
        name = f"`{item['name']}`"
        if item.get("kind") == "snapshot":
            age = item.get("age")
            shown = f"age {duration(age)}" if age is not None else "empty"
            lines.append(f"{name} {shown} · v{integer(item.get('version', 0))}")
            continue
        hits, misses = item.get("hits", 0), item.get("misses", 0)
        rate = f" · {percent(hits / (hits + misses))} hits" if hits + misses else ""
        oldest = item.get("oldest_age")
        age = f" · oldest {duration(oldest)}" if oldest is not None else ""
        lines.append(f"{name} {plural(item.get('entries', 0), 'entry', 'entries')}{age}{rate}")
    return lines


def call_lines(report: StatusReport) -> list[str]:
    """Busiest routes first; the rest summed on one line."""
    routes = sorted(report.calls.items(), key=lambda kv: (-kv[1], kv[0]))
    lines = []
    for route, n in routes[:ROUTES_SHOWN]:
        failed = report.failures.get(route, 0)
        lines.append(f"`{route}` {integer(n)}" + (f" ({integer(failed)} failed)" if failed else ""))
    rest = routes[ROUTES_SHOWN:]
    if rest:
        lines.append(f"{plural(len(rest), 'other route')}: {integer(sum(n for _, n in rest))}")
    return lines


def cluster_lines(view: ClusterView) -> list[str]:
    """One line per process sharing the database: the leader, this one, the stale ones."""
    lines = []
    for member in view.members:
        parts = [
            f"`{member.host}:{member.pid}`",
            f"shards {','.join(map(str, member.shards)) or 'all'}",
        ]
        if member.is_leader:
            parts.append("**leader**")
        if member.process_id == view.me:
            parts.append("this process")
        parts.append(f"started {relative_time(member.started_at)}")
        beat = f"last beat {duration(member.beat_age)} ago"
        parts.append(f"**stale**, {beat}" if member.stale else beat)
        lines.append(" · ".join(parts))
    if view.leader is None:
        lines.append("no leader right now: another process takes over within seconds")
    return lines


def status_embed(report: StatusReport) -> discord.Embed:
    health = verdict(report).health
    embed = discord.Embed(
        title="Bot status", description=verdict_line(report), colour=COLOURS[health]
    )
    if report.cluster is not None:
        embed.add_field(
            name="Processes", value=lines_within(cluster_lines(report.cluster)), inline=False
        )
    workers = [worker_line(s) for s in report.workers]
    embed.add_field(name="Background work", value=lines_within(workers) or "none", inline=False)
    embed.add_field(
        name="Leaderboard periods", value=lines_within(period_lines(report)) or "—", inline=False
    )
    for name, lines in figure_fields(report).items():
        embed.add_field(name=name, value=lines_within(lines), inline=False)
    embed.add_field(name="Cache", value=lines_within(cache_lines(report)) or "empty", inline=False)
    embed.add_field(
        name=f"Upstream calls since {relative_time(report.calls_since)}",
        value=lines_within(call_lines(report)) or "none yet",
        inline=False,
    )
    return embed

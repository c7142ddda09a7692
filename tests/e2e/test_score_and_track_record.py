"""The copy score, category boards and the alert track record, end to end: the real bot
(built by bot/app.py) against the fake Discord, the fake Polymarket and fake RTDS."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from bot.app import Application
from bot.config import Settings
from tests.e2e.harness import first_refresh_done, running_bot, settings_for
from tests.e2e.test_leaderboard_bot import ranked
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakeMarket, FakePolymarket
from tests.fakes.rtds import FakeRTDS

pytestmark = pytest.mark.polymarket(n_traders=40, seed=11)


@pytest.fixture
def settings(discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS) -> Settings:
    return settings_for(discord_fake, polymarket, rtds.url)


@pytest.fixture
async def app(
    discord_fake: FakeDiscord, pool: asyncpg.Pool, settings: Settings, rtds: FakeRTDS
) -> AsyncIterator[Application]:
    async with running_bot(discord_fake, pool, settings) as app:
        await first_refresh_done(app, timeout=30)
        await rtds.wait_for_subscribers(1)
        yield app


def wallets(message: dict[str, Any]) -> list[str]:
    return [wallet for _, wallet in ranked(message)]


def fields(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}


async def test_commands_carry_the_category_and_track_record_options(
    app: Application, discord_fake: FakeDiscord
) -> None:
    commands = {c["name"]: c for c in discord_fake.guild_commands[discord_fake.guild_id]}
    options = {o["name"]: o for o in commands["leaderboard"]["options"]}
    assert [c["value"] for c in options["category"]["choices"]] == [
        "overall", "politics", "sports", "crypto", "culture", "economics", "tech", "finance",
        "weather", "mentions", "esports",
    ]  # fmt: skip
    track = {o["name"]: o for o in commands["track-record"]["options"]}
    assert [c["value"] for c in track["kind"]["choices"]] == [
        "all", "follows", "whales", "fresh", "smart", "consensus",
    ]  # fmt: skip
    assert [c["value"] for c in track["period"]["choices"]] == ["week", "month", "all"]


async def test_the_score_page_ranks_only_traders_with_evidence(
    app: Application, discord_fake: FakeDiscord
) -> None:
    message = await (await discord_fake.invoke("leaderboard", {})).wait_response()
    embed = message["embeds"][0]
    assert embed["title"] == "Polymarket leaderboard · This week · by copy score"
    board = app.leaderboard.board("week")
    assert wallets(message) == [e.wallet for e in board.by_metric["score"][:10]]
    assert all(e.scored for e in board.by_metric["score"])
    assert (
        "traders with 5 closed positions and $1K traded in the last 90 days"
        in (embed["description"])
    )
    if board.thin:
        assert "with less history are ranked by PnL and volume only" in embed["description"]
    pnl = await (await discord_fake.invoke("leaderboard", {"metric": "pnl"})).wait_response()
    first = pnl["embeds"][0]["description"].splitlines()[0]
    assert re.search(r"\*\*PnL [+−]\$[\d.]+[KM]?\*\*", first)


async def test_trader_says_why_there_is_no_copy_score(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    # a ranked trader's closed positions all turn out to be older than 90 days
    wallet = app.leaderboard.board("all").by_metric["pnl"][4].wallet
    for row in polymarket.traders[wallet].closed_positions:
        row["timestamp"] = polymarket.now - 200 * 86_400
    app.leaderboard.stats.expire(wallet)
    await app.leaderboard.refresh()
    board = app.leaderboard.board("all")
    thin = next(e for e in board.by_metric["pnl"] if e.wallet == wallet)
    assert not thin.scored and thin not in board.by_metric["score"]
    rank = [e.wallet for e in board.by_metric["pnl"]].index(thin.wallet) + 1
    interaction = await discord_fake.invoke("trader", {"trader": thin.wallet})
    message = await interaction.wait_response(timeout=15)
    assert message["embeds"][0]["title"].endswith("· no copy score")
    shown = fields(message)
    assert shown["Copy score"].startswith("Not enough history for a copy score:")
    assert f"**All** #{rank} by PnL" in shown["Leaderboard"]
    scored = board.by_metric["score"][0]
    message = await (await discord_fake.invoke("trader", {"trader": scored.wallet})).wait_response(
        timeout=15
    )
    assert "**All** #1 by copy score" in fields(message)["Leaderboard"]
    shown_score = message["embeds"][0]["title"].rsplit("copy score ", 1)[1]
    assert fields(message)["Copy score"].endswith(f"= **{shown_score}**")


async def test_category_boards_answer_from_memory_in_the_fakes_order(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    await app.category_boards.refresh()
    polymarket.reset_calls()
    interaction = await discord_fake.invoke(
        "leaderboard", {"category": "politics", "metric": "pnl", "period": "month"}
    )
    message = await interaction.wait_response()
    ranked = polymarket._data_api.category_board("POLITICS", "MONTH", "PNL")
    assert wallets(message) == [trader.wallet for trader, _ in ranked[:10]]
    embed = message["embeds"][0]
    assert embed["title"] == "Polymarket leaderboard · Politics · This month · by PnL"
    assert "Updated <t:" in embed["description"]  # its age
    assert sum(polymarket.calls.values()) == 0  # served from memory


async def test_a_category_asked_for_before_its_first_pass_says_so(
    app: Application, discord_fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.leaderboard, "board", lambda period, category="overall": None)
    interaction = await discord_fake.invoke("leaderboard", {"category": "esports"})
    message = await interaction.wait_response()
    assert interaction.ephemeral and "Category boards are still loading" in message["content"]


def open_market(polymarket: FakePolymarket, n: int) -> FakeMarket:
    return [m for m in polymarket.markets if not m.closed][n]


async def alert_a_buy(
    app: Application,
    discord_fake: FakeDiscord,
    rtds: FakeRTDS,
    wallet: str,
    market: FakeMarket,
    price: float,
) -> None:
    """A followed trader buys the market's first outcome at ``price``; the alert is sent."""
    channel = discord_fake.other_channel_id
    before = len(discord_fake.channel_messages.get(channel, []))
    payload = rtds.make_payload(
        wallet=wallet,
        size=100,
        price=price,
        asset=market.token_ids[0],
        condition_id=market.condition_id,
        outcome=market.outcomes[0],
        title=market.title,
    )
    await rtds.push(payload)
    await discord_fake.wait_until(
        lambda: len(discord_fake.channel_messages.get(channel, [])) > before, timeout=10
    )
    # the loop's pass, now rather than in five minutes (once the send is recorded as done)
    for _ in range(100):
        if (await app.track_record.run()).recorded:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the alert was never recorded")


async def track_record(discord_fake: FakeDiscord, **options: str) -> dict[str, str]:
    interaction = await discord_fake.invoke("track-record", options)
    message = await interaction.wait_response()
    assert not interaction.ephemeral
    return fields(message)


async def test_alert_follow_through_end_to_end_and_after_a_restart(
    app: Application,
    discord_fake: FakeDiscord,
    polymarket: FakePolymarket,
    rtds: FakeRTDS,
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    wallet = sorted(polymarket.traders)[0]
    follow = await discord_fake.invoke(
        "follow",
        {"trader": wallet, "channel": discord_fake.other_channel_id},
        user_id=discord_fake.admin_user_id,
    )
    assert "Following" in (await follow.wait_response())["content"]

    # a followed buy at 40¢, then the market resolves for that outcome: +150%
    resolved = open_market(polymarket, 0)
    await alert_a_buy(app, discord_fake, rtds, wallet, resolved, 0.40)
    polymarket.resolve_market(resolved.condition_id, 0)
    await app.track_record.run()
    shown = await track_record(discord_fake)
    assert shown["Alerts"] == "1" and shown["Still open"] == "0"
    assert shown["Average return if copied"] == "+150%"  # 100 * (1 - 0.4) / 0.4

    # another at 25¢ whose price then moves up 10¢ and stays open: +40%
    moved = open_market(polymarket, 1)
    await alert_a_buy(app, discord_fake, rtds, wallet, moved, 0.25)
    polymarket.set_price(moved.token_ids[0], 0.35)
    await app.track_record.run()
    shown = await track_record(discord_fake, kind="follows", period="week")
    assert shown["Alerts"] == "2" and shown["Still open"] == "1"
    assert shown["Best"].startswith("+150%") and shown["Worst"].startswith("+40%")
    assert shown["Average return if copied"] == "+95%"
    whales = await (await discord_fake.invoke("track-record", {"kind": "whales"})).wait_response()
    assert "No alerts of this kind were sent in this server" in (whales["embeds"][0]["description"])

    # the trader's own record on /trader
    app.profiles.forget_profiles()
    profile = await (await discord_fake.invoke("trader", {"trader": wallet})).wait_response(15)
    assert fields(profile)["Alert record (every server)"].startswith("2 alerts")

    # everything survives a restart, with Polymarket answering nothing
    await app.category_boards.refresh()
    politics = [e.wallet for e in app.leaderboard.board("week", "politics").by_metric["pnl"]]
    await app.close()
    polymarket.hold = asyncio.Event()
    try:
        async with running_bot(discord_fake, pool, settings) as second:
            again = await track_record(discord_fake, kind="follows", period="week")
            assert again == shown
            board = second.leaderboard.board("week", "politics")
            assert board is not None
            assert [e.wallet for e in board.by_metric["pnl"]] == politics
            message = await (
                await discord_fake.invoke("leaderboard", {"category": "politics", "metric": "pnl"})
            ).wait_response()
            assert wallets(message) == politics[:10]
    finally:
        polymarket.hold.set()

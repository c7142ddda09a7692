"""Live trades end to end: fake RTDS -> the real bot -> fake Discord, with PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from bot.app import Application
from tests.e2e.harness import running_bot, settings_for, wait_until
from tests.fakes.discord import FakeDiscord
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS


@pytest.fixture
async def polymarket() -> AsyncIterator[FakePolymarket]:
    fake = FakePolymarket(n_traders=12, seed=21)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def app(
    discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS, pool: asyncpg.Pool
) -> AsyncIterator[Application]:
    settings = settings_for(discord_fake, polymarket, rtds.url)
    async with running_bot(discord_fake, pool, settings) as app:
        await rtds.wait_for_subscribers(1)
        yield app


def wallet_of(polymarket: FakePolymarket, index: int = 0) -> str:
    return sorted(polymarket.traders)[index]


def record_upstream(polymarket: FakePolymarket, payload: dict[str, Any]) -> None:
    """Make the fill visible on the fake Data API /trades too (the backfill source)."""
    wallet = payload["proxyWallet"].lower()
    row = dict(
        payload, proxyWallet=wallet, type="TRADE", usdcSize=payload["size"] * payload["price"]
    )
    polymarket.traders[wallet].activity.append(row)


async def follow(
    discord_fake: FakeDiscord, wallet: str, channel_id: int, **options: Any
) -> dict[str, Any]:
    interaction = await discord_fake.invoke(
        "follow",
        {"trader": wallet, "channel": channel_id, **options},
        user_id=discord_fake.admin_user_id,
    )
    return await interaction.wait_response()


def alert_embeds(discord_fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    return [e for m in discord_fake.channel_messages.get(channel_id, []) for e in m["embeds"]]


def alerted_txs(discord_fake: FakeDiscord, channel_id: int) -> list[str]:
    """Transaction hashes in the alerts of a channel (one per card; merged cards count once)."""
    txs = []
    for embed in alert_embeds(discord_fake, channel_id):
        for field in embed["fields"]:
            if field["name"] == "Transaction":
                txs.append(field["value"].split("/tx/")[1].rstrip(")"))
    return txs


async def test_follow_then_trade_gives_exactly_one_alert_with_the_right_fields(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = wallet_of(polymarket)
    reply = await follow(discord_fake, wallet, discord_fake.other_channel_id)
    assert "Following" in reply["content"]
    await app.bus.drain()  # the follow's read of the trader's positions is done
    payload = rtds.make_payload(
        wallet=wallet,
        size=200,
        price=0.42,
        side="BUY",
        outcome="Yes",
        title="Will it rain?",
        event_slug="rain-event",
        name="@everyone whale",
    )
    await rtds.push(payload)
    await discord_fake.wait_until(
        lambda: discord_fake.channel_messages.get(discord_fake.other_channel_id), timeout=5
    )
    await asyncio.sleep(0.3)  # a second alert would have arrived by now
    messages = discord_fake.channel_messages[discord_fake.other_channel_id]
    assert len(messages) == 1 and not discord_fake.channel_messages.get(discord_fake.channel_id)
    message = messages[0]
    assert message["allowed_mentions"]["parse"] == []
    embed = message["embeds"][0]
    assert embed["title"] == "🟢 $84 BUY Yes @ 42¢ (42%)"
    market, position = embed["description"].split("\n")
    assert market == "[Will it rain?](https://polymarket.com/event/rain-event)"
    assert position == "📥 New position · 200 shares"  # its positions were read on /follow
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Shares"] == "200"
    assert fields["Transaction"].endswith(
        f"(https://polygonscan.com/tx/{payload['transactionHash'].lower()})"
    )
    assert "@everyone" not in embed["author"]["name"]
    assert embed["author"]["url"] == f"https://polymarket.com/profile/{wallet}"
    assert "timestamp" in embed


async def test_filters_on_size_and_side_hold(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = wallet_of(polymarket, 1)
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel, min_usd=100, side="sell")
    small_sell = rtds.make_payload(wallet=wallet, size=10, price=0.5, side="SELL")
    big_buy = rtds.make_payload(wallet=wallet, size=1000, price=0.5, side="BUY")
    big_sell = rtds.make_payload(wallet=wallet, size=1000, price=0.5, side="SELL")
    for payload in (small_sell, big_buy, big_sell):
        await rtds.push(payload)
    await discord_fake.wait_until(lambda: discord_fake.channel_messages.get(channel), timeout=5)
    await asyncio.sleep(0.3)
    assert alerted_txs(discord_fake, channel) == [big_sell["transactionHash"].lower()]


async def test_whale_trades_reach_the_whale_channel_and_small_ones_do_not(
    app: Application, discord_fake: FakeDiscord, rtds: FakeRTDS
) -> None:
    interaction = await discord_fake.invoke(
        "whales",
        {"channel": discord_fake.other_channel_id, "min_usd": 5000},
        user_id=discord_fake.admin_user_id,
    )
    assert "Whale alerts on" in (await interaction.wait_response())["content"]
    stranger = "0x" + "ab" * 20
    whale = rtds.make_payload(wallet=stranger, size=20_000, price=0.5)
    near_certain = rtds.make_payload(wallet=stranger, size=20_000, price=0.97)
    small = rtds.make_payload(wallet=stranger, size=100, price=0.5)
    for payload in (small, near_certain, whale):
        await rtds.push(payload)
    channel = discord_fake.other_channel_id
    await discord_fake.wait_until(lambda: discord_fake.channel_messages.get(channel), timeout=5)
    await asyncio.sleep(0.3)
    assert alerted_txs(discord_fake, channel) == [whale["transactionHash"].lower()]
    assert alert_embeds(discord_fake, channel)[0]["title"].startswith("🐋")

    off = await discord_fake.invoke(
        "whales", {"channel": channel, "min_usd": 0}, user_id=discord_fake.admin_user_id
    )
    assert "off" in (await off.wait_response())["content"]
    await rtds.push(rtds.make_payload(wallet=stranger, size=50_000, price=0.5))
    await asyncio.sleep(0.5)
    assert len(alerted_txs(discord_fake, channel)) == 1


async def test_duplicate_frames_and_orders_matched_give_one_alert(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = wallet_of(polymarket, 2)
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    payload = rtds.make_payload(wallet=wallet, size=50, price=0.3)
    await rtds.push(payload)
    await rtds.push(payload)
    await rtds.push(payload, type_="orders_matched")
    await discord_fake.wait_until(lambda: discord_fake.channel_messages.get(channel), timeout=5)
    await asyncio.sleep(0.5)
    assert alerted_txs(discord_fake, channel) == [payload["transactionHash"].lower()]
    assert app.ingest.stats.duplicates >= 2


async def test_junk_frames_are_skipped_and_counted(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = wallet_of(polymarket, 3)
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    for junk in ("", "not json", '{"foo": 1}', '{"payload": {"proxyWallet": "nope"}}', b"\x00\x01"):
        await rtds.push_raw(junk)
    payload = rtds.make_payload(wallet=wallet)
    await rtds.push(payload)
    await discord_fake.wait_until(lambda: discord_fake.channel_messages.get(channel), timeout=5)
    assert app.stream.stats.junk >= 4
    assert alerted_txs(discord_fake, channel) == [payload["transactionHash"].lower()]


async def test_a_burst_of_fills_is_merged_into_one_card(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = wallet_of(polymarket, 4)
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    # Block the channel briefly so the fills queue up behind the first message.
    discord_fake.force_rate_limit(f"/channels/{channel}/messages", count=1, retry_after=0.5)
    asset = "123456789"
    fills = [
        rtds.make_payload(
            wallet=wallet, size=10 + i, price=0.5, asset=asset, condition_id="0x" + "c" * 64
        )
        for i in range(5)
    ]
    for payload in fills:
        await rtds.push(payload)
    await wait_until(lambda: app.alerts.stats.sent_alerts >= 5, timeout=10)
    embeds = alert_embeds(discord_fake, channel)
    assert sum(1 for e in embeds if "fills merged" in e["title"]) >= 1
    merged_fills = sum(
        int(e["title"].split(" · ")[1].split()[0]) if "fills merged" in e["title"] else 1
        for e in embeds
    )
    assert merged_fills == 5


async def test_a_429_delays_alerts_but_loses_none(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = wallet_of(polymarket, 5)
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    discord_fake.force_rate_limit(f"/channels/{channel}/messages", count=3, retry_after=0.3)
    payloads = [
        rtds.make_payload(wallet=wallet, size=10, price=0.5, asset=str(i)) for i in range(12)
    ]
    for payload in payloads:
        await rtds.push(payload)
    await wait_until(lambda: app.alerts.stats.sent_alerts >= 12, timeout=15)
    assert discord_fake.rate_limited_count >= 3
    assert sorted(alerted_txs(discord_fake, channel)) == sorted(
        p["transactionHash"].lower() for p in payloads
    )


async def test_dropped_socket_and_trades_while_down_are_alerted_once_after_backfill(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = wallet_of(polymarket, 6)
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    before = [rtds.make_payload(wallet=wallet, size=5 + i, price=0.5) for i in range(3)]
    for payload in before:
        record_upstream(polymarket, payload)
        await rtds.push(payload)
    await wait_until(lambda: app.alerts.stats.sent_alerts >= 3, timeout=10)

    rtds.refuse_connections(True)
    await rtds.drop_all()
    during = [rtds.make_payload(wallet=wallet, size=50 + i, price=0.5) for i in range(4)]
    for payload in during:
        record_upstream(polymarket, payload)  # happened on Polymarket while we were away
    await asyncio.sleep(0.3)
    rtds.refuse_connections(False)
    await rtds.wait_for_subscribers(1, timeout=10)
    await wait_until(lambda: app.alerts.stats.sent_alerts >= 7, timeout=15)
    await asyncio.sleep(0.5)
    txs = alerted_txs(discord_fake, channel)
    expected = [p["transactionHash"].lower() for p in before + during]
    assert sorted(txs) == sorted(expected)  # each exactly once: no loss, no doubles
    delayed = [
        e
        for e in alert_embeds(discord_fake, channel)
        if "Delayed" in e.get("footer", {}).get("text", "")
    ]
    assert len(delayed) >= 1
    assert app.stream.stats.reconnects >= 1


async def test_a_silent_socket_is_detected_and_replaced(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = wallet_of(polymarket, 7)
    channel = discord_fake.other_channel_id
    await follow(discord_fake, wallet, channel)
    rtds.go_silent(True)
    await wait_until(lambda: app.stream.stats.silent_reconnects >= 1, timeout=10)
    rtds.go_silent(False)
    await rtds.wait_for_subscribers(1, timeout=10)
    payload = rtds.make_payload(wallet=wallet)
    await rtds.push(payload)
    await discord_fake.wait_until(lambda: discord_fake.channel_messages.get(channel), timeout=5)


async def test_a_deleted_channel_disables_its_follow_and_says_so(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = wallet_of(polymarket, 8)
    channel = await discord_fake.add_channel("doomed")
    await follow(discord_fake, wallet, channel)
    await discord_fake.delete_channel(channel)
    await rtds.push(rtds.make_payload(wallet=wallet))
    await wait_until(lambda: app.alerts.stats.channels_disabled == 1, timeout=10)
    interaction = await discord_fake.invoke("alerts", {}, user_id=discord_fake.user_id)
    listing = (await interaction.wait_response())["embeds"][0]["description"]
    assert "disabled: the channel was deleted" in listing
    assert not app.follows.is_followed(wallet)


async def test_follow_commands_need_manage_channels_and_validate_input(
    app: Application, discord_fake: FakeDiscord
) -> None:
    refused = await discord_fake.invoke(
        "follow", {"trader": "0x" + "1" * 40}, user_id=discord_fake.user_id
    )
    assert "Manage Channels" in (await refused.wait_response())["content"]
    bad = await discord_fake.invoke(
        "follow", {"trader": "0x123"}, user_id=discord_fake.admin_user_id
    )
    message = await bad.wait_response()
    assert bad.ephemeral and "40 hex characters" in message["content"]
    unknown = await discord_fake.invoke(
        "follow", {"trader": "nobody-at-all"}, user_id=discord_fake.admin_user_id
    )
    assert "No trader by that name" in (await unknown.wait_response())["content"]
    missing = await discord_fake.invoke(
        "unfollow", {"trader": "0x" + "2" * 40}, user_id=discord_fake.admin_user_id
    )
    assert "is not followed" in (await missing.wait_response())["content"]


async def test_username_autocomplete_and_alerts_listing(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket
) -> None:
    await wait_until(lambda: app.leaderboard.board("all") is not None)
    entry = next(e for e in app.leaderboard.board("all").by_metric["pnl"] if e.user_name.isalnum())
    choices = await discord_fake.autocomplete(
        "follow", {"trader": entry.user_name[:4]}, "trader", user_id=discord_fake.admin_user_id
    )
    assert entry.wallet in [c["value"] for c in choices]
    await follow(discord_fake, entry.user_name, discord_fake.other_channel_id, min_usd=250)
    interaction = await discord_fake.invoke("alerts", {}, user_id=discord_fake.user_id)
    listing = (await interaction.wait_response())["embeds"][0]["description"]
    assert entry.user_name in listing and "≥ $250" in listing
    assert f"<#{discord_fake.other_channel_id}>" in listing


async def test_admin_status_shows_the_stream_queues_and_alert_counts(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    wallet = wallet_of(polymarket, 9)
    await follow(discord_fake, wallet, discord_fake.other_channel_id)
    await rtds.push(rtds.make_payload(wallet=wallet))
    await rtds.push_raw("junk")
    await wait_until(lambda: app.alerts.stats.sent_alerts >= 1, timeout=10)
    interaction = await discord_fake.invoke(
        "admin", subcommand="status", user_id=discord_fake.admin_user_id
    )
    fields = {
        f["name"]: f["value"] for f in (await interaction.wait_response())["embeds"][0]["fields"]
    }
    live = fields["Live trades"]
    assert "Stream: ✅ connected since <t:" in live
    assert "1 junk frame · 0 shed" in live
    assert "Queues: ingest 0" in live
    assert "Deliveries: 1 sent · 0 pending · 0 failed" in fields["Alerts"]
    assert "**trade-retention**" in fields["Background work"]
    assert "**memory**" in fields["Background work"]


async def test_follow_says_so_when_the_bot_cannot_post_there_and_a_forbidden_channel_disables(
    app: Application, discord_fake: FakeDiscord, polymarket: FakePolymarket, rtds: FakeRTDS
) -> None:
    send_messages = 1 << 11
    closed = await discord_fake.add_channel("closed")
    await discord_fake.set_channel_permissions(closed, discord_fake.bot_user_id, deny=send_messages)

    def bot_cannot_send() -> bool:
        channel = app.bot.get_channel(closed)
        guild = app.bot.get_guild(discord_fake.guild_id)
        if channel is None or guild is None:
            return False
        return not channel.permissions_for(guild.me).send_messages

    await wait_until(bot_cannot_send)
    wallet = wallet_of(polymarket, 10)
    refused = await follow(discord_fake, wallet, closed)
    assert "I can't post alerts in" in refused["content"] and "Send Messages" in refused["content"]
    assert not app.follows.is_followed(wallet)

    # Permissions taken away after the follow: the first alert is refused (403) and the
    # follow is disabled with the reason instead of being retried forever.
    open_channel = await discord_fake.add_channel("soon-closed")
    await follow(discord_fake, wallet, open_channel)
    await discord_fake.set_channel_permissions(
        open_channel, discord_fake.bot_user_id, deny=send_messages
    )
    await rtds.push(rtds.make_payload(wallet=wallet))
    await wait_until(lambda: app.alerts.stats.channels_disabled == 1, timeout=10)
    interaction = await discord_fake.invoke("alerts", {}, user_id=discord_fake.user_id)
    listing = (await interaction.wait_response())["embeds"][0]["description"]
    assert "disabled: the bot may not post there (missing permissions)" in listing

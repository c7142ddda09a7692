"""Proves the fake Discord speaks enough protocol for the real discord.py client.

Why: every other end-to-end test trusts :mod:`tests.fakes.discord`. If the fake drifted from what
discord.py expects (headers, payload shapes, callback flow), those tests would fail for the wrong
reason or, worse, pass for the wrong reason. These tests drive a minimal real ``commands.Bot``
through login, gateway, command sync, slash commands (plain, grouped, deferred, ephemeral),
autocomplete, buttons, file uploads, a 429 and a gateway resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import FakeDiscord, FakeInteraction

pytestmark = pytest.mark.asyncio


class PressView(discord.ui.View):
    """One button; pressing it rewrites the message, to prove component dispatch and type 7."""

    @discord.ui.button(label="Press", custom_id="press", style=discord.ButtonStyle.primary)
    async def press(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(
            content=f"pressed by {interaction.user.id}", view=None
        )


def build_bot() -> commands.Bot:
    """A tiny bot covering each interaction flow the real bot uses."""
    bot = commands.Bot(
        command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.1
    )

    @bot.tree.command(description="Answer pong")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    @bot.tree.command(description="Echo typed options back, privately")
    @app_commands.choices(side=[app_commands.Choice(name=s, value=s) for s in ("buy", "sell")])
    async def echo(
        interaction: discord.Interaction,
        text: str,
        count: int,
        side: str,
        flag: bool = False,
        ratio: float = 1.0,
        channel: discord.TextChannel | None = None,
        who: discord.Member | None = None,
    ) -> None:
        perms = interaction.permissions
        parts = [
            f"text={text}",
            f"count={count + 1}",
            f"side={side}",
            f"flag={flag}",
            f"ratio={ratio * 2}",
            f"channel={getattr(channel, 'name', None)}",
            f"who={getattr(who, 'name', None)}",
            f"admin={perms.administrator}",
            f"manage_guild={perms.manage_guild}",
        ]
        await interaction.response.send_message(" ".join(parts), ephemeral=True)

    group = app_commands.Group(name="grp", description="A group")

    @group.command(name="sub", description="Defer, edit, then follow up")
    async def sub(interaction: discord.Interaction, value: int) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content=f"value={value}")
        original = await interaction.original_response()
        await interaction.followup.send(f"followup after {original.content}", wait=True)

    @group.command(name="quiet", description="Ephemeral defer then follow up")
    async def quiet(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("done quietly", ephemeral=True)

    bot.tree.add_command(group)

    @bot.tree.command(description="Send a button")
    async def button(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("press me", view=PressView(timeout=30))

    @bot.tree.command(description="Post to the channel with a file")
    async def post(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        assert isinstance(interaction.channel, discord.TextChannel)
        file = discord.File(io.BytesIO(b"x" * 1234), filename="chart.png")
        embed = discord.Embed(title="Chart").set_image(url="attachment://chart.png")
        message = await interaction.channel.send(
            "posted", embed=embed, file=file, allowed_mentions=discord.AllowedMentions.none()
        )
        await message.edit(content="posted and edited")
        await interaction.edit_original_response(content=f"posted {message.id}")

    @bot.tree.command(description="Pick a trader")
    async def pick(interaction: discord.Interaction, trader: str) -> None:
        await interaction.response.send_message(f"picked {trader}")

    @pick.autocomplete("trader")
    async def pick_trader(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = ["alice", "albert", "bob"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    return bot


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    server.install()
    yield server
    await server.stop()


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[commands.Bot]:
    """A connected bot whose commands are synced to the test guild."""
    client = build_bot()
    await client.login(fake.token)
    task = asyncio.create_task(client.connect(reconnect=False))
    await fake.wait_ready()
    await asyncio.wait_for(client.wait_until_ready(), 5)
    guild = discord.Object(fake.guild_id)
    client.tree.copy_global_to(guild=guild)
    await client.tree.sync(guild=guild)
    yield client
    await client.close()
    with contextlib.suppress(Exception):  # connect() ends with whatever close() provoked
        await asyncio.wait_for(task, 5)


async def test_login_connect_and_sync(fake: FakeDiscord, bot: commands.Bot) -> None:
    assert bot.user is not None and bot.user.id == fake.bot_user_id
    assert bot.application_id == fake.application_id
    guild = bot.get_guild(fake.guild_id)
    assert guild is not None and guild.name == "Test Guild"
    assert {c.name for c in guild.text_channels} == {"general", "alerts"}
    admins = guild.get_role(fake.admin_role_id)
    assert admins is not None and admins.permissions.administrator
    assert guild.me is not None and guild.me.guild_permissions.send_messages
    assert fake.sync_count == 1
    names = {c["name"] for c in fake.guild_commands[fake.guild_id]}
    assert {"ping", "echo", "grp", "button", "post", "pick"} <= names
    fetched = await bot.tree.fetch_commands(guild=discord.Object(fake.guild_id))
    assert {c.name for c in fetched} == names
    assert ("GET", "/users/@me") in fake.requests
    assert ("GET", "/oauth2/applications/@me") in fake.requests
    assert fake.identify_count == 1


async def test_bad_token_is_login_failure(fake: FakeDiscord) -> None:
    client = commands.Bot(command_prefix="!", intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await client.login("wrong-token")
    await client.close()


async def test_slash_command_response(fake: FakeDiscord, bot: commands.Bot) -> None:
    inter = await fake.invoke("ping")
    message = await inter.wait_response()
    assert message["content"] == "pong"
    assert not inter.ephemeral and not inter.deferred
    assert inter.callbacks[0]["type"] == 4
    assert inter.original is message


async def test_typed_options_permissions_and_ephemeral(
    fake: FakeDiscord, bot: commands.Bot
) -> None:
    options: dict[str, object] = {
        "text": "hi",
        "count": 41,
        "side": "sell",
        "flag": True,
        "ratio": 1.5,
        "channel": fake.other_channel_id,
        "who": fake.other_user_id,
    }
    inter = await fake.invoke("echo", options, user_id=fake.admin_user_id)
    message = await inter.wait_response()
    assert inter.ephemeral and message["flags"] & 64
    assert message["content"] == (
        "text=hi count=42 side=sell flag=True ratio=3.0 channel=alerts who=other_trader "
        "admin=True manage_guild=True"
    )
    plain = await fake.invoke("echo", {"text": "a", "count": 1, "side": "buy"})
    assert "admin=False manage_guild=False" in (await plain.wait_response())["content"]
    with pytest.raises(ValueError, match="choices"):
        await fake.invoke("echo", {"text": "a", "count": 1, "side": "hold"})
    with pytest.raises(LookupError):
        await fake.invoke("never-synced")


async def test_group_defer_edit_and_followup(fake: FakeDiscord, bot: commands.Bot) -> None:
    inter = await fake.invoke("grp", {"value": 7}, subcommand="sub")
    first = await inter.wait_response()
    assert inter.deferred and not inter.ephemeral
    assert inter.callbacks[0]["type"] == 5
    assert first["content"] == "value=7"
    await inter.wait_for(lambda i: len(i.followups) == 1)
    assert inter.followups[0]["content"] == "followup after value=7"
    assert inter.followups[0]["id"] != first["id"]


async def test_ephemeral_defer_then_followup_fills_placeholder(
    fake: FakeDiscord, bot: commands.Bot
) -> None:
    inter = await fake.invoke("grp", subcommand="quiet")
    message = await inter.wait_response()
    assert inter.deferred and inter.ephemeral
    assert message["content"] == "done quietly"
    assert message is inter.original  # Discord fills the "thinking" message with the 1st followup
    assert not message["flags"] & 128


async def test_button_click_updates_message(fake: FakeDiscord, bot: commands.Bot) -> None:
    inter = await fake.invoke("button")
    message = await inter.wait_response()
    assert message["components"][0]["components"][0]["custom_id"] == "press"
    click = await fake.click(message, "press", user_id=fake.other_user_id)
    updated = await click.wait_response()
    assert click.callbacks[0]["type"] == 7
    assert updated["content"] == f"pressed by {fake.other_user_id}"
    assert updated["id"] == message["id"] and updated["components"] == []
    with pytest.raises(ValueError, match="no component"):
        await fake.click(updated, "press")


async def test_autocomplete_returns_choices(fake: FakeDiscord, bot: commands.Bot) -> None:
    choices = await fake.autocomplete("pick", {"trader": "al"}, focused="trader")
    assert [c["value"] for c in choices] == ["alice", "albert"]


async def test_channel_message_with_file(fake: FakeDiscord, bot: commands.Bot) -> None:
    inter = await fake.invoke("post")
    reply = await inter.wait_response()
    assert inter.ephemeral
    posted = await fake.wait_for_message(fake.channel_id, lambda m: "posted" in m["content"])
    assert fake.channel_messages[fake.channel_id] == [posted]
    assert reply["content"] == f"posted {posted['id']}"
    assert posted["content"] == "posted and edited"
    assert posted["attachments_received"] == [
        {"filename": "chart.png", "size": 1234, "content_type": "application/octet-stream"}
    ]
    assert posted["attachments"][0]["filename"] == "chart.png"
    assert posted["allowed_mentions"]["parse"] == []
    assert posted["embeds"][0]["title"] == "Chart"


async def test_rate_limit_then_success(
    fake: FakeDiscord, bot: commands.Bot, caplog: pytest.LogCaptureFixture
) -> None:
    fake.force_rate_limit("/callback", count=1, retry_after=0.2)
    fake.force_rate_limit(f"/channels/{fake.channel_id}/messages", count=1, retry_after=0.1)
    channel = bot.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    with caplog.at_level(logging.WARNING, logger="discord"):
        sent = await channel.send("after a 429")
        inter = await fake.invoke("ping")
        assert (await inter.wait_response())["content"] == "pong"
    assert sent.content == "after a 429"
    assert fake.rate_limited_count == 2
    assert [p for m, p in fake.requests if p.endswith("/callback")].count(
        f"/interactions/{inter.id}/{inter.token}/callback"
    ) == 2
    assert "rate limited" in caplog.text


async def test_global_rate_limit_is_retried(fake: FakeDiscord, bot: commands.Bot) -> None:
    fake.force_rate_limit("/channels/", retry_after=0.1, global_=True)
    channel = bot.get_channel(fake.other_channel_id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("global")
    assert message.content == "global" and fake.rate_limited_count == 1


async def test_second_and_late_callbacks_are_refused(fake: FakeDiscord, bot: commands.Bot) -> None:
    inter = await fake.invoke("ping")
    await inter.wait_response()
    url = f"{fake.api_base}/interactions/{inter.id}/{inter.token}/callback"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"type": 4, "data": {"content": "again"}}) as resp:
            assert resp.status == 400 and resp.headers["Content-Type"] == "application/json"
            assert (await resp.json())["code"] == 40060
    assert len(inter.callbacks) == 1
    fake.interaction_timeout = 0.0  # every callback is now past Discord's 3 s deadline
    late = await fake.invoke("ping")
    await fake.wait_until(lambda: any(e[3]["code"] == 10062 for e in fake.errors), what="404")
    assert late.callbacks == [] and late.original is None


async def test_missing_permission_and_unknown_route(fake: FakeDiscord, bot: commands.Bot) -> None:
    await fake.set_channel_permissions(
        fake.other_channel_id, fake.bot_user_id, deny=1 << 11
    )  # SEND_MESSAGES
    channel = bot.get_channel(fake.other_channel_id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.Forbidden):
        await channel.send("nope")
    with pytest.raises(discord.NotFound):
        await bot.http.request(discord.http.Route("GET", "/no/such/route"))
    assert fake.unknown_requests == [("GET", "/no/such/route")]


async def test_resume_after_disconnect(fake: FakeDiscord, bot: commands.Bot) -> None:
    resumed = asyncio.Event()

    async def on_resumed() -> None:
        resumed.set()

    bot.add_listener(on_resumed)
    await fake.disconnect()
    inter: FakeInteraction = await fake.invoke("ping")  # buffered, replayed on RESUME
    await asyncio.wait_for(resumed.wait(), 5)
    assert (await inter.wait_response())["content"] == "pong"
    assert fake.resume_count == 1 and fake.identify_count == 1


async def test_restarted_bot_identifies_again(fake: FakeDiscord, bot: commands.Bot) -> None:
    await bot.close()
    second = build_bot()
    await second.login(fake.token)
    task = asyncio.create_task(second.connect(reconnect=False))
    try:
        await fake.wait_ready(identifies=2)
        await second.tree.sync()  # global this time
        assert fake.sync_count == 2 and {c["name"] for c in fake.global_commands} >= {"ping"}
        inter = await fake.invoke("ping")
        assert (await inter.wait_response())["content"] == "pong"
    finally:
        await second.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)


# ---- rate limits, nonces and refusals as Discord has them -----------------------------------


async def post_message(
    session: aiohttp.ClientSession, fake: FakeDiscord, channel_id: int, body: dict[str, object]
) -> tuple[int, dict[str, str], object]:
    url = f"{fake.api_base}/channels/{channel_id}/messages"
    headers = {"Authorization": f"Bot {fake.token}"}
    async with session.post(url, json=body, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.json()


async def test_channel_posts_carry_bucket_headers_and_enforcement_answers_429(
    fake: FakeDiscord,
) -> None:
    async with aiohttp.ClientSession() as session:
        remaining = []
        for n in range(6):
            status, headers, _ = await post_message(
                session, fake, fake.channel_id, {"content": f"m{n}"}
            )
            assert status == 200 and headers["X-RateLimit-Limit"] == "5"
            assert 0 < float(headers["X-RateLimit-Reset-After"]) <= 5.0
            remaining.append(int(headers["X-RateLimit-Remaining"]))
        assert remaining == [4, 3, 2, 1, 0, 0]  # not enforced: the sixth still goes
        fake.rate_limits.enforce_channel_limits = True
        status, headers, body = await post_message(session, fake, fake.channel_id, {"content": "x"})
        assert status == 429 and headers["Via"] and isinstance(body, dict)
        assert body["global"] is False and 0 < body["retry_after"] <= 5.0
        assert fake.rate_limits.channel_429s == 1 and fake.rate_limited_count == 1
        other = await post_message(session, fake, fake.other_channel_id, {"content": "y"})
        assert other[0] == 200  # a bucket per channel


async def test_the_global_limit_counts_every_request_but_interactions(fake: FakeDiscord) -> None:
    fake.rate_limits.enforce_global_limit = True
    fake.rate_limits.global_limit = 3
    async with aiohttp.ClientSession() as session:
        statuses = [
            (await post_message(session, fake, fake.channel_id, {"content": f"g{n}"}))[0]
            for n in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        url = f"{fake.api_base}/interactions/1/token/callback"
        async with session.post(url, json={"type": 1}) as resp:
            assert resp.status != 429  # exempt, as on Discord
    assert fake.rate_limits.global_429s == 1


async def test_nonces_are_remembered_for_a_while_and_not_shown_later(
    fake: FakeDiscord,
) -> None:
    body = {"content": "once", "nonce": "n-1", "enforce_nonce": True}
    async with aiohttp.ClientSession() as session:
        _, _, first = await post_message(session, fake, fake.channel_id, body)
        _, _, again = await post_message(session, fake, fake.channel_id, body)
        assert isinstance(first, dict) and isinstance(again, dict)
        assert again["id"] == first["id"] and first["nonce"] == "n-1"
        assert fake.nonce_hits == 1
        fake.nonce_ttl = 0  # Discord forgot it
        _, _, later = await post_message(session, fake, fake.channel_id, body)
        assert isinstance(later, dict) and later["id"] != first["id"]
        url = f"{fake.api_base}/channels/{fake.channel_id}/messages?limit=1&after=0"
        async with session.get(url, headers={"Authorization": f"Bot {fake.token}"}) as resp:
            (oldest,) = await resp.json()
        assert oldest["id"] == first["id"]  # ``after`` pages forward: the oldest first
        assert "nonce" not in oldest  # only the answer to the post carries it


async def test_a_refused_embed_is_a_400_form_error(fake: FakeDiscord) -> None:
    fake.refused_embed_texts.add("0xbad")
    async with aiohttp.ClientSession() as session:
        status, _, body = await post_message(
            session, fake, fake.channel_id, {"embeds": [{"title": "tx 0xbad"}]}
        )
    assert status == 400 and isinstance(body, dict) and body["code"] == 50035
    assert fake.channel_messages.get(fake.channel_id) is None

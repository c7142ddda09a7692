"""A local fake of Discord's REST API and gateway, for end-to-end tests with the real discord.py.

Why it exists: slash commands, buttons and alert posts are only trustworthy when they go through the
real discord.py client (its HTTP client and rate-limit handling, gateway parser, command tree and
view store). Real Discord cannot be used in tests, so this package serves just enough of the
protocol on 127.0.0.1 for discord.py 2.7 to log in, connect, sync commands, receive interactions
and answer them, and it records everything the bot sent so tests can assert on it.

Point discord.py at it with :meth:`FakeDiscord.install` (process-wide), or, for a bot running in a
subprocess, with the ``DISCORD_API_BASE`` / ``DISCORD_GATEWAY_URL`` settings set to
:attr:`FakeDiscord.api_base` / :attr:`FakeDiscord.gateway_url`. ``python -m tests.fakes.discord``
runs it standalone for manual sandbox runs.

This module is the facade: :class:`FakeDiscord` is the world and its records
(:mod:`~tests.fakes.discord.state`) plus one aiohttp server that wires the parts together: the
gateway (:mod:`~tests.fakes.discord.gateway`), the REST plumbing and simple routes
(:mod:`~tests.fakes.discord.rest`), command sync (:mod:`~tests.fakes.discord.commands`), channel
messages (:mod:`~tests.fakes.discord.messages`), interactions sent to the bot
(:mod:`~tests.fakes.discord.interactions`) and the bot's answers to them
(:mod:`~tests.fakes.discord.responses`). Each part's docstring lists the fidelity rules it keeps
(each one is a way discord.py breaks against a sloppy fake, or a real limit enforced so that bot
bugs show up here rather than in production).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Self

import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import web

from tests.fakes.discord.commands import Commands
from tests.fakes.discord.gateway import GUILD_MEMBERS_INTENT, Gateway
from tests.fakes.discord.interactions import FakeInteraction, Interactions
from tests.fakes.discord.messages import Messages
from tests.fakes.discord.responses import Responses
from tests.fakes.discord.rest import API_PREFIX, RestApi
from tests.fakes.discord.state import (
    ADMINISTRATOR,
    BOT_ROLE_PERMISSIONS,
    EVERYONE_PERMISSIONS,
    JSON,
    MANAGE_GUILD,
    DiscordState,
    FakeGuild,
    now_iso,
)


class FakeDiscord(DiscordState):
    """A fake Discord server (REST + gateway on one aiohttp app) for one bot and one guild.

    The guild "Test Guild" has two text channels ("general", "alerts"), an admin member (role
    "Admins" with ADMINISTRATOR and MANAGE_GUILD, and the guild's owner), two plain members and
    the bot. See the module docstring for why and how; see the public methods for the test API.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        interaction_timeout: float | None = 3.0,
        heartbeat_interval_ms: int = 41_250,
    ) -> None:
        """Build the world; nothing listens until :meth:`start`.

        ``interaction_timeout`` is Discord's deadline for the first callback (3 s): a later callback
        gets "Unknown interaction", as in production. ``None`` disables it (e.g. under a debugger).
        """
        super().__init__(
            interaction_timeout=interaction_timeout, heartbeat_interval_ms=heartbeat_interval_ms
        )
        self.host = host
        self._port = port
        self._gateway = Gateway(self)
        self._rest = RestApi(self)
        self._command_api = Commands(self)
        self._message_api = Messages(self, self._gateway)
        self._interaction_api = Interactions(self, self._gateway, self._command_api)
        self._response_api = Responses(self, self._message_api)
        self._runner: web.AppRunner | None = None
        self._saved_install: tuple[str, yarl.URL] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on ``host`` (port 0 picks a free port) and fill in the URLs."""
        fake = self

        @web.middleware
        async def middleware(
            request: web.Request, handler: Callable[[web.Request], Any]
        ) -> web.StreamResponse:
            return await fake._handle_api(request, handler)

        app = web.Application(middlewares=[middleware], client_max_size=64 * 1024 * 1024)
        self._add_routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.http_base = f"http://{self.host}:{port}"
        self.api_base = f"{self.http_base}{API_PREFIX}"
        self.gateway_url = f"ws://{self.host}:{port}/gateway"

    async def stop(self) -> None:
        """Close gateway sockets (1001, going away) and the server; undo :meth:`install`."""
        await self._gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.uninstall()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def install(self) -> None:
        """Point discord.py (process-wide class attributes) at this fake; see the module doc."""
        if self._saved_install is None:
            self._saved_install = (
                discord.http.Route.BASE,
                discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
            )
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

    def uninstall(self) -> None:
        """Restore what :meth:`install` replaced, so one test's fake cannot leak into the next."""
        if self._saved_install is not None:
            base, gateway = self._saved_install
            discord.http.Route.BASE = base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
            self._saved_install = None

    def _add_routes(self, app: web.Application) -> None:
        """Register routes; literal segments (``@me``, ``@original``) go before ``{params}``."""
        rest, commands = self._rest, self._command_api
        messages, responses = self._message_api, self._response_api
        routes: list[tuple[str, str, Callable[[web.Request], Any]]] = [
            ("GET", "/users/@me", rest.get_me),
            ("POST", "/users/@me/channels", messages.create_dm),
            ("GET", "/users/{user_id}", rest.get_user),
            ("GET", "/oauth2/applications/@me", rest.get_application),
            ("GET", "/gateway", rest.get_gateway),
            ("GET", "/gateway/bot", rest.get_gateway_bot),
            ("GET", "/applications/{app_id}/commands", commands.get_commands),
            ("PUT", "/applications/{app_id}/commands", commands.put_commands),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", commands.get_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", commands.put_commands),
            ("POST", "/interactions/{interaction_id}/{token}/callback", responses.callback),
            (
                "GET",
                "/webhooks/{app_id}/{token}/messages/@original",
                responses.get_webhook_message,
            ),
            (
                "PATCH",
                "/webhooks/{app_id}/{token}/messages/@original",
                responses.edit_webhook_message,
            ),
            (
                "DELETE",
                "/webhooks/{app_id}/{token}/messages/@original",
                responses.delete_webhook_message,
            ),
            (
                "GET",
                "/webhooks/{app_id}/{token}/messages/{message_id}",
                responses.get_webhook_message,
            ),
            (
                "PATCH",
                "/webhooks/{app_id}/{token}/messages/{message_id}",
                responses.edit_webhook_message,
            ),
            (
                "DELETE",
                "/webhooks/{app_id}/{token}/messages/{message_id}",
                responses.delete_webhook_message,
            ),
            ("POST", "/webhooks/{app_id}/{token}", responses.followup),
            ("GET", "/channels/{channel_id}", messages.get_channel),
            ("GET", "/channels/{channel_id}/messages", messages.list_messages),
            ("POST", "/channels/{channel_id}/messages", messages.create_channel_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", messages.get_channel_message),
            (
                "PATCH",
                "/channels/{channel_id}/messages/{message_id}",
                messages.edit_channel_message,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}",
                messages.delete_channel_message,
            ),
            ("POST", "/channels/{channel_id}/typing", messages.typing),
            ("GET", "/guilds/{guild_id}", rest.get_guild),
            ("GET", "/guilds/{guild_id}/channels", rest.get_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", rest.get_guild_roles),
            ("GET", "/guilds/{guild_id}/members/{user_id}", rest.get_member),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_get("/gateway", self._gateway.handle)
        app.router.add_get(
            "/attachments/{channel_id}/{attachment_id}/{filename}", messages.download
        )

    async def _handle_api(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        """Every request passes here (the middleware); ``scripts/bench_stream.py`` overrides it."""
        return await self._rest.handle(request, handler)

    # ------------------------------------------------------------------ waiting

    async def wait_ready(
        self,
        timeout: float = 10,  # noqa: ASYNC109 - test API
        *,
        identifies: int = 1,
    ) -> None:
        """Wait until a client IDENTIFYed and was sent READY and GUILD_CREATE, and is connected.

        ``identifies`` waits for the n-th IDENTIFY overall, e.g. 2 after restarting the bot.
        """
        await self.wait_until(
            lambda: self.identify_count >= identifies and self._gateway.live_session(),
            timeout,
            f"IDENTIFY #{identifies} and READY",
        )

    # ------------------------------------------------------------------ changing the world

    def add_guild(self, name: str, *, shard: tuple[int, int] | None = None) -> FakeGuild:
        """Add a guild like the first one (two text channels, @everyone, Admins and the bot's
        role, the same users as members, the admin its owner). ``shard`` = (shard id, shard
        count) picks its id so Discord's ``(guild_id >> 22) % count`` rule puts it on that
        shard. Call it before the bot connects (READY lists the guilds)."""
        guild_id = self._snowflake()
        if shard is not None:
            shard_id, count = shard
            guild_id += ((shard_id - (guild_id >> 22)) % count) << 22
            self._last_snowflake = guild_id
        ids = [self._snowflake() for _ in range(4)]
        channel_id, other_channel_id, admin_role_id, bot_role_id = ids
        self._roles[guild_id] = self._role_payload(guild_id, "@everyone", EVERYONE_PERMISSIONS, 0)
        self._roles[bot_role_id] = self._role_payload(
            bot_role_id, "Polybot", BOT_ROLE_PERMISSIONS, 1, bot_id=self.bot_user_id
        )
        self._roles[admin_role_id] = self._role_payload(
            admin_role_id, "Admins", ADMINISTRATOR | MANAGE_GUILD, 2
        )
        members = {
            self.bot_user_id: {"roles": [bot_role_id], "joined_at": now_iso()},
            self.admin_user_id: {"roles": [admin_role_id], "joined_at": now_iso()},
            self.user_id: {"roles": [], "joined_at": now_iso()},
            self.other_user_id: {"roles": [], "joined_at": now_iso()},
        }
        for position, (cid, channel_name) in enumerate(
            ((channel_id, "general"), (other_channel_id, "alerts"))
        ):
            self._channels[cid] = self._channel_payload(cid, channel_name, position, guild_id)
        guild = FakeGuild(
            id=guild_id,
            name=name,
            owner_id=self.admin_user_id,
            channel_id=channel_id,
            other_channel_id=other_channel_id,
            admin_role_id=admin_role_id,
            bot_role_id=bot_role_id,
            role_ids=[guild_id, bot_role_id, admin_role_id],
            members=members,
        )
        self.guilds[guild_id] = guild
        return guild

    async def add_member(self, username: str, *, admin: bool = False) -> int:
        """Add a member (plain, or with the Admins role) and announce it; returns the user id."""
        user_id = self._snowflake()
        self._add_user(user_id, username)
        roles = [self.admin_role_id] if admin else []
        self._members[user_id] = {"roles": roles, "joined_at": now_iso()}
        payload = self._member_payload(user_id) | {"guild_id": str(self.guild_id)}
        await self.dispatch("GUILD_MEMBER_ADD", payload, intent=GUILD_MEMBERS_INTENT)
        return user_id

    async def add_channel(self, name: str) -> int:
        """Create a text channel and dispatch CHANNEL_CREATE; returns its id."""
        channel_id = self._snowflake()
        self._channels[channel_id] = self._channel_payload(channel_id, name, len(self._channels))
        await self.dispatch("CHANNEL_CREATE", self._channels[channel_id])
        return channel_id

    async def add_thread(self, parent_id: int, name: str) -> int:
        """Create a public thread in a text channel and dispatch THREAD_CREATE; returns its id."""
        thread_id = self._snowflake()
        self._channels[thread_id] = self._thread_payload(thread_id, parent_id, name)
        await self.dispatch("THREAD_CREATE", self._channels[thread_id] | {"newly_created": True})
        return thread_id

    async def delete_channel(self, channel_id: int) -> None:
        """Delete a channel (later posts to it get 404 Unknown Channel) and dispatch it."""
        channel = self._channels.pop(channel_id)
        self.deleted_channel_ids.add(channel_id)
        await self.dispatch("CHANNEL_DELETE", channel)

    async def set_channel_permissions(
        self, channel_id: int, target_id: int, *, allow: int = 0, deny: int = 0
    ) -> None:
        """Set a role or member overwrite on a channel (e.g. deny the bot SEND_MESSAGES).

        The REST side enforces the result for the bot's posts (403 Missing Permissions) and the
        client learns it through CHANNEL_UPDATE, as with real Discord.
        """
        channel = self._channels[channel_id]
        kind = 0 if target_id in self._roles else 1
        overwrites = [o for o in channel["permission_overwrites"] if int(o["id"]) != target_id]
        if allow or deny:
            overwrites.append(
                {"id": str(target_id), "type": kind, "allow": str(allow), "deny": str(deny)}
            )
        channel["permission_overwrites"] = overwrites
        await self.dispatch("CHANNEL_UPDATE", channel)

    # ------------------------------------------------------------------ the parts' test API

    async def dispatch(
        self, event: str, data: JSON, *, guild_id: int | None = None, intent: int | None = None
    ) -> int:
        """Send a gateway DISPATCH to the bot; see :meth:`Gateway.dispatch`."""
        return await self._gateway.dispatch(event, data, guild_id=guild_id, intent=intent)

    async def disconnect(self, *, code: int = 4000, resumable: bool = True) -> None:
        """Drop every gateway socket; see :meth:`Gateway.disconnect`."""
        await self._gateway.disconnect(code=code, resumable=resumable)

    def force_rate_limit(
        self, path_contains: str, count: int = 1, retry_after: float = 0.2, global_: bool = False
    ) -> None:
        """Answer matching REST requests with 429s; see :meth:`RestApi.force_rate_limit`."""
        self._rest.force_rate_limit(path_contains, count, retry_after, global_)

    async def invoke(
        self,
        name: str,
        options: dict[str, object] | None = None,
        *,
        subcommand: str | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
    ) -> FakeInteraction:
        """Run a synced slash command as a member would; see :meth:`Interactions.invoke`."""
        return await self._interaction_api.invoke(
            name,
            options,
            subcommand=subcommand,
            user_id=user_id,
            channel_id=channel_id,
            guild_id=guild_id,
        )

    async def autocomplete(
        self,
        name: str,
        options: dict[str, object],
        focused: str,
        *,
        subcommand: str | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        timeout: float = 5,  # noqa: ASYNC109 - test API
    ) -> list[JSON]:
        """Type into an autocomplete option; see :meth:`Interactions.autocomplete`."""
        return await self._interaction_api.autocomplete(
            name,
            options,
            focused,
            subcommand=subcommand,
            user_id=user_id,
            channel_id=channel_id,
            timeout=timeout,
        )

    async def click(
        self,
        message: JSON,
        custom_id: str,
        *,
        user_id: int | None = None,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """Press a button or choose in a select; see :meth:`Interactions.click`."""
        return await self._interaction_api.click(message, custom_id, user_id=user_id, values=values)

    async def submit_modal(
        self, opened_by: FakeInteraction, values: dict[str, str], *, user_id: int | None = None
    ) -> FakeInteraction:
        """Submit the modal the bot opened; see :meth:`Interactions.submit_modal`."""
        return await self._interaction_api.submit_modal(opened_by, values, user_id=user_id)


async def _serve(port: int) -> None:
    """Run the fake until interrupted, for manual sandbox runs of the bot."""
    async with FakeDiscord(port=port, interaction_timeout=None) as fake:
        print(f"DISCORD_API_BASE={fake.api_base}")
        print(f"DISCORD_GATEWAY_URL={fake.gateway_url}")
        print(f"DISCORD_TOKEN={fake.token}")
        print(f"guild_id={fake.guild_id} channel_id={fake.channel_id}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.discord", description="Run the fake Discord server standalone."
    )
    parser.add_argument("--port", type=int, default=8999)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()

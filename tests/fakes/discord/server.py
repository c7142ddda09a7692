"""A local fake of Discord's REST API and gateway, for end-to-end tests with the real discord.py.

Why it exists: slash commands, buttons and alert posts are only trustworthy when they go through the
real discord.py client (its HTTP client and rate-limit handling, gateway parser, command tree and
view store). Real Discord cannot be used in tests, so this module serves just enough of the protocol
on 127.0.0.1 for discord.py 2.7 to log in, connect, sync commands, receive interactions and answer
them, and it records everything the bot sent so tests can assert on it.

Point discord.py at it with :meth:`FakeDiscord.install` (process-wide), or, for a bot running in a
subprocess, with the ``DISCORD_API_BASE`` / ``DISCORD_GATEWAY_URL`` settings set to
:attr:`FakeDiscord.api_base` / :attr:`FakeDiscord.gateway_url`. ``python -m tests.fakes.discord``
runs it standalone for manual sandbox runs.

Fidelity rules (each one is a way discord.py breaks against a sloppy fake): JSON bodies carry
``Content-Type: application/json`` with no charset; snowflakes and permission sets are strings; a
429 carries ``Via`` and ``X-RateLimit-*``; the fake answers its own bugs with 4xx, never 5xx (a 5xx
makes discord.py retry for about 25 s). It also enforces a few real limits (message and embed
sizes, "already acknowledged", the 3-second interaction deadline, command naming rules) so bot bugs
show up here rather than in production.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import logging
import mimetypes
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import BodyPartReader, WSMsgType, web

log = logging.getLogger(__name__)

JSON = dict[str, Any]
API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (Discord "permissions" topic). Only the ones the fake reasons about are named.
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
#: Every permission Discord defines (bits 0-52; bit 47 is unassigned). Administrators get this.
ALL_PERMISSIONS = ((1 << 53) - 1) & ~(1 << 47)
#: What @everyone gets in a freshly created server, so a plain member can talk but not manage.
EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
#: The bot's managed role: what a typical invite link grants.
BOT_ROLE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
)

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7
IS_COMPONENTS_V2 = 1 << 15

# Gateway intents the fake filters events by.
GUILD_MEMBERS_INTENT = 1 << 1
GUILD_MESSAGES_INTENT = 1 << 9
DIRECT_MESSAGES_INTENT = 1 << 12

# Interaction types and interaction callback types.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE = 4, 5, 6
UPDATE_MESSAGE, AUTOCOMPLETE_RESULT, MODAL = 7, 8, 9
#: Which callback types Discord accepts for each interaction type.
ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    APPLICATION_COMMAND: frozenset({CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL}),
    MESSAGE_COMPONENT: frozenset(
        {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE, MODAL}
    ),
    AUTOCOMPLETE: frozenset({AUTOCOMPLETE_RESULT}),
    MODAL_SUBMIT: frozenset(
        {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE}
    ),
}

# Gateway opcodes.
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE, OP_VOICE_STATE = 0, 1, 2, 3, 4
OP_RESUME, OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION = 6, 7, 8, 9
OP_HELLO, OP_HEARTBEAT_ACK = 10, 11

#: Component types that carry ``values`` when used (string/user/role/mentionable/channel select).
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
#: Keys the fake keeps in a stored message for tests but does not send back to the client.
PRIVATE_MESSAGE_KEYS = frozenset({"attachments_received", "allowed_mentions", "enforce_nonce"})
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


class ApiError(Exception):
    """A Discord-style error answer, raised inside a handler and rendered by the middleware.

    Handlers raise instead of returning so every refusal goes through one place that logs it and
    records it in :attr:`FakeDiscord.errors` (tests look there when the bot misbehaves).
    """

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} (code {code}) {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> JSON:
        out: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            out["errors"] = self.errors
        return out


def _form_error(problems: dict[str, str]) -> ApiError:
    """Build Discord's nested "Invalid Form Body" error so discord.py prints readable paths."""
    errors: JSON = {}
    for dotted, message in problems.items():
        node = errors
        for part in dotted.split("."):
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": "INVALID_FORM_BODY", "message": message})
    return ApiError(400, 50035, "Invalid Form Body", errors)


def _json_response(data: Any, status: int = 200) -> web.Response:
    """JSON with exactly ``application/json``: discord.py treats ``; charset=...`` as plain text."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json"
    )


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in {"1", "true", "yes"}


@dataclass
class UploadedFile:
    """One file part of a multipart request, kept so tests can check what the bot uploaded."""

    field: str
    filename: str
    data: bytes
    content_type: str


@dataclass
class _Session:
    """A gateway session: outlives its socket so the client can RESUME and get missed events."""

    session_id: str
    intents: int
    shard: tuple[int, int] | None
    seq: int = 0
    history: list[tuple[int, str]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def covers(self, guild_id: int | None) -> bool:
        """Whether this session's shard owns the guild (Discord's ``(id >> 22) % count`` rule)."""
        if guild_id is None or self.shard is None:
            return True
        shard_id, shard_count = self.shard
        return (guild_id >> 22) % shard_count == shard_id


class FakeInteraction:
    """One interaction the fake sent to the bot, and everything the bot answered to it.

    Tests hold on to this to wait for and inspect the bot's answer: the callback(s), edits of the
    original response and follow-ups. Message dicts here are the fake's live stored objects, so a
    later edit by the bot shows up in a dict a test already holds.
    """

    def __init__(self, payload: JSON, *, name: str, source_message: JSON | None = None) -> None:
        self.payload: JSON = payload
        self.id: int = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.name: str = name
        self.user_id: int = int(payload["member"]["user"]["id"])
        self.channel_id: int = int(payload["channel_id"])
        self.guild_id: int = int(payload["guild_id"])
        self.source_message: JSON | None = source_message
        self.callbacks: list[JSON] = []
        self.followups: list[JSON] = []
        self.original_edits: list[JSON] = []
        self.original: JSON | None = None
        self.deferred: bool = False
        self.created_at: float = asyncio.get_running_loop().time()
        self._final: JSON | None = None
        self._changed = asyncio.Event()

    def __repr__(self) -> str:
        kinds = [cb.get("type") for cb in self.callbacks]
        return (
            f"<FakeInteraction {self.name!r} type={self.type} callbacks={kinds} "
            f"edits={len(self.original_edits)} followups={len(self.followups)}>"
        )

    @property
    def response_type(self) -> int | None:
        """The callback type the bot answered with first, or None before it answered."""
        return self.callbacks[0].get("type") if self.callbacks else None

    @property
    def ephemeral(self) -> bool:
        """Whether the bot's answer is only visible to the invoking user (message flag 64)."""
        if not self.callbacks:
            return False
        first = self.callbacks[0]
        if first.get("type") in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            return bool(int((first.get("data") or {}).get("flags") or 0) & EPHEMERAL)
        message = self.original or self.source_message
        return bool(message is not None and int(message.get("flags") or 0) & EPHEMERAL)

    def _notify(self) -> None:
        """Wake every waiter; they re-check their predicate."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[FakeInteraction], bool],
        timeout: float = 5,  # noqa: ASYNC109 - the documented test API takes a plain timeout
    ) -> None:
        """Wait until ``predicate(self)`` holds; the bot answers asynchronously over REST."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting on {self!r}")
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_response(self, timeout: float = 5) -> JSON:  # noqa: ASYNC109 - test API
        """Wait for the bot's user-visible answer and return it.

        That is the message of a type 4 or 7 callback, the data of a type 8 (autocomplete) or 9
        (modal) callback, or, after a defer (5 or 6), the first edit of the original response or
        the first follow-up, whichever came first.
        """
        await self.wait_for(lambda i: i._final is not None, timeout)
        assert self._final is not None
        return self._final


class FakeDiscord:
    """A fake Discord server (REST + gateway on one aiohttp app) for one bot and one guild.

    The guild "Test Guild" has two text channels ("general", "alerts"), an admin member (role
    "Admins" with ADMINISTRATOR and MANAGE_GUILD, and the guild's owner), two plain members and
    the bot. See the module docstring for why and how; see the public methods for the test API.
    """

    token: str = "fake-bot-token"

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
        self.host = host
        self._port = port
        self.interaction_timeout = interaction_timeout
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self._last_snowflake = 0

        self.bot_user_id: int = self._snowflake()
        self.application_id: int = self.bot_user_id  # true of every application created since 2020
        self.guild_id: int = self._snowflake()
        self.channel_id: int = self._snowflake()
        self.other_channel_id: int = self._snowflake()
        self.admin_role_id: int = self._snowflake()
        self.bot_role_id: int = self._snowflake()
        self.admin_user_id: int = self._snowflake()
        self.user_id: int = self._snowflake()
        self.other_user_id: int = self._snowflake()
        self.guild_name = "Test Guild"
        self.owner_id: int = self.admin_user_id

        self.api_base: str = ""
        self.gateway_url: str = ""
        self.http_base: str = ""

        #: If true, :meth:`invoke` refuses commands whose ``default_member_permissions`` the user
        #: lacks, as Discord hides them. Off by default so tests can check the bot's own checks.
        self.enforce_default_permissions = False
        #: Users whose DMs are closed: a DM to them answers 403 "Cannot send messages to this user".
        self.dms_closed: set[int] = set()

        self._users: dict[int, JSON] = {}
        self._members: dict[int, JSON] = {}
        self._roles: dict[int, JSON] = {}
        self._channels: dict[int, JSON] = {}
        self._add_user(self.bot_user_id, "Polybot", bot=True)
        self._add_user(self.admin_user_id, "admin")
        self._add_user(self.user_id, "trader")
        self._add_user(self.other_user_id, "other_trader")
        self._roles[self.guild_id] = self._role_payload(
            self.guild_id, "@everyone", EVERYONE_PERMISSIONS, 0
        )
        self._roles[self.bot_role_id] = self._role_payload(
            self.bot_role_id, "Polybot", BOT_ROLE_PERMISSIONS, 1, bot_id=self.bot_user_id
        )
        self._roles[self.admin_role_id] = self._role_payload(
            self.admin_role_id, "Admins", ADMINISTRATOR | MANAGE_GUILD, 2
        )
        self._members[self.bot_user_id] = {"roles": [self.bot_role_id], "joined_at": _now_iso()}
        self._members[self.admin_user_id] = {
            "roles": [self.admin_role_id],
            "joined_at": _now_iso(),
        }
        self._members[self.user_id] = {"roles": [], "joined_at": _now_iso()}
        self._members[self.other_user_id] = {"roles": [], "joined_at": _now_iso()}
        self._channels[self.channel_id] = self._channel_payload(self.channel_id, "general", 0)
        self._channels[self.other_channel_id] = self._channel_payload(
            self.other_channel_id, "alerts", 1
        )
        #: user id -> DM channel id, for DMs the bot opened.
        self.dm_channels: dict[int, int] = {}
        self._dm_channel_users: dict[int, int] = {}
        self.deleted_channel_ids: set[int] = set()

        # What the bot did.
        self.global_commands: list[JSON] = []
        self.guild_commands: dict[int, list[JSON]] = {}
        self.sync_count = 0
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self.channel_messages: dict[int, list[JSON]] = {}
        self._messages: dict[int, JSON] = {}
        self.deleted_message_ids: set[int] = set()
        self.attachment_bytes: dict[int, bytes] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self._interactions_by_token: dict[str, FakeInteraction] = {}
        #: (method, path below /api/v10) of every REST request, in arrival order.
        self.requests: list[tuple[str, str]] = []
        #: (method, path) of requests to routes the fake does not implement (answered 404).
        self.unknown_requests: list[tuple[str, str]] = []
        #: (method, path, status, body) of every 4xx the fake answered, 429s excluded.
        self.errors: list[tuple[str, str, int, JSON]] = []
        #: Non-heartbeat gateway payloads the client sent (token removed), e.g. presence updates.
        self.gateway_received: list[JSON] = []
        self.identify_count = 0
        self.resume_count = 0

        # Rate limits and connections.
        self._rate_limits: list[list[Any]] = []
        self.rate_limited_count = 0
        self.nonce_hits = 0  # message creates answered with an earlier message (enforce_nonce)
        self._sessions: dict[str, _Session] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._dropped: set[web.WebSocketResponse] = set()
        self._changed = asyncio.Event()
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
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"fake discord stopping")
        self._sessions.clear()
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

    def _notify(self) -> None:
        """Wake :meth:`wait_until` waiters; called after every REST call and gateway change."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5,  # noqa: ASYNC109 - test API
        what: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds, re-checking whenever the fake's state changes.

        Why: the bot acts asynchronously (alert loops, retries after 429s), so tests wait on an
        observable effect rather than sleeping.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what}; "
                    f"last requests: {self.requests[-10:]}; last errors: {self.errors[-3:]}"
                )
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

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
            lambda: self.identify_count >= identifies and self._live_session(),
            timeout,
            f"IDENTIFY #{identifies} and READY",
        )

    def _live_session(self) -> bool:
        return any(s.ws is not None and not s.ws.closed for s in self._sessions.values())

    async def wait_for_message(
        self,
        channel_id: int,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 5,  # noqa: ASYNC109 - test API
    ) -> JSON:
        """The first message the bot posted (POST /channels/{id}/messages) in the channel that
        matches ``predicate``, waiting for it if needed (alerts are posted by background loops).
        """

        def find() -> JSON | None:
            for message in self.channel_messages.get(channel_id, []):
                if predicate is None or predicate(message):
                    return message
            return None

        await self.wait_until(lambda: find() is not None, timeout, f"a message in {channel_id}")
        found = find()
        assert found is not None
        return found

    # ------------------------------------------------------------------ world helpers

    def _snowflake(self) -> int:
        """A real-looking, strictly increasing snowflake (discord.py reads times out of ids)."""
        value = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        value = max(value, self._last_snowflake + 1)
        self._last_snowflake = value
        return value

    def _add_user(self, user_id: int, username: str, *, bot: bool = False) -> None:
        self._users[user_id] = {
            "id": str(user_id),
            "username": username,
            "discriminator": "0",
            "global_name": None if bot else username.title(),
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
        }

    def _role_payload(
        self, role_id: int, name: str, permissions: int, position: int, bot_id: int | None = None
    ) -> JSON:
        role: JSON = {
            "id": str(role_id),
            "name": name,
            "permissions": str(permissions),
            "position": position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "managed": bot_id is not None,
            "mentionable": False,
            "flags": 0,
        }
        if bot_id is not None:
            role["tags"] = {"bot_id": str(bot_id)}
        return role

    def _channel_payload(self, channel_id: int, name: str, position: int) -> JSON:
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": name,
            "position": position,
            "permission_overwrites": [],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }

    async def add_member(self, username: str, *, admin: bool = False) -> int:
        """Add a member (plain, or with the Admins role) and announce it; returns the user id."""
        user_id = self._snowflake()
        self._add_user(user_id, username)
        roles = [self.admin_role_id] if admin else []
        self._members[user_id] = {"roles": roles, "joined_at": _now_iso()}
        payload = self._member_payload(user_id) | {"guild_id": str(self.guild_id)}
        await self.dispatch("GUILD_MEMBER_ADD", payload, intent=GUILD_MEMBERS_INTENT)
        return user_id

    async def add_channel(self, name: str) -> int:
        """Create a text channel and dispatch CHANNEL_CREATE; returns its id."""
        channel_id = self._snowflake()
        self._channels[channel_id] = self._channel_payload(channel_id, name, len(self._channels))
        await self.dispatch("CHANNEL_CREATE", self._channels[channel_id])
        return channel_id

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

    def get_message(self, message_id: int | str) -> JSON | None:
        """The stored (live) message with this id, or None if unknown or deleted."""
        return self._messages.get(int(message_id))

    def _guild_permissions(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self._members[user_id]
        perms = int(self._roles[self.guild_id]["permissions"])
        for role_id in member["roles"]:
            perms |= int(self._roles[role_id]["permissions"])
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def permissions_in(self, channel_id: int, user_id: int) -> int:
        """A member's effective permissions in a channel, computed the way Discord does."""
        perms = self._guild_permissions(user_id)
        channel = self._channels.get(channel_id)
        if perms & ADMINISTRATOR or channel is None:
            return perms
        overwrites = {int(o["id"]): o for o in channel["permission_overwrites"]}
        everyone = overwrites.get(self.guild_id)
        if everyone is not None:
            perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
        allow = deny = 0
        for role_id in self._members[user_id]["roles"]:
            overwrite = overwrites.get(role_id)
            if overwrite is not None:
                allow |= int(overwrite["allow"])
                deny |= int(overwrite["deny"])
        perms = (perms & ~deny) | allow
        own = overwrites.get(user_id)
        if own is not None:
            perms = (perms & ~int(own["deny"])) | int(own["allow"])
        return perms

    def _member_payload(
        self, user_id: int, *, with_user: bool = True, channel_id: int | None = None
    ) -> JSON:
        member = self._members[user_id]
        out: JSON = {
            "roles": [str(r) for r in member["roles"]],
            "joined_at": member["joined_at"],
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "communication_disabled_until": None,
        }
        if with_user:
            out["user"] = dict(self._users[user_id])
        if channel_id is not None:
            out["permissions"] = str(self.permissions_in(channel_id, user_id))
        return out

    def _guild_payload(self, *, full: bool) -> JSON:
        """The guild object; ``full`` adds the GUILD_CREATE-only fields discord.py caches from."""
        guild: JSON = {
            "id": str(self.guild_id),
            "name": self.guild_name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": list(self._roles.values()),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(self.channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500_000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "incidents_data": None,
        }
        if full:
            guild |= {
                "joined_at": self._members[self.bot_user_id]["joined_at"],
                "large": False,
                "unavailable": False,
                "member_count": len(self._members),
                "voice_states": [],
                "members": [self._member_payload(uid) for uid in self._members],
                "channels": list(self._channels.values()),
                "threads": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
            }
        return guild

    def _application_payload(self) -> JSON:
        return {
            "id": str(self.application_id),
            "name": "Polybot",
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self._users[self.admin_user_id],
            "team": None,
            "bot": self._users[self.bot_user_id],
            # GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED
            "flags": (1 << 15) | (1 << 19),
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "terms_of_service_url": None,
            "privacy_policy_url": None,
            "tags": [],
            "approximate_guild_count": 1,
            "integration_types_config": {"0": {}},
        }

    def _bot_user_payload(self) -> JSON:
        return self._users[self.bot_user_id] | {
            "verified": True,
            "mfa_enabled": False,
            "email": None,
            "flags": 0,
        }

    # ------------------------------------------------------------------ gateway

    async def dispatch(
        self, event: str, data: JSON, *, guild_id: int | None = None, intent: int | None = None
    ) -> int:
        """Send a DISPATCH to every session that should get it; returns how many sessions got it.

        ``guild_id`` limits it to the shard owning that guild; ``intent`` to sessions that asked
        for that intent. A session whose socket dropped buffers the event for RESUME.
        """
        delivered = 0
        for session in list(self._sessions.values()):
            if not session.covers(guild_id):
                continue
            if intent is not None and not session.intents & intent:
                continue
            await self._send_dispatch(session, event, data)
            delivered += 1
        return delivered

    async def _send_dispatch(self, session: _Session, event: str, data: JSON) -> None:
        async with session.lock:  # seq must reach the socket in order
            session.seq += 1
            text = json.dumps({"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data})
            session.history.append((session.seq, text))
            del session.history[:-2000]
            if session.ws is not None and not session.ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await session.ws.send_str(text)

    async def disconnect(self, *, code: int = 4000, resumable: bool = True) -> None:
        """Drop every gateway socket, as Discord does on a restart or network blip.

        With ``resumable`` discord.py RESUMEs at ``resume_gateway_url`` and gets the missed
        events; without, its RESUME gets INVALID_SESSION and it IDENTIFYs again.
        """
        if not resumable:
            self._sessions.clear()
        for ws in list(self._sockets):
            self._dropped.add(ws)
            with contextlib.suppress(Exception):
                await ws.close(code=code, message=b"fake discord disconnect")

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=2.0, compress=False, max_msg_size=0)
        await ws.prepare(request)
        self._sockets.add(ws)
        session: _Session | None = None
        try:
            await ws.send_str(
                json.dumps(
                    {
                        "op": OP_HELLO,
                        "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                        "s": None,
                        "t": None,
                    }
                )
            )
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"fake discord expects text JSON frames")
                    break
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"invalid JSON")
                    break
                session = await self._gateway_op(ws, payload, session)
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
                # A client closing with 1000/1001 ends its session; a socket the fake dropped
                # (whatever code aiohttp reports for it afterwards) stays resumable.
                if ws not in self._dropped and ws.close_code in (1000, 1001):
                    self._sessions.pop(session.session_id, None)
            self._dropped.discard(ws)
            self._notify()
        return ws

    async def _gateway_op(
        self, ws: web.WebSocketResponse, payload: JSON, session: _Session | None
    ) -> _Session | None:
        op = payload.get("op")
        data = payload.get("d")
        if op == OP_HEARTBEAT:
            await ws.send_str(json.dumps({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None}))
            return session
        recorded = copy.deepcopy(payload)
        if isinstance(recorded.get("d"), dict):
            recorded["d"].pop("token", None)
        self.gateway_received.append(recorded)
        if op == OP_IDENTIFY:
            return await self._identify(ws, data or {}, session)
        if op == OP_RESUME:
            return await self._resume(ws, data or {}, session)
        if op == OP_REQUEST_MEMBERS and session is not None:
            await self._send_dispatch(
                session,
                "GUILD_MEMBERS_CHUNK",
                {
                    "guild_id": str(self.guild_id),
                    "members": [self._member_payload(uid) for uid in self._members],
                    "chunk_index": 0,
                    "chunk_count": 1,
                    "not_found": [],
                    "presences": [],
                    "nonce": (data or {}).get("nonce"),
                },
            )
            return session
        if op in (OP_PRESENCE, OP_VOICE_STATE, OP_REQUEST_MEMBERS):
            return session
        await ws.close(code=4001, message=b"unknown opcode")
        return session

    async def _identify(
        self, ws: web.WebSocketResponse, data: JSON, session: _Session | None
    ) -> _Session | None:
        if session is not None:
            await ws.close(code=4005, message=b"already authenticated")
            return session
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"authentication failed")
            return None
        if "intents" not in data:
            await ws.close(code=4013, message=b"invalid intents")
            return None
        shard = data.get("shard")
        session = _Session(
            session_id=secrets.token_hex(16),
            intents=int(data["intents"]),
            shard=(int(shard[0]), int(shard[1])) if shard else None,
            ws=ws,
        )
        self._sessions[session.session_id] = session
        self.identify_count += 1
        guild_ids = [self.guild_id] if session.covers(self.guild_id) else []
        ready: JSON = {
            "v": 10,
            "user": self._bot_user_payload(),
            "guilds": [{"id": str(gid), "unavailable": True} for gid in guild_ids],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "application": {"id": str(self.application_id), "flags": (1 << 15) | (1 << 19)},
            "_trace": ["fake-discord"],
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        await self._send_dispatch(session, "READY", ready)
        if guild_ids:
            await self._send_dispatch(session, "GUILD_CREATE", self._guild_payload(full=True))
        self._notify()
        return session

    async def _resume(
        self, ws: web.WebSocketResponse, data: JSON, session: _Session | None
    ) -> _Session | None:
        found = self._sessions.get(str(data.get("session_id")))
        if session is not None or found is None or data.get("token") != self.token:
            await ws.send_str(
                json.dumps({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            )
            return session
        if found.ws is not None and not found.ws.closed:
            self._dropped.add(found.ws)
            with contextlib.suppress(Exception):
                await found.ws.close(code=4000, message=b"session resumed elsewhere")
        self.resume_count += 1
        last_seen = int(data.get("seq") or 0)
        async with found.lock:
            found.ws = ws
            for seq, text in found.history:
                if seq > last_seen:
                    await ws.send_str(text)
        await self._send_dispatch(found, "RESUMED", {"_trace": ["fake-discord"]})
        self._notify()
        return found

    # ------------------------------------------------------------------ REST plumbing

    def _add_routes(self, app: web.Application) -> None:
        """Register routes; literal segments (``@me``, ``@original``) go before ``{params}``."""
        routes: list[tuple[str, str, Callable[[web.Request], Any]]] = [
            ("GET", "/users/@me", self._get_me),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/users/{user_id}", self._get_user),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/applications/{app_id}/commands", self._get_commands),
            ("PUT", "/applications/{app_id}/commands", self._put_commands),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self._get_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._put_commands),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._callback),
            ("GET", "/webhooks/{app_id}/{token}/messages/@original", self._get_webhook_message),
            ("PATCH", "/webhooks/{app_id}/{token}/messages/@original", self._edit_webhook_message),
            ("DELETE", "/webhooks/{app_id}/{token}/messages/@original", self._del_webhook_message),
            ("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self._get_webhook_message),
            (
                "PATCH",
                "/webhooks/{app_id}/{token}/messages/{message_id}",
                self._edit_webhook_message,
            ),
            (
                "DELETE",
                "/webhooks/{app_id}/{token}/messages/{message_id}",
                self._del_webhook_message,
            ),
            ("POST", "/webhooks/{app_id}/{token}", self._followup),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._list_messages),
            ("POST", "/channels/{channel_id}/messages", self._create_channel_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_channel_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_channel_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._del_channel_message),
            ("POST", "/channels/{channel_id}/typing", self._typing),
            ("GET", "/guilds/{guild_id}", self._get_guild),
            ("GET", "/guilds/{guild_id}/channels", self._get_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self._get_guild_roles),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._download)

    async def _handle_api(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        """Log, authenticate, rate-limit and error-wrap every REST call (never answer 5xx)."""
        if not request.path.startswith(API_PREFIX):
            try:
                return await handler(request)
            except web.HTTPException as exc:
                return _json_response({"message": exc.reason, "code": 0}, exc.status)
        path = request.path[len(API_PREFIX) :]
        method = request.method
        self.requests.append((method, path))
        try:
            return await self._answer_api(request, handler, method, path)
        finally:
            self._notify()

    async def _answer_api(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Any],
        method: str,
        path: str,
    ) -> web.StreamResponse:
        try:
            if self._needs_auth(path) and request.headers.get("Authorization") != (
                f"Bot {self.token}"
            ):
                raise ApiError(401, 0, "401: Unauthorized")
            limited = self._take_rate_limit(path)
            if limited is not None:
                return limited
            return await handler(request)
        except ApiError as exc:
            log.info("fake discord: %s %s -> %s", method, path, exc)
            self.errors.append((method, path, exc.status, exc.body()))
            return _json_response(exc.body(), exc.status)
        except web.HTTPException as exc:  # no such route or method
            log.warning("fake discord: unknown route %s %s (%s)", method, path, exc.status)
            self.unknown_requests.append((method, path))
            body = {"message": "Unknown", "code": 0}
            self.errors.append((method, path, 404, body))
            return _json_response(body, 404)
        except Exception as exc:  # the fake's own bug: 4xx, since a 5xx makes discord.py retry
            log.exception("fake discord: error handling %s %s", method, path)
            body = {"message": f"fake discord error: {exc!r}", "code": 0}
            self.errors.append((method, path, 400, body))
            return _json_response(body, 400)

    @staticmethod
    def _needs_auth(path: str) -> bool:
        """Interaction callbacks and webhooks are authenticated by their token, not the bot's."""
        return not (path.startswith(("/interactions/", "/webhooks/")) or path == "/gateway")

    def force_rate_limit(
        self, path_contains: str, count: int = 1, retry_after: float = 0.2, global_: bool = False
    ) -> None:
        """Answer the next ``count`` REST requests whose path (below /api/v10) contains the text
        with a 429, so tests can check the bot survives Discord rate limits."""
        self._rate_limits.append([path_contains, count, retry_after, global_])

    def _take_rate_limit(self, path: str) -> web.Response | None:
        for rule in self._rate_limits:
            text, count, retry_after, is_global = rule
            if count <= 0 or text not in path:
                continue
            rule[1] -= 1
            self.rate_limited_count += 1
            headers = {
                "Via": "1.1 google",
                "Retry-After": f"{retry_after:.3f}",
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": f"fake{abs(hash(text)) % 10**8:08d}",
                "X-RateLimit-Scope": "global" if is_global else "user",
            }
            if is_global:
                headers["X-RateLimit-Global"] = "true"
            body = {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": is_global,
                "code": 0,
            }
            response = _json_response(body, 429)
            response.headers.update(headers)
            return response
        return None

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        """JSON body, or multipart ``payload_json`` + ``files[n]`` parts (discord.py's uploads)."""
        if request.content_type == "multipart/form-data":
            payload: Any = {}
            files: list[UploadedFile] = []
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise _form_error({"_root": "Nested multipart bodies are not supported"})
                name = part.name or ""
                data = await part.read(decode=False)
                if name == "payload_json":
                    payload = self._parse_json(bytes(data))
                    continue
                files.append(
                    UploadedFile(
                        field=name,
                        filename=part.filename or name,
                        data=bytes(data),
                        content_type=part.headers.get("Content-Type", "application/octet-stream"),
                    )
                )
            return payload, files
        raw = await request.read()
        return (self._parse_json(raw) if raw else {}), []

    @staticmethod
    def _parse_json(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None

    # ------------------------------------------------------------------ login / meta routes

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json_response(self._bot_user_payload())

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self._users.get(self._int(request, "user_id"))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return _json_response(user)

    async def _get_application(self, request: web.Request) -> web.Response:
        return _json_response(self._application_payload())

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    @staticmethod
    def _int(request: web.Request, key: str) -> int:
        try:
            return int(request.match_info[key])
        except ValueError:
            raise _form_error({key: "Value is not snowflake."}) from None

    def _check_guild(self, guild_id: int) -> None:
        if guild_id != self.guild_id:
            raise ApiError(404, 10004, "Unknown Guild")

    async def _get_guild(self, request: web.Request) -> web.Response:
        self._check_guild(self._int(request, "guild_id"))
        return _json_response(self._guild_payload(full=False))

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        self._check_guild(self._int(request, "guild_id"))
        return _json_response(list(self._channels.values()))

    async def _get_guild_roles(self, request: web.Request) -> web.Response:
        self._check_guild(self._int(request, "guild_id"))
        return _json_response(list(self._roles.values()))

    async def _get_member(self, request: web.Request) -> web.Response:
        self._check_guild(self._int(request, "guild_id"))
        user_id = self._int(request, "user_id")
        if user_id not in self._members:
            raise ApiError(404, 10007, "Unknown Member")
        return _json_response(self._member_payload(user_id))

    # ------------------------------------------------------------------ application commands

    def _check_app(self, request: web.Request) -> None:
        if self._int(request, "app_id") != self.application_id:
            raise ApiError(403, 50001, "Missing Access")

    async def _get_commands(self, request: web.Request) -> web.Response:
        self._check_app(request)
        if "guild_id" in request.match_info:
            guild_id = self._int(request, "guild_id")
            self._check_guild(guild_id)
            return _json_response(self.guild_commands.get(guild_id, []))
        return _json_response(self.global_commands)

    async def _put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite: validate like Discord, keep ids stable per (name, type), store."""
        self._check_app(request)
        guild_id: int | None = None
        if "guild_id" in request.match_info:
            guild_id = self._int(request, "guild_id")
            self._check_guild(guild_id)
        body, _ = await self._read_body(request)
        if not isinstance(body, list):
            raise _form_error({"_root": "Must be an array of application commands."})
        self._validate_commands(body)
        stored: list[JSON] = []
        for command in body:
            kind = int(command.get("type") or 1)
            key = (guild_id, command["name"], kind)
            command_id = self._command_ids.setdefault(key, self._snowflake())
            item = copy.deepcopy(command) | {
                "id": str(command_id),
                "application_id": str(self.application_id),
                "type": kind,
                "version": str(self._snowflake()),
                "default_member_permissions": command.get("default_member_permissions"),
                "nsfw": bool(command.get("nsfw", False)),
            }
            item.setdefault("description", "")
            if guild_id is not None:
                item["guild_id"] = str(guild_id)
            stored.append(item)
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        self.sync_count += 1
        return _json_response(stored)

    def _validate_commands(self, commands: list[Any]) -> None:
        problems: dict[str, str] = {}
        seen: set[tuple[str, int]] = set()
        for index, command in enumerate(commands):
            if not isinstance(command, dict) or not isinstance(command.get("name"), str):
                problems[f"{index}.name"] = "This field is required"
                continue
            kind = int(command.get("type") or 1)
            name = command["name"]
            if (name, kind) in seen:
                problems[f"{index}.name"] = f"Application command names must be unique ({name})"
            seen.add((name, kind))
            if kind == 1:
                self._validate_named(command, str(index), problems)
                self._validate_options(command.get("options") or [], f"{index}.options", problems)
        if sum(1 for c in commands if isinstance(c, dict) and int(c.get("type") or 1) == 1) > 100:
            problems["_root"] = "Too many chat input commands (max 100)"
        if problems:
            raise _form_error(problems)

    @staticmethod
    def _validate_named(item: JSON, where: str, problems: dict[str, str]) -> None:
        name = item.get("name")
        if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
            problems[f"{where}.name"] = f"Command name is invalid: {name!r}"
        description = item.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            problems[f"{where}.description"] = "Must be between 1 and 100 in length."

    def _validate_options(self, options: list[JSON], where: str, problems: dict[str, str]) -> None:
        if len(options) > 25:
            problems[where] = "Must be 25 or fewer in length."
        names: set[str] = set()
        optional_seen = False
        for index, option in enumerate(options):
            here = f"{where}.{index}"
            self._validate_named(option, here, problems)
            if option.get("name") in names:
                problems[f"{here}.name"] = "Option names must be unique"
            names.add(str(option.get("name")))
            if option.get("type") in (1, 2):
                self._validate_options(option.get("options") or [], f"{here}.options", problems)
                continue
            if option.get("required"):
                if optional_seen:
                    problems[f"{here}.required"] = (
                        "Required options must be placed before non-required options"
                    )
            else:
                optional_seen = True
            choices = option.get("choices") or []
            if len(choices) > 25:
                problems[f"{here}.choices"] = "Must be 25 or fewer in length."
            if choices and option.get("autocomplete"):
                problems[f"{here}.autocomplete"] = "Autocomplete cannot be set with choices"

    def _find_command(self, name: str, guild_id: int) -> tuple[JSON, bool]:
        """The synced slash command and whether it is guild-scoped (guild first, as Discord)."""
        for command in self.guild_commands.get(guild_id, []):
            if command["name"] == name and command["type"] == 1:
                return command, True
        for command in self.global_commands:
            if command["name"] == name and command["type"] == 1:
                return command, False
        synced = sorted(
            {c["name"] for c in self.global_commands}
            | {c["name"] for c in self.guild_commands.get(guild_id, [])}
        )
        raise LookupError(f"/{name} was never synced (synced: {synced})")

    # ------------------------------------------------------------------ invoking interactions

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
        """Run a synced slash command as a member would; returns at once (bot answers async).

        ``subcommand`` is ``"sub"`` or ``"group sub"``. Option values are converted to the synced
        option types and checked like the Discord client does (unknown or missing required
        options, choices, ranges raise ValueError: the user could not have sent that).
        """
        gid = guild_id or self.guild_id
        self._check_guild(gid)
        command, scoped = self._find_command(name, gid)
        uid = user_id or self.user_id
        if self.enforce_default_permissions and command.get("default_member_permissions"):
            needed = int(command["default_member_permissions"])
            have = self.permissions_in(channel_id or self.channel_id, uid)
            if have & needed != needed and not have & ADMINISTRATOR:
                raise PermissionError(f"user {uid} cannot see /{name}")
        resolved: JSON = {}
        opts = self._command_options(
            command, options or {}, subcommand, resolved, uid, channel_id or self.channel_id, None
        )
        data: JSON = {"id": command["id"], "name": name, "type": 1, "options": opts}
        if resolved:
            data["resolved"] = resolved
        if scoped:
            data["guild_id"] = str(gid)
        full = f"{name} {subcommand}" if subcommand else name
        return await self._start_interaction(
            APPLICATION_COMMAND, data, user_id=uid, channel_id=channel_id, name=full
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
        """Type into an autocomplete option; returns the choices the bot answered (callback 8)."""
        gid = self.guild_id
        command, scoped = self._find_command(name, gid)
        uid = user_id or self.user_id
        resolved: JSON = {}
        opts = self._command_options(
            command, options, subcommand, resolved, uid, channel_id or self.channel_id, focused
        )
        data: JSON = {"id": command["id"], "name": name, "type": 1, "options": opts}
        if resolved:
            data["resolved"] = resolved
        if scoped:
            data["guild_id"] = str(gid)
        inter = await self._start_interaction(
            AUTOCOMPLETE, data, user_id=uid, channel_id=channel_id, name=name
        )
        await inter.wait_for(lambda i: bool(i.callbacks), timeout)
        callback = inter.callbacks[0]
        if callback.get("type") != AUTOCOMPLETE_RESULT:
            raise AssertionError(f"autocomplete answered with callback {callback!r}")
        return list((callback.get("data") or {}).get("choices") or [])

    def _command_options(
        self,
        command: JSON,
        values: dict[str, object],
        subcommand: str | None,
        resolved: JSON,
        user_id: int,
        channel_id: int,
        focused: str | None,
    ) -> list[JSON]:
        definitions: list[JSON] = command.get("options") or []
        wrappers: list[JSON] = []
        for part in (subcommand or "").split():
            match = next(
                (d for d in definitions if d["name"] == part and d["type"] in (1, 2)), None
            )
            if match is None:
                raise ValueError(f"/{command['name']} has no subcommand {part!r}")
            wrappers.append(match)
            definitions = match.get("options") or []
        if any(d["type"] in (1, 2) for d in definitions):
            subs = [d["name"] for d in definitions]
            raise ValueError(f"/{command['name']} needs a subcommand, one of {subs}")
        known = {d["name"]: d for d in definitions}
        for key in values:
            if key not in known:
                raise ValueError(f"/{command['name']} has no option {key!r}; has {list(known)}")
        if focused is not None:
            if focused not in known or not known[focused].get("autocomplete"):
                raise ValueError(f"option {focused!r} of /{command['name']} has no autocomplete")
        leaf: list[JSON] = []
        for definition in definitions:
            key = definition["name"]
            if key == focused:
                typed = values.get(key, "")
                leaf.append(
                    {
                        "type": definition["type"],
                        "name": key,
                        "value": typed if isinstance(typed, str) else str(typed),
                        "focused": True,
                    }
                )
                continue
            if key not in values:
                if definition.get("required") and focused is None:
                    raise ValueError(f"/{command['name']} requires option {key!r}")
                continue
            value = self._option_value(definition, values[key], resolved, user_id, channel_id)
            leaf.append({"type": definition["type"], "name": key, "value": value})
        for wrapper in reversed(wrappers):
            leaf = [{"type": wrapper["type"], "name": wrapper["name"], "options": leaf}]
        return leaf

    def _option_value(
        self, definition: JSON, raw: object, resolved: JSON, user_id: int, channel_id: int
    ) -> Any:
        """Convert a test's option value to what Discord sends, filling ``resolved`` objects."""
        kind = definition["type"]
        name = definition["name"]
        value: Any
        if kind == 3:
            value = str(raw)
            if len(value) < definition.get("min_length", 0) or len(value) > definition.get(
                "max_length", 6000
            ):
                raise ValueError(f"option {name!r}: length out of range")
        elif kind in (4, 10):
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise ValueError(f"option {name!r} needs a number, got {raw!r}")
            value = int(raw) if kind == 4 else float(raw)
            low, high = definition.get("min_value"), definition.get("max_value")
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValueError(f"option {name!r}: {value} outside [{low}, {high}]")
        elif kind == 5:
            if not isinstance(raw, bool):
                raise ValueError(f"option {name!r} needs a bool, got {raw!r}")
            value = raw
        elif kind in (6, 8, 9):
            target = int(str(raw))
            if kind in (6, 9) and target in self._users:
                resolved.setdefault("users", {})[str(target)] = dict(self._users[target])
                if target in self._members:
                    resolved.setdefault("members", {})[str(target)] = self._member_payload(
                        target, with_user=False, channel_id=channel_id
                    )
            elif kind in (8, 9) and target in self._roles:
                resolved.setdefault("roles", {})[str(target)] = dict(self._roles[target])
            else:
                raise ValueError(f"option {name!r}: no user/role {target}")
            value = str(target)
        elif kind == 7:
            target = int(str(raw))
            channel = self._channels.get(target)
            if channel is None:
                raise ValueError(f"option {name!r}: no channel {target}")
            allowed = definition.get("channel_types")
            if allowed and channel["type"] not in allowed:
                raise ValueError(f"option {name!r}: channel type {channel['type']} not allowed")
            resolved.setdefault("channels", {})[str(target)] = {
                "id": channel["id"],
                "name": channel["name"],
                "type": channel["type"],
                "parent_id": channel["parent_id"],
                "topic": channel["topic"],
                "nsfw": channel["nsfw"],
                "position": channel["position"],
                "rate_limit_per_user": 0,
                "last_message_id": channel["last_message_id"],
                "flags": 0,
                "permissions": str(self.permissions_in(target, user_id)),
            }
            value = str(target)
        elif kind == 11:
            if not (isinstance(raw, tuple) and len(raw) == 2):
                raise ValueError(f"option {name!r} needs (filename, bytes)")
            filename, data = raw
            attachment_id = self._snowflake()
            self.attachment_bytes[attachment_id] = bytes(data)
            resolved.setdefault("attachments", {})[str(attachment_id)] = self._attachment_payload(
                attachment_id, channel_id, str(filename), len(data)
            )
            value = str(attachment_id)
        else:
            raise ValueError(f"option {name!r}: unsupported option type {kind}")
        choices = definition.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(f"option {name!r}: {value!r} is not one of the choices")
        return value

    async def click(
        self,
        message: JSON,
        custom_id: str,
        *,
        user_id: int | None = None,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """Press a button (or choose ``values`` in a select) on a message the bot sent."""
        stored = self._messages.get(int(message["id"]))
        if stored is None:
            raise LookupError(f"message {message.get('id')} is unknown to the fake or deleted")
        component = _find_component(stored.get("components") or [], custom_id)
        if component is None:
            ids = sorted(_custom_ids(stored.get("components") or []))
            raise ValueError(f"no component {custom_id!r} on the message; it has {ids}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        data: JSON = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] in SELECT_TYPES:
            data["values"] = list(values or [])
        elif values:
            raise ValueError("values only apply to select menus")
        channel_id = int(stored["channel_id"])
        inter = await self._start_interaction(
            MESSAGE_COMPONENT,
            data,
            user_id=user_id or self.user_id,
            channel_id=channel_id,
            name=custom_id,
            message=stored,
        )
        return inter

    async def submit_modal(
        self, opened_by: FakeInteraction, values: dict[str, str], *, user_id: int | None = None
    ) -> FakeInteraction:
        """Fill in and submit the modal the bot opened (callback type 9) on ``opened_by``.

        ``values`` maps each text input's custom_id or label to what the user typed.
        """
        modal = next((c.get("data") for c in opened_by.callbacks if c.get("type") == MODAL), None)
        if not modal:
            raise ValueError(f"{opened_by!r} did not open a modal")

        def answer(component: JSON) -> JSON:
            if component.get("type") == 1:
                return {"type": 1, "components": [answer(c) for c in component["components"]]}
            if component.get("type") == 18:
                return {"type": 18, "component": answer(component["component"])}
            if "custom_id" not in component:
                return {"type": component.get("type")}
            key = component["custom_id"]
            label = component.get("label")
            value = values.get(key, values.get(label or "", component.get("value") or ""))
            return {"type": component["type"], "custom_id": key, "value": value}

        data: JSON = {
            "custom_id": modal["custom_id"],
            "components": [answer(c) for c in modal.get("components") or []],
        }
        return await self._start_interaction(
            MODAL_SUBMIT,
            data,
            user_id=user_id or opened_by.user_id,
            channel_id=opened_by.channel_id,
            name=str(modal["custom_id"]),
            message=opened_by.source_message,
        )

    async def _start_interaction(
        self,
        kind: int,
        data: JSON,
        *,
        user_id: int | None,
        channel_id: int | None,
        name: str,
        message: JSON | None = None,
    ) -> FakeInteraction:
        uid = user_id or self.user_id
        cid = channel_id or self.channel_id
        if uid not in self._members:
            raise ValueError(f"user {uid} is not a member of the guild")
        channel = self._channels.get(cid)
        if channel is None:
            raise ValueError(f"channel {cid} is not a text channel of the guild")
        interaction_id = self._snowflake()
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "guild": {"id": str(self.guild_id), "locale": "en-US", "features": []},
            "guild_id": str(self.guild_id),
            "channel": channel | {"permissions": str(self.permissions_in(cid, uid))},
            "channel_id": str(cid),
            "member": self._member_payload(uid, channel_id=cid),
            "token": "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
            "version": 1,
            "app_permissions": str(self.permissions_in(cid, self.bot_user_id)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = self._public(message)
        inter = FakeInteraction(payload, name=name, source_message=message)
        self.interactions[interaction_id] = inter
        self._interactions_by_token[inter.token] = inter
        if not await self.dispatch("INTERACTION_CREATE", payload, guild_id=self.guild_id):
            raise RuntimeError("no bot session to deliver the interaction to; wait_ready() first")
        return inter

    # ------------------------------------------------------------------ messages

    def _public(self, message: JSON) -> JSON:
        """The message as Discord returns it: without the fake's bookkeeping keys."""
        return {k: v for k, v in message.items() if k not in PRIVATE_MESSAGE_KEYS}

    def _attachment_payload(
        self, attachment_id: int, channel_id: int, filename: str, size: int
    ) -> JSON:
        url = f"{self.http_base}/attachments/{channel_id}/{attachment_id}/{filename}"
        return {
            "id": str(attachment_id),
            "filename": filename,
            "size": size,
            "url": url,
            "proxy_url": url,
            "content_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
        }

    def _new_message(
        self,
        channel_id: int,
        body: JSON,
        files: list[UploadedFile],
        *,
        interaction: FakeInteraction | None = None,
        message_type: int = 0,
        flags: int = 0,
    ) -> JSON:
        """Build (not store) a message from a create body; raises ApiError if Discord would.

        ``flags`` are set by the fake itself (LOADING for a "thinking" placeholder).
        """
        if not isinstance(body, dict):
            raise _form_error({"_root": "Expected an object"})
        message_id = self._snowflake()
        message: JSON = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": dict(self._users[self.bot_user_id]),
            "content": "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": message_type,
            "flags": flags,
            "components": [],
            "attachments_received": [],
        }
        if channel_id in self._channels:
            message["guild_id"] = str(self.guild_id)
        if interaction is not None:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            message["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": dict(self._users[interaction.user_id]),
                "authorizing_integration_owners": {"0": str(self.guild_id)},
            }
        self._apply_body(message, body, files, creating=True)
        return message

    def _apply_body(
        self, message: JSON, body: JSON, files: list[UploadedFile], *, creating: bool
    ) -> None:
        """Merge a create/edit body (and uploads) into ``message`` after validating the result."""
        if not isinstance(body, dict):
            raise _form_error({"_root": "Expected an object"})
        candidate = copy.deepcopy(message)
        for key, value in body.items():
            if key in ("attachments", "files", "payload_json"):
                continue
            if key == "content":
                candidate["content"] = "" if value is None else str(value)
            elif key in ("embeds", "components"):
                candidate[key] = copy.deepcopy(value) if value is not None else []
            elif key == "flags":
                keep = int(candidate.get("flags") or 0) & (EPHEMERAL | IS_COMPONENTS_V2 | LOADING)
                candidate["flags"] = (int(value or 0) & ~LOADING) | keep
            else:
                candidate[key] = copy.deepcopy(value)
        for embed in candidate["embeds"]:
            if isinstance(embed, dict):
                embed.setdefault("type", "rich")
        by_index = {}
        for file in files:
            match = re.fullmatch(r"files\[(\d+)\]", file.field)
            by_index[match.group(1) if match else file.field] = file
        if "attachments" in body or files:
            kept: list[JSON] = []
            wanted = body.get("attachments")
            keep_ids = None if wanted is None else {str(a.get("id")) for a in wanted or []}
            for existing in candidate["attachments"]:
                if keep_ids is None or existing["id"] in keep_ids:
                    kept.append(existing)
            descriptors = {str(a.get("id")): a for a in wanted or []}
            for index, file in by_index.items():
                attachment_id = self._snowflake()
                filename = str(descriptors.get(index, {}).get("filename") or file.filename)
                self.attachment_bytes[attachment_id] = file.data
                attachment = self._attachment_payload(
                    attachment_id, int(candidate["channel_id"]), filename, len(file.data)
                )
                if descriptors.get(index, {}).get("description"):
                    attachment["description"] = descriptors[index]["description"]
                kept.append(attachment)
                candidate["attachments_received"].append(
                    {
                        "filename": filename,
                        "size": len(file.data),
                        "content_type": file.content_type,
                    }
                )
            candidate["attachments"] = kept
        if not creating:
            candidate["edited_timestamp"] = _now_iso()
            candidate["flags"] = int(candidate.get("flags") or 0) & ~LOADING
        _validate_message(candidate)
        message.clear()
        message.update(candidate)

    def _store(self, message: JSON) -> JSON:
        self._messages[int(message["id"])] = message
        return message

    def _forget(self, message: JSON) -> None:
        message_id = int(message["id"])
        self._messages.pop(message_id, None)
        self.deleted_message_ids.add(message_id)
        channel_list = self.channel_messages.get(int(message["channel_id"]), [])
        if message in channel_list:
            channel_list.remove(message)

    async def _announce(self, event: str, message: JSON) -> None:
        """MESSAGE_CREATE/UPDATE/DELETE to the bot, as Discord echoes the bot's own messages."""
        if int(message.get("flags") or 0) & EPHEMERAL:
            return
        channel_id = int(message["channel_id"])
        in_guild = channel_id in self._channels
        intent = GUILD_MESSAGES_INTENT if in_guild else DIRECT_MESSAGES_INTENT
        if event == "MESSAGE_DELETE":
            data: JSON = {"id": message["id"], "channel_id": message["channel_id"]}
        else:
            data = self._public(message)
        if in_guild:
            data["guild_id"] = str(self.guild_id)
            if event == "MESSAGE_CREATE":
                data["member"] = self._member_payload(self.bot_user_id, with_user=False)
        await self.dispatch(
            event, data, guild_id=self.guild_id if in_guild else None, intent=intent
        )

    def _text_channel(self, channel_id: int) -> JSON:
        if channel_id in self._channels:
            return self._channels[channel_id]
        if channel_id in self._dm_channel_users:
            user_id = self._dm_channel_users[channel_id]
            return {
                "id": str(channel_id),
                "type": 1,
                "recipients": [self._users[user_id]],
                "last_message_id": None,
                "flags": 0,
            }
        raise ApiError(404, 10003, "Unknown Channel")

    async def _get_channel(self, request: web.Request) -> web.Response:
        return _json_response(self._text_channel(self._int(request, "channel_id")))

    async def _create_dm(self, request: web.Request) -> web.Response:
        body, _ = await self._read_body(request)
        user_id = int(body.get("recipient_id") or 0)
        if user_id not in self._users or user_id == self.bot_user_id:
            raise ApiError(400, 50007, "Cannot send messages to this user")
        if user_id not in self.dm_channels:
            channel_id = self._snowflake()
            self.dm_channels[user_id] = channel_id
            self._dm_channel_users[channel_id] = user_id
        return _json_response(self._text_channel(self.dm_channels[user_id]))

    async def _typing(self, request: web.Request) -> web.Response:
        self._text_channel(self._int(request, "channel_id"))
        return web.Response(status=204)

    def _check_bot_can_post(self, channel_id: int, files: list[UploadedFile]) -> None:
        channel = self._text_channel(channel_id)
        if channel["type"] == 1:
            if self._dm_channel_users[channel_id] in self.dms_closed:
                raise ApiError(403, 50007, "Cannot send messages to this user")
            return
        perms = self.permissions_in(channel_id, self.bot_user_id)
        if not perms & VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if not perms & SEND_MESSAGES or (files and not perms & ATTACH_FILES):
            raise ApiError(403, 50013, "Missing Permissions")

    async def _create_channel_message(self, request: web.Request) -> web.Response:
        channel_id = self._int(request, "channel_id")
        body, files = await self._read_body(request)
        self._check_bot_can_post(channel_id, files)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # Real Discord: a repeated nonce from the same author returns the first message
            # instead of posting again (the basis of the bot's exactly-once resend).
            for earlier in self.channel_messages.get(channel_id, []):
                if earlier.get("nonce") == str(nonce):
                    self.nonce_hits += 1
                    return _json_response(self._public(earlier))
        message = self._store(self._new_message(channel_id, body, files))
        self.channel_messages.setdefault(channel_id, []).append(message)
        channel = self._channels.get(channel_id)
        if channel is not None:
            channel["last_message_id"] = message["id"]
        await self._announce("MESSAGE_CREATE", message)
        return _json_response(self._public(message))

    def _channel_message(self, request: web.Request) -> JSON:
        channel_id = self._int(request, "channel_id")
        self._text_channel(channel_id)
        message = self._messages.get(self._int(request, "message_id"))
        if message is None or int(message["channel_id"]) != channel_id:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def _list_messages(self, request: web.Request) -> web.Response:
        channel_id = self._int(request, "channel_id")
        self._text_channel(channel_id)
        limit = min(int(request.query.get("limit", "50")), 100)
        before = int(request.query.get("before", "0") or 0)
        after = int(request.query.get("after", "0") or 0)
        found = [
            self._public(m)
            for m in reversed(self.channel_messages.get(channel_id, []))
            if (not before or int(m["id"]) < before) and int(m["id"]) > after
        ]
        return _json_response(found[:limit])

    async def _get_channel_message(self, request: web.Request) -> web.Response:
        return _json_response(self._public(self._channel_message(request)))

    async def _edit_channel_message(self, request: web.Request) -> web.Response:
        message = self._channel_message(request)
        if message["author"]["id"] != str(self.bot_user_id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body, files = await self._read_body(request)
        self._apply_body(message, body, files, creating=False)
        await self._announce("MESSAGE_UPDATE", message)
        return _json_response(self._public(message))

    async def _del_channel_message(self, request: web.Request) -> web.Response:
        message = self._channel_message(request)
        self._forget(message)
        await self._announce("MESSAGE_DELETE", message)
        return web.Response(status=204)

    async def _download(self, request: web.Request) -> web.Response:
        data = self.attachment_bytes.get(self._int(request, "attachment_id"))
        if data is None:
            raise web.HTTPNotFound()
        filename = request.match_info["filename"]
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return web.Response(body=data, content_type=kind)

    # ------------------------------------------------------------------ interaction responses

    async def _callback(self, request: web.Request) -> web.Response:
        """POST /interactions/{id}/{token}/callback: the bot's first (and only) response."""
        inter = self.interactions.get(self._int(request, "interaction_id"))
        if inter is None or inter.token != request.match_info["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        body, files = await self._read_body(request)
        age = asyncio.get_running_loop().time() - inter.created_at
        if self.interaction_timeout is not None and age > self.interaction_timeout:
            raise ApiError(404, 10062, "Unknown interaction")
        if inter.callbacks:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if not isinstance(body, dict):
            raise _form_error({"_root": "Expected an object"})
        kind = body.get("type")
        if kind not in ALLOWED_CALLBACKS.get(inter.type, frozenset()):
            raise _form_error({"type": f"Callback type {kind} is invalid for this interaction"})
        data = body.get("data") or {}
        message: JSON | None = None
        event: str | None = None
        if kind == CHANNEL_MESSAGE:
            message_type = 20 if inter.type == APPLICATION_COMMAND else 0
            message = self._store(
                self._new_message(
                    inter.channel_id, data, files, interaction=inter, message_type=message_type
                )
            )
            inter.original = message
            inter._final = message
            event = "MESSAGE_CREATE"
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            message = self._store(
                self._new_message(
                    inter.channel_id,
                    {},
                    [],
                    interaction=inter,
                    message_type=20 if inter.type == APPLICATION_COMMAND else 0,
                    flags=LOADING | (int(data.get("flags") or 0) & EPHEMERAL),
                )
            )
            inter.original = message
            inter.deferred = True
            event = "MESSAGE_CREATE"
        elif kind in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            message = self._component_message(inter)
            inter.original = message
            if kind == UPDATE_MESSAGE:
                self._apply_body(message, data, files, creating=False)
                inter._final = message
                event = "MESSAGE_UPDATE"
            else:
                inter.deferred = True
        elif kind == AUTOCOMPLETE_RESULT:
            choices = data.get("choices") or []
            if len(choices) > 25:
                raise _form_error({"data.choices": "Must be 25 or fewer in length."})
            inter._final = data
        else:  # MODAL
            inter._final = data
        stored = copy.deepcopy(body)
        if files:
            stored["attachments_received"] = [
                {"filename": f.filename, "size": len(f.data), "content_type": f.content_type}
                for f in files
            ]
        inter.callbacks.append(stored)
        inter._notify()
        if message is not None and event is not None:
            await self._announce(event, message)
        if not _truthy(request.query.get("with_response")):
            return web.Response(status=204)
        summary: JSON = {"id": str(inter.id), "type": inter.type}
        resource: JSON = {"type": kind}
        if message is not None:
            summary["response_message_id"] = message["id"]
            summary["response_message_loading"] = kind == DEFERRED_CHANNEL_MESSAGE
            summary["response_message_ephemeral"] = bool(int(message["flags"]) & EPHEMERAL)
            resource["message"] = self._public(message)
        return _json_response({"interaction": summary, "resource": resource})

    def _component_message(self, inter: FakeInteraction) -> JSON:
        if inter.source_message is None:
            raise _form_error({"type": "Only component interactions can update a message"})
        message = self._messages.get(int(inter.source_message["id"]))
        if message is None:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def _webhook_interaction(self, request: web.Request) -> FakeInteraction:
        inter = self._interactions_by_token.get(request.match_info["token"])
        if inter is None or self._int(request, "app_id") != self.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        return inter

    def _webhook_message(self, request: web.Request, inter: FakeInteraction) -> JSON:
        message_id = request.match_info.get("message_id")
        if message_id is None or message_id == "@original":
            if inter.original is None:
                raise ApiError(404, 10008, "Unknown Message")
            return inter.original
        for message in [inter.original, *inter.followups]:
            if message is not None and message["id"] == message_id:
                return message
        raise ApiError(404, 10008, "Unknown Message")

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        inter = self._webhook_interaction(request)
        return _json_response(self._public(self._webhook_message(request, inter)))

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        inter = self._webhook_interaction(request)
        message = self._webhook_message(request, inter)
        body, files = await self._read_body(request)
        self._apply_body(message, body, files, creating=False)
        if message is inter.original:
            recorded = copy.deepcopy(body)
            if files:
                recorded["attachments_received"] = [
                    {"filename": f.filename, "size": len(f.data)} for f in files
                ]
            inter.original_edits.append(recorded)
            if inter._final is None:
                inter._final = message
        inter._notify()
        await self._announce("MESSAGE_UPDATE", message)
        return _json_response(self._public(message))

    async def _del_webhook_message(self, request: web.Request) -> web.Response:
        inter = self._webhook_interaction(request)
        message = self._webhook_message(request, inter)
        self._forget(message)
        if message is inter.original:
            inter.original = None
        if message in inter.followups:
            inter.followups.remove(message)
        inter._notify()
        await self._announce("MESSAGE_DELETE", message)
        return web.Response(status=204)

    async def _followup(self, request: web.Request) -> web.Response:
        """POST /webhooks/{app}/{token}: a follow-up; after a "thinking" defer Discord uses the
        first one to fill the placeholder (keeping the defer's ephemerality), so the fake does."""
        inter = self._webhook_interaction(request)
        if not inter.callbacks:
            raise ApiError(404, 10015, "Unknown Webhook")
        body, files = await self._read_body(request)
        original = inter.original
        placeholder = original is not None and int(original.get("flags") or 0) & LOADING
        if placeholder and original is not None and not inter.followups:
            edit = dict(body)
            edit.pop("flags", None)
            self._apply_body(original, edit, files, creating=False)
            message = original
            event = "MESSAGE_UPDATE"
        else:
            message = self._store(
                self._new_message(inter.channel_id, body, files, interaction=inter)
            )
            event = "MESSAGE_CREATE"
        inter.followups.append(message)
        if inter._final is None:
            inter._final = message
        inter._notify()
        await self._announce(event, message)
        if _truthy(request.query.get("wait")):
            return _json_response(self._public(message))
        return web.Response(status=204)


def _walk_components(components: list[Any]) -> list[JSON]:
    """Every component, nested ones included (action rows, v2 containers and sections)."""
    found: list[JSON] = []
    for component in components:
        if not isinstance(component, dict):
            continue
        found.append(component)
        found.extend(_walk_components(component.get("components") or []))
        accessory = component.get("accessory")
        if isinstance(accessory, dict):
            found.append(accessory)
    return found


def _find_component(components: list[Any], custom_id: str) -> JSON | None:
    return next((c for c in _walk_components(components) if c.get("custom_id") == custom_id), None)


def _custom_ids(components: list[Any]) -> set[str]:
    return {c["custom_id"] for c in _walk_components(components) if "custom_id" in c}


def _validate_message(message: JSON) -> None:
    """Refuse what Discord refuses (sizes, empty messages), as a 400 "Invalid Form Body"."""
    problems: dict[str, str] = {}
    content = message.get("content") or ""
    flags = int(message.get("flags") or 0)
    if len(content) > 2000:
        problems["content"] = "Must be 2000 or fewer in length."
    embeds = message.get("embeds") or []
    if len(embeds) > 10:
        problems["embeds"] = "Must be 10 or fewer in length."
    total = 0
    limits = {"title": 256, "description": 4096}
    for index, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            problems[f"embeds.{index}"] = "Must be an object."
            continue
        for key, limit in limits.items():
            text = str(embed.get(key) or "")
            total += len(text)
            if len(text) > limit:
                problems[f"embeds.{index}.{key}"] = f"Must be {limit} or fewer in length."
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems[f"embeds.{index}.fields"] = "Must be 25 or fewer in length."
        for number, item in enumerate(fields):
            name, value = str(item.get("name") or ""), str(item.get("value") or "")
            total += len(name) + len(value)
            if not name or len(name) > 256:
                problems[f"embeds.{index}.fields.{number}.name"] = "Must be 1 to 256 in length."
            if not value or len(value) > 1024:
                problems[f"embeds.{index}.fields.{number}.value"] = "Must be 1 to 1024 in length."
        footer = str((embed.get("footer") or {}).get("text") or "")
        author = str((embed.get("author") or {}).get("name") or "")
        total += len(footer) + len(author)
        if len(footer) > 2048:
            problems[f"embeds.{index}.footer.text"] = "Must be 2048 or fewer in length."
        if len(author) > 256:
            problems[f"embeds.{index}.author.name"] = "Must be 256 or fewer in length."
    if total > 6000:
        problems["embeds"] = "Embed size exceeds maximum size of 6000"
    components = message.get("components") or []
    if flags & IS_COMPONENTS_V2:
        if content or embeds:
            problems["content"] = "Cannot send content or embeds with components v2"
    else:
        if len(components) > 5:
            problems["components"] = "Must be 5 or fewer in length."
        for index, row in enumerate(components):
            children = row.get("components") or [] if isinstance(row, dict) else []
            if not isinstance(row, dict) or row.get("type") != 1 or not 1 <= len(children) <= 5:
                problems[f"components.{index}"] = "Must be an action row of 1 to 5 components."
    for component in _walk_components(components):
        custom_id = component.get("custom_id")
        if custom_id is not None and not 1 <= len(str(custom_id)) <= 100:
            problems["components.custom_id"] = "Must be between 1 and 100 in length."
        if len(str(component.get("label") or "")) > 80:
            problems["components.label"] = "Must be 80 or fewer in length."
    if not (
        content
        or embeds
        or components
        or message.get("attachments")
        or message.get("poll")
        or message.get("sticker_ids")
        or flags & LOADING
    ):
        raise ApiError(400, 50006, "Cannot send an empty message")
    if problems:
        raise _form_error(problems)


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

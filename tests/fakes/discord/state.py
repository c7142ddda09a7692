"""The fake Discord's world, and its record of what the bot did.

One guild ("Test Guild") with two text channels, an admin, two plain members and the bot; the DM
channels the bot opens; the message store; the synced commands; the interactions sent to the bot;
and the logs tests assert on (REST requests, 4xx answers, gateway payloads). Every part of the fake
(gateway, REST routes, interactions) reads and changes this one object, and ``FakeDiscord`` *is* a
:class:`DiscordState`, so tests read it straight off the fake (``fake.guild_id``,
``fake.channel_messages``, ``fake.errors``). Underscored members are internals shared by the
fake's parts; tests use the public ones.

Fidelity rules kept here: snowflakes and permission bit sets are strings in every payload;
snowflakes look real and strictly increase (discord.py reads creation times out of ids);
permissions are computed the way Discord does (owner, ADMINISTRATOR, @everyone and roles, then the
channel's overwrites for @everyone, the roles and the member).
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tests.fakes.discord.rate_limits import RateLimits

if TYPE_CHECKING:
    from tests.fakes.discord.interactions import FakeInteraction

JSON = dict[str, Any]
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
#: Channel types of threads (announcement, public, private): they live under a parent channel.
THREAD_TYPES = frozenset({10, 11, 12})
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


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class FakeGuild:
    """One guild of the fake: the ids tests use, its roles and its members' roles.

    The first guild ("Test Guild") is the fake's own (``fake.guild_id``, ``fake.channel_id``
    ...); :meth:`FakeDiscord.add_guild` adds more, with the same users as members, so a
    sharded bot (several processes) can be tested with guilds on different shards.
    """

    id: int
    name: str
    owner_id: int
    channel_id: int
    other_channel_id: int
    admin_role_id: int
    bot_role_id: int
    role_ids: list[int]
    members: dict[int, JSON]  # user id -> {"roles": [...], "joined_at": ...}


class DiscordState:
    """Everything the fake Discord knows: the guild, its people and channels, and what the bot did.

    The guild "Test Guild" has two text channels ("general", "alerts"), an admin member (role
    "Admins" with ADMINISTRATOR and MANAGE_GUILD, and the guild's owner), two plain members and
    the bot. Nothing here talks to the network; ``FakeDiscord`` adds the servers.
    """

    token: str = "fake-bot-token"

    def __init__(self, *, interaction_timeout: float | None, heartbeat_interval_ms: int) -> None:
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
        self._members[self.bot_user_id] = {"roles": [self.bot_role_id], "joined_at": now_iso()}
        self._members[self.admin_user_id] = {
            "roles": [self.admin_role_id],
            "joined_at": now_iso(),
        }
        self._members[self.user_id] = {"roles": [], "joined_at": now_iso()}
        self._members[self.other_user_id] = {"roles": [], "joined_at": now_iso()}
        self._channels[self.channel_id] = self._channel_payload(self.channel_id, "general", 0)
        self._channels[self.other_channel_id] = self._channel_payload(
            self.other_channel_id, "alerts", 1
        )
        #: Every guild by id; the fake's own first (``add_guild`` adds more).
        self.guilds: dict[int, FakeGuild] = {
            self.guild_id: FakeGuild(
                id=self.guild_id,
                name=self.guild_name,
                owner_id=self.owner_id,
                channel_id=self.channel_id,
                other_channel_id=self.other_channel_id,
                admin_role_id=self.admin_role_id,
                bot_role_id=self.bot_role_id,
                role_ids=[self.guild_id, self.bot_role_id, self.admin_role_id],
                members=self._members,
            )
        }
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

        self.rate_limited_count = 0
        self.nonce_hits = 0  # message creates answered with an earlier message (enforce_nonce)
        #: Discord honours ``enforce_nonce`` "in the past few minutes"; None: forever.
        self.nonce_ttl: float | None = 300.0
        #: Per-channel buckets and the global limit (headers always; 429s when enforced).
        self.rate_limits = RateLimits()
        #: Texts that make Discord refuse a message whose embeds contain one (400, as for an
        #: embed it finds invalid), so tests can show one bad card costs no other.
        self.refused_embed_texts: set[str] = set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ waiting on changes

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

    # ------------------------------------------------------------------ world

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

    def _channel_payload(
        self, channel_id: int, name: str, position: int, guild_id: int | None = None
    ) -> JSON:
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(guild_id or self.guild_id),
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

    def _thread_payload(self, thread_id: int, parent_id: int, name: str) -> JSON:
        """A public thread under ``parent_id`` (type 11), as THREAD_CREATE and GUILD_CREATE send."""
        return self._channel_payload(thread_id, name, 0) | {
            "type": 11,
            "parent_id": str(parent_id),
            "owner_id": str(self.admin_user_id),
            "member_count": 1,
            "message_count": 0,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now_iso(),
                "locked": False,
            },
        }

    def get_message(self, message_id: int | str) -> JSON | None:
        """The stored (live) message with this id, or None if unknown or deleted."""
        return self._messages.get(int(message_id))

    def _store(self, message: JSON) -> JSON:
        """Put a message in the store; the one way in (``scripts/bench_stream.py`` overrides it
        to time alerts)."""
        self._messages[int(message["id"])] = message
        return message

    def guild_of(self, channel_id: int) -> FakeGuild:
        """The guild a text channel belongs to (the fake's own for unknown channels)."""
        channel = self._channels.get(channel_id)
        return self.guilds[int(channel["guild_id"]) if channel else self.guild_id]

    def _guild_permissions(self, user_id: int, guild: FakeGuild | None = None) -> int:
        guild = guild or self.guilds[self.guild_id]
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members[user_id]
        perms = int(self._roles[guild.id]["permissions"])
        for role_id in member["roles"]:
            perms |= int(self._roles[role_id]["permissions"])
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def permissions_in(self, channel_id: int, user_id: int) -> int:
        """A member's effective permissions in a channel, computed the way Discord does (a
        thread has no overwrites of its own: its parent's apply)."""
        guild = self.guild_of(channel_id)
        perms = self._guild_permissions(user_id, guild)
        channel = self._channels.get(channel_id)
        if channel is not None and channel["type"] in THREAD_TYPES:
            channel = self._channels.get(int(channel["parent_id"]))
        if perms & ADMINISTRATOR or channel is None:
            return perms
        overwrites = {int(o["id"]): o for o in channel["permission_overwrites"]}
        everyone = overwrites.get(guild.id)
        if everyone is not None:
            perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
        allow = deny = 0
        for role_id in guild.members[user_id]["roles"]:
            overwrite = overwrites.get(role_id)
            if overwrite is not None:
                allow |= int(overwrite["allow"])
                deny |= int(overwrite["deny"])
        perms = (perms & ~deny) | allow
        own = overwrites.get(user_id)
        if own is not None:
            perms = (perms & ~int(own["deny"])) | int(own["allow"])
        return perms

    # ------------------------------------------------------------------ payloads

    def _member_payload(
        self,
        user_id: int,
        *,
        with_user: bool = True,
        channel_id: int | None = None,
        guild_id: int | None = None,
    ) -> JSON:
        if channel_id is not None:
            guild = self.guild_of(channel_id)
        else:
            guild = self.guilds[guild_id or self.guild_id]
        member = guild.members[user_id]
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

    def _guild_payload(self, *, full: bool, guild_id: int | None = None) -> JSON:
        """The guild object; ``full`` adds the GUILD_CREATE-only fields discord.py caches from."""
        record = self.guilds[guild_id or self.guild_id]
        guild: JSON = {
            "id": str(record.id),
            "name": record.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(record.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [self._roles[role_id] for role_id in record.role_ids],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(record.channel_id),
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
                "joined_at": record.members[self.bot_user_id]["joined_at"],
                "large": False,
                "unavailable": False,
                "member_count": len(record.members),
                "voice_states": [],
                "members": [
                    self._member_payload(uid, guild_id=record.id) for uid in record.members
                ],
                "channels": [
                    c
                    for c in self._channels.values()
                    if c["guild_id"] == str(record.id) and c["type"] not in THREAD_TYPES
                ],
                "threads": [
                    c
                    for c in self._channels.values()
                    if c["guild_id"] == str(record.id) and c["type"] in THREAD_TYPES
                ],
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

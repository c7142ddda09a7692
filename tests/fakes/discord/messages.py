"""Messages: building, checking and storing what the bot posts, and the channel routes.

:meth:`Messages.new_message` and :meth:`Messages.apply_body` build every message the bot makes,
whether posted in a channel, sent as an interaction response or through an interaction webhook;
the result is stored and echoed back to the bot over the gateway (MESSAGE_CREATE, UPDATE and
DELETE), as Discord does with the bot's own messages.

Fidelity: Discord's limits are enforced as its 400 "Invalid Form Body" (content of at most 2000
characters; at most 10 embeds, with title, description, field, footer and author limits and 6000
characters in all; at most 5 action rows of 1-5 components; custom ids of 1-100 characters; labels
of at most 80) and an empty message is refused, so bot bugs show up here rather than in production.
Posting needs VIEW_CHANNEL, SEND_MESSAGES and, with files, ATTACH_FILES (403 otherwise), a DM to a
user whose DMs are closed is a 403, and with ``enforce_nonce`` a repeated nonce returns the message
already posted instead of posting again.
"""

from __future__ import annotations

import copy
import json
import mimetypes
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.discord.gateway import DIRECT_MESSAGES_INTENT, GUILD_MESSAGES_INTENT, Gateway
from tests.fakes.discord.rate_limits import too_many
from tests.fakes.discord.rest import (
    ApiError,
    UploadedFile,
    form_error,
    json_response,
    path_int,
    read_body,
)
from tests.fakes.discord.state import (
    ATTACH_FILES,
    JSON,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    THREAD_TYPES,
    VIEW_CHANNEL,
    DiscordState,
    now_iso,
)

if TYPE_CHECKING:
    from tests.fakes.discord.interactions import FakeInteraction

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7
IS_COMPONENTS_V2 = 1 << 15

#: Keys the fake keeps in a stored message for tests but does not send back to the client.
LINK_STYLE = 5  # a button that opens a url (no custom_id, no interaction)
PRIVATE_MESSAGE_KEYS = frozenset({"attachments_received", "allowed_mentions", "enforce_nonce"})


def public(message: JSON) -> JSON:
    """The message as Discord returns it: without the fake's bookkeeping keys."""
    return {k: v for k, v in message.items() if k not in PRIVATE_MESSAGE_KEYS}


def fetched(message: JSON) -> JSON:
    """The message as a later GET returns it: Discord gives the nonce back only in the answer
    to the post (and the gateway's MESSAGE_CREATE), so a bot cannot find a message by it."""
    return {k: v for k, v in public(message).items() if k != "nonce"}


class Messages:
    """The message store's writers, and the channel and DM routes."""

    def __init__(self, state: DiscordState, gateway: Gateway) -> None:
        self.state = state
        self.gateway = gateway

    def new_message(
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
            raise form_error({"_root": "Expected an object"})
        message_id = self.state._snowflake()
        message: JSON = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": dict(self.state._users[self.state.bot_user_id]),
            "content": "",
            "timestamp": now_iso(),
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
        if channel_id in self.state._channels:
            message["guild_id"] = str(self.state.guild_of(channel_id).id)
        if interaction is not None:
            message["webhook_id"] = str(self.state.application_id)
            message["application_id"] = str(self.state.application_id)
            message["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": dict(self.state._users[interaction.user_id]),
                "authorizing_integration_owners": {"0": str(self.state.guild_of(channel_id).id)},
            }
        self.apply_body(message, body, files, creating=True)
        return message

    def apply_body(
        self, message: JSON, body: JSON, files: list[UploadedFile], *, creating: bool
    ) -> None:
        """Merge a create/edit body (and uploads) into ``message`` after validating the result."""
        if not isinstance(body, dict):
            raise form_error({"_root": "Expected an object"})
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
                attachment_id = self.state._snowflake()
                filename = str(descriptors.get(index, {}).get("filename") or file.filename)
                self.state.attachment_bytes[attachment_id] = file.data
                attachment = self.state._attachment_payload(
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
            candidate["edited_timestamp"] = now_iso()
            candidate["flags"] = int(candidate.get("flags") or 0) & ~LOADING
        _validate_message(candidate)
        message.clear()
        message.update(candidate)

    def forget(self, message: JSON) -> None:
        """Take a deleted message out of the store and its channel (its id is remembered)."""
        message_id = int(message["id"])
        self.state._messages.pop(message_id, None)
        self.state.deleted_message_ids.add(message_id)
        channel_list = self.state.channel_messages.get(int(message["channel_id"]), [])
        if message in channel_list:
            channel_list.remove(message)

    async def announce(self, event: str, message: JSON) -> None:
        """MESSAGE_CREATE/UPDATE/DELETE to the bot, as Discord echoes the bot's own messages."""
        if int(message.get("flags") or 0) & EPHEMERAL:
            return
        channel_id = int(message["channel_id"])
        in_guild = channel_id in self.state._channels
        intent = GUILD_MESSAGES_INTENT if in_guild else DIRECT_MESSAGES_INTENT
        if event == "MESSAGE_DELETE":
            data: JSON = {"id": message["id"], "channel_id": message["channel_id"]}
        else:
            data = public(message)
        guild_id = self.state.guild_of(channel_id).id if in_guild else None
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
            if event == "MESSAGE_CREATE":
                data["member"] = self.state._member_payload(
                    self.state.bot_user_id, with_user=False, guild_id=guild_id
                )
        await self.gateway.dispatch(event, data, guild_id=guild_id, intent=intent)

    # ------------------------------------------------------------------ channel routes

    def _text_channel(self, channel_id: int) -> JSON:
        if channel_id in self.state._channels:
            return self.state._channels[channel_id]
        if channel_id in self.state._dm_channel_users:
            user_id = self.state._dm_channel_users[channel_id]
            return {
                "id": str(channel_id),
                "type": 1,
                "recipients": [self.state._users[user_id]],
                "last_message_id": None,
                "flags": 0,
            }
        raise ApiError(404, 10003, "Unknown Channel")

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(self._text_channel(path_int(request, "channel_id")))

    async def create_dm(self, request: web.Request) -> web.Response:
        body, _ = await read_body(request)
        user_id = int(body.get("recipient_id") or 0)
        if user_id not in self.state._users or user_id == self.state.bot_user_id:
            raise ApiError(400, 50007, "Cannot send messages to this user")
        if user_id not in self.state.dm_channels:
            channel_id = self.state._snowflake()
            self.state.dm_channels[user_id] = channel_id
            self.state._dm_channel_users[channel_id] = user_id
        return json_response(self._text_channel(self.state.dm_channels[user_id]))

    async def typing(self, request: web.Request) -> web.Response:
        self._text_channel(path_int(request, "channel_id"))
        return web.Response(status=204)

    def _check_bot_can_post(self, channel_id: int, files: list[UploadedFile]) -> None:
        channel = self._text_channel(channel_id)
        if channel["type"] == 1:
            if self.state._dm_channel_users[channel_id] in self.state.dms_closed:
                raise ApiError(403, 50007, "Cannot send messages to this user")
            return
        perms = self.state.permissions_in(channel_id, self.state.bot_user_id)
        if not perms & VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        send = SEND_MESSAGES_IN_THREADS if channel["type"] in THREAD_TYPES else SEND_MESSAGES
        if not perms & send or (files and not perms & ATTACH_FILES):
            raise ApiError(403, 50013, "Missing Permissions")

    async def create_channel_message(self, request: web.Request) -> web.Response:
        channel_id = path_int(request, "channel_id")
        body, files = await read_body(request)
        self._check_bot_can_post(channel_id, files)
        headers, over = self.state.rate_limits.take_post(channel_id)
        if over:
            self.state.rate_limited_count += 1
            return too_many(
                float(headers["X-RateLimit-Reset-After"]), is_global=False, headers=headers
            )
        response = await self._create_or_repeat(channel_id, body, files)
        response.headers.update(headers)
        return response

    async def _create_or_repeat(
        self, channel_id: int, body: JSON, files: list[UploadedFile]
    ) -> web.Response:
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # Real Discord: a repeated nonce from the same author within a few minutes returns
            # the first message instead of posting again (the basis of exactly-once resends).
            for earlier in self.state.channel_messages.get(channel_id, []):
                if earlier.get("nonce") == str(nonce) and self._remembers(earlier):
                    self.state.nonce_hits += 1
                    return json_response(public(earlier))
        refused = [t for t in self.state.refused_embed_texts if t in json.dumps(body.get("embeds"))]
        if refused:
            raise form_error({"embeds.0.url": f"Not a well formed URL ({refused[0][:20]})."})
        message = self.state._store(self.new_message(channel_id, body, files))
        self.state.channel_messages.setdefault(channel_id, []).append(message)
        channel = self.state._channels.get(channel_id)
        if channel is not None:
            channel["last_message_id"] = message["id"]
        await self.announce("MESSAGE_CREATE", message)
        return json_response(public(message))

    def _remembers(self, message: JSON) -> bool:
        """Whether Discord still knows the nonce of this earlier message (``nonce_ttl``)."""
        ttl = self.state.nonce_ttl
        if ttl is None:
            return True
        posted = datetime.fromisoformat(str(message["timestamp"]))
        return (datetime.now(UTC) - posted).total_seconds() < ttl

    def _channel_message(self, request: web.Request) -> JSON:
        channel_id = path_int(request, "channel_id")
        self._text_channel(channel_id)
        message = self.state._messages.get(path_int(request, "message_id"))
        if message is None or int(message["channel_id"]) != channel_id:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def list_messages(self, request: web.Request) -> web.Response:
        channel_id = path_int(request, "channel_id")
        self._text_channel(channel_id)
        limit = min(int(request.query.get("limit", "50")), 100)
        before = int(request.query.get("before", "0") or 0)
        after = int(request.query.get("after", "0") or 0)
        found = [
            fetched(m)
            for m in reversed(self.state.channel_messages.get(channel_id, []))
            if (not before or int(m["id"]) < before) and int(m["id"]) > after
        ]
        if "after" in request.query and not before:  # paging forward: the oldest first
            found = found[::-1][:limit][::-1]
        return json_response(found[:limit])

    async def get_channel_message(self, request: web.Request) -> web.Response:
        return json_response(fetched(self._channel_message(request)))

    async def edit_channel_message(self, request: web.Request) -> web.Response:
        message = self._channel_message(request)
        if message["author"]["id"] != str(self.state.bot_user_id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body, files = await read_body(request)
        self.apply_body(message, body, files, creating=False)
        await self.announce("MESSAGE_UPDATE", message)
        return json_response(public(message))

    async def delete_channel_message(self, request: web.Request) -> web.Response:
        message = self._channel_message(request)
        self.forget(message)
        await self.announce("MESSAGE_DELETE", message)
        return web.Response(status=204)

    async def download(self, request: web.Request) -> web.Response:
        data = self.state.attachment_bytes.get(path_int(request, "attachment_id"))
        if data is None:
            raise web.HTTPNotFound()
        filename = request.match_info["filename"]
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return web.Response(body=data, content_type=kind)


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


def find_component(components: list[Any], custom_id: str) -> JSON | None:
    return next((c for c in _walk_components(components) if c.get("custom_id") == custom_id), None)


def custom_ids(components: list[Any]) -> set[str]:
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
        if component.get("type") == 2 and component.get("style") == LINK_STYLE:
            url = str(component.get("url") or "")
            if custom_id is not None or not url.startswith(("https://", "http://")):
                problems["components.url"] = "A link button has a url and no custom_id."
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
        raise form_error(problems)

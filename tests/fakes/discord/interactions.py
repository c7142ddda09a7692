"""Interactions from the user's side: what a member does, sent to the bot as INTERACTION_CREATE.

:class:`FakeInteraction` is what a test holds to wait for and inspect the bot's answer.
:class:`Interactions` runs a synced slash command, types into an autocomplete option, presses a
button or chooses in a select of a message the bot sent, and submits a modal the bot opened, each
as Discord would send it: type 2 (command: data {id, name, type 1, options}), 3 (component:
data {custom_id, component_type}, message), 4 (autocomplete), 5 (modal submit), with the member
and its permissions, the channel, a token, ``app_permissions`` and the locale.

Fidelity: only what a user could really do is allowed (ValueError otherwise): commands that were
synced, options that pass the client's checks (:meth:`Commands.options`), components that exist
on the message and are not disabled, members and text channels of the guild. With
``enforce_default_permissions`` a command the member cannot see is refused too.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable

from tests.fakes.discord.commands import Commands
from tests.fakes.discord.gateway import Gateway
from tests.fakes.discord.messages import EPHEMERAL, custom_ids, find_component, public
from tests.fakes.discord.rest import check_guild
from tests.fakes.discord.state import ADMINISTRATOR, JSON, DiscordState

# Interaction types and interaction callback types.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE = 4, 5, 6
UPDATE_MESSAGE, AUTOCOMPLETE_RESULT, MODAL = 7, 8, 9
#: Component types that carry ``values`` when used (string/user/role/mentionable/channel select).
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})


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


class Interactions:
    """The test API that sends interactions to the bot (see the module docstring)."""

    def __init__(self, state: DiscordState, gateway: Gateway, commands: Commands) -> None:
        self.state = state
        self.gateway = gateway
        self.commands = commands

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
        gid = guild_id or self.state.guild_id
        check_guild(self.state, gid)
        channel_id = channel_id or self.state.guilds[gid].channel_id
        command, scoped = self.commands.find(name, gid)
        uid = user_id or self.state.user_id
        if self.state.enforce_default_permissions and command.get("default_member_permissions"):
            needed = int(command["default_member_permissions"])
            have = self.state.permissions_in(channel_id, uid)
            if have & needed != needed and not have & ADMINISTRATOR:
                raise PermissionError(f"user {uid} cannot see /{name}")
        resolved: JSON = {}
        opts = self.commands.options(
            command,
            options or {},
            subcommand,
            resolved,
            uid,
            channel_id or self.state.channel_id,
            None,
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
        gid = self.state.guild_id
        command, scoped = self.commands.find(name, gid)
        uid = user_id or self.state.user_id
        resolved: JSON = {}
        opts = self.commands.options(
            command,
            options,
            subcommand,
            resolved,
            uid,
            channel_id or self.state.channel_id,
            focused,
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

    async def click(
        self,
        message: JSON,
        custom_id: str,
        *,
        user_id: int | None = None,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """Press a button (or choose ``values`` in a select) on a message the bot sent."""
        stored = self.state._messages.get(int(message["id"]))
        if stored is None:
            raise LookupError(f"message {message.get('id')} is unknown to the fake or deleted")
        component = find_component(stored.get("components") or [], custom_id)
        if component is None:
            ids = sorted(custom_ids(stored.get("components") or []))
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
            user_id=user_id or self.state.user_id,
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
        uid = user_id or self.state.user_id
        cid = channel_id or self.state.channel_id
        channel = self.state._channels.get(cid)
        if channel is None:
            raise ValueError(f"channel {cid} is not a text channel of the guild")
        guild_id = int(channel["guild_id"])
        if uid not in self.state.guilds[guild_id].members:
            raise ValueError(f"user {uid} is not a member of the guild")
        interaction_id = self.state._snowflake()
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.state.application_id),
            "type": kind,
            "data": data,
            "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
            "guild_id": str(guild_id),
            "channel": channel | {"permissions": str(self.state.permissions_in(cid, uid))},
            "channel_id": str(cid),
            "member": self.state._member_payload(uid, channel_id=cid),
            "token": "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
            "version": 1,
            "app_permissions": str(self.state.permissions_in(cid, self.state.bot_user_id)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = public(message)
        inter = FakeInteraction(payload, name=name, source_message=message)
        self.state.interactions[interaction_id] = inter
        self.state._interactions_by_token[inter.token] = inter
        if not await self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=guild_id):
            raise RuntimeError("no bot session to deliver the interaction to; wait_ready() first")
        return inter

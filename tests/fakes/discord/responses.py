"""The bot's answers to interactions: the callback route and the interaction webhooks.

The bot answers with ``POST /interactions/{id}/{token}/callback`` (types 4, 5, 6, 7, 8, 9;
discord.py 2.7 adds ``?with_response=true``), then edits or deletes its original response at
``/webhooks/{application_id}/{token}/messages/@original`` and follows up with
``POST /webhooks/{application_id}/{token}``. Everything it answered is recorded on the
:class:`~tests.fakes.discord.interactions.FakeInteraction`.

Fidelity: the first callback must come within Discord's deadline (``interaction_timeout``, 3 s;
later is 404 "Unknown interaction", as in production); a second callback is 400 "Interaction has
already been acknowledged."; each interaction type accepts only the callback types Discord
accepts for it; after a "thinking" defer the first follow-up fills the placeholder, keeping the
defer's ephemerality, as Discord does.
"""

from __future__ import annotations

import asyncio
import copy

from aiohttp import web

from tests.fakes.discord.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    UPDATE_MESSAGE,
    FakeInteraction,
)
from tests.fakes.discord.messages import EPHEMERAL, LOADING, Messages, public
from tests.fakes.discord.rest import (
    ApiError,
    form_error,
    json_response,
    path_int,
    read_body,
    truthy,
)
from tests.fakes.discord.state import JSON, DiscordState

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


class Responses:
    """The callback and webhook routes through which the bot answers interactions."""

    def __init__(self, state: DiscordState, messages: Messages) -> None:
        self.state = state
        self.messages = messages

    async def callback(self, request: web.Request) -> web.Response:
        """POST /interactions/{id}/{token}/callback: the bot's first (and only) response."""
        inter = self.state.interactions.get(path_int(request, "interaction_id"))
        if inter is None or inter.token != request.match_info["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        body, files = await read_body(request)
        age = asyncio.get_running_loop().time() - inter.created_at
        if self.state.interaction_timeout is not None and age > self.state.interaction_timeout:
            raise ApiError(404, 10062, "Unknown interaction")
        if inter.callbacks:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if not isinstance(body, dict):
            raise form_error({"_root": "Expected an object"})
        kind = body.get("type")
        if kind not in ALLOWED_CALLBACKS.get(inter.type, frozenset()):
            raise form_error({"type": f"Callback type {kind} is invalid for this interaction"})
        data = body.get("data") or {}
        message: JSON | None = None
        event: str | None = None
        if kind == CHANNEL_MESSAGE:
            message_type = 20 if inter.type == APPLICATION_COMMAND else 0
            message = self.state._store(
                self.messages.new_message(
                    inter.channel_id, data, files, interaction=inter, message_type=message_type
                )
            )
            inter.original = message
            inter._final = message
            event = "MESSAGE_CREATE"
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            message = self.state._store(
                self.messages.new_message(
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
                self.messages.apply_body(message, data, files, creating=False)
                inter._final = message
                event = "MESSAGE_UPDATE"
            else:
                inter.deferred = True
        elif kind == AUTOCOMPLETE_RESULT:
            choices = data.get("choices") or []
            if len(choices) > 25:
                raise form_error({"data.choices": "Must be 25 or fewer in length."})
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
            await self.messages.announce(event, message)
        if not truthy(request.query.get("with_response")):
            return web.Response(status=204)
        summary: JSON = {"id": str(inter.id), "type": inter.type}
        resource: JSON = {"type": kind}
        if message is not None:
            summary["response_message_id"] = message["id"]
            summary["response_message_loading"] = kind == DEFERRED_CHANNEL_MESSAGE
            summary["response_message_ephemeral"] = bool(int(message["flags"]) & EPHEMERAL)
            resource["message"] = public(message)
        return json_response({"interaction": summary, "resource": resource})

    def _component_message(self, inter: FakeInteraction) -> JSON:
        if inter.source_message is None:
            raise form_error({"type": "Only component interactions can update a message"})
        message = self.state._messages.get(int(inter.source_message["id"]))
        if message is None:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def _webhook_interaction(self, request: web.Request) -> FakeInteraction:
        inter = self.state._interactions_by_token.get(request.match_info["token"])
        if inter is None or path_int(request, "app_id") != self.state.application_id:
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

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        inter = self._webhook_interaction(request)
        return json_response(public(self._webhook_message(request, inter)))

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        inter = self._webhook_interaction(request)
        message = self._webhook_message(request, inter)
        body, files = await read_body(request)
        self.messages.apply_body(message, body, files, creating=False)
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
        await self.messages.announce("MESSAGE_UPDATE", message)
        return json_response(public(message))

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        inter = self._webhook_interaction(request)
        message = self._webhook_message(request, inter)
        self.messages.forget(message)
        if message is inter.original:
            inter.original = None
        if message in inter.followups:
            inter.followups.remove(message)
        inter._notify()
        await self.messages.announce("MESSAGE_DELETE", message)
        return web.Response(status=204)

    async def followup(self, request: web.Request) -> web.Response:
        """POST /webhooks/{app}/{token}: a follow-up; after a "thinking" defer Discord uses the
        first one to fill the placeholder (keeping the defer's ephemerality), so the fake does."""
        inter = self._webhook_interaction(request)
        if not inter.callbacks:
            raise ApiError(404, 10015, "Unknown Webhook")
        body, files = await read_body(request)
        original = inter.original
        placeholder = original is not None and int(original.get("flags") or 0) & LOADING
        if placeholder and original is not None and not inter.followups:
            edit = dict(body)
            edit.pop("flags", None)
            self.messages.apply_body(original, edit, files, creating=False)
            message = original
            event = "MESSAGE_UPDATE"
        else:
            message = self.state._store(
                self.messages.new_message(inter.channel_id, body, files, interaction=inter)
            )
            event = "MESSAGE_CREATE"
        inter.followups.append(message)
        if inter._final is None:
            inter._final = message
        inter._notify()
        await self.messages.announce(event, message)
        if truthy(request.query.get("wait")):
            return json_response(public(message))
        return web.Response(status=204)

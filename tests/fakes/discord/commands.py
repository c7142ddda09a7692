"""Application commands: what the bot synced, and the Discord client's checks of a user's input.

The bulk-overwrite routes (``PUT /applications/{id}/commands`` and the guild variant) validate
like Discord, so a bad command definition is a 400 here rather than a surprise in production:
names of 1-32 lowercase word characters, ``-`` or ``'``, descriptions of 1-100, at most 25
options and 25 choices, unique names, required options before optional ones, no choices with
autocomplete, at most 100 chat input commands. Command ids stay the same per (guild, name, type)
across syncs, as Discord's do.

:meth:`Commands.options` builds an interaction's options from a test's values the way the Discord
client does: unknown or missing required options, values outside the choices or ranges, and
channels of the wrong type are refused (ValueError: a user could not have sent them), and the
``resolved`` users, members, roles, channels and attachments are filled in.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from aiohttp import web

from tests.fakes.discord.rest import (
    ApiError,
    check_guild,
    form_error,
    json_response,
    path_int,
    read_body,
)
from tests.fakes.discord.state import JSON, DiscordState

COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


class Commands:
    """The command sync routes, and lookup and option building for invoking a synced command."""

    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def _check_app(self, request: web.Request) -> None:
        if path_int(request, "app_id") != self.state.application_id:
            raise ApiError(403, 50001, "Missing Access")

    async def get_commands(self, request: web.Request) -> web.Response:
        self._check_app(request)
        if "guild_id" in request.match_info:
            guild_id = path_int(request, "guild_id")
            check_guild(self.state, guild_id)
            return json_response(self.state.guild_commands.get(guild_id, []))
        return json_response(self.state.global_commands)

    async def put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite: validate like Discord, keep ids stable per (name, type), store."""
        self._check_app(request)
        guild_id: int | None = None
        if "guild_id" in request.match_info:
            guild_id = path_int(request, "guild_id")
            check_guild(self.state, guild_id)
        body, _ = await read_body(request)
        if not isinstance(body, list):
            raise form_error({"_root": "Must be an array of application commands."})
        self._validate_commands(body)
        stored: list[JSON] = []
        for command in body:
            kind = int(command.get("type") or 1)
            key = (guild_id, command["name"], kind)
            command_id = self.state._command_ids.setdefault(key, self.state._snowflake())
            item = copy.deepcopy(command) | {
                "id": str(command_id),
                "application_id": str(self.state.application_id),
                "type": kind,
                "version": str(self.state._snowflake()),
                "default_member_permissions": command.get("default_member_permissions"),
                "nsfw": bool(command.get("nsfw", False)),
            }
            item.setdefault("description", "")
            if guild_id is not None:
                item["guild_id"] = str(guild_id)
            stored.append(item)
        if guild_id is None:
            self.state.global_commands = stored
        else:
            self.state.guild_commands[guild_id] = stored
        self.state.sync_count += 1
        return json_response(stored)

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
            raise form_error(problems)

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

    def find(self, name: str, guild_id: int) -> tuple[JSON, bool]:
        """The synced slash command and whether it is guild-scoped (guild first, as Discord)."""
        for command in self.state.guild_commands.get(guild_id, []):
            if command["name"] == name and command["type"] == 1:
                return command, True
        for command in self.state.global_commands:
            if command["name"] == name and command["type"] == 1:
                return command, False
        synced = sorted(
            {c["name"] for c in self.state.global_commands}
            | {c["name"] for c in self.state.guild_commands.get(guild_id, [])}
        )
        raise LookupError(f"/{name} was never synced (synced: {synced})")

    def options(
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
            if kind in (6, 9) and target in self.state._users:
                resolved.setdefault("users", {})[str(target)] = dict(self.state._users[target])
                if target in self.state._members:
                    resolved.setdefault("members", {})[str(target)] = self.state._member_payload(
                        target, with_user=False, channel_id=channel_id
                    )
            elif kind in (8, 9) and target in self.state._roles:
                resolved.setdefault("roles", {})[str(target)] = dict(self.state._roles[target])
            else:
                raise ValueError(f"option {name!r}: no user/role {target}")
            value = str(target)
        elif kind == 7:
            target = int(str(raw))
            channel = self.state._channels.get(target)
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
                "permissions": str(self.state.permissions_in(target, user_id)),
            }
            value = str(target)
        elif kind == 11:
            if not (isinstance(raw, tuple) and len(raw) == 2):
                raise ValueError(f"option {name!r} needs (filename, bytes)")
            filename, data = raw
            attachment_id = self.state._snowflake()
            self.state.attachment_bytes[attachment_id] = bytes(data)
            resolved.setdefault("attachments", {})[str(attachment_id)] = (
                self.state._attachment_payload(attachment_id, channel_id, str(filename), len(data))
            )
            value = str(attachment_id)
        else:
            raise ValueError(f"option {name!r}: unsupported option type {kind}")
        choices = definition.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(f"option {name!r}: {value!r} is not one of the choices")
        return value

"""The fake Discord's REST plumbing, and its simplest routes: login, gateway discovery, guild reads.

Every request below ``/api/v10`` goes through :meth:`RestApi.handle`: it is logged
(``fake.requests``), authenticated (the bot token, except interaction callbacks and webhooks,
which carry their own token), rate-limited on demand (:meth:`RestApi.force_rate_limit`), and a
refusal raised as :class:`ApiError` anywhere in a route is rendered the way Discord renders it.

Fidelity rules (each one is a way discord.py breaks against a sloppy fake): JSON bodies carry
``Content-Type: application/json`` with no charset (discord.py treats ``; charset=...`` as text and
login fails); a 429 carries ``Via`` (else discord.py takes it for a Cloudflare ban and raises),
``retry_after`` and ``X-RateLimit-*``; the fake answers its own bugs with 4xx, never 5xx (a 5xx
makes discord.py retry for about 25 s).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.discord.state import JSON, DiscordState

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"


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


def form_error(problems: dict[str, str]) -> ApiError:
    """Build Discord's nested "Invalid Form Body" error so discord.py prints readable paths."""
    errors: JSON = {}
    for dotted, message in problems.items():
        node = errors
        for part in dotted.split("."):
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": "INVALID_FORM_BODY", "message": message})
    return ApiError(400, 50035, "Invalid Form Body", errors)


def json_response(data: Any, status: int = 200) -> web.Response:
    """JSON with exactly ``application/json``: discord.py treats ``; charset=...`` as plain text."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json"
    )


def truthy(value: str | None) -> bool:
    """A query flag such as ``?wait=true``."""
    return value is not None and value.lower() in {"1", "true", "yes"}


@dataclass
class UploadedFile:
    """One file part of a multipart request, kept so tests can check what the bot uploaded."""

    field: str
    filename: str
    data: bytes
    content_type: str


async def read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    """JSON body, or multipart ``payload_json`` + ``files[n]`` parts (discord.py's uploads)."""
    if request.content_type == "multipart/form-data":
        payload: Any = {}
        files: list[UploadedFile] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise form_error({"_root": "Nested multipart bodies are not supported"})
            name = part.name or ""
            data = await part.read(decode=False)
            if name == "payload_json":
                payload = parse_json(bytes(data))
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
    return (parse_json(raw) if raw else {}), []


def parse_json(raw: bytes) -> Any:
    """The body's JSON, or Discord's 400 "invalid JSON" error."""
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


def path_int(request: web.Request, key: str) -> int:
    """A snowflake from the URL path, or Discord's 400 form error when it is not a number."""
    try:
        return int(request.match_info[key])
    except ValueError:
        raise form_error({key: "Value is not snowflake."}) from None


def check_guild(state: DiscordState, guild_id: int) -> None:
    """404 Unknown Guild for any guild the fake does not have."""
    if guild_id not in state.guilds:
        raise ApiError(404, 10004, "Unknown Guild")


class RestApi:
    """Request plumbing for every REST route, and the login, gateway and guild routes."""

    def __init__(self, state: DiscordState) -> None:
        self.state = state
        self._rate_limits: list[list[Any]] = []

    async def handle(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        """Log, authenticate, rate-limit and error-wrap every REST call (never answer 5xx)."""
        if not request.path.startswith(API_PREFIX):
            try:
                return await handler(request)
            except web.HTTPException as exc:
                return json_response({"message": exc.reason, "code": 0}, exc.status)
        path = request.path[len(API_PREFIX) :]
        method = request.method
        self.state.requests.append((method, path))
        try:
            return await self._answer(request, handler, method, path)
        finally:
            self.state._notify()

    async def _answer(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Any],
        method: str,
        path: str,
    ) -> web.StreamResponse:
        try:
            if self._needs_auth(path) and request.headers.get("Authorization") != (
                f"Bot {self.state.token}"
            ):
                raise ApiError(401, 0, "401: Unauthorized")
            limited = self._take_rate_limit(path)
            if limited is None:
                limited = self.state.rate_limits.count_request(path)
                if limited is not None:
                    self.state.rate_limited_count += 1
            if limited is not None:
                return limited
            return await handler(request)
        except ApiError as exc:
            log.info("fake discord: %s %s -> %s", method, path, exc)
            self.state.errors.append((method, path, exc.status, exc.body()))
            return json_response(exc.body(), exc.status)
        except web.HTTPException as exc:  # no such route or method
            log.warning("fake discord: unknown route %s %s (%s)", method, path, exc.status)
            self.state.unknown_requests.append((method, path))
            body = {"message": "Unknown", "code": 0}
            self.state.errors.append((method, path, 404, body))
            return json_response(body, 404)
        except Exception as exc:  # the fake's own bug: 4xx, since a 5xx makes discord.py retry
            log.exception("fake discord: error handling %s %s", method, path)
            body = {"message": f"fake discord error: {exc!r}", "code": 0}
            self.state.errors.append((method, path, 400, body))
            return json_response(body, 400)

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
            self.state.rate_limited_count += 1
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
            response = json_response(body, 429)
            response.headers.update(headers)
            return response
        return None

    # ------------------------------------------------------------------ login / meta routes

    async def get_me(self, request: web.Request) -> web.Response:
        return json_response(self.state._bot_user_payload())

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.state._users.get(path_int(request, "user_id"))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(user)

    async def get_application(self, request: web.Request) -> web.Response:
        return json_response(self.state._application_payload())

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.state.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.state.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    # ------------------------------------------------------------------ guild routes

    async def get_guild(self, request: web.Request) -> web.Response:
        guild_id = path_int(request, "guild_id")
        check_guild(self.state, guild_id)
        return json_response(self.state._guild_payload(full=False, guild_id=guild_id))

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        guild_id = path_int(request, "guild_id")
        check_guild(self.state, guild_id)
        channels = self.state._channels.values()
        return json_response([c for c in channels if c["guild_id"] == str(guild_id)])

    async def get_guild_roles(self, request: web.Request) -> web.Response:
        guild_id = path_int(request, "guild_id")
        check_guild(self.state, guild_id)
        role_ids = self.state.guilds[guild_id].role_ids
        return json_response([self.state._roles[role_id] for role_id in role_ids])

    async def get_member(self, request: web.Request) -> web.Response:
        guild_id = path_int(request, "guild_id")
        check_guild(self.state, guild_id)
        user_id = path_int(request, "user_id")
        if user_id not in self.state.guilds[guild_id].members:
            raise ApiError(404, 10007, "Unknown Member")
        return json_response(self.state._member_payload(user_id, guild_id=guild_id))

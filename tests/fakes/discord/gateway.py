"""The fake Discord's gateway: the WebSocket that carries events to the bot.

HELLO (op 10) with the heartbeat interval → IDENTIFY (op 2) → dispatch READY (bot user,
application {id, flags}, guilds as unavailable, session_id, resume_gateway_url) → GUILD_CREATE
for the guild (channels, roles, members). Heartbeats (op 1) are answered with op 11; member
requests (op 8) with one GUILD_MEMBERS_CHUNK; presence and voice updates are recorded.

Sessions outlive their socket: :meth:`Gateway.disconnect` drops sockets as Discord does on a
restart, and a RESUME (op 6) gets every missed event replayed in order; an unknown session gets
INVALID_SESSION (op 9) and the client IDENTIFYs again. With ``shard`` in IDENTIFY a session only
gets its guilds' events (``(guild_id >> 22) % shard_count``), and events that need an intent only
go to sessions that asked for it.

Fidelity: frames are plain TEXT JSON. discord.py asks for ``compress=zlib-stream`` but only
decompresses BINARY frames, so text frames work; a BINARY frame from the client closes with 4002.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import secrets
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from tests.fakes.discord.state import JSON, DiscordState

# Gateway intents the fake filters events by.
GUILD_MEMBERS_INTENT = 1 << 1
GUILD_MESSAGES_INTENT = 1 << 9
DIRECT_MESSAGES_INTENT = 1 << 12

# Gateway opcodes.
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE, OP_VOICE_STATE = 0, 1, 2, 3, 4
OP_RESUME, OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION = 6, 7, 8, 9
OP_HELLO, OP_HEARTBEAT_ACK = 10, 11


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


class Gateway:
    """The gateway sessions and sockets of one fake; events go out through :meth:`dispatch`."""

    def __init__(self, state: DiscordState) -> None:
        self.state = state
        self._sessions: dict[str, _Session] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._dropped: set[web.WebSocketResponse] = set()

    def live_session(self) -> bool:
        """Whether a client is connected with an identified session."""
        return any(s.ws is not None and not s.ws.closed for s in self._sessions.values())

    async def close(self) -> None:
        """Close every socket (1001, going away) and forget the sessions: the fake is stopping."""
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"fake discord stopping")
        self._sessions.clear()

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

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The ``/gateway`` WebSocket: HELLO, then the client's payloads until the socket closes."""
        ws = web.WebSocketResponse(timeout=2.0, compress=False, max_msg_size=0)
        await ws.prepare(request)
        self._sockets.add(ws)
        session: _Session | None = None
        try:
            await ws.send_str(
                json.dumps(
                    {
                        "op": OP_HELLO,
                        "d": {"heartbeat_interval": self.state.heartbeat_interval_ms},
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
            self.state._notify()
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
        self.state.gateway_received.append(recorded)
        if op == OP_IDENTIFY:
            return await self._identify(ws, data or {}, session)
        if op == OP_RESUME:
            return await self._resume(ws, data or {}, session)
        if op == OP_REQUEST_MEMBERS and session is not None:
            guild = self.state.guilds.get(int((data or {}).get("guild_id") or self.state.guild_id))
            guild = guild or self.state.guilds[self.state.guild_id]
            await self._send_dispatch(
                session,
                "GUILD_MEMBERS_CHUNK",
                {
                    "guild_id": str(guild.id),
                    "members": [
                        self.state._member_payload(uid, guild_id=guild.id) for uid in guild.members
                    ],
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
        if data.get("token") != self.state.token:
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
        self.state.identify_count += 1
        guild_ids = [gid for gid in self.state.guilds if session.covers(gid)]
        ready: JSON = {
            "v": 10,
            "user": self.state._bot_user_payload(),
            "guilds": [{"id": str(gid), "unavailable": True} for gid in guild_ids],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.state.gateway_url,
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "application": {"id": str(self.state.application_id), "flags": (1 << 15) | (1 << 19)},
            "_trace": ["fake-discord"],
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        await self._send_dispatch(session, "READY", ready)
        for guild_id in guild_ids:
            guild = self.state._guild_payload(full=True, guild_id=guild_id)
            await self._send_dispatch(session, "GUILD_CREATE", guild)
        self.state._notify()
        return session

    async def _resume(
        self, ws: web.WebSocketResponse, data: JSON, session: _Session | None
    ) -> _Session | None:
        found = self._sessions.get(str(data.get("session_id")))
        if session is not None or found is None or data.get("token") != self.state.token:
            await ws.send_str(
                json.dumps({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            )
            return session
        if found.ws is not None and not found.ws.closed:
            self._dropped.add(found.ws)
            with contextlib.suppress(Exception):
                await found.ws.close(code=4000, message=b"session resumed elsewhere")
        self.state.resume_count += 1
        last_seen = int(data.get("seq") or 0)
        async with found.lock:
            found.ws = ws
            for seq, text in found.history:
                if seq > last_seen:
                    await ws.send_str(text)
        await self._send_dispatch(found, "RESUMED", {"_trace": ["fake-discord"]})
        self.state._notify()
        return found

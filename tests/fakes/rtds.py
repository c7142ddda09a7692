"""A local fake of Polymarket's real-time data socket (RTDS, ``wss://ws-live-data.polymarket.com``).

Why a fake: the stream client's hard parts are the server's bad days — silent stalls on an
open socket, abrupt drops, refused handshakes, junk frames — and none of them can be provoked
on the real server. This one runs on 127.0.0.1 with the real wire format (captured frames in
tests/fixtures/polymarket/rtds_*.json) and lets a test switch each failure on and off.

What it mimics:

* connect to the root path (anything else: 404), then a text frame
  ``{"action": "subscribe", "subscriptions": [{"topic": "activity", "type": "trades"}, ...]}``;
  ``type`` may be ``"*"``, ``filters`` is an optional JSON *string* (``event_slug`` /
  ``market_slug``); ``"action": "unsubscribe"`` removes;
* frames ``{"connection_id", "payload", "timestamp" (ms), "topic", "type"}`` go only to
  connections subscribed to that topic/type; payload ``proxyWallet`` is mixed case like
  EIP-55 and payload ``timestamp`` is unix seconds;
* text ``PING``/``ping`` is answered ``PONG``/``pong``;
* ``clob_market`` / ``clob_user`` subscriptions get the 400 rejection body the real one sends.

No protocol-level keepalive pings are sent by the server, so "silent" really means no frames.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import random
import re
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

WALLET_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
REJECTED_TOPICS = frozenset({"clob_market", "clob_user"})
REJECTION_FRAME = json.dumps(
    {
        "body": {
            "message": "CLOB messages are not supported anymore, please visit "
            "https://discord.com/channels/710897173927297116/775506448041115669/"
            "1463547809067434130 to learn more"
        },
        "statusCode": 400,
    },
    separators=(",", ":"),
)
PING_REPLIES = {"PING": "PONG", "ping": "pong"}
_PSEUDO_FIRST = ("Rowdy", "Quiet", "Brisk", "Gilded", "Lanky", "Fuzzy", "Rapid", "Sour")
_PSEUDO_SECOND = ("Tenement", "Harbor", "Falcon", "Turnip", "Lantern", "Comet", "Walrus")


def mixed_case(wallet: str) -> str:
    """EIP-55-like casing: a hash of the lowercase hex picks which letters are upper case.

    Real EIP-55 uses keccak-256, which the stdlib lacks; any deterministic mixed casing is
    enough to prove the client lowercases before comparing (pitfall 5).
    """
    if not WALLET_RE.match(wallet):
        return wallet  # tests may pass deliberately broken wallets through untouched
    hexpart = wallet[2:].lower()
    digest = hashlib.sha3_256(hexpart.encode()).hexdigest()
    chars = [
        c.upper() if c.isalpha() and int(d, 16) >= 8 else c
        for c, d in zip(hexpart, digest[:40], strict=True)
    ]
    return "0x" + "".join(chars)


@dataclass
class _Subscription:
    topic: str
    type: str
    filters: dict[str, Any] | None

    def matches(self, topic: str, type_: str, payload: dict[str, Any]) -> bool:
        if self.topic != topic or self.type not in (type_, "*"):
            return False
        if not self.filters:
            return True
        event_slug = self.filters.get("event_slug")
        if event_slug is not None and payload.get("eventSlug") != event_slug:
            return False
        market_slug = self.filters.get("market_slug")
        return market_slug is None or payload.get("slug") == market_slug


@dataclass
class _Client:
    ws: ServerConnection
    connection_id: str
    subscriptions: list[_Subscription] = field(default_factory=list)


class FakeRTDS:
    """The fake server; ``start()`` binds 127.0.0.1 (a free port by default) and sets ``url``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int | None = None) -> None:
        self.host = host
        self.port = port  # 0: any free port; a fixed one lets a test "restart" the server
        self.url = ""
        self.total_connections = 0
        self.subscriptions: list[dict[str, Any]] = []  # every subscribe message, in order
        self.pings = 0
        self.silent = False
        self.refusing = False
        self._rng = random.Random(seed)
        self._server: Server | None = None
        self._clients: dict[ServerConnection, _Client] = {}
        self._subscribed = asyncio.Event()  # set whenever a subscription is accepted

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._process_request,
            ping_interval=None,
            close_timeout=1.0,
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://{self.host}:{self.port}"

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None

    # ---- state --------------------------------------------------------------------------------

    @property
    def connections(self) -> int:
        """Connections open right now."""
        return sum(1 for ws in self._clients if ws.state is State.OPEN)

    def subscribers(self) -> int:
        """Open connections holding at least one accepted subscription."""
        return sum(
            1 for ws, client in self._clients.items()
            if ws.state is State.OPEN and client.subscriptions
        )  # fmt: skip

    async def wait_for_subscribers(self, n: int = 1, timeout: float = 5) -> None:  # noqa: ASYNC109
        """Until ``n`` open connections have subscribed (e.g. after a reconnect)."""
        async with asyncio.timeout(timeout):
            while True:
                self._subscribed.clear()
                if self.subscribers() >= n:
                    return
                await self._subscribed.wait()

    # ---- failure switches ---------------------------------------------------------------------

    def go_silent(self, silent: bool = True) -> None:
        """Keep sockets open but send nothing and ignore PINGs (the real server's stall)."""
        self.silent = silent

    def refuse_connections(self, refuse: bool) -> None:
        """While set, handshakes get HTTP 503 (as during an upstream outage)."""
        self.refusing = refuse

    async def drop_all(self) -> None:
        """Abort every connection's TCP transport: no close frame, the client sees 1006."""
        clients = list(self._clients)
        for ws in clients:
            ws.transport.abort()
        deadline = asyncio.get_running_loop().time() + 2.0
        while any(ws in self._clients for ws in clients):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.005)

    # ---- sending ------------------------------------------------------------------------------

    def make_payload(
        self,
        *,
        wallet: str,
        size: float = 10.0,
        price: float = 0.5,
        side: str = "BUY",
        asset: str | None = None,
        condition_id: str | None = None,
        tx: str | None = None,
        timestamp: float | None = None,
        name: str = "trader",
        title: str = "Will it rain?",
        slug: str = "will-it-rain",
        event_slug: str = "rain",
        outcome: str = "Yes",
    ) -> dict[str, Any]:
        """A trade payload with every field the real one has (fixture rtds_trade_message.json)."""
        rng = self._rng
        lowered = wallet.lower()
        pseudo_seed = int(hashlib.blake2b(lowered.encode(), digest_size=4).hexdigest(), 16)
        pseudonym = (
            f"{_PSEUDO_FIRST[pseudo_seed % len(_PSEUDO_FIRST)]}-"
            f"{_PSEUDO_SECOND[pseudo_seed // 7 % len(_PSEUDO_SECOND)]}"
        )
        return {
            "asset": asset if asset is not None else str(rng.randrange(10**75, 10**77)),
            "bio": "",
            "conditionId": condition_id if condition_id is not None else _hex(rng, 32),
            "eventSlug": event_slug,
            "icon": f"https://polymarket-upload.s3.us-east-2.amazonaws.com/{slug}.png",
            "name": name,
            "outcome": outcome,
            "outcomeIndex": 1 if outcome.lower() == "no" else 0,
            "price": price,
            "profileImage": "",
            "proxyWallet": mixed_case(wallet),
            "pseudonym": pseudonym,
            "side": side,
            "size": size,
            "slug": slug,
            "timestamp": int(time.time() if timestamp is None else timestamp),
            "title": title,
            "transactionHash": tx if tx is not None else _hex(rng, 32),
        }

    async def push(self, payload: dict[str, Any], *, type_: str = "trades") -> int:
        """Send one activity frame to every matching subscriber; how many got it."""
        return await self.push_topic("activity", type_, payload)

    async def push_topic(self, topic: str, type_: str, payload: dict[str, Any]) -> int:
        """Any topic's frame (e.g. ``crypto_prices``/``update``) to its subscribers."""
        if self.silent:
            return 0
        timestamp = int(time.time() * 1000)
        sent = 0
        for ws, client in list(self._clients.items()):
            if ws.state is not State.OPEN:
                continue
            if not any(sub.matches(topic, type_, payload) for sub in client.subscriptions):
                continue
            frame = json.dumps(
                {
                    "connection_id": client.connection_id,
                    "payload": payload,
                    "timestamp": timestamp,
                    "topic": topic,
                    "type": type_,
                },
                separators=(",", ":"),
            )
            with contextlib.suppress(ConnectionClosed):
                await ws.send(frame)
                sent += 1
        return sent

    async def push_raw(self, frame: str | bytes) -> None:
        """A frame as is (junk: ``""``, ``"not json"``, binary...) to every open connection."""
        if self.silent:
            return
        for ws in list(self._clients):
            if ws.state is State.OPEN:
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(frame)

    # ---- server side --------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.refusing:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable\n")
        if urlsplit(request.path).path not in ("", "/"):
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        connection_id = base64.urlsafe_b64encode(self._rng.randbytes(13)).decode()
        client = _Client(ws, connection_id)
        self._clients[ws] = client
        self.total_connections += 1
        try:
            async for message in ws:
                if isinstance(message, str) and message in PING_REPLIES:
                    self.pings += 1
                    if not self.silent:
                        await ws.send(PING_REPLIES[message])
                    continue
                await self._control(client, message)
        except ConnectionClosed:
            pass
        finally:
            del self._clients[ws]

    async def _control(self, client: _Client, message: str | bytes) -> None:
        """Subscribe/unsubscribe (recorded even while silent); anything else is ignored."""
        try:
            body = json.loads(message)
        except ValueError:
            return
        if not isinstance(body, dict) or not isinstance(body.get("subscriptions"), list):
            return
        action = body.get("action")
        if action == "subscribe":
            self.subscriptions.append(body)
        for entry in body["subscriptions"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("topic"), str):
                continue
            sub = _Subscription(entry["topic"], str(entry.get("type", "*")), _filters(entry))
            if action == "subscribe":
                if sub.topic in REJECTED_TOPICS:
                    if not self.silent:
                        await client.ws.send(REJECTION_FRAME)
                    continue
                client.subscriptions.append(sub)
                self._subscribed.set()
            elif action == "unsubscribe":
                client.subscriptions = [
                    s for s in client.subscriptions if (s.topic, s.type) != (sub.topic, sub.type)
                ]


def _filters(entry: dict[str, Any]) -> dict[str, Any] | None:
    raw = entry.get("filters")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _hex(rng: random.Random, nbytes: int) -> str:
    return "0x" + rng.randbytes(nbytes).hex()

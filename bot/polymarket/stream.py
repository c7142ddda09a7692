"""Client of Polymarket's real-time data socket (RTDS): every trade on the platform, live.

Why it is built this way (a captured frame is in tests/fixtures/polymarket/rtds_trade_message.json):

* RTDS has no per-wallet filter, so the bot receives every fill on the platform (tens per
  second, bursts far above that) and filters client-side. The hot path therefore parses the
  JSON once, reads only ``proxyWallet``, ``size`` and ``price``, and builds a full ``Trade``
  only for the few frames the caller ``wants``.
* The server is known to stall: after some minutes without application-level keepalive it stops
  sending while keeping the socket open, and subscriptions can lapse. So the client sends a
  text ``PING`` every few seconds and a watchdog replaces a socket that has been silent too
  long; every (re)connect re-subscribes and calls ``on_connect`` so the caller can backfill
  the gap from the Data API.
* ``proxyWallet`` arrives in EIP-55 mixed case while everything else in the bot is lowercase,
  hence the ``.lower()`` before ``wants`` (``Trade.from_api`` lowercases too).
* Junk frames happen (an empty first frame, ``PONG`` text, error bodies for dead topics), so
  nothing here trusts a frame's shape; junk is skipped and counted, never raised.

Nothing here knows about Discord: the caller supplies ``on_trade`` (awaited, which gives
back-pressure: the socket is not read while the consumer is full) and ``wants``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from bot.polymarket.records import RecordError, RecordRejected, Trade, to_float
from bot.polymarket.rejections import Rejections
from bot.workers import Role, WorkerStatus, cancel_and_wait

try:  # orjson parses a trade frame several times faster than the stdlib
    import orjson

    _loads: Callable[[str | bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads

log = logging.getLogger(__name__)

TOPIC = "activity"
KEEPALIVE_REPLIES = frozenset({"PONG", "pong", b"PONG", b"pong"})
MPS_WINDOW_SECONDS = 10  # messages_per_second() averages over this many seconds
HEALTHY_CONNECTION_SECONDS = 60.0  # a connection that lived this long resets the backoff
CLOSE_TIMEOUT_SECONDS = 2.0  # a stalled server may never answer our close frame
OPEN_TIMEOUT_SECONDS = 10.0
MAX_QUEUED_FRAMES = 256  # frames websockets buffers before it stops reading the socket

# Frames that fail to decode raise one of these (orjson: JSONDecodeError, a ValueError;
# stdlib on bytes: UnicodeDecodeError, also a ValueError; absurd nesting: RecursionError).
_DECODE_ERRORS = (ValueError, TypeError, RecursionError)


@dataclass
class StreamStats:
    """Counters for /admin status; all O(1) to update on the hot path, none grows over time."""

    connected: bool = False
    connected_since: float | None = None
    last_message_at: float | None = None
    messages: int = 0
    trades: int = 0
    matched: int = 0
    junk: int = 0
    rejected: int = 0  # trades with impossible values (also in the shared Rejections)
    reconnects: int = 0
    silent_reconnects: int = 0
    # Ring of per-second message counts: fixed size, so memory stays flat over days.
    _ring_secs: list[int] = field(init=False, repr=False, compare=False, default_factory=list)
    _ring_counts: list[int] = field(init=False, repr=False, compare=False, default_factory=list)
    _sec: int = field(init=False, repr=False, compare=False, default=-1)
    _slot: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        self._ring_secs = [-1] * (MPS_WINDOW_SECONDS + 1)
        self._ring_counts = [0] * (MPS_WINDOW_SECONDS + 1)

    def record_message(self, now: float) -> None:
        """Count one received frame at wall-clock ``now`` (called for every frame)."""
        self.messages += 1
        self.last_message_at = now
        sec = int(now)
        if sec != self._sec:
            self._sec = sec
            self._slot = sec % len(self._ring_secs)
            self._ring_secs[self._slot] = sec
            self._ring_counts[self._slot] = 0
        self._ring_counts[self._slot] += 1

    def messages_per_second(self, now: float | None = None) -> float:
        """Average rate over the last ``MPS_WINDOW_SECONDS`` seconds plus the current one."""
        now = time.time() if now is None else now
        current = int(now)
        oldest = current - MPS_WINDOW_SECONDS
        total = 0
        for sec, count in zip(self._ring_secs, self._ring_counts, strict=True):
            if oldest <= sec <= current:
                total += count
        span = MPS_WINDOW_SECONDS + (now - current)
        return total / span


def _loads_lenient(frame: str | bytes) -> Any:
    """Decode a frame; orjson refuses a lone surrogate escape (``"\\ud83d"``, half an emoji
    in a market title) that the stdlib accepts, so such a frame gets a second, slower try
    instead of being dropped as junk. The parsers clean the text afterwards."""
    try:
        return _loads(frame)
    except _DECODE_ERRORS:
        if _loads is json.loads:
            raise
        return json.loads(frame)


def _payload_of(frame: str | bytes) -> dict[str, Any] | None:
    """The ``payload`` object of an RTDS frame, or None when the frame has none (junk)."""
    try:
        message = _loads_lenient(frame)
    except _DECODE_ERRORS:
        return None
    if type(message) is not dict:
        return None
    payload = message.get("payload")
    return payload if type(payload) is dict else None


def parse_frame(frame: str | bytes) -> Trade | None:
    """The trade a frame carries, or None for anything else (keepalive, junk, other topics).

    This is the unfiltered, convenience form; the stream itself uses the cheaper
    filter-first path in ``TradeStream.process_frame``.
    """
    if frame in KEEPALIVE_REPLIES:
        return None
    payload = _payload_of(frame)
    if payload is None:
        return None
    try:
        return Trade.from_api(payload)
    except RecordError:
        return None


class TradeStream:
    """Keeps one subscribed RTDS connection alive for as long as it runs, and feeds trades out.

    ``wants(wallet_lowercase, usd)`` must be O(1): it runs for every trade on the platform.
    ``on_trade`` is awaited, so a slow consumer slows reading (websockets then stops reading
    the TCP socket) instead of losing trades. ``on_connect`` runs as a separate task after
    every successful subscribe so a backfill never blocks reading the live socket.
    The PONG answers are the frames a quiet socket still gets, so ``silence_timeout`` must be
    several ``ping_interval``s long or a healthy but quiet connection would be replaced.
    """

    def __init__(
        self,
        url: str,
        on_trade: Callable[[Trade], Awaitable[None]],
        wants: Callable[[str, float], bool],
        *,
        ping_interval: float = 5.0,
        silence_timeout: float = 20.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        on_connect: Callable[[], Awaitable[object]] | None = None,
        types: tuple[str, ...] = ("trades", "orders_matched"),
        rejections: Rejections | None = None,
    ) -> None:
        self.url = url
        self._on_trade = on_trade
        self._wants = wants
        self._on_connect = on_connect
        self.ping_interval = ping_interval
        self.silence_timeout = silence_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.types = types
        self._rejections = rejections
        self.stats = StreamStats()
        self._task: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()  # on_connect runs; bounded by reconnects
        # Watchdog state: wall-clock of the last frame (or of the end of a slow on_trade), and
        # whether the reader is inside on_trade (then silence is ours, not the server's).
        self._last_activity = 0.0
        self._busy = False
        self._went_silent = False
        self._rng = random.Random()

    # ---- lifecycle ----------------------------------------------------------------------------

    name = "trade-stream"
    role = Role.LEADER

    async def start(self) -> None:
        """Run in the background until ``stop``; a second call while running is a no-op."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="rtds-stream")

    async def stop(self) -> None:
        """Cancel the reader (its ``async with`` closes the socket with a close frame)."""
        task, self._task = self._task, None
        for t in (task, *self._side_tasks):
            await cancel_and_wait(t)
        self._side_tasks.clear()
        self.stats.connected = False
        self.stats.connected_since = None

    def status(self) -> WorkerStatus:
        state = "connected" if self.stats.connected else "disconnected"
        return WorkerStatus(self.name, self.role, self._task is not None, f"{state} to {self.url}")

    async def run(self) -> None:
        """Connect, subscribe, read; on any failure reconnect with backoff. Never returns.

        Only ``CancelledError`` leaves this coroutine: the bot must keep streaming through
        network errors, refused handshakes, server restarts and stalls.
        """
        attempt = 0
        while True:
            started = time.monotonic()
            self._went_silent = False
            got_trades = self.stats.trades
            try:
                reason = await self._connect_and_read()
            except asyncio.CancelledError:
                raise
            except InvalidStatus as exc:
                reason = f"handshake refused: HTTP {exc.response.status_code}"
            except ConnectionClosed as exc:
                reason = _describe_close(exc)
            except (OSError, TimeoutError, WebSocketException) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except Exception as exc:  # a bug must not end the stream; say so loudly
                log.exception("RTDS stream failed unexpectedly")
                reason = f"unexpected {type(exc).__name__}: {exc}"
            finally:
                self.stats.connected = False
                self.stats.connected_since = None
            healthy = (
                time.monotonic() - started >= HEALTHY_CONNECTION_SECONDS
                or self.stats.trades > got_trades
            )
            if healthy:
                attempt = 0
            delay = self.backoff_delay(attempt)
            attempt += 1
            self.stats.reconnects += 1
            if self._went_silent:
                self.stats.silent_reconnects += 1
            log.warning(
                "RTDS stream %s; reconnecting in %.2f s (attempt %d)", reason, delay, attempt
            )
            await asyncio.sleep(delay)

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter: spreads reconnects of many bots after an outage."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(attempt, 32))
        return self._rng.uniform(0.0, ceiling)

    # ---- one connection -----------------------------------------------------------------------

    async def _connect_and_read(self) -> str:
        """One connection's life; returns why it ended (or raises what ended it)."""
        async with connect(
            self.url,
            open_timeout=OPEN_TIMEOUT_SECONDS,
            close_timeout=CLOSE_TIMEOUT_SECONDS,
            ping_interval=None,  # RTDS wants application-level PING text; the watchdog does more
            max_queue=MAX_QUEUED_FRAMES,
        ) as ws:
            await ws.send(self.subscribe_message())
            now = time.time()
            self.stats.connected = True
            self.stats.connected_since = now
            self._last_activity = now
            self._busy = False
            log.info("RTDS connected to %s (activity: %s)", self.url, ", ".join(self.types))
            if self._on_connect is not None:
                self._spawn_on_connect(self._on_connect)
            helpers = [
                asyncio.create_task(self._ping_loop(ws), name="rtds-ping"),
                asyncio.create_task(self._watchdog(ws), name="rtds-watchdog"),
            ]
            try:
                await self._read_loop(ws)
            except ConnectionClosed as exc:
                if self._went_silent:
                    return f"silent for {self.silence_timeout:g} s"
                return _describe_close(exc)
            finally:
                for helper in helpers:
                    await cancel_and_wait(helper)
        return "closed"  # pragma: no cover - the read loop only ends by raising

    def subscribe_message(self) -> str:
        subscriptions = [{"topic": TOPIC, "type": kind} for kind in self.types]
        return json.dumps({"action": "subscribe", "subscriptions": subscriptions})

    def _spawn_on_connect(self, on_connect: Callable[[], Awaitable[object]]) -> None:
        async def call() -> None:
            try:
                await on_connect()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("RTDS on_connect callback failed")

        task = asyncio.get_running_loop().create_task(call(), name="rtds-on-connect")
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _read_loop(self, ws: ClientConnection) -> None:
        """Hot loop: one frame at a time; ``on_trade`` is awaited for back-pressure."""
        process = self.process_frame
        on_trade = self._on_trade
        while True:
            frame = await ws.recv()
            try:
                trade = process(frame)
            except Exception:  # e.g. a bug in ``wants``: skip the frame, keep the connection
                self.stats.junk += 1
                log.exception("RTDS frame processing failed")
                continue
            if trade is None:
                continue
            self._busy = True
            try:
                await on_trade(trade)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("RTDS on_trade failed for trade %s", trade.key)
            finally:
                self._busy = False
                self._last_activity = time.time()

    def process_frame(self, frame: str | bytes) -> Trade | None:
        """Count one frame and return its trade when ``wants`` it (the per-frame hot path)."""
        stats = self.stats
        now = time.time()
        stats.record_message(now)
        self._last_activity = now
        if len(frame) == 4 and frame in KEEPALIVE_REPLIES:
            return None
        try:
            message = _loads_lenient(frame)
            payload = message.get("payload") if type(message) is dict else None
            if type(payload) is not dict:
                stats.junk += 1
                return None
            wallet = payload.get("proxyWallet") or payload.get("proxy_wallet")
            size = payload.get("size")
            price = payload.get("price")
            if type(size) is not float:
                size = to_float(size)
            if type(price) is not float:
                price = to_float(price)
            usd = size * price
            if type(wallet) is not str or len(wallet) != 42 or not usd > 0.0:
                stats.junk += 1
                return None
            stats.trades += 1
            if not self._wants(wallet.lower(), usd):
                return None
            trade = Trade.from_api(payload)
        except RecordRejected as exc:  # an impossible price, size or time: counted apart
            stats.rejected += 1
            if self._rejections is not None:
                self._rejections.add(exc.kind, "RTDS", str(exc))
            return None
        except _DECODE_ERRORS:  # RecordError is a ValueError too
            stats.junk += 1
            return None
        stats.matched += 1
        return trade

    async def _ping_loop(self, ws: ClientConnection) -> None:
        """Text ``PING`` now and every ``ping_interval``: RTDS stalls without it (§4)."""
        try:
            while True:
                await ws.send("PING")
                await asyncio.sleep(self.ping_interval)
        except ConnectionClosed:
            return

    async def _watchdog(self, ws: ClientConnection) -> None:
        """Close a socket that sent nothing for ``silence_timeout`` (time in on_trade excluded)."""
        check_every = max(min(self.silence_timeout / 4.0, 1.0), 0.01)
        while True:
            await asyncio.sleep(check_every)
            if self._busy:
                continue
            quiet = time.time() - self._last_activity
            if quiet >= self.silence_timeout:
                self._went_silent = True
                await ws.close(1000, "silent")
                return


def _describe_close(exc: ConnectionClosed) -> str:
    close = exc.rcvd or exc.sent
    if close is None:
        return "connection lost (no close frame)"
    reason = f" {close.reason!r}" if close.reason else ""
    return f"closed by {'server' if exc.rcvd else 'client'}: code {close.code}{reason}"

"""Alert delivery: exactly once per (trade, channel), paced under Discord's limits.

Deliveries are rows written together with their trade. A per-channel worker composes them into
an outbox message (up to 10 cards, a burst of one trader's fills merged into one card), records
it, then sends it with the message's nonce; Discord's ``enforce_nonce`` turns a resend after a
crash into a no-op. Only a confirmed send marks the rows SENT, so nothing is lost either. A
channel that is gone or forbidden disables its follows instead of retrying forever.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import asyncpg
from aiolimiter import AsyncLimiter

from bot.trades.cards import MAX_CARDS, AlertCard, compose, nonce_for
from bot.trades.follows import FollowService
from bot.trades.models import Delivery
from bot.workers import Role, WorkerStatus
from db import trade_queries as queries

log = logging.getLogger(__name__)

FETCH_LIMIT = 200


class ChannelUnavailable(Exception):
    """The channel is gone or the bot may not post there: retrying cannot help."""


class MessageRejected(Exception):
    """Discord refused this one message for good (a 4xx other than 429): retrying it would
    block the channel's queue forever, so it is marked failed and the next one goes."""


class AlertSender(Protocol):
    async def send(
        self,
        channel_id: int,
        nonce: str,
        cards: Sequence[AlertCard],
        before_post: Callable[[], Awaitable[None]],
    ) -> int:
        """Post the cards as one message; returns its id. Raises ChannelUnavailable.

        ``before_post`` is awaited right before the HTTP request: it holds the global pacing
        slot, so slow preparation (price lookups) cannot bunch requests together."""
        ...


@dataclass
class DeliveryStats:
    sent_messages: int = 0
    sent_alerts: int = 0
    failed_alerts: int = 0
    send_errors: int = 0
    channels_disabled: int = 0


class AlertDispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        follows: FollowService,
        sender: AlertSender,
        *,
        # Discord: 5 messages per 5 s per channel and 50 requests/s in all. Buckets of one
        # message refilling at 0.8/s, and of 8 refilling at 40/s, never burst past either.
        channel_rate: tuple[float, float] = (1, 1.25),
        global_rate: tuple[float, float] = (8, 0.2),
        retry_base: float = 1.0,
        retry_cap: float = 60.0,
        on_sent: Callable[[Sequence[Delivery]], None] = lambda rows: None,
    ) -> None:
        """``on_sent`` sees the deliveries of each confirmed send (the metrics' latency)."""
        self._on_sent = on_sent
        self._pool = pool
        self._follows = follows
        self._sender = sender
        self._channel_rate = channel_rate
        self._global = AsyncLimiter(*global_rate)
        self._channel_limiters: dict[int, AsyncLimiter] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._dirty: set[int] = set()
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._closed = False
        self.stats = DeliveryStats()

    name = "alert-dispatcher"
    role = Role.LEADER

    def status(self) -> WorkerStatus:
        return WorkerStatus(
            self.name, self.role, not self._closed, f"{self.active_channels} channels sending"
        )

    async def start(self) -> None:
        """Resume what a previous run left pending (composed messages first)."""
        self._closed = False
        async with self._pool.acquire() as conn:
            channels = await queries.channels_with_work(conn)
        if channels:
            log.info("resuming pending alerts in %d channels", len(channels))
        self.notify(set(channels))

    def notify(self, channel_ids: set[int]) -> None:
        """New deliveries exist for these channels: make sure a worker will pick them up."""
        if self._closed:
            return
        for channel_id in channel_ids:
            self._dirty.add(channel_id)
            worker = self._workers.get(channel_id)
            if worker is None or worker.done():
                self._workers[channel_id] = asyncio.get_running_loop().create_task(
                    self._work(channel_id), name=f"alerts-{channel_id}"
                )

    @property
    def active_channels(self) -> int:
        return sum(1 for w in self._workers.values() if not w.done())

    async def stop(self) -> None:
        """Cancel the channel workers: a message being sent is resent (same nonce) next start."""
        self._closed = True
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()

    async def _work(self, channel_id: int) -> None:
        failures = 0
        while channel_id in self._dirty:
            self._dirty.discard(channel_id)
            try:
                while await self._deliver_one(channel_id):
                    failures = 0
            except ChannelUnavailable as exc:
                try:
                    await self._give_up_channel(channel_id, str(exc))
                    return
                except Exception:  # database trouble: keep the channel's alerts for a retry
                    log.exception("could not disable channel %s; retrying", channel_id)
                    self._dirty.add(channel_id)
                    await asyncio.sleep(self._retry_base)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Discord 5xx, network, database: try again later
                failures += 1
                self.stats.send_errors += 1
                delay = min(self._retry_cap, self._retry_base * 2 ** min(failures, 8))
                delay *= 0.5 + random.random() / 2
                log.warning("alerts for channel %s: %s; retry in %.1fs", channel_id, exc, delay)
                self._dirty.add(channel_id)
                await asyncio.sleep(delay)
        self._workers.pop(channel_id, None)

    async def _deliver_one(self, channel_id: int) -> bool:
        """Send the oldest composed message, or compose and send the next one.

        The channel's slot is awaited before composing, so fills arriving meanwhile join this
        message instead of waiting for the next slot."""
        async with self._pool.acquire() as conn:
            pending = await queries.pending_message(conn, channel_id)
            if pending is None and not await queries.unassigned_deliveries(conn, channel_id, 1):
                return False
        await self._channel_limiter(channel_id).acquire()
        async with self._pool.acquire() as conn:
            if pending is not None:
                message_id, nonce = pending.id, pending.nonce
                rows = await queries.message_deliveries(conn, message_id)
            else:
                rows = _first_cards_rows(
                    await queries.unassigned_deliveries(conn, channel_id, FETCH_LIMIT)
                )
                keys = [row.trade.key for row in rows]
                nonce = nonce_for(channel_id, keys)
                message_id = await queries.create_message(conn, channel_id, nonce, keys)
                # what the message really holds: another sender (a stale leader) may have
                # taken some of these rows between our read and our update
                rows = await queries.message_deliveries(conn, message_id)
        cards = compose(rows)
        if not cards:  # its trades were pruned: nothing left to say
            async with self._pool.acquire() as conn:
                await queries.mark_sent(conn, message_id, 0)
            return True
        try:
            discord_id = await self._sender.send(
                channel_id, nonce, cards, before_post=self._global.acquire
            )
        except ChannelUnavailable:
            raise
        except MessageRejected as exc:
            log.error("Discord rejected alert message %s: %s", message_id, exc)
            async with self._pool.acquire() as conn:
                self.stats.failed_alerts += await queries.fail_message(conn, message_id, str(exc))
            return True
        except Exception as exc:
            async with self._pool.acquire() as conn:
                await queries.mark_attempt_failed(conn, message_id, f"{type(exc).__name__}: {exc}")
            raise
        async with self._pool.acquire() as conn:
            await queries.mark_sent(conn, message_id, discord_id)
        self.stats.sent_messages += 1
        self.stats.sent_alerts += len(rows)
        self._on_sent(rows)
        return True

    def _channel_limiter(self, channel_id: int) -> AsyncLimiter:
        limiter = self._channel_limiters.get(channel_id)
        if limiter is None:
            limiter = self._channel_limiters[channel_id] = AsyncLimiter(*self._channel_rate)
        return limiter

    async def _give_up_channel(self, channel_id: int, reason: str) -> None:
        async with self._pool.acquire() as conn:
            failed = await queries.fail_channel(conn, channel_id, reason)
        await self._follows.disable_channel(channel_id, reason)
        self.stats.failed_alerts += failed
        self.stats.channels_disabled += 1
        self._workers.pop(channel_id, None)

    async def pending_counts(self) -> dict[str, int]:
        async with self._pool.acquire() as conn:
            return await queries.delivery_counts(conn)


def _first_cards_rows(rows: Sequence[Delivery]) -> list[Delivery]:
    """The deliveries that make up the first MAX_CARDS cards, so one message holds whole cards."""
    cards = compose(rows)
    keep = {t.key for card in cards[:MAX_CARDS] for t in card.trades}
    return [row for row in rows if row.trade.key in keep]

"""Alert delivery: exactly once per (trade, channel), at once when Discord has room, fair.

Deliveries are rows written together with their trade. A per-channel worker composes them into
an outbox message (a burst of one trader's fills merged into one card, whole cards packed within
Discord's size limits), records it, then sends it with the message's nonce; Discord's
``enforce_nonce`` turns a resend after a crash into a no-op, and a resend after Discord forgot
the nonce first looks for the message in the channel. Only a confirmed send marks the rows SENT
(the id is kept in memory while PostgreSQL is away), so nothing is lost either.

No wait without a reason: a message goes the moment its channel has room (Discord's bucket; two
at once, then the channel's sustained rate: bot/trades/pacing.py) and the global budget does;
alerts merge only when they had to wait. The global budget is a fair gate
(bot/trades/gate.py), so a big fan-out never holds up an unrelated alert.

One bad card never blocks a channel: a card that cannot be rendered, or that Discord refuses on
its own, is set aside FAILED with the reason; a refused message is split until only the bad card
is left. A channel that is gone or forbidden disables its follows instead of retrying forever.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg

from bot.trades.cards import MAX_CARDS, AlertCard, compose, nonce_for
from bot.trades.follows import FollowService
from bot.trades.gate import FairGate
from bot.trades.models import FailedAlert, PendingMessage
from bot.trades.pacing import BucketHeaders, ChannelBucket
from bot.trades.sending import (
    MESSAGE_CHARACTERS,
    AlertSender,
    ChannelUnavailable,
    MessageRejected,
    Prepared,
    Rejected,
    fit_message,
)
from bot.workers import Role, WorkerStatus
from db import trade_queries as queries

__all__ = ["AlertDispatcher", "AlertSender", "ChannelUnavailable", "MessageRejected"]

log = logging.getLogger(__name__)

FETCH_LIMIT = 200
DISCORD_GLOBAL_LIMIT = 50  # requests per second for a bot, unless Discord raised it
GLOBAL_SHARE = 0.96  # of it for alert posts: close to the limit, never over it
NONCE_TRUST_SECONDS = 60.0  # Discord honours enforce_nonce "in the past few minutes"


@dataclass
class DeliveryStats:
    sent_messages: int = 0
    sent_alerts: int = 0
    failed_alerts: int = 0
    send_errors: int = 0
    channels_disabled: int = 0
    bucket_waits: int = 0  # messages that waited for their channel's bucket
    split_messages: int = 0  # messages Discord refused, split to isolate the bad card
    found_posted: int = 0  # resends avoided: the message was already in the channel
    remembered: int = 0  # sends recorded late, from memory, after PostgreSQL came back


@dataclass(frozen=True)
class _Remembered:
    message_id: int
    discord_id: int
    alerts: int


class AlertDispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        follows: FollowService,
        sender: AlertSender,
        *,
        global_rate: float = DISCORD_GLOBAL_LIMIT * GLOBAL_SHARE,
        channel_limit: int = 5,
        channel_period: float = 5.0,
        retry_base: float = 1.0,
        retry_cap: float = 60.0,
        on_sent: Callable[[Sequence[AlertCard]], None] = lambda cards: None,
        nonce_trust: float = NONCE_TRUST_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """``on_sent`` sees the cards of each confirmed send (the metrics' latency)."""
        self._on_sent = on_sent
        self._pool = pool
        self._follows = follows
        self._sender = sender
        self._gate = FairGate(global_rate, clock=clock)
        self._channel_limit = channel_limit
        self._channel_period = channel_period
        self._buckets: dict[int, ChannelBucket] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._dirty: set[int] = set()
        self._remembered: dict[int, _Remembered] = {}  # channel -> a send PostgreSQL missed
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._nonce_trust = nonce_trust
        self._clock = clock
        self._wall = wall_clock
        self._closed = False
        self.stats = DeliveryStats()

    name = "alert-dispatcher"
    role = Role.LEADER

    def status(self) -> WorkerStatus:
        detail = (
            f"{self.active_channels} channels sending · {self._gate.waiting()} waiting for the"
            f" global budget ({self._gate.rate:g}/s)"
        )
        if self._remembered:
            detail += f" · {len(self._remembered)} sends awaiting PostgreSQL"
        return WorkerStatus(self.name, self.role, not self._closed, detail)

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
        loop = asyncio.get_running_loop()
        for channel_id in channel_ids:
            self._dirty.add(channel_id)
            worker = self._workers.get(channel_id)
            if worker is None or worker.done():
                self._workers[channel_id] = loop.create_task(
                    self._work(channel_id), name=f"alerts-{channel_id}"
                )

    def observe_bucket(self, channel_id: int, headers: BucketHeaders) -> None:
        """Discord's rate-limit headers from a post in this channel (see bot/alert_sender.py)."""
        self._bucket(channel_id).observe(headers, self._clock())

    def global_limited(self, retry_after: float) -> None:
        """Discord answered a global 429: no post until it is over."""
        self._gate.pause(retry_after)

    @property
    def global_waits(self) -> int:
        """Posts that waited for a slot of the global budget (never a 429: a slot not free)."""
        return self._gate.waited

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
        await self._gate.close()

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
        """Record a send PostgreSQL missed, resume the oldest composed message, or compose and
        send the next one; False when the channel has nothing left to do.

        The channel's bucket is awaited before composing, so fills arriving meanwhile join this
        message instead of waiting for the next one."""
        if await self._record_remembered(channel_id):
            return True
        async with self._pool.acquire() as conn:
            pending, unassigned = await queries.channel_work(conn, channel_id)
        if pending is None and not unassigned:
            return False
        await self._wait_for_bucket(self._bucket(channel_id))
        if pending is not None:
            await self._resume(channel_id, pending)
        else:
            await self._compose_and_send(channel_id)
        return True

    async def _wait_for_bucket(self, bucket: ChannelBucket) -> None:
        waited = False
        while (wait := bucket.wait(self._clock())) > 0:
            if not waited:
                self.stats.bucket_waits += 1
                waited = True
            await asyncio.sleep(wait)

    async def _compose_and_send(self, channel_id: int) -> None:
        async with self._pool.acquire() as conn:
            rows = await queries.unassigned_deliveries(conn, channel_id, FETCH_LIMIT)
        ready = fit_message(await self._prepare(channel_id, compose(rows)[:MAX_CARDS]))
        if not ready:
            return
        keys = _keys(ready)
        nonce = nonce_for(channel_id, keys)
        async with self._pool.acquire() as conn:
            message_id, taken = await queries.create_message(conn, channel_id, nonce, keys)
        if taken != set(keys):  # another process composed some of them meanwhile
            log.warning(
                "message %s took %d of %d alerts; composing again",
                message_id,
                len(taken),
                len(keys),
            )
            async with self._pool.acquire() as conn:
                await queries.release_message(conn, message_id, "composed by another process")
            return
        await self._post(channel_id, message_id, nonce, ready)

    async def _resume(self, channel_id: int, pending: PendingMessage) -> None:
        """A composed message not confirmed sent: same cards, same nonce. When Discord may have
        forgotten the nonce, look for the message in the channel before posting it again."""
        async with self._pool.acquire() as conn:
            rows = await queries.message_deliveries(conn, pending.id)
        cards = compose(rows)
        if not cards:  # its trades were pruned or set aside: nothing left to say
            async with self._pool.acquire() as conn:
                await queries.mark_sent(conn, pending.id, 0)
            return
        if self._wall() - pending.created_at > self._nonce_trust:
            txs = {t.transaction_hash for card in cards for t in card.trades}
            since = pending.created_at - 5.0
            found = await self._sender.find_posted(channel_id, pending.nonce, txs, since)
            if found is not None:
                log.info("alert message %s was already posted (%s)", pending.id, found)
                self.stats.found_posted += 1
                await self._record_sent(channel_id, pending.id, found, cards)
                return
        ready = await self._prepare(channel_id, cards)
        if not ready:  # every card was set aside: the message has nothing to post
            async with self._pool.acquire() as conn:
                await queries.fail_message(conn, pending.id, "every card was set aside")
            return
        await self._post(channel_id, pending.id, pending.nonce, ready)

    async def _prepare(self, channel_id: int, cards: Sequence[AlertCard]) -> list[Prepared]:
        """Render the cards; set aside (FAILED, with the reason) any that cannot be posted."""
        results = await self._prepare_each(channel_id, cards)
        rejected = [r for r in results if isinstance(r, Rejected)]
        ready = [r for r in results if isinstance(r, Prepared)]
        too_big = [p for p in ready if p.size > MESSAGE_CHARACTERS]
        rejected += [Rejected(p.card, f"card too large ({p.size:,} characters)") for p in too_big]
        if rejected:
            await self._set_aside(channel_id, rejected)
        return [p for p in ready if p.size <= MESSAGE_CHARACTERS]

    async def _prepare_each(
        self, channel_id: int, cards: Sequence[AlertCard]
    ) -> list[Prepared | Rejected]:
        """The sender renders each card apart; should it fail as a whole anyway, each card is
        tried alone, so the one that fails is the only one set aside."""
        if not cards:
            return []
        try:
            return await self._sender.prepare(channel_id, cards)
        except Exception:
            if len(cards) == 1:
                log.exception("alert card %s cannot be rendered", cards[0].first.key)
                return [Rejected(cards[0], "the card could not be rendered")]
        results: list[Prepared | Rejected] = []
        for card in cards:
            results += await self._prepare_each(channel_id, [card])
        return results

    async def _set_aside(self, channel_id: int, rejected: Sequence[Rejected]) -> None:
        async with self._pool.acquire() as conn:
            for item in rejected:
                keys = [t.key for t in item.card.trades]
                failed = await queries.fail_deliveries(conn, channel_id, keys, item.reason)
                self.stats.failed_alerts += failed
                log.error(
                    "alert of trade %s in channel %s set aside: %s",
                    item.card.first.key,
                    channel_id,
                    item.reason,
                )

    async def _post(
        self,
        channel_id: int,
        message_id: int,
        nonce: str,
        ready: Sequence[Prepared],
    ) -> None:
        bucket = self._bucket(channel_id)
        flow = ready[0].card.first.key
        priority = 0 if any(p.card.kind == "follow" for p in ready) else 1

        async def before_post() -> None:
            await self._gate.acquire(flow, priority)
            bucket.posting(self._clock())

        try:
            discord_id = await self._sender.send(channel_id, nonce, ready, before_post)
        except ChannelUnavailable:
            raise
        except MessageRejected as exc:
            await self._refused(channel_id, message_id, ready, str(exc))
            return
        except Exception as exc:
            async with self._pool.acquire() as conn:
                await queries.mark_attempt_failed(conn, message_id, f"{type(exc).__name__}: {exc}")
            raise
        await self._record_sent(channel_id, message_id, discord_id, [p.card for p in ready])

    async def _refused(
        self, channel_id: int, message_id: int, ready: Sequence[Prepared], reason: str
    ) -> None:
        """Discord refused the message (nothing was posted). One card: set it aside. Several:
        split the message in two, so the good cards go out and the bad one ends up alone."""
        if len(ready) == 1:
            log.error("Discord refused alert message %s: %s", message_id, reason)
            async with self._pool.acquire() as conn:
                self.stats.failed_alerts += await queries.fail_message(conn, message_id, reason)
            return
        half = (len(ready) + 1) // 2
        parts = [_keys(ready[:half]), _keys(ready[half:])]
        log.warning("Discord refused alert message %s (%s); splitting it", message_id, reason)
        async with self._pool.acquire() as conn:
            await queries.split_message(
                conn,
                message_id,
                channel_id,
                [(nonce_for(channel_id, keys), keys) for keys in parts],
                f"refused by Discord, split: {reason}",
            )
        self.stats.split_messages += 1

    async def _record_sent(
        self, channel_id: int, message_id: int, discord_id: int, cards: Sequence[AlertCard]
    ) -> None:
        """Mark the message sent; while PostgreSQL cannot take it, keep the id in memory so the
        message is recorded (not posted again) once it can."""
        try:
            async with self._pool.acquire() as conn:
                await queries.mark_sent(conn, message_id, discord_id)
        except Exception:
            alerts = sum(len(card.trades) for card in cards)
            self._remembered[channel_id] = _Remembered(message_id, discord_id, alerts)
            raise
        self.stats.sent_messages += 1
        self.stats.sent_alerts += sum(len(card.trades) for card in cards)
        self._on_sent(cards)

    async def _record_remembered(self, channel_id: int) -> bool:
        remembered = self._remembered.get(channel_id)
        if remembered is None:
            return False
        async with self._pool.acquire() as conn:
            await queries.mark_sent(conn, remembered.message_id, remembered.discord_id)
        del self._remembered[channel_id]
        self.stats.remembered += 1
        self.stats.sent_messages += 1
        self.stats.sent_alerts += remembered.alerts
        return True

    def _bucket(self, channel_id: int) -> ChannelBucket:
        bucket = self._buckets.get(channel_id)
        if bucket is None:
            bucket = ChannelBucket(self._channel_limit, self._channel_period)
            self._buckets[channel_id] = bucket
        return bucket

    async def _give_up_channel(self, channel_id: int, reason: str) -> None:
        async with self._pool.acquire() as conn:
            failed = await queries.fail_channel(conn, channel_id, reason)
        await self._follows.disable_channel(channel_id, reason)
        self.stats.failed_alerts += failed
        self.stats.channels_disabled += 1
        self._workers.pop(channel_id, None)

    async def pending_counts(self) -> dict[str, int]:
        """Pending alerts, and those sent and failed over the last day."""
        async with self._pool.acquire() as conn:
            return await queries.delivery_counts(conn)

    async def recent_failures(self, limit: int = 3) -> list[FailedAlert]:
        async with self._pool.acquire() as conn:
            return await queries.recent_failures(conn, limit)


def _keys(cards: Sequence[Prepared]) -> list[str]:
    return [t.key for p in cards for t in p.card.trades]

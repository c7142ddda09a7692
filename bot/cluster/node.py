"""This process's part in the cluster, built in one place: election, event bridge, heartbeat,
cache reloads, trader invalidations and the admin-refresh relay.

The application hands in what they act on (its pool, bus and identity; how to start and stop
the leader's workers; how each cache is reloaded; how to run a refresh) and registers
:meth:`ClusterNode.workers` with the rest. Without a DSN (a test or benchmark that hands in only
a pool) the process leads alone and there is no bridge.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from bot.admin import RefreshOutcome, RefreshTarget
from bot.cluster.bridge import BridgeStats, EventBridge
from bot.cluster.caches import CacheParts, CacheSync, TraderInvalidations
from bot.cluster.connections import connector
from bot.cluster.election import LeaderElection, SoloLeader
from bot.cluster.membership import Membership
from bot.cluster.models import FOLLOWER, LEADER, Identity
from bot.cluster.refresh import RefreshRelay
from bot.config import Settings
from bot.events import EventBus, LeaderResigned, TradesStored
from bot.workers import Worker
from db import cluster_queries as queries

log = logging.getLogger(__name__)

HELD_RELOADS_SECONDS = 10.0  # start-up waits this long at most for reloads of held events


class ClusterNode:
    def __init__(
        self,
        *,
        settings: Settings,
        pool: asyncpg.Pool,
        bus: EventBus,
        identity: Identity,
        dsn: str | None,
        lead: Callable[[], Awaitable[None]],
        stop_leading: Callable[[], Awaitable[None]],
        caches: CacheParts,
        run_refresh: Callable[[RefreshTarget], Awaitable[RefreshOutcome]],
    ) -> None:
        self.identity = identity
        self._bus = bus
        self._pool = pool
        self._lead = lead
        self._stop_leading = stop_leading
        self.cache_sync = CacheSync(bus, caches)
        self.trader_invalidations = TraderInvalidations(bus)
        self.election: LeaderElection | SoloLeader
        self.bridge: EventBridge | None = None
        if dsn is None:
            self.election = SoloLeader(on_elected=self._elected, on_deposed=self._deposed)
        else:
            connect = connector(dsn)
            self.election = LeaderElection(
                connect,
                on_elected=self._elected,
                on_deposed=self._deposed,
                pool_healthy=self._pool_answers,
                on_resigned=lambda: bus.publish(LeaderResigned()),
                poll_interval=settings.cluster_poll_seconds,
            )
            self.bridge = EventBridge(
                connect, pool, bus, identity.process_id, on_resync=self.cache_sync.full_reload
            )
        self.membership = Membership(pool, identity, self.role, interval=settings.heartbeat_seconds)
        self.refresh_relay = RefreshRelay(
            bus,
            is_leader=self.is_leader,
            run=run_refresh,
            after_finished=self.cache_sync.boards.run,
        )
        bus.subscribe(TradesStored, self._traders_traded)
        bus.subscribe(LeaderResigned, self._leader_resigned)

    def is_leader(self) -> bool:
        return self.election.is_leader

    def role(self) -> str:
        return LEADER if self.election.is_leader else FOLLOWER

    @property
    def bridge_stats(self) -> BridgeStats:
        return self.bridge.stats if self.bridge is not None else BridgeStats()

    async def listen(self) -> None:
        """Start the event bridge (listening when this returns), holding what it hears until
        :meth:`deliver_held`: the application reads its caches in between (see
        bot/cluster/bridge.py). The worker registry's start of the bridge later finds it
        running."""
        if self.bridge is not None:
            self.bridge.hold()
            await self.bridge.start()

    async def deliver_held(self) -> None:
        """The caches are read: deliver what was heard meanwhile, and all that comes after.
        Returns once the reloads those events asked for have run (bounded by
        ``HELD_RELOADS_SECONDS``), so a process that leads from the start acts on a follow or
        copy made elsewhere during its warm from its first trade."""
        if self.bridge is None:
            return
        await self.bridge.release()
        await self._bus.drain()  # the handlers of the held events have asked for their reloads
        try:
            async with asyncio.timeout(HELD_RELOADS_SECONDS):
                await self.cache_sync.caught_up()
        except TimeoutError:
            log.warning("reloads asked for during start-up still running; starting anyway")

    async def close(self) -> None:
        """Stop the bridge if :meth:`listen` started it but the registry never did (a start
        that failed before the workers started); otherwise the registry has stopped it."""
        if self.bridge is not None:
            await self.bridge.stop()

    def leader_workers(self) -> list[Worker]:
        return [self.trader_invalidations]

    def workers(self) -> list[Worker]:
        """Every-process workers in start order; the election last, as it starts the leader's."""
        bridge: list[Worker] = [self.bridge] if self.bridge is not None else []
        return [self.cache_sync, *bridge, self.membership, self.election]

    async def _elected(self) -> None:
        await self._lead()
        self.membership.beat_soon()

    async def _deposed(self) -> None:
        await self._stop_leading()
        self.membership.beat_soon()

    async def _pool_answers(self) -> bool:
        async with self._pool.acquire() as conn:
            await queries.ping(conn)
        return True

    async def _leader_resigned(self, event: LeaderResigned) -> None:
        self.election.campaign_now()

    async def _traders_traded(self, event: TradesStored) -> None:
        """Every distinct wallet of the batch joins the next :class:`TradersChanged` (which
        carries many wallets: one batch, however large, is one flush)."""
        for wallet in event.wallets:
            self.trader_invalidations.add(wallet)

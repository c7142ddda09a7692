"""Server-local names for wallets (``/label``): shown on that server's cards, ``/alerts`` and
trader suggestions. Kept in memory per server (cards are built without a query), PostgreSQL is
the source of truth, and a change is published so every process reloads that server."""

from __future__ import annotations

import logging
import re

import asyncpg

from bot.database import DatabaseGuard
from bot.errors import UserError
from bot.events import EventBus, LabelsChanged
from db import signal_queries as queries

log = logging.getLogger(__name__)

MAX_LABEL = 32
_SPACES = re.compile(r"\s+")


class LabelError(UserError):
    """The name cannot be used as a label; the message says why."""


def clean_label(name: str) -> str:
    """One line of at most MAX_LABEL characters; raises LabelError when it is too long."""
    text = _SPACES.sub(" ", name).strip()
    if len(text) > MAX_LABEL:
        raise LabelError(f"A label is at most {MAX_LABEL} characters; pick a shorter name.")
    return text


class LabelService:
    def __init__(
        self, pool: asyncpg.Pool, bus: EventBus, *, database: DatabaseGuard | None = None
    ) -> None:
        self._pool = pool
        self._bus = bus
        self._db = database or DatabaseGuard()  # commands' writes: bounded
        self._by_guild: dict[int, dict[str, str]] = {}
        bus.subscribe(LabelsChanged, self._on_changed, remote_only=True)

    async def load(self) -> None:
        async with self._pool.acquire() as conn:
            rows = await queries.all_labels(conn)
        by_guild: dict[int, dict[str, str]] = {}
        for guild_id, wallet, name in rows:
            by_guild.setdefault(guild_id, {})[wallet] = name
        self._by_guild = by_guild
        log.info("loaded %d trader labels", len(rows))

    def label(self, guild_id: int | None, wallet: str) -> str | None:
        if guild_id is None:
            return None
        return self._by_guild.get(guild_id, {}).get(wallet)

    def of_guild(self, guild_id: int) -> dict[str, str]:
        """wallet -> label of one server (a copy)."""
        return dict(self._by_guild.get(guild_id, {}))

    def wallet_for(self, guild_id: int, name: str) -> str | None:
        """The wallet a server labelled ``name`` (case-insensitive)."""
        wanted = name.strip().lower()
        for wallet, label in self._by_guild.get(guild_id, {}).items():
            if label.lower() == wanted:
                return wallet
        return None

    async def set(self, guild_id: int, wallet: str, name: str, user_id: int) -> str | None:
        """Name a wallet in a server; an empty name removes the label. Returns the new label."""
        text = clean_label(name)

        async def save() -> None:
            async with self._pool.acquire() as conn:
                if text:
                    await queries.set_label(conn, guild_id, wallet, text, user_id)
                else:
                    await queries.delete_label(conn, guild_id, wallet)

        await self._db.run(save, "saving a label")
        labels = dict(self._by_guild.get(guild_id, {}))
        if text:
            labels[wallet] = text
        else:
            labels.pop(wallet, None)
        self._by_guild[guild_id] = labels
        self._bus.publish(LabelsChanged(guild_id=guild_id))
        return text or None

    async def _on_changed(self, event: LabelsChanged) -> None:
        async with self._pool.acquire() as conn:
            labels = await queries.guild_labels(conn, event.guild_id)
        self._by_guild[event.guild_id] = labels

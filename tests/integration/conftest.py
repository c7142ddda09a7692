"""Fixtures shared by the integration tests of the trade path (ingest, delivery, reconciler)."""

from __future__ import annotations

import asyncpg
import pytest

from bot.events import EventBus
from bot.trades.follows import FollowService


@pytest.fixture
async def follows(pool: asyncpg.Pool) -> FollowService:
    """The follows index over the test's database, loaded (empty until a test follows)."""
    service = FollowService(pool, EventBus())
    await service.load()
    return service

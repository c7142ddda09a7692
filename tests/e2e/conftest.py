"""Fixtures shared by the end-to-end tests: the local fakes of Discord, Polymarket and RTDS, and
a PostgreSQL link a test can cut or freeze."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.discord import FakeDiscord
from tests.fakes.pg_link import PostgresLink
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    # No 3 s interaction deadline: a loaded CI machine must not turn slowness into failures.
    fake = FakeDiscord(interaction_timeout=None)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def rtds() -> AsyncIterator[FakeRTDS]:
    fake = FakeRTDS()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def polymarket(request: pytest.FixtureRequest) -> AsyncIterator[FakePolymarket]:
    """The fake Polymarket, sized by the module's ``pytest.mark.polymarket(n_traders, seed)``."""
    marker = request.node.get_closest_marker("polymarket")
    fake = FakePolymarket(**(marker.kwargs if marker else {}))
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def link(database_url: str) -> AsyncIterator[PostgresLink]:
    """The test database behind a link the test can cut, freeze and restore."""
    link = PostgresLink(database_url)
    await link.start()
    yield link
    await link.stop()

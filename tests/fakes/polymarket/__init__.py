"""The local fake of Polymarket's HTTP APIs (Data API, Gamma, CLOB) for tests and benchmarks.

``from tests.fakes.polymarket import FakePolymarket`` is the way in. The fake is split by API and
concern (see :mod:`tests.fakes.polymarket.server` for the map); this package re-exports the names
that tests and scripts import, so none of them needs to know which module a name lives in.
"""

from tests.fakes.polymarket.clob import (
    HISTORY_INTERVALS,
    HISTORY_MAX_POINTS,
)
from tests.fakes.polymarket.data_api import (
    ACTIVITY_MAX_OFFSET,
    ACTIVITY_SORTS,
    ACTIVITY_TYPES,
    CLOSED_SORTS,
    LEADERBOARD_CATEGORIES,
    LEADERBOARD_MAX_OFFSET,
    LEADERBOARD_MAX_ROWS,
    POSITION_SORTS,
)
from tests.fakes.polymarket.faults import (
    FAULT_KINDS,
    HUGE_BODY_BYTES,
    SHAPE_FAULTS,
    TIMEOUT_FAULT_SECONDS,
)
from tests.fakes.polymarket.gamma import (
    GAMMA_MAX_OFFSET,
    SEARCH_DEFAULT_LIMIT,
)
from tests.fakes.polymarket.markets import (
    S3,
    FakeMarket,
    Row,
    market_pool,
)
from tests.fakes.polymarket.params import (
    CONDITION_RE,
    WALLET_RE,
    BadRequest,
)
from tests.fakes.polymarket.server import (
    CALL_KEY_CLOB_MARKET,
    CALL_KEY_EVENT_BY_SLUG,
    CALL_KEY_MARKET_BY_ID,
    CALL_KEY_MARKET_BY_SLUG,
    FakePolymarket,
)
from tests.fakes.polymarket.traders import (
    OPEN_PNL_SHARE,
    PERIOD_SECONDS,
    PERIODS,
    SPECIAL_NAMES,
    FakeTrader,
)

__all__ = [
    "ACTIVITY_MAX_OFFSET",
    "ACTIVITY_SORTS",
    "ACTIVITY_TYPES",
    "CALL_KEY_CLOB_MARKET",
    "CALL_KEY_EVENT_BY_SLUG",
    "CALL_KEY_MARKET_BY_ID",
    "CALL_KEY_MARKET_BY_SLUG",
    "CLOSED_SORTS",
    "CONDITION_RE",
    "FAULT_KINDS",
    "GAMMA_MAX_OFFSET",
    "HISTORY_INTERVALS",
    "HISTORY_MAX_POINTS",
    "HUGE_BODY_BYTES",
    "LEADERBOARD_CATEGORIES",
    "LEADERBOARD_MAX_OFFSET",
    "LEADERBOARD_MAX_ROWS",
    "OPEN_PNL_SHARE",
    "PERIODS",
    "PERIOD_SECONDS",
    "POSITION_SORTS",
    "S3",
    "SEARCH_DEFAULT_LIMIT",
    "SHAPE_FAULTS",
    "SPECIAL_NAMES",
    "TIMEOUT_FAULT_SECONDS",
    "WALLET_RE",
    "BadRequest",
    "FakeMarket",
    "FakePolymarket",
    "FakeTrader",
    "Row",
    "market_pool",
]

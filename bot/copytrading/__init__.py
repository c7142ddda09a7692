"""Paper copy-trading: a user copies a trader, each of the trader's trades becomes a paper order
filled against the real order book, and /portfolio shows the result. No Discord here.

The public surface is the service and the types its methods take and return. The parts live in
their own modules: ``models`` (domain types), ``lifecycle`` (the transition table), ``fills``
(the fill model), ``copies`` (copy configs), ``writer`` (trade -> orders), ``sync`` (the sync
pass), ``settlement`` (resolved and vanished markets), ``portfolio`` (the read model and
snapshots) and ``service`` (the façade); import pure helpers from their module.
"""

from bot.copytrading.copies import CopyConfigError
from bot.copytrading.models import (
    CopyConfig,
    OrderStats,
    OrderStatus,
    PaperOrder,
    PortfolioView,
    PositionView,
    StopResult,
    SyncReport,
    ValuePoint,
)
from bot.copytrading.service import CopyTradingService

__all__ = (
    "CopyConfig",
    "CopyConfigError",
    "CopyTradingService",
    "OrderStats",
    "OrderStatus",
    "PaperOrder",
    "PortfolioView",
    "PositionView",
    "StopResult",
    "SyncReport",
    "ValuePoint",
)

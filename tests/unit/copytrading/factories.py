"""Domain objects for the pure copy-trading tests, with defaults for what a test does not care
about."""

from __future__ import annotations

from typing import Any

from bot.copytrading.models import OrderStatus, PaperOrder, PaperPosition
from bot.polymarket.records import Market


def make_order(side: str = "BUY", **overrides: Any) -> PaperOrder:
    values: dict[str, Any] = {
        "id": 1,
        "config_id": 1,
        "portfolio_id": 1,
        "trade_key": "k",
        "wallet": "0x" + "a" * 40,
        "asset": "yes",
        "condition_id": "c1",
        "title": "",
        "outcome": "Yes",
        "side": side,
        "trade_price": 0.5,
        "limit_price": 0.52 if side == "BUY" else 0.48,
        "size_usd": 10.0 if side == "BUY" else 0.0,
        "size_shares": 0.0 if side == "BUY" else 10.0,
        "filled_shares": 0.0,
        "filled_usd": 0.0,
        "taken": {},
        "status": OrderStatus.PENDING,
        "reason": "",
        "version": 0,
        "attempts": 0,
        "missing_syncs": 0,
        "created_at": 0.0,
        "updated_at": 0.0,
    }
    values.update(overrides)
    return PaperOrder(**values)


def make_position(**overrides: Any) -> PaperPosition:
    values: dict[str, Any] = {
        "portfolio_id": 1,
        "asset": "yes",
        "condition_id": "c1",
        "title": "",
        "outcome": "Yes",
        "size": 20.0,
        "cost_basis": 10.0,
        "avg_price": 0.5,
        "realized_pnl": 0.0,
        "last_price": None,
        "settled": False,
        "closed_at": None,
    }
    values.update(overrides)
    return PaperPosition(**values)


def make_market(**overrides: Any) -> Market:
    values: dict[str, Any] = {
        "condition_id": "c1",
        "gamma_id": "1",
        "slug": "m",
        "question": "Will it?",
        "outcomes": ("Yes", "No"),
        "token_ids": ("yes", "no"),
        "prices": (0.5, 0.5),
        "volume": 0.0,
        "liquidity": 0.0,
        "end_date": "",
        "closed": False,
        "resolved": False,
        "winner_index": None,
        "event_slug": "",
        "image": "",
    }
    values.update(overrides)
    return Market(**values)

"""Domain objects for tests and benchmarks, built with sensible defaults: one place, so a test
names only what it is about."""

from __future__ import annotations

import itertools
import time
from typing import Any

from bot.polymarket.records import Trade, trade_key

_tx_numbers = itertools.count(1)


def make_trade(**overrides: Any) -> Trade:
    """A BUY of 10 Yes shares at 50¢ now, with a unique transaction; ``usd`` sets the size at
    the given (or default) price. The key is derived like the parser's."""
    fields: dict[str, Any] = {
        "wallet": "0x" + "f" * 40,
        "asset": "token-yes",
        "condition_id": "0x" + "c" * 64,
        "side": "BUY",
        "size": 10.0,
        "price": 0.5,
        "timestamp": time.time(),
        "transaction_hash": "",
        "outcome": "Yes",
        "title": "Will it rain in London?",
        "slug": "rain-london",
        "event_slug": "weather-london",
        "name": "",
        "pseudonym": "",
    }
    usd = overrides.pop("usd", None)
    fields.update(overrides)
    if usd is not None:
        fields["size"] = usd / fields["price"]
    if not fields["transaction_hash"]:
        fields["transaction_hash"] = f"0x{next(_tx_numbers):064x}"
    key = trade_key(
        fields["transaction_hash"],
        fields["wallet"],
        fields["asset"],
        fields["side"],
        fields["size"],
        fields["price"],
    )
    return Trade(key=key, **fields)

"""Alert cards: which stored trades become one embed, and how many embeds one message holds.

Pure: the dispatcher reads deliveries from the outbox, ``compose`` turns them into cards (a burst
of one trader's fills in one outcome becomes one card), and ``nonce_for`` gives the message a
deterministic nonce so a resend after a crash is recognised by Discord.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from bot.polymarket.records import Trade
from bot.trades.models import Delivery

MAX_CARDS = 8  # embeds per message: Discord allows 10, and 6,000 characters in all
BURST_WINDOW = 30.0  # seconds: one trader's fills in one market this close are one card


@dataclass(frozen=True)
class AlertCard:
    """One embed: a single trade, or a burst of one wallet's fills in one outcome and side."""

    trades: tuple[Trade, ...]
    kind: str  # follow | whale | fresh | smart | consensus
    delayed: bool

    @property
    def first(self) -> Trade:
        return self.trades[0]

    @property
    def size(self) -> float:
        return sum(t.size for t in self.trades)

    @property
    def usd(self) -> float:
        return sum(t.usd for t in self.trades)

    @property
    def average_price(self) -> float:
        size = self.size
        return self.usd / size if size else self.first.price


def compose(rows: Sequence[Delivery] | Sequence[tuple[Trade, str, bool]]) -> list[AlertCard]:
    """Cards from (trade, kind, delayed) in time order: consecutive fills of one wallet in one
    asset and side, alerted for the same reason, within BURST_WINDOW of the burst's first fill
    are merged (a consensus alert is about its traders, never merged with a fill)."""
    cards: list[AlertCard] = []
    open_bursts: dict[tuple[str, str, str, str], int] = {}
    for trade, kind, delayed in rows:
        burst_key = (trade.wallet, trade.asset, trade.side, kind)
        index = open_bursts.get(burst_key)
        if index is not None and kind != "consensus":
            card = cards[index]
            if trade.timestamp - card.first.timestamp <= BURST_WINDOW:
                cards[index] = AlertCard((*card.trades, trade), card.kind, card.delayed and delayed)
                continue
        open_bursts[burst_key] = len(cards)
        cards.append(AlertCard((trade,), kind, delayed))
    return cards


def nonce_for(channel_id: int, trade_keys: Sequence[str]) -> str:
    """Deterministic and ≤ 25 characters (Discord's nonce limit)."""
    digest = hashlib.blake2b(
        f"{channel_id}:{','.join(sorted(trade_keys))}".encode(), digest_size=12
    ).hexdigest()
    return digest[:25]

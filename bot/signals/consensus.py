"""Consensus: several of the best traders buying the same outcome. Pure decisions.

A top trader counts once their buys of the outcome within the window add up to the watch's
``min_usd`` (a large order arrives as many fills). The alert fires in a channel when at least
``CONSENSUS_TRADERS`` distinct top traders count, the trade being stored is one of theirs (it is
what completed the set), and the channel had no consensus alert for that outcome within the
window; the 24 h look-back is what makes a fourth trader, a duplicate or a restart fire nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from bot.polymarket.records import Trade
from bot.signals.models import (
    CONSENSUS_TRADERS,
    ConsensusParticipant,
    SignalWatch,
    category_matches,
)


def participants_of(
    buys: Iterable[tuple[str, float, float]], top: Mapping[str, tuple[int, str]]
) -> list[ConsensusParticipant]:
    """(wallet, dollars, shares) rows of top traders -> participants, best ranked first."""
    found = [
        ConsensusParticipant(wallet, top[wallet][1], top[wallet][0], usd, shares)
        for wallet, usd, shares in buys
        if wallet in top and usd > 0 and shares > 0
    ]
    return sorted(found, key=lambda p: (p.rank, p.wallet))


def firing(
    watches: Sequence[SignalWatch],
    participants: Sequence[ConsensusParticipant],
    trigger: Trade,
    categories: frozenset[str],
    fired_recently: set[int],
) -> list[tuple[SignalWatch, tuple[ConsensusParticipant, ...]]]:
    """The watches a consensus alert fires in now, each with the traders who made it."""
    fires = []
    for watch in watches:
        if not watch.enabled or watch.channel_id in fired_recently:
            continue
        if not watch.watching_at(trigger.timestamp):
            continue
        if not category_matches(watch.category, categories):
            continue
        counted = tuple(p for p in participants if p.usd >= watch.min_usd)
        if len(counted) >= CONSENSUS_TRADERS and any(p.wallet == trigger.wallet for p in counted):
            fires.append((watch, counted))
    return fires

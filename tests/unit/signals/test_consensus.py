"""Consensus decisions: who counts, when it fires, and where it must not fire again."""

from __future__ import annotations

import time

from bot.polymarket.records import Trade
from bot.signals.consensus import firing, participants_of
from bot.signals.models import SignalWatch
from tests.factories import make_trade

TOP = {f"0x{n:040x}": (n, f"T{n}") for n in range(1, 51)}
W = list(TOP)


def trigger(owner: str) -> Trade:
    return make_trade(wallet=owner)


def test_participants_are_top_traders_best_first_with_their_totals() -> None:
    buys = [(W[9], 600.0, 1200.0), (W[2], 800.0, 1000.0), ("0x" + "9" * 40, 9e9, 1.0)]
    found = participants_of(buys, TOP)
    assert [(p.rank, p.name, p.usd) for p in found] == [(3, "T3", 800.0), (10, "T10", 600.0)]
    assert found[0].average_price == 0.8


def test_fires_at_three_counted_traders_including_the_trigger() -> None:
    people = participants_of([(W[0], 600, 1000), (W[1], 600, 1000), (W[2], 400, 1000)], TOP)
    cheap, dear = SignalWatch(1, "consensus", 10, 400), SignalWatch(2, "consensus", 20, 500)
    fires = firing([cheap, dear], people, trigger(W[2]), frozenset(), set())
    assert [(w.channel_id, len(p)) for w, p in fires] == [(10, 3)]
    # the trigger is not among those counted at $500: it did not complete anything
    assert firing([dear], people, trigger(W[0]), frozenset(), set()) == []


def test_not_again_where_it_fired_within_the_window_nor_outside_the_category() -> None:
    people = participants_of([(w, 600, 1000) for w in W[:4]], TOP)
    watch = SignalWatch(1, "consensus", 10, 500)
    assert firing([watch], people, trigger(W[3]), frozenset(), {10}) == []
    sports = SignalWatch(1, "consensus", 10, 500, "sports")
    assert firing([sports], people, trigger(W[3]), frozenset({"politics"}), set()) == []
    assert len(firing([sports], people, trigger(W[3]), frozenset({"sports"}), set())) == 1
    off = SignalWatch(1, "consensus", 10, 500, enabled=False)
    assert firing([off], people, trigger(W[3]), frozenset(), set()) == []


def test_not_for_a_trigger_made_before_the_watch_was_set() -> None:
    """A trade the reconciler recovers after a gap may predate the watch: history, no alert."""
    people = participants_of([(w, 600, 1000) for w in W[:3]], TOP)
    early = make_trade(wallet=W[2], timestamp=time.time() - 600)
    set_now = SignalWatch(1, "consensus", 10, 500, created_at=time.time())
    assert firing([set_now], people, early, frozenset(), set()) == []
    set_before = SignalWatch(1, "consensus", 10, 500, created_at=time.time() - 3600)
    assert len(firing([set_before], people, early, frozenset(), set())) == 1

"""Upstream values refused at the parser edge, counted by kind for ``/admin status``.

A poison trade or a page of junk rows is skipped, never fatal; but an operator must be able to
see that it happens. Each kind is logged on its 1st, 10th, 100th... occurrence, so a flood of
poison shows in the log as a handful of lines, never as one line per frame.
"""

from __future__ import annotations

import logging
from collections import Counter

log = logging.getLogger(__name__)


class Rejections:
    """Counts of rows and frames refused, by kind (price, size, usd, timestamp, malformed)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, kind: str, where: str, reason: str) -> None:
        self.counts[kind] += 1
        count = self.counts[kind]
        if _power_of_ten(count):
            log.warning(
                "%s: rejected a row (%s); %d %s rejections so far", where, reason, count, kind
            )

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _power_of_ten(number: int) -> bool:
    while number % 10 == 0:
        number //= 10
    return number == 1

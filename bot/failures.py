"""Failures of one loop run, logged as one line per kind instead of one per item.

A 34 s PostgreSQL outage once wrote 15,800 log lines: a traceback per trader per refresh. A
run that fails the same way for 400 traders has one thing to say, with a count and an example.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.database import DATABASE_ERRORS, DatabaseUnavailable
from bot.polymarket.http import UpstreamError


def failure_kind(exc: BaseException) -> str:
    """A short name that groups failures worth one line: the database being away, one
    upstream endpoint failing, or the exception's type."""
    if isinstance(exc, UpstreamError):
        return f"upstream {exc.endpoint}"
    if isinstance(exc, (*DATABASE_ERRORS, DatabaseUnavailable)):
        return "database unavailable"
    return type(exc).__name__


@dataclass
class FailureTally:
    """Collects one run's failures by kind; ``log`` writes one line per kind."""

    what: str
    kinds: dict[str, list[str]] = field(default_factory=dict)  # kind -> [count-worth examples]
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, exc: BaseException, subject: str) -> None:
        kind = failure_kind(exc)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.kinds.setdefault(kind, [f"{subject}: {exc}"[:200]])

    def __len__(self) -> int:
        return sum(self.counts.values())

    def log(self, logger: logging.Logger) -> None:
        for kind, count in self.counts.items():
            logger.warning(
                "%s: %d failed (%s), e.g. %s", self.what, count, kind, self.kinds[kind][0]
            )

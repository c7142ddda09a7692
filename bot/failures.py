"""Failures of one loop run, logged as one line per kind instead of one per item.

A 34 s PostgreSQL outage once wrote 15,800 log lines: a traceback per trader per refresh. A
run that fails the same way for 400 traders has one thing to say, with a count and an example.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.database import DATABASE_ERRORS, DatabaseUnavailable
from bot.polymarket.http import UpstreamError


class ExpectedFailure(Exception):
    """A failure whose message says everything (e.g. "every leaderboard period failed: ..."):
    logged as one line, never with a traceback."""


def failure_kind(exc: BaseException) -> str:
    """A short name that groups failures worth one line: the database being away, one
    upstream endpoint failing, an expected failure, or (unexpected) the exception's type."""
    if isinstance(exc, ExpectedFailure):
        return "expected"
    if isinstance(exc, UpstreamError):
        return f"upstream {exc.endpoint}"
    if isinstance(exc, (*DATABASE_ERRORS, DatabaseUnavailable)):
        return "database unavailable"
    return type(exc).__name__


def describe(exc: BaseException) -> str:
    """``Type: message``, or just the type when the message is empty (many connection errors)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class FailureTally:
    """Collects one run's failures by kind; ``log`` writes one line per kind."""

    what: str
    kinds: dict[str, list[str]] = field(default_factory=dict)  # kind -> [count-worth examples]
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, exc: BaseException, subject: str) -> None:
        kind = failure_kind(exc)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.kinds.setdefault(kind, [f"{subject}: {describe(exc)}"[:200]])

    def __len__(self) -> int:
        return sum(self.counts.values())

    def log(self, logger: logging.Logger) -> None:
        for kind, count in self.counts.items():
            logger.warning(
                "%s: %d failed (%s), e.g. %s", self.what, count, kind, self.kinds[kind][0]
            )

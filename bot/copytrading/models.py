"""Copy trading's domain types: plain values shared by the service, its parts and the database.

Why a module of its own, with standard-library imports only: ``db/copytrading_queries.py``
builds these objects from rows and may not import services, so the types must not import
asyncpg, ``db`` or any service; the pure parts (lifecycle, fill model) and their tests then need
nothing but this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrderStatus(StrEnum):
    """Where a paper order stands; stored as this text. Moves only as ``lifecycle`` allows."""

    PLACED = "PLACED"
    PENDING = "PENDING"
    PARTIAL = "PARTIAL"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    LOST = "LOST"


# ---- the order book ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Level:
    """One price level of one side of a CLOB book."""

    price: float
    size: float


@dataclass(frozen=True, slots=True)
class Fill:
    """Shares taken at one level by one walk of the book."""

    price: float
    shares: float

    @property
    def usd(self) -> float:
        return self.price * self.shares

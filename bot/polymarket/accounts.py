"""How old a wallet's Polymarket account is: Gamma ``/public-profile``, else its first trade.

The fresh-wallet signal needs one date per wallet. Gamma's public profile carries ``createdAt``
(every field of the profile is nullable, and a wallet that never made one gets a 404
"profile not found"); a wallet without it is dated by its oldest ``/activity`` trade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.polymarket.http import PolymarketHTTP, UpstreamError
from bot.polymarket.records import to_str, to_timestamp


def parse_created_at(value: Any) -> float | None:
    """Unix seconds from an ISO date (``2024-01-05T10:00:00.123Z``) or a number; None if absent
    or unreadable (a bad date must not make a wallet look brand new)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = to_timestamp(value)
        return seconds if seconds > 0 else None
    text = to_str(value).strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class PublicProfile:
    """The parts of ``/public-profile`` the bot reads."""

    created_at: float | None
    name: str
    pseudonym: str

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> PublicProfile:
        return cls(
            created_at=parse_created_at(body.get("createdAt")),
            name=to_str(body.get("name")),
            pseudonym=to_str(body.get("pseudonym")),
        )


class AccountsAPI:
    def __init__(self, http: PolymarketHTTP) -> None:
        self._http = http

    async def public_profile(self, wallet: str) -> PublicProfile | None:
        """The wallet's profile, or None when Polymarket has none (404)."""
        try:
            body = await self._http.get_json("gamma", "/public-profile", {"address": wallet})
        except UpstreamError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(body, dict):
            raise UpstreamError("gamma:/public-profile", "expected a profile object")
        return PublicProfile.from_api(body)

    async def first_trade_at(self, wallet: str) -> float | None:
        """Unix seconds of the wallet's oldest trade, or None when it has none yet."""
        body = await self._http.get_json(
            "data",
            "/activity",
            {
                "user": wallet,
                "limit": 1,
                "type": "TRADE",
                "sortBy": "TIMESTAMP",
                "sortDirection": "ASC",
            },
        )
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            body = body["data"]
        if not isinstance(body, list):
            raise UpstreamError("data:/activity", "expected a JSON array")
        for row in body:
            if isinstance(row, dict):
                seconds = to_timestamp(row.get("timestamp"))
                if seconds > 0:
                    return seconds
        return None

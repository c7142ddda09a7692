"""Naming a trader in a command: a wallet, or a username the leaderboard knows."""

from __future__ import annotations

import re

from bot.errors import UserError
from bot.leaderboard.service import LeaderboardService
from bot.polymarket.records import WALLET_RE

MAX_QUERY = 100
DEFAULT_NAME_RE = re.compile(r"^0x[0-9a-fA-F]{40}-\d+$")


class TraderNotFound(UserError):
    """The text is neither a wallet nor a known username; the message says what to type."""


def resolve_trader(text: str, leaderboard: LeaderboardService) -> tuple[str, str]:
    """(wallet, label) for a wallet ``0x…`` (any case) or a username from the leaderboard."""
    query = text.strip()[:MAX_QUERY]
    if DEFAULT_NAME_RE.match(query):  # a default username is the wallet plus a timestamp
        query = query[:42]
    if WALLET_RE.match(query):
        wallet = query.lower()
        return wallet, leaderboard.known_traders().get(wallet, "")
    wallet_for_name = leaderboard.find_wallet(query) if query else None
    if wallet_for_name is not None:  # a username (it may start with "0x" too)
        return wallet_for_name, leaderboard.known_traders().get(wallet_for_name, query)
    if query.lower().startswith("0x") and len(query) > 2 and " " not in query:
        raise TraderNotFound(
            "That wallet is malformed: a wallet is 0x followed by 40 hex characters (0-9, a-f)."
        )
    raise TraderNotFound(
        "No trader by that name on the leaderboard: paste their wallet (0x + 40 hex "
        "characters) from their Polymarket profile, or pick a suggestion."
    )


def suggestions(
    current: str,
    leaderboard: LeaderboardService,
    extra: dict[str, str] | None = None,
    limit: int = 25,
) -> list[tuple[str, str]]:
    """(label, wallet) pairs matching what the user typed so far, names first."""
    typed = current.strip().lower()[:MAX_QUERY]
    known = dict(extra or {})
    for wallet, name in leaderboard.known_traders().items():
        known.setdefault(wallet, name)
    found: list[tuple[str, str]] = []
    for wallet, name in known.items():
        if not typed or typed in name.lower() or wallet.startswith(typed):
            label = f"{name} ({wallet[:6]}…{wallet[-4:]})" if name else wallet
            found.append((label[:100], wallet))
            if len(found) >= limit:
                break
    return found

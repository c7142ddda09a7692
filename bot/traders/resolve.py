"""Naming a trader in a command: a wallet, or a username the leaderboard knows."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.database import DatabaseGuard, DatabaseUnavailable
from bot.errors import UserError
from bot.leaderboard.service import LeaderboardService
from bot.polymarket.records import WALLET_RE

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_QUERY = 100
DEFAULT_NAME_RE = re.compile(r"^0x[0-9a-fA-F]{40}-\d+$")
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"  # zero-width characters a paste can carry


class StoredNames(Protocol):
    """Names of traders whose profiles were stored (ProfileService)."""

    async def wallet_for_name(self, name: str) -> str | None: ...

    async def name_suggestions(self, typed: str, limit: int = 25) -> dict[str, str]: ...

    async def names_of(self, wallets: Sequence[str]) -> dict[str, str]: ...


class TraderNotFound(UserError):
    """The text is neither a wallet nor a known username; the message says what to type."""


def is_blank(text: str) -> bool:
    """Nothing a person could have meant: empty, spaces of any kind, zero-width characters."""
    return not text.translate(str.maketrans("", "", INVISIBLE)).strip()


def resolve_trader(text: str, leaderboard: LeaderboardService) -> tuple[str, str]:
    """(wallet, label) for a wallet ``0x…`` (any case) or a username from the leaderboard."""
    if is_blank(text):
        raise TraderNotFound(
            "Type a trader: their Polymarket username, or their wallet (0x followed by 40 hex "
            "characters) from their profile."
        )
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


@dataclass(frozen=True)
class TraderRef:
    """A trader named in a command: the wallet, and the name to show (may be empty)."""

    wallet: str
    label: str


class TraderDirectory:
    """Every command that takes a trader resolves and suggests through this one place.

    The leaderboard's names answer from memory; names of traders looked up before (stored
    profiles) come from PostgreSQL, with a short timeout so a slow database only costs those
    extra names, never the answer."""

    def __init__(
        self,
        leaderboard: LeaderboardService,
        profiles: StoredNames,
        *,
        database: DatabaseGuard | None = None,
    ) -> None:
        self._leaderboard = leaderboard
        self._profiles = profiles
        self._db = database or DatabaseGuard(timeout=1.0)

    async def resolve(self, text: str) -> TraderRef:
        try:
            wallet, label = resolve_trader(text, self._leaderboard)
            return TraderRef(wallet, label)
        except TraderNotFound:
            query = text.strip()[:MAX_QUERY]
            if not query or query.lower().startswith("0x"):
                raise
            stored = await self._stored(lambda: self._profiles.wallet_for_name(query))
            if not stored:
                raise
            return TraderRef(stored, query)

    async def suggest(self, current: str) -> list[tuple[str, str]]:
        """(label, wallet) pairs for autocomplete: leaderboard names, then stored ones. Nothing
        for blank input: Discord's client would submit the first suggestion on Enter, and a
        command nobody aimed at a trader must not post one."""
        if is_blank(current):
            return []
        typed = current.strip()[:MAX_QUERY]
        extra = (
            await self._stored(lambda: self._profiles.name_suggestions(typed)) if typed else None
        )
        return suggestions(current, self._leaderboard, extra or {})

    async def names(self, wallets: Iterable[str]) -> dict[str, str]:
        """wallet -> name to show, for lists of traders (a portfolio's copies and orders): the
        leaderboard's usernames, else stored names; a wallet nobody named is left out."""
        wanted = sorted(set(wallets))
        known = self._leaderboard.known_traders()
        names = {w: known[w] for w in wanted if known.get(w)}
        missing = [w for w in wanted if w not in names]
        stored = await self._stored(lambda: self._profiles.names_of(missing)) if missing else None
        return names | (stored or {})

    async def _stored(self, lookup: Callable[[], Awaitable[T]]) -> T | None:
        try:
            return await self._db.run(lookup, "stored trader names")
        except DatabaseUnavailable:  # a slow or absent database must not fail the command
            return None

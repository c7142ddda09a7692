"""Text helpers shared by every embed: names, links, Discord timestamps (numbers are in
``bot/render/numbers.py``).

Trader names are upstream text: they are escaped (markdown and mentions) before they reach an
embed, default usernames (``0x<wallet>-<ms>``) are replaced by a short wallet, and any other
name that looks like a wallet (``0x…``) is shown with the real short wallet beside it, so a
username cannot pass for someone else's address.
"""

from __future__ import annotations

import re

import discord

from bot.render.numbers import integer

PROFILE_URL = "https://polymarket.com/profile/{wallet}"
FIELD_LIMIT = 1024  # characters in an embed field's value
_DEFAULT_NAME_RE = re.compile(r"^0x[0-9a-fA-F]{40}(-\d+)?$")
_LOOKS_LIKE_WALLET_RE = re.compile(r"^\s*0x", re.IGNORECASE)


def short_wallet(wallet: str) -> str:
    return f"{wallet[:6]}…{wallet[-4:]}" if len(wallet) > 12 else wallet


def looks_like_wallet(name: str) -> bool:
    return bool(_LOOKS_LIKE_WALLET_RE.match(name))


def display_name(user_name: str, wallet: str, limit: int = 32) -> str:
    """A safe, short label: escaped markdown/mentions (cut to ``limit``); the short wallet for
    an empty or default name; a name that looks like a wallet with the real short wallet."""
    name = (user_name or "").strip()
    short = short_wallet(wallet)
    if not name or _DEFAULT_NAME_RE.match(name):
        return short
    if len(name) > limit:
        name = name[: limit - 1] + "…"
    shown = discord.utils.escape_mentions(discord.utils.escape_markdown(name))
    shown = shown.replace("[", "\\[").replace("]", "\\]")
    if looks_like_wallet(name) and shown != short:
        return f"{shown} · {short}"
    return shown


def escape_text(text: str, limit: int) -> str:
    """Upstream text made safe for markdown and link labels, then cut to ``limit`` characters
    (escaping first, so the escapes cannot push it past Discord's field limits)."""
    text = discord.utils.escape_mentions(discord.utils.escape_markdown(text))
    text = text.replace("[", "\\[").replace("]", "\\]")
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip("\\") + "…"


def profile_url(wallet: str) -> str:
    return PROFILE_URL.format(wallet=wallet)


def relative_time(timestamp: float) -> str:
    return f"<t:{int(timestamp)}:R>"


def full_time(timestamp: float) -> str:
    return f"<t:{int(timestamp)}:f>"


def lines_within(lines: list[str], limit: int = FIELD_LIMIT) -> str:
    """As many whole lines as fit in an embed field, then how many more there are."""
    text = ""
    for index, line in enumerate(lines):
        more = f"…and {integer(len(lines) - index)} more"
        if len(text) + len(line) + 1 + len(more) > limit:
            return text + more
        text += line + "\n"
    return text.rstrip("\n")

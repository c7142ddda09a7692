"""Discord's embed limits, enforced before sending: whatever a card holds, it fits or is refused
here, never by Discord for the whole message. Pure."""

from __future__ import annotations

import discord

TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR = 256
EMBED_TOTAL = 6000  # over title, description, field names and values, footer and author
EMBEDS_PER_MESSAGE = 10
EMPTY = "\u2014"  # Discord refuses an empty field name or value


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def fit_embed(embed: discord.Embed) -> int:
    """Clip every part of ``embed`` to Discord's limit for it (in place) and return the
    characters it counts toward a message's 6,000 (the caller refuses an embed that is still
    too large: clipping a card's meaning away is worse than setting it aside)."""
    if embed.title and len(embed.title) > TITLE:
        embed.title = clip(embed.title, TITLE)
    if embed.description and len(embed.description) > DESCRIPTION:
        embed.description = clip(embed.description, DESCRIPTION)
    while len(embed.fields) > FIELDS:
        embed.remove_field(FIELDS)
    for index, item in enumerate(embed.fields):
        name = clip(item.name or EMPTY, FIELD_NAME)
        value = clip(item.value or EMPTY, FIELD_VALUE)
        if (name, value) != (item.name, item.value):
            embed.set_field_at(index, name=name, value=value, inline=bool(item.inline))
    footer = embed.footer
    if footer.text and len(footer.text) > FOOTER:
        embed.set_footer(text=clip(footer.text, FOOTER), icon_url=footer.icon_url)
    author = embed.author
    if author.name and len(author.name) > AUTHOR:
        embed.set_author(name=clip(author.name, AUTHOR), url=author.url, icon_url=author.icon_url)
    return embed_size(embed)


def embed_size(embed: discord.Embed) -> int:
    """The characters of ``embed`` Discord counts toward the 6,000 of a message."""
    size = len(embed.title or "") + len(embed.description or "")
    size += sum(len(f.name or "") + len(f.value or "") for f in embed.fields)
    return size + len(embed.footer.text or "") + len(embed.author.name or "")

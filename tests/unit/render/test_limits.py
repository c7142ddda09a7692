"""Discord's embed limits, enforced before sending, whatever the card holds."""

from __future__ import annotations

import discord

from bot.render.limits import AUTHOR, DESCRIPTION, FIELD_VALUE, FIELDS, TITLE, embed_size, fit_embed


def test_each_part_is_clipped_to_its_limit_and_the_size_is_what_discord_counts() -> None:
    embed = discord.Embed(title="t" * 300, description="d" * 5000)
    for n in range(30):
        embed.add_field(name=f"f{n}", value="v" * 2000)
    embed.add_field(name="empty", value="")
    embed.set_footer(text="footer")
    embed.set_author(name="a" * 400, url="https://polymarket.com/profile/x")

    size = fit_embed(embed)

    assert len(embed.title or "") == TITLE and (embed.title or "").endswith("…")
    assert len(embed.description or "") == DESCRIPTION
    assert len(embed.fields) == FIELDS
    assert all(len(f.value or "") <= FIELD_VALUE for f in embed.fields)
    assert len(embed.author.name or "") == AUTHOR
    assert embed.author.url == "https://polymarket.com/profile/x"
    assert size == embed_size(embed) > 6000  # still too large: the caller sets it aside


def test_an_ordinary_card_is_left_as_it_is() -> None:
    embed = discord.Embed(title="🟢 BUY Yes", description="[Will it rain?](https://x)")
    embed.add_field(name="Price", value="42¢")
    embed.set_footer(text="⏱ Delayed")
    before = embed.to_dict()
    texts = ("🟢 BUY Yes", "[Will it rain?](https://x)", "Price", "42¢", "⏱ Delayed")
    assert fit_embed(embed) == sum(len(t) for t in texts)
    assert embed.to_dict() == before

from __future__ import annotations

from bot.render.text import display_name, short_wallet

WALLET = "0xfe787d2da716d60e8acff57fb87eb13cd4d10319"


def test_default_usernames_show_a_short_wallet() -> None:
    assert short_wallet(WALLET) == "0xfe78…0319"
    assert display_name("", WALLET) == "0xfe78…0319"
    assert display_name("0xFE787d2da716d60e8acff57fb87eb13cd4d10319-1712345678901", WALLET) == (
        "0xfe78…0319"
    )


def test_names_are_escaped_and_bounded() -> None:
    name = display_name("@everyone **rich** [x](http://evil)", WALLET)
    assert "@everyone" not in name  # escape_mentions inserts a zero-width space
    assert "\\*\\*rich\\*\\*" in name
    assert "\\[x\\](" in name  # cannot close the link text early
    assert len(display_name("a" * 80, WALLET)) == 32

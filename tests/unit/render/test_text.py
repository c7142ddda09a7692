from __future__ import annotations

from bot.render.text import display_name, short_wallet

WALLET = "0xfe787d2da716d60e8acff57fb87eb13cd4d10319"


def test_default_usernames_show_a_short_wallet() -> None:
    assert short_wallet(WALLET) == "0xfe78…0319"
    assert display_name("", WALLET) == "0xfe78…0319"
    assert display_name("0xFE787d2da716d60e8acff57fb87eb13cd4d10319-1712345678901", WALLET) == (
        "0xfe78…0319"
    )


def test_a_name_that_looks_like_a_wallet_never_stands_alone() -> None:
    # Every surface (leaderboard rows, portfolio lines, card fields) shows names through here.
    assert display_name("0xDEAD…BEEF", WALLET) == "0xDEAD…BEEF · 0xfe78…0319"
    assert display_name(" 0xbig_whale ", WALLET) == "0xbig\\_whale · 0xfe78…0319"
    assert display_name("0x" + "a" * 40, WALLET) == "0xfe78…0319"  # someone else's address
    assert display_name("0xfe78…0319", WALLET) == "0xfe78…0319"  # its own: true, shown once
    assert display_name("   ", WALLET) == "0xfe78…0319"
    assert display_name("BraveFox", WALLET) == "BraveFox"


def test_names_are_escaped_and_bounded() -> None:
    name = display_name("@everyone **rich** [x](http://evil)", WALLET)
    assert "@everyone" not in name  # escape_mentions inserts a zero-width space
    assert "\\*\\*rich\\*\\*" in name
    assert "\\[x\\](" in name  # cannot close the link text early
    assert len(display_name("a" * 80, WALLET)) == 32

"""Trade alert cards -> embeds and link buttons. Pure: upstream text is escaped here.

A card is read at a glance: the title says the side, the dollars, the outcome, the price and
the chance it implies (``🟢 $25.05K BUY Yes @ 83.5¢ (84%)``); the description names the market,
why this alert exists (a fresh wallet, smart money, a consensus) and what it did to the
trader's position; the fields say who the trader is. Every card fits CARD_BUDGET characters, so
a message of MAX_CARDS cards stays within Discord's 6,000 without help from the sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import discord

from bot.polymarket.records import Trade
from bot.render.numbers import cents, chance, count, duration, money, percent, plural
from bot.render.text import (
    display_name,
    escape_text,
    looks_like_wallet,
    profile_url,
    short_wallet,
)
from bot.signals.models import CardContext, ConsensusParticipant, PositionChange
from bot.trades.cards import MAX_CARDS, AlertCard

BUY_COLOUR = discord.Colour.from_rgb(39, 174, 96)
SELL_COLOUR = discord.Colour.from_rgb(192, 57, 43)
KIND_COLOURS = {
    "whale": discord.Colour.from_rgb(41, 128, 185),
    "fresh": discord.Colour.from_rgb(230, 126, 34),
    "smart": discord.Colour.from_rgb(142, 68, 173),
    "consensus": discord.Colour.from_rgb(241, 196, 15),
}
KIND_BADGES = {"whale": "🐋", "fresh": "🆕", "smart": "🧠", "consensus": "🤝"}
EXPLORER_TX = "https://polygonscan.com/tx/{tx}"
CARD_BUDGET = 6000 // MAX_CARDS  # characters per card, so a full message fits Discord's 6,000
DEFAULT_TICK = 0.01
SHOWN_PARTICIPANTS = 5
MAX_BUTTONS = 25  # five rows of five
DELAYED_NOTE = "⏱ Delayed alert: not received live, recovered from trade history"


def market_url(slug: str, event_slug: str) -> str | None:
    if event_slug:
        return f"https://polymarket.com/event/{event_slug}"
    if slug:
        return f"https://polymarket.com/market/{slug}"
    return None


def trader_name(name: str, wallet: str, label: str | None = None, limit: int = 32) -> str:
    """Who traded, as a server reads it: its label with the short wallet, else the Polymarket
    name (``display_name`` already puts the wallet beside a name that looks like one)."""
    shown = display_name(label or name, wallet, limit)
    if label and not looks_like_wallet(label) and shown != short_wallet(wallet):
        return f"{shown} · {short_wallet(wallet)}"
    return shown


def _tick(card: AlertCard, context: CardContext) -> float:
    """The market's tick; unknown: 0.1¢ when the fill is priced finer than a cent."""
    if context.tick_size:
        return context.tick_size
    price = card.first.price
    return DEFAULT_TICK if abs(price * 100 - round(price * 100)) < 1e-6 else 0.001


def title_of(card: AlertCard, context: CardContext) -> str:
    trade = card.first
    outcome = escape_text(trade.outcome or "?", 40)
    if card.kind == "consensus" and context.participants:
        usd = sum(p.usd for p in context.participants)
        shares = sum(p.shares for p in context.participants)
        price = usd / shares if shares else trade.price
    else:
        usd, price = card.usd, card.average_price
    badge = KIND_BADGES.get(card.kind, "🟢" if trade.side == "BUY" else "🔴")
    title = f"{badge} {money(usd)} {trade.side} {outcome} @ {cents(price)} ({chance(price)})"
    if card.kind == "consensus" and context.participants:
        title += f" · {plural(len(context.participants), 'top trader')}"
    elif len(card.trades) > 1:
        title += f" · {plural(len(card.trades), 'fill')} merged"
    return title


def reason_line(card: AlertCard, context: CardContext) -> str | None:
    """Why this alert exists, for the signal kinds."""
    if card.kind == "fresh":
        age = context.account_age_days
        return "🆕 **Fresh wallet**" + (
            f": account {duration(age * 86_400)} old" if age is not None else ""
        )
    if card.kind == "smart":
        standing = context.standing
        rank = f": #{count(standing.rank)} by copy score this {standing.period}" if standing else ""
        return f"🧠 **Smart money**{rank}"
    if card.kind == "consensus":
        outcome = escape_text(card.first.outcome or "?", 40)
        traders = count(len(context.participants)) if context.participants else "Several"
        return f"🤝 **Consensus**: {traders} top traders bought {outcome} within 24h"
    return None


def position_line(change: PositionChange | None) -> str | None:
    if change is None:
        return None
    if change.kind == "new":
        return f"📥 New position · {count(change.after)} shares"
    if change.kind == "added":
        return f"➕ Added · now {count(change.after)} shares"
    if change.kind == "trimmed":
        return f"✂️ Trimmed {percent(change.sold_share)} · {count(change.after)} shares left"
    pnl = change.realized_pnl
    realised = f" · realised PnL {money(pnl, signed=True)}" if pnl is not None else ""
    return f"📤 Closed the position{realised}"


def trader_field(context: CardContext, wallet: str) -> str:
    standing = context.standing
    if standing is None:
        line = "not ranked"
    else:
        line = (
            f"#{count(standing.rank)} this {standing.period} ·"
            f" {money(standing.pnl, signed=True)} PnL · score {count(round(standing.score, 1))}"
        )
    if context.win_rate is not None:
        line += f" · {percent(context.win_rate)} win rate"
    return f"{line}\n`{short_wallet(wallet)}`"


def participants_field(participants: Sequence[ConsensusParticipant]) -> str:
    lines = [
        f"#{count(p.rank)} {display_name(p.name, p.wallet, 20)} · {money(p.usd)}"
        f" @ {cents(p.average_price)}"
        for p in participants[:SHOWN_PARTICIPANTS]
    ]
    if len(participants) > SHOWN_PARTICIPANTS:
        lines.append(f"and {count(len(participants) - SHOWN_PARTICIPANTS)} more")
    return "\n".join(lines)


def _fields(embed: discord.Embed, card: AlertCard, context: CardContext) -> None:
    trade = card.first
    if card.kind == "consensus" and context.participants:
        embed.add_field(
            name="Top traders", value=participants_field(context.participants), inline=False
        )
    else:
        embed.add_field(name="Trader", value=trader_field(context, trade.wallet))
        embed.add_field(name="Shares", value=count(card.size))
    current = context.current_price
    if current is not None and abs(current - card.average_price) >= _tick(card, context) - 1e-9:
        embed.add_field(name="Current price", value=cents(current))
    tx = trade.transaction_hash
    embed.add_field(name="Transaction", value=f"[{short_wallet(tx)}]({EXPLORER_TX.format(tx=tx)})")


def alert_embed(card: AlertCard, context: CardContext) -> discord.Embed:
    trade = card.first
    side_colour = BUY_COLOUR if trade.side == "BUY" else SELL_COLOUR
    embed = discord.Embed(
        title=title_of(card, context),
        colour=KIND_COLOURS.get(card.kind, side_colour),
        timestamp=datetime.fromtimestamp(trade.timestamp, tz=UTC),
    )
    name = trader_name(trade.name or trade.pseudonym, trade.wallet, context.label)
    embed.set_author(name=name.replace("\\", ""), url=profile_url(trade.wallet))
    if context.icon.startswith("https://"):
        embed.set_thumbnail(url=context.icon)
    _fields(embed, card, context)
    if card.delayed:
        embed.set_footer(text=DELAYED_NOTE)
    extra = [line for line in (reason_line(card, context), position_line(context.position)) if line]
    embed.description = _market_line(
        trade.title or trade.slug, trade, CARD_BUDGET - len(embed), extra
    )
    return embed


def _market_line(title: str, trade: Trade, room: int, extra: list[str]) -> str:
    """The market (linked when the link fits in ``room``) above the extra lines."""
    tail = "".join(f"\n{line}" for line in extra)
    room -= len(tail)
    url = market_url(trade.slug, trade.event_slug)
    text = title or "Unknown market"
    if url and room - len(url) - 4 >= 24:
        return f"[{escape_text(text, min(200, room - len(url) - 4))}]({url}){tail}"
    return f"{escape_text(text, max(12, min(200, room)))}{tail}"


def alert_view(cards: Sequence[AlertCard], contexts: Sequence[CardContext]) -> discord.ui.View:
    """Link buttons to each card's market and trader on Polymarket (numbered when a message
    holds several cards); a link already given once is not repeated."""
    view = discord.ui.View(timeout=None)
    seen: set[str] = set()

    def add(label: str, url: str | None) -> None:
        if url and url not in seen and len(view.children) < MAX_BUTTONS:
            seen.add(url)
            view.add_item(
                discord.ui.Button(style=discord.ButtonStyle.link, label=label[:80], url=url)
            )

    for number, (card, context) in enumerate(zip(cards, contexts, strict=True), 1):
        trade = card.first
        prefix = f"{number} · " if len(cards) > 1 else ""
        add(f"{prefix}Market", market_url(trade.slug, trade.event_slug))
        if card.kind == "consensus" and context.participants:
            for p in context.participants[:3]:
                add(f"{prefix}{_plain_name(p.name, p.wallet)}", profile_url(p.wallet))
        else:
            name = _plain_name(context.label or trade.name or trade.pseudonym, trade.wallet)
            add(f"{prefix}{name} on Polymarket", profile_url(trade.wallet))
    return view


def _plain_name(name: str, wallet: str) -> str:
    """A button label: plain text (labels render no markdown), with the wallet for 0x names."""
    text = " ".join(name.split())[:32]
    if not text or looks_like_wallet(text):
        return f"{text[:14]} {short_wallet(wallet)}".strip() if text else short_wallet(wallet)
    return text

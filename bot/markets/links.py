"""Polymarket links pasted into /market: which market or event they name. Pure.

A user's most natural input is the address bar. Polymarket's market pages come in three
forms: ``/event/<event>`` (an event: one market, or several under one question),
``/event/<event>/<market>`` (one market of an event) and ``/market/<market>``. Anything around
the path (``www.``, ``http``, a language prefix such as ``/zh``, ``?tid=…`` or a ``#fragment``)
is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

HOSTS = frozenset({"polymarket.com", "www.polymarket.com"})
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE_RE = re.compile(r"^[a-z]{2}(?:-[a-z]{2})?$")
MAX_SLUG = 300


@dataclass(frozen=True)
class MarketLink:
    """A market slug (``/market/…`` or ``/event/…/<market>``) or an event slug (``/event/…``)."""

    event_slug: str = ""
    market_slug: str = ""


def looks_like_link(text: str) -> bool:
    """True for anything that names Polymarket's site, so a bad link gets a link's error."""
    lowered = text.strip().lower()
    return lowered.startswith(("http://", "https://")) or lowered.split("/", 1)[0] in HOSTS


def parse_market_link(text: str) -> MarketLink | None:
    """The market or event a Polymarket URL names, or None when ``text`` is not one."""
    raw = text.strip()
    if not looks_like_link(raw):
        return None
    parts = urlsplit(raw if "://" in raw else f"https://{raw}")
    if (parts.hostname or "").lower() not in HOSTS:
        return None
    segments = [s.lower() for s in parts.path.split("/") if s]
    if segments and LANGUAGE_RE.match(segments[0]):
        segments = segments[1:]  # /zh/event/…, /pt-br/market/…
    if len(segments) < 2 or not all(_slug(s) for s in segments[1:3]):
        return None
    kind, slugs = segments[0], segments[1:]
    if kind == "market" and len(slugs) == 1:
        return MarketLink(market_slug=slugs[0])
    if kind == "event" and len(slugs) == 1:
        return MarketLink(event_slug=slugs[0])
    if kind == "event" and len(slugs) == 2:
        return MarketLink(event_slug=slugs[0], market_slug=slugs[1])
    return None


def _slug(segment: str) -> bool:
    return len(segment) <= MAX_SLUG and bool(SLUG_RE.match(segment))

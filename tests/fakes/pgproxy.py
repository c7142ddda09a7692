"""A TCP proxy in front of PostgreSQL that a test can take down or freeze.

The test database is shared by the whole session, so it cannot be stopped for one test; the
bot connects through this proxy instead, and the proxy plays the outage:

* ``down()``: every connection is reset and new ones are refused, as when PostgreSQL stops.
* ``freeze()``: connections stay open but no byte moves in either direction, and new
  connections are accepted but never answered, as when PostgreSQL hangs (SIGSTOP, a full disk,
  a network partition).
* ``up()``: back to forwarding (a frozen connection resumes where it was).

It speaks no PostgreSQL: it moves bytes, so the bot's real driver sees real failures. The
upstream may be a TCP ``host:port`` or the Unix socket of the embedded server.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs, urlsplit, urlunsplit


class PostgresProxy:
    def __init__(self, dsn: str) -> None:
        parts = urlsplit(dsn)
        self._dsn = parts
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        self._unix = f"{socket_dir}/.s.PGSQL.{parts.port or 5432}" if socket_dir else None
        self._tcp = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def dsn(self) -> str:
        """The same database, through the proxy (TCP on 127.0.0.1)."""
        user = self._dsn.username or "postgres"
        return urlunsplit(("postgresql", f"{user}@127.0.0.1:{self.port}", self._dsn.path, "", ""))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._flowing.set()
        await self._close_server()
        self._reset_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def down(self) -> None:
        await self._close_server()
        self._reset_all()

    def freeze(self) -> None:
        self._flowing.clear()

    async def up(self) -> None:
        self._flowing.set()
        if self._server is None:
            await self.start()

    async def _close_server(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            transport = writer.transport
            transport.abort()  # RST, like a server that went away
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        await self._flowing.wait()  # frozen: accepted, never answered
        try:
            if self._unix is not None:
                up_reader, up_writer = await asyncio.open_unix_connection(self._unix)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self._tcp)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await source.read(65536):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        with contextlib.suppress(OSError):
            sink.close()

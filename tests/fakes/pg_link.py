"""A network link to PostgreSQL that a test can cut or freeze, as an outage does.

The bot connects to :attr:`PostgresLink.dsn` (TCP on 127.0.0.1) and every byte is relayed to the
real server (the test session's embedded PostgreSQL, on its Unix socket). :meth:`cut` drops every
connection without a goodbye and refuses new ones until :meth:`restore` (PostgreSQL down or
restarting); :meth:`freeze` stops relaying bytes, both ways, until :meth:`thaw` (PostgreSQL hung, a
network partition): queries neither fail nor answer. The server itself is never touched, so other
databases of the session are unaffected.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

CHUNK = 65_536


class PostgresLink:
    def __init__(self, dsn: str) -> None:
        parts = urlsplit(dsn)
        query = parse_qs(parts.query)
        self._upstream_dsn = dsn
        self._socket_dir = query.get("host", [None])[0]
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 5432
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.refusing = False
        self.dsn = ""
        self.connections = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(self._upstream_dsn)
        user = parts.username or "postgres"
        netloc = f"{user}:{parts.password or ''}@127.0.0.1:{port}"
        self.dsn = urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cut(self) -> None:
        """PostgreSQL goes away: every connection drops, new ones are refused."""
        self.refusing = True
        self._flowing.set()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.refusing = False

    def freeze(self) -> None:
        """PostgreSQL hangs: nothing is relayed (connections stay open) until ``thaw``."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._socket_dir:
            path = Path(self._socket_dir) / f".s.PGSQL.{self._port}"
            return await asyncio.open_unix_connection(str(path))
        return await asyncio.open_connection(self._host, self._port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        await self._flowing.wait()
        try:
            up_reader, up_writer = await self._open_upstream()
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers.update((writer, up_writer))
        relays = [
            asyncio.create_task(self._relay(reader, up_writer)),
            asyncio.create_task(self._relay(up_reader, writer)),
        ]
        self._tasks.update(relays)
        await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
        for task in relays:
            task.cancel()
        for end in (writer, up_writer):
            end.transport.abort()
            self._writers.discard(end)
        self._tasks.difference_update(relays)

    async def _relay(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(CHUNK):
                await self._flowing.wait()
                if self.refusing:
                    return
                sink.write(data)
                await sink.drain()

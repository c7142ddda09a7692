"""A network link to PostgreSQL that a test can cut, freeze or partition, as outages do.

The test session's PostgreSQL is shared by every test, so it cannot be stopped for one of them;
the bot connects to :attr:`PostgresLink.dsn` (TCP on 127.0.0.1) instead, and every byte is
relayed to the real server (its Unix socket, or a TCP address). The link plays the outage:

* :meth:`cut`: every connection drops without a goodbye and new ones are refused until
  :meth:`restore` (PostgreSQL down or restarting).
* :meth:`freeze`: nothing is relayed, both ways, until :meth:`thaw`; new connections are
  accepted but not answered (PostgreSQL hung: SIGSTOP, a full disk). Queries neither fail nor
  answer.
* :meth:`partition`: the client's side goes silent (bytes dropped, sockets kept open) and,
  ``server_gives_up`` seconds later, the server's side is closed, as the server's TCP keepalive
  does on a real network partition (it then drops the session and its advisory locks).

It speaks no PostgreSQL: it moves bytes, so the bot's real driver sees real failures.
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
        self._clients: set[asyncio.StreamWriter] = set()
        self._upstreams: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.refusing = False
        self.partitioned = False
        self.dsn = ""
        self.port = 0
        self.connections = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(self._upstream_dsn)
        user = parts.username or "postgres"
        netloc = f"{user}:{parts.password or ''}@127.0.0.1:{self.port}"
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
        for writer in [*self._clients, *self._upstreams]:
            writer.transport.abort()
        self._clients.clear()
        self._upstreams.clear()

    def restore(self) -> None:
        """Back to relaying: new connections are accepted, a frozen link resumes."""
        self.refusing = False
        self.partitioned = False
        self._flowing.set()

    def freeze(self) -> None:
        """PostgreSQL hangs: nothing is relayed (connections stay open) until ``thaw``."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def partition(self, server_gives_up: float) -> None:
        """Drop every byte both ways; after ``server_gives_up`` s close the server's side only
        (the client's sockets stay open and silent, as on a cut network)."""
        self.partitioned = True
        await asyncio.sleep(server_gives_up)
        for upstream in list(self._upstreams):
            upstream.close()

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
        self._clients.add(writer)
        self._upstreams.add(up_writer)
        relays = [
            asyncio.create_task(self._relay(reader, up_writer)),
            asyncio.create_task(self._relay(up_reader, writer)),
        ]
        self._tasks.update(relays)
        _, pending = await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
        if self.partitioned and pending:
            # a cut network carries no close either way: the server learns of a client that
            # went away only when partition() plays its keepalive giving up
            await asyncio.wait(pending)
        for task in relays:
            task.cancel()
        if not self.partitioned:  # a partitioned client keeps a silent socket
            writer.transport.abort()
        up_writer.transport.abort()
        self._clients.discard(writer)
        self._upstreams.discard(up_writer)
        self._tasks.difference_update(relays)

    async def _relay(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(CHUNK):
                await self._flowing.wait()
                if self.refusing:
                    return
                if self.partitioned:
                    continue  # dropped on the floor, like packets on a cut link
                sink.write(data)
                await sink.drain()

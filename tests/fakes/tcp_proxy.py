"""A byte-for-byte TCP proxy in front of PostgreSQL that can cut the network, for tests.

Why: a leader "partitioned from PostgreSQL" sees its queries go unanswered while the server,
after its TCP keepalives fail, drops the session (and with it the advisory lock). A real
partition needs firewall rules; this proxy reproduces both sides of it: :meth:`partition`
stops forwarding in both directions while keeping the client's socket open (silence, not a
close), and after ``server_gives_up`` seconds closes the server-side socket, as the server's
keepalive would. The target may be a TCP address or a Unix socket (the embedded PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib


class PartitionableProxy:
    def __init__(self, *, unix_path: str | None = None, host: str = "", port: int = 0) -> None:
        self._unix_path = unix_path
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.partitioned = False
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for client, upstream in self._pairs:
            client.close()
            upstream.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def partition(self, server_gives_up: float) -> None:
        """Stop forwarding; after ``server_gives_up`` s close the server-side sockets only."""
        self.partitioned = True
        await asyncio.sleep(server_gives_up)
        for _, upstream in self._pairs:
            upstream.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._unix_path is not None:
            up_reader, up_writer = await asyncio.open_unix_connection(self._unix_path)
        else:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._pairs.append((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                if self.partitioned:
                    continue  # dropped on the floor, like packets on a cut link
                sink.write(data)
                await sink.drain()
        if not self.partitioned:
            sink.close()

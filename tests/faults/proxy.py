"""A TCP proxy the test controls, in front of PostgreSQL (TCP or the embedded server's socket).

`cut()` drops every open connection and refuses new ones (a crashed or restarting database);
`restore()` lets connections through again. Used to make PostgreSQL unreachable without
touching the server other tests share.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import make_url


class PostgresProxy:
    def __init__(self, upstream_url: str) -> None:
        url = make_url(upstream_url)
        self.upstream = url
        socket_dir = url.query.get("host")
        self._unix = f"{socket_dir}/.s.PGSQL.{url.port or 5432}" if socket_dir else None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.open = True
        self.port = 0

    @property
    def url(self) -> str:
        """`upstream_url`, reaching the same database through the proxy."""
        return (self.upstream.set(host="127.0.0.1", port=self.port, query={})).render_as_string(
            hide_password=False
        )

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _connect_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._unix is not None:
            return await asyncio.open_unix_connection(self._unix)
        return await asyncio.open_connection(self.upstream.host, self.upstream.port or 5432)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        up_reader, up_writer = await self._connect_upstream()
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        self._writers -= {writer, up_writer}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if not self.open:
                    break
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def cut(self) -> None:
        self.open = False
        for writer in list(self._writers):
            transport = writer.transport
            transport.abort()  # RST, as a crashed server or a broken network does
        self._writers.clear()

    def restore(self) -> None:
        self.open = True

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


@contextlib.asynccontextmanager
async def postgres_proxy(upstream_url: str) -> AsyncIterator[PostgresProxy]:
    proxy = PostgresProxy(upstream_url)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()

"""The HTTP clients of the channels: a few connections, kept, taken in turn.

httpx's connection pool does work at every request that grows with the requests waiting in it
times its connections (each waiting request looks at every connection; each idle connection
counts them all), and polls every idle socket. With its defaults (100 connections, 20 kept
alive) and the intake handling up to 256 people at once, a busy ``serve`` spent most of its CPU
there, and closed and opened connections all the time (bench/whatsapp.py: bench/README.md).
Here requests wait for a connection on an :class:`asyncio.Semaphore` in front of the pool, so
the pool never holds more waiting requests than it has connections, and every connection is
kept alive.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
from telegram.request import HTTPXRequest

#: Requests in flight to the Graph API (and connections kept open). A reply takes the Graph
#: API ~0.1–0.3 s, so 16 carry ~50–150 messages a second, about Meta's default rate per number
#: (80): more wait their turn here rather than in httpx's pool.
CONNECTIONS = 16
#: How long an idle connection is kept, in seconds.
KEEPALIVE_S = 30.0


class _Released(httpx.AsyncByteStream):
    """A response's body that gives its turn back once closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class TakenInTurn(httpx.AsyncBaseTransport):
    """A transport that lets ``slots`` requests through at a time, each until its body closes."""

    def __init__(self, inner: httpx.AsyncBaseTransport, slots: int) -> None:
        self._inner = inner
        self._slots = asyncio.Semaphore(slots)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Wait for a turn, send ``request``; the turn is held until the response is closed."""
        await self._slots.acquire()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self._slots.release()
            raise
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)  # an async transport's body
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Released(stream, self._slots.release),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close the transport under it."""
        await self._inner.aclose()


def graph_client(
    timeout: httpx.Timeout,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    connections: int = CONNECTIONS,
) -> httpx.AsyncClient:
    """An :class:`httpx.AsyncClient` for the Graph API (``transport``: tests' fake)."""
    if transport is None:
        limits = httpx.Limits(
            max_connections=connections,
            max_keepalive_connections=connections,
            keepalive_expiry=KEEPALIVE_S,
        )
        transport = httpx.AsyncHTTPTransport(limits=limits)
    return httpx.AsyncClient(timeout=timeout, transport=TakenInTurn(transport, connections))


class BotApiRequest(HTTPXRequest):
    """python-telegram-bot's HTTP client for sends, with the same turns in front of its pool.

    Telegram's sends went through ``HTTPXRequest(connection_pool_size=256)``: the pool's
    per-request work grew with the waiting requests, as the Graph API client's did
    (bench/README.md, "whatsapp.py"). The client is built again after a shutdown, so the
    transport is made anew each time.
    """

    def __init__(self, connections: int = CONNECTIONS) -> None:
        """Let ``connections`` requests through at a time, each on a kept connection."""
        self._connections = connections
        super().__init__(connection_pool_size=connections)

    def _build_client(self) -> httpx.AsyncClient:
        options = dict(self._client_kwargs)
        options.pop("limits", None)
        options.pop("transport", None)
        proxy = options.pop("proxy", None)
        limits = httpx.Limits(
            max_connections=self._connections,
            max_keepalive_connections=self._connections,
            keepalive_expiry=KEEPALIVE_S,
        )
        transport = httpx.AsyncHTTPTransport(
            limits=limits, proxy=proxy, http1=options["http1"], http2=options["http2"]
        )
        return httpx.AsyncClient(**options, transport=TakenInTurn(transport, self._connections))

"""The Graph API's client: requests beyond its connections wait their turn in front of httpx."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from service.graph_http import BotApiRequest, TakenInTurn, graph_client


async def test_no_more_requests_in_flight_than_connections() -> None:
    in_flight, most = [0], [0]

    async def slow(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        await asyncio.sleep(0.01)
        in_flight[0] -= 1
        return httpx.Response(200, json={"ok": True})

    async with graph_client(
        httpx.Timeout(5.0), transport=httpx.MockTransport(slow), connections=3
    ) as client:
        answers = await asyncio.gather(*(client.post("http://graph/x") for _ in range(12)))
    assert [answer.json() for answer in answers] == [{"ok": True}] * 12
    assert most[0] == 3


async def test_a_turn_is_given_back_on_an_error_and_once_the_body_is_closed() -> None:
    calls = [0]

    def flaky(request: httpx.Request) -> httpx.Response:
        calls[0] += 1
        if calls[0] % 2:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, content=b"done")

    transport = TakenInTurn(httpx.MockTransport(flaky), 1)
    async with httpx.AsyncClient(transport=transport) as client:
        # One turn only: were it not given back, the next request would wait forever.
        async with asyncio.timeout(2):
            for _ in range(3):
                with contextlib.suppress(httpx.ConnectError):
                    await client.post("http://graph/x")
                assert (await client.post("http://graph/x")).content == b"done"


def test_the_default_client_keeps_every_connection_it_opens() -> None:
    client = graph_client(httpx.Timeout(5.0), connections=7)
    transport = client._transport
    assert isinstance(transport, TakenInTurn)
    pool = transport._inner._pool  # type: ignore[attr-defined]
    assert pool._max_connections == 7
    assert pool._max_keepalive_connections == 7


async def test_the_bot_api_client_takes_turns_and_is_built_anew_after_a_shutdown() -> None:
    request = BotApiRequest(connections=5)
    first = request._client
    transport = first._transport
    assert isinstance(transport, TakenInTurn)
    pool = transport._inner._pool  # type: ignore[attr-defined]
    assert (pool._max_connections, pool._max_keepalive_connections) == (5, 5)
    await request.initialize()
    await request.shutdown()
    await request.initialize()  # python-telegram-bot builds its client again
    again = request._client
    assert again is not first and not again.is_closed
    assert again._transport is not transport and isinstance(again._transport, TakenInTurn)
    await request.shutdown()

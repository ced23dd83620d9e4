"""The fake Graph API over HTTP: an ASGI app for uvicorn, so a real ``serve`` process reaches it.

``graph_app`` serves a :class:`~channels.whatsapp.fake_api.server.FakeGraphApi` at
``/{version}/{phone_number_id}/messages`` (and ``/media``), as the Cloud API does: point the
bot at it with ``MISTRI_WHATSAPP_API_URL=http://127.0.0.1:<port>/v21.0``. Used by the
benchmarks (``bench/serving.py``) and the tests that run ``serve`` as a process
(``tests/service/kill_harness.py``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from channels.whatsapp.fake_api.server import FakeGraphApi

#: Told of every message request: (the recipient's WhatsApp id, the JSON body, the HTTP
#: status answered). Called in the server's event loop, after the fake answered it.
OnMessage = Callable[[str, dict[str, Any], int], None]


def graph_app(
    api: FakeGraphApi, *, on_message: OnMessage | None = None, keep_calls: bool = True
) -> Starlette:
    """An ASGI app serving ``api`` at ``/{version}/{phone_number_id}/{messages,media}``.

    ``keep_calls``: False forgets the fake's record of each call once answered (a long
    benchmark keeps its own, through ``on_message``, and the fake's would only grow).
    """

    async def graph(request: Request) -> Response:
        try:
            raw = await request.body()
        except ClientDisconnect:  # the bot's process died sending it: it never arrived
            return Response(status_code=400)
        answer = api.handle(
            httpx.Request("POST", str(request.url), headers=request.headers.raw, content=raw)
        )
        if not keep_calls:
            api.calls.clear()
        if on_message is not None and request.url.path.rstrip("/").endswith("/messages"):
            with contextlib.suppress(ValueError):
                body = json.loads(raw)
                if isinstance(body, dict) and "to" in body:
                    on_message(str(body["to"]), body, answer.status_code)
        return Response(answer.content, answer.status_code, media_type="application/json")

    return Starlette(routes=[Route("/{version}/{number}/{kind}", graph, methods=["POST"])])

"""The fake Bot API over HTTP: an ASGI app for uvicorn, so a real ``serve`` process reaches it.

``bot_api_app`` serves a :class:`~channels.telegram.fake_api.server.FakeBotApi` at
``/bot{token}/{method}``, as Telegram serves its Bot API: the parameters form-encoded (as
python-telegram-bot sends them) or JSON, the answer Telegram's JSON. Point a bot at it with
``MISTRI_TELEGRAM_BASE_URL=http://127.0.0.1:<port>/bot``. Used by the benchmarks
(``bench/serving.py``) and the tests that run ``serve`` as a process
(``tests/service/kill_harness.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from channels.telegram.fake_api.markup import error_body
from channels.telegram.fake_api.request import AnswerLost
from channels.telegram.fake_api.server import FakeBotApi

#: Told of every call that names a chat: (chat id, method, the parameters as received, the
#: HTTP status answered). Called in the server's event loop, after the fake carried it out.
OnCall = Callable[[str, str, dict[str, Any], int], None]


def bot_api_app(
    api: FakeBotApi, *, on_call: OnCall | None = None, token: str | None = None
) -> Starlette:
    """An ASGI app serving ``api`` at ``/bot{token}/{method}``.

    ``token``: the only token taken (others are answered 401 Unauthorized, as Telegram
    does); None takes any. A call whose answer the fake was told to lose
    (``time_out_next``) is carried out and answered 504, which the bot reads as a network
    failure.
    """

    async def method(request: Request) -> JSONResponse:
        if token is not None and request.path_params["token"] != token:
            return JSONResponse(error_body(401, "Unauthorized", None), 401)
        try:
            params = await _params(request)
        except ClientDisconnect:  # the bot's process died sending it: it never arrived
            return JSONResponse({}, 400)
        name = request.path_params["method"]
        try:
            status, body = await api.handle(name, params)
        except AnswerLost:
            status, body = 504, error_body(504, "Gateway Timeout", None)
        if on_call is not None and params.get("chat_id") is not None:
            on_call(str(params["chat_id"]), name, params, status)
        return JSONResponse(body, status)

    return Starlette(routes=[Route("/bot{token}/{method}", method, methods=["GET", "POST"])])


async def _params(request: Request) -> dict[str, Any]:
    """The call's parameters: a JSON object, a form-encoded body, or the query string."""
    raw = await request.body()
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        try:
            found = json.loads(raw or b"{}")
        except ValueError:
            found = {}
        return dict(found) if isinstance(found, dict) else {}
    params = dict(request.query_params)
    params.update(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
    return params

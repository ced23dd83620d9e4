"""A real HTTP server speaking the Bot API from a FakeBotApi, for black-box tests.

Point python-telegram-bot (or ``mistri-bot run`` via ``MISTRI_TELEGRAM_BASE_URL``) at the URL
yielded by ``serve_bot_api``; it serves ``POST|GET /bot<token>/<method>`` with bodies encoded
as python-telegram-bot's HTTPXRequest sends them (``application/x-www-form-urlencoded``, or
``multipart/form-data`` when files are uploaded) and also plain JSON bodies.

Requests are handled by a ``ThreadingHTTPServer`` and executed on one private asyncio loop
thread, so a getUpdates long poll never blocks other calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from channels.telegram.fake_api import FakeBotApi

__all__ = ["parse_body", "serve_bot_api"]

_HANDLE_TIMEOUT = 120.0


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Decode a Bot API request body into raw (still JSON-encoded) parameters."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}
    if mime == "application/json":
        data = json.loads(body)
        return data if isinstance(data, dict) else {}
    if mime == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        params: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            if part.get_filename() is not None:
                params[name] = payload  # an uploaded file: keep the bytes
            elif isinstance(payload, bytes):
                params[name] = payload.decode(part.get_content_charset() or "utf-8")
        return params
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


class _BotApiServer(ThreadingHTTPServer):
    """ThreadingHTTPServer carrying the fake API and the loop that runs it."""

    daemon_threads = True

    def __init__(self, api: FakeBotApi, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api
        self.loop = loop


class _Handler(BaseHTTPRequestHandler):
    """Serves /bot<token>/<method> from the server's FakeBotApi."""

    server: _BotApiServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: request lines contain the token."""

    def do_GET(self) -> None:
        """Bot API methods may be called with GET and query parameters."""
        self._serve(b"")

    def do_POST(self) -> None:
        """Bot API methods called with a form, multipart or JSON body."""
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length) if length else b"")

    def _serve(self, body: bytes) -> None:
        """Route one request to the fake API and write its JSON answer."""
        url = urlsplit(self.path)
        segments = url.path.strip("/").split("/")
        if len(segments) != 2 or not segments[0].startswith("bot") or len(segments[0]) <= 3:
            self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            params.update(parse_body(self.headers.get("Content-Type", ""), body))
        except ValueError:
            self._reply(400, {"ok": False, "error_code": 400, "description": "Bad Request"})
            return
        future = asyncio.run_coroutine_threadsafe(
            self.server.api.handle(segments[1], params), self.server.loop
        )
        try:
            status, answer = future.result(_HANDLE_TIMEOUT)
        except Exception:  # the server is shutting down (cancelled) or the fake crashed
            future.cancel()
            answer = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            status = 500
        self._reply(status, answer)

    def _reply(self, status: int, answer: dict[str, Any]) -> None:
        """Send a JSON response."""
        payload = json.dumps(answer, ensure_ascii=False).encode()
        with contextlib.suppress(OSError):  # the client went away (e.g. cancelled long poll)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)


@contextlib.contextmanager
def serve_bot_api(api: FakeBotApi) -> Iterator[str]:
    """Serve ``api`` over HTTP on a free 127.0.0.1 port; yield the ``…/bot`` base URL."""
    loop = asyncio.new_event_loop()
    loop_thread = threading.Thread(target=loop.run_forever, name="fake-bot-api-loop", daemon=True)
    loop_thread.start()
    server = _BotApiServer(api, loop)
    server_thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    server_thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bot"
    finally:
        server.shutdown()
        server.server_close()
        server_thread.join()

        async def _cancel_pending() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(_cancel_pending(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        loop_thread.join()
        loop.close()

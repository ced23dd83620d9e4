"""Carry python-telegram-bot's calls to a ``FakeBotApi`` without sockets: params and uploads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    from channels.telegram.fake_api.server import FakeBotApi


class AnswerLost(Exception):
    """The call was carried out, but its answer is lost on the way back (the bot times out)."""


#: The largest file a bot may upload (multipart/form-data).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

# Parameters Telegram always treats as strings: never JSON-decode them, even when they look
# like numbers or JSON (a message text "123" or "[1]" must stay text).
_STRING_PARAMS = frozenset(
    {
        "action",
        "address",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "currency",
        "description",
        "emoji",
        "explanation",
        "first_name",
        "inline_message_id",
        "last_name",
        "language_code",
        "message_effect_id",
        "name",
        "parse_mode",
        "payload",
        "phone_number",
        "provider_token",
        "question",
        "secret_token",
        "short_description",
        "start_parameter",
        "text",
        "title",
        "url",
        "vcard",
    }
)
_JSON_START = frozenset('{["-0123456789tfn')


@dataclass(frozen=True, slots=True)
class Upload:
    """A file uploaded with a call (a multipart/form-data part), as the server received it."""

    filename: str
    content: bytes
    mime_type: str | None = None


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return Bot API params with JSON-encoded values (markup, ids, booleans) decoded."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if (
            isinstance(value, str)
            and value
            and value[0] in _JSON_START
            and key not in _STRING_PARAMS
        ):  # a JSON-encoded value (form-encoded HTTP, or a str passed via api_kwargs)
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        else:
            params[key] = value
    return params


def _uploads(request_data: RequestData) -> dict[str, Upload]:
    """The files of a request, by part name (the parameter, or an attach:// name)."""
    uploads: dict[str, Upload] = {}
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        data = content.read() if hasattr(content, "read") else content
        uploads[name] = Upload(filename or name, bytes(data), mime_type)
    return uploads


class OfflineRequest(BaseRequest):
    """python-telegram-bot networking backend that answers from a ``FakeBotApi``, no sockets."""

    __slots__ = ("_api", "_read_timeout")

    def __init__(self, api: FakeBotApi, read_timeout: float | None = 5.0) -> None:
        """Route requests to ``api``; ``read_timeout`` only matters when ``api.delay`` is set."""
        self._api = api
        self._read_timeout = read_timeout

    @property
    def api(self) -> FakeBotApi:
        """The fake server behind this request object."""
        return self._api

    @property
    def read_timeout(self) -> float | None:
        """Default read timeout; PTB adds getUpdates' ``timeout`` to it for long polls."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def do_request(  # noqa: PLR0917 - signature fixed by BaseRequest
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer the Bot API method named by the last path segment of ``url``."""
        api_method = url.rsplit("/", 1)[-1]
        params: Mapping[str, Any] = request_data.parameters if request_data is not None else {}
        if request_data is not None and request_data.contains_files:
            # Files travel as multipart parts beside the other parameters, as over HTTP.
            params = {**params, **_uploads(request_data)}
        timeout = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        call = self._api.handle(api_method, params)
        try:
            if self._api.delay > 0 and timeout is not None and self._api.delay > timeout:
                try:
                    status, body = await asyncio.wait_for(call, timeout)
                except TimeoutError:
                    raise TimedOut from None
            else:
                status, body = await call
        except AnswerLost:
            raise TimedOut from None  # done, but the bot never hears so
        return status, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

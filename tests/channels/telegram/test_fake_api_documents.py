"""sendDocument on the offline Bot API: multipart uploads through PTB, checks, the demo's line."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

from channels.telegram.bot import MistriBot
from channels.telegram.channel import TelegramChannel
from channels.telegram.fake_api import FakeBotApi, OfflineRequest, Upload
from channels.telegram.inbound import address
from conversations.outbound import Document
from service.demo import CUSTOMER_ID, Terminal

USER = 880_1712_345
TOKEN = "123:ABC"
CONTENT = '{"name": "রহিম"}'.encode()


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(token=TOKEN, request=OfflineRequest(api)) as offline_bot:
        yield offline_bot


async def test_an_uploaded_file_is_recorded_and_answered_as_a_document(
    bot: Bot, api: FakeBotApi
) -> None:
    sent = await bot.send_document(
        USER,
        InputFile(CONTENT, filename="mistri-data-2026-11-25.json"),
        caption="<b>Everything</b> we hold",
        parse_mode=ParseMode.HTML,
    )
    assert isinstance(sent, Message)
    assert sent.document is not None
    assert sent.document.file_name == "mistri-data-2026-11-25.json"
    assert sent.document.mime_type == "application/json"
    assert sent.document.file_size == len(CONTENT)
    assert sent.caption == "Everything we hold"
    call = api.last_message(USER)
    assert call is not None and call.method == "sendDocument"
    assert call.params["document"] == Upload(
        "mistri-data-2026-11-25.json", CONTENT, "application/json"
    )
    assert call.message_id == sent.message_id


async def test_a_file_id_can_be_sent_again(bot: Bot) -> None:
    first = await bot.send_document(USER, InputFile(io.BytesIO(CONTENT), filename="a.json"))
    assert first.document is not None
    again = await bot.send_document(USER, first.document.file_id)
    assert again.document is not None
    assert again.document.file_unique_id == first.document.file_unique_id


@pytest.mark.parametrize(
    ("document", "kwargs", "error"),
    [
        ("no-such-file-id", {}, "wrong file identifier"),
        (InputFile(b"", filename="empty.json"), {}, "must be non-empty"),
        (InputFile(CONTENT, filename="a.json"), {"caption": "x" * 1025}, "caption is too long"),
        (
            InputFile(CONTENT, filename="a.json"),
            {"caption": "<script>", "parse_mode": ParseMode.HTML},
            "Unsupported start tag",
        ),
    ],
)
async def test_what_telegram_refuses_is_refused(
    bot: Bot, document: object, kwargs: dict[str, object], error: str
) -> None:
    with pytest.raises(BadRequest, match="(?i)" + error):
        await bot.send_document(USER, document, **kwargs)  # type: ignore[arg-type]


async def test_the_channel_delivers_a_document_effect(api: FakeBotApi) -> None:
    async with MistriBot(token=TOKEN, request=OfflineRequest(api)) as mistri:
        sent = await TelegramChannel(mistri).send_document(
            address(USER), Document("a.json", CONTENT, caption="A &amp; B")
        )
    message_id = int(sent.message_id)
    call = api.last_message(USER)
    assert call is not None and call.message_id == message_id
    assert call.params["caption"] == "A &amp; B" and call.params["parse_mode"] == "HTML"
    stored = api.message(USER, message_id)
    assert stored is not None and stored["caption"] == "A & B"


async def test_the_demo_shows_a_file_by_name_and_size(api: FakeBotApi) -> None:
    out = io.StringIO()
    terminal = Terminal(api, out)
    async with MistriBot(token=TOKEN, request=OfflineRequest(api)) as mistri:
        await TelegramChannel(mistri).send_document(
            address(CUSTOMER_ID), Document("mistri-data-2026-11-25.json", CONTENT, "Hi")
        )
    terminal.show_new()
    assert (
        out.getvalue()
        == f"  [bot → you] 📎 mistri-data-2026-11-25.json ({len(CONTENT)} bytes)\n  Hi\n"
    )

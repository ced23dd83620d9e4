"""FakeBotApi / OfflineRequest / HTTP fake: python-telegram-bot round-trips without a network."""

from __future__ import annotations

import asyncio
import datetime as dtm
import threading
from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, EndPointNotFound, Forbidden, RetryAfter, TimedOut
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from channels.telegram.fake_api import (
    BOT_BLOCKED,
    FLOOD_WAIT,
    ApiCall,
    FakeBotApi,
    OfflineRequest,
    decode_params,
)
from tests.fakes.http_bot_api import parse_body, serve_bot_api

USER = 880_1712_345
OTHER = 880_1812_999
TOKEN = "123:ABC"


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(
        token=TOKEN, request=OfflineRequest(api), get_updates_request=OfflineRequest(api)
    ) as offline_bot:
        yield offline_bot


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("বৈদ্যুতিক", callback_data="svc:electric")],
            [InlineKeyboardButton("Plumbing", callback_data="svc:plumbing")],
        ]
    )


# --------------------------------------------------------------------------- Bot round-trips


async def test_get_me_on_initialize(bot: Bot, api: FakeBotApi) -> None:
    assert bot.id == 7000000001
    assert bot.username == "mistri_demo_bot"
    assert bot.first_name == "Mistri"
    assert bot.bot.can_join_groups is True
    assert api.calls[0] == ApiCall("getMe", {})


async def test_send_message_with_inline_keyboard_round_trips(bot: Bot, api: FakeBotApi) -> None:
    markup = _keyboard()
    first = await bot.send_message(USER, "কোন সেবা লাগবে?", reply_markup=markup)
    second = await bot.send_message(USER, "আবার")

    assert isinstance(first, Message)
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.chat.id == USER
    assert first.chat.type == "private"
    assert first.from_user is not None
    assert first.from_user.id == bot.id
    assert first.from_user.is_bot
    assert first.text == "কোন সেবা লাগবে?"
    assert first.reply_markup == markup
    assert isinstance(first.date, dtm.datetime)
    assert second.reply_markup is None

    call = api.sent_to(USER)[0]
    assert call.method == "sendMessage"
    assert call.params["chat_id"] == USER
    assert call.params["reply_markup"] == markup.to_dict()
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "svc:electric"
    last = api.last_message(USER)
    assert last is not None
    assert last.params["text"] == "আবার"
    assert api.texts(USER) == ["কোন সেবা লাগবে?", "আবার"]
    assert api.sent_to(OTHER) == []


async def test_reply_keyboard_request_contact_is_recorded(bot: Bot, api: FakeBotApi) -> None:
    markup = ReplyKeyboardMarkup(
        [[KeyboardButton("📱 নম্বর দিন", request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    message = await bot.send_message(USER, "ফোন নম্বর দিন", reply_markup=markup)

    assert message.reply_markup is None  # Telegram only echoes inline keyboards
    params = api.sent_to(USER)[0].params
    assert isinstance(params["reply_markup"], dict)
    assert params["reply_markup"]["keyboard"] == [
        [{"text": "📱 নম্বর দিন", "request_contact": True}]
    ]
    assert params["reply_markup"]["one_time_keyboard"] is True


async def test_send_location_and_edits(bot: Bot, api: FakeBotApi) -> None:
    location = await bot.send_location(USER, latitude=23.8103, longitude=90.4125)
    assert location.location is not None
    assert location.location.latitude == pytest.approx(23.8103)

    sent = await bot.send_message(USER, "<b>Booked</b> &amp; paid", parse_mode="HTML")
    assert sent.text == "Booked & paid"

    edited = await bot.edit_message_text(
        "Choose", chat_id=USER, message_id=sent.message_id, reply_markup=_keyboard()
    )
    assert isinstance(edited, Message)
    assert edited.text == "Choose"
    assert edited.edit_date is not None
    assert edited.reply_markup == _keyboard()

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "Choose", chat_id=USER, message_id=sent.message_id, reply_markup=_keyboard()
        )

    cleared = await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id)
    assert isinstance(cleared, Message)
    assert cleared.reply_markup is None
    stored = api.message(USER, sent.message_id)
    assert stored is not None
    assert "reply_markup" not in stored

    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_reply_markup(chat_id=USER, message_id=999)

    assert await bot.delete_message(USER, sent.message_id) is True
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    assert [c.method for c in api.sent_to(USER)] == [
        "sendLocation",
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
    ]


async def test_telegram_validation(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br"'):
        await bot.send_message(USER, "line<br>line", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't find end tag"):
        await bot.send_message(USER, "<b>open", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(
            USER,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("b", callback_data="ক" * 22)]]
            ),
        )
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, "a" * 4097)
    assert await bot.send_message(USER, "1 &lt; 2", parse_mode="HTML")


async def test_commands_descriptions_and_misc(bot: Bot, api: FakeBotApi) -> None:
    assert await bot.set_my_commands([("start", "শুরু"), ("help", "সাহায্য")], language_code="bn")
    assert await bot.set_my_commands([("start", "Start")])
    commands = await bot.get_my_commands(language_code="bn")
    assert [(c.command, c.description) for c in commands] == [("start", "শুরু"), ("help", "সাহায্য")]
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert api.commands("bn")[1] == {"command": "help", "description": "সাহায্য"}
    assert await bot.set_my_description("Book a mistri")
    assert await bot.set_my_short_description("Mistri Services")
    assert (await bot.get_my_description()).description == "Book a mistri"
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.answer_callback_query("1234", text="ok")
    with pytest.raises(EndPointNotFound):  # Telegram: 404 "Not Found"
        await bot.do_api_request("noSuchMethod")


# ------------------------------------------------------------------------ fault injection


async def test_fail_next_forbidden(bot: Bot, api: FakeBotApi) -> None:
    api.fail_next(USER, 403, BOT_BLOCKED)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(USER, "hi")
    assert api.calls[-1].status == 403
    assert api.sent_to(USER) == []
    assert (await bot.send_message(USER, "hi")).text == "hi"  # only the next call fails


async def test_fail_next_retry_after(
    bot: Bot, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB 22: int retry_after is deprecated
    api.fail_next(None, 429, FLOOD_WAIT, retry_after=7, times=2)
    for chat in (OTHER, USER):
        with pytest.raises(RetryAfter) as excinfo:
            await bot.send_message(chat, "hi")
        assert excinfo.value.retry_after == dtm.timedelta(seconds=7)
    assert await bot.send_message(USER, "hi")


async def test_fail_next_is_per_chat_and_bad_request(bot: Bot, api: FakeBotApi) -> None:
    api.fail_next(USER, 400, "Bad Request: chat not found")
    assert await bot.send_message(OTHER, "unaffected")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(USER, "hi")
    with pytest.raises(ValueError, match="retry_after"):
        api.fail_next(USER, 429, "Too Many Requests")


async def test_delay_and_read_timeout(api: FakeBotApi) -> None:
    async with Bot(TOKEN, request=OfflineRequest(api, read_timeout=0.01)) as slow_bot:
        api.delay = 0.05
        with pytest.raises(TimedOut):
            await slow_bot.send_message(USER, "hi")
    assert api.sent_to(USER) == []


# ------------------------------------------------------------------------ update builders


async def test_text_update_with_command_parses(bot: Bot, api: FakeBotApi) -> None:
    update = Update.de_json(api.text_update(USER, "/start ref42"), bot)
    assert update.update_id == 1
    assert update.effective_user is not None
    assert update.effective_user.id == USER
    assert update.effective_user.first_name == "Rahim"
    assert update.effective_user.language_code == "bn"
    assert update.effective_chat is not None
    assert update.effective_chat.id == USER
    assert update.effective_chat.type == "private"
    message = update.effective_message
    assert message is not None
    assert message.text == "/start ref42"
    assert message.entities[0].type == "bot_command"
    assert (message.entities[0].offset, message.entities[0].length) == (0, 6)
    assert filters.COMMAND.check_update(update)
    assert CommandHandler("start", _noop).check_update(update)

    plain = Update.de_json(api.text_update(USER, "আমার ফ্যান নষ্ট", language_code="en"), bot)
    assert plain.update_id == 2
    assert plain.effective_message is not None
    assert plain.effective_message.message_id == 2  # same per-chat sequence
    assert not filters.COMMAND.check_update(plain)
    assert plain.effective_user is not None
    assert plain.effective_user.language_code == "en"

    mention = Update.de_json(api.text_update(USER, "/help@mistri_demo_bot"), bot)
    assert mention.effective_message is not None
    assert mention.effective_message.entities[0].length == len("/help@mistri_demo_bot")
    assert CommandHandler("help", _noop).check_update(mention)


async def _noop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    return None


async def test_callback_update_carries_the_bot_message(bot: Bot, api: FakeBotApi) -> None:
    sent = await bot.send_message(USER, "কোন সেবা?", reply_markup=_keyboard())
    update = Update.de_json(api.callback_update(USER, "svc:electric", sent.message_id), bot)
    query = update.callback_query
    assert query is not None
    assert query.data == "svc:electric"
    assert query.from_user.id == USER
    assert query.chat_instance
    assert isinstance(query.message, Message)
    assert query.message.message_id == sent.message_id
    assert query.message.text == "কোন সেবা?"
    assert query.message.reply_markup == _keyboard()
    assert update.effective_user is not None
    assert update.effective_user.id == USER
    assert update.effective_chat is not None
    assert update.effective_chat.id == USER

    unknown = Update.de_json(api.callback_update(USER, "x", 77), bot)
    assert unknown.callback_query is not None
    assert isinstance(unknown.callback_query.message, Message)
    assert unknown.callback_query.message.message_id == 77
    assert unknown.callback_query.id != query.id
    assert await query.answer()


async def test_media_updates_parse(
    bot: Bot, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    contact = Update.de_json(api.contact_update(USER, "+8801712345678", USER), bot).message
    assert contact is not None
    assert contact.contact is not None
    assert contact.contact.phone_number == "+8801712345678"
    assert contact.contact.user_id == USER

    foreign = Update.de_json(api.contact_update(USER, "01812345678", None), bot).message
    assert foreign is not None
    assert foreign.contact is not None
    assert foreign.contact.user_id is None

    located = Update.de_json(api.location_update(USER, 23.78, 90.41), bot).message
    assert located is not None
    assert located.location is not None
    assert (located.location.latitude, located.location.longitude) == (23.78, 90.41)

    sticker = Update.de_json(api.sticker_update(USER), bot).message
    assert sticker is not None
    assert sticker.sticker is not None
    assert sticker.sticker.type == "regular"
    assert filters.Sticker.ALL.check_update(Update.de_json(api.sticker_update(USER), bot))

    photo = Update.de_json(api.photo_update(USER, caption="ভাঙা পাইপ"), bot).message
    assert photo is not None
    assert len(photo.photo) == 3
    assert photo.caption == "ভাঙা পাইপ"

    voice = Update.de_json(api.voice_update(USER), bot).message
    assert voice is not None
    assert voice.voice is not None
    assert voice.voice.duration == dtm.timedelta(seconds=3)

    with pytest.raises(BadRequest, match=r"(?i)can't be edited"):
        await bot.edit_message_text("x", chat_id=USER, message_id=contact.message_id)


# ---------------------------------------------------------------------------- getUpdates


async def test_get_updates_offsets_and_long_poll(bot: Bot, api: FakeBotApi) -> None:
    first, second = api.text_update(USER, "a"), api.text_update(USER, "b")
    api.enqueue(first)
    api.enqueue(second)
    assert [u.update_id for u in await bot.get_updates()] == [1, 2]
    assert [u.update_id for u in await bot.get_updates(offset=2)] == [2]  # >= offset
    assert api.pending_updates == 1  # update 1 is confirmed
    assert await bot.get_updates(offset=3) == ()
    assert api.pending_updates == 0

    # A long poll in this loop is woken by an update enqueued from another thread.
    later = api.text_update(OTHER, "late")
    timer = threading.Timer(0.1, api.enqueue, args=(later,))
    timer.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    updates = await bot.get_updates(offset=3, timeout=5)
    timer.join()
    assert [u.update_id for u in updates] == [later["update_id"]]
    assert loop.time() - started < 2

    started = loop.time()
    short_poll = dtm.timedelta(seconds=0.2)
    assert await bot.get_updates(offset=later["update_id"] + 1, timeout=short_poll) == ()
    assert loop.time() - started >= 0.15


async def test_application_polls_and_replies(api: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            "স্বাগতম", reply_markup=_keyboard(), do_quote=False
        )

    app = (
        Application.builder()
        .token(TOKEN)
        .request(OfflineRequest(api))
        .get_updates_request(OfflineRequest(api))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    api.enqueue(api.text_update(USER, "/start"))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        for _ in range(200):
            if api.sent_to(USER):
                break
            await asyncio.sleep(0.01)
        api.enqueue(api.text_update(OTHER, "/start"))
        for _ in range(200):
            if api.sent_to(OTHER):
                break
            await asyncio.sleep(0.01)
        await app.updater.stop()
        await app.stop()
    assert api.texts(USER) == ["স্বাগতম"]
    assert api.texts(OTHER) == ["স্বাগতম"]
    assert api.pending_updates == 0  # the updater confirmed what it processed


# -------------------------------------------------------------------------------- decoding


def test_decode_params_keeps_text_and_decodes_json() -> None:
    decoded = decode_params(
        {
            "chat_id": "-100123",
            "text": "123",
            "reply_markup": '{"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}',
            "disable_notification": "true",
            "latitude": "23.5",
            "parse_mode": "HTML",
            "caption": "[not json",
        }
    )
    assert decoded == {
        "chat_id": -100123,
        "text": "123",
        "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]},
        "disable_notification": True,
        "latitude": 23.5,
        "parse_mode": "HTML",
        "caption": "[not json",
    }


def test_parse_body_formats() -> None:
    assert parse_body("application/x-www-form-urlencoded", b"chat_id=5&text=a%26b") == {
        "chat_id": "5",
        "text": "a&b",
    }
    assert parse_body("application/json", b'{"chat_id": 5}') == {"chat_id": 5}
    multipart = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="chat_id"\r\n\r\n'
        b"5\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="caption"\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + "ছবি".encode() + b"\r\n--XyZ\r\n"
        b'Content-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n"
        b"\xff\xd8\xff\r\n"
        b"--XyZ--\r\n"
    )
    assert parse_body("multipart/form-data; boundary=XyZ", multipart) == {
        "chat_id": "5",
        "caption": "ছবি",
        "photo": b"\xff\xd8\xff",
    }


# ----------------------------------------------------------------------------- HTTP server


async def test_http_server_speaks_bot_api(api: FakeBotApi) -> None:
    with serve_bot_api(api) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/bot")
        async with Bot(TOKEN, base_url=base_url) as http_bot:
            assert http_bot.username == "mistri_demo_bot"

            sent = await http_bot.send_message(
                USER, "<i>১২৩</i>", parse_mode="HTML", reply_markup=_keyboard()
            )
            assert sent.text == "১২৩"
            assert sent.reply_markup == _keyboard()
            call = api.sent_to(USER)[0]
            assert call.params["chat_id"] == USER  # form-encoded "8801712345" decoded to int
            assert call.params["text"] == "<i>১২৩</i>"
            assert call.params["reply_markup"] == _keyboard().to_dict()

            digits = await http_bot.send_message(USER, "42")
            assert digits.text == "42"  # not turned into a number by the form decoding

            # A long poll must not block other requests.
            poll = asyncio.create_task(http_bot.get_updates(timeout=5))
            await asyncio.sleep(0.1)
            assert await http_bot.send_message(OTHER, "meanwhile")
            assert not poll.done()
            update = api.text_update(USER, "/start")
            api.enqueue(update)
            updates = await asyncio.wait_for(poll, 3)
            assert [u.update_id for u in updates] == [update["update_id"]]
            assert updates[0].message is not None
            assert updates[0].message.text == "/start"

            api.fail_next(USER, 403, BOT_BLOCKED)
            with pytest.raises(Forbidden):
                await http_bot.send_message(USER, "hi")
            with pytest.raises(EndPointNotFound):
                await http_bot.do_api_request("noSuchMethod")

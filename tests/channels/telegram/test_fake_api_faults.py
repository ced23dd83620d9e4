"""The fake Bot API's faults: by method, after the work is done, lost answers, upgraded groups."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, NetworkError, TimedOut

from channels.telegram.fake_api import FakeBotApi, OfflineRequest

USER = 5_001_001
GROUP = -500
SUPERGROUP = -1_001_234_567_890
TOKEN = "123:ABC"


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(token=TOKEN, request=OfflineRequest(api)) as offline_bot:
        yield offline_bot


def stored_ids(api: FakeBotApi, chat: int) -> list[int]:
    ids, message_id = [], 1
    while message_id < 50:
        if api.message(chat, message_id) is not None:
            ids.append(message_id)
        message_id += 1
    return ids


async def test_a_method_fails_n_times_and_others_go_through(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next(USER, 500, "Internal Server Error", times=2, method="sendLocation")
    await bot.send_message(USER, "text goes")
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_location(USER, 23.8, 90.4)
    pin = await bot.send_location(USER, 23.8, 90.4)
    assert stored_ids(api, USER) == [1, pin.message_id]  # the failed pins never arrived
    assert [(c.method, c.status) for c in api.calls if c.method != "getMe"] == [
        ("sendMessage", 200),
        ("sendLocation", 500),
        ("sendLocation", 500),
        ("sendLocation", 200),
    ]


async def test_a_5xx_after_the_work_was_done_leaves_the_message(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next(USER, 500, "Internal Server Error", method="sendMessage", delivered=True)
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "maybe")
    assert api.message(USER, 1) is not None and api.message(USER, 1)["text"] == "maybe"
    assert (api.calls[-1].status, api.calls[-1].message_id) == (500, 1)


async def test_a_lost_answer_is_a_timeout_with_the_message_delivered(
    api: FakeBotApi, bot: Bot
) -> None:
    api.time_out_next(USER, method="sendMessage")
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "arrived")
    assert api.message(USER, 1)["text"] == "arrived"  # type: ignore[index]
    assert (api.calls[-1].status, api.calls[-1].message_id) == (0, 1)
    assert api.sent_to(USER) == []  # the bot never heard of it
    again = await bot.send_message(USER, "arrived")
    assert again.message_id == 2


async def test_an_identical_edit_is_not_modified_only_on_the_bots_own_message(
    api: FakeBotApi, bot: Bot
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Accept", callback_data="a:1")]])
    await bot.send_message(USER, "<b>Job</b>", parse_mode="HTML", reply_markup=keyboard)
    api.text_update(USER, "hello")  # message 2: the user's
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text(
            "<b>Job</b>", chat_id=USER, message_id=1, parse_mode="HTML", reply_markup=keyboard
        )
    with pytest.raises(BadRequest, match="can't be edited"):
        await bot.edit_message_text("<b>Job</b>", chat_id=USER, message_id=2, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("<b>Job</b>", chat_id=USER, message_id=3, parse_mode="HTML")
    # Other buttons are a change: the edit goes through.
    await bot.edit_message_text("<b>Job</b>", chat_id=USER, message_id=1, parse_mode="HTML")


async def test_an_upgraded_group_answers_with_its_new_id(api: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(GROUP, "before")
    api.migrate_group(GROUP, SUPERGROUP)
    with pytest.raises(ChatMigrated) as raised:
        await bot.send_message(GROUP, "after")
    assert raised.value.new_chat_id == SUPERGROUP
    sent = await bot.send_message(SUPERGROUP, "after")
    assert sent.chat.type == "supergroup"
    assert api.texts(SUPERGROUP) == ["after"]

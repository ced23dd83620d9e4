"""FakeBotApi additions for erasure tests: Telegram's 48-hour deletion rule, group updates."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, Update
from telegram.error import BadRequest

from channels.telegram.fake_api import FakeBotApi, OfflineRequest

USER = 9_001_001
GROUP = -100500


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(clock: Clock) -> AsyncIterator[tuple[Bot, FakeBotApi]]:
    api = FakeBotApi(clock=clock)
    async with Bot(token="123:ABC", request=OfflineRequest(api)) as offline_bot:
        yield offline_bot, api


async def test_messages_older_than_48_hours_cannot_be_deleted(
    bot: tuple[Bot, FakeBotApi], clock: Clock
) -> None:
    client, api = bot
    young = await client.send_message(USER, "young")
    old = await client.send_message(USER, "old")
    clock.now += 47 * 3600
    assert await client.delete_message(USER, young.message_id) is True
    clock.now += 1 * 3600
    with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
        await client.delete_message(USER, old.message_id)
    assert api.message(USER, old.message_id) is not None
    # Still editable, as on Telegram.
    await client.edit_message_text("redacted", chat_id=USER, message_id=old.message_id)

    fresh = await client.send_message(USER, "fresh")
    api.delete_window = 0
    with pytest.raises(BadRequest, match=r"(?i)can't be deleted"):
        await client.delete_message(USER, fresh.message_id)
    assert [(c.method, c.status) for c in api.calls if c.method == "deleteMessage"] == [
        ("deleteMessage", 200),
        ("deleteMessage", 400),
        ("deleteMessage", 400),
    ]


async def test_group_updates(bot: tuple[Bot, FakeBotApi]) -> None:
    client, api = bot
    said = Update.de_json(api.group_text_update(GROUP, USER, "/audit", "Nadia", "en"), client)
    assert said.message is not None
    assert said.message.chat.id == GROUP and said.message.chat.type == "group"
    assert said.message.from_user is not None and said.message.from_user.id == USER
    assert said.message.text == "/audit"
    sent = await client.send_message(GROUP, "confirm?")
    pressed = Update.de_json(
        api.group_callback_update(GROUP, USER, "op:keep", sent.message_id), client
    )
    query = pressed.callback_query
    assert query is not None and query.message is not None
    assert query.message.chat.id == GROUP and query.message.message_id == sent.message_id
    assert query.from_user.id == USER and query.data == "op:keep"

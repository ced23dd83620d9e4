"""TelegramChannel renders what a message means: a replacement edits, or degrades to a new one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from channels.telegram.bot import MistriBot
from channels.telegram.channel import TelegramChannel
from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.telegram.inbound import address
from conversations.outbound import Button, Outbound
from tests.conftest import TOKEN

CHAT = 9_002_001
OFFER = Outbound("New job", buttons=((Button("Accept", "job:acc:1"),),))


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def channel(api: FakeBotApi) -> AsyncIterator[TelegramChannel]:
    bot = MistriBot(TOKEN, request=OfflineRequest(api))
    await bot.initialize()
    yield TelegramChannel(bot)
    await bot.shutdown()


async def test_a_replacement_edits_the_message_in_place(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    first = await channel.send(address(CHAT), OFFER)
    again = await channel.send(address(CHAT), Outbound("You accepted", replaces=first.message_id))
    assert first.message_id is not None and again.message_id == first.message_id
    shown = api.message(CHAT, int(first.message_id))
    assert shown is not None and shown["text"] == "You accepted"


async def test_a_replacement_telegram_cannot_edit_is_said_anew(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    # The message to replace is gone (deleted, or past what Telegram lets a bot edit):
    # the meaning still reaches the chat, as a new message.
    sent = await channel.send(address(CHAT), Outbound("You accepted", replaces="424242"))
    assert sent.message_id is not None and sent.message_id != "424242"
    shown = api.message(CHAT, int(sent.message_id))
    assert shown is not None and shown["text"] == "You accepted"

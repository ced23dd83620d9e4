"""The fake numbers messages as Telegram does for a bot: one counter, supergroups their own."""

from __future__ import annotations

from channels.telegram.fake_api import FakeBotApi

USER = 5_001_001
OTHER = 5_001_002
GROUP = -500
SUPERGROUP = -1_001_234_567_890


async def send(api: FakeBotApi, chat: int, text: str) -> int:
    status, body = await api.handle("sendMessage", {"chat_id": chat, "text": text})
    assert status == 200
    return int(body["result"]["message_id"])


async def test_private_chats_and_basic_groups_share_the_bots_counter() -> None:
    api = FakeBotApi()
    assert await send(api, USER, "a") == 1
    assert api.text_update(OTHER, "hi")["message"]["message_id"] == 2
    assert await send(api, GROUP, "b") == 3
    assert api.group_text_update(GROUP, USER, "c")["message"]["message_id"] == 4
    assert await send(api, USER, "d") == 5
    assert [m["message_id"] for m in api.messages(USER)] == [1, 5]
    # An id of another chat is not found in this one, as on Telegram.
    status, body = await api.handle(
        "editMessageText", {"chat_id": USER, "message_id": 2, "text": "x"}
    )
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")


async def test_a_supergroup_counts_its_own_ids() -> None:
    api = FakeBotApi()
    await send(api, USER, "a")
    await send(api, USER, "b")
    assert await send(api, SUPERGROUP, "c") == 1
    api.migrate_group(GROUP, -1_009_999_999_999)
    assert await send(api, -1_009_999_999_999, "d") == 1
    assert await send(api, USER, "e") == 3


async def test_each_chat_may_count_its_own() -> None:
    api = FakeBotApi(shared_ids=False)
    assert [await send(api, USER, "a"), await send(api, OTHER, "b")] == [1, 1]

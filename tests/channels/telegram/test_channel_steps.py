"""TelegramChannel: each part a step, copies of unknown outcomes found, a moved group named.

The probe for copies (``channels/telegram/copies.py``) must never land on a message of the bot
that the channel does not know: those tests put one where a careless probe would reach it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import Update
from telegram.error import NetworkError, TimedOut

from app.ports import Moved, Progress, Retry, Sent
from channels.telegram.bot import MistriBot
from channels.telegram.channel import TelegramChannel, outcome_unknown
from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.telegram.inbound import address
from conversations.outbound import Button, Outbound
from tests.conftest import TOKEN

CHAT = 9_001_001
OTHER = 9_001_002  # another private chat: its ids come from the same counter as CHAT's
SUPERGROUP = -1_001_234_567_890  # counts its own ids
CARD = Outbound("<b>Customer</b> — MS-1\nRahim", location=(23.81, 90.41))
OFFER = Outbound("New job", buttons=((Button("Accept", "job:acc:1"),),))
UNKNOWN_TEXT = "Customer — MS-0: Karim, 01812345678"  # another customer's card


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[MistriBot]:
    bot = MistriBot(TOKEN, request=OfflineRequest(api))
    await bot.initialize()
    yield bot
    await bot.shutdown()


def new_channel(bot: MistriBot, **options: Any) -> TelegramChannel:
    """A channel as the offline runtime makes it (the fake carries requests out at once)."""
    return TelegramChannel(bot, **{"settle": 0.0, **options})


@pytest.fixture
def channel(bot: MistriBot) -> TelegramChannel:
    return new_channel(bot)


def chat_holds(api: FakeBotApi, chat: int = CHAT) -> list[str]:
    """What the chat shows, in order: texts, and ``pin`` for a location."""
    return [message.get("text", "pin") for message in api.messages(chat)]


def probes(api: FakeBotApi) -> list[int]:
    """The ids editMessageText was asked about, in order."""
    return [c.params["message_id"] for c in api.calls if c.method == "editMessageText"]


async def send_directly(api: FakeBotApi, chat: int, text: str) -> int:
    """A message of the bot the channel never heard of (an earlier life, another process)."""
    status, body = await api.handle("sendMessage", {"chat_id": chat, "text": text})
    assert status == 200
    return int(body["result"]["message_id"])


def comes_in(channel: TelegramChannel, bot: MistriBot, update: dict[str, Any]) -> None:
    """An update reaches the runtime, which shows it to the channel first."""
    channel.saw(Update.de_json(update, bot))


async def timed_out(channel: TelegramChannel, message: Outbound, chat: int = CHAT) -> Progress:
    """Send ``message`` into a lost answer (it is in the chat); return what the failure says."""
    with pytest.raises(Retry) as failed:
        await channel.send(address(chat), message)
    return failed.value.progress


# ------------------------------------------------------------------------------ parts as steps


async def test_a_failed_pin_carries_the_text_sent_and_its_retry_sends_only_the_pin(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next(CHAT, 500, "Internal Server Error", method="sendLocation")
    with pytest.raises(Retry) as failed:
        await channel.send(address(CHAT), CARD)
    assert failed.value.progress.sent == Sent("1", None)
    sent = await channel.send(address(CHAT), CARD, progress=failed.value.progress)
    assert sent == Sent("1", "2")
    assert chat_holds(api) == [CARD.text.replace("<b>", "").replace("</b>", ""), "pin"]


async def test_an_error_answer_says_nothing_arrived(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.fail_next(CHAT, 429, "Too Many Requests: retry after 3", retry_after=3)
    with pytest.raises(Retry) as failed:
        await channel.send(address(CHAT), OFFER)
    assert failed.value.progress == Progress()


async def test_a_timed_out_pin_is_sent_again_alone(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.time_out_next(CHAT, method="sendLocation")
    with pytest.raises(Retry) as failed:
        await channel.send(address(CHAT), CARD)
    assert failed.value.progress == Progress(Sent("1", None), unsure=1)
    sent = await channel.send(address(CHAT), CARD, progress=failed.value.progress)
    assert sent == Sent("1", "3")
    # A pin has no text to compare: its copy (2) stays unknown (docs/privacy.md says so).
    assert [c.method for c in api.calls if c.method.startswith("send")].count("sendMessage") == 1


# ---------------------------------------------------------------------- copies that are found


async def test_a_timed_out_text_is_sent_again_and_its_copy_found(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    await channel.send(address(CHAT), Outbound("earlier"))  # 1: known to the channel
    api.time_out_next(CHAT, method="sendMessage")
    progress = await timed_out(channel, OFFER)  # 2: delivered, answer lost
    assert (progress.sent, progress.unsure) == (Sent(None), 1)
    assert progress.since is not None  # the floor (1) goes with the row, to be stored
    sent = await channel.send(address(CHAT), OFFER, progress=progress)
    assert sent == Sent("3", None, copies=("2",))
    # The probe asked only message 2, with the very same text and buttons: nothing changed.
    assert probes(api) == [2]
    assert chat_holds(api) == ["earlier", "New job", "New job"]
    assert api.message(CHAT, 2)["reply_markup"] == api.message(CHAT, 3)["reply_markup"]  # type: ignore[index]


async def test_the_copy_is_found_across_other_chats_and_incoming_messages(
    api: FakeBotApi, bot: MistriBot, channel: TelegramChannel
) -> None:
    """(c) Private chats share one counter: other chats' ids and what came in lie in between."""
    await channel.send(address(OTHER), Outbound("hello"))  # 1, in another chat: the floor
    api.text_update(OTHER, "not seen yet")  # 2: another chat's message, not yet come in
    api.time_out_next(CHAT, method="sendMessage")
    progress = await timed_out(channel, OFFER)  # 3: the copy
    await channel.send(address(OTHER), Outbound("a reply elsewhere"))  # 4: known
    comes_in(channel, bot, api.text_update(CHAT, "the technician writes"))  # 5: seen
    sent = await channel.send(address(CHAT), OFFER, progress=progress)  # 6
    assert sent == Sent("6", None, copies=("3",))
    # 2 is not in this chat ("not found"): harmless; 4 and 5 are known and never asked.
    assert probes(api) == [2, 3]
    assert chat_holds(api) == ["New job", "the technician writes", "New job"]
    assert chat_holds(api, OTHER) == ["hello", "not seen yet", "a reply elsewhere"]


async def test_a_supergroup_counts_its_own_ids(api: FakeBotApi, channel: TelegramChannel) -> None:
    for n in range(5):  # ids 1…5 of the bot's own counter: not the supergroup's
        await channel.send(address(CHAT), Outbound(f"private {n}"))
    await channel.send(address(SUPERGROUP), Outbound("order MS-1"))  # 1 in the supergroup
    api.time_out_next(SUPERGROUP, method="sendMessage")
    progress = await timed_out(channel, OFFER, SUPERGROUP)  # 2
    sent = await channel.send(address(SUPERGROUP), OFFER, progress=progress)
    assert sent == Sent("3", None, copies=("2",))
    assert probes(api) == [2]


async def test_a_copy_is_sought_only_after_an_unknown_outcome(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.text_update(CHAT, "the technician writes")  # 1
    api.fail_next(CHAT, 429, "Too Many Requests: retry after 1", retry_after=1)
    with pytest.raises(Retry) as failed:
        await channel.send(address(CHAT), OFFER)
    await channel.send(address(CHAT), OFFER, progress=failed.value.progress)  # 2
    assert probes(api) == []


async def test_the_probe_leaves_the_bots_other_messages_and_the_users_alone(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.text_update(CHAT, "before the bot's last message")  # 1
    await channel.send(address(CHAT), Outbound("reply the bot knows"))  # 2
    api.fail_next(CHAT, 502, "Bad Gateway", method="sendMessage")  # not delivered after all
    with pytest.raises(Retry) as failed:
        await channel.send(address(CHAT), OFFER)
    api.text_update(CHAT, "the technician writes")  # 3
    await channel.send(address(CHAT), Outbound("another reply"))  # 4
    sent = await channel.send(address(CHAT), OFFER, progress=failed.value.progress)  # 5
    assert sent == Sent("5", None)
    # Above the floor (2), never the bot's own known ones; 3 is the user's: refused.
    assert probes(api) == [3]
    assert chat_holds(api) == [
        "before the bot's last message",
        "reply the bot knows",
        "the technician writes",
        "another reply",
        "New job",
    ]


# ------------------------------------------------------- messages a probe must never change


async def test_a_message_of_an_earlier_life_above_an_incoming_id_keeps_its_text(
    api: FakeBotApi, bot: MistriBot
) -> None:
    """(a) An id that came in is no floor until the bot's own first send of this life is in.

    The update (1) was fetched but not confirmed before the last stop, and is fetched again;
    the earlier life had answered it (2). Above 1, only 2 — another customer's card — lies
    between what the new life saw and its retry.
    """
    update = api.text_update(CHAT, "/jobs")  # 1
    await send_directly(api, CHAT, UNKNOWN_TEXT)  # 2: the earlier life's
    channel = new_channel(bot)  # this life
    comes_in(channel, bot, update)
    api.fail_next(CHAT, 502, "Bad Gateway", method="sendMessage")  # did not arrive
    with pytest.raises(Retry) as failed:
        await channel.send(address(CHAT), OFFER)
    assert failed.value.progress.since is None  # nothing of this life's own is in yet
    sent = await channel.send(address(CHAT), OFFER, progress=failed.value.progress)  # 3
    assert sent == Sent("3", None)
    assert probes(api) == []
    assert api.message(CHAT, 2)["text"] == UNKNOWN_TEXT  # type: ignore[index]


async def test_an_unsure_reply_in_the_chat_is_never_probed(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    """A reply of this life whose own answer was lost lies between the floor and the retry."""
    await channel.send(address(CHAT), Outbound("earlier"))  # 1: the floor
    api.fail_next(CHAT, 502, "Bad Gateway", method="sendMessage")  # the offer: not delivered
    with pytest.raises(Retry) as failed:
        await channel.send(address(CHAT), OFFER)
    api.time_out_next(CHAT, method="sendMessage")
    await timed_out(channel, Outbound(UNKNOWN_TEXT))  # 2: arrived, the bot never learns its id
    sent = await channel.send(address(CHAT), OFFER, progress=failed.value.progress)  # 3
    assert sent == Sent("3", None)
    assert probes(api) == []
    assert chat_holds(api) == ["earlier", UNKNOWN_TEXT, "New job"]


async def test_an_unsure_reply_stops_probes_only_until_a_later_send_shows_it_is_below(
    api: FakeBotApi, bot: MistriBot
) -> None:
    now = [0.0]
    channel = new_channel(bot, settle=60.0, clock=lambda: now[0])
    now[0] = 60.0
    await channel.send(address(CHAT), Outbound("earlier"))  # 1: a floor from now on
    api.time_out_next(CHAT, method="sendMessage")
    await timed_out(channel, Outbound(UNKNOWN_TEXT))  # 2, ended at 60 s
    now[0] = 100.0
    await channel.send(address(OTHER), Outbound("too soon to tell"))  # 3: 2 may still come
    api.time_out_next(CHAT, method="sendMessage")
    early = await timed_out(channel, OFFER)  # 4: its floor is 3
    assert await channel.send(address(CHAT), OFFER, progress=early) == Sent("5", None)
    assert probes(api) == []  # 2 might lie above the floor: no probe, the copy 4 is left
    now[0] = 121.0
    await channel.send(address(OTHER), Outbound("settled"))  # 6: 2 is below it
    api.time_out_next(CHAT, method="sendMessage")
    later = await timed_out(channel, OFFER)  # 7: its floor is 6
    assert await channel.send(address(CHAT), OFFER, progress=later) == Sent("8", None, ("7",))
    assert probes(api) == [7]
    assert api.message(CHAT, 2)["text"] == UNKNOWN_TEXT  # type: ignore[index]


async def test_after_a_restart_a_floor_of_the_earlier_life_is_not_used(
    api: FakeBotApi, bot: MistriBot
) -> None:
    """(b) The row keeps its floor; the new life no longer knows what lies above it."""
    before = new_channel(bot)
    await before.send(address(CHAT), Outbound("earlier"))  # 1
    api.time_out_next(CHAT, method="sendMessage")
    progress = await timed_out(before, OFFER)  # 2: the copy
    await before.send(address(CHAT), Outbound(UNKNOWN_TEXT))  # 3: known to that life only
    after = new_channel(bot)  # restarted: the row's progress comes from the database
    await after.send(address(OTHER), Outbound("first of the new life"))  # 4
    sent = await after.send(address(CHAT), OFFER, progress=progress)  # 5
    assert sent == Sent("5", None)  # the copy (2) is left where it is
    assert probes(api) == []
    assert chat_holds(api) == ["earlier", "New job", UNKNOWN_TEXT, "New job"]


async def test_with_no_floor_known_no_probe_runs(api: FakeBotApi, bot: MistriBot) -> None:
    """(d) The first thing this life does is the attempt of unknown outcome."""
    await send_directly(api, CHAT, UNKNOWN_TEXT)  # 1: an earlier life's
    channel = new_channel(bot)
    api.time_out_next(CHAT, method="sendMessage")
    progress = await timed_out(channel, OFFER)  # 2
    assert progress.since is None
    assert await channel.send(address(CHAT), OFFER, progress=progress) == Sent("3", None)
    assert probes(api) == []
    assert chat_holds(api) == [UNKNOWN_TEXT, "New job", "New job"]


async def test_the_probe_can_be_switched_off(api: FakeBotApi, bot: MistriBot) -> None:
    channel = new_channel(bot, find_copies=False)  # several processes send as the bot
    await channel.send(address(CHAT), Outbound("earlier"))
    api.time_out_next(CHAT, method="sendMessage")
    progress = await timed_out(channel, OFFER)
    assert await channel.send(address(CHAT), OFFER, progress=progress) == Sent("3", None)
    assert probes(api) == []


# ------------------------------------------------------------------------------ other faults


async def test_an_upgraded_group_is_moved_to_its_new_id(
    api: FakeBotApi, channel: TelegramChannel
) -> None:
    api.migrate_group(-500, -1_001_234_567_890)
    with pytest.raises(Moved) as moved:
        await channel.send(address(-500), Outbound("order"))
    assert moved.value.to == address(-1_001_234_567_890)


def test_which_failures_leave_the_outcome_unknown() -> None:
    def caused(error: NetworkError, cause: Exception) -> NetworkError:
        error.__cause__ = cause
        return error

    request = httpx.Request("POST", "https://api.telegram.org")
    assert outcome_unknown(TimedOut())
    assert outcome_unknown(NetworkError("Internal Server Error (500)"))
    assert outcome_unknown(caused(TimedOut(), httpx.ReadTimeout("read", request=request)))
    assert not outcome_unknown(caused(TimedOut(), httpx.ConnectTimeout("c", request=request)))
    assert not outcome_unknown(caused(NetworkError("x"), httpx.ConnectError("c", request=request)))

"""Least data to technicians: only the one who accepts gets the customer's contact.

Every recorded Bot API call to a technician's chat is searched (its whole parameters: text,
keyboard labels, coordinates), whatever its method and whether or not it succeeded. The job
notice describes the job (reference, service, area, problem, time); name, phone, address,
location pin and Telegram id go only to the technician who accepted.
"""

from __future__ import annotations

import json

from sqlalchemy import text

from channels.telegram.fake_api import ApiCall
from tests.conftest import Bot
from tests.privacy import scenario
from tests.privacy.checker import PersonalValues
from tests.privacy.scenario import ACCEPTS, DECLINES, SILENT

#: What identifies or locates the customer; the job's description (problem, area) is not here.
CONTACT = PersonalValues(
    texts=(
        scenario.NAME,
        *scenario.NAME.split(),
        scenario.FIRST_NAME,
        *scenario.phone_forms(),
        scenario.ADDRESS,
        "Plqkv",
        "Xanthimoor",
        *(repr(coordinate) for coordinate in scenario.PIN),
    ),
    integers=(scenario.CUSTOMER,),
)
LOCATION_METHODS = ("sendLocation", "sendVenue", "sendContact")


def calls_to(bot: Bot, chat: int) -> list[ApiCall]:
    return [call for call in bot.api.calls if call.params.get("chat_id") == chat]


def contact_in(call: ApiCall) -> list[str]:
    return CONTACT.in_text(json.dumps(call.params, ensure_ascii=False))


async def test_only_the_accepting_technician_gets_the_contact(bot: Bot) -> None:
    life = await scenario.live(bot)
    first, second, third = life.references

    # Offered, never given: the one who declined and the one who never answered.
    for technician in (DECLINES, SILENT):
        calls = calls_to(bot, technician)
        assert calls, f"technician {technician} was never offered anything"
        assert [call.method for call in calls if call.method in LOCATION_METHODS] == []
        assert {ref for ref in life.references if any(ref in str(c.params) for c in calls)}
        assert [(call.method, contact_in(call)) for call in calls if contact_in(call)] == []
    # Both really were offered jobs, with a description of the job to decide on.
    declined_notice = scenario.notices(bot.api, DECLINES, first)
    assert declined_notice and scenario.PROBLEM in str(declined_notice[0].params["text"])
    assert scenario.AREA_OTHER in str(declined_notice[0].params["text"])
    silent_notice = scenario.notices(bot.api, SILENT, third)
    assert silent_notice and scenario.PROBLEM_2 in str(silent_notice[0].params["text"])

    # The one who accepted: the notices first carried nothing, then the contact followed.
    accepted = calls_to(bot, ACCEPTS)
    for reference in (first, second):
        notice = scenario.notices(bot.api, ACCEPTS, reference)
        assert len(notice) == 1 and contact_in(notice[0]) == []
    assert any(contact_in(call) for call in accepted)  # the search does see a contact
    texts = " ".join(str(call.params.get("text", "")) for call in accepted)
    assert scenario.NAME in texts
    assert scenario.PHONE_NATIONAL in texts
    assert scenario.ADDRESS in texts
    pins = [
        (call.params["latitude"], call.params["longitude"])
        for call in accepted
        if call.method == "sendLocation"
    ]
    assert pins == [scenario.PIN]
    # Nobody else was told anything about the customer (the customer's own chat aside).
    chats = {call.params.get("chat_id") for call in bot.api.calls if "chat_id" in call.params}
    assert chats == {scenario.CUSTOMER, DECLINES, ACCEPTS, SILENT}


async def test_after_erasure_a_late_accept_gets_nothing(bot: Bot) -> None:
    life = await scenario.live(bot)
    third = life.references[2]
    notice = scenario.notices(bot.api, SILENT, third)[0]
    accept = scenario.inline_data(notice)[0]
    await scenario.delete_me(bot)

    mark = len(bot.api.calls)
    await bot.send(
        bot.api.callback_update(SILENT, accept, scenario.message_id_of(notice), "Salam", "en")
    )
    late = bot.api.calls[mark:]
    assert {call.params.get("chat_id") for call in late if "chat_id" in call.params} == {SILENT}
    assert "This job was cancelled." in " ".join(str(call.params.get("text", "")) for call in late)
    assert [call for call in late if call.method in LOCATION_METHODS or contact_in(call)] == []
    async with bot.runtime.engine.connect() as conn:
        status = (
            await conn.execute(
                text("SELECT status FROM orders WHERE reference = :r"), {"r": third}
            )
        ).scalar()
    assert status == "cancelled"

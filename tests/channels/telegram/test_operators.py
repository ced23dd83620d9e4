"""Operators' /audit and /erase, a technician's /deleteme, and job messages after an erasure.

Everything runs through the real runtime and the recording offline Bot API; the
operators' chat is a group (``ADMIN_CHAT``), as in production.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from channels.telegram.fake_api import ApiCall
from channels.telegram.inbound import address
from conversations.outbound import Outbound, to_json
from storage import customers, outbox, outbox_outcomes
from storage.models import OrderStatus, utcnow
from tests.channels.telegram.test_booking_e2e import (
    ADDRESS,
    ADMIN_CHAT,
    CUSTOMER,
    CUSTOMER_E164,
    CUSTOMER_NAME,
    CUSTOMER_PHONE,
    TECH,
    TECH_2,
    Harness,
    Person,
    Step,
    assert_all_ok,
    complete_booking,
    has_number,
    inline_data,
    message_with_button,
    text_of,
)
from tests.conftest import Bot

OPERATOR = 6_000_001
CUSTOMER_2 = 5_001_002
CUSTOMER_3 = 5_001_003
OTHER_GROUP = -100777
REDACTED = "This job's customer data was erased at their request."


@pytest.fixture
def harness(bot: Bot) -> Harness:
    return Harness(bot)


async def operator_says(harness: Harness, words: str, chat: int = ADMIN_CHAT) -> Step:
    return await harness._run(harness.api.group_text_update(chat, OPERATOR, words, "Nadia", "en"))


async def operator_presses(harness: Harness, data: str) -> Step:
    message_id = message_with_button(harness.api, ADMIN_CHAT, data)
    return await harness._run(
        harness.api.group_callback_update(
            ADMIN_CHAT, OPERATOR, data, message_id, first_name="Nadia", language_code="en"
        )
    )


async def accepted_job(
    harness: Harness, customer: Person, *, pin: bool, tech_lang: str = "en"
) -> dict[str, Any]:
    """Book as ``customer`` and have TECH accept; return the reference and TECH's message ids."""
    reference, confirm = await complete_booking(customer, pin=pin)
    accept = next(d for call in confirm.sends(TECH) for d in inline_data(call) if ":acc:" in d)
    notice_id = message_with_button(harness.api, TECH, accept)
    accepted = await harness.user(TECH, "Karim", tech_lang).press(accept, notice_id)
    sends = [call for call in accepted.to(TECH) if call.method.startswith("send")]
    contact_id = sends[0].message_id
    location_id = sends[1].message_id if pin else None
    assert CUSTOMER_NAME in text_of(sends[0])
    return {
        "reference": reference,
        "notice": notice_id,
        "contact": contact_id,
        "location": location_id,
    }


def deletes(step: Step, chat: int) -> list[tuple[int, int]]:
    """(message id, HTTP status) of each deleteMessage call to ``chat`` in a step."""
    return [
        (call.params["message_id"], call.status)
        for call in step.to(chat)
        if call.method == "deleteMessage"
    ]


def erase_button(step: Step) -> str:
    data = [d for call in step.sends(ADMIN_CHAT) for d in inline_data(call)]
    assert len(data) == 2 and data[1] == "op:keep", data
    return data[0]


async def count(bot: Bot, sql: str) -> int:
    async with bot.runtime.engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar() or 0)


def no_personal_data(call: ApiCall) -> None:
    shown = str(call.params)
    for value in (CUSTOMER_NAME, "Mirpur 10", str(CUSTOMER), str(OPERATOR), str(TECH)):
        assert value not in shown, value
    assert not has_number(shown, CUSTOMER_PHONE)
    assert "1712345678" not in shown


# ----------------------------------------------------------------------------------- /audit


async def test_audit_answers_only_in_the_operators_chat(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER)
    await accepted_job(harness, customer, pin=False)
    await customer.say("/deleteme")
    await customer.press("dr:delete:yes")

    shown = await operator_says(harness, "/audit")
    assert shown.seq(ADMIN_CHAT) == ["sendMessage"]
    log = text_of(shown.to(ADMIN_CHAT)[0])
    assert "Audit log" in log
    assert "erase · customer · customer:1 · orders=1" in log
    assert len(log) <= 4096
    no_personal_data(shown.to(ADMIN_CHAT)[0])

    # Anywhere else the command does not exist: the unknown-command answer, nothing more.
    for person in (harness.user(OPERATOR, "Nadia"), customer):
        for command in ("/audit", "/erase 01712345678"):
            step = await person.say(command)
            assert step.chats() == {person.user_id}
            answer = step.texts(person.user_id)[0]
            assert "I don't know the command" in answer
            assert "audit" not in answer.replace(command.split()[0], "")

    # Another group is not read at all; the operators' own talk is not either.
    assert (await operator_says(harness, "/audit", chat=OTHER_GROUP)).calls == []
    assert (await operator_says(harness, "call him back please")).calls == []
    helped = await operator_says(harness, "/start")
    assert "/audit" in helped.texts(ADMIN_CHAT)[0] and "/erase" in helped.texts(ADMIN_CHAT)[0]
    assert_all_ok(harness.api)


async def test_audit_of_an_empty_log(harness: Harness) -> None:
    step = await operator_says(harness, "/audit")
    assert step.texts(ADMIN_CHAT) == ["The audit log is empty."]


# ----------------------------------------------------------------------------------- /erase


@pytest.mark.parametrize("typed", [CUSTOMER_E164, CUSTOMER_PHONE, "০১৭১২-৩৪৫৬৭৮"])
async def test_operator_erases_a_customer_by_phone(harness: Harness, bot: Bot, typed: str) -> None:
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER)
    job = await accepted_job(harness, customer, pin=True)
    async with bot.runtime.db.transaction() as tx:  # someone else, with another number
        await customers.save_details(
            tx,
            person=address(CUSTOMER_2),
            lang="en",
            name="Salma",
            phone="+8801912345670",
            address=None,
            latitude=None,
            longitude=None,
        )

    asked = await operator_says(harness, f"/erase {typed}")
    assert asked.chats() == {ADMIN_CHAT}
    question = text_of(asked.sends(ADMIN_CHAT)[0])
    assert "Erase this customer's data?" in question
    assert "017••••5678" in question and "orders: 1" in question
    data = erase_button(asked)
    # The button names internal ids and a check, never the number.
    assert data.startswith("op:erase:1:") and "1712345678" not in data
    assert "1712345678" not in question

    done = await operator_presses(harness, data)
    assert "Erased" in done.texts(ADMIN_CHAT)[0]
    assert done.to(ADMIN_CHAT)[0].method == "editMessageText"  # the buttons go with it
    assert CUSTOMER not in done.chats()  # the customer is told nothing
    # The technician's messages with the contact are deleted; the job is off.
    assert sorted(deletes(done, TECH)) == sorted(
        [(job["location"], 200), (job["contact"], 200), (job["notice"], 200)]
    )
    for message_id in (job["location"], job["contact"], job["notice"]):
        assert harness.api.message(TECH, message_id) is None
    cancelled = [t for t in done.texts(TECH) if "is cancelled" in t]
    assert len(cancelled) == 1 and job["reference"] in cancelled[0]
    assert CUSTOMER_NAME not in cancelled[0]

    assert (
        await count(
            bot,
            "select count(*) from customers"
            f" where channel = 'telegram' and external_id = '{CUSTOMER}'",
        )
        == 0
    )
    assert await count(bot, "select count(*) from customers") == 1  # the bystander stays
    assert await count(bot, "select count(*) from orders where customer_id is null") == 1
    assert await count(bot, "select count(*) from orders") == 1
    assert (
        await count(
            bot,
            "select count(*) from conversation_sessions"
            f" where channel = 'telegram' and person_id = '{CUSTOMER}'",
        )
        == 0
    )
    shown = await customer.say("/mydata")
    assert "no personal data" in shown.texts(CUSTOMER)[0]

    log = text_of((await operator_says(harness, "/audit")).to(ADMIN_CHAT)[0])
    assert f"erase_by_operator · operator telegram:{OPERATOR} · customer:1" in log

    # A second press of the same button finds the customer gone: nothing happens.
    again = await harness._run(
        harness.api.group_callback_update(
            ADMIN_CHAT,
            OPERATOR,
            data,
            done.to(ADMIN_CHAT)[0].params["message_id"],
            first_name="Nadia",
            language_code="en",
        )
    )
    assert "out of date" in again.texts(ADMIN_CHAT)[0]
    assert_all_ok_but_deletes(harness)


def assert_all_ok_but_deletes(harness: Harness) -> None:
    failed = [c for c in harness.api.calls if c.status != 200 and c.method != "deleteMessage"]
    assert failed == []


async def test_every_account_with_the_number_is_erased(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH)
    # Two Telegram accounts booked with the same number (one phone, two people's apps).
    await complete_booking(harness.user(CUSTOMER))
    await complete_booking(harness.user(CUSTOMER_2, "Salma"))
    asked = await operator_says(harness, f"/erase {CUSTOMER_PHONE}")
    assert "Telegram accounts: 2 · orders: 2" in text_of(asked.sends(ADMIN_CHAT)[0])
    data = erase_button(asked)
    assert re.match(r"op:erase:\d+\.\d+:", data)  # both customers (ids: PostgreSQL skips some)
    done = await operator_presses(harness, data)
    assert "Erased" in done.texts(ADMIN_CHAT)[0]
    assert await count(bot, "select count(*) from customers") == 0
    assert await count(bot, "select count(*) from audit_events") == 2
    # Their pending notices leave the technician's chat.
    assert [status for _, status in deletes(done, TECH)] == [200, 200]


async def test_erase_of_an_unknown_or_invalid_number(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH)
    await complete_booking(harness.user(CUSTOMER))
    unknown = await operator_says(harness, "/erase 01812345670")
    assert unknown.texts(ADMIN_CHAT) == ["No one with that number: nothing was erased."]
    invalid = await operator_says(harness, "/erase 12345")
    assert "not a Bangladeshi mobile number" in invalid.texts(ADMIN_CHAT)[0]
    bare = await operator_says(harness, "/erase")
    assert bare.texts(ADMIN_CHAT)[0].startswith("Send /erase with the customer's phone")
    assert not any(inline_data(call) for call in harness.api.sent_to(ADMIN_CHAT))
    assert await count(bot, "select count(*) from customers") == 1
    assert await count(bot, "select count(*) from audit_events") == 0


async def test_erase_can_be_declined_and_a_forged_check_does_nothing(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH)
    await complete_booking(harness.user(CUSTOMER))
    await operator_says(harness, f"/erase {CUSTOMER_PHONE}")
    kept = await operator_presses(harness, "op:keep")
    assert kept.texts(ADMIN_CHAT) == ["Nothing was erased."]
    assert kept.to(ADMIN_CHAT)[0].method == "editMessageText"

    asked = await operator_says(harness, f"/erase {CUSTOMER_PHONE}")
    data = erase_button(asked)
    forged = data.rsplit(":", 1)[0] + ":00000000"
    message_id = message_with_button(harness.api, ADMIN_CHAT, data)
    step = await harness._run(
        harness.api.group_callback_update(
            ADMIN_CHAT, OPERATOR, forged, message_id, first_name="Nadia", language_code="en"
        )
    )
    assert "out of date" in step.texts(ADMIN_CHAT)[0]
    # A confirmation button pressed outside the operators' chat is ignored: no answer at all.
    outsider = await harness.user(CUSTOMER_2, "Mallory").press(data, 1)
    assert outsider.chats() == set()
    assert await count(bot, "select count(*) from customers") == 1


# ------------------------------------------------------------------- technician /deleteme


async def test_technician_deleteme(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH)
    job = await accepted_job(harness, harness.user(CUSTOMER), pin=True)
    # A second order waits on TECH's answer when he leaves.
    waiting_ref, waiting = await complete_booking(harness.user(CUSTOMER_2, "Salma"))
    waiting_accept = next(d for c in waiting.sends(TECH) for d in inline_data(c))
    waiting_notice = message_with_button(harness.api, TECH, waiting_accept)
    await bot.add_technician(TECH_2, name="Jamal Hossain", phone="+8801912345678")
    technician = harness.user(TECH, "Karim")

    asked = await technician.say("/deleteme")
    question = text_of(asked.sends(TECH)[0])
    assert "Leave Mistri Services and erase your data?" in question
    assert "name and phone number" in question and "anonymous record" in question
    assert inline_data(asked.sends(TECH)[0]) == ["tdel:yes", "dr:delete:no"]

    left = await technician.press("tdel:yes")
    assert "you will get no more jobs" in left.texts(TECH)[0]
    # His job messages go: the accepted job's notice, contact and pin, the waiting notice.
    assert sorted(deletes(left, TECH)) == sorted(
        [
            (job["location"], 200),
            (job["contact"], 200),
            (job["notice"], 200),
            (waiting_notice, 200),
        ]
    )
    # The operators hear of it by reference only.
    told = left.texts(ADMIN_CHAT)
    assert len(told) == 1
    assert "Technician #1 left" in told[0] and job["reference"] in told[0]
    for call in left.to(ADMIN_CHAT):
        no_personal_data(call)
        assert "Karim" not in str(call.params)
    # The waiting order is offered to the next technician.
    assert waiting_ref in " ".join(left.texts(TECH_2))

    async with bot.runtime.engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "select name, phone, phone_index, active, external_id from technicians"
                    " order by id"
                )
            )
        ).first()
        order = (
            await connection.execute(
                text("select status, technician_id from orders where reference = :r"),
                {"r": job["reference"]},
            )
        ).first()
        chats = (await connection.execute(text("select distinct chat_id from job_offers"))).all()
    assert row is not None and tuple(row[:4]) == (None, None, None, 0)
    assert row[4] is None  # no one is reached there any more (was a placeholder id below 0)
    assert order is not None and tuple(order) == (OrderStatus.UNASSIGNED, None)
    assert str(TECH) not in {chat for (chat,) in chats}

    # Never offered anything again.
    later = await complete_booking(harness.user(CUSTOMER_3, "Rina"))
    assert TECH not in later[1].chats()
    assert TECH_2 in later[1].chats()
    jobs = await technician.say("/jobs")
    assert "registered technicians" in jobs.texts(TECH)[0]
    again = await technician.say("/deleteme")
    assert inline_data(again.sends(TECH)[0]) == ["dr:delete:yes", "dr:delete:no"]

    log = text_of((await operator_says(harness, "/audit")).to(ADMIN_CHAT)[0])
    assert "technician_erase · technician · technician:1 · jobs_unassigned=1" in log
    assert_all_ok(harness.api)


# ------------------------------------------------------------- job messages after /deleteme


async def test_customer_deleteme_deletes_the_job_messages(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER)
    job = await accepted_job(harness, customer, pin=True)
    await customer.say("/deleteme")
    erased = await customer.press("dr:delete:yes")
    assert "erased" in erased.texts(CUSTOMER)[0]
    assert sorted(deletes(erased, TECH)) == sorted(
        [(job["location"], 200), (job["contact"], 200), (job["notice"], 200)]
    )
    for message_id in (job["location"], job["contact"], job["notice"]):
        assert harness.api.message(TECH, message_id) is None
    assert [call.method for call in erased.to(TECH)][-1] == "sendMessage"
    assert "is cancelled" in erased.texts(TECH)[-1]
    assert_all_ok(harness.api)


async def test_jobs_answers_and_corrected_contacts_go_with_the_customer(
    harness: Harness, bot: Bot
) -> None:
    """What shows the contact again later (/jobs, a corrected address) is deleted too."""
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER)
    job = await accepted_job(harness, customer, pin=False)
    technician = harness.user(TECH, "Karim")
    listed = await technician.say("/jobs")
    [listing] = [call.message_id for call in listed.sends(TECH)]
    assert CUSTOMER_NAME in text_of(listed.sends(TECH)[0])
    # On the way edits the listing in place: still the one message to remove.
    order_id = int(inline_data(listed.sends(TECH)[0])[0].split(":")[2])
    way = await technician.press(f"job:way:{order_id}", listing)
    assert way.seq(TECH) == ["answerCallbackQuery", "editMessageText"]
    await customer.say("/mydata")
    await customer.press("dr:fix:address")
    moved = await customer.share_location(23.75, 90.39)
    corrected = [call.message_id for call in moved.to(TECH)]
    assert [call.method for call in moved.to(TECH)] == ["sendMessage", "sendLocation"]

    await customer.say("/deleteme")
    erased = await customer.press("dr:delete:yes")
    removed = [job["contact"], job["notice"], listing, *corrected]
    assert sorted(deletes(erased, TECH)) == sorted((message, 200) for message in removed)
    for message_id in removed:
        assert harness.api.message(TECH, message_id) is None
    assert_all_ok(harness.api)


@pytest.mark.parametrize("refused", [False, True])
async def test_the_operators_copy_goes_with_the_customer(
    harness: Harness, bot: Bot, refused: bool
) -> None:
    """An order the operators got with the contact (no technician took it) is removed too."""
    customer = harness.user(CUSTOMER)
    reference, confirm = await complete_booking(customer)  # no technician: escalated
    [escalation] = [call.message_id for call in confirm.sends(ADMIN_CHAT)]
    assert CUSTOMER_NAME in text_of(confirm.sends(ADMIN_CHAT)[0])
    if refused:
        harness.api.delete_window = 0  # as if it were over 48 hours old
    await customer.say("/deleteme")
    erased = await customer.press("dr:delete:yes")

    assert deletes(erased, ADMIN_CHAT) == [(escalation, 400 if refused else 200)]
    shown = harness.api.message(ADMIN_CHAT, escalation)
    if not refused:
        assert shown is None
        assert_all_ok(harness.api)
        return
    assert shown is not None
    assert REDACTED in shown["text"] and reference in shown["text"]
    assert CUSTOMER_NAME not in shown["text"] and ADDRESS not in shown["text"]
    assert not has_number(shown["text"], CUSTOMER_PHONE)
    assert "reply_markup" not in shown
    assert_all_ok_but_deletes(harness)


async def test_job_messages_are_redacted_where_deletion_is_refused(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER)
    job = await accepted_job(harness, customer, pin=True)
    harness.api.delete_window = 0  # as if the messages were over 48 hours old
    await customer.say("/deleteme")
    erased = await customer.press("dr:delete:yes")

    assert sorted(deletes(erased, TECH)) == sorted(
        [(job["location"], 400), (job["contact"], 400), (job["notice"], 400)]
    )
    edits = {
        call.params["message_id"]: text_of(call)
        for call in erased.to(TECH)
        if call.method == "editMessageText"
    }
    assert set(edits) == {job["contact"], job["notice"]}
    for message_id in (job["contact"], job["notice"]):
        shown = harness.api.message(TECH, message_id)
        assert shown is not None
        assert REDACTED in shown["text"] and job["reference"] in shown["text"]
        assert CUSTOMER_NAME not in shown["text"] and ADDRESS not in shown["text"]
        assert not has_number(shown["text"], CUSTOMER_PHONE)
        assert "reply_markup" not in shown
    # A pin has no text: the first redacted message asks the technician to delete it.
    assert "location pin" in edits[job["contact"]]
    assert "location pin" not in edits[job["notice"]]
    assert "is cancelled" in erased.texts(TECH)[-1]
    assert_all_ok_but_deletes(harness)


async def test_redacted_in_the_technicians_language(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH, lang="bn")
    customer = harness.user(CUSTOMER)
    job = await accepted_job(harness, customer, pin=False, tech_lang="bn")
    harness.api.delete_window = 0
    await customer.say("/deleteme")
    await customer.press("dr:delete:yes")
    shown = harness.api.message(TECH, job["contact"])
    assert shown is not None
    assert REDACTED not in shown["text"] and "গ্রাহক" in shown["text"]


async def test_a_contact_sent_while_its_customer_is_erased_is_deleted(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER)
    await accepted_job(harness, customer, pin=True)
    # A contact notice is on its way (read by the worker) when the customer is erased. The
    # background loop stops first: the test plays the worker's part itself.
    assert bot.runtime.worker is not None
    await bot.runtime.worker.close()
    async with bot.runtime.db.transaction() as tx:
        stored = await customers.get(tx, person=address(CUSTOMER))
        assert stored is not None
        body = to_json(Outbound("contact", location=(23.8, 90.4)))
        row_id = await outbox.enqueue(
            tx, to=address(TECH), kind="contact", body=body, customer_id=stored.id
        )
    async with bot.runtime.db.read() as tx:
        [in_flight] = [row for row in await outbox.due(tx, now=utcnow()) if row.id == row_id]
    async with bot.runtime.db.transaction() as tx:  # the worker holds it: no one else sends it
        await outbox_outcomes.retry_later(
            tx, outbox_id=row_id, due_at=utcnow() + timedelta(days=1)
        )
    await customer.say("/deleteme")
    await customer.press("dr:delete:yes")
    mark = len(harness.api.calls)
    assert bot.runtime.worker is not None
    await bot.runtime.worker._send(in_flight)
    calls = [(c.method, c.status) for c in harness.api.calls[mark:]]
    assert calls == [
        ("sendMessage", 200),
        ("sendLocation", 200),
        ("deleteMessage", 200),
        ("deleteMessage", 200),
    ]

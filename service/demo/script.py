"""``mistri-bot demo --script``: the whole life of a job, played by itself, then checked."""

from __future__ import annotations

import re
from collections.abc import Callable

from service.demo.cast import (
    APPLICANT,
    CUSTOMER,
    CUSTOMER_PHONE_SHOWN,
    JAMAL,
    KARIM,
    OPERATOR,
    OPERATORS_CHAT,
)
from service.demo.chat import DemoChat
from service.demo.terminal import Choice

#: What the operator answers when Rahim asks to talk to a person (issue 12, item 2).
HANDOFF_ANSWER = "Hello Rahim! Yes, we cover all of Mirpur. Go on with your booking."


def _stage(chat: DemoChat, title: str) -> None:
    print(f"\n── {title} ──", file=chat.terminal.out)


def shows_customer_phone(text: str) -> bool:
    """Whether ``text`` shows the demo customer's phone number, in either language's digits."""
    return any(shown in text for shown in CUSTOMER_PHONE_SHOWN)


def _label(text: str) -> Callable[[Choice], bool]:
    return lambda choice: choice.label == text


async def _book(chat: DemoChat) -> None:
    await chat.say("/start")
    await chat.press(CUSTOMER, "go:book")
    await chat.press(CUSTOMER, "bk:consent:yes")
    await chat.press(CUSTOMER, "bk:service:plumbing")
    await chat.send(chat.api.sticker_update(CUSTOMER.user_id, "Rahim", chat.lang))
    await chat.say("Kitchen tap is leaking <b>badly</b>")
    await chat.press(CUSTOMER, "bk:area:mirpur")
    await _talk_to_a_person(chat)
    await chat.say("House 12, Road 5, Block C, Mirpur 10, near the mosque")
    await chat.key(CUSTOMER, lambda choice: choice.request == "contact")
    await chat.key(CUSTOMER, _label(CUSTOMER.first_name))
    await chat.press(CUSTOMER, "bk:time:")
    await chat.press(CUSTOMER, "bk:summary:confirm")


async def _talk_to_a_person(chat: DemoChat) -> None:
    """Mid-booking, Rahim asks for a person; Nadia answers by reply and ends it with /done."""
    _stage(chat, "Talk to a person, in the middle of the booking")
    await chat.say("I want to talk to a person")
    await chat.reply(OPERATOR, HANDOFF_ANSWER)
    await chat.say("Thank you!")
    await chat.reply(OPERATOR, "/done")
    _stage(chat, "The booking goes on where it was")


async def _apply(chat: DemoChat) -> None:
    """Sumon applies; the application lands in the operators' chat and Nadia approves it."""
    await chat.say("/register", APPLICANT)
    await chat.say(APPLICANT.name, APPLICANT)
    await chat.say((APPLICANT.phone or "").replace("+880", "0"), APPLICANT)
    await chat.press(APPLICANT, "rg:services:t:electrical")
    await chat.press(APPLICANT, "rg:services:done")
    await chat.press(APPLICANT, "rg:areas:t:mirpur")
    await chat.press(APPLICANT, "rg:areas:done")
    await chat.key(APPLICANT, lambda choice: choice.label.startswith("Skip"))
    await chat.press(APPLICANT, "rg:summary:submit")
    await chat.press(OPERATOR, "op:ok:")
    await chat.say("/technicians", OPERATOR)


async def play(chat: DemoChat) -> list[str]:
    """Play the script; return what went wrong (nothing when every stage was seen)."""
    _stage(chat, "A booking")
    await _book(chat)
    offer = chat.api.texts(KARIM.chat)
    _stage(chat, "Karim accepts: only now does he get the customer's contact")
    await chat.press(KARIM, "job:acc:")
    contact_after_accept = chat.api.texts(KARIM.chat)[len(offer) :]
    _stage(chat, "Karim's open jobs, on the way, done")
    await chat.say("/jobs", KARIM)
    await chat.press(KARIM, "job:way:")
    await chat.press(KARIM, "job:done:")
    _stage(chat, "Rahim rates the job")
    await chat.key(CUSTOMER, lambda c: re.fullmatch(r"rt:\d+:5", c.data or "") is not None)
    await chat.say("Very polite, fixed it in 20 minutes.")
    await chat.say("/myorders")
    await chat.say("/privacy")
    _stage(chat, "A technician applies: the operators' chat")
    await _apply(chat)
    _stage(chat, "Rahim erases his data: Karim's copy of his contact is deleted")
    await chat.say("/mydata")
    await chat.say("/deleteme")
    await chat.press(CUSTOMER, "dr:delete:yes")
    await chat.say("/mydata")
    return _checks(chat, offer, contact_after_accept)


def _checks(chat: DemoChat, offer: list[str], contact_after_accept: list[str]) -> list[str]:
    """Each stage the script must have shown, as the chats hold it now."""
    customer = chat.api.texts(CUSTOMER.chat)
    operators = chat.api.texts(OPERATORS_CHAT)
    failures = {
        "the offer showed the customer's contact": any(map(shows_customer_phone, offer)),
        "Karim got no contact on Accept": not any(map(shows_customer_phone, contact_after_accept)),
        "Jamal saw the customer's contact": any(
            map(shows_customer_phone, chat.api.texts(JAMAL.chat))
        ),
        "Rahim was not told who is coming": not any(KARIM.name in text for text in customer),
        "no application in the operators' chat": not any(
            APPLICANT.name in text for text in operators
        ),
        "the customer's phone reached the operators' chat": any(
            map(shows_customer_phone, operators)
        ),
        "Karim's copy of the contact was not deleted": not chat.terminal.deleted[KARIM.chat]
        or any(map(shows_customer_phone, _held(chat, KARIM.chat))),
    }
    failures["the operator's answer did not reach Rahim"] = not any(
        HANDOFF_ANSWER in text for text in customer
    )
    failures["the conversation with the team was not closed"] = not any(
        "closed; the customer was told" in text for text in operators
    )
    return [what for what, failed in failures.items() if failed]


def _held(chat: DemoChat, chat_id: int) -> list[str]:
    """The texts ``chat_id`` still holds (after edits and deletions)."""
    return [str(m.get("text", "")) for m in chat.api.messages(chat_id)]

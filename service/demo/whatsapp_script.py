"""The demo script's WhatsApp part: Rahim books on WhatsApp, Karim accepts on Telegram.

Shorter than the Telegram script: the booking (a list for the services, reply buttons, a
location request answered with a pin, his own number in one tap), Karim's Accept on Telegram,
and ``/myorders``; then checks of what each side was shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from channels.whatsapp.inbound import CONTACT_ID
from conversations.common import LANGUAGE_PREFIX
from service.demo.cast import CUSTOMER, JAMAL, KARIM, Person
from service.demo.script import shows_customer_phone
from service.demo.whatsapp import WhatsAppDemoChat

_REFERENCE = re.compile(r"MS-[0-9A-Z]{3,}")


def _stage(chat: WhatsAppDemoChat, title: str) -> None:
    print(f"\n── {title} ──", file=chat.terminal.out)


async def play(chat: WhatsAppDemoChat) -> list[str]:
    """Play the WhatsApp booking; return what went wrong (nothing when every check held)."""
    _stage(chat, "A booking on WhatsApp (Rahim), the technicians on Telegram")
    await chat.say("/start")
    if chat.lang == "en":
        # No language comes with WhatsApp: Bengali first, English one tap away.
        await chat.press(CUSTOMER, f"{LANGUAGE_PREFIX}:en")
        await chat.say("menu")  # a word stands for the command menu WhatsApp lacks
    await chat.press(CUSTOMER, "go:book")
    await chat.press(CUSTOMER, "bk:consent:yes")
    await chat.press(CUSTOMER, "bk:service:plumbing")
    await chat.say("Kitchen tap is leaking")
    await chat.press(CUSTOMER, "bk:area:mirpur")
    await chat.key(CUSTOMER, lambda choice: choice.request == "location")
    await chat.key(CUSTOMER, lambda choice: choice.data == CONTACT_ID)
    await _name(chat)
    await chat.press(CUSTOMER, "bk:time:")
    await chat.press(CUSTOMER, "bk:summary:confirm")
    # Karim, unless the Telegram script ran before on this database (then Jamal's turn).
    technician = _offered(chat)
    offer = chat.api.texts(technician.chat)
    _stage(chat, f"{technician.first_name} accepts on Telegram: Rahim is told on WhatsApp")
    await chat.press(technician, "job:acc:")
    contact_after_accept = chat.api.texts(technician.chat)[len(offer) :]
    before = len(chat.screen.shown)
    await chat.say("/myorders")
    shown = Seen(technician, offer, contact_after_accept, texts(chat.screen.shown[before:]))
    return checks(chat, shown)


@dataclass(frozen=True)
class Seen:
    """What the technician was shown before and after the Accept, and Rahim's /myorders."""

    technician: Person
    offer: list[str]
    contact_after_accept: list[str]
    orders: list[str]


def _offered(chat: WhatsAppDemoChat) -> Person:
    """The technician whose Telegram chat holds the job offer."""
    for technician in (KARIM, JAMAL):
        if any(
            (c.data or "").startswith("job:acc:") for c in chat.terminal.options(technician.chat)
        ):
            return technician
    raise LookupError("no technician on Telegram was offered the job")


async def _name(chat: WhatsAppDemoChat) -> None:
    """His WhatsApp profile name in one tap when offered, else typed."""
    try:
        choice = chat.find(CUSTOMER.chat, lambda choice: choice.label == CUSTOMER.first_name)
    except LookupError:
        await chat.say(CUSTOMER.first_name)
        return
    await chat.tap(CUSTOMER, choice)


def texts(bodies: list[dict[str, Any]]) -> list[str]:
    """The text of each WhatsApp message request (a text's body, an interactive's body)."""
    found = []
    for body in bodies:
        if body.get("type") == "text":
            found.append(str(body["text"]["body"]))
        elif body.get("type") == "interactive":
            found.append(str(body["interactive"]["body"]["text"]))
    return found


def _interactive(bodies: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [
        body["interactive"]
        for body in bodies
        if body.get("type") == "interactive" and body["interactive"]["type"] == kind
    ]


def checks(chat: WhatsAppDemoChat, seen: Seen) -> list[str]:
    """Each thing the WhatsApp script must have shown, as the fake APIs recorded it."""
    shown = chat.screen.shown
    customer = texts(shown)
    lists = _interactive(shown, "list")
    buttons = _interactive(shown, "button")
    rows = [row["id"] for item in lists for s in item["action"]["sections"] for row in s["rows"]]
    references = {ref for text in customer for ref in _REFERENCE.findall(text)}
    failures = {
        "a webhook post was not answered 200": any(code != 200 for code in chat.statuses),
        "the fake Graph API refused a request": any(
            call.status != 200 for call in chat.graph.calls
        ),
        "the services were not a list message": "bk:service:plumbing" not in rows,
        "no message with up to three reply buttons": not any(
            1 <= len(item["action"]["buttons"]) <= 3 for item in buttons
        ),
        "no location request": not _interactive(shown, "location_request_message"),
        "no order reference on WhatsApp": len(references) != 1,
        "the Telegram offer carried no reference": not any(
            ref in text for ref in references for text in seen.offer
        ),
        "the offer showed the customer's contact": any(map(shows_customer_phone, seen.offer)),
        "no contact on Accept": not any(map(shows_customer_phone, seen.contact_after_accept)),
        "Rahim was not told who is coming": not any(
            seen.technician.name in text for text in customer
        ),
        "/myorders did not list the order": not any(
            ref in text for ref in references for text in seen.orders
        ),
    }
    return [what for what, failed in failures.items() if failed]

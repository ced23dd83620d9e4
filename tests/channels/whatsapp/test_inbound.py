"""Webhook bodies of Meta's documented shapes read into the core's events."""

from __future__ import annotations

from typing import Any

import pytest

from channels.whatsapp.fake_api import Webhooks
from channels.whatsapp.inbound import (
    CONTACT_ID,
    KEY_PREFIX,
    Status,
    address,
    statuses,
    to_inbounds,
)
from conversations.events import (
    ButtonPress,
    Command,
    ContactShared,
    LocationShared,
    Payload,
    Text,
    Unsupported,
)

WA = "8801712345678"
HOOKS = Webhooks()

#: Meta's documented text-message webhook, as printed in its reference.
META_TEXT = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "102290129340398",
            "changes": [
                {
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": "15550783881",
                            "phone_number_id": "106540352242922",
                        },
                        "contacts": [
                            {"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}
                        ],
                        "messages": [
                            {
                                "from": "16505551234",
                                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAz",
                                "timestamp": "1749416383",
                                "type": "text",
                                "text": {"body": "Does it come in another color?"},
                            }
                        ],
                    },
                    "field": "messages",
                }
            ],
        }
    ],
}


def only(body: dict[str, Any]) -> Payload:
    [(_, event)] = to_inbounds(body)
    return event.payload


def test_meta_text_example_is_a_text_from_the_sender_with_profile_name_and_number() -> None:
    [(message_id, event)] = to_inbounds(META_TEXT)
    assert message_id.startswith("wamid.HBgL")
    assert event.payload == Text("Does it come in another color?")
    assert event.sender.person == address("16505551234") == event.sender.chat
    assert event.sender.first_name == "Sheena Nelson"
    assert event.sender.phone == "+16505551234"
    assert event.receipt == message_id


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("/help", Command("help")),
        ("/MyOrders", Command("myorders")),
        ("/start tech", Command("start", "tech")),
        ("help", Command("help")),
        (" Help ", Command("help")),
        ("সাহায্য", Command("help")),
        ("menu", Command("start")),
        ("মেনু", Command("start")),
        ("help me please", Text("help me please")),
        ("*bold*", Text("*bold*")),
    ],
)
def test_typed_commands_and_menu_words(typed: str, expected: Payload) -> None:
    assert only(HOOKS.text(WA, typed)) == expected


def test_reply_button_and_list_row_are_presses_on_the_message_they_came_with() -> None:
    assert only(HOOKS.button(WA, "bk:service:plumbing", context="wamid.out1")) == ButtonPress(
        "bk:service:plumbing", "wamid.out1"
    )
    assert only(HOOKS.list_reply(WA, "bk:area:mirpur", context="wamid.out2")) == ButtonPress(
        "bk:area:mirpur", "wamid.out2"
    )
    assert only(HOOKS.template_button(WA, "job:accept:7")) == ButtonPress("job:accept:7", None)


def test_key_buttons_come_back_as_text_and_the_contact_key_as_the_senders_own_number() -> None:
    assert only(HOOKS.button(WA, KEY_PREFIX + "◀ Back")) == Text("◀ Back")
    [(_, event)] = to_inbounds(HOOKS.button(WA, CONTACT_ID))
    assert event.payload == ContactShared("+" + WA, WA, None)


def test_location_and_shared_contacts() -> None:
    assert only(HOOKS.location(WA, 23.8, 90.4)) == LocationShared(23.8, 90.4)
    card = only(HOOKS.contact(WA, "+880 1812-345678", owner="8801812345678"))
    assert card == ContactShared("+880 1812-345678", "8801812345678", "Karim")


@pytest.mark.parametrize(
    ("kind", "extra", "name"),
    [
        ("image", {}, "photo"),
        ("sticker", {}, "sticker"),
        ("video", {}, "video"),
        ("document", {}, "document"),
        ("audio", {}, "audio"),
        ("audio", {"voice": True}, "voice"),
        ("reaction", {"emoji": "👍", "message_id": "wamid.out1"}, "reaction"),
        ("unsupported", {}, "other"),
        ("order", {}, "other"),
    ],
)
def test_what_flows_cannot_read_is_unsupported_by_the_names_telegram_uses(
    kind: str, extra: dict[str, Any], name: str
) -> None:
    assert only(HOOKS.media(WA, kind, **extra)) == Unsupported(name)


def test_a_reaction_taken_back_and_hostile_shapes_are_skipped() -> None:
    assert to_inbounds(HOOKS.media(WA, "reaction", emoji="", message_id="x")) == []
    assert to_inbounds({"entry": "x"}) == []
    assert (
        to_inbounds({"entry": [{"changes": [{"value": {"messages": [{"type": "text"}]}}]}]}) == []
    )


def test_statuses_with_error_codes() -> None:
    body = HOOKS.status("wamid.out9", "failed", WA, errors=(131047,))
    assert statuses(body) == [Status("wamid.out9", "failed", WA, (131047,))]
    assert statuses(HOOKS.status("wamid.out9", "read", WA)) == [
        Status("wamid.out9", "read", WA, ())
    ]
    assert to_inbounds(body) == []

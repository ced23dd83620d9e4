"""Welcome, help and the answers outside any flow."""

from __future__ import annotations

import pytest

from conversations import common
from conversations.digits import to_bengali_digits
from conversations.outbound import MAX_BUTTON_DATA, MAX_TEXT
from tests.conversations.flow import LANGS


@pytest.mark.parametrize("lang", LANGS)
def test_welcome_escapes_the_name_and_offers_booking_and_the_other_language(lang: str) -> None:
    message = common.welcome(lang, "<b>Rahim</b> & co")
    assert "&lt;b&gt;Rahim&lt;/b&gt; &amp; co" in message.text
    assert "<b>Rahim" not in message.text
    other = "en" if lang == "bn" else "bn"
    assert [b.data for row in message.buttons for b in row] == [common.BOOK_DATA, f"lang:{other}"]
    assert common.welcome(lang, None).text != message.text


@pytest.mark.parametrize("lang", LANGS)
def test_language_buttons_mark_the_current_language(lang: str) -> None:
    [row] = common.language_buttons(lang)
    assert [b.data for b in row] == ["lang:bn", "lang:en"]
    marked = [b for b in row if b.label.startswith("✓ ")]
    assert [b.data for b in marked] == [f"lang:{lang}"]


@pytest.mark.parametrize("lang", LANGS)
def test_help_and_contact_line_show_the_configured_contact(lang: str) -> None:
    message = common.help_text(lang, "+8809612345678", "help@mistri.services")
    phone = to_bengali_digits("+8809612345678") if lang == "bn" else "+8809612345678"
    assert phone in message.text
    assert "help@mistri.services" in message.text
    for command in ("/book", "/myorders", "/cancel", "/mydata", "/deleteme", "/privacy"):
        assert command in message.text
    without = common.contact_line(lang, None, None)
    assert "help@" not in without
    assert without


def test_contact_line_escapes_configuration() -> None:
    line = common.contact_line("en", "<1>", "a&b@x")
    assert "&lt;1&gt;" in line
    assert "a&amp;b@x" in line


@pytest.mark.parametrize("lang", LANGS)
def test_unknown_command_is_escaped_and_shortened(lang: str) -> None:
    message = common.unknown_command(lang, "<script>" + "z" * 100)
    assert "&lt;script&gt;" in message.text
    assert "<script" not in message.text
    assert "z" * 25 not in message.text
    assert "z" * 24 in message.text


@pytest.mark.parametrize("lang", LANGS)
def test_idle_hint_offers_the_book_button(lang: str) -> None:
    message = common.idle_hint(lang)
    assert [b.data for row in message.buttons for b in row] == [common.BOOK_DATA]


@pytest.mark.parametrize("lang", LANGS)
def test_every_common_message_is_within_limits(lang: str) -> None:
    messages = [
        common.welcome(lang, "x" * 200),
        common.help_text(lang, "+8809612345678", "help@mistri.services"),
        common.language_menu(lang),
        common.language_set(lang),
        common.idle_hint(lang),
        common.unknown_command(lang, "x" * 5000),
        common.stale_button(lang),
        common.already_booking(lang),
        common.nothing_to_cancel(lang),
        common.error_apology(lang),
    ]
    for message in messages:
        assert 0 < len(message.text) <= MAX_TEXT
        for row in message.buttons:
            for button in row:
                assert len(button.data.encode()) <= MAX_BUTTON_DATA

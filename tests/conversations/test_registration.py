"""The technicians' registration flow, step by step, in both languages.

Like the booking's tests: steps, data, button data and structure are asserted; any wording
compared is taken from the catalog itself.
"""

from __future__ import annotations

import pytest

from conversations import operators, registration
from conversations import phone as phones
from conversations.catalogue import AREAS, SERVICES
from conversations.digits import localize_digits
from conversations.events import (
    ButtonPress,
    Command,
    ContactShared,
    LocationShared,
    Text,
    Unsupported,
)
from conversations.i18n import translator
from conversations.outbound import MAX_BUTTON_DATA, KeyKind, Outbound
from conversations.registration import Application, SubmitApplication
from conversations.router import Outcome
from conversations.session import IDLE, Session
from tests.conversations.flow import LANGS
from tests.conversations.registration_flow import (
    FIRST_NAME,
    NAME_TEXT,
    OTHER_USER,
    PERSON,
    PHONE_E164,
    PHONE_TEXT,
    PIN,
    begin,
    messages,
    prompt_datas,
    send,
    session_at,
    skip_label,
)

STALE = "That button belongs to an earlier message. Here is where we are:"
STEPS = ("name", "phone", "services", "areas", "location", "summary")


def _(lang: str, message: str) -> str:
    return translator(lang)._(message)


def assert_reprompt(session: Session, outcome: Outcome, hint: str) -> None:
    """The session is kept and the same step is asked again after ``hint``."""
    assert outcome.session == session
    assert outcome.actions == []
    again = registration.reprompt(session).reply.effects
    sent = messages(outcome)
    assert sent[0].text == hint
    assert outcome.reply.effects[1:] == again


def key_kinds(message: Outbound) -> list[list[KeyKind]]:
    return [[key.kind for key in row] for row in message.keys]


def button_labels(message: Outbound) -> dict[str, str]:
    return {button.data: button.label for row in message.buttons for button in row}


# --- the straight path ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("pin", [True, False])
def test_every_step_in_order_then_submit_gives_the_whole_application(lang: str, pin: bool) -> None:
    start = begin(lang)
    assert start.session.flow == registration.FLOW
    assert start.session.step == "name"
    # What is kept and why comes first, then the question.
    intro = messages(start)[0]
    assert _(lang, "Join Mistri Services as a technician") in intro.text
    assert "/privacy" in intro.text
    summary = session_at("summary", lang, pin=pin)
    assert summary.flow == registration.FLOW
    assert prompt_datas(summary) == ["rg:summary:submit", "rg:summary:back", "rg:summary:cancel"]

    outcome = send(summary, ButtonPress("rg:summary:submit", "12"))

    assert outcome.session.flow == IDLE
    assert (outcome.session.step, outcome.session.data) == ("", {})
    assert outcome.session.lang == lang
    assert outcome.actions == [
        SubmitApplication(
            Application(
                lang=lang,
                name=NAME_TEXT,
                phone=PHONE_E164,
                services=("plumbing",),
                areas=("mirpur",),
                latitude=PIN[0] if pin else None,
                longitude=PIN[1] if pin else None,
            )
        )
    ]
    assert outcome.reply.toast == _(lang, "Application sent")


@pytest.mark.parametrize("lang", LANGS)
def test_each_step_asks_with_its_own_buttons_or_keys(lang: str) -> None:
    name = messages(registration.reprompt(session_at("name", lang)))
    # The Telegram first name is a one-tap answer.
    assert [[key.label for key in row] for row in name[0].keys] == [[FIRST_NAME]]
    phone = messages(registration.reprompt(session_at("phone", lang)))
    assert key_kinds(phone[0]) == [[KeyKind.CONTACT], [KeyKind.TEXT]]
    assert phone[0].keys[1][0].label == _(lang, "◀ Back")
    assert prompt_datas(session_at("services", lang)) == [
        *(f"rg:services:t:{service.slug}" for service in SERVICES),
        "rg:services:done",
        "rg:services:back",
    ]
    areas = prompt_datas(session_at("areas", lang))
    assert areas == [
        *(f"rg:areas:t:{area.slug}" for area in AREAS[:8]),
        "rg:areas:page:1",
        "rg:areas:all",
        "rg:areas:done",
        "rg:areas:back",
    ]
    location = messages(registration.reprompt(session_at("location", lang)))
    assert len(location) == 1
    assert key_kinds(location[0]) == [[KeyKind.LOCATION], [KeyKind.TEXT], [KeyKind.TEXT]]
    assert [row[0].label for row in location[0].keys[1:]] == [
        skip_label(lang),
        _(lang, "◀ Back"),
    ]
    # The pin's own explanation: sensitive, used only for nearby jobs.
    assert _(lang, "Where do you usually start from? (optional)") in location[0].text
    assert (
        _(
            lang,
            "A pin is your precise location, which is sensitive: we use it only to send you"
            " jobs near you, and never show it to customers.",
        )
        in location[0].text
    )


def test_without_a_first_name_the_name_step_has_no_keys() -> None:
    outcome = begin("en", first_name=None)
    name = messages(outcome)[-1]
    assert name.keys == () and name.remove_keys


def test_a_first_name_is_cleaned_and_cut() -> None:
    session = begin("en", first_name="\u202eSo\x00hel  " + "x" * 100).session
    assert session.data["first_name"].startswith("Sohel x")
    assert len(session.data["first_name"]) == registration.MAX_NAME
    assert "first_name" not in begin("en", first_name="\u200b ").session.data


def test_step_counter_numbers_the_five_questions_in_bengali_digits() -> None:
    for step, number in (("name", 1), ("services", 3), ("location", 5)):
        english = messages(registration.reprompt(session_at(step, "en")))[0].text
        assert english.startswith(f"Step {number} of 5")
        bengali = messages(registration.reprompt(session_at(step, "bn")))[0].text.splitlines()[0]
        assert localize_digits(str(number), "bn") in bengali
        assert not any(ch.isascii() and ch.isdigit() for ch in bengali)


def test_every_prompt_fits_telegram_limits() -> None:
    for lang in LANGS:
        for step in STEPS:
            for message in messages(registration.reprompt(session_at(step, lang))):
                for row in message.buttons:
                    for button in row:
                        assert len(button.data.encode()) <= MAX_BUTTON_DATA


# --- name and phone --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_name_is_acknowledged_escaped(lang: str) -> None:
    outcome = send(session_at("name", lang), Text("  Sohel <b>&</b>  "))
    assert outcome.session.step == "phone"
    assert outcome.session.data["name"] == "Sohel <b>&</b>"
    ack = messages(outcome)[0].text
    assert "Sohel &lt;b&gt;&amp;&lt;/b&gt;" in ack


@pytest.mark.parametrize("typed", ["", "   ", "12345", "!!!", "x" * 65])
def test_a_name_needs_letters_and_a_sane_length(typed: str) -> None:
    session = session_at("name", "en")
    hint = _("en", "Please type a name of up to {limit} characters.").format(limit=64)
    assert_reprompt(session, send(session, Text(typed)), hint)


@pytest.mark.parametrize("typed", [PHONE_TEXT, "+880 1812-345678", "8801812345678", "০১৮১২৩৪৫৬৭৮"])
def test_a_typed_phone_is_stored_in_e164(typed: str) -> None:
    outcome = send(session_at("phone", "en"), Text(typed))
    assert outcome.session.step == "services"
    assert outcome.session.data["phone"] == PHONE_E164
    # Leaving the keyboard steps: the acknowledgement removes the reply keyboard.
    assert messages(outcome)[0].remove_keys


@pytest.mark.parametrize("typed", ["12345", "01212345678", "+441234567890", "phone"])
def test_a_wrong_phone_is_asked_again(typed: str) -> None:
    session = session_at("phone", "en")
    outcome = send(session, Text(typed))
    assert outcome.session == session
    refusal = phones.check_bd_mobile(typed)
    assert isinstance(refusal, phones.Refusal)
    assert messages(outcome)[0].text == phones.refusal_text(translator("en"), refusal)


def test_a_phone_of_no_operator_is_told_so() -> None:
    outcome = send(session_at("phone", "en"), Text("01212345678"))
    assert "No mobile operator uses numbers starting with 012" in messages(outcome)[0].text


@pytest.mark.parametrize("owner", [None, OTHER_USER])
def test_a_shared_contact_must_be_the_senders_own(owner: str | None) -> None:
    session = session_at("phone", "en")
    hint = _("en", "Please share your own number with the button, or type it.")
    assert_reprompt(session, send(session, ContactShared(PHONE_E164, owner)), hint)


# --- services: multi-select in place -----------------------------------------------------------


def test_services_toggle_in_place_with_marks() -> None:
    session = session_at("services", "en")
    first = send(session, ButtonPress("rg:services:t:electrical", "77"))
    [edited] = messages(first)
    assert edited.replaces == "77"
    labels = button_labels(edited)
    assert labels["rg:services:t:electrical"].startswith("✓ ")
    assert not labels["rg:services:t:plumbing"].startswith("✓ ")
    assert first.reply.toast == "✓ Electrician"
    second = send(first.session, ButtonPress("rg:services:t:plumbing", "77"))
    # Stored in the catalogue's order, whatever the order of the taps.
    assert second.session.data["services"] == ["plumbing", "electrical"]
    third = send(second.session, ButtonPress("rg:services:t:electrical", "77"))
    assert third.session.data["services"] == ["plumbing"]
    assert not button_labels(messages(third)[0])["rg:services:t:electrical"].startswith("✓")
    assert third.reply.toast == "✖ Electrician"
    assert third.session.step == "services"


def test_a_toggle_without_a_message_id_sends_the_list_anew() -> None:
    outcome = send(session_at("services", "en"), ButtonPress("rg:services:t:masonry"))
    assert messages(outcome)[0].replaces is None


@pytest.mark.parametrize("lang", LANGS)
def test_services_need_at_least_one(lang: str) -> None:
    session = session_at("services", lang)
    hint = _(lang, "Please choose at least one service.")
    assert_reprompt(session, send(session, ButtonPress("rg:services:done", "3")), hint)


@pytest.mark.parametrize(
    "data",
    ["rg:services:t:flying", "rg:services:t", "rg:services:t:plumbing:x", "rg:services:done:x"],
)
def test_malformed_service_buttons_get_the_button_hint(data: str) -> None:
    session = session_at("services", "en")
    assert_reprompt(
        session, send(session, ButtonPress(data, "3")), "Please use the buttons below."
    )


# --- areas: paged multi-select -----------------------------------------------------------------


def test_area_pages_edit_in_place_and_keep_the_choice() -> None:
    session = session_at("areas", "en")
    for slug in ("uttara", "mirpur"):
        session = send(session, ButtonPress(f"rg:areas:t:{slug}", "5")).session
    outcome = send(session, ButtonPress("rg:areas:page:1", "5"))
    [page] = messages(outcome)
    assert page.replaces == "5"
    data = [button.data for row in page.buttons for button in row]
    assert data[:8] == [f"rg:areas:t:{area.slug}" for area in AREAS[8:16]]
    # One More, and one Back that turns to the previous page; no counter button.
    assert data[8:] == ["rg:areas:page:2", "rg:areas:all", "rg:areas:done", "rg:areas:page:0"]
    assert "Areas, page 2 of 4" in page.text
    assert outcome.session.data["areas"] == ["mirpur", "uttara"]
    # The choices on other pages stay named in the text.
    assert "Chosen: Mirpur, Uttara" in page.text
    chosen = send(outcome.session, ButtonPress(f"rg:areas:t:{AREAS[9].slug}", "5"))
    assert chosen.session.data["area_page"] == 1
    assert button_labels(messages(chosen)[0])[f"rg:areas:t:{AREAS[9].slug}"].startswith("✓ ")
    last = send(chosen.session, ButtonPress("rg:areas:page:99", "5"))
    assert last.session.data["area_page"] == 3
    assert "rg:areas:page:4" not in [b.data for row in messages(last)[0].buttons for b in row]


def test_all_areas_stands_alone() -> None:
    session = send(session_at("areas", "en"), ButtonPress("rg:areas:t:mirpur", "5")).session
    everywhere = send(session, ButtonPress("rg:areas:all", "5"))
    assert everywhere.session.data["areas"] == ["all"]
    [message] = messages(everywhere)
    assert button_labels(message)["rg:areas:all"].startswith("✓ ")
    assert not button_labels(message)["rg:areas:t:mirpur"].startswith("✓")
    assert "all areas" in message.text
    one = send(everywhere.session, ButtonPress("rg:areas:t:badda", "5"))
    assert one.session.data["areas"] == ["badda"]
    none = send(everywhere.session, ButtonPress("rg:areas:all", "5"))
    assert none.session.data["areas"] == []


@pytest.mark.parametrize("lang", LANGS)
def test_areas_need_at_least_one(lang: str) -> None:
    session = send(session_at("areas", lang), ButtonPress("rg:areas:t:mirpur", "5")).session
    session = send(session, ButtonPress("rg:areas:t:mirpur", "5")).session
    assert session.data["areas"] == []
    hint = _(lang, "Please choose at least one area, or “All areas”.")
    assert_reprompt(session, send(session, ButtonPress("rg:areas:done", "5")), hint)


def test_done_with_areas_asks_for_the_base_pin() -> None:
    session = send(session_at("areas", "en"), ButtonPress("rg:areas:page:2", "5")).session
    session = send(session, ButtonPress("rg:areas:t:savar", "5")).session
    outcome = send(session, ButtonPress("rg:areas:done", "5"))
    assert outcome.session.step == "location"
    assert "area_page" not in outcome.session.data
    assert key_kinds(messages(outcome)[-1])[0] == [KeyKind.LOCATION]


# --- the optional base location ----------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_skip_in_either_language_goes_to_the_summary(lang: str) -> None:
    for label in (skip_label("bn"), skip_label("en")):
        outcome = send(session_at("location", lang), Text(label))
        assert outcome.session.step == "summary"
        assert outcome.session.data["lat"] is None
        assert messages(outcome)[0].remove_keys


def test_a_pin_is_kept_and_summarised_without_coordinates() -> None:
    outcome = send(session_at("location", "en"), LocationShared(*PIN))
    assert (outcome.session.data["lat"], outcome.session.data["lon"]) == PIN
    summary = messages(outcome)[-1].text
    assert "📍" in summary and str(PIN[0]) not in summary


@pytest.mark.parametrize(
    "where", [(91.0, 90.0), (23.0, 181.0), (float("nan"), 90.0), (float("inf"), 0.0)]
)
def test_an_impossible_pin_is_asked_again(where: tuple[float, float]) -> None:
    session = session_at("location", "en")
    hint = _("en", "That location could not be read. Please try again.")
    assert_reprompt(session, send(session, LocationShared(*where)), hint)


def test_text_at_the_location_step_is_asked_again() -> None:
    session = session_at("location", "en")
    hint = _("en", "Please share your location with the button below, or tap “Skip”.")
    assert_reprompt(session, send(session, Text("Mirpur 10")), hint)


# --- summary -----------------------------------------------------------------------------------


def test_the_summary_escapes_and_lists_every_answer() -> None:
    session = session_at("summary", "en")
    session.data["name"] = "<script>x</script>"
    session.data["services"] = ["plumbing", "electrical"]
    session.data["areas"] = ["mirpur", "old-dhaka"]
    text = messages(registration.reprompt(session))[0].text
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "Plumbing, Electrician" in text
    assert "Mirpur, Old Dhaka" in text
    assert "01812345678" in text


def test_cancel_on_the_summary_keeps_nothing() -> None:
    outcome = send(session_at("summary", "bn"), ButtonPress("rg:summary:cancel", "9"))
    assert outcome.session.flow == IDLE and outcome.actions == []
    cancelled = _(
        "bn", "Registration cancelled. Nothing was saved. Send /register to start again."
    )
    assert messages(outcome)[0].text == cancelled


def test_submit_with_a_missing_answer_goes_back_to_it() -> None:
    session = session_at("summary", "en")
    del session.data["phone"]
    outcome = send(session, ButtonPress("rg:summary:submit", "9"))
    assert outcome.actions == [] and outcome.session.step == "phone"
    session = session_at("summary", "en")
    session.data["areas"] = ["atlantis"]
    assert send(session, ButtonPress("rg:summary:submit", "9")).session.step == "areas"


# --- Back, /cancel, and everything unexpected --------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_back_walks_the_steps_backwards_keeping_answers(lang: str) -> None:
    session = session_at("summary", lang)
    seen = []
    for expected in ("location", "areas", "services", "phone", "name"):
        data = f"rg:{session.step}:back"
        if session.step in registration.KEYBOARD_STEPS:
            outcome = send(session, Text(_(lang, "◀ Back")))
        else:
            outcome = send(session, ButtonPress(data, "4"))
        session = outcome.session
        seen.append(session.step)
        assert session.step == expected
    assert seen == ["location", "areas", "services", "phone", "name"]
    assert session.data["services"] == ["plumbing"] and session.data["areas"] == ["mirpur"]
    # Nothing before the first question: it is asked again.
    hint = _(lang, "This is the first question. Send /cancel to stop.")
    assert_reprompt(session, send(session, Text(_(lang, "◀ Back"))), hint)


def test_leaving_the_location_step_backwards_removes_its_keyboard() -> None:
    outcome = send(session_at("location", "en"), Text("◀ Back"))
    assert outcome.session.step == "areas"
    assert messages(outcome)[0].remove_keys


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("lang", LANGS)
def test_cancel_at_every_step_leaves_with_nothing_kept(step: str, lang: str) -> None:
    outcome = send(session_at(step, lang), Command("cancel"))
    assert outcome.session.flow == IDLE and outcome.session.data == {}
    [message] = messages(outcome)
    assert message.remove_keys


@pytest.mark.parametrize("step", STEPS)
def test_stale_buttons_are_named_and_the_step_asked_again(step: str) -> None:
    session = session_at(step, "en")
    for data in ("bk:area:mirpur", "rg:phone:back" if step != "phone" else "rg:name:x", "x"):
        assert_reprompt(session, send(session, ButtonPress(data, "1")), STALE)


@pytest.mark.parametrize("step", STEPS)
def test_commands_mid_registration_get_a_hint(step: str) -> None:
    session = session_at(step, "en")
    finish = "Let's finish your registration first, or send /cancel to stop it."
    assert_reprompt(session, send(session, Command("book")), finish)
    unknown = send(session, Command("<b>x</b>"))
    assert messages(unknown)[0].text == "I don't know the command /&lt;b&gt;x&lt;/b&gt;."


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "mystery"])
def test_media_at_every_step_gets_a_hint(step: str, kind: str) -> None:
    session = session_at(step, "bn")
    outcome = send(session, Unsupported(kind))
    assert outcome.session == session
    assert len(messages(outcome)) == 1 + len(messages(registration.reprompt(session)))


@pytest.mark.parametrize("step", ["services", "areas", "summary"])
def test_typing_at_a_button_step_points_at_the_buttons(step: str) -> None:
    session = session_at(step, "en")
    for typed in ("plumbing", "x" * 5000, "<b>hi</b>"):
        assert_reprompt(session, send(session, Text(typed)), "Please use the buttons below.")


def test_a_damaged_session_starts_the_questions_over() -> None:
    session = Session(PERSON, "en", registration.FLOW, "nowhere", {})
    outcome = send(session, Text("hello"))
    assert outcome.session.step == "name"
    assert messages(outcome)


# --- what technicians and operators are told ---------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_availability_answers_offer_the_other_switch(lang: str) -> None:
    away = registration.availability(lang, available=False, active=True, message_id="4")
    assert away.replaces == "4"
    assert [b.data for row in away.buttons for b in row] == ["av:on"]
    back = registration.availability(lang, available=True, active=False)
    # Paused by the team: "please contact them" comes with the way to.
    assert [b.data for row in back.buttons for b in row] == ["av:off", "hd:start"]
    assert _(lang, "Note: our team has paused your offers for now; please contact them.") in (
        back.text
    )
    assert registration.parse_availability("av:on") is True
    assert registration.parse_availability("av:off") is False
    assert registration.parse_availability("av:maybe") is None


def test_application_buttons_round_trip_and_reject_anything_else() -> None:
    assert operators.application_data(12, approve=True) == "op:ok:12"
    assert operators.parse_application_button("op:ok:12") == operators.ApplicationDecision(
        12, True
    )
    assert operators.parse_application_button("op:no:7") == operators.ApplicationDecision(7, False)
    for data in ("op:ok", "op:ok:x", "op:ok:1:2", "op:maybe:1", "job:ok:1", "op:ok:١٢", "op:no:"):
        assert operators.parse_application_button(data) is None


def test_the_operators_application_escapes_and_hides_the_pin() -> None:
    applicant = operators.Applicant(
        technician_id=3,
        name="<b>Sohel</b>",
        phone=PHONE_E164,
        services=("plumbing",),
        areas=("all",),
        located=True,
    )
    message = operators.application("en", applicant)
    assert "&lt;b&gt;Sohel&lt;/b&gt;" in message.text
    assert "01812345678" in message.text and "all areas" in message.text
    assert [b.data for row in message.buttons for b in row] == ["op:ok:3", "op:no:3"]
    decided = operators.application_decided(
        "en", applicant, approved=False, by="<i>Nadia</i>", message_id="8"
    )
    assert decided.replaces == "8" and decided.buttons == ()
    assert "Rejected by &lt;i&gt;Nadia&lt;/i&gt;." in decided.text
    anonymous = operators.application_decided(
        "en", applicant, approved=True, by=None, message_id="8"
    )
    assert "Approved by an operator." in anonymous.text

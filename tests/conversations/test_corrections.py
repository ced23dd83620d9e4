"""The correction flow: every question, its checks, re-prompts, cancel and the booking it keeps."""

from __future__ import annotations

import pytest

from conversations import booking, corrections, router
from conversations import phone as phones
from conversations.corrections import ADDRESS, NAME, PHONE, SaveCorrection
from conversations.events import (
    ButtonPress,
    Command,
    ContactShared,
    LocationShared,
    Payload,
    Text,
    Unsupported,
)
from conversations.i18n import translator
from conversations.outbound import MAX_BUTTON_DATA, KeyKind, Outbound
from conversations.router import Outcome
from conversations.session import BOOKING, IDLE, Session
from tests.conversations.flow import (
    CTX,
    LANGS,
    OTHER_USER,
    PERSON,
    RETURNING,
    USER,
    event,
    session_at,
)

NEW_NAME = "Rahima Begum"
NEW_ADDRESS = "Flat 5A, House 9, Road 2, Dhanmondi"


def idle(lang: str = "en") -> Session:
    return Session(PERSON, lang)


def messages(outcome: Outcome) -> list[Outbound]:
    found = [effect for effect in outcome.reply.effects if isinstance(effect, Outbound)]
    assert len(found) == len(outcome.reply.effects)
    return found


def texts(outcome: Outcome) -> str:
    return "\n".join(message.text for message in messages(outcome))


def at(field: str, lang: str = "en", session: Session | None = None) -> Session:
    return corrections.start(session or idle(lang), field).session


def answer(session: Session, payload: Payload) -> Outcome:
    return corrections.handle(session, event(payload))


def answer_settled(session: Session, payload: Payload) -> Outcome:
    """Answer as the core does: the correction's step, then what it interrupted comes back."""
    outcome = router.run(session, event(payload), CTX)
    assert outcome is not None  # the correction takes the event
    return outcome


# --- buttons ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", corrections.FIELDS)
def test_button_data_round_trips_and_fits(field: str) -> None:
    data = corrections.fix_data(field)
    assert data == f"dr:fix:{field}"
    assert len(data.encode()) <= MAX_BUTTON_DATA
    assert corrections.parse_fix(data) == field


@pytest.mark.parametrize("data", ["dr:fix:", "dr:fix:email", "dr:fixname", "bk:fix:name", ""])
def test_other_button_data_is_not_a_correction(data: str) -> None:
    assert corrections.parse_fix(data) is None


def test_start_refuses_an_unknown_field() -> None:
    with pytest.raises(ValueError, match="no such field"):
        corrections.start(idle(), "email")


# --- the questions ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("field", "share"), [(NAME, None), (PHONE, KeyKind.CONTACT), (ADDRESS, KeyKind.LOCATION)]
)
def test_each_question_offers_its_share_key_and_cancel(
    field: str, share: KeyKind | None, lang: str
) -> None:
    outcome = corrections.start(idle(lang), field)
    assert (outcome.session.flow, outcome.session.step) == (corrections.FLOW, field)
    assert outcome.actions == []
    [prompt] = messages(outcome)
    kinds = [key.kind for row in prompt.keys for key in row]
    assert kinds == ([share] if share else []) + [KeyKind.TEXT]
    assert prompt.keys[-1][0].label == translator(lang)._("✖ Cancel")
    assert "/cancel" in prompt.text


def test_start_does_not_change_the_given_session() -> None:
    session = session_at(booking.ADDRESS, "en")
    before = session.copy()
    corrections.start(session, NAME)
    assert session == before


# --- name ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_valid_name_is_saved_and_the_person_is_idle_again(lang: str) -> None:
    outcome = answer(at(NAME, lang), Text(f"  {NEW_NAME} "))
    assert outcome.actions == [SaveCorrection(NAME, NEW_NAME)]
    assert outcome.session.flow == IDLE and outcome.session.data == {}
    [saved] = messages(outcome)
    assert saved.remove_keys
    assert NEW_NAME in saved.text
    if lang == "en":
        assert saved.text == f"✅ Saved: your name is now {NEW_NAME}."


def test_a_saved_name_is_escaped() -> None:
    outcome = answer(at(NAME), Text("<b>Rahim</b> & co"))
    assert outcome.actions == [SaveCorrection(NAME, "<b>Rahim</b> & co")]
    assert "&lt;b&gt;Rahim&lt;/b&gt; &amp; co" in texts(outcome)


@pytest.mark.parametrize("typed", ["", "   ", "12345", "!!!", "a" * (booking.MAX_NAME + 1)])
def test_an_unusable_name_is_asked_again(typed: str) -> None:
    session = at(NAME)
    outcome = answer(session, Text(typed))
    assert outcome.actions == []
    assert outcome.session == session
    assert "name of up to 64 characters" in texts(outcome)
    assert messages(outcome)[-1].keys  # the question again, with its keyboard


# --- phone -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["01812345678", "+880 1812-345678", "8801812345678", "০১৮১২৩৪৫৬৭৮"]
)
def test_a_typed_number_is_saved_in_e164(typed: str) -> None:
    outcome = answer(at(PHONE), Text(typed))
    assert outcome.actions == [SaveCorrection(PHONE, "+8801812345678")]
    assert "01812345678" in texts(outcome)


def test_the_number_is_shown_in_bengali_digits_in_bengali() -> None:
    outcome = answer(at(PHONE, "bn"), Text("01812345678"))
    assert "০১৮১২৩৪৫৬৭৮" in texts(outcome)


def test_ones_own_shared_contact_is_saved() -> None:
    outcome = answer(at(PHONE), ContactShared("8801912345678", USER))
    assert outcome.actions == [SaveCorrection(PHONE, "+8801912345678")]


@pytest.mark.parametrize("owner", [None, OTHER_USER])
def test_someone_elses_contact_is_refused(owner: str | None) -> None:
    session = at(PHONE)
    outcome = answer(session, ContactShared("01912345678", owner))
    assert outcome.actions == [] and outcome.session == session
    assert "your own number" in texts(outcome)


@pytest.mark.parametrize("typed", ["12345", "01112345678", "02 9123456", "hello", "0" * 60])
def test_a_wrong_number_is_asked_again(typed: str) -> None:
    session = at(PHONE)
    outcome = answer(session, Text(typed))
    assert outcome.actions == [] and outcome.session == session
    # What is wrong with this number, as the booking says it.
    refusal = phones.check_bd_mobile(typed)
    assert isinstance(refusal, phones.Refusal)
    assert phones.refusal_text(translator("en"), refusal) in texts(outcome)


def test_a_number_no_operator_uses_is_told_so() -> None:
    outcome = answer(at(PHONE), Text("01212345678"))
    assert "No mobile operator uses numbers starting with 012" in texts(outcome)


# --- address ---------------------------------------------------------------------------------


def test_a_typed_address_replaces_any_pin() -> None:
    outcome = answer(at(ADDRESS), Text(NEW_ADDRESS))
    [action] = outcome.actions
    assert action == SaveCorrection(ADDRESS, NEW_ADDRESS)
    assert action.changes() == {"address": NEW_ADDRESS, "latitude": None, "longitude": None}
    assert NEW_ADDRESS in texts(outcome)


def test_a_pin_replaces_the_typed_address() -> None:
    outcome = answer(at(ADDRESS), LocationShared(23.75, 90.39))
    [action] = outcome.actions
    assert action == SaveCorrection(ADDRESS, None, 23.75, 90.39)
    assert action.changes() == {"address": None, "latitude": 23.75, "longitude": 90.39}
    assert "location pin" in texts(outcome)


@pytest.mark.parametrize("lat_lon", [(91.0, 90.0), (23.0, 181.0), (float("nan"), 90.0)])
def test_an_impossible_pin_is_asked_again(lat_lon: tuple[float, float]) -> None:
    session = at(ADDRESS)
    outcome = answer(session, LocationShared(*lat_lon))
    assert outcome.actions == [] and outcome.session == session
    assert "could not be read" in texts(outcome)


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("abc", "full address"),
        ("12345 678", "full address"),
        ("Road " * 100, "at most 300 characters"),
    ],
)
def test_an_unusable_address_is_asked_again(typed: str, hint: str) -> None:
    session = at(ADDRESS)
    outcome = answer(session, Text(typed))
    assert outcome.actions == [] and outcome.session == session
    assert hint in texts(outcome)


# --- anything else ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", corrections.FIELDS)
@pytest.mark.parametrize(
    ("payload", "hint"),
    [
        (Unsupported("sticker"), "can't use a sticker"),
        (Unsupported("photo"), "can't use a photo"),
        (Unsupported("dice"), "can't use that"),
        (ButtonPress("bk:service:plumbing", "3"), "earlier message"),
        (ButtonPress("", None), "earlier message"),
        (Command("book"), "send /cancel"),
        (Command("nonsense"), "send /cancel"),
    ],
)
def test_anything_else_gets_a_hint_and_the_question_again(
    field: str, payload: Payload, hint: str
) -> None:
    session = at(field)
    outcome = answer(session, payload)
    assert outcome.actions == [] and outcome.session == session
    sent = messages(outcome)
    assert hint in sent[0].text
    assert sent[-1].keys  # the question again


@pytest.mark.parametrize("payload", [LocationShared(23.7, 90.4), ContactShared("0171", USER)])
def test_a_pin_or_contact_for_a_name_is_not_a_name(payload: Payload) -> None:
    session = at(NAME)
    outcome = answer(session, payload)
    assert outcome.actions == [] and outcome.session == session


def test_a_pin_for_a_phone_is_not_a_phone() -> None:
    session = at(PHONE)
    assert answer(session, LocationShared(23.7, 90.4)).actions == []


def test_a_contact_for_an_address_is_not_an_address() -> None:
    session = at(ADDRESS)
    assert answer(session, ContactShared("+8801712345678", USER)).actions == []


def test_a_long_text_is_refused_without_echoing_it() -> None:
    outcome = answer(at(NAME), Text("x" * 5000))
    assert outcome.actions == []
    assert all(len(message.text) < 500 for message in messages(outcome))


# --- cancel ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("field", corrections.FIELDS)
@pytest.mark.parametrize("how", ["command", "key"])
def test_cancel_changes_nothing(lang: str, field: str, how: str) -> None:
    label = translator(lang)._("✖ Cancel")
    payload: Payload = Command("cancel") if how == "command" else Text(label)
    outcome = answer(at(field, lang), payload)
    assert outcome.actions == []
    assert outcome.session.flow == IDLE
    [said] = messages(outcome)
    assert said.remove_keys
    if lang == "en":
        assert said.text == "Nothing was changed."


def test_the_english_cancel_key_works_for_a_bengali_speaker() -> None:
    assert answer(at(NAME, "bn"), Text("✖ Cancel")).session.flow == IDLE


def test_a_damaged_step_gives_the_person_back_their_conversation() -> None:
    session = at(NAME)
    session.step = "email"
    outcome = answer_settled(session, Text(NEW_NAME))
    assert outcome.actions == [] and outcome.session.flow == IDLE


# --- in the middle of a booking --------------------------------------------------------------


def test_a_booking_in_progress_is_set_aside_and_given_back_on_cancel() -> None:
    booking_session = session_at(booking.PHONE, "en", RETURNING)
    correcting = at(ADDRESS, session=booking_session)
    assert correcting.flow == corrections.FLOW
    outcome = answer_settled(correcting, Command("cancel"))
    assert outcome.session == booking_session


def test_a_booking_in_progress_comes_back_after_a_save_offering_the_new_detail() -> None:
    booking_session = session_at(booking.NAME, "en", RETURNING)
    outcome = answer_settled(at(PHONE, session=booking_session), Text("01912345678"))
    resumed = outcome.session
    assert (resumed.flow, resumed.step) == (BOOKING, booking.NAME)
    expected = dict(booking_session.data, known_phone="+8801912345678")
    assert resumed.data == expected
    # The booking's own answers are the booking's: the phone typed there stays.
    assert resumed.data["phone"] == booking_session.data["phone"]


def test_a_saved_name_or_address_is_offered_by_the_resumed_booking() -> None:
    booking_session = session_at(booking.ADDRESS, "en")
    named = answer_settled(at(NAME, session=booking_session), Text(NEW_NAME)).session
    assert named.data["known_name"] == NEW_NAME
    pinned = answer_settled(at(ADDRESS, session=named), LocationShared(23.8, 90.4)).session
    assert (pinned.data["known_address"], pinned.data["known_lat"]) == (None, 23.8)
    assert pinned.data["known_lon"] == 90.4
    assert (pinned.flow, pinned.step) == (BOOKING, booking.ADDRESS)


def test_choosing_another_field_keeps_what_was_set_aside() -> None:
    booking_session = session_at(booking.TIME, "en")
    first = at(NAME, session=booking_session)
    second = at(PHONE, session=first)
    assert second.step == PHONE
    assert answer_settled(second, Command("cancel")).session == booking_session


def test_a_correction_from_idle_ends_idle() -> None:
    first = at(NAME)
    assert answer_settled(at(ADDRESS, session=first), Text(NEW_ADDRESS)).session.flow == IDLE


def test_reprompt_repeats_the_question_after_a_hint() -> None:
    session = at(PHONE)
    outcome = corrections.reprompt(session, "Hint.")
    assert messages(outcome)[0].text == "Hint."
    assert outcome.session == session


# --- what others are told --------------------------------------------------------------------


def test_orders_updated_lists_the_references() -> None:
    said = corrections.orders_updated("en", ["MS-7K3Q", "MS-ABCD"])
    assert said.text == "Also changed on your open orders: MS-7K3Q, MS-ABCD."


@pytest.mark.parametrize("lang", LANGS)
def test_the_technician_is_told_the_new_contact_with_the_reference(lang: str) -> None:
    name = corrections.contact_changed(lang, "MS-7K3Q", SaveCorrection(NAME, "<Rahima>"))
    phone = corrections.contact_changed(lang, "MS-7K3Q", SaveCorrection(PHONE, "+8801912345678"))
    typed = corrections.contact_changed(lang, "MS-7K3Q", SaveCorrection(ADDRESS, "Road & 5"))
    pin = corrections.contact_changed(lang, "MS-7K3Q", SaveCorrection(ADDRESS, None, 23.75, 90.39))
    for message in (name, phone, typed, pin):
        assert "MS-7K3Q" in message.text
    assert "&lt;Rahima&gt;" in name.text
    digits = "০১৯১২৩৪৫৬৭৮" if lang == "bn" else "01912345678"
    assert digits in phone.text
    assert "Road &amp; 5" in typed.text and typed.location is None
    assert pin.location == (23.75, 90.39)
    if lang == "en":
        assert phone.text == "✏️ MS-7K3Q: the customer's phone is now 01912345678."

"""No typed line break can forge a field in someone else's message (issue 11, item 10).

A name like ``"Rahim\\nPhone: 01999999999"`` once showed a fake phone line above the real one
in the technician's card. One-line fields (names, addresses, typed areas) are kept to one
line when typed, when saved from an older session and when shown; the problem text keeps
its lines but is always quoted under its label.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import replace

import pytest

from conversations import (
    booking,
    corrections,
    datarights,
    job_status,
    jobs,
    operators,
    operators_board,
    orders,
    registration,
)
from conversations.booking import PlaceOrder
from conversations.events import ButtonPress, Text
from conversations.i18n import translator
from conversations.outbound import Outbound
from conversations.registration import SubmitApplication
from conversations.session import SaveCorrection, Session
from conversations.text import LINE_BREAKS, QUOTE_MARK
from conversations.views import OrderView, TechnicianView
from tests.conversations import registration_flow as rf
from tests.conversations.flow import (
    CTX,
    LANGS,
    NOW,
    PHONE_TEXT,
    RETURNING,
    begin,
    send,
    session_at,
)

#: Everything a reader takes for a field of ours when a line starts with it.
LABELS = ("Reference", "Service", "Area", "Problem", "Time", "Visit", "Name", "Phone", "Address")
FAKE = "01999999999"
FAKE_BN = "০১৯৯৯৯৯৯৯৯৯"
#: Every way to end a line that a chat app shows as a new line.
BREAKS = ("\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\v", "\f", "\x1c")


def _(lang: str, message: str) -> str:
    return translator(lang)._(message)


def forged(lang: str, head: str, sep: str = "\n") -> str:
    """``head`` followed by a fake phone line and a fake address line, in ``lang``'s labels."""
    return sep.join((head, f"{_(lang, 'Phone')}: {FAKE}", f"{_(lang, 'Address')}: Gulshan 2"))


def fields(text: str, lang: str) -> Counter[str]:
    """How many lines of ``text`` a reader would take for each of our fields."""
    counts: Counter[str] = Counter()
    for line in text.split("\n"):
        plain = html.unescape(re.sub(r"<[^>]+>", "", line)).strip()
        for label in LABELS:
            if plain.startswith(_(lang, label) + ":"):
                counts[label] += 1
    return counts


def assert_no_forged_field(forged_message: Outbound, clean_message: Outbound, lang: str) -> None:
    """The forged message has the same fields as the clean one; the fake is only a value."""
    text = forged_message.text
    assert fields(text, lang) == fields(clean_message.text, lang), text
    assert fields(text, lang)["Phone"] <= 1
    # The operators' copies are in English whatever the customer's language.
    typed_into = tuple(
        _(shown, label) + ":" for shown in LANGS for label in ("Name", "Address", "Area")
    )
    for line in text.split("\n"):
        if FAKE in line or FAKE_BN in line:
            assert line.startswith(QUOTE_MARK) or line.startswith(typed_into), line
    assert not any(char in LINE_BREAKS - {"\n"} for char in text)


CLEAN = OrderView(
    order_id=17,
    reference="MS-7K2Q",
    lang="bn",
    service="plumbing",
    area="other",
    area_other="Aftabnagar",
    problem="Kitchen tap is leaking",
    visit_date=NOW.date(),
    visit_part="evening",
    status="assigned",
    created_at=NOW,
    name="Karim",
    phone="+8801712345678",
    address="House 12, Road 5, Mirpur",
)


def views(order: OrderView, lang: str) -> dict[str, Outbound]:
    """Every message that shows an order to a technician or to the operators."""
    choices = [(3, "Sohel")]
    return {
        "notice": jobs.job_notice(lang, order, 345),
        "taken": jobs.job_taken(lang, order, "9"),
        "card": jobs.contact_card(lang, order),
        "passed": jobs.offer_passed(lang, order, "9"),
        "declined": jobs.job_declined(lang, order, "9"),
        "assigned": jobs.assigned_to_you(lang, order),
        "list": jobs.jobs_list(lang, [order]),
        "open": job_status.open_jobs(lang, [order])[0],
        "given back": job_status.job_given_back(lang, order, "cannot", "9"),
        "withdrawn": jobs.offer_withdrawn(lang, order, "9"),
        "escalation": jobs.admin_unassigned(order, choices),
        "by operator": jobs.assigned_by_operator(order, "Sohel", "9"),
    }


def booked(lang: str, *, name: str, address: str, area: str, problem: str) -> OrderView:
    """Play a booking with these typed answers; return the order the technician is shown."""
    session = session_at(booking.PROBLEM, lang)
    for payload in (
        Text(problem),
        ButtonPress("bk:area:other", "5"),
        Text(area),
        Text(address),
        Text(PHONE_TEXT),
        Text(name),
        ButtonPress("bk:time:20261125-evening", "4"),
    ):
        session = send(session, payload).session
    assert session.step == booking.SUMMARY, session.step
    (action,) = send(session, ButtonPress("bk:summary:confirm", "6")).actions
    assert isinstance(action, PlaceOrder)
    draft = action.draft
    return replace(
        CLEAN,
        lang=lang,
        area=draft.area,
        area_other=draft.area_other,
        problem=draft.problem,
        visit_date=draft.visit_date,
        name=draft.name,
        phone=draft.phone,
        address=draft.address,
    )


# --- typed: the booking ----------------------------------------------------------------------


@pytest.mark.parametrize("sep", BREAKS)
@pytest.mark.parametrize("lang", LANGS)
def test_a_name_with_line_breaks_is_saved_on_one_line(lang: str, sep: str) -> None:
    name = forged(lang, "Rahim", sep)
    outcome = send(session_at(booking.NAME, lang), Text(name))
    assert outcome.session.step == booking.TIME
    saved = outcome.session.data["name"]
    assert saved == f"Rahim {_(lang, 'Phone')}: {FAKE} {_(lang, 'Address')}: Gulshan 2"


@pytest.mark.parametrize("lang", LANGS)
def test_an_address_and_a_typed_area_are_saved_on_one_line(lang: str) -> None:
    address = send(session_at(booking.ADDRESS, lang), Text(forged(lang, "House 12", "\r\n")))
    assert address.session.data["address"] == (
        f"House 12 {_(lang, 'Phone')}: {FAKE} {_(lang, 'Address')}: Gulshan 2"
    )
    area = send(session_at(booking.AREA_OTHER, lang), Text("Aftab\u2028nagar\u202e"))
    assert area.session.data["area_other"] == "Aftab nagar"


@pytest.mark.parametrize("lang", LANGS)
def test_forged_answers_forge_no_field_in_the_technicians_or_operators_messages(
    lang: str,
) -> None:
    order = booked(
        lang,
        name=forged(lang, "Rahim"),
        address=forged(lang, "House 12, Road 5"),
        area=f"Gulshan\n{_(lang, 'Phone')}: {FAKE}",
        problem=forged(lang, "Tap is leaking", "\r"),
    )
    assert order.problem is not None and order.problem.count("\n") == 2  # its lines are kept
    clean = views(replace(CLEAN, lang=lang), lang)
    for what, message in views(order, lang).items():
        assert_no_forged_field(message, clean[what], lang)


@pytest.mark.parametrize("lang", LANGS)
def test_the_problem_is_quoted_under_its_label_in_the_job_notice(lang: str) -> None:
    order = replace(CLEAN, problem=f"Tap <b>leaks</b>\n{_(lang, 'Phone')}: {FAKE}")
    lines = jobs.job_notice(lang, order, 345).text.split("\n")
    at = lines.index(_(lang, "Problem") + ":")
    assert lines[at + 1 : at + 3] == [
        QUOTE_MARK + "Tap &lt;b&gt;leaks&lt;/b&gt;",
        QUOTE_MARK + f"{_(lang, 'Phone')}: {FAKE}",
    ]
    assert lines[at + 3].startswith(_(lang, "Visit") + ":")


@pytest.mark.parametrize("lang", LANGS)
def test_the_summary_quotes_the_problem_and_keeps_the_name_to_its_line(lang: str) -> None:
    session = session_at(booking.SUMMARY, lang)
    session.data["problem"] = forged(lang, "Tap")
    session.data["name"] = forged(lang, "Rahim")  # kept from before names were cleaned
    shown = booking.summary_text(session.data, translator(lang))
    plain = booking.summary_text(session_at(booking.SUMMARY, lang).data, translator(lang))
    assert fields(shown, lang) == fields(plain, lang)
    assert QUOTE_MARK + f"{_(lang, 'Phone')}: {FAKE}" in shown.split("\n")


@pytest.mark.parametrize("lang", LANGS)
def test_a_session_saved_before_the_upgrade_places_a_one_line_order(lang: str) -> None:
    session = session_at(booking.SUMMARY, lang)
    session.data["name"] = forged(lang, "Rahim")
    session.data["address"] = forged(lang, "House 12")
    session.data["area"], session.data["area_other"] = "other", "Gulshan\n2"
    (action,) = send(session, ButtonPress("bk:summary:confirm", "6")).actions
    assert isinstance(action, PlaceOrder)
    for value in (action.draft.name, action.draft.address, action.draft.area_other):
        assert value and not LINE_BREAKS & set(value)


@pytest.mark.parametrize("lang", LANGS)
def test_saved_details_with_line_breaks_are_offered_on_one_line(lang: str) -> None:
    profile = replace(RETURNING, name=forged(lang, "Karim"), address=forged(lang, "Flat 3B"))
    started = begin(lang, profile, first_name="Ka\nrim")
    data = started.session.data
    assert "\n" not in data["known_name"] + data["known_address"] + data["first_name"]
    session = session_at(booking.ADDRESS, lang, profile)
    outcome = send(session, ButtonPress("bk:address:saved", "7"))
    assert "\n" not in outcome.session.data["address"]
    name_keys = booking.reprompt(session_at(booking.NAME, lang, profile), CTX).reply.effects
    labels = [key.label for m in name_keys if isinstance(m, Outbound) for r in m.keys for key in r]
    assert labels and not any("\n" in label for label in labels)


# --- shown: values stored before the change -------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_stored_values_with_line_breaks_forge_no_field_when_shown(lang: str) -> None:
    order = replace(
        CLEAN,
        name=forged(lang, "Rahim"),
        address=forged(lang, "House 12", "\u2028"),
        area_other=forged(lang, "Gulshan", "\r"),
        problem=forged(lang, "Tap", "\x85"),
    )
    clean = views(CLEAN, lang)
    for what, message in views(order, lang).items():
        assert_no_forged_field(message, clean[what], lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_technician_name_with_line_breaks_stays_on_its_line(lang: str) -> None:
    name = forged(lang, "Sohel")
    tech = TechnicianView(3, name, "+8801812345678", lang)
    coming = orders.technician_coming(lang, CLEAN, tech)
    plain = orders.technician_coming(lang, CLEAN, replace(tech, name="Sohel"))
    assert coming.text.count("\n") == plain.text.count("\n")
    assert "\n" not in orders.technician_on_the_way(lang, CLEAN, name).text
    line = operators_board.OpenOrderLine(
        "MS-7K2Q", "plumbing", "mirpur", NOW.date(), "evening", "assigned", NOW, 3, name
    )
    board = operators_board.open_orders(lang, [line], {"assigned": 1}, NOW)
    assert board.text.count(FAKE) == 1
    assert all(not row.startswith(_(lang, "Phone")) for row in board.text.split("\n"))
    escalation = jobs.admin_unassigned(CLEAN, [(3, name)])
    assert not any("\n" in button.label for row in escalation.buttons for button in row)


# --- typed: registration and corrections ------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_forged_applicant_name_forges_no_field_for_the_operators(lang: str) -> None:
    outcome = rf.send(rf.session_at(registration.NAME, lang), Text(forged(lang, "Sohel")))
    assert "\n" not in outcome.session.data["name"]
    summary = rf.session_at(registration.SUMMARY, lang)
    summary.data["name"] = forged(lang, "Sohel")  # kept from before names were cleaned
    (action,) = rf.send(summary, ButtonPress("rg:summary:submit", "12")).actions
    assert isinstance(action, SubmitApplication)
    assert not LINE_BREAKS & set(action.application.name)
    applicant = operators.Applicant(7, forged(lang, "Sohel"), "+8801812345678", (), (), False)
    shown = operators.application(lang, applicant)
    plain = operators.application(lang, replace(applicant, name="Sohel"))
    assert fields(shown.text, lang) == fields(plain.text, lang)
    assert shown.text.count("\n") == plain.text.count("\n")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("field", [corrections.NAME, corrections.ADDRESS])
def test_a_correction_with_line_breaks_is_saved_and_told_on_one_line(
    lang: str, field: str
) -> None:
    session = corrections.start(Session(rf.PERSON, lang), field).session
    outcome = corrections.handle(session, rf.event(Text(forged(lang, "House 12 Karim"))))
    (action,) = outcome.actions
    assert isinstance(action, SaveCorrection) and action.value
    assert not LINE_BREAKS & set(action.value)
    stored = SaveCorrection(field, forged(lang, "House 12 Karim"))  # from an older row
    told = corrections.contact_changed(lang, "MS-7K2Q", stored)
    assert "\n" not in told.text


# --- one's own views: the registration summary and /mydata ---------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_registration_keeps_a_stored_or_telegram_name_to_its_line(lang: str) -> None:
    t = translator(lang)
    summary = rf.session_at(registration.SUMMARY, lang)
    plain = registration.summary_text(summary.data, t)
    summary.data["name"] = forged(lang, "Sohel")  # kept from before names were cleaned
    assert fields(registration.summary_text(summary.data, t), lang) == fields(plain, lang)
    started = rf.begin(lang, first_name="So\nhel")
    assert started.session.data["first_name"] == "So hel"
    labels = [key.label for m in rf.messages(started) for row in m.keys for key in row]
    assert labels == ["So hel"]


@pytest.mark.parametrize("lang", LANGS)
def test_mydata_keeps_stored_names_and_addresses_to_their_lines(lang: str) -> None:
    record = datarights.CustomerRecord(
        "Karim", "+8801712345678", "House 12", None, None, lang, None, None
    )
    technician = datarights.TechnicianRecord("Sohel", None, (), (), True, lang)
    plain = datarights.HeldData(rf.PERSON, lang, customer=record, technician=technician)
    forged_held = replace(
        plain,
        customer=replace(record, name=forged(lang, "Karim"), address=forged(lang, "House 12")),
        technician=replace(technician, name=forged(lang, "Sohel")),
    )
    shown = datarights.my_data(lang, forged_held).text
    assert fields(shown, lang) == fields(datarights.my_data(lang, plain).text, lang)
    assert shown.count("\n") == datarights.my_data(lang, plain).text.count("\n")

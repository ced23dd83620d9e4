"""The technician's side: offers without contact, contact only after Accept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations import jobs
from conversations.digits import to_bengali_digits
from conversations.jobs import JobButton, parse_button
from conversations.outbound import MAX_BUTTON_DATA, MAX_TEXT, Outbound
from conversations.views import OrderView
from tests.conversations.flow import LANGS

ORDER = OrderView(
    order_id=17,
    reference="MS-7K2Q",
    lang="bn",
    service="plumbing",
    area="other",
    area_other="Aftab<nagar>",
    problem="Tap <leaks> & drips",
    visit_date=date(2026, 11, 25),
    visit_part="evening",
    status="offered",
    created_at=datetime(2026, 11, 24, 3, 0, tzinfo=UTC),
    name="Karim <Rahman>",
    phone="+8801712345678",
    address="House 12, Road 5, Mirpur <DOHS>",
    latitude=23.8103,
    longitude=90.4125,
)
SECRETS = (
    "Karim",
    "Rahman",
    "12345678",
    to_bengali_digits("12345678"),
    "House 12",
    "Road 5",
    "DOHS",
)


def everything(message: Outbound) -> str:
    labels = [f"{b.label} {b.data}" for row in message.buttons for b in row]
    return "\n".join([message.text, *labels])


@pytest.mark.parametrize("lang", LANGS)
def test_job_notice_holds_no_contact(lang: str) -> None:
    notice = jobs.job_notice(lang, ORDER, offer_id=345)
    shown = everything(notice)
    for secret in SECRETS:
        assert secret not in shown
    assert notice.location is None
    # ...but what the technician needs to decide is there, escaped.
    assert "MS-7K2Q" in notice.text
    assert "Tap &lt;leaks&gt; &amp; drips" in notice.text
    assert "Aftab&lt;nagar&gt;" in notice.text
    assert [b.data for row in notice.buttons for b in row] == ["job:acc:345", "job:dec:345"]


@pytest.mark.parametrize("lang", LANGS)
def test_job_declined_holds_no_contact(lang: str) -> None:
    declined = jobs.job_declined(lang, ORDER, message_id="5")
    assert declined.replaces == "5"
    assert declined.buttons == ()
    for secret in SECRETS:
        assert secret not in declined.text


@pytest.mark.parametrize("offer_id", [0, 1, 345, 2**62])
def test_notice_buttons_parse_back(offer_id: int) -> None:
    notice = jobs.job_notice("en", ORDER, offer_id)
    accept, decline = notice.buttons[0]
    assert parse_button(accept.data) == JobButton(offer_id, accept=True)
    assert parse_button(decline.data) == JobButton(offer_id, accept=False)
    assert len(accept.data.encode()) <= MAX_BUTTON_DATA


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(min_value=0, max_value=10**18), st.booleans())
def test_parse_button_round_trips(offer_id: int, accept: bool) -> None:
    data = f"job:{'acc' if accept else 'dec'}:{offer_id}"
    assert parse_button(data) == JobButton(offer_id, accept)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "job",
        "job:acc",
        "job:acc:",
        "job:acc:-1",
        "job:acc:+1",
        "job:acc:1.5",
        "job:acc: 1",
        "job:acc:1:2",
        "job:yes:1",
        "JOB:acc:1",
        "bk:acc:1",
        "job::1",
        "job:acc:0x1f",
    ],
)
def test_parse_button_rejects_junk(data: str) -> None:
    assert parse_button(data) is None


@settings(max_examples=1000, deadline=None, database=None)
@given(
    st.text(max_size=40) | st.builds("job:{}:{}".format, st.text(max_size=4), st.text(max_size=6))
)
def test_parse_button_accepts_only_its_own_form(data: str) -> None:
    parsed = parse_button(data)
    if parsed is not None:
        prefix, kind, number = data.split(":")
        assert prefix == "job"
        assert kind in ("acc", "dec")
        assert parsed.accept == (kind == "acc")
        assert parsed.offer_id == int(number) >= 0


def test_parse_button_rejects_superscript_digits() -> None:
    assert parse_button("job:acc:²") is None


@pytest.mark.parametrize("lang", LANGS)
def test_accept_edits_the_notice_and_the_contact_card_carries_the_contact(lang: str) -> None:
    edited = jobs.job_taken(lang, ORDER, message_id="88")
    contact = jobs.contact_card(lang, ORDER)
    assert edited.replaces == "88"
    assert edited.buttons == ()
    assert "Karim" not in edited.text
    assert contact.replaces is None
    assert "Karim &lt;Rahman&gt;" in contact.text
    phone = to_bengali_digits("01712345678") if lang == "bn" else "01712345678"
    assert phone in contact.text
    assert "House 12, Road 5, Mirpur &lt;DOHS&gt;" in contact.text
    assert "MS-7K2Q" in contact.text
    assert contact.location == (23.8103, 90.4125)


def test_job_accepted_without_a_pin_sends_no_location() -> None:
    order = replace(ORDER, latitude=None, longitude=None)
    contact = jobs.contact_card("en", order)
    assert contact.location is None
    assert "01712345678" in contact.text


def test_job_accepted_with_a_pin_at_zero_still_sends_it() -> None:
    order = replace(ORDER, latitude=0.0, longitude=0.0)
    contact = jobs.contact_card("en", order)
    assert contact.location == (0.0, 0.0)


def test_job_accepted_without_address_or_problem_shows_dashes() -> None:
    order = replace(ORDER, address=None, problem=None, name=None)
    edited = jobs.job_taken("en", order, message_id="1")
    contact = jobs.contact_card("en", order)
    assert "Problem: —" in edited.text
    assert "Address: —" in contact.text
    assert "Name: —" in contact.text


def test_admin_copy_and_jobs_list_carry_the_contact() -> None:
    admin = jobs.admin_unassigned(ORDER)
    assert "Karim &lt;Rahman&gt;" in admin.text
    assert "01712345678" in admin.text  # operators read English
    listing = jobs.jobs_list("en", [ORDER, replace(ORDER, reference="MS-2")])
    assert listing.text.count("Karim &lt;Rahman&gt;") == 2
    assert "MS-2" in listing.text
    assert jobs.jobs_list("en", []).text != listing.text


@pytest.mark.parametrize("lang", LANGS)
def test_job_messages_stay_within_the_limit_with_long_answers(lang: str) -> None:
    order = replace(
        ORDER, problem="&" * 500, address="&" * 300, name="&" * 64, area_other="&" * 60
    )
    messages = [
        jobs.job_notice(lang, order, 1),
        jobs.job_taken(lang, order, "2"),
        jobs.contact_card(lang, order),
        jobs.offer_passed(lang, order, "2"),
        jobs.job_declined(lang, order, "3"),
        *(jobs.job_gone(lang, reason) for reason in jobs.CLOSED_REASONS),
        jobs.not_yours(lang),
    ]
    assert all(0 < len(message.text) <= MAX_TEXT for message in messages)


# --- a press on an offer that is closed: told why, truthfully -------------------------------

ME, OTHER = 7, 8
OFFER_STATES = ("accepted", "declined", "expired")
ORDER_STATES = ("new", "offered", "assigned", "unassigned", "on_the_way", "done", "cancelled")


@pytest.mark.parametrize(
    ("offer", "order", "holder", "reason"),
    [
        # Declined, and the job went on to someone else, or to no one yet.
        ("declined", "assigned", OTHER, "declined"),
        ("declined", "offered", None, "declined"),
        ("declined", "cancelled", None, "declined"),
        # Accepted: it is theirs (pressed twice, or Decline after Accept), done, or gone.
        ("accepted", "assigned", ME, "yours"),
        ("accepted", "on_the_way", ME, "yours"),
        ("accepted", "done", ME, "done"),
        ("accepted", "cancelled", ME, "cancelled"),
        ("accepted", "offered", None, "given_back"),
        ("accepted", "assigned", OTHER, "given_back"),
        # Unanswered in time: still looked for, taken by another, or cancelled.
        ("expired", "offered", None, "expired"),
        ("expired", "unassigned", None, "expired"),
        ("expired", "assigned", OTHER, "taken"),
        ("expired", "done", OTHER, "taken"),
        ("expired", "cancelled", None, "cancelled"),
        # Declined or lapsed, then our team gave it to them by hand: it is theirs now.
        ("declined", "assigned", ME, "yours"),
        ("expired", "assigned", ME, "yours"),
    ],
)
def test_a_closed_offer_says_why(offer: str, order: str, holder: int | None, reason: str) -> None:
    assert jobs.why_closed(offer, order, holder, ME) == reason


@settings(deadline=None, database=None)
@given(
    st.sampled_from(OFFER_STATES),
    st.sampled_from(ORDER_STATES),
    st.sampled_from((None, ME, OTHER)),
)
def test_the_reason_for_a_closed_offer_is_never_false(
    offer: str, order: str, holder: int | None
) -> None:
    reason = jobs.why_closed(offer, order, holder, ME)
    assert reason in jobs.CLOSED_REASONS
    # Each reason holds in the state it is given for.
    assert (reason == "declined") <= (offer == "declined")
    assert (reason in ("yours", "done")) == (
        holder == ME and order in ("assigned", "on_the_way", "done")
    )
    assert (reason == "taken") <= (holder == OTHER and offer == "expired")
    assert (reason == "cancelled") <= (order == "cancelled")
    assert (reason == "given_back") <= (offer == "accepted")
    assert (reason == "expired") <= (
        offer == "expired" and holder != OTHER and order != "cancelled"
    )


@pytest.mark.parametrize("lang", LANGS)
def test_each_reason_is_its_own_sentence(lang: str) -> None:
    said = {reason: jobs.job_gone(lang, reason).text for reason in jobs.CLOSED_REASONS}
    assert len(set(said.values())) == len(said)
    assert jobs.job_gone("en", "declined").text == "You declined this job."
    assert "already taken or has expired" not in " ".join(said.values())

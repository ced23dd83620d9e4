"""The area step: one page of areas at a time, and a saved address offered for its area only."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conversations import booking
from conversations.catalogue import AREAS
from conversations.digits import localize_digits
from conversations.events import ButtonPress, Text
from conversations.i18n import translator
from conversations.router import Outcome
from conversations.session import Profile, SaveCorrection, Session
from tests.conversations.flow import (
    LANGS,
    RETURNING,
    begin,
    datas,
    messages,
    send,
    session_at,
)

STALE = "That button belongs to an earlier message. Here is where we are:"


def area_session(
    profile: Profile | None = None, saved: tuple[str, str | None] | None = None
) -> Session:
    """A returning customer's booking at the area step, their address saved for ``saved``."""
    session = begin("en", profile or RETURNING, address_area=saved).session
    for payload in (ButtonPress("bk:service:plumbing", "1"), ButtonPress("bk:problem:skip", "2")):
        session = send(session, payload).session
    assert session.step == booking.AREA
    return session


# --- the pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", range(booking.AREA_PAGES))
def test_each_page_has_one_back_at_most_one_next_and_the_counter_in_its_text(
    lang: str, page: int
) -> None:
    outcome = send(session_at(booking.AREA, lang), ButtonPress(f"bk:area:page:{page}", "5"))
    shown = messages(outcome)[0]
    rows = [[button.data for button in row] for row in shown.buttons]
    nav = rows[-2]
    back = f"bk:area:page:{page - 1}" if page else "bk:area:back"
    more = [f"bk:area:page:{page + 1}"] if page < booking.AREA_PAGES - 1 else []
    assert nav == [back, *more]
    assert rows[-1] == ["bk:area:other"]
    # No button that does nothing: every page press turns to another page.
    assert f"bk:area:page:{page}" not in datas([shown])
    labels = [button.label for row in shown.buttons for button in row]
    assert labels.count(translator(lang)._("◀ Back")) == 1
    counter = translator(lang)._("Areas, page {page} of {pages}")
    expected = counter.format(page=page + 1, pages=booking.AREA_PAGES)
    assert localize_digits(expected, lang) in shown.text


def test_back_on_a_later_page_turns_back_a_page_and_on_the_first_leaves_the_step() -> None:
    session = send(session_at(booking.AREA, "en"), ButtonPress("bk:area:page:2", "5")).session
    turned = send(session, ButtonPress("bk:area:page:1", "5"))
    assert turned.session.step == booking.AREA and turned.session.data["area_page"] == 1
    first = send(turned.session, ButtonPress("bk:area:page:0", "5")).session
    left = send(first, ButtonPress("bk:area:back", "5"))
    assert left.session.step == booking.PROBLEM


@pytest.mark.parametrize(
    "stale",
    ["bk:area:page:1", "bk:area:page:2", "bk:area:back", "bk:area:mirpur", "bk:area:page:9"],
)
def test_an_old_area_button_after_the_step_is_answered_says_where_we_are(stale: str) -> None:
    session = session_at(booking.PHONE, "en")
    outcome = send(session, ButtonPress(stale, "3"))
    assert outcome.session.step == booking.PHONE
    assert outcome.session.data == session.data
    assert messages(outcome)[0].text == STALE


def test_an_old_counter_press_on_the_area_step_shows_that_page_again() -> None:
    # The counter button of earlier messages pointed at its own page: it still turns there.
    outcome = send(session_at(booking.AREA, "en"), ButtonPress("bk:area:page:1", "77"))
    assert messages(outcome)[0].replaces == "77"
    assert "bk:area:" + AREAS[8].slug in datas(outcome)


# --- the saved address -----------------------------------------------------------------------


def saved_offered(outcome: Outcome) -> bool:
    return "bk:address:saved" in datas(outcome)


def test_the_saved_address_is_offered_for_the_area_it_was_booked_in() -> None:
    session = area_session(saved=("mirpur", None))
    assert saved_offered(send(session, ButtonPress("bk:area:mirpur", "4")))


@pytest.mark.parametrize("saved", [("mirpur", None), None], ids=["mirpur", "unknown"])
def test_no_saved_address_is_offered_for_another_area(saved: tuple[str, None] | None) -> None:
    session = area_session(saved=saved)
    outcome = send(session, ButtonPress("bk:area:dhanmondi", "4"))
    assert outcome.session.step == booking.ADDRESS
    assert not saved_offered(outcome)
    assert str(RETURNING.address) not in "\n".join(m.text for m in messages(outcome))
    # A press of an older offer's button does not use it for this area either.
    pressed = send(outcome.session, ButtonPress("bk:address:saved", "6"))
    assert pressed.session.step == booking.ADDRESS
    assert "address" not in pressed.session.data


def test_a_typed_area_matches_its_saved_address_whatever_the_case() -> None:
    session = area_session(saved=("other", "Aftabnagar"))
    other = send(session, ButtonPress("bk:area:other", "4")).session
    assert saved_offered(send(other, Text("aftabnagar")))
    elsewhere = send(session, ButtonPress("bk:area:other", "4")).session
    assert not saved_offered(send(elsewhere, Text("Badda Link Road")))


def test_a_pin_saved_for_the_area_is_offered_too() -> None:
    pinned = replace(RETURNING, address=None)
    session = area_session(pinned, saved=("mirpur", None))
    outcome = send(session, ButtonPress("bk:area:mirpur", "4"))
    assert saved_offered(outcome)
    used = send(outcome.session, ButtonPress("bk:address:saved", "5")).session
    assert (used.data["lat"], used.data["lon"]) == (RETURNING.latitude, RETURNING.longitude)


def test_an_address_corrected_during_the_booking_is_offered_for_no_area() -> None:
    session = area_session(saved=("mirpur", None))
    spec = booking.SPEC
    assert spec.on_resume is not None
    resumed = session.copy()
    spec.on_resume(resumed, [SaveCorrection("address", "House 9, Road 1, Gulshan 2")])
    assert "known_area" not in resumed.data
    assert not saved_offered(send(resumed, ButtonPress("bk:area:mirpur", "4")))


def test_changing_the_area_keeps_the_address_shown_for_the_customer_to_check() -> None:
    at_address = send(area_session(saved=("mirpur", None)), ButtonPress("bk:area:mirpur", "4"))
    used = send(at_address.session, ButtonPress("bk:address:saved", "5")).session
    back = send(send(used, Text("◀ Back")).session, Text("◀ Back"))
    assert back.session.step == booking.AREA
    moved = send(back.session, ButtonPress("bk:area:dhanmondi", "7"))
    # The address given stays (Back forgets nothing) and is shown to keep or replace.
    assert moved.session.data["address"] == RETURNING.address
    assert "bk:address:keep" in datas(moved) and not saved_offered(moved)

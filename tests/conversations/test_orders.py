"""/myorders and /mydata name the same date for an order: its visit, labelled as the visit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from conversations import datarights, jobs
from conversations import orders as order_texts
from conversations.datarights import HeldData
from conversations.i18n import translator
from conversations.slots import part_label
from conversations.views import OrderView, TechnicianView
from tests.conversations.flow import LANGS, PERSON

# Booked on Mon 10 November, for a visit on Wed 12 November in the afternoon.
ORDER = OrderView(
    order_id=17,
    reference="MS-7K2Q",
    lang="bn",
    service="plumbing",
    area="mirpur",
    area_other=None,
    problem="Tap leaks",
    visit_date=date(2026, 11, 12),
    visit_part="afternoon",
    status="assigned",
    created_at=datetime(2026, 11, 10, 4, 0, tzinfo=UTC),
    name="Karim",
    phone="+8801712345678",
    address="House 12",
)
TECH = TechnicianView(technician_id=3, name="Jamal", phone="+8801812345678", lang="bn")


def visit_lines(text: str, lang: str) -> list[str]:
    label = translator(lang)._("Visit") + ": "
    return [line for line in text.split("\n") if label in line]


def test_myorders_shows_the_visit_labelled_not_the_booking_day() -> None:
    text = order_texts.my_orders("en", [ORDER]).text
    assert "Visit: Thu, 12 November, Afternoon (3–6 pm)" in text
    assert "10 November" not in text  # the day it was booked is not what the customer acts on


@pytest.mark.parametrize("lang", LANGS)
def test_myorders_and_mydata_name_the_same_visit(lang: str) -> None:
    listing = order_texts.my_orders(lang, [ORDER]).text
    held = HeldData(PERSON, lang, orders=(ORDER,))
    shown = datarights.my_data(lang, held).text
    (in_listing,) = visit_lines(listing, lang)
    (in_mydata,) = visit_lines(shown, lang)
    visit = in_listing[in_listing.index(translator(lang)._("Visit")) :]
    assert visit in in_mydata
    assert part_label("afternoon", lang) in visit


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_about_the_order_labels_its_visit_alike(lang: str) -> None:
    expected = visit_lines(order_texts.my_orders(lang, [ORDER]).text, lang)[0].split(": ", 1)[1]
    messages = (
        order_texts.order_confirmed(lang, ORDER),
        order_texts.technician_coming(lang, ORDER, TECH),
        order_texts.confirm_cancel(lang, ORDER),
        jobs.job_notice(lang, replace(ORDER, name=None, phone=None, address=None), 5),
    )
    for message in messages:
        assert [line.split(": ", 1)[1] for line in visit_lines(message.text, lang)] == [expected]

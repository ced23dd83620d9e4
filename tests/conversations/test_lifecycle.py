"""The job lifecycle's texts and parsers: /jobs buttons, rating, customer cancel, operators."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations import job_status, jobs, operators, operators_board, rating, router
from conversations import orders as order_texts
from conversations.digits import to_bengali_digits
from conversations.events import (
    Address,
    ButtonPress,
    Command,
    Inbound,
    LocationShared,
    Payload,
    Sender,
    Text,
    Unsupported,
)
from conversations.outbound import MAX_BUTTON_DATA, MAX_TEXT, Outbound
from conversations.session import BOOKING, IDLE, Session
from conversations.views import OrderView
from tests.conversations.flow import CTX, LANGS

#: The customer (or technician) in these tests: in a private chat, also the chat.
CUSTOMER = Address("telegram", "9001")
BIGGEST = 10**19 - 1  # the longest number ASCII_NUMBER accepts
ORDER = OrderView(
    order_id=17,
    reference="MS-7K2Q",
    lang="bn",
    service="plumbing",
    area="mirpur",
    area_other=None,
    problem="Tap <leaks> & drips",
    visit_date=date(2026, 11, 25),
    visit_part="evening",
    status="assigned",
    created_at=datetime(2026, 11, 24, 3, 0, tzinfo=UTC),
    name="Karim <Rahman>",
    phone="+8801712345678",
    address="House 12, Road 5, Mirpur <DOHS>",
)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def data_of(message: Outbound) -> list[str]:
    return [button.data for row in message.buttons for button in row]


def event(payload: Payload, person: Address = CUSTOMER) -> Inbound:
    return Inbound(Sender(person, person), payload)


# ------------------------------------------------------------------------- jobs: parsers


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("job:way:17", job_status.StatusButton("way", 17)),
        ("job:done:17", job_status.StatusButton("done", 17)),
        ("job:cxl:17", job_status.StatusButton("cxl", 17)),
        ("job:keep:17", job_status.StatusButton("keep", 17)),
        ("job:why:17:unreachable", job_status.StatusButton("why", 17, "unreachable")),
        ("job:why:17:cannot", job_status.StatusButton("why", 17, "cannot")),
        ("job:why:17:other", job_status.StatusButton("why", 17, "other")),
    ],
)
def test_status_buttons_round_trip(data: str, expected: job_status.StatusButton) -> None:
    assert job_status.parse_status_button(data) == expected
    assert job_status.status_data(expected.action, expected.order_id, expected.reason) == data


@pytest.mark.parametrize(
    "data",
    [
        "job:acc:17",  # an offer's button: parse_button's, not this one's
        "job:way:",
        "job:way:x",
        "job:way:১৭",
        "job:way:17:cannot",
        "job:why:17",
        "job:why:17:bored",
        "job:fly:17",
        "jobs:way:17",
        "job:way:-1",
    ],
)
def test_status_buttons_refuse_anything_else(data: str) -> None:
    assert job_status.parse_status_button(data) is None


@given(st.text(max_size=80))
def test_status_parser_never_fails(data: str) -> None:
    job_status.parse_status_button(data)


def test_every_button_fits_telegram_limit_for_the_largest_ids() -> None:
    for action in ("way", "done", "cxl", "keep"):
        assert len(job_status.status_data(action, BIGGEST).encode()) <= MAX_BUTTON_DATA
    for reason in job_status.CANCEL_REASONS:
        assert len(job_status.status_data("why", BIGGEST, reason).encode()) <= MAX_BUTTON_DATA
    assert len(rating.skip_data(BIGGEST).encode()) <= MAX_BUTTON_DATA
    assert len(rating.rating_data(BIGGEST, 5).encode()) <= MAX_BUTTON_DATA
    for action in ("cx", "cy", "cn"):
        assert len(order_texts.order_data(action, BIGGEST).encode()) <= MAX_BUTTON_DATA


# --------------------------------------------------------------------------- jobs: texts


@pytest.mark.parametrize("lang", LANGS)
def test_open_jobs_one_message_each_with_the_next_step(lang: str) -> None:
    on_the_way = replace(ORDER, order_id=18, reference="MS-2", status="on_the_way")
    messages = job_status.open_jobs(lang, [ORDER, on_the_way])
    assert len(messages) == 2
    assert data_of(messages[0]) == ["job:way:17", "job:cxl:17"]
    assert data_of(messages[1]) == ["job:done:18", "job:cxl:18"]
    assert "Karim &lt;Rahman&gt;" in messages[0].text and "<Rahman>" not in messages[0].text
    header = messages[0].text.splitlines()[0]
    assert header.startswith("<b>") and header not in messages[1].text
    empty = job_status.open_jobs(lang, [])
    assert len(empty) == 1 and not empty[0].buttons


def test_open_jobs_in_english() -> None:
    (message,) = job_status.open_jobs("en", [ORDER])
    assert message.text.startswith("<b>Your open jobs</b>")
    assert "Status: accepted, not on the way yet" in message.text
    assert "01712345678" in message.text


@pytest.mark.parametrize("lang", LANGS)
def test_job_edits_stay_within_the_limit_with_long_answers(lang: str) -> None:
    order = replace(ORDER, problem="&" * 500, address="&" * 300, name="&" * 64)
    way = replace(order, status="on_the_way")
    messages = [
        *job_status.open_jobs(lang, [order, way]),
        job_status.on_the_way_set(lang, way, "5"),
        job_status.done_set(lang, replace(order, status="done"), "5"),
        job_status.ask_cancel_reason(lang, order, "5"),
        job_status.job_kept(lang, order, "5"),
        job_status.job_given_back(lang, order, "cannot", "5"),
        job_status.job_not_yours(lang),
        job_status.job_moved_on(lang, order.reference, "done"),
        job_status.not_on_the_way_yet(lang, order.reference),
        job_status.cancelled_by_customer(lang, order.reference),
        jobs.offer_withdrawn(lang, order, "5"),
    ]
    assert all(0 < len(message.text) <= MAX_TEXT for message in messages)


def test_cancel_asks_for_a_reason_and_the_given_back_text_drops_the_contact() -> None:
    asked = job_status.ask_cancel_reason("en", ORDER, "5")
    assert asked.replaces == "5"
    assert data_of(asked) == [
        "job:why:17:unreachable",
        "job:why:17:cannot",
        "job:why:17:other",
        "job:keep:17",
    ]
    labels = [button.label for row in asked.buttons for button in row]
    assert labels[:3] == ["Customer not reachable", "Can't do this job", "Other"]
    back = job_status.job_given_back("en", ORDER, "unreachable", "5")
    assert "Reason: Customer not reachable" in back.text
    assert not back.buttons
    for secret in ("Karim", "12345678", "House 12"):
        assert secret not in back.text and secret not in asked.text


def test_state_names_in_the_moved_on_answer() -> None:
    done = job_status.job_moved_on("en", "MS-7K2Q", "done")
    assert done.text == "That button no longer applies: job <b>MS-7K2Q</b> is done now."
    back = job_status.job_moved_on("en", "MS-7K2Q", "offered")
    assert "back with our team" in back.text


# ------------------------------------------------------------------------------- rating


def test_rating_buttons_parse() -> None:
    assert rating.parse_button("rt:17:4") == rating.RatingButton(17, 4)
    assert rating.parse_button("rt:17:skip") == rating.RatingButton(17, None)
    for bad in ("rt:17:0", "rt:17:6", "rt:17:৫", "rt:x:4", "rt:17", "rt:17:4:1", "rate:17:4"):
        assert rating.parse_button(bad) is None


@pytest.mark.parametrize("lang", LANGS)
def test_the_rating_question_has_five_buttons_in_the_customers_digits(lang: str) -> None:
    asked = rating.ask_rating(lang, "MS-7K2Q", 17)
    assert data_of(asked) == [f"rt:17:{n}" for n in range(1, 6)]
    labels = [button.label for row in asked.buttons for button in row]
    assert labels[4] == ("৫ ⭐" if lang == "bn" else "5 ⭐")
    assert "MS-7K2Q" in asked.text  # references stay Latin


def test_rated_shows_the_stars() -> None:
    assert rating.stars_label(4) == "★★★★☆"
    shown = rating.rated("en", "MS-7K2Q", 2, "9")
    assert shown.text == "You rated <b>MS-7K2Q</b>: ★★☆☆☆. Thank you!"
    assert shown.replaces == "9" and not shown.buttons


def booking_session() -> Session:
    return Session(CUSTOMER, "en", BOOKING, "problem", {"service": "plumbing", "draft_id": "d"})


def test_comment_step_keeps_a_booking_aside_and_gives_it_back() -> None:
    started = rating.start_comment(booking_session(), 17, "MS-7K2Q")
    assert (started.session.flow, started.session.step) == (rating.FLOW, rating.COMMENT)
    assert rating.order_of(started.session) == 17
    assert data_of(started.reply.effects[0]) == ["rt:17:skip"]  # type: ignore[arg-type]
    # The comment step, then (as the core does) the booking it set aside comes back.
    done = router.run(started.session, event(Text("  Very  good <b>work</b> ")), CTX)
    assert done is not None
    assert done.actions == [rating.SaveComment(17, "Very good <b>work</b>")]
    assert (done.session.flow, done.session.step) == (BOOKING, "problem")
    assert done.session.data == booking_session().data


def test_a_second_rating_mid_comment_keeps_what_was_set_aside() -> None:
    first = rating.start_comment(booking_session(), 17, "MS-1")
    second = rating.start_comment(first.session, 18, "MS-2")
    assert rating.order_of(second.session) == 18
    # Skip is pressed as a button the core answers with rating.skip, then settles.
    skipped = router.settle(rating.skip(second.session, "3"), CTX)
    assert skipped.session.flow == BOOKING
    assert skipped.reply.effects[0].replaces == "3"  # type: ignore[union-attr]


def test_comment_step_from_idle_ends_idle() -> None:
    started = rating.start_comment(Session(CUSTOMER, "bn"), 17, "MS-7K2Q")
    done = router.run(started.session, event(Text("ভালো কাজ")), CTX)
    assert done is not None
    assert done.session.flow == IDLE and done.session.data == {}
    assert done.actions == [rating.SaveComment(17, "ভালো কাজ")]


@pytest.mark.parametrize(
    "payload",
    [
        Unsupported("sticker"),
        LocationShared(23.8, 90.4),
        Text("   "),
        Text("x" * (rating.MAX_COMMENT + 1)),
        Command("book"),
        ButtonPress("bk:service:plumbing", 3),
    ],
)
def test_anything_but_a_short_text_asks_again(payload: Payload) -> None:
    started = rating.start_comment(booking_session(), 17, "MS-7K2Q").session
    again = rating.handle(started, event(payload))
    assert again.actions == []
    assert again.session == started
    assert data_of(again.reply.effects[-1]) == ["rt:17:skip"]  # type: ignore[arg-type]


def test_cancel_skips_the_comment() -> None:
    started = rating.start_comment(booking_session(), 17, "MS-7K2Q").session
    skipped = router.run(started, event(Command("cancel")), CTX)
    assert skipped is not None
    assert skipped.actions == [] and skipped.session.flow == BOOKING


def test_a_damaged_comment_step_gives_back_what_it_interrupted() -> None:
    # No order to comment on, and a frame of what it interrupted that no router wrote.
    damaged = Session(CUSTOMER, "en", rating.FLOW, rating.COMMENT, {}, {"flow": "nonsense"})
    outcome = router.run(damaged, event(Text("hello")), CTX)
    assert outcome is not None
    assert outcome.actions == [] and outcome.session.flow == IDLE


# ------------------------------------------------------------------- the customer's cancel


def test_order_buttons_parse() -> None:
    assert order_texts.parse_order_button("ord:cx:17") == order_texts.OrderButton("cx", 17)
    assert order_texts.parse_order_button("ord:cy:17") == order_texts.OrderButton("cy", 17)
    assert order_texts.parse_order_button("ord:cn:17") == order_texts.OrderButton("cn", 17)
    for bad in ("ord:cx", "ord:cz:17", "ord:cx:x", "ord:cx:17:1", "order:cx:17"):
        assert order_texts.parse_order_button(bad) is None


@pytest.mark.parametrize("lang", LANGS)
def test_myorders_offers_cancel_for_open_orders_only(lang: str) -> None:
    done = replace(ORDER, order_id=1, reference="MS-D", status="done")
    cancelled = replace(ORDER, order_id=2, reference="MS-C", status="cancelled")
    listing = order_texts.my_orders_menu(lang, [ORDER, done, cancelled])
    assert data_of(listing) == ["ord:cx:17"]
    assert "MS-7K2Q" in listing.buttons[0][0].label
    assert listing.text == order_texts.my_orders(lang, [ORDER, done, cancelled]).text
    confirm = order_texts.confirm_cancel(lang, ORDER)
    assert data_of(confirm) == ["ord:cy:17", "ord:cn:17"]


def test_the_customer_is_told_why_they_wait() -> None:
    finding = order_texts.technician_cannot_come("en", "MS-7K2Q", finding=True)
    alone = order_texts.technician_cannot_come("en", "MS-7K2Q", finding=False)
    assert "finding you another one" in finding.text and "another" not in alone.text
    way = order_texts.technician_on_the_way("en", ORDER, "Jamal <H>")
    assert way.text == "🚗 <b>Jamal &lt;H&gt;</b> is on the way for your job <b>MS-7K2Q</b>."
    cannot = order_texts.cannot_cancel("en", "MS-7K2Q", "done")
    assert cannot.text == "Order <b>MS-7K2Q</b> can no longer be cancelled: it is done."


# ------------------------------------------------------------------------------ operators


def line(n: int, status: str = "unassigned", **changes: object) -> operators_board.OpenOrderLine:
    base = operators_board.OpenOrderLine(
        reference=f"MS-{n:04d}",
        service="plumbing",
        area="mirpur",
        visit_date=date(2026, 11, 25),
        visit_part="evening",
        status=status,
        created_at=NOW - timedelta(hours=3),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_age_is_short() -> None:
    assert operators_board.age(timedelta(minutes=45), "en") == "45m"
    assert operators_board.age(timedelta(hours=5), "en") == "5h"
    assert operators_board.age(timedelta(days=3), "en") == "3d"
    assert operators_board.age(timedelta(seconds=-5), "en") == "0m"
    assert operators_board.age(timedelta(hours=5), "bn").startswith("৫")


def test_open_orders_by_state_with_the_technician() -> None:
    rows = [
        line(1, "assigned", technician_id=3, technician_name="Karim <U>"),
        line(2, "unassigned"),
        line(3, "other", area="other"),  # an unknown state is not listed
        line(4, "new", area="other"),
    ]
    counts = {"assigned": 1, "unassigned": 1, "new": 1}
    text = operators_board.open_orders("en", rows, counts, NOW).text
    assert text.index("Unassigned") < text.index("New") < text.index("Assigned")
    assert "<b>MS-0001</b> · Plumbing · Mirpur ·" in text
    assert "· Karim &lt;U&gt; #3 · 3h" in text
    assert "<b>MS-0004</b> · Plumbing · other area ·" in text
    assert "MS-0003" not in text
    assert "more open orders" not in text
    assert operators_board.open_orders("en", [], {}, NOW).text == "No open orders."


@pytest.mark.parametrize("lang", LANGS)
def test_open_orders_fit_one_message_and_count_the_rest(lang: str) -> None:
    rows = [line(n, "offered", technician_name="&" * 40, technician_id=n) for n in range(300)]
    message = operators_board.open_orders(lang, rows, {"offered": 1000}, NOW)
    assert len(message.text) <= MAX_TEXT
    shown = message.text.count("MS-")
    assert 0 < shown < 300
    hidden = str(1000 - shown)
    assert (to_bengali_digits(hidden) if lang == "bn" else hidden) in message.text.splitlines()[-1]


def technician(n: int, **changes: object) -> operators_board.TechnicianLine:
    base = operators_board.TechnicianLine(
        technician_id=n,
        name="Karim Uddin",
        phone="+8801812345678",
        status="approved",
        active=True,
        available=True,
        open_jobs=2,
        rating=4.25,
        ratings=4,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_technicians_list_masks_phones_and_says_where_each_stands() -> None:
    rows = [
        technician(1),
        technician(2, available=False, rating=None, ratings=0, name="A <b>"),
        technician(3, status="pending"),
        technician(4, active=False),
        technician(5, name=None, phone=None),
    ]
    text = operators_board.technicians_list("en", rows).text
    lines = text.splitlines()
    assert lines[1] == (
        "<b>#1</b> · Karim Uddin · 018••••5678 · available · approved · open jobs: 2 · ★ 4.2 (4)"
    )
    assert "A &lt;b&gt; · 018••••5678 · away · approved · open jobs: 2 · no ratings" in lines[2]
    assert "pending approval" in lines[3]
    assert "disabled" in lines[4]
    assert lines[5].startswith("<b>#5</b> · — · — ·")
    assert "01812345678" not in text
    empty = operators_board.technicians_list("en", [])
    assert empty.text == "No technicians are registered."


@pytest.mark.parametrize("lang", LANGS)
def test_technicians_list_fits_one_message(lang: str) -> None:
    rows = [technician(n, name="&" * 64) for n in range(200)]
    text = operators_board.technicians_list(lang, rows).text
    assert len(text) <= MAX_TEXT
    assert "…" in text.splitlines()[-1]


def test_assign_answers() -> None:
    stale = operators_board.assign_stale("en", "MS-7K2Q", "assigned")
    assert stale.text == (
        "Order <b>MS-7K2Q</b> no longer waits for a technician (Assigned): nothing changed."
    )
    assert "(cancelled)" in operators_board.assign_stale("en", "MS-7K2Q", "cancelled").text
    unable = operators_board.assign_unable("bn", 12)
    assert "১২" in unable.text
    assert "orders" in operators.COMMANDS and "technicians" in operators.COMMANDS

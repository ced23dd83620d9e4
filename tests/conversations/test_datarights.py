"""/mydata in plain words with its buttons, and the JSON download of everything held."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from conversations import datarights
from conversations.datarights import (
    Conversation,
    CustomerRecord,
    HeldData,
    TechnicianRecord,
)
from conversations.outbound import MAX_BUTTON_DATA, MAX_TEXT, Document
from conversations.views import OrderView
from tests.conversations.flow import LANGS, PERSON, USER

NOW = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)  # already the 25th in Dhaka
CONSENTED = datetime(2026, 11, 20, 4, 5, tzinfo=UTC)
CUSTOMER = CustomerRecord(
    name="রহিম <Uddin>",
    phone="+8801712345678",
    address="House 12 & Road 5, Mirpur",
    latitude=23.81,
    longitude=90.41,
    lang="bn",
    consent_version="2025-12-24",
    # As SQLite hands it back: naive, in UTC.
    consent_at=CONSENTED.replace(tzinfo=None),
    created_at=CONSENTED,
    updated_at=CONSENTED,
)
TECHNICIAN = TechnicianRecord(
    name="Karim Uddin",
    phone="+8801812345678",
    services=("plumbing", "electrical"),
    areas=("mirpur", "uttara"),
    active=True,
    lang="en",
    registered_at=CONSENTED,
)


def order(n: int, status: str = "assigned") -> OrderView:
    return OrderView(
        order_id=n,
        reference=f"MS-{n:04d}",
        lang="bn",
        service="plumbing",
        area="mirpur",
        area_other=None,
        problem="Tap <leaks>",
        visit_date=date(2026, 11, 25),
        visit_part="evening",
        status=status,
        created_at=CONSENTED + timedelta(minutes=n),
        name="রহিম",
        phone="+8801712345678",
        address="House 12",
        latitude=None,
        longitude=None,
    )


def held(**changes: object) -> HeldData:
    base: dict[str, object] = {
        "person": PERSON,
        "lang": "en",
        "customer": CUSTOMER,
        "orders": (order(2, "assigned"), order(1, "done")),
    }
    base.update(changes)
    return HeldData(**base)  # type: ignore[arg-type]


def button_data(message: object) -> list[str]:
    return [button.data for row in message.buttons for button in row]  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", LANGS)
def test_nothing_held_says_so_without_buttons(lang: str) -> None:
    for value in (None, HeldData(PERSON, lang)):
        said = datarights.my_data(lang, value)
        assert said.buttons == ()
    assert "no personal data" in datarights.my_data("en", None).text


def test_mydata_shows_profile_orders_and_consent_in_plain_words() -> None:
    text = datarights.my_data("en", held()).text
    assert "Name: রহিম &lt;Uddin&gt;" in text
    assert "Phone: 01712345678" in text
    assert "Address: House 12 &amp; Road 5, Mirpur · 📍 location pin" in text
    # Consent in Dhaka time, with the policy's version.
    assert "20 November 2026, 10:05 AM (policy of 24 December 2025)" in text
    # The date is the visit's, labelled as such, with the part of the day and its hours.
    visit = "Visit: Wed, 25 November, Evening (6–9 pm)"
    assert f"MS-0002 · Plumbing · {visit} · technician assigned" in text
    assert f"MS-0001 · Plumbing · {visit} · done" in text
    assert "Use the buttons below" in text and "/deleteme" in text


def test_mydata_offers_corrections_and_the_download() -> None:
    said = datarights.my_data("en", held())
    assert button_data(said) == ["dr:fix:name", "dr:fix:phone", "dr:fix:address", "dr:export"]
    assert all(len(data.encode()) <= MAX_BUTTON_DATA for data in button_data(said))


def test_bengali_mydata_uses_bengali_digits() -> None:
    text = datarights.my_data("bn", held(lang="bn")).text
    assert "০১৭১২৩৪৫৬৭৮" in text
    # The consent time in words, not an ISO stamp in Bengali digits.
    assert "২০ নভেম্বর ২০২৬, সকাল ১০:০৫ (২৪ ডিসেম্বর ২০২৫ তারিখের নীতি)" in text


def test_many_orders_are_summed_up_and_all_are_in_the_download() -> None:
    many = tuple(order(n) for n in range(25, 0, -1))
    said = datarights.my_data("en", held(orders=many))
    assert "MS-0025" in said.text and "MS-0016" in said.text and "MS-0015" not in said.text
    assert "…and 15 older ones: all are in the download." in said.text
    exported = json.loads(datarights.export_json(held(orders=many), NOW))
    assert len(exported["orders"]) == 25


def test_a_conversation_in_progress_is_mentioned() -> None:
    conversation = Conversation("booking", "phone", {"name": "x"})
    text = datarights.my_data("en", held(conversation=conversation)).text
    assert "conversation in progress" in text


def test_someone_with_only_answers_in_progress_can_download_but_not_correct() -> None:
    only = HeldData(PERSON, "en", conversation=Conversation("booking", "service", {"d": 1}))
    said = datarights.my_data("en", only)
    assert button_data(said) == ["dr:export"]
    assert "Name:" not in said.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_technician_sees_their_record_in_full(lang: str) -> None:
    said = datarights.my_data(lang, HeldData(PERSON, lang, technician=TECHNICIAN))
    text = said.text
    assert "Karim Uddin" in text
    assert ("01812345678" if lang == "en" else "০১৮১২৩৪৫৬৭৮") in text
    assert button_data(said) == ["dr:export"]
    if lang == "en":
        assert "Your technician record" in text
        assert "Services: Plumbing, Electrician" in text
        assert "Areas: Mirpur, Uttara" in text
        assert "Active: yes" in text


def test_a_technician_of_all_areas_and_inactive() -> None:
    record = TechnicianRecord("K", None, ("plumbing",), ("all",), False, "en")
    text = datarights.my_data("en", HeldData(PERSON, "en", technician=record)).text
    assert "Areas: all areas" in text and "Active: no" in text and "Phone: —" in text


@pytest.mark.parametrize("lang", LANGS)
def test_the_longest_values_still_fit_one_message(lang: str) -> None:
    huge = CustomerRecord(
        name="&" * 64,
        phone="+8801712345678",
        address="&<" * 150,
        latitude=1.0,
        longitude=2.0,
        lang=lang,
        consent_version="2025-12-24",
        consent_at=CONSENTED,
    )
    record = TechnicianRecord("&" * 500, "+8801812345678", ("&" * 800,), ("&" * 2000,), True, lang)
    value = held(
        lang=lang,
        customer=huge,
        orders=tuple(order(n) for n in range(100)),
        conversation=Conversation("booking", "name", {}),
        technician=record,
    )
    said = datarights.my_data(lang, value)
    assert len(said.text) <= MAX_TEXT


# --- the download ----------------------------------------------------------------------------


def test_the_file_is_named_after_the_dhaka_date() -> None:
    assert datarights.export_filename(NOW) == "mistri-data-2026-11-25.json"


def test_the_download_holds_everything_in_plain_values() -> None:
    value = held(
        conversation=Conversation("booking", "phone", {"problem": "ট্যাপ"}),
        technician=TECHNICIAN,
    )
    raw = datarights.export_json(value, NOW)
    # UTF-8 as written, not \\u escapes: readable in any editor.
    assert "রহিম <Uddin>".encode() in raw
    data = json.loads(raw)
    assert data["exported_at"] == "2026-11-24T20:30:00+00:00"
    # A Telegram user id is still exported as the number it is.
    assert data["telegram_user_id"] == int(USER)
    assert data["customer"] == {
        "name": "রহিম <Uddin>",
        "phone": "+8801712345678",
        "address": "House 12 & Road 5, Mirpur",
        "location": {"latitude": 23.81, "longitude": 90.41},
        "language": "bn",
        "consent": {"policy_version": "2025-12-24", "agreed_at": "2026-11-20T04:05:00+00:00"},
        "created_at": "2026-11-20T04:05:00+00:00",
        "updated_at": "2026-11-20T04:05:00+00:00",
    }
    first = data["orders"][0]
    assert first["reference"] == "MS-0002" and first["status"] == "assigned"
    assert first["visit_date"] == "2026-11-25" and first["problem"] == "Tap <leaks>"
    assert first["phone"] == "+8801712345678" and first["location"] is None
    assert data["conversation_in_progress"] == {
        "flow": "booking",
        "step": "phone",
        "answers": {"problem": "ট্যাপ"},
    }
    assert data["technician"]["areas"] == ["mirpur", "uttara"]
    assert data["technician"]["phone"] == "+8801812345678"


def test_the_download_of_a_technician_only() -> None:
    data = json.loads(
        datarights.export_json(HeldData(PERSON, "en", technician=TECHNICIAN), NOW).decode()
    )
    assert data["customer"] is None and data["orders"] == []
    assert data["technician"]["name"] == "Karim Uddin"


@pytest.mark.parametrize("lang", LANGS)
def test_the_download_is_a_document_with_a_caption(lang: str) -> None:
    document = datarights.export_document(lang, held(lang=lang), NOW)
    assert isinstance(document, Document)
    assert document.filename == "mistri-data-2026-11-25.json"
    assert json.loads(document.content)["customer"]["phone"] == "+8801712345678"
    assert document.caption
    if lang == "en":
        assert document.caption == "Everything we hold about you, as of 25 November 2026."


def test_documents_refuse_what_cannot_be_sent() -> None:
    with pytest.raises(ValueError, match="bytes"):
        Document("a.json", b"")
    with pytest.raises(ValueError, match="file name"):
        Document("../a.json", b"{}")
    with pytest.raises(ValueError, match="caption"):
        Document("a.json", b"{}", caption="x" * 1025)

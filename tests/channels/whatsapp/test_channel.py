"""The channel against the fake Graph API: sends, parts, error kinds, the 24-hour window."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.ports import Refused, Removal, Retry, Sent, Unreachable
from channels.whatsapp.channel import OutsideWindow, WhatsAppChannel
from channels.whatsapp.fake_api import WINDOW, FakeGraphApi, Webhooks
from channels.whatsapp.inbound import address, to_inbounds
from channels.whatsapp.templates import parse
from conversations.outbound import Button, Document, Key, KeyKind, Outbound

WA = "8801712345678"
CHAT = address(WA)
URL = "https://graph.test/v21.0"
TEMPLATES = "job_offer=mistri_job_offer,job_update=mistri_job_update"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(clock: Clock) -> FakeGraphApi:
    fake = FakeGraphApi(clock=clock, templates={"mistri_job_offer", "mistri_job_update"})
    fake.opened(WA)
    return fake


@pytest.fixture
async def channel(api: FakeGraphApi) -> AsyncIterator[WhatsAppChannel]:
    async with httpx.AsyncClient(transport=api.transport()) as client:
        yield WhatsAppChannel(
            client,
            token=api.token,
            phone_number_id=api.phone_number_id,
            api_url=URL,
            templates=parse(TEMPLATES),
        )


OFFER = Outbound(
    "<b>New job</b>: plumbing in Mirpur",
    buttons=((Button("✅ Accept", "job:accept:7"), Button("❌ Decline", "job:decline:7")),),
    purpose="job_offer",
)


async def test_a_message_goes_to_the_phone_number_ids_messages_endpoint(
    channel: WhatsAppChannel, api: FakeGraphApi
) -> None:
    sent = await channel.send(CHAT, OFFER)
    [body] = api.sent_to(WA)
    assert sent == Sent(api.calls[-1].message_id)
    assert body["interactive"]["body"]["text"] == "*New job*: plumbing in Mirpur"


async def test_a_message_of_several_parts_reports_each_and_a_retry_sends_only_the_rest(
    channel: WhatsAppChannel, api: FakeGraphApi
) -> None:
    keys = ((Key("📍 Share location", KeyKind.LOCATION),), (Key("◀ Back"),))
    message = Outbound("Address?", keys=keys, location=(23.8, 90.4))
    api.fail_next(130429, count=1)  # the first part fails: nothing went out
    with pytest.raises(Retry) as first:
        await channel.send(CHAT, message)
    assert first.value.progress.sent == Sent(None)
    sent_first = await channel.send(CHAT, message, progress=first.value.progress)
    assert len(api.sent_to(WA)) == 3 and sent_first.pin_id is not None
    # Fail the second part: the first is kept and not sent again.
    before = len(api.sent_to(WA))
    calls = len(api.calls)

    def fail_after_first(request: httpx.Request) -> httpx.Response:
        if len(api.calls) == calls + 1:
            api.fail_next(131000, status=500)
        return api.handle(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(fail_after_first)) as client:
        flaky = WhatsAppChannel(client, token=api.token, phone_number_id=api.phone_number_id)
        with pytest.raises(Retry) as failed:
            await flaky.send(CHAT, message)
    progress = failed.value.progress
    assert progress.sent.message_id is not None and progress.sent.pin_id is None
    done = await channel.send(CHAT, message, progress=progress)
    assert done.message_id == progress.sent.message_id
    assert len(api.sent_to(WA)) == before + 3  # one before the failure, two after it


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        (130429, 400, Retry),
        (131056, 400, Retry),
        (80007, 400, Retry),
        (4, 400, Retry),
        (131047, 400, Unreachable),
        (131026, 400, Unreachable),
        (131051, 400, Unreachable),
        (190, 401, Retry),
        (131000, 500, Retry),
        (131009, 400, Refused),
        (100, 400, Refused),
    ],
)
async def test_cloud_api_errors_map_to_the_kinds_the_core_acts_on(
    channel: WhatsAppChannel, api: FakeGraphApi, code: int, status: int, kind: type
) -> None:
    api.fail_next(code, status=status)
    with pytest.raises(kind) as failed:
        await channel.send(CHAT, Outbound("hello"))
    assert type(failed.value) is kind or (code == 131047 and type(failed.value) is OutsideWindow)
    assert "hello" not in str(failed.value)


async def test_http_429_waits_what_retry_after_says(
    channel: WhatsAppChannel, api: FakeGraphApi
) -> None:
    api.fail_next(130429, status=429, retry_after=7)
    with pytest.raises(Retry) as failed:
        await channel.send(CHAT, Outbound("hello"))
    assert failed.value.after == 7.0


async def test_network_failure_is_a_retry() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as client:
        channel = WhatsAppChannel(client, token="t", phone_number_id="1")
        with pytest.raises(Retry):
            await channel.send(CHAT, Outbound("hello"))


async def test_outside_the_window_a_purpose_with_a_template_sends_the_template(
    channel: WhatsAppChannel, api: FakeGraphApi, clock: Clock
) -> None:
    clock.now += WINDOW + 1
    sent = await channel.send(CHAT, OFFER)
    [body] = api.sent_to(WA)
    template = body["template"]
    assert sent.message_id == api.calls[-1].message_id
    assert template["name"] == "mistri_job_offer" and template["language"] == {"code": "en"}
    assert template["components"][0]["parameters"] == [
        {"type": "text", "text": "New job: plumbing in Mirpur"}
    ]
    assert [c["parameters"][0]["payload"] for c in template["components"][1:]] == [
        "job:accept:7",
        "job:decline:7",
    ]
    # A tap on the template's button comes back as the offer's own press.
    [(_, event)] = to_inbounds(Webhooks(api).template_button(WA, "job:accept:7"))
    assert event.payload.data == "job:accept:7"  # type: ignore[union-attr]


async def test_outside_the_window_without_a_template_the_person_is_unreachable(
    channel: WhatsAppChannel, api: FakeGraphApi, clock: Clock
) -> None:
    clock.now += WINDOW + 1
    with pytest.raises(OutsideWindow):
        await channel.send(CHAT, Outbound("Reminder", purpose="reminder"))  # none configured
    with pytest.raises(OutsideWindow):
        await channel.send(CHAT, Outbound("Plain"))
    assert api.sent_to(WA) == []
    Webhooks(api).text(WA, "hi")  # they write: the window opens again
    await channel.send(CHAT, Outbound("Plain"))
    assert len(api.sent_to(WA)) == 1


async def test_a_document_is_uploaded_then_sent(
    channel: WhatsAppChannel, api: FakeGraphApi
) -> None:
    content = json.dumps({"name": "Rahim"}).encode()
    sent = await channel.send_document(CHAT, Document("mydata.json", content, "<b>Your data</b>"))
    [body] = api.sent_to(WA)
    assert sent.message_id is not None
    assert body["document"]["filename"] == "mydata.json"
    assert body["document"]["caption"] == "*Your data*"
    assert content in api.media(body["document"]["id"])[1]


async def test_no_edits_no_deletion_no_administrators(channel: WhatsAppChannel) -> None:
    assert channel.capabilities.edits is False and channel.capabilities.delete_window is None
    assert await channel.delete(CHAT, "wamid.x") is Removal.REFUSED
    assert await channel.replace_text(CHAT, "wamid.x", "new") is False
    assert await channel.administrators(CHAT) == frozenset()
    replacing = await channel.send(CHAT, Outbound("again", replaces="wamid.x"))
    assert replacing.message_id != "wamid.x"


async def test_acknowledge_marks_read_only_when_asked(api: FakeGraphApi) -> None:
    [(_, event)] = to_inbounds(Webhooks(api).button(WA, "bk:x"))
    async with httpx.AsyncClient(transport=api.transport()) as client:
        quiet = WhatsAppChannel(client, token=api.token, phone_number_id=api.phone_number_id)
        await quiet.acknowledge(event, "toast")
        assert api.calls == []
        reading = WhatsAppChannel(
            client, token=api.token, phone_number_id=api.phone_number_id, mark_read=True
        )
        await reading.acknowledge(event, None)
    assert api.calls[-1].body == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": event.receipt,
    }


async def test_a_wrong_token_is_a_retry_and_one_error_line(
    api: FakeGraphApi, caplog: pytest.LogCaptureFixture
) -> None:
    async with httpx.AsyncClient(transport=api.transport()) as client:
        channel = WhatsAppChannel(client, token="wrong", phone_number_id=api.phone_number_id)
        with pytest.raises(Retry):
            await channel.send(CHAT, Outbound("hello"))
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "MISTRI_WHATSAPP_TOKEN" in record.getMessage() and "wrong" not in record.getMessage()


# The Cloud API accepts a free-form message to someone whose window is closed and reports
# 131047 only in a later status; so the channel judges the window itself from when the person
# last wrote (``last_heard``), before a notice with a purpose goes out.

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def _judging(api: FakeGraphApi, heard: datetime | None, templates: str) -> list[str]:
    """Send OFFER through a channel told the person last wrote at ``heard``; the types sent."""

    async def last_heard(wa_id: str) -> datetime | None:
        assert wa_id == WA
        return heard

    async with httpx.AsyncClient(transport=api.transport()) as client:
        channel = WhatsAppChannel(
            client,
            token=api.token,
            phone_number_id=api.phone_number_id,
            api_url=URL,
            templates=parse(templates),
            last_heard=last_heard,
            clock=lambda: NOW,
        )
        await channel.send(CHAT, OFFER)
    return [body["type"] for body in api.sent_to(WA)]


@pytest.fixture
def lenient() -> FakeGraphApi:
    """A Graph API that accepts free-form messages outside the window, as Meta's does."""
    return FakeGraphApi(windows=False)


async def test_a_person_never_heard_from_gets_the_template_at_once(lenient: FakeGraphApi) -> None:
    assert await _judging(lenient, None, TEMPLATES) == ["template"]


async def test_a_person_who_wrote_an_hour_ago_gets_the_message_itself(
    lenient: FakeGraphApi,
) -> None:
    assert await _judging(lenient, NOW - timedelta(hours=1), TEMPLATES) == ["interactive"]


async def test_a_window_about_to_close_counts_as_closed(lenient: FakeGraphApi) -> None:
    heard = NOW - timedelta(hours=23, minutes=55)
    assert await _judging(lenient, heard, TEMPLATES) == ["template"]


async def test_a_naive_time_from_sqlite_is_read_as_utc(lenient: FakeGraphApi) -> None:
    heard = (NOW - timedelta(hours=2)).replace(tzinfo=None)
    assert await _judging(lenient, heard, TEMPLATES) == ["interactive"]


async def test_a_closed_window_without_a_template_is_unreachable_before_any_request(
    lenient: FakeGraphApi,
) -> None:
    with pytest.raises(OutsideWindow):
        await _judging(lenient, NOW - timedelta(days=2), "job_update=mistri_job_update")
    assert lenient.sent_to(WA) == []


async def test_an_answer_without_a_purpose_is_not_judged(lenient: FakeGraphApi) -> None:
    async def never(wa_id: str) -> datetime | None:
        raise AssertionError("asked")

    async with httpx.AsyncClient(transport=lenient.transport()) as client:
        channel = WhatsAppChannel(
            client, token=lenient.token, phone_number_id=lenient.phone_number_id, last_heard=never
        )
        await channel.send(CHAT, Outbound("hello"))
    assert len(lenient.sent_to(WA)) == 1

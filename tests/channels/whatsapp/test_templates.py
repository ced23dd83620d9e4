"""MISTRI_WHATSAPP_TEMPLATES and the template messages built from it."""

from __future__ import annotations

import pytest

from channels.whatsapp.fake_api.checks import template
from channels.whatsapp.templates import TemplateError, parse, template_message
from conversations.outbound import Outbound, from_json, to_json


def test_parse_reads_purpose_name_pairs() -> None:
    assert parse(" job_offer=mistri_offer , reminder=mistri_reminder_2 ") == {
        "job_offer": "mistri_offer",
        "reminder": "mistri_reminder_2",
    }
    assert parse(None) == {} == parse("")


@pytest.mark.parametrize(
    "setting", ["job_offer", "job_offer=", "chat=x", "job_offer=Bad Name", "reminder=a,reminder=b"]
)
def test_parse_refuses_what_it_cannot_use_in_one_line(setting: str) -> None:
    with pytest.raises(TemplateError) as refused:
        parse(setting)
    assert "MISTRI_WHATSAPP_TEMPLATES" in str(refused.value) and "\n" not in str(refused.value)


def test_a_template_message_is_one_line_parameters_in_the_language_asked() -> None:
    built = template_message(
        {"job_update": "mistri_update"}, "job_update", "bn", ["<b>কাজ</b>\n\nআপডেট     এখন"]
    )
    assert built is not None
    template(built["template"], {"mistri_update"})  # the Cloud API's checks pass
    assert built["template"]["language"] == {"code": "bn"}
    assert built["template"]["components"][0]["parameters"][0]["text"] == "কাজ · আপডেট এখন"
    assert template_message({}, "job_update", "bn", ["x"]) is None


def test_a_notices_purpose_survives_the_outbox() -> None:
    stored = to_json(Outbound("Job", purpose="job_offer"))
    assert stored["purpose"] == "job_offer"
    assert from_json(stored).purpose == "job_offer"
    assert "purpose" not in to_json(Outbound("Job"))

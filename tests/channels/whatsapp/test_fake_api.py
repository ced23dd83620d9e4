"""The fake refuses what the Cloud API refuses, and signs webhooks as Meta does."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from channels.whatsapp.fake_api import FakeGraphApi, signed

WA = "8801712345678"


def post(api: FakeGraphApi, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(transport=api.transport()) as client:
        return client.post(
            f"https://graph.test/v21.0/{api.phone_number_id}/messages",
            json={"messaging_product": "whatsapp", "to": WA, **body},
            headers={"Authorization": f"Bearer {api.token}"},
        )


def buttons(*titles: str) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Pick"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": f"id{n}", "title": title}}
                    for n, title in enumerate(titles)
                ]
            },
        },
    }


def rows(count: int, title: str = "Row") -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Pick"},
            "action": {
                "button": "Choose",
                "sections": [{"rows": [{"id": f"r{n}", "title": title} for n in range(count)]}],
            },
        },
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "text", "text": {"body": "x" * 4097}}, 131009),
        ({"type": "text", "text": {"body": " "}}, 100),
        (buttons("a", "b", "c", "d"), 131009),
        (buttons("x" * 21), 131009),
        (buttons("same", "same"), 131009),
        (rows(11), 131009),
        (rows(1, "x" * 25), 131009),
        ({"type": "sticker", "sticker": {"id": "1"}}, 100),
        ({"type": "document", "document": {"id": "never-uploaded"}}, 131053),
    ],
)
def test_limits_are_refused_with_metas_codes(body: dict[str, Any], code: int) -> None:
    api = FakeGraphApi()
    api.opened(WA)
    answer = post(api, body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    assert api.calls[-1].code == code


def test_within_the_limits_is_accepted_and_recorded() -> None:
    api = FakeGraphApi()
    api.opened(WA)
    assert post(api, buttons("a", "b", "x" * 20)).status_code == 200
    assert post(api, rows(10, "x" * 24)).status_code == 200
    assert len(api.sent_to(WA)) == 2


def test_free_form_outside_the_window_is_131047_and_templates_pass() -> None:
    api = FakeGraphApi(templates={"t"})
    assert post(api, {"type": "text", "text": {"body": "hi"}}).json()["error"]["code"] == 131047
    template = {"name": "t", "language": {"code": "en"}, "components": []}
    assert post(api, {"type": "template", "template": template}).status_code == 200


def test_signed_is_hmac_sha256_of_the_raw_body() -> None:
    raw, header = signed({"object": "whatsapp_business_account"}, "app-secret")
    assert raw == json.dumps({"object": "whatsapp_business_account"}).encode()
    expected = hmac.new(b"app-secret", raw, hashlib.sha256).hexdigest()
    assert header == f"sha256={expected}"
    assert signed(raw, "other")[1] != header

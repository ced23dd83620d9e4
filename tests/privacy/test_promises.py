"""Promises of the policy that had no test of their own (see docs/privacy.md).

- Consent is recorded against the policy's own "last updated" date, and a changed policy is
  asked about again, through the real bot.
- The location pin is asked for with its own button and its own explanation.
- Every personal column of the models is stored through the one encrypted column type.
"""

from __future__ import annotations

import re
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from conversations import privacy
from storage.crypto import _Encrypted
from tests.conftest import Bot
from tests.privacy import scenario

#: Column names that hold what a person typed or that locates them, in any table.
PERSONAL_COLUMNS = {"name", "phone", "address", "latitude", "longitude", "problem", "area_other"}
SHARED_POLICY = Path(__file__).resolve().parents[3] / "shared" / "seed" / "privacy-policy.bn.txt"


def _policy(lang: str) -> str:
    file = resources.files("locales") / "privacy" / f"privacy-policy.{lang}.txt"
    return file.read_text(encoding="utf-8")


@pytest.mark.parametrize(("lang", "label"), [("bn", "সর্বশেষ আপডেট"), ("en", "Last updated")])
def test_the_consent_version_is_the_policys_own_date(lang: str, label: str) -> None:
    match = re.search(rf"{label}: (\d\d/\d\d/\d{{4}})", _policy(lang))
    assert match is not None
    stated = datetime.strptime(match.group(1), "%d/%m/%Y").date().isoformat()
    assert stated == privacy.POLICY_VERSION


@pytest.mark.skipif(not SHARED_POLICY.exists(), reason="the company's copy is not checked out")
def test_the_bengali_policy_shown_is_the_companys_own() -> None:
    assert _policy("bn").strip() == SHARED_POLICY.read_text(encoding="utf-8").strip()


async def consent_of(bot: Bot) -> tuple[str | None, str | None]:
    async with bot.runtime.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT consent_version, consent_at FROM customers"
                    " WHERE channel = 'telegram' AND external_id = :t"
                ),
                {"t": str(scenario.CUSTOMER)},
            )
        ).first()
    return (None, None) if row is None else (row[0], str(row[1]))


async def test_a_changed_policy_is_asked_about_again(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = scenario.Customer(bot)
    await customer.say("/book")
    await customer.press("bk:consent:yes")
    first = await consent_of(bot)
    assert first[0] == privacy.POLICY_VERSION
    await customer.say("/cancel")

    # Same policy: no question.
    await customer.say("/book")
    assert "bk:consent:yes" not in str(bot.api.sent_to(scenario.CUSTOMER)[-1].params)
    await customer.say("/cancel")

    # A new policy date: asked again, and the new agreement is what is stored.
    monkeypatch.setattr(privacy, "POLICY_VERSION", "2026-12-01")
    await customer.say("/book")
    assert "bk:consent:yes" in str(bot.api.sent_to(scenario.CUSTOMER)[-1].params)
    await customer.press("bk:consent:yes")
    version, at = await consent_of(bot)
    assert version == "2026-12-01" and at != first[1]


async def test_the_location_is_asked_with_its_own_button_and_explanation(bot: Bot) -> None:
    customer = scenario.Customer(bot)
    await customer.say("/book")
    consent = bot.api.sent_to(scenario.CUSTOMER)[-1].params["text"]
    assert "location pin" in consent  # said before anything is collected
    await customer.press("bk:consent:yes")
    await customer.press("bk:service:plumbing")
    await customer.press("bk:problem:skip")
    await customer.press("bk:area:mirpur")
    prompt = bot.api.sent_to(scenario.CUSTOMER)[-1].params
    assert "we use it only to guide the technician who takes the job" in prompt["text"]
    keys = [key for row in prompt["reply_markup"]["keyboard"] for key in row]
    assert [key for key in keys if key.get("request_location")] == [
        {"text": "📍 Share location", "request_location": True}
    ]
    # Typing an address is enough: the pin is a choice, not a condition.
    await customer.say(scenario.ADDRESS)
    asked = bot.api.sent_to(scenario.CUSTOMER)[-1].params["text"]
    assert "mobile number" in asked


def test_every_personal_column_uses_the_one_encrypted_type() -> None:
    seen = set()
    for table in SQLModel.metadata.tables.values():
        for column in table.columns:
            if column.name in PERSONAL_COLUMNS or column.name == "data":
                assert isinstance(column.type, _Encrypted), f"{table.name}.{column.name}"
                assert column.type.purpose == f"{table.name}.{column.name}"
                seen.add(f"{table.name}.{column.name}")
    assert {"customers.phone", "orders.problem", "conversation_sessions.data"} <= seen

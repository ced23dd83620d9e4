"""WhatsApp's status webhooks applied: a failure that means "cannot reach" moves an offer on.

Through ``serve`` with both channels (tests/channels/whatsapp/both.py): the job notice goes to
a WhatsApp technician and is accepted by the Cloud API; a ``failed`` status posted later for
its message id marks the outbox row unreachable and offers the job to the next technician
(on Telegram here) at once. ``sent``/``delivered``/``read`` change nothing and are logged
without personal data; a failure with another code is logged by its code only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text as sql

from channels.whatsapp.inbound import Status
from service import statuses
from service.config import Settings
from tests.channels.telegram.test_booking_e2e import (
    CUSTOMER,
    CUSTOMER_NAME,
    TECH,
    TECH_NAME,
    complete_booking,
    inline_data,
)
from tests.channels.whatsapp.both import Both, serving_both

WA_TECH = "8801812345678"


async def offered_to_whatsapp_first(both: Both) -> str:
    """Book as a Telegram customer with a WhatsApp and a Telegram technician able to take it.

    The WhatsApp technician was offered no job yet and the Telegram one was (a past offer),
    so the ranking offers the WhatsApp one first; returns the notice's WhatsApp message id.
    """
    await both.add_whatsapp_technician(WA_TECH)
    await both.heard_from(WA_TECH)
    await both.telegram.bot.add_technician(TECH, name=TECH_NAME)
    customer = both.telegram.user(CUSTOMER, CUSTOMER_NAME, "en")
    await complete_booking(customer)
    notices = [
        call for call in both.graph.calls if call.body.get("to") == WA_TECH and call.status == 200
    ]
    if not notices:
        pytest.skip("the ranking offered the Telegram technician first")
    assert notices[0].message_id is not None
    return notices[0].message_id


async def offer_states(both: Both) -> dict[str, str]:
    async with both.served.db.read() as tx:
        found = await tx.conn.execute(
            sql(
                "SELECT t.channel, o.status FROM job_offers o"
                " JOIN technicians t ON t.id = o.technician_id ORDER BY o.id"
            )
        )
        return {str(row[0]): str(row[1]) for row in found.all()}


async def outbox_status(both: Both, message_id: str) -> str:
    async with both.served.db.read() as tx:
        found = await tx.conn.execute(
            sql("SELECT status FROM outbox WHERE message_id = :m"), {"m": message_id}
        )
        return str(found.scalar_one())


def telegram_offers(both: Both) -> list[str]:
    return [d for call in both.bot_api.sent_to(TECH) for d in inline_data(call) if ":acc:" in d]


@pytest.mark.parametrize("code", [131047, 131026, 131051, 131030])
async def test_a_failed_status_that_means_unreachable_moves_the_offer_on(
    settings: Settings,
    tmp_path: Path,
    migrated: Path,
    code: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serving_both(settings, tmp_path, migrated) as both:
        wamid = await offered_to_whatsapp_first(both)
        assert await offer_states(both) == {"whatsapp": "pending"}
        assert telegram_offers(both) == []

        await both.post(both.hooks.status(wamid, "failed", WA_TECH, errors=(code,)))

        assert await outbox_status(both, wamid) == "unreachable"
        assert await offer_states(both) == {"whatsapp": "expired", "telegram": "pending"}
        assert len(telegram_offers(both)) == 1
        # Applied once: the same status again (past the inbox's duplicate check) does nothing.
        again = Status(wamid, "failed", WA_TECH, (code,))
        assert await statuses.apply(both.served.runtime.core, [again], recheck=0) == 0
        await both.settle()
        assert len(telegram_offers(both)) == 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"unreachable on WhatsApp (codes {code})" in logged
    assert WA_TECH not in logged and "1812345678" not in logged


async def test_sent_delivered_read_change_nothing_and_are_logged_without_personal_data(
    settings: Settings, tmp_path: Path, migrated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="service.statuses")
    async with serving_both(settings, tmp_path, migrated) as both:
        wamid = await offered_to_whatsapp_first(both)
        for state in ("sent", "delivered", "read"):
            await both.post(both.hooks.status(wamid, state, WA_TECH))
        assert await outbox_status(both, wamid) == "sent"
        assert await offer_states(both) == {"whatsapp": "pending"}
        assert telegram_offers(both) == []
    lines = [r.getMessage() for r in caplog.records if r.name == "service.statuses"]
    assert [line.rsplit(": ", 1)[-1] for line in lines] == ["sent", "delivered", "read"]
    assert all("(offer)" in line for line in lines)
    assert not any(WA_TECH in line or CUSTOMER_NAME in line for line in lines)


async def test_other_failures_and_unknown_ids_leave_the_offer_where_it_is(
    settings: Settings, tmp_path: Path, migrated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with serving_both(settings, tmp_path, migrated) as both:
        wamid = await offered_to_whatsapp_first(both)
        # A failure that is no "cannot reach" (Meta's side), and statuses of ids not ours.
        await both.post(both.hooks.status(wamid, "failed", WA_TECH, errors=(131000,)))
        await both.post(both.hooks.status("wamid.unknown", "failed", WA_TECH, errors=(131026,)))
        # (The inbox keeps one "failed" per message id: the next goes to the code directly.)
        elsewhere = Status(wamid, "failed", "8801999999999", (131026,))
        assert await statuses.apply(both.served.runtime.core, [elsewhere], recheck=0) == 0
        assert await outbox_status(both, wamid) == "sent"
        assert await offer_states(both) == {"whatsapp": "pending"}
        assert telegram_offers(both) == []
        async with both.served.db.read() as tx:
            found = await tx.conn.execute(sql("SELECT state FROM inbox ORDER BY id"))
            states = [row[0] for row in found.all()]
        assert states[-2:] == ["done", "done"]  # handled, not taken up again
    assert "failed on WhatsApp (codes 131000)" in caplog.text

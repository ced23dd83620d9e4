"""What one delivery attempt leaves in the database: the ids of what went out, and where.

Every part that reached a chat is recorded at once, where erasure looks for it: the outbox
row (``outbox_outcomes.sent``/``progress``), the offer (its notice, its contact and pin) and
``job_views`` (messages that show an offer's contact, and copies left by attempts whose
outcome was unknown). The first write of each list changes no row when the row is gone
(erased while in flight): the caller then takes back what went out.
"""

from __future__ import annotations

from app.ports import Progress, Sent
from storage import handoff, job_messages, outbox, outbox_outcomes
from storage.database import Write


def delivered(row: outbox.Pending, sent: Sent) -> list[Write]:
    """What a delivered row leaves behind: its ids, and where erasure finds them."""
    writes = outbox_outcomes.sent(
        outbox_id=row.id,
        message_id=sent.message_id,
        location_message_id=sent.pin_id,
        offer_id=row.offer_id if row.kind == "offer" else None,
        # Where erasure looks for what a technician's chat holds of a customer.
        contact_offer_id=row.offer_id if row.kind == "contact" else None,
        copies=sent.copies,
    )
    return writes + views(row, sent) + _handoff(row, sent)


def attempted(row: outbox.Pending, progress: Progress) -> list[Write]:
    """What a failed attempt leaves behind: the parts that went out, where erasure looks."""
    sent = progress.sent
    writes = outbox_outcomes.progress(
        outbox_id=row.id,
        message_id=sent.message_id,
        location_message_id=sent.pin_id,
        copies=sent.copies,
        unsure=progress.unsure,
        unsure_since=progress.since,
        offer_id=row.offer_id if row.kind == "offer" else None,
        contact_offer_id=row.offer_id if row.kind == "contact" else None,
    )
    return writes + views(row, sent) + _handoff(row, sent)


def _handoff(row: outbox.Pending, sent: Sent) -> list[Write]:
    """A customer's message in the operators' chat: where it is, for replies and erasure."""
    if row.kind != handoff.TO_OPERATORS or sent.message_id is None:
        return []
    return handoff.delivered(outbox_id=row.id, message_id=sent.message_id, copies=sent.copies)


def views(row: outbox.Pending, sent: Sent) -> list[Write]:
    """Messages in an offer's chat that erasure deletes with the offer's other ones."""
    if row.kind == outbox.WITHDRAW:
        return []
    shows_offer = row.body.get("shows_offer")
    if isinstance(shows_offer, int):
        return job_messages.views([(shows_offer, found) for found in sent.ids()])
    if row.kind in ("offer", "contact") and row.offer_id is not None:
        # Copies of its notice or of its contact (an attempt whose outcome was unknown).
        return job_messages.views([(row.offer_id, copy) for copy in sent.copies])
    return []

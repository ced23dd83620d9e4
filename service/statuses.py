"""WhatsApp's delivery statuses applied to the outbox: a failure that means "cannot reach".

Meta posts what became of each message (``sent``, ``delivered``, ``read``, ``failed``) to the
webhook, often after the Cloud API accepted the request: a message to someone whose 24-hour
window is closed is accepted, then fails with 131047. Statuses find their outbox row by the
message id the channel recorded (``service/outcomes.py``). ``sent``, ``delivered`` and
``read`` are logged at DEBUG (the row's id and kind, nothing personal); a ``failed`` one with
a code that means the person cannot be reached (131047, 131026, 131051, 131030: the error-code
reference cited in channels/whatsapp/channel.py) marks the row unreachable and, for a job
offer, moves the job to the next technician at once, as the delivery worker does for a send
refused on the spot. Other failures are logged with their codes only.

131047 counts as unreachable with or without a template: the row's text is dropped once the
Cloud API accepted it (``storage/outbox_outcomes.sent``), so there is nothing left to send
again as a template, and the job must not wait for a technician who will never see it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from app import offers
from app.core import Core
from channels.whatsapp.channel import OUTSIDE_WINDOW, UNREACHABLE
from channels.whatsapp.inbound import CHANNEL, Status
from storage import statuses
from storage.models import OutboxStatus

log = logging.getLogger(__name__)

#: Failure codes that mean the person cannot be reached on WhatsApp.
CANNOT_REACH = UNREACHABLE | {OUTSIDE_WINDOW}
#: Seconds to wait once for a row not found yet: the status of a message may come before
#: the worker has recorded its id (the send's answer and the webhook race).
RECHECK = 2.0


async def apply(core: Core, found: Iterable[Status], *, recheck: float = RECHECK) -> int:
    """Apply delivery statuses; return how many moved a row to unreachable."""
    moved = 0
    for status in found:
        if await _apply_one(core, status, recheck):
            moved += 1
    return moved


async def _apply_one(core: Core, status: Status, recheck: float) -> bool:
    row = await _find(core, status)
    if row is None and status.status == "failed" and recheck > 0:
        await asyncio.sleep(recheck)
        row = await _find(core, status)
    if row is None:
        log.debug("a %s status for a message no outbox row holds", status.status)
        return False
    if status.status != "failed":
        log.debug("outbox %d (%s): %s", row.id, row.kind, status.status)
        return False
    codes = ",".join(str(code) for code in status.errors) or "none"
    if not CANNOT_REACH.intersection(status.errors):
        log.warning("outbox %d (%s): failed on WhatsApp (codes %s)", row.id, row.kind, codes)
        return False
    if row.status not in (OutboxStatus.SENT, OutboxStatus.PENDING):
        return False  # already settled otherwise
    changed = (await core.db.write(statuses.unreachable(outbox_id=row.id)))[0]
    if not changed:
        return False
    log.info("outbox %d (%s): unreachable on WhatsApp (codes %s)", row.id, row.kind, codes)
    if row.kind == "offer" and row.offer_id is not None:
        # As the delivery worker for a send refused at once: the next technician now.
        await offers.offer_lapsed(core, row.offer_id)
    return True


async def _find(core: Core, status: Status) -> statuses.SentRow | None:
    async with core.db.read() as tx:
        return await statuses.find(
            tx, channel=CHANNEL, chat=status.recipient, message_id=status.message_id
        )

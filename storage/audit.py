"""The audit log of data-rights actions: who did what kind of thing, to which opaque subject.

Call :func:`record` inside the transaction that does the action, so the action and its record
commit (or roll back) together::

    async with db.transaction() as tx:
        ...  # the export or correction itself
        await audit.record(
            tx,
            kind="correct",
            actor="customer",
            subject=audit.customer_subject(customer.id),
            detail="phone",  # the field corrected, never its value
        ) Nothing personal goes in: ``subject`` is :func:`customer_subject`,
:func:`technician_subject` or :func:`token_subject` (a random token, when there is no row to
point at); ``detail`` is short plain text such as a field name or counts. A value with a run of
eight or more digits (a phone number, a Telegram id) is refused with ``ValueError``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import Table, select

from storage.database import Tx
from storage.models import AuditEvent, utcnow

Kind = Literal[
    "export",
    "correct",
    "erase",
    "erase_by_operator",
    "technician_erase",
    "approve",
    "reject",
    "assign",
]
Actor = Literal["customer", "technician", "operator"]
KINDS: frozenset[str] = frozenset(get_args(Kind))
ACTORS: frozenset[str] = frozenset(get_args(Actor))
MAX_SUBJECT = 64
MAX_DETAIL = 64
#: How many events /audit shows.
DEFAULT_LIMIT = 50

_table: Table = AuditEvent.__table__  # type: ignore[attr-defined]
# Eight digits in a row is a phone number or a Telegram id: never log those. (Internal ids
# stay far below ten million.)
_IDENTIFYING = re.compile(r"\d{8}")
# Tokens are written without digits, so that no random run of them looks like a number.
_NO_DIGITS = str.maketrans("0123456789", "ghijklmnop")


def customer_subject(customer_id: int | None) -> str:
    """Return the subject for customer ``customer_id`` (the internal id, not the Telegram one)."""
    return f"customer:{customer_id or 0}"


def technician_subject(technician_id: int | None) -> str:
    """Return the subject for technician ``technician_id`` (the internal id)."""
    return f"technician:{technician_id or 0}"


def order_subject(order_id: int | None) -> str:
    """Return the subject for order ``order_id`` (the internal id, not its reference)."""
    return f"order:{order_id or 0}"


def token_subject() -> str:
    """Return a random one-off subject, for an action with no row to point at."""
    return "token:" + secrets.token_hex(6).translate(_NO_DIGITS)


def _check(name: str, value: str, limit: int) -> None:
    if not value or len(value) > limit:
        raise ValueError(f"audit {name} must be 1 to {limit} characters")
    if _IDENTIFYING.search(value):
        raise ValueError(f"audit {name} looks like a phone number or Telegram id")


async def record(
    tx: Tx,
    *,
    kind: Kind,
    actor: Actor,
    subject: str,
    detail: str | None = None,
    at: datetime | None = None,
    actor_ref: str | None = None,
) -> None:
    """Add one event in ``tx``'s transaction; see the module docstring.

    ``actor_ref`` names the operator who acted (``telegram:<user id>``): staff are
    accountable; it is never set for a customer or a technician.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    if actor not in ACTORS:
        raise ValueError(f"unknown audit actor {actor!r}")
    _check("subject", subject, MAX_SUBJECT)
    if detail is not None:
        _check("detail", detail, MAX_DETAIL)
    if actor_ref is not None and (actor != "operator" or len(actor_ref) > MAX_SUBJECT):
        raise ValueError("only an operator is named in the audit log")
    statement = _table.insert().values(
        at=at or utcnow(),
        kind=kind,
        actor=actor,
        actor_ref=actor_ref,
        subject=subject,
        detail=detail,
    )
    await tx.execute(statement)


async def recent(tx: Tx, *, limit: int = DEFAULT_LIMIT) -> Sequence[AuditEvent]:
    """Return the newest ``limit`` events, newest first."""
    statement = select(_table).order_by(_table.c.id.desc()).limit(limit)
    rows = (await tx.execute(statement)).all()
    events = [AuditEvent.model_validate(row._asdict()) for row in rows]
    for event in events:
        if event.at.tzinfo is None:  # SQLite hands back the stored UTC time without its zone
            event.at = event.at.replace(tzinfo=UTC)
    return events

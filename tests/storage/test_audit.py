"""The audit log: events join the caller's transaction, come back newest first, stay impersonal."""

from datetime import UTC, datetime, timedelta

import pytest

from storage import audit
from storage.database import Database


async def test_record_in_the_callers_unit_of_work_and_read_newest_first(db: Database) -> None:
    start = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    async with db.transaction() as tx:
        await audit.record(
            tx, kind="export", actor="customer", subject=audit.customer_subject(7), at=start
        )
    async with db.transaction() as tx:
        await audit.record(
            tx,
            kind="correct",
            actor="customer",
            subject=audit.customer_subject(7),
            detail="phone",
            at=start + timedelta(minutes=1),
        )
    async with db.read() as tx:
        events = await audit.recent(tx)
    assert [(e.kind, e.actor, e.subject, e.detail) for e in events] == [
        ("correct", "customer", "customer:7", "phone"),
        ("export", "customer", "customer:7", None),
    ]
    assert events[0].at == start + timedelta(minutes=1)
    assert events[0].at.tzinfo is not None


async def test_an_event_rolls_back_with_its_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await audit.record(tx, kind="erase", actor="customer", subject=audit.token_subject())
            raise RuntimeError("the erasure failed half way")
    async with db.read() as tx:
        assert await audit.recent(tx) == []


async def test_recent_is_limited(db: Database) -> None:
    async with db.transaction() as tx:
        for number in range(60):
            await audit.record(
                tx, kind="erase", actor="operator", subject=audit.customer_subject(number)
            )
    async with db.read() as tx:
        events = await audit.recent(tx)
        assert len(events) == audit.DEFAULT_LIMIT
        assert events[0].subject == "customer:59"
        assert len(await audit.recent(tx, limit=3)) == 3


@pytest.mark.parametrize(
    ("subject", "detail"),
    [
        ("+8801712345678", None),
        ("01712345678", None),
        ("telegram:50010010", None),
        ("customer:1", "phone 01712345678"),
        ("", None),
        ("x" * 65, None),
        ("customer:1", "y" * 65),
    ],
)
async def test_personal_or_oversized_values_are_refused(
    db: Database, subject: str, detail: str | None
) -> None:
    async with db.transaction() as tx:
        with pytest.raises(ValueError, match="audit"):
            await audit.record(tx, kind="erase", actor="customer", subject=subject, detail=detail)


async def test_unknown_kind_or_actor_is_refused(db: Database) -> None:
    async with db.transaction() as tx:
        with pytest.raises(ValueError, match="kind"):
            await audit.record(tx, kind="peek", actor="customer", subject="token:1")
        with pytest.raises(ValueError, match="actor"):
            await audit.record(tx, kind="erase", actor="robot", subject="token:1")


def test_subjects_are_opaque() -> None:
    assert audit.customer_subject(12) == "customer:12"
    assert audit.technician_subject(3) == "technician:3"
    tokens = {audit.token_subject() for _ in range(200)}
    assert len(tokens) == 200
    assert all(t.startswith("token:") and not any(c.isdigit() for c in t) for t in tokens)

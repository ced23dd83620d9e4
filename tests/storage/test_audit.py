"""The audit log: events join the caller's transaction, come back newest first, stay impersonal."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import audit
from storage.engine import session_factory


async def test_record_through_a_connection_or_a_session_and_read_newest_first(
    engine: AsyncEngine,
) -> None:
    start = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    async with engine.begin() as conn:
        await audit.record(
            conn, kind="export", actor="customer", subject=audit.customer_subject(7), at=start
        )
    async with session_factory(engine)() as db:
        await audit.record(
            db,
            kind="correct",
            actor="customer",
            subject=audit.customer_subject(7),
            detail="phone",
            at=start + timedelta(minutes=1),
        )
        await db.commit()
    async with engine.connect() as conn:
        events = await audit.recent(conn)
    assert [(e.kind, e.actor, e.subject, e.detail) for e in events] == [
        ("correct", "customer", "customer:7", "phone"),
        ("export", "customer", "customer:7", None),
    ]
    assert events[0].at == start + timedelta(minutes=1)
    assert events[0].at.tzinfo is not None


async def test_an_event_rolls_back_with_its_transaction(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as db:
        await audit.record(db, kind="erase", actor="customer", subject=audit.token_subject())
        await db.rollback()
    async with engine.connect() as conn:
        assert await audit.recent(conn) == []


async def test_recent_is_limited(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for number in range(60):
            await audit.record(
                conn, kind="erase", actor="operator", subject=audit.customer_subject(number)
            )
    async with engine.connect() as conn:
        events = await audit.recent(conn)
        assert len(events) == audit.DEFAULT_LIMIT
        assert events[0].subject == "customer:59"
        assert len(await audit.recent(conn, limit=3)) == 3


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
    engine: AsyncEngine, subject: str, detail: str | None
) -> None:
    async with engine.begin() as conn:
        with pytest.raises(ValueError, match="audit"):
            await audit.record(
                conn, kind="erase", actor="customer", subject=subject, detail=detail
            )


async def test_unknown_kind_or_actor_is_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        with pytest.raises(ValueError, match="kind"):
            await audit.record(conn, kind="peek", actor="customer", subject="token:1")
        with pytest.raises(ValueError, match="actor"):
            await audit.record(conn, kind="erase", actor="robot", subject="token:1")


def test_subjects_are_opaque() -> None:
    assert audit.customer_subject(12) == "customer:12"
    assert audit.technician_subject(3) == "technician:3"
    tokens = {audit.token_subject() for _ in range(200)}
    assert len(tokens) == 200
    assert all(t.startswith("token:") and not any(c.isdigit() for c in t) for t in tokens)

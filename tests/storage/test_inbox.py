"""The inbox: stored once per channel id, taken in arrival order, emptied when done."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from conversations.events import Address
from storage import inbox
from storage.database import Database
from storage.models import InboxUpdate, utcnow

ALICE = Address("whatsapp", "8801711000001")
BOB = Address("whatsapp", "8801711000002")


def message(word: str) -> dict[str, object]:
    return {"id": f"wamid.{word}", "type": "text", "text": {"body": word}}


async def test_a_redelivered_id_is_stored_once(db: Database) -> None:
    async with db.transaction() as tx:
        assert await inbox.store(
            tx, channel="whatsapp", external_id="wamid.1", person=ALICE, body=message("hi")
        )
    async with db.transaction() as tx:
        assert not await inbox.store(
            tx, channel="whatsapp", external_id="wamid.1", person=ALICE, body=message("again")
        )
        # The same id on another channel is another update.
        assert await inbox.store(
            tx, channel="telegram", external_id="wamid.1", person=None, body={"update_id": 1}
        )
    async with db.read() as tx:
        found = await inbox.pending(tx)
    assert [(row.channel, row.body) for row in found] == [
        ("whatsapp", message("hi")),
        ("telegram", {"update_id": 1}),
    ]
    assert found[0].person == ALICE and found[1].person is None


async def test_pending_is_arrival_order_and_pages(db: Database) -> None:
    async with db.transaction() as tx:
        for n, who in enumerate((ALICE, BOB, ALICE, BOB)):
            await inbox.store(
                tx, channel="whatsapp", external_id=f"m{n}", person=who, body=message(str(n))
            )
    async with db.read() as tx:
        first = await inbox.pending(tx, limit=3)
        rest = await inbox.pending(tx, after=first[-1].id)
    assert [row.external_id for row in first + rest] == ["m0", "m1", "m2", "m3"]


async def test_done_keeps_nothing_personal_and_still_refuses_the_id(db: Database) -> None:
    async with db.transaction() as tx:
        await inbox.store(
            tx, channel="whatsapp", external_id="wamid.x", person=ALICE, body=message("secret")
        )
        (row,) = await inbox.pending(tx)
        await inbox.done(tx, row.id)
    async with db.read() as tx:
        assert await inbox.pending(tx) == []
        kept = (await tx.execute(select(InboxUpdate.__table__))).mappings().one()  # type: ignore[attr-defined]
        raw = (await tx.execute(text("SELECT body FROM inbox"))).scalar_one()
    assert kept["state"] == "done" and kept["attempts"] == 1 and kept["done_at"] is not None
    assert kept["body"] is None and kept["person_id"] is None and raw is None
    async with db.transaction() as tx:
        assert not await inbox.store(
            tx, channel="whatsapp", external_id="wamid.x", person=ALICE, body=message("again")
        )


async def test_the_body_is_encrypted_at_rest(db: Database) -> None:
    async with db.transaction() as tx:
        await inbox.store(
            tx, channel="whatsapp", external_id="w", person=ALICE, body=message("Road 7 house 3")
        )
    async with db.read() as tx:
        raw = (await tx.execute(text("SELECT body FROM inbox"))).scalar_one()
    assert b"Road 7" not in bytes(raw)


async def test_purge_removes_only_old_done_rows(db: Database) -> None:
    async with db.transaction() as tx:
        for name in ("old", "new", "waiting"):
            await inbox.store(tx, channel="whatsapp", external_id=name, person=BOB, body={})
        old, new, _ = await inbox.pending(tx)
        await inbox.done(tx, old.id)
        await inbox.done(tx, new.id)
        await tx.execute(
            text("UPDATE inbox SET done_at = :when WHERE id = :id"),
            {"when": utcnow() - timedelta(days=8), "id": old.id},
        )
    async with db.transaction() as tx:
        assert await inbox.purge(tx, before=utcnow() - timedelta(days=7)) == 1
    async with db.read() as tx:
        left = (await tx.execute(text("SELECT external_id FROM inbox ORDER BY id"))).scalars()
        assert list(left) == ["new", "waiting"]

"""Limits and authority, in the core: open orders, buttons out of place, who may operate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.core import Contacts, Core
from app.handle import handle
from conversations.events import Address, ButtonPress, Command, Inbound, Sender, Text
from conversations.outbound import Outbound
from storage import audit, customers, orders, technicians
from storage.database import Database
from storage.models import AuditEvent, Order, OutboxMessage
from tests.app.recording import RecordingChannel, recording_core
from tests.app.test_handle import (
    CUSTOMER,
    NOW,
    OPERATORS,
    book,
    channel,
    event,
    press,
)

OPERATOR = Address("telegram", "3001")
MEMBER = Address("telegram", "3002")
APPLICANT = Address("telegram", "9500")


@pytest.fixture
async def core(db: Database) -> AsyncIterator[Core]:
    async with recording_core(
        db,
        RecordingChannel(admins=frozenset({OPERATOR.id})),
        contacts=Contacts(operators=OPERATORS),
        clock=lambda: NOW,
        max_open_orders=2,
    ) as made:
        yield made


async def count(core: Core, model: type) -> int:
    async with core.db.read() as tx:
        return int(await tx.scalar(select(func.count()).select_from(model)))


async def book_again(core: Core) -> None:
    """Another whole booking by a customer who consented already (no consent step)."""
    await to_summary_again(core)
    await press(core, "bk:summary:confirm")


async def to_summary_again(core: Core) -> None:
    """Another booking up to its summary, by a customer who consented already."""
    await handle(core, event(Command("book")))
    await press(core, "bk:service:plumbing")
    await handle(core, event(Text("Bathroom pipe is leaking")))
    await press(core, "bk:area:mirpur")
    await handle(core, event(Text("House 12, Road 5, Mirpur 10")))
    await handle(core, event(Text("01712345678")))
    await handle(core, event(Text("Rahim Uddin")))
    await press(core, "bk:time:")


def in_group(person: Address, payload: object, receipt: str | None = None) -> Inbound:
    sender = Sender(
        person=person, chat=OPERATORS, first_name="Nadia", language_code="en", private=False
    )
    return Inbound(sender, payload, receipt=receipt)  # type: ignore[arg-type]


# --- open orders ------------------------------------------------------------------------------


async def test_a_customer_with_the_most_open_orders_is_told_and_nothing_is_offered(
    core: Core,
) -> None:
    await book(core)
    await book_again(core)
    assert await count(core, Order) == 2
    before = await count(core, OutboxMessage)
    await handle(core, event(Command("book")))
    refused = channel(core).texts(CUSTOMER)[-1]
    assert "You already have 2 open orders" in refused and "/myorders" in refused
    assert (await core.sessions.load(CUSTOMER)).flow == "idle"  # no booking started
    assert (await count(core, Order), await count(core, OutboxMessage)) == (2, before)


async def test_a_confirm_over_the_limit_stores_and_offers_nothing(core: Core) -> None:
    await book(core)
    await to_summary_again(core)  # one open order of two: this booking may start
    # Meanwhile another order of theirs is stored (a second device, say).
    async with core.db.transaction() as tx:
        customer = await customers.get(tx, person=CUSTOMER)
        assert customer is not None
        await orders.place(
            tx,
            draft_id="elsewhere",
            customer_id=customer.id or 0,
            lang="en",
            service="plumbing",
            area="mirpur",
            area_other=None,
            address="House 1",
            latitude=None,
            longitude=None,
            phone="+8801712345678",
            name="Rahim",
            problem=None,
            visit_date=NOW.date(),
            visit_part="evening",
        )
    before = (await count(core, Order), await count(core, OutboxMessage))
    await press(core, "bk:summary:confirm")
    assert "You already have 2 open orders" in channel(core).texts(CUSTOMER)[-1]
    assert (await count(core, Order), await count(core, OutboxMessage)) == before


# --- buttons out of place ---------------------------------------------------------------------


async def test_customer_buttons_pressed_in_a_group_are_ignored(core: Core) -> None:
    forged = Inbound(
        Sender(person=CUSTOMER, chat=OPERATORS, private=False),
        ButtonPress("dr:export", "5"),
        receipt="x",
    )
    await handle(core, forged)
    # Nothing is said anywhere: no export lands in the operators' chat.
    assert channel(core).sent == []
    assert (await core.sessions.load(CUSTOMER)).flow == "idle"


async def test_operators_buttons_outside_their_chat_are_ignored(core: Core) -> None:
    await handle(core, event(ButtonPress("op:keep", "5"), OPERATOR, receipt="x"))
    assert channel(core).sent == []


# --- who may act in the operators' chat -------------------------------------------------------


async def test_a_member_who_is_not_an_administrator_may_not_act(core: Core) -> None:
    await handle(core, in_group(MEMBER, Command("orders")))
    (said,) = [m for _, m in channel(core).sent if isinstance(m, Outbound)]
    assert "Only the operators" in said.text
    await handle(core, in_group(OPERATOR, Command("orders")))
    assert "Only the operators" not in channel(core).texts(OPERATORS)[-1]


async def test_operator_ids_from_configuration_replace_the_administrators(core: Core) -> None:
    from app.authority import Authority

    core.authority = Authority(frozenset({MEMBER.id}))
    await handle(core, in_group(OPERATOR, Command("orders")))
    assert "Only the operators" in channel(core).texts(OPERATORS)[-1]
    await handle(core, in_group(MEMBER, Command("orders")))
    assert "Only the operators" not in channel(core).texts(OPERATORS)[-1]


async def test_an_applicant_never_decides_their_own_application(core: Core) -> None:
    async with core.db.transaction() as tx:
        applied = await technicians.apply(
            tx,
            person=OPERATOR,
            name="Nadia",
            phone="+8801812345678",
            services=("plumbing",),
            areas=("all",),
            latitude=None,
            longitude=None,
            lang="en",
        )
    own = in_group(OPERATOR, ButtonPress(f"op:ok:{applied.technician_id}", "7"), receipt="q")
    await handle(core, own)
    assert "cannot decide your own application" in channel(core).texts(OPERATORS)[-1]
    async with core.db.read() as tx:
        still = await technicians.load(tx, technician_id=applied.technician_id)
    assert still is not None and still.status == technicians.PENDING


async def test_the_audit_log_names_the_operator_who_acted(core: Core) -> None:
    async with core.db.transaction() as tx:
        applied = await technicians.apply(
            tx,
            person=APPLICANT,
            name="Karim",
            phone="+8801812345679",
            services=("plumbing",),
            areas=("all",),
            latitude=None,
            longitude=None,
            lang="en",
        )
    decide = in_group(OPERATOR, ButtonPress(f"op:ok:{applied.technician_id}", "7"), receipt="q")
    await handle(core, decide)
    async with core.db.read() as tx:
        events = await audit.recent(tx)
    assert [(e.kind, e.actor, e.actor_ref) for e in events] == [
        ("approve", "operator", "telegram:3001")
    ]
    await handle(core, in_group(OPERATOR, Command("audit")))
    assert "operator telegram:3001" in channel(core).texts(OPERATORS)[-1]
    assert await count(core, AuditEvent) == 1


def test_only_an_operator_is_named_in_the_audit_log() -> None:
    with pytest.raises(ValueError, match="only an operator"):
        import asyncio

        asyncio.run(
            audit.record(
                None,  # type: ignore[arg-type]
                kind="erase",
                actor="customer",
                subject="customer:1",
                actor_ref="telegram:1",
            )
        )


def test_now_is_fixed() -> None:
    assert datetime(2026, 11, 24, 3, 0, tzinfo=UTC) == NOW


async def test_the_administrators_are_kept_a_while_and_a_new_one_is_let_in_soon() -> None:
    from app.authority import REFRESH_AFTER, Authority

    now = [0.0]
    recording = RecordingChannel(admins=frozenset({OPERATOR.id}))
    asked: list[float] = []
    original = recording.administrators

    async def counted(chat: Address) -> frozenset[str]:
        asked.append(now[0])
        return await original(chat)

    recording.administrators = counted  # type: ignore[method-assign]
    authority = Authority(clock=lambda: now[0])
    assert await authority.may_act(recording, OPERATORS, OPERATOR)
    assert await authority.may_act(recording, OPERATORS, OPERATOR)
    assert len(asked) == 1  # kept: a busy chat does not ask at every press
    assert not await authority.may_act(recording, OPERATORS, MEMBER)
    assert len(asked) == 1  # read a moment ago: not asked again for a stranger
    recording.admins = frozenset({OPERATOR.id, MEMBER.id})  # made an administrator
    now[0] += REFRESH_AFTER
    assert await authority.may_act(recording, OPERATORS, MEMBER)
    recording.admins = frozenset({MEMBER.id})  # and the first one removed
    now[0] += 61
    assert not await authority.may_act(recording, OPERATORS, OPERATOR)

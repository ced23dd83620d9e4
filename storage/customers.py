"""Customers: find or create by Telegram id, remember their details and consent."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.session import Profile
from storage import prepared
from storage.crypto import keyring
from storage.models import Customer, utcnow

# The functions on an AsyncConnection run on every booking: single Core statements, no
# unit of work (an ORM round costs about three times as much).
_customers: Table = Customer.__table__  # type: ignore[attr-defined]
_PROFILE = ("name", "phone", "address", "latitude", "longitude", "consent_version")
_PROFILE_QUERY = core_select(*(_customers.c[name] for name in _PROFILE)).where(
    _customers.c.telegram_id == bindparam("telegram_id")
)


async def get(db: AsyncSession, *, telegram_id: int) -> Customer | None:
    """Return the customer with ``telegram_id``, if any."""
    result = await db.exec(select(Customer).where(Customer.telegram_id == telegram_id))
    return result.first()


async def profile(conn: AsyncConnection, *, telegram_id: int) -> Profile:
    """Return what a returning customer can reuse (empty for a new one)."""
    found = await prepared.rows(conn, _PROFILE_QUERY, {"telegram_id": telegram_id})
    if not found:
        return Profile()
    return Profile(**dict(zip(_PROFILE, found[0], strict=True)))


def consent(
    dialect: str, *, telegram_id: int, lang: str, version: str, at: datetime
) -> prepared.Write:
    """The write storing that the customer agreed to the policy of ``version`` at ``at``."""
    values = {"consent_version": version, "consent_at": at}
    return _upsert_write(dialect, telegram_id=telegram_id, lang=lang, values=values)


async def save_details(
    conn: AsyncConnection,
    *,
    telegram_id: int,
    lang: str,
    name: str,
    phone: str,
    address: str | None,
    latitude: float | None,
    longitude: float | None,
) -> int:
    """Save the details of a confirmed booking for the customer's next one; return their id."""
    values = {
        "name": name,
        "phone": phone,
        "phone_index": keyring().blind_index(phone),
        "address": address,
        "latitude": latitude,
        "longitude": longitude,
    }
    return await _upsert(conn, telegram_id=telegram_id, lang=lang, values=values)


async def _upsert(
    conn: AsyncConnection, *, telegram_id: int, lang: str, values: dict[str, Any]
) -> int:
    """Create the customer or update ``values`` on them, in one statement; return the id."""
    write = _upsert_write(conn.dialect.name, telegram_id=telegram_id, lang=lang, values=values)
    customer_id: int = (await prepared.rows(conn, *write))[0][0]
    return customer_id


def _upsert_write(
    dialect: str, *, telegram_id: int, lang: str, values: dict[str, Any]
) -> prepared.Write:
    now = utcnow()
    parameters = {"telegram_id": telegram_id, "lang": lang, "created_at": now, "updated_at": now}
    return _upsert_statement(dialect, tuple(values)), {**parameters, **values}


@functools.cache
def _upsert_statement(dialect: str, columns: tuple[str, ...]) -> Any:
    # One statement object per shape, reused with fresh parameters: SQLAlchemy then finds
    # its compiled SQL in the cache instead of rebuilding it on every booking.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_customers)
    changed = {name: statement.excluded[name] for name in (*columns, "updated_at")}
    return statement.on_conflict_do_update(index_elements=["telegram_id"], set_=changed).returning(
        _customers.c.id
    )


async def chat_of(conn: AsyncConnection, *, customer_id: int | None) -> int | None:
    """Return the chat of customer ``customer_id`` (None once they are erased)."""
    if customer_id is None:
        return None
    result = await conn.execute(
        select(_customers.c.telegram_id).where(_customers.c.id == customer_id)
    )
    chat: int | None = result.scalar()
    return chat


#: Saved details a customer may correct from /mydata.
CORRECTABLE = frozenset({"name", "phone", "address", "latitude", "longitude"})


async def correct_details(
    conn: AsyncConnection, *, telegram_id: int, changes: dict[str, Any]
) -> int | None:
    """Replace saved details of an existing customer; return their id, None if there is none.

    Only an existing customer is changed (a correction never creates one); a new phone gets
    its blind index recomputed with it.
    """
    unknown = set(changes) - CORRECTABLE
    if unknown:
        raise ValueError(f"not correctable: {sorted(unknown)}")
    values = dict(changes, updated_at=utcnow())
    if "phone" in changes:
        phone = changes["phone"]
        values["phone_index"] = keyring().blind_index(phone) if phone else None
    statement = (
        _customers.update()
        .where(_customers.c.telegram_id == telegram_id)
        .values(**values)
        .returning(_customers.c.id)
    )
    customer_id: int | None = (await conn.execute(statement)).scalar()
    return customer_id

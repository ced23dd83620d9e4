"""Customers: found or created by their address on a channel; details and consent kept."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from conversations.events import Address
from conversations.session import Profile
from storage.crypto import keyring
from storage.database import Tx, Write
from storage.models import Customer, utcnow

# Single Core statements, built once: they run on every booking.
_customers: Table = Customer.__table__  # type: ignore[attr-defined]
_PROFILE = ("name", "phone", "address", "latitude", "longitude", "consent_version")
_BY_ADDRESS = (_customers.c.channel == bindparam("channel")) & (
    _customers.c.external_id == bindparam("external_id")
)
_PROFILE_QUERY = select(*(_customers.c[name] for name in _PROFILE)).where(_BY_ADDRESS)
_GET = select(_customers).where(_BY_ADDRESS)
_ADDRESS_OF = select(_customers.c.channel, _customers.c.external_id).where(
    _customers.c.id == bindparam("customer_id")
)


def _key(person: Address) -> dict[str, str]:
    return {"channel": person.channel, "external_id": person.id}


def address(customer: Customer) -> Address:
    """Return where ``customer`` is reached."""
    return Address(customer.channel, customer.external_id)


async def get(tx: Tx, *, person: Address) -> Customer | None:
    """Return the customer who is ``person``, if any."""
    row = (await tx.execute(_GET, _key(person))).first()
    return Customer.model_validate(row._asdict()) if row is not None else None


async def profile(tx: Tx, *, person: Address) -> Profile:
    """Return what a returning customer can reuse (empty for a new one)."""
    found = await tx.rows(_PROFILE_QUERY, _key(person))
    if not found:
        return Profile()
    return Profile(**dict(zip(_PROFILE, found[0], strict=True)))


def consent(dialect: str, *, person: Address, lang: str, version: str, at: datetime) -> Write:
    """The write storing that the customer agreed to the policy of ``version`` at ``at``."""
    values = {"consent_version": version, "consent_at": at}
    return _upsert_write(dialect, person=person, lang=lang, values=values)


async def save_details(
    tx: Tx,
    *,
    person: Address,
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
    write = _upsert_write(tx.dialect.name, person=person, lang=lang, values=values)
    customer_id: int = (await tx.rows(*write))[0][0]
    return customer_id


def _upsert_write(dialect: str, *, person: Address, lang: str, values: dict[str, Any]) -> Write:
    now = utcnow()
    parameters = {**_key(person), "lang": lang, "created_at": now, "updated_at": now}
    return _upsert_statement(dialect, tuple(values)), {**parameters, **values}


@functools.cache
def _upsert_statement(dialect: str, columns: tuple[str, ...]) -> Any:
    # One statement object per shape, reused with fresh parameters: SQLAlchemy then finds
    # its compiled SQL in the cache instead of rebuilding it on every booking.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_customers)
    changed = {name: statement.excluded[name] for name in (*columns, "updated_at")}
    return statement.on_conflict_do_update(
        index_elements=["channel", "external_id"], set_=changed
    ).returning(_customers.c.id)


async def address_of(tx: Tx, *, customer_id: int | None) -> Address | None:
    """Return where customer ``customer_id`` is reached (None once they are erased)."""
    if customer_id is None:
        return None
    found = await tx.rows(_ADDRESS_OF, {"customer_id": customer_id})
    return Address(*found[0]) if found else None


#: Saved details a customer may correct from /mydata.
CORRECTABLE = frozenset({"name", "phone", "address", "latitude", "longitude"})


async def correct_details(tx: Tx, *, person: Address, changes: dict[str, Any]) -> int | None:
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
        .where(_customers.c.channel == person.channel)
        .where(_customers.c.external_id == person.id)
        .values(**values)
        .returning(_customers.c.id)
    )
    customer_id: int | None = (await tx.execute(statement)).scalar()
    return customer_id

"""Customers: find or create by Telegram id, remember their details and consent."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.session import Profile
from storage.crypto import keyring
from storage.models import Customer, utcnow


async def get(db: AsyncSession, *, telegram_id: int) -> Customer | None:
    """Return the customer with ``telegram_id``, if any."""
    result = await db.exec(select(Customer).where(Customer.telegram_id == telegram_id))
    return result.first()


async def get_or_create(db: AsyncSession, *, telegram_id: int, lang: str) -> Customer:
    """Return the customer with ``telegram_id``, creating them (not yet committed) if new."""
    customer = await get(db, telegram_id=telegram_id)
    if customer is None:
        customer = Customer(telegram_id=telegram_id, lang=lang)
        db.add(customer)
        await db.flush()
    return customer


async def profile(db: AsyncSession, *, telegram_id: int) -> Profile:
    """Return what a returning customer can reuse (empty for a new one)."""
    customer = await get(db, telegram_id=telegram_id)
    if customer is None:
        return Profile()
    return Profile(
        name=customer.name,
        phone=customer.phone,
        address=customer.address,
        latitude=customer.latitude,
        longitude=customer.longitude,
        consent_version=customer.consent_version,
    )


async def record_consent(
    db: AsyncSession, *, telegram_id: int, lang: str, version: str, at: datetime
) -> None:
    """Store that the customer agreed to the policy of ``version`` at ``at``."""
    customer = await get_or_create(db, telegram_id=telegram_id, lang=lang)
    customer.consent_version, customer.consent_at = version, at
    customer.updated_at = utcnow()
    db.add(customer)


async def remember_details(
    db: AsyncSession,
    *,
    customer: Customer,
    name: str,
    phone: str,
    address: str | None,
    latitude: float | None,
    longitude: float | None,
) -> None:
    """Save the details of a confirmed booking for the customer's next one."""
    customer.name, customer.phone = name, phone
    customer.phone_index = keyring().blind_index(phone)
    customer.address, customer.latitude, customer.longitude = address, latitude, longitude
    customer.updated_at = utcnow()
    db.add(customer)


async def telegram_id_of(db: AsyncSession, *, customer_id: int | None) -> int | None:
    """Return the chat of customer ``customer_id`` (None once they are erased)."""
    if customer_id is None:
        return None
    customer = await db.get(Customer, customer_id)
    return customer.telegram_id if customer else None

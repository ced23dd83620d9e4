"""What a booking asks the core to do: record consent, show the policy, place the order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """A confirmed booking, ready to be stored as an order."""

    draft_id: str
    lang: str
    service: str
    problem: str | None
    area: str
    area_other: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    phone: str
    name: str
    visit_date: date
    visit_part: str


@dataclass(frozen=True, slots=True)
class GiveConsent:
    """The person agreed to the privacy policy of ``version``."""

    version: str


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Store ``draft`` as an order and dispatch it."""

    draft: OrderDraft


@dataclass(frozen=True, slots=True)
class ShowPolicy:
    """Send the privacy policy before this outcome's messages."""


Action = GiveConsent | PlaceOrder | ShowPolicy

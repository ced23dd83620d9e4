"""A person's conversation state: which flow, which step, the answers so far, what waits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conversations.events import Address

IDLE = "idle"
BOOKING = "booking"


@dataclass(slots=True)
class Session:
    """Conversation state of one person, stored at every step.

    ``data`` holds the answers of the current flow; ``resume`` the flow it interrupted, as the
    router set it aside (``{"flow", "step", "data"}``, nested when that one had interrupted
    another). Both are JSON-serialisable and personal, so storage keeps them encrypted.
    """

    person: Address
    lang: str | None = None
    flow: str = IDLE
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    resume: dict[str, Any] | None = None
    #: The stored update (serve's inbox row) whose effects this state already holds: with
    #: several workers an update may be handled again after a crash, and is then answered
    #: with the step's question instead of being applied twice.
    applied: int | None = None

    def copy(self) -> Session:
        """Return an independent copy (flows never mutate the session they were given)."""
        return Session(
            self.person,
            self.lang,
            self.flow,
            self.step,
            dict(self.data),
            self.resume,
            self.applied,
        )

    def reset(self) -> None:
        """Leave the current flow; what it interrupted (if anything) comes back next."""
        self.flow, self.step, self.data = IDLE, "", {}


@dataclass(frozen=True, slots=True)
class Profile:
    """What we already hold about a returning customer, offered instead of retyping."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    consent_version: str | None = None


@dataclass(frozen=True, slots=True)
class SaveCorrection:
    """Store a corrected detail on the customer and on their open orders.

    ``value`` is the new name, the E.164 phone, or the typed address (None when a location pin
    replaces the address; then ``latitude`` and ``longitude`` are set). A flow that resumes
    after a correction (a booking) offers the new value.
    """

    field: str
    value: str | None
    latitude: float | None = None
    longitude: float | None = None

    def changes(self) -> dict[str, Any]:
        """Return the columns this sets (a pin and a typed address replace each other)."""
        if self.field == "address":
            return {"address": self.value, "latitude": self.latitude, "longitude": self.longitude}
        return {self.field: self.value}


#: When the company's people answer, in Dhaka time (``MISTRI_SUPPORT_HOURS``'s default).
DEFAULT_SUPPORT_HOURS = "09:00-21:00"


@dataclass(frozen=True, slots=True)
class Context:
    """The world a flow may look at: the time, the policy in force, how to reach a person."""

    now: datetime
    policy_version: str
    support_phone: str | None = None
    support_email: str | None = None
    #: ``HH:MM-HH:MM`` in Dhaka time, as configured (checked when the settings are read).
    support_hours: str = DEFAULT_SUPPORT_HOURS
    #: The number the sender's channel knows them by (WhatsApp), as sent, or None.
    sender_phone: str | None = None

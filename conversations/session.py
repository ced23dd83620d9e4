"""A person's conversation state: which flow, which step, and the answers so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

IDLE = "idle"
BOOKING = "booking"


@dataclass(slots=True)
class Session:
    """Conversation state of one person, stored at every step.

    ``data`` holds the answers of the current flow; it is JSON-serialisable and personal, so
    storage keeps it encrypted.
    """

    user_id: int
    lang: str | None = None
    flow: str = IDLE
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> Session:
        """Return an independent copy (flows never mutate the session they were given)."""
        return Session(self.user_id, self.lang, self.flow, self.step, dict(self.data))

    def reset(self) -> None:
        """Leave any flow."""
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
class Context:
    """The world a flow may look at: the time and the policy in force."""

    now: datetime
    policy_version: str

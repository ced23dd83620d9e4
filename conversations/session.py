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


#: Where a flow that interrupts another keeps it, in its own ``data``.
RESUME = "resume"


def set_aside(session: Session, flow: str) -> dict[str, Any] | None:
    """What ``flow``, about to start, keeps of ``session`` to give back when it ends."""
    if session.flow == flow:
        # Started again mid-way: what was interrupted is still the same.
        stash: dict[str, Any] | None = session.data.get(RESUME)
        return stash
    if session.flow == IDLE:
        return None
    return {"flow": session.flow, "step": session.step, "data": dict(session.data)}


def resumed(session: Session, flow: str) -> Session:
    """Return the session as it was before ``flow`` set it aside (idle when nothing was)."""
    new = session.copy()
    stash = session.data.get(RESUME)
    if (
        isinstance(stash, dict)
        and isinstance(stash.get("flow"), str)
        and stash["flow"] not in (IDLE, flow)
        and isinstance(stash.get("step"), str)
        and isinstance(stash.get("data"), dict)
    ):
        new.flow, new.step, new.data = stash["flow"], stash["step"], dict(stash["data"])
    else:
        new.reset()
    return new


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

"""What a registration asks the core to do: store the application and pass it on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Application:
    """A submitted registration, ready to be stored as a pending technician."""

    lang: str
    name: str
    phone: str
    services: tuple[str, ...]
    areas: tuple[str, ...]
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class SubmitApplication:
    """Store ``application`` and send it to the operators."""

    application: Application

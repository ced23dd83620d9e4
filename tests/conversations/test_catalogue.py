"""The services and areas, and what each service's problem question gives as an example."""

from __future__ import annotations

import pytest

from conversations import booking
from conversations.catalogue import SERVICES, Service
from conversations.digits import localize_digits
from conversations.events import ButtonPress
from tests.conversations.flow import LANGS, messages, send, session_at


def test_every_service_has_an_example_of_its_own() -> None:
    examples = [service.example for service in SERVICES]
    assert all(examples)
    assert len(set(examples)) == len(SERVICES)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("service", SERVICES, ids=[s.slug for s in SERVICES])
def test_the_problem_question_gives_the_example_of_the_service_chosen(
    service: Service, lang: str
) -> None:
    chosen = service
    outcome = send(session_at(booking.SERVICE, lang), ButtonPress(f"bk:service:{chosen.slug}"))
    assert outcome.session.step == booking.PROBLEM
    text = messages(outcome)[-1].text
    assert localize_digits(chosen.example_in(lang), lang) in text
    for other in SERVICES:
        if other is not chosen:
            assert other.example_in(lang) not in text, other.slug


def test_no_leaking_tap_for_an_air_conditioner() -> None:
    outcome = send(session_at(booking.SERVICE, "en"), ButtonPress("bk:service:ac-servicing"))
    assert "kitchen tap" not in messages(outcome)[-1].text

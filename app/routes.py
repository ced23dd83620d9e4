"""Where the core finds its answers: commands, buttons and actions, each registered by its module.

A use-case module decorates what it answers (``@command("myorders")``, ``@button("ord")``,
``@action(PlaceOrder)``); :func:`load` imports every module of the package once, so adding a
use case edits no switch. Flows route themselves (:mod:`conversations.router`); what is left
comes here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from conversations.events import ButtonPress, Command
from conversations.router import Outcome

if TYPE_CHECKING:
    from app.core import Turn

CommandHandler = Callable[["Turn", Command], Awaitable[Outcome]]
ButtonHandler = Callable[["Turn", ButtonPress], Awaitable[Outcome]]
ActionHandler = Callable[["Turn", Outcome, Any], Awaitable[None]]
_Handler = TypeVar("_Handler", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Answer:
    """A registered answer; ``forgets`` says the person is erased by it: no session is kept."""

    handle: Callable[..., Awaitable[Outcome]]
    forgets: bool = False


COMMANDS: dict[str, Answer] = {}
#: Buttons by their exact data (checked first), then by prefix.
EXACT_BUTTONS: dict[str, Answer] = {}
BUTTONS: dict[str, Answer] = {}
ACTIONS: dict[type, ActionHandler] = {}
#: The operators' chat has commands and buttons of its own (see ``app/operators.py``).
OPERATOR_COMMANDS: dict[str, Answer] = {}
OPERATOR_BUTTONS: dict[str, Answer] = {}


def _add(table: dict[Any, Any], key: Any, value: Any) -> None:
    if key in table and table[key] != value:
        raise ValueError(f"{key!r} is answered twice")
    table[key] = value


def command(*names: str) -> Callable[[_Handler], _Handler]:
    """Register the answer to commands ``names`` (outside a flow, or letting it through)."""

    def register(handler: _Handler) -> _Handler:
        for name in names:
            _add(COMMANDS, name, Answer(handler))
        return handler

    return register


def button(
    prefix: str | None = None, *, data: str | None = None, forgets: bool = False
) -> Callable[[_Handler], _Handler]:
    """Register the answer to buttons of ``prefix`` (or of exactly ``data``)."""

    def register(handler: _Handler) -> _Handler:
        if data is not None:
            _add(EXACT_BUTTONS, data, Answer(handler, forgets))
        if prefix is not None:
            _add(BUTTONS, prefix, Answer(handler, forgets))
        return handler

    return register


def action(kind: type) -> Callable[[_Handler], _Handler]:
    """Register how the action ``kind`` a flow asks for is carried out."""

    def register(handler: _Handler) -> _Handler:
        _add(ACTIONS, kind, handler)
        return handler

    return register


def operator_command(*names: str) -> Callable[[_Handler], _Handler]:
    """Register a command of the operators' chat."""

    def register(handler: _Handler) -> _Handler:
        for name in names:
            _add(OPERATOR_COMMANDS, name, Answer(handler))
        return handler

    return register


def operator_button(kind: str) -> Callable[[_Handler], _Handler]:
    """Register an operators' button by its kind (``op:<kind>:...``)."""

    def register(handler: _Handler) -> _Handler:
        _add(OPERATOR_BUTTONS, kind, Answer(handler))
        return handler

    return register


@cache
def load() -> None:
    """Import every module of the package once, so each registers what it answers."""
    package = importlib.import_module(__package__ or "app")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")

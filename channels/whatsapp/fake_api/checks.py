"""What the fake refuses: every limit of the Cloud API's message objects (../limits.py).

Each check raises :class:`Invalid` with the error code Meta answers (100: a malformed or
missing parameter; 131009: a parameter value out of bounds; 132000/132001: template
parameters, or a template that does not exist).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from channels.whatsapp import limits


class Invalid(Exception):
    """A request the Cloud API would refuse: ``code`` and a description naming the field."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def text(value: Any, limit: int, where: str) -> str:
    """A non-blank string within ``limit``."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(100, f"{where} must be a non-empty string")
    if limits.size(value) > limit:
        raise Invalid(131009, f"{where} is longer than {limit} characters")
    return value


def obj(value: Any, where: str) -> dict[str, Any]:
    """A JSON object."""
    if not isinstance(value, dict):
        raise Invalid(100, f"{where} must be an object")
    return value


def message(
    body: dict[str, Any], media: Collection[str], templates: Collection[str] | None
) -> str:
    """Check one messages request; return its type."""
    if body.get("messaging_product") != "whatsapp":
        raise Invalid(100, "messaging_product must be whatsapp")
    to = body.get("to")
    if not isinstance(to, str) or not to.isdigit():
        raise Invalid(100, "to must be a WhatsApp id (digits)")
    kind = body.get("type")
    content = obj(body.get(kind), str(kind)) if isinstance(kind, str) else None
    if kind == "text" and content is not None:
        text(content.get("body"), limits.TEXT_BODY, "text.body")
    elif kind == "interactive" and content is not None:
        interactive(content)
    elif kind == "location" and content is not None:
        _coordinates(content)
    elif kind == "document" and content is not None:
        if content.get("id") not in media:
            raise Invalid(131053, "document.id names no uploaded media")
        if "caption" in content:
            text(content["caption"], limits.CAPTION, "document.caption")
    elif kind == "template" and content is not None:
        template(content, templates)
    else:
        raise Invalid(100, f"unsupported message type {kind!r}")
    return str(kind)


def interactive(content: dict[str, Any]) -> None:
    """An interactive object: reply buttons, a list or a location request."""
    kind = content.get("type")
    body = obj(content.get("body"), "interactive.body")
    text(body.get("text"), limits.INTERACTIVE_BODY, "interactive.body.text")
    for part, limit in (("header", limits.HEADER), ("footer", limits.FOOTER)):
        if part in content:
            text(obj(content[part], part).get("text"), limit, f"interactive.{part}.text")
    action = obj(content.get("action"), "interactive.action")
    if kind == "button":
        _buttons(action)
    elif kind == "list":
        _list(action)
    elif kind == "location_request_message":
        if action.get("name") != "send_location":
            raise Invalid(100, "action.name must be send_location")
    else:
        raise Invalid(100, f"unsupported interactive type {kind!r}")


def _buttons(action: dict[str, Any]) -> None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= limits.BUTTONS:
        raise Invalid(131009, f"action.buttons must hold 1 to {limits.BUTTONS} buttons")
    ids, titles = set(), set()
    for button in buttons:
        reply = obj(obj(button, "button").get("reply"), "button.reply")
        if button.get("type") != "reply":
            raise Invalid(100, "button.type must be reply")
        ids.add(text(reply.get("id"), limits.BUTTON_ID, "button.reply.id"))
        titles.add(text(reply.get("title"), limits.BUTTON_TITLE, "button.reply.title"))
    if len(ids) != len(buttons) or len(titles) != len(buttons):
        raise Invalid(131009, "button ids and titles must be unique")


def _list(action: dict[str, Any]) -> None:
    text(action.get("button"), limits.LIST_BUTTON, "action.button")
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= limits.LIST_SECTIONS:
        raise Invalid(131009, f"action.sections must hold 1 to {limits.LIST_SECTIONS} sections")
    ids: set[str] = set()
    count = 0
    for found in sections:
        section = obj(found, "section")
        if len(sections) > 1 or "title" in section:
            text(section.get("title"), limits.SECTION_TITLE, "section.title")
        rows = section.get("rows")
        if not isinstance(rows, list) or not rows:
            raise Invalid(131009, "section.rows must not be empty")
        for item in rows:
            row = obj(item, "row")
            ids.add(text(row.get("id"), limits.ROW_ID, "row.id"))
            text(row.get("title"), limits.ROW_TITLE, "row.title")
            if "description" in row:
                text(row["description"], limits.ROW_DESCRIPTION, "row.description")
            count += 1
    if count > limits.LIST_ROWS:
        raise Invalid(131009, f"a list holds at most {limits.LIST_ROWS} rows")
    if len(ids) != count:
        raise Invalid(131009, "row ids must be unique")


def _coordinates(content: dict[str, Any]) -> None:
    latitude, longitude = content.get("latitude"), content.get("longitude")
    if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
        raise Invalid(100, "location needs latitude and longitude")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise Invalid(131009, "location out of range")


def template(content: dict[str, Any], known: Collection[str] | None) -> None:
    """A template message: a known name, a language, parameters Meta accepts."""
    name = content.get("name")
    if not isinstance(name, str) or (known is not None and name not in known):
        raise Invalid(132001, "template name does not exist in the translation")
    language = obj(content.get("language"), "template.language")
    if language.get("code") not in ("bn", "en"):
        raise Invalid(132001, "template does not exist in this language")
    for component in content.get("components", []):
        for parameter in obj(component, "component").get("parameters", []):
            value = obj(parameter, "parameter").get(parameter.get("type"))
            value = text(value, limits.TEMPLATE_PARAMETER, "template parameter")
            if "\n" in value or "\t" in value or "     " in value:
                raise Invalid(132018, "template parameter with new lines, tabs or 5 spaces")

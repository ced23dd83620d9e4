"""Approved templates: what the bot may send outside WhatsApp's 24-hour window.

``MISTRI_WHATSAPP_TEMPLATES`` names them as ``purpose=name`` pairs, comma-separated
(``job_offer=mistri_job_offer,job_update=mistri_job_update``); each template exists in
``bn`` and ``en`` in Meta's WhatsApp Manager. Every template has one body variable,
``{{1}}``, which carries the message's text as one line; a ``job_offer`` template also has
two quick-reply buttons (Accept, Decline, in that order) whose payloads are the offer's
button data, so a tap on them comes back as the same press (inbound.py reads ``button``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from channels.whatsapp import limits
from channels.whatsapp.markup import to_plain

#: The purposes a template may serve.
PURPOSES = frozenset({"job_offer", "job_update", "reminder"})
LANGUAGES = ("bn", "en")


class TemplateError(ValueError):
    """``MISTRI_WHATSAPP_TEMPLATES`` does not say what it should (the message says why)."""


def parse(setting: str | None) -> dict[str, str]:
    """Read ``purpose=name,...`` into {purpose: template name}; empty or None: none."""
    found: dict[str, str] = {}
    for pair in (setting or "").split(","):
        if not pair.strip():
            continue
        purpose, sep, name = (part.strip() for part in pair.partition("="))
        if not sep or not name:
            raise TemplateError(f"MISTRI_WHATSAPP_TEMPLATES: {pair.strip()!r} is not purpose=name")
        if purpose not in PURPOSES:
            raise TemplateError(
                f"MISTRI_WHATSAPP_TEMPLATES: unknown purpose {purpose!r}"
                f" (use {', '.join(sorted(PURPOSES))})"
            )
        if not all(ch.islower() or ch.isdigit() or ch == "_" for ch in name):
            raise TemplateError(
                f"MISTRI_WHATSAPP_TEMPLATES: template name {name!r} must be lower case letters,"
                " digits and underscores, as in WhatsApp Manager"
            )
        if purpose in found:
            raise TemplateError(f"MISTRI_WHATSAPP_TEMPLATES: {purpose!r} is named twice")
        found[purpose] = name
    return found


def parameter(html_text: str) -> str:
    """Return a text as a template parameter: plain, one line, within the limit.

    The Cloud API refuses parameters with line breaks, tabs or more than four spaces in a
    row; separate lines are joined with " · ".
    """
    lines = [" ".join(line.split()) for line in to_plain(html_text).splitlines()]
    joined = " · ".join(line for line in lines if line) or "…"
    return limits.shorten(joined, limits.TEMPLATE_PARAMETER)


def template_message(
    templates: Mapping[str, str],
    purpose: str,
    lang: str,
    params: Sequence[str],
    payloads: Sequence[str] = (),
) -> dict[str, Any] | None:
    """The ``template`` message serving ``purpose`` in ``lang``; None when none is named.

    ``params`` fill the body's variables in order; ``payloads`` the quick-reply buttons.
    """
    name = templates.get(purpose)
    if name is None:
        return None
    components: list[dict[str, Any]] = [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": parameter(text)} for text in params],
        }
    ]
    components.extend(
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(index),
            "parameters": [{"type": "payload", "payload": payload}],
        }
        for index, payload in enumerate(payloads)
    )
    code = lang if lang in LANGUAGES else "bn"
    return {
        "type": "template",
        "template": {"name": name, "language": {"code": code}, "components": components},
    }

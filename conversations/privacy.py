"""The privacy policy: the Bengali original, our English translation, and a summary."""

from __future__ import annotations

from functools import cache
from importlib import resources

from conversations.common import contact_line
from conversations.i18n import translator
from conversations.outbound import Outbound
from conversations.text import esc, split_message

#: The policy's own "last updated" date: agreement is recorded against it.
POLICY_VERSION = "2025-12-24"


@cache
def _read(name: str) -> str:
    return (resources.files("locales") / "privacy" / name).read_text(encoding="utf-8").strip()


def policy_text(lang: str, support_phone: str | None, support_email: str | None) -> str:
    """Return the whole policy in ``lang`` with the contact section filled from configuration."""
    return (
        _read(f"privacy-policy.{lang}.txt") + "\n" + _contact(lang, support_phone, support_email)
    )


def _contact(lang: str, support_phone: str | None, support_email: str | None) -> str:
    lines = []
    if support_phone:
        lines.append("  • " + translator(lang)._("Phone") + f": {support_phone}")
    if support_email:
        lines.append("  • " + translator(lang)._("Email") + f": {support_email}")
    if not lines:
        lines.append(contact_line(lang, None, None))
    return "\n".join(lines)


def policy_messages(
    lang: str, support_phone: str | None, support_email: str | None
) -> list[Outbound]:
    """Return /privacy: a summary, then the policy (Bengali original first), each within limits.

    The person's language goes first in the summary; the Bengali original always comes before
    the English translation, which says it is a translation.
    """
    t = translator(lang)
    title, _, body = _read(f"summary.{lang}.txt").partition("\n")
    summary = f"<b>{esc(title)}</b>\n{esc(body)}"
    messages = [Outbound(summary)]
    for policy_lang in ("bn", "en"):
        body = esc(policy_text(policy_lang, support_phone, support_email))
        if policy_lang == "en":
            note = t._("English translation; the Bengali original above is authoritative.")
            body = f"<i>{note}</i>\n\n{body}"
        messages.extend(Outbound(chunk) for chunk in split_message(body))
    return messages

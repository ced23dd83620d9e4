"""The Cloud API's limits on what a message may hold, shared by the renderer and the fake.

From Meta's message reference (interactive reply buttons, list messages, text, location
request messages): https://developers.facebook.com/docs/whatsapp/cloud-api/messages/
interactive-reply-buttons-messages, .../interactive-list-messages, .../text-messages.
Lengths are counted in UTF-16 code units, which is never less than characters: a text that
fits by this count fits by Meta's.
"""

from __future__ import annotations

import unicodedata

TEXT_BODY = 4096
INTERACTIVE_BODY = 1024
HEADER = 60
FOOTER = 60
BUTTONS = 3
BUTTON_TITLE = 20
BUTTON_ID = 256
LIST_ROWS = 10
LIST_SECTIONS = 10
LIST_BUTTON = 20
SECTION_TITLE = 24
ROW_TITLE = 24
ROW_DESCRIPTION = 72
ROW_ID = 200
CAPTION = 1024
TEMPLATE_PARAMETER = 1024
#: Virama and other marks a cut must not leave dangling at the end of a shortened label.
_DANGLING = frozenset({"Mn", "Mc", "Me"})


def size(text: str) -> int:
    """The length of ``text`` as the limits count it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """Return ``text`` cut to ``limit`` with an ellipsis, at a word break where one is near."""
    text = " ".join(text.split())
    if size(text) <= limit:
        return text
    cut = text
    while size(cut) > limit - 1:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space >= len(cut) // 2:
        cut = cut[:space]
    cut = cut.rstrip()
    # A Bengali consonant cluster cut after its virama would show a broken letter.
    while cut and (unicodedata.category(cut[-1]) in _DANGLING or cut[-1] in "\u200c\u200d"):
        cut = cut[:-1]
    return cut.rstrip() + "…"

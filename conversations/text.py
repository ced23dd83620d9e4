"""Small helpers for texts that go out: escaping, cleaning what people type, splitting."""

from __future__ import annotations

import html
import re
import unicodedata

from babel.numbers import format_decimal

from conversations.digits import localize_digits
from conversations.i18n import translator
from conversations.outbound import MAX_TEXT

# Control and format characters never belong in stored answers: they hide text, reverse it
# (U+202E) or break layouts. They go (a tab and a line break are spaces or a line break).
_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
#: ZWNJ/ZWJ are needed to write Bengali correctly.
_JOINERS = frozenset("\u200c\u200d")
#: Everything that ends a line (what ``str.splitlines`` splits on), ``\r`` and U+2028 included.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
#: Bidirectional embeddings, overrides, isolates and marks: they reorder what follows them.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
#: Letters and symbols that show as blank space (Hangul fillers, the blank Braille pattern,
#: Khmer's invisible vowels): runs of them would pad a value until a forged part of it
#: wraps to the start of a line of its own. They count as spaces.
BLANKS = frozenset("\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
#: What sets apart each line of someone's free text in a message to someone else: plain
#: text that reads as a quote on every channel and is markup on none, so a line of it can
#: never pass for one of the message's own lines ("Phone: ...").
QUOTE_MARK = "\u2502 "


#: A number in button data: ASCII digits only (``str.isdigit`` accepts "²" and "১").
ASCII_NUMBER = re.compile(r"[0-9]{1,19}")


def esc(text: str) -> str:
    """Escape user text for an HTML parse mode."""
    return html.escape(text, quote=False)


def _scrub(text: str, line_break: str) -> str:
    """Return ``text`` in NFC with line breaks as ``line_break`` and no control characters."""
    kept = []
    for ch in text:
        if ch in LINE_BREAKS:
            kept.append(line_break)
        elif ch in _JOINERS:
            kept.append(ch)
        elif ch == "\t" or ch in BLANKS:
            kept.append(" ")
        elif ch not in BIDI_CONTROLS and unicodedata.category(ch) not in _DROP_CATEGORIES:
            kept.append(ch)
    # Normalise after filtering: a dropped character may have separated combining marks.
    return unicodedata.normalize("NFC", "".join(kept))


def clean(text: str) -> str:
    """Return typed free text normalised (NFC), without control characters, spaces collapsed."""
    # Lines are kept (any line break becomes "\n", empty lines go): the problem description
    # and comments. Shown to someone else, such text is always set apart by quoted().
    lines = (" ".join(line.split()) for line in _scrub(text, "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def one_line(text: str) -> str:
    """Return typed text for a one-line field: line breaks as spaces, no controls, collapsed."""
    # Names, addresses, areas: a line break in one would forge a line ("Phone: ...") in the
    # messages others get. NFC, no control or direction character, one space between words.
    return " ".join(_scrub(text, " ").split())


def esc_line(text: str) -> str:
    """Return user text for its place on one line of a message: one_line(), then escaped."""
    # Applied when rendering too: rows stored before names were cleaned may hold line breaks.
    return esc(one_line(text))


def quoted(text: str) -> str:
    """Return someone's free text escaped, each of its lines after :data:`QUOTE_MARK`."""
    return "\n".join(QUOTE_MARK + esc(line) for line in clean(text).split("\n"))


def labelled_text(label: str, text: str | None, limit: int) -> list[str]:
    """Return ``Label: —``, or ``Label:`` alone with the text (cut to ``limit``) quoted below."""
    # ``label`` is ours (already safe); the text is someone's and is never shown as a field.
    cleaned = clean(text) if text else ""
    if not cleaned:
        return [f"{label}: —"]
    return [f"{label}:", quoted(shorten(cleaned, limit))]


def has_letters(text: str) -> bool:
    """Tell whether ``text`` contains at least one letter of any script."""
    return any(unicodedata.category(ch).startswith("L") for ch in text)


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_message(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, at paragraph breaks."""
    chunks: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        rest = paragraph
        while len(rest) > limit:
            cut = rest.rfind("\n", 0, limit)
            cut = cut if cut > 0 else limit
            chunks.append(rest[:cut])
            rest = rest[cut:].lstrip("\n")
        current = rest
    if current:
        chunks.append(current)
    return chunks


def bold(text: str) -> str:
    """Wrap already-escaped ``text`` in bold tags."""
    return f"<b>{text}</b>"


def too_long(lang: str, limit: int) -> str:
    """Return the refusal of a text longer than ``limit`` characters: the limit, not a count.

    A count of characters is one the writer cannot check (a Bengali letter with its vowel
    sign is two or three of them); the limit, written as they write numbers, they can keep to.
    """
    number = localize_digits(format_decimal(limit, locale="bn" if lang == "bn" else "en"), lang)
    return (
        translator(lang)
        ._("That is too long: please shorten it to at most {limit} characters.")
        .format(limit=number)
    )

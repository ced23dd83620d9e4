"""Small helpers for texts that go out: escaping, cleaning what people type, splitting."""

from __future__ import annotations

import html
import re
import unicodedata

from conversations.outbound import MAX_TEXT

# Control and format characters (except newline and tab) never belong in stored answers:
# they hide text, reverse it (U+202E) or break layouts.
_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
_KEEP = {"\n", "\t", "\u200c", "\u200d"}  # ZWNJ/ZWJ are needed to write Bengali correctly


#: A number in button data: ASCII digits only (``str.isdigit`` accepts "²" and "১").
ASCII_NUMBER = re.compile(r"[0-9]{1,19}")


def esc(text: str) -> str:
    """Escape user text for an HTML parse mode."""
    return html.escape(text, quote=False)


def clean(text: str) -> str:
    """Return typed text normalised (NFC), without control characters, spaces collapsed."""
    kept = "".join(
        ch for ch in text if ch in _KEEP or unicodedata.category(ch) not in _DROP_CATEGORIES
    )
    # Normalise after filtering: a dropped character may have separated combining marks.
    kept = unicodedata.normalize("NFC", kept)
    lines = [" ".join(line.split()) for line in kept.replace("\t", " ").splitlines()]
    return "\n".join(line for line in lines if line).strip()


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

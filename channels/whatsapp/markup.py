"""The flows' HTML subset as WhatsApp text: ``*bold*``, ``_italic_``, ``~struck~``, code.

Texts arrive as Telegram HTML (``<b>``, ``<i>``, ``<code>``, ``&amp;``; every piece of user text
already escaped). WhatsApp has no escape character for its markers, so the markers that
appear in the *text* (anyone's: a name like ``*Rahim*``) become look-alike characters: only
the tags of the message itself ever turn into formatting.
"""

from __future__ import annotations

from html.parser import HTMLParser

#: WhatsApp's formatting markers in text, and look-alikes that format nothing.
_NEUTRAL = str.maketrans({"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ"})
#: Tags of the subset and the markers they become (``u`` has none on WhatsApp).
_MARKERS = {
    "b": "*",
    "strong": "*",
    "i": "_",
    "em": "_",
    "s": "~",
    "strike": "~",
    "del": "~",
    "code": "```",
    "pre": "```",
    "u": "",
}


def plain(text: str) -> str:
    """Return ``text`` with WhatsApp's formatting markers made inert (look-alikes)."""
    return text.translate(_NEUTRAL)


def to_whatsapp(html_text: str) -> str:
    """Return the HTML subset ``html_text`` as WhatsApp markup, entities unescaped.

    Never longer than the input: tags shrink to markers, entities to one character.
    """
    parser = _Converter()
    parser.feed(html_text)
    parser.close()
    return parser.result()


def to_plain(html_text: str) -> str:
    """Return ``html_text`` without any formatting (for template parameters, list titles)."""
    parser = _Converter(markers=False)
    parser.feed(html_text)
    parser.close()
    return parser.result()


class _Converter(HTMLParser):
    """Builds the text with a stack of open tags, each collecting what is inside it."""

    def __init__(self, *, markers: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self._markers = markers
        self._stack: list[tuple[str, list[str]]] = [("", [])]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _MARKERS:
            self._stack.append((tag, []))
        elif tag == "br":
            self._stack[-1][1].append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag not in _MARKERS or not any(open_ == tag for open_, _ in self._stack[1:]):
            return
        while True:  # close what a sloppy text left open inside it, too
            open_, parts = self._stack.pop()
            self._stack[-1][1].append(self._wrap(open_, "".join(parts)))
            if open_ == tag:
                return

    def handle_data(self, data: str) -> None:
        self._stack[-1][1].append(plain(data))

    def _wrap(self, tag: str, inner: str) -> str:
        marker = _MARKERS[tag] if self._markers else ""
        core = inner.strip()
        if not marker or not core:
            return inner
        # A marker formats only when it touches the text: spaces go outside it.
        lead = inner[: len(inner) - len(inner.lstrip())]
        trail = inner[len(inner.rstrip()) :]
        return f"{lead}{marker}{core}{marker}{trail}"

    def result(self) -> str:
        """The converted text, closing whatever was left open."""
        while len(self._stack) > 1:
            open_, parts = self._stack.pop()
            self._stack[-1][1].append(self._wrap(open_, "".join(parts)))
        return "".join(self._stack[0][1])

"""Validate texts, captions, Telegram-HTML and inline keyboards as Telegram does; error bodies."""

from __future__ import annotations

import html
import re
from typing import Any

BOT_BLOCKED = "Forbidden: bot was blocked by the user"
FLOOD_WAIT = "Too Many Requests: retry after {retry_after}"
MESSAGE_NOT_FOUND = "Bad Request: message to edit not found"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are"
    " exactly the same as a current content and reply markup of the message"
)
CANT_DELETE = "Bad Request: message can't be deleted"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

# Telegram's HTML parse mode: the tags it accepts (anything else is a 400).
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "blockquote",
        "code",
        "del",
        "em",
        "i",
        "ins",
        "pre",
        "s",
        "span",
        "strike",
        "strong",
        "tg-emoji",
        "tg-spoiler",
        "u",
    }
)
_HTML_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_HTML_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


#: What Telegram answers a call naming a group that was upgraded to a supergroup.
GROUP_UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"


class ApiError(Exception):
    """Raised inside method handlers to answer an error body."""

    def __init__(
        self,
        status: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id


def error_body(
    status: int,
    description: str,
    retry_after: int | None,
    migrate_to_chat_id: int | None = None,
) -> dict[str, Any]:
    """Build the JSON body Telegram sends for a failed call."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    parameters: dict[str, Any] = {}
    if retry_after is not None:
        parameters["retry_after"] = retry_after
    if migrate_to_chat_id is not None:
        parameters["migrate_to_chat_id"] = migrate_to_chat_id
    if parameters:
        body["parameters"] = parameters
    return body


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram uses for offsets and limits."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of ``index`` in ``text`` (Telegram reports HTML errors this way)."""
    return len(text[:index].encode())


def _unescape_html(text: str) -> str:
    """Replace the HTML entities Telegram understands; leave anything else as typed."""
    if "&" not in text:
        return text
    return _HTML_ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), text)


def _render_html(text: str) -> str:
    """Strip Telegram-HTML markup from ``text`` or raise the 400 Telegram would answer."""
    if "<" not in text:
        return _unescape_html(text)
    parts: list[str] = []
    stack: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) != -1:
        parts.append(text[pos:start])
        match = _HTML_TAG_RE.match(text, start)
        if match is None:
            raise ApiError(
                400,
                'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset'
                f" {_byte_offset(text, start)}",
            )
        closing, name = match.group(1), match.group(2).lower()
        if closing:
            if not stack or stack[-1] != name:
                expected = f'expected "</{stack[-1]}>", ' if stack else ""
                raise ApiError(
                    400,
                    "Bad Request: can't parse entities: Unmatched end tag at byte offset"
                    f' {_byte_offset(text, start)}, {expected}found "</{name}>"',
                )
            stack.pop()
        else:
            if name not in _HTML_TAGS:
                raise ApiError(
                    400,
                    f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at byte'
                    f" offset {_byte_offset(text, start)}",
                )
            stack.append(name)
        pos = match.end()
    if stack:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag"
            f' "{stack[-1]}"',
        )
    parts.append(text[pos:])
    return _unescape_html("".join(parts))


def _is_html(params: dict[str, Any]) -> bool:
    """Whether a call asks for Telegram's HTML parse mode."""
    parse_mode = params.get("parse_mode")
    return isinstance(parse_mode, str) and parse_mode.lower() == "html"


def render_text(params: dict[str, Any]) -> str:
    """The text a user would see, validated like Telegram validates it."""
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if _is_html(params):
        text = _render_html(text)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
    if len(text) > MAX_TEXT_LENGTH // 2 and utf16_len(text) > MAX_TEXT_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")
    return text


def render_caption(params: dict[str, Any]) -> str | None:
    """The caption a user would see (None without one), validated like Telegram does."""
    caption = params.get("caption")
    if caption is None or caption == "":
        return None
    if not isinstance(caption, str):
        raise ApiError(400, "Bad Request: can't parse caption")
    if _is_html(params):
        caption = _render_html(caption)
    if utf16_len(caption) > MAX_CAPTION_LENGTH:
        raise ApiError(400, "Bad Request: message caption is too long")
    return caption or None


def inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    """The inline keyboard of a call (the only markup Telegram echoes back), validated."""
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        _check_inline_keyboard(markup)
        return markup
    return None


def _check_inline_keyboard(markup: dict[str, Any]) -> None:
    """Reject inline keyboards Telegram would reject (oversized callback_data, bare buttons)."""
    for row in markup.get("inline_keyboard", ()):
        for button in row:
            data = button.get("callback_data")
            if data is not None:
                if not data or len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            elif len(button) <= 1:
                raise ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: Text buttons are"
                    " unallowed in the inline keyboard",
                )

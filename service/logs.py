"""Logging set-up: no token, phone number or other personal value in any line.

Scrubbing happens when a record is made (a log record factory), not in one handler, so every
handler sees the clean record: the console, a file, a test's capture, a handler added later.

- Libraries that log payloads below WARNING (python-telegram-bot logs every Bot API call with
  its parameters and answer at DEBUG; SQLAlchemy logs result rows, decrypted, at DEBUG) get
  their arguments replaced by ``<redacted>``: the line says what happened, never to whom.
- In every record (ours and theirs, at any level) bot tokens and Bangladeshi mobile numbers in
  any form (E.164, 01…, 880…, spaces or dashes, Bengali digits) are masked, in the message,
  the exception text and the stack text.
- Our own code logs counts, references and slugs only; a name or an address cannot be
  recognised by pattern, so it must never be passed to a logger in the first place.

``MISTRI_LOG_FORMAT=json`` (:func:`use_format`) writes one JSON object a line instead, for a
log collector: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message`` (scrubbed as
above) and, with an exception, its type and where it was raised (``exception``, ``where``),
never its text or a traceback: those may hold what the bot was working on.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

_TOKEN = re.compile(r"(bot)?\d{5,}:[A-Za-z0-9_-]{30,}")
_D = "[0-9০-৯]"  # Latin or Bengali digit
#: A Bangladeshi mobile number: country code (+880, 880, 00880) or 0, then 1[3-9] and 8 digits,
#: spaces or dashes anywhere between digits.
_PHONE = re.compile(
    rf"(?<!{_D})(?:(?:\+|00)?[8৮][8৮][0০][ -]?)?[0০]?"
    rf"[1১][ -]?[3-9৩-৯](?:[ -]?{_D}){{8}}(?!{_D})"
)
_CONVERSION = re.compile(
    r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]"
)
REDACTED = "<redacted>"
#: Loggers (by their top-level name) whose records below WARNING may carry payloads.
PAYLOAD_LOGGERS = frozenset(
    {"telegram", "httpx", "httpcore", "sqlalchemy", "aiosqlite", "apscheduler", "hpack"}
)
#: Loggers set to WARNING by :func:`configure`: chatty, and URLs (httpx) hold the token.
QUIET_LOGGERS = ("httpx", "httpcore", "telegram.request", "apscheduler", "aiosqlite")


def scrub(text: str) -> str:
    """Return ``text`` with bot tokens and Bangladeshi mobile numbers masked."""
    return _PHONE.sub("<phone>", _TOKEN.sub(lambda m: f"{m.group(1) or ''}<token>", text))


def _without_arguments(message: str) -> str:
    """Return a %-format string with every conversion replaced by ``<redacted>``."""
    return _CONVERSION.sub(lambda m: "%" if m.group(0) == "%%" else REDACTED, message)


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Clean ``record`` in place (see the module's docstring) and return it."""
    top = record.name.partition(".")[0]
    if top in PAYLOAD_LOGGERS and record.levelno < logging.WARNING and record.args:
        record.msg, record.args = _without_arguments(str(record.msg)), None
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed record: show its format string only
        message, record.args = str(record.msg), None
    scrubbed = scrub(message)
    if scrubbed != message or not isinstance(record.msg, str):
        record.msg, record.args = scrubbed, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    return record


class _ScrubbingFactory:
    """Wraps the previous log record factory: every record is scrubbed as it is made."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        return scrub_record(self.previous(*args, **kwargs))


def install_scrubbing() -> None:
    """Scrub every log record of the process from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _ScrubbingFactory):
        logging.setLogRecordFactory(_ScrubbingFactory(current))


def uninstall_scrubbing() -> None:
    """Undo :func:`install_scrubbing` (for tests)."""
    current = logging.getLogRecordFactory()
    if isinstance(current, _ScrubbingFactory):
        logging.setLogRecordFactory(current.previous)


class ScrubFilter(logging.Filter):
    """Masks bot tokens and phone numbers in every record that passes (for any handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record; never drops one."""
        scrub_record(record)
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message; an exception by its type only."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (the message already scrubbed)."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
            frames = traceback.extract_tb(record.exc_info[2])[-1:]
            if frames:  # a file and a line: where to look, nothing of what was there
                line["where"] = f"{frames[0].filename}:{frames[0].lineno}"
        return json.dumps(line, ensure_ascii=False)


class _Console(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure` installs (the one :func:`use_format` changes)."""


def use_format(name: str) -> None:
    """Write the lines of :func:`configure`'s handler as ``text`` or ``json``."""
    formatter = JsonFormatter() if name == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _Console):  # a test's capture or another handler keeps its own
            handler.setFormatter(formatter)


def configure(level: int = logging.INFO) -> None:
    """Log to stderr, every record scrubbed; quiet the libraries that only add noise."""
    install_scrubbing()
    handler = _Console()
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(ScrubFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)

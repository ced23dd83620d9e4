"""No log record carries a personal value or the bot token, even with every logger at DEBUG.

The bot's logging set-up (``service.logs.configure``, as ``mistri-bot run`` calls it) is
installed at DEBUG, then every logger that could see a payload is forced to DEBUG as well (root,
telegram, httpx, httpcore, sqlalchemy, aiosqlite, and our own app, channels, conversations,
service, storage), and a handler on the root keeps every record of a whole life: three
bookings, a technician's Decline and Accept, a half-finished booking and ``/deleteme``. Each
record is searched in its message, its arguments, its format string, its exception and stack
text and its formatted line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from service import logs
from tests.conftest import TOKEN, Bot
from tests.privacy import scenario

LOGGERS = (
    "",
    "telegram",
    "httpx",
    "httpcore",
    "sqlalchemy",
    "aiosqlite",
    # Our own code (was ``bot``, ``storage``).
    "app",
    "channels",
    "conversations",
    "service",
    "storage",
)


class Keep(logging.Handler):
    """Keeps every record, with the line a handler would write for it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[logging.LogRecord, str]] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record, self.format(record)))


@pytest.fixture
def everything() -> Iterator[Keep]:
    """Every logger at DEBUG into one handler; logging restored afterwards."""
    root = logging.getLogger()
    saved_handlers = root.handlers[:]
    saved_levels = {
        name: logging.getLogger(name).level for name in (*LOGGERS, *logs.QUIET_LOGGERS)
    }
    saved_factory = logging.getLogRecordFactory()
    keep = Keep()
    try:
        yield keep
    finally:
        root.handlers[:] = saved_handlers
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
        logging.setLogRecordFactory(saved_factory)


def capture_all(keep: Keep, *, scrubbing: bool) -> None:
    if scrubbing:
        logs.configure(logging.DEBUG)
    for name in (*LOGGERS, *logs.QUIET_LOGGERS):
        logging.getLogger(name).setLevel(logging.DEBUG)
        assert logging.getLogger(name).propagate
    logging.getLogger().addHandler(keep)


def texts_of(record: logging.LogRecord, line: str) -> list[str]:
    return [
        record.getMessage(),
        str(record.msg),
        repr(record.args),
        record.exc_text or "",
        record.stack_info or "",
        line,
    ]


def leaks(keep: Keep) -> list[str]:
    personal = scenario.personal_values()
    found = []
    for record, line in keep.records:
        for text in texts_of(record, line):
            hits = personal.in_text(text)
            hits += [secret for secret in scenario.secrets_of_the_bot() if secret in text]
            if hits:
                found.append(f"{record.name} {record.levelname} {record.msg!r}: {hits}")
                break
    return found


async def live_and_erase(bot: Bot) -> None:
    await scenario.live(bot)
    await scenario.leave_unfinished(bot)
    await scenario.delete_me(bot)


async def test_no_record_of_a_whole_life_holds_a_personal_value_or_the_token(
    bot: Bot, everything: Keep
) -> None:
    capture_all(everything, scrubbing=True)
    await live_and_erase(bot)
    logging.getLogger().removeHandler(everything)

    names = {record.name for record, _ in everything.records}
    # The capture saw the talkative libraries and our own code, at DEBUG.
    assert "telegram.ext.ExtBot" in names
    assert "sqlalchemy.engine.Engine" in names
    # The use cases (``bot.dispatch`` before): an order placed, the customer's erasure.
    assert {"app.orders", "app.erasure"} <= names
    assert any(record.levelno == logging.DEBUG for record, _ in everything.records)
    assert any(logs.REDACTED in line for _, line in everything.records)
    assert leaks(everything) == []


async def test_without_scrubbing_the_same_capture_finds_leaks(bot: Bot, everything: Keep) -> None:
    """The search is not blind: the libraries do log payloads at DEBUG."""
    capture_all(everything, scrubbing=False)
    await live_and_erase(bot)
    logging.getLogger().removeHandler(everything)
    found = leaks(everything)
    assert any(leak.startswith("telegram.") for leak in found)
    assert any(leak.startswith("sqlalchemy.") for leak in found)


def test_tokens_phones_and_exception_texts_are_masked(everything: Keep) -> None:
    capture_all(everything, scrubbing=True)
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    logging.getLogger("httpx").info("HTTP Request: %s %s", "POST", url)
    logging.getLogger("telegram.ext.Updater").error("Error while getting Updates: %s", url)
    for form in scenario.phone_forms():
        logging.getLogger("channels.telegram.channel").warning("number %s here", form)
    try:
        raise RuntimeError(f"failed for {scenario.PHONE_TYPED[0]} via {url}")
    except RuntimeError:
        logging.getLogger("channels.telegram.channel").exception("update %s failed", 7)
    logging.getLogger("channels.telegram.channel").info("stack", stack_info=True)
    logging.getLogger().removeHandler(everything)

    assert len(everything.records) == 4 + len(scenario.phone_forms())
    assert leaks(everything) == []
    lines = [line for _, line in everything.records]
    assert lines[0] == f"INFO httpx: HTTP Request: {logs.REDACTED} {logs.REDACTED}"
    assert lines[1] == (
        "ERROR telegram.ext.Updater: Error while getting Updates:"
        " https://api.telegram.org/bot<token>/sendMessage"
    )
    assert all("<phone>" in line for line in lines[2:-2])
    assert "RuntimeError: failed for <phone> via" in lines[-2]
    assert "update 7 failed" in lines[-2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 01719283746 now", "call <phone> now"),
        ("call +880 1719-283746.", "call <phone>."),
        ("৮৮০১৭১৯২৮৩৭৪৬", "<phone>"),
        ("order MS-7K3Q for 3 people", "order MS-7K3Q for 3 people"),
        ("update 123456 of 2026-11-25", "update 123456 of 2026-11-25"),
        (f"token {TOKEN}", "token <token>"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert logs.scrub(text) == expected

"""``MISTRI_LOG_FORMAT``: text lines by default, one JSON object a line on request.

The process's logging is set up as ``mistri-bot run`` and ``serve`` set it up
(``service.logs.configure``, then the format), writing to the test's captured stderr, and put
back as it was afterwards.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from service import logs
from service.cli import main
from service.config import Settings

PHONE = "+8801711000042"


@pytest.fixture
def process_logging() -> Iterator[None]:
    """Let a test set up the process's logging; put the test runner's back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogRecordFactory()
    levels = {name: logging.getLogger(name).level for name in logs.QUIET_LOGGERS}
    try:
        yield
    finally:
        root.handlers[:], level, factory = saved
        root.setLevel(level)
        logging.setLogRecordFactory(factory)
        for name, one in levels.items():
            logging.getLogger(name).setLevel(one)


def lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def test_json_lines_parse_and_carry_no_phone_nor_exception_text(
    process_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure(logging.INFO)
    logs.use_format("json")
    log = logging.getLogger("service.delivery")
    log.info("outbox %d: sent to %s", 7, PHONE)
    try:
        raise ValueError(f"no order for {PHONE} at Road 7")
    except ValueError:
        log.exception("handling failed")
    found = [json.loads(line) for line in lines(capsys.readouterr().err)]
    assert [(one["level"], one["logger"]) for one in found] == [
        ("INFO", "service.delivery"),
        ("ERROR", "service.delivery"),
    ]
    assert found[0]["message"] == "outbox 7: sent to <phone>"
    assert found[1]["message"] == "handling failed"
    assert found[1]["exception"] == "ValueError"
    assert found[1]["where"].rpartition(":")[0] == __file__
    when = datetime.fromisoformat(found[0]["time"])
    assert when.utcoffset() == timedelta(0)
    everything = json.dumps(found)
    assert "Road 7" not in everything  # the exception's text is never written
    assert PHONE not in everything and PHONE[1:] not in everything


def test_text_stays_the_default_and_other_handlers_keep_their_format(
    process_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure(logging.INFO)
    logs.use_format("text")
    logging.getLogger("mistri-bot").info("serving on %s", "127.0.0.1:8080")
    (line,) = lines(capsys.readouterr().err)
    assert line.endswith(" INFO mistri-bot: serving on 127.0.0.1:8080")
    other = logging.StreamHandler()
    mine = logging.Formatter("%(message)s")
    other.setFormatter(mine)
    logging.getLogger().addHandler(other)
    logs.use_format("json")  # only the console handler configure() installed changes
    assert other.formatter is mine


def test_the_cli_writes_json_lines_when_asked(
    process_logging: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: object,
) -> None:
    monkeypatch.chdir(str(tmp_path))  # no .env of the developer's
    monkeypatch.setenv("MISTRI_LOG_FORMAT", "json")
    monkeypatch.setenv("MISTRI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/mistri.db")
    monkeypatch.setenv("MISTRI_DATA_KEY", "cli-test-secret-0123456789abcdef0123456789")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    logging.getLogger("service.cli").warning("a warning after the command")
    (line,) = lines(capsys.readouterr().err)
    assert json.loads(line)["message"] == "a warning after the command"


@pytest.mark.parametrize(
    ("given", "taken"), [("json", "json"), ("text", "text"), (" JSON ", "json"), ("", "text")]
)
def test_the_log_format_setting_takes_text_or_json(
    monkeypatch: pytest.MonkeyPatch, given: str, taken: str
) -> None:
    monkeypatch.setenv("MISTRI_LOG_FORMAT", given)
    assert Settings(_env_file=None).log_format == taken  # type: ignore[call-arg]


def test_the_log_format_defaults_to_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTRI_LOG_FORMAT", raising=False)
    assert Settings(_env_file=None).log_format == "text"  # type: ignore[call-arg]


def test_another_log_format_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MISTRI_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setattr("service.cli.logs.configure", lambda level: None)
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err == "mistri-bot: MISTRI_LOG_FORMAT: either text or json\n"

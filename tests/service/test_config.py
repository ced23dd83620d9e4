"""Settings read from the environment: MISTRI_RETENTION_DAYS, MISTRI_DATABASE_URL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.cli import main
from service.config import DEFAULT_DATABASE_URL, Settings
from storage.database import Database, DatabaseUrlError


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("MISTRI_RETENTION_DAYS", "MISTRI_DATABASE_URL", "MISTRI_DATA_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's


def test_retention_days_defaults_to_180() -> None:
    assert Settings().retention_days == 180


def test_retention_days_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRI_RETENTION_DAYS", "30")
    assert Settings().retention_days == 30


@pytest.mark.parametrize("value", ["0", "-5", "soon", "1.5"])
def test_retention_days_must_be_a_positive_whole_number(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MISTRI_RETENTION_DAYS", value)
    with pytest.raises(ValidationError):
        Settings()


def test_a_bad_retention_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MISTRI_RETENTION_DAYS", "0")
    # The command sets up the process's logging; the test process keeps its own.
    monkeypatch.setattr("service.cli.logs.configure", lambda level: None)
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mistri-bot: MISTRI_RETENTION_DAYS: ")
    assert len(err.strip().splitlines()) == 1


DRIVER_INSTALLED = "storage.database.find_spec"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://admin:pw@db.example:5432/mistri",
        "postgres://admin:pw@db.example:5432/mistri",
        "postgresql+asyncpg://admin:pw@db.example:5432/mistri",
    ],
)
def test_a_postgresql_url_means_the_asyncpg_driver(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setattr(DRIVER_INSTALLED, lambda name: object())
    monkeypatch.setenv("MISTRI_DATABASE_URL", url)
    assert Settings().database_url == "postgresql+asyncpg://admin:pw@db.example:5432/mistri"


def test_an_empty_database_url_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRI_DATABASE_URL", " ")
    assert Settings().database_url == DEFAULT_DATABASE_URL


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nonsense", "not a database URL; expected sqlite+aiosqlite:///path/to/mistri.db or"),
        ("sqlite:///x.db", "expected sqlite+aiosqlite:///path/to/mistri.db"),
        ("sqlite+pysqlite:///x.db", "expected sqlite+aiosqlite:///path/to/mistri.db"),
        ("postgresql+psycopg://admin:pw@h/d", "expected postgresql+asyncpg://"),
        ("oracle://admin:pw@h/d", "oracle databases are not supported"),
    ],
)
def test_a_url_the_engine_cannot_take_is_refused_where_it_is_read(
    monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.setenv("MISTRI_DATABASE_URL", url)
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = refused.value.errors()[0]["msg"]
    assert expected in message
    assert "pw" not in message.replace("password", "")  # the password is never repeated


def test_postgresql_without_asyncpg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DRIVER_INSTALLED, lambda name: None)
    monkeypatch.setenv("MISTRI_DATABASE_URL", "postgresql://admin:pw@h/d")
    with pytest.raises(ValidationError, match=r"mistri-bot\[postgres\]"):
        Settings()


def test_the_engine_refuses_such_urls_too() -> None:
    """Whoever opens a database without Settings (tools, benchmarks) gets the same line."""
    with pytest.raises(DatabaseUrlError, match=re.escape("sqlite+aiosqlite:///path/to/mistri.db")):
        Database.open("sqlite:///x.db")


def test_a_bad_database_url_is_one_line_without_pydantics_prefix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MISTRI_DATABASE_URL", "nonsense")
    monkeypatch.setattr("service.cli.logs.configure", lambda level: None)
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mistri-bot: MISTRI_DATABASE_URL: not a database URL; expected ")
    assert len(err.strip().splitlines()) == 1


# --- MISTRI_SUPPORT_HOURS (Talk to a person) ----------------------------------------------


def test_support_hours_default_to_nine_to_nine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTRI_SUPPORT_HOURS", raising=False)
    assert Settings().support_hours == "09:00-21:00"
    monkeypatch.setenv("MISTRI_SUPPORT_HOURS", " ")
    assert Settings().support_hours == "09:00-21:00"
    monkeypatch.setenv("MISTRI_SUPPORT_HOURS", "10:00-18:30")
    assert Settings().support_hours == "10:00-18:30"


@pytest.mark.parametrize("value", ["21:00-09:00", "9 to 5", "09:00-25:00"])
def test_wrong_support_hours_are_refused_saying_the_form(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MISTRI_SUPPORT_HOURS", value)
    with pytest.raises(ValidationError, match=r"HH:MM-HH:MM|end after they start"):
        Settings()

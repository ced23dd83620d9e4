"""Settings read from the environment: MISTRI_RETENTION_DAYS."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service.cli import main
from service.config import Settings


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

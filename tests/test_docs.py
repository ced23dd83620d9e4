"""The documents an operator acts on stay true to the code: settings, commands, slugs, links."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conversations.catalogue import AREAS_BY_SLUG, SERVICES_BY_SLUG
from service import cli
from service.config import Settings
from service.rotate import BATCH_SIZE_VARIABLE, PAUSE_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
INTERFACE = ROOT / "docs" / "interface.md"
README = ROOT / "README.md"
UNIT = ROOT / "deploy" / "mistri-bot.service"
VERIFY = ROOT / "deploy" / "verify.sh"
#: The shared interface this project's docs/interface.md copies (absent from a clone).
SHARED_INTERFACE = ROOT.parent / "shared" / "interface.md"
QUICK_START = ["python3 tools/uv.py run mistri-bot demo", "python3 tools/uv.py run pytest"]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
TICKED = re.compile(r"`([^`]+)`")


def section(text: str, heading: str) -> str:
    """The text under the ``## heading`` line, up to the next heading of that level or above."""
    lines = text.splitlines()
    start = lines.index(f"## {heading}") + 1
    end = next((i for i in range(start, len(lines)) if re.match(r"#{1,2} ", lines[i])), len(lines))
    return "\n".join(lines[start:end])


def first_cells(text: str) -> set[str]:
    """The ticked first cell of every table row of ``text`` (the slug column)."""
    return {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", text, re.MULTILINE)}


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """Every leaf command of ``parser`` as (its words, its options but --help)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))
            return
    options = [o for a in parser._actions for o in a.option_strings if o not in ("-h", "--help")]
    yield path, options


def settings_variables() -> list[str]:
    """Every ``MISTRI_*`` variable the code reads."""
    fields = [f"MISTRI_{name.upper()}" for name in Settings.model_fields]
    return [*fields, BATCH_SIZE_VARIABLE, PAUSE_VARIABLE]


def test_every_setting_is_in_the_interface_and_the_readme() -> None:
    interface, readme = INTERFACE.read_text(), README.read_text()
    missing = [name for name in settings_variables() if f"`{name}`" not in interface]
    assert not missing, f"docs/interface.md does not describe {missing}"
    # The README's table names every setting but the rotation's tuning (in interface.md).
    table = section(readme, "Configuration")
    fields = [f"MISTRI_{name.upper()}" for name in Settings.model_fields]
    assert not [name for name in fields if f"`{name}`" not in table]


def test_every_command_and_option_is_in_the_interface() -> None:
    interface = INTERFACE.read_text()
    found = list(commands(cli._parser()))
    assert len(found) >= 9  # run, demo, technician ×5, db upgrade, keys rotate
    for words, options in found:
        command = "mistri-bot " + " ".join(words)
        assert f"`{command}" in interface, f"{command} is not in docs/interface.md"
        for option in options:
            assert option in interface, f"{command} {option} is not in docs/interface.md"


def test_every_slug_listed_exists_and_every_one_is_listed() -> None:
    interface = INTERFACE.read_text()
    catalogue = section(interface, "Catalogue")
    services_part, _, areas_part = catalogue.partition("Area slugs")
    assert first_cells(services_part) == set(SERVICES_BY_SLUG)
    shared_areas = set(TICKED.findall(areas_part))
    assert shared_areas, "the shared interface's area slugs were not found"
    assert shared_areas <= set(AREAS_BY_SLUG), shared_areas - set(AREAS_BY_SLUG)
    assert first_cells(section(interface, "Catalogue, in full")) == set(AREAS_BY_SLUG)


def test_the_quick_start_is_exactly_two_commands() -> None:
    quick_start = section(README.read_text(), "Quick start")
    lines = [
        line.strip()
        for block in FENCE.findall(quick_start)
        for line in block.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines == QUICK_START


def test_links_in_the_docs_lead_to_files_of_the_project() -> None:
    readme = README.read_text()
    assert "../shared/" not in readme  # a clone has no ../shared: docs/interface.md instead
    assert "(docs/interface.md)" in readme
    for document in (README, *sorted((ROOT / "docs").glob("*.md"))):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text()):
            if "://" in target:
                continue
            assert (document.parent / target).exists(), f"{document.name}: {target} is missing"


@pytest.mark.skipif(not SHARED_INTERFACE.exists(), reason="no shared interface beside the clone")
def test_the_interface_keeps_the_shared_text_as_it_is() -> None:
    assert INTERFACE.read_text().startswith(SHARED_INTERFACE.read_text())


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    """Run deploy/verify.sh on ``unit``."""
    return subprocess.run(
        ["sh", str(VERIFY), str(unit)], capture_output=True, text=True, timeout=60, check=False
    )


needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


@needs_systemd
def test_the_systemd_unit_verifies() -> None:
    result = verify(UNIT)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


@needs_systemd
@pytest.mark.parametrize(
    ("line", "replacement"),
    [
        ("Restart=on-failure", "Restart=on-failur"),  # systemd only warns, and exits 0
        ("KillSignal=SIGTERM", "KillSignal=SIGTERM\nHardenMe=yes"),  # an unknown key
        ("ExecStart=/opt/mistri-bot/.venv/bin/mistri-bot run", "ExecStart=/bin/true run"),
    ],
)
def test_verify_refuses_a_broken_unit(tmp_path: Path, line: str, replacement: str) -> None:
    text = UNIT.read_text()
    assert line in text
    broken = tmp_path / UNIT.name
    broken.write_text(text.replace(line, replacement))
    result = verify(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "verify.sh: mistri-bot.service" in result.stderr


def test_the_unit_stops_the_bot_as_documented() -> None:
    unit = dict(
        line.split("=", 1) for line in UNIT.read_text().splitlines() if re.match(r"^\w+=", line)
    )
    assert unit["User"] == "mistri"
    assert unit["EnvironmentFile"] == "/etc/mistri-bot/env"
    assert unit["Restart"] == "on-failure"
    assert unit["KillSignal"] == "SIGTERM"
    # `run` ends itself at STOP_LIMIT seconds; systemd must not kill it before.
    from service.polling import STOP_LIMIT

    assert float(unit["TimeoutStopSec"]) > STOP_LIMIT
    assert unit["ReadWritePaths"] == unit["WorkingDirectory"]
    assert unit["UMask"] == "0077"
    assert unit["ProtectSystem"] == "strict"
    assert unit["NoNewPrivileges"] == "yes"

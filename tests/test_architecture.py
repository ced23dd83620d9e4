"""The house's rules, checked on every file's imports (docs/architecture.md).

- ``conversations/`` imports nothing of the project but itself;
- ``app/`` imports ``conversations/``, ``storage/`` and itself: no channel, no service, no
  channel library, no SQL dialect (``storage.sqlite``, ``sqlalchemy.dialects``, drivers);
- ``channels/*`` import ``app.ports`` and ``conversations/``, never each other, storage or the
  service;
- ``storage/`` knows no use case, channel or service; only ``storage/database.py`` names the
  SQLite speed-ups;
- only ``channels/telegram/`` and ``service/`` import python-telegram-bot.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"app", "bench", "channels", "conversations", "locales", "service", "storage", "tests"}
DRIVERS = {"aiosqlite", "asyncpg", "sqlite3", "psycopg", "psycopg2"}


def imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, by its full dotted name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.partition(".")[0]


def broken(package: str, allowed: set[str], banned: tuple[str, ...] = ()) -> list[str]:
    """``file: module`` for every import of the project outside ``allowed``, or banned."""
    found = []
    for path in files(package):
        where = path.relative_to(ROOT)
        for name in imports(path):
            if (top(name) in PROJECT and top(name) not in allowed) or any(
                name == ban or name.startswith(ban + ".") for ban in banned
            ):
                found.append(f"{where}: {name}")
    return sorted(set(found))


def test_conversations_import_nothing_of_the_project_but_themselves() -> None:
    assert broken("conversations", {"conversations"}, ("telegram", "sqlalchemy")) == []


def test_the_core_knows_no_channel_no_service_and_no_sql_dialect() -> None:
    banned = ("telegram", "pywa", "storage.sqlite", "sqlalchemy.dialects", *DRIVERS)
    assert broken("app", {"app", "conversations", "storage"}, banned) == []


def test_channels_know_only_the_cores_ports_and_never_each_other() -> None:
    found = []
    for channel in sorted(p for p in (ROOT / "channels").iterdir() if p.is_dir()):
        if channel.name.startswith("__"):
            continue
        for path in files(f"channels/{channel.name}"):
            for name in imports(path):
                outside = top(name) in PROJECT and top(name) not in {
                    "app",
                    "channels",
                    "conversations",
                }
                other_channel = name.startswith("channels.") and not name.startswith(
                    f"channels.{channel.name}"
                )
                beyond_ports = top(name) == "app" and not name.startswith("app.ports")
                if outside or other_channel or beyond_ports:
                    found.append(f"{path.relative_to(ROOT)}: {name}")
    assert found == []


def test_storage_knows_no_use_case_and_only_the_database_names_the_sqlite_speed_ups() -> None:
    assert broken("storage", {"storage", "conversations"}, ("telegram",)) == []
    naming = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in files("storage")
        if "sqlite" not in path.relative_to(ROOT).parts and path.name != "database.py"
        for name in imports(path)
        if name == "storage.sqlite" or name.startswith("storage.sqlite.")
    ]
    assert naming == []


@pytest.mark.parametrize("package", ["conversations", "app", "storage"])
def test_only_the_telegram_channel_and_the_service_import_python_telegram_bot(
    package: str,
) -> None:
    users = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in files(package)
        for name in imports(path)
        if top(name) == "telegram"
    ]
    assert users == []


def test_the_rules_see_a_forbidden_import(tmp_path: Path) -> None:
    # The checker itself: a file importing a channel from the core is caught.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from channels.telegram.bot import MistriBot\nimport storage.sqlite.inline\n"
    )
    assert set(imports(sample)) >= {"channels.telegram.bot", "storage.sqlite.inline"}

"""The SQLite files themselves (database, ``-wal``, ``-shm``) never hold the person in clear.

Read byte for byte while the bot runs (before and after ``/deleteme``, before and after a
checkpoint moves the log into the database file) and once it has stopped. The search looks
for every value as UTF-8 and UTF-16, case-insensitively, with the phone in every form
(E.164, 01…, 880…, bare digits, Bengali digits, as typed).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from service.config import Settings
from storage.crypto import Keyring
from storage.database import sqlite_path
from tests.conftest import Bot
from tests.privacy import scenario
from tests.privacy.checker import PersonalValues, model_purposes, recover_with_key

pytestmark = pytest.mark.sqlite_only("reads the database's files (and its WAL) byte by byte")

SUFFIXES = ("", "-wal", "-shm")
#: The values exactly as they are stored (encrypted), to try to recover them with the key.
STORED = (
    scenario.NAME,
    scenario.PHONE_E164,
    scenario.ADDRESS,
    scenario.PROBLEM,
    scenario.PROBLEM_2,
    scenario.AREA_OTHER,
    *(repr(coordinate) for coordinate in scenario.PIN),
)


def files_of(settings: Settings) -> dict[str, bytes]:
    """The bytes of the database file and its companions (empty when one does not exist)."""
    path = sqlite_path(settings.database_url)
    assert path is not None
    found = {}
    for suffix in SUFFIXES:
        file = Path(path + suffix)
        found[suffix or "db"] = file.read_bytes() if file.exists() else b""
    return found


def in_clear(files: dict[str, bytes], personal: PersonalValues) -> list[str]:
    return [
        f"{name}: {needle}" for name, data in files.items() for needle in personal.in_bytes(data)
    ]


def while_a_customer(personal: PersonalValues) -> PersonalValues:
    """The values without the person's Telegram id, which is kept while they are a customer.

    The id identifies the customer's rows (``customers.external_id``,
    ``conversation_sessions.person_id``, chat ids): stored as text since people are keyed by
    channel, where it used to be an integer this byte search could not see. That it is kept
    only in those columns is checked row by row in ``test_completeness.py``; once erased it
    must be gone from every file, and is searched for again.
    """
    return PersonalValues(texts=personal.texts, blobs=personal.blobs)


def test_the_byte_search_finds_every_form() -> None:
    personal = scenario.personal_values()
    junk = b"\x00\x13page"
    for form in scenario.phone_forms():
        assert personal.in_bytes(junk + form.encode() + junk), form
    assert personal.in_bytes(junk + scenario.NAME.upper().encode("utf-16-le") + junk)
    assert personal.in_bytes(junk + str(scenario.CUSTOMER).encode() + junk)
    assert not personal.in_bytes(junk * 100)


async def test_database_files_never_hold_personal_values_in_clear(
    bot: Bot, settings: Settings
) -> None:
    personal = scenario.personal_values()
    held = while_a_customer(personal)
    life = await scenario.live(bot)
    await scenario.leave_unfinished(bot)

    running = files_of(settings)
    assert all(running.values()), "the database, its log and its index should all exist"
    # The search reads the rows: the (plain) order references are there to be seen.
    assert all(ref.encode() in running["db"] + running["-wal"] for ref in life.references)
    # The Telegram id is there to be seen too (as text), until the erasure.
    assert str(scenario.CUSTOMER).encode() in running["db"] + running["-wal"]
    assert in_clear(running, held) == []

    # The running bot's own checkpointer (the database starts it beside the file).
    checkpointer = bot.runtime.db._checkpointer
    assert checkpointer is not None
    await checkpointer.checkpoint()
    checkpointed = files_of(settings)
    assert all(ref.encode() in checkpointed["db"] for ref in life.references)
    assert in_clear(checkpointed, held) == []

    await scenario.delete_me(bot)
    assert in_clear(files_of(settings), personal) == []
    await checkpointer.checkpoint()
    assert in_clear(files_of(settings), personal) == []

    await bot.runtime.close()
    stopped = files_of(settings)
    assert stopped["db"], "the database file is gone"
    assert all(ref.encode() in stopped["db"] for ref in life.references)
    assert in_clear(stopped, personal) == []


def _secure_delete_by_default() -> bool:
    connection = sqlite3.connect(":memory:")
    try:
        return bool(connection.execute("PRAGMA secure_delete").fetchone()[0])
    finally:
        connection.close()


async def test_the_key_search_recovers_stored_values_before_erasure(
    bot: Bot, settings: Settings, _keyring: Keyring
) -> None:
    """The recovery search works: before erasure the encrypted values are found in the files."""
    await scenario.live(bot)
    recovered = recover_with_key(
        b"".join(files_of(settings).values()), _keyring, STORED, model_purposes()
    )
    assert set(recovered) == set(STORED)


@pytest.mark.skipif(
    not _secure_delete_by_default(),
    reason="this SQLite build keeps deleted bytes in free space: the engine should set"
    " PRAGMA secure_delete=ON (see docs/privacy.md)",
)
async def test_after_erasure_and_stop_nothing_is_recoverable_even_with_the_key(
    bot: Bot, settings: Settings, _keyring: Keyring
) -> None:
    await scenario.live(bot)
    await scenario.delete_me(bot)
    await bot.runtime.close()
    stopped = b"".join(files_of(settings).values())
    assert recover_with_key(stopped, _keyring, STORED, model_purposes()) == []


async def test_after_erasure_the_running_bots_log_holds_nothing_recoverable(
    bot: Bot, settings: Settings, _keyring: Keyring
) -> None:
    await scenario.live(bot)
    await scenario.delete_me(bot)
    # No checkpoint of our own: the erasure empties the log before it answers.
    running = b"".join(files_of(settings).values())
    assert recover_with_key(running, _keyring, STORED, model_purposes()) == []

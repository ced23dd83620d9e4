"""``keys rotate`` while ``mistri-bot run`` is up: refused, so nothing is ever written under a
key that is then dropped (issue 11: rotate, book, restart used to lose the new customer).

The bot runs as its own process against a loopback Bot API, with the key file (no
``MISTRI_DATA_KEY``), as in ``tests/service/test_restart.py``. The lock's tests run on
PostgreSQL too (an advisory lock, ``storage/inuse.py``) when ``MISTRI_TEST_POSTGRES_URL`` is set;
there the key file is ``mistri.key`` in the working directory.
"""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.telegram.fake_api import FakeBotApi
from service.config import Settings
from service.runtime import open_database
from storage import inuse
from storage.crypto import Keyring
from storage.keys import read_key_file
from tests.fakes.http_bot_api import serve_bot_api
from tests.service.test_cli import Result, command
from tests.service.test_restart import (
    START_TIMEOUT,
    STOP_TIMEOUT,
    BotProcess,
    Customer,
    Launcher,
    asks,
    book,
    register_technician,
)
from tests.service.test_rotate_cli import stored_values

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs flock and signals")

FIRST, SECOND = 6_101_001, 6_101_002


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
def launcher(
    tmp_path: Path,
    api: FakeBotApi,
    backend: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Launcher]:
    with serve_bot_api(api) as base_url:
        launcher = Launcher(tmp_path, base_url)
        del launcher.env["MISTRI_DATA_KEY"]  # the key file, which rotation replaces itself
        if backend == "postgresql":
            launcher.env["MISTRI_DATABASE_URL"] = database_url
            # The key file is ./mistri.key there: this process's too, as the CLI's.
            monkeypatch.chdir(tmp_path)
        try:
            yield launcher
        finally:
            launcher.kill_all()


def mistri(launcher: Launcher, *args: str) -> Result:
    done = subprocess.run(
        [*command(), *args],
        cwd=launcher.tmp_path,
        env=launcher.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def stop(bot: BotProcess) -> None:
    bot.process.send_signal(signal.SIGTERM)
    assert bot.process.wait(STOP_TIMEOUT) == 0, bot.output()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sqlite_only("reads the database file and its modes")
def test_rotation_is_refused_while_the_bot_runs_and_no_value_is_left_unreadable(
    api: FakeBotApi, launcher: Launcher
) -> None:
    register_technician(launcher)  # makes the key file and the database
    key_file = Path(f"{launcher.database}.key")
    old = read_key_file(key_file)
    bot = launcher.start()
    book(Customer(api, user=FIRST), bot)

    # Rotate while the bot is up: refused, in one line, and nothing changed.
    refused = mistri(launcher, "keys", "rotate")
    assert refused.code == 2, refused.err
    line = refused.one_line_error()
    assert "in use" in line and "stop it" in line
    assert read_key_file(key_file) == old
    assert not Path(f"{key_file}.tmp").exists()

    # A new booking, through the bot that still holds the only key there is.
    book(Customer(api, user=SECOND), bot)
    # Every file of the database is private, after a booking, with the bot running.
    database = launcher.database
    private = [database, *(Path(f"{database}{s}") for s in ("-wal", "-shm", ".key", ".lock"))]
    assert {p.name: mode(p) for p in private} == {p.name: 0o600 for p in private}

    # Stopped, the rotation goes through; a restarted bot reads everything.
    stop(bot)
    rotated = mistri(launcher, "keys", "rotate")
    assert rotated.code == 0, rotated.err
    new = read_key_file(key_file)
    assert len(new) == 1 and new != old
    ring = Keyring.from_secrets(new)
    values = stored_values(database)
    assert values and {Keyring.key_id_of(blob) for _, blob in values} == {ring.current.key_id}
    for purpose, blob in values:
        ring.decrypt(blob, purpose)  # raises WrongKeyError for a value left unreadable

    again = launcher.start()
    for user in (FIRST, SECOND):
        shown = Customer(api, user=user).say("/mydata", again, asks("Phone:"), START_TIMEOUT)
        assert "01712345678" in shown.params["text"]
        assert "House 12, Road 5, Mirpur 10" in shown.params["text"]
    stop(again)
    for launched in launcher.started:
        assert "Traceback" not in launched.stderr.read_text(errors="replace")


async def test_rotation_is_refused_while_another_process_has_the_database_open(
    launcher: Launcher,
) -> None:
    """The lock holds across processes: this process opens, a ``keys rotate`` process is told."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=launcher.env["MISTRI_DATABASE_URL"],
        data_key=None,
    )
    db = await open_database(settings)
    try:
        refused = mistri(launcher, "keys", "rotate")
        assert refused.code == 2, refused.err
        assert "in use by another mistri-bot process" in refused.one_line_error()
        # Sharing is fine: a second user (the CLI beside a running bot) opens it too.
        listing = mistri(launcher, "technician", "list")
        assert listing.code == 0, listing.err
    finally:
        await db.close()
    rotated = mistri(launcher, "keys", "rotate")
    assert rotated.code == 0, rotated.err


async def test_nothing_opens_the_database_while_a_rotation_holds_it(launcher: Launcher) -> None:
    """A bot started mid-rotation would hold the old key alone: it refuses instead."""
    assert mistri(launcher, "db", "upgrade").code == 0
    rotation = await inuse.acquire(launcher.env["MISTRI_DATABASE_URL"], exclusive=True)
    try:
        for args in (["technician", "list"], ["db", "upgrade"], ["keys", "rotate"]):
            result = mistri(launcher, *args)
            assert result.code != 0, args
            assert "keys rotate is running" in result.one_line_error() or (
                args[0] == "keys" and "in use" in result.one_line_error()
            ), result.err
        bot = launcher.start()
        assert bot.process.wait(START_TIMEOUT) == 1, bot.output()
        assert "keys rotate is running on this database" in bot.stderr.read_text()
    finally:
        await rotation.release()
    assert mistri(launcher, "technician", "list").code == 0

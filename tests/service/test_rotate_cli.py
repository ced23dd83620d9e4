"""``mistri-bot keys rotate`` as operators run it: a real process, killed with SIGKILL midway."""

from __future__ import annotations

import asyncio
import io
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.rotate import ProgressBar
from storage.crypto import Keyring, install_keyring, new_secret
from storage.keys import read_key_file, verify_key, write_key_file
from storage.rotation import encrypted_tables
from tests.service.test_cli import Cli, Result, add_args, command
from tests.storage.test_rotation import open_engine, phone_of, populate

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

ROTATE = ("keys", "rotate")
KILL_TIMEOUT = 60.0
CUSTOMERS = 400  # × 20 encrypted values (profile, 2 orders, session) + technicians


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def key_file(cli: Cli) -> Path:
    return Path(f"{cli.database}.key")


def stored_values(database: Path) -> list[tuple[str, bytes]]:
    """Every encrypted value in the file, with its purpose, read without the bot's code."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        values = []
        for spec in encrypted_tables():
            for name, purpose in spec.columns:
                rows = connection.execute(
                    f"SELECT {name} FROM {spec.name} WHERE {name} IS NOT NULL"
                ).fetchall()
                values.extend((purpose, bytes(row[0])) for row in rows)
        return values
    finally:
        connection.close()


def make_database(cli: Cli, secret: str, customers: int) -> None:
    """A database of ``customers`` customers (every encrypted column filled) under ``secret``."""

    async def build() -> None:
        keys = Keyring.from_secrets([secret])
        install_keyring(keys)
        engine = await open_engine(cli.database)
        await verify_key(engine, keys)
        await populate(engine, customers)
        await engine.dispose()

    asyncio.run(build())


def no_secret_in(result: Result, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.out and secret not in result.err


def test_rotation_with_a_key_file_replaces_the_key(cli: Cli) -> None:
    first = cli(*add_args(), MISTRI_DATA_KEY=None)
    assert first.code == 0, first.err
    old = read_key_file(key_file(cli))
    assert len(old) == 1

    result = cli(*ROTATE, MISTRI_DATA_KEY=None)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    new = read_key_file(key_file(cli))
    assert len(new) == 1 and new != old
    no_secret_in(result, *old, *new)
    assert "re-encrypted 2 values in 1 rows" in result.out
    assert "technicians" in result.err  # progress: a line per table when not on a terminal
    assert not Path(f"{key_file(cli)}.lock").exists()

    keys = Keyring.from_secrets(new)
    assert {Keyring.key_id_of(blob) for _, blob in stored_values(cli.database)} == {
        keys.current.key_id
    }
    listing = cli("technician", "list", MISTRI_DATA_KEY=None)
    assert listing.code == 0, listing.err
    assert "Karim Uddin" in listing.out and "017••••5678" in listing.out
    wrong = cli("technician", "list", MISTRI_DATA_KEY=old[0])
    assert "wrong data key" in wrong.one_line_error()


def test_a_single_data_key_in_the_environment_is_refused_in_one_line(cli: Cli) -> None:
    result = cli(*ROTATE)
    assert result.code == 2
    line = result.one_line_error()
    assert 'MISTRI_DATA_KEY="<new>,<old>"' in line
    assert "secrets.token_hex(32)" in line
    assert cli.env["MISTRI_DATA_KEY"] not in line
    assert result.out == ""


def test_two_data_keys_in_the_environment_rotate_to_the_first(cli: Cli) -> None:
    old = cli.env["MISTRI_DATA_KEY"]
    assert cli(*add_args()).code == 0
    new = new_secret()
    result = cli(*ROTATE, MISTRI_DATA_KEY=f"{new},{old}")
    assert result.code == 0, result.err
    no_secret_in(result, old, new)
    assert "set MISTRI_DATA_KEY to the new key alone" in result.out
    assert not key_file(cli).exists()

    with_new = cli("technician", "list", MISTRI_DATA_KEY=new)
    assert with_new.code == 0, with_new.err
    assert "Karim Uddin" in with_new.out
    with_old = cli("technician", "list", MISTRI_DATA_KEY=old)
    assert with_old.code != 0
    assert "wrong data key" in with_old.one_line_error()


def test_a_ring_without_the_databases_key_is_refused(cli: Cli) -> None:
    assert cli(*add_args()).code == 0
    runs = [
        list(ROTATE),
        ["technician", "list"],
    ]
    stranger = f"{new_secret()},{new_secret()}"
    for args in runs:  # one after the other: a rotation keeps everyone else out meanwhile
        result = cli(*args, MISTRI_DATA_KEY=stranger)
        assert result.code != 0, args
        assert "wrong data key" in result.one_line_error(), args
    current = cli.env["MISTRI_DATA_KEY"]
    same = cli(*ROTATE, MISTRI_DATA_KEY=f"{current},{current}")
    assert same.code == 2
    assert "same as an old one" in same.one_line_error()


def test_configuration_errors_are_one_line(cli: Cli) -> None:
    missing = cli(*ROTATE, MISTRI_DATA_KEY=None)
    assert missing.code == 2
    assert "no data key to rotate" in missing.one_line_error()
    assert not key_file(cli).exists()  # not created just to be rotated
    bad_batch = cli(*ROTATE, MISTRI_ROTATE_BATCH_SIZE="many")
    assert bad_batch.code == 2
    assert "MISTRI_ROTATE_BATCH_SIZE" in bad_batch.one_line_error()


def test_a_rotation_killed_midway_leaves_every_row_readable_and_resumes(cli: Cli) -> None:
    old = new_secret()
    write_key_file(key_file(cli), [old])
    make_database(cli, old, CUSTOMERS)
    before = stored_values(cli.database)
    old_id = Keyring.from_secrets([old]).current.key_id
    assert {Keyring.key_id_of(blob) for _, blob in before} == {old_id}

    env = {k: v for k, v in cli.env.items() if k != "MISTRI_DATA_KEY"}
    # Small, slow batches: the rotation takes several seconds, so the kill lands inside it.
    env |= {"MISTRI_ROTATE_BATCH_SIZE": "20", "MISTRI_ROTATE_PAUSE_MS": "25"}
    process = subprocess.Popen(
        [*command(), *ROTATE],
        cwd=cli.workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + KILL_TIMEOUT
        new_id = None
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[1].decode()
            secrets = read_key_file(key_file(cli))
            if len(secrets) == 2:
                new_id = Keyring.from_secrets(secrets).current.key_id
                done = [b for _, b in stored_values(cli.database) if b[2:10] == new_id.encode()]
                if len(done) >= 200:
                    break
            time.sleep(0.02)
        else:
            pytest.fail("the rotation made no visible progress")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # Both keys are on disk, and with them every value decrypts to what it was.
    secrets = read_key_file(key_file(cli))
    assert len(secrets) == 2 and secrets[1] == old
    ring = Keyring.from_secrets(secrets)
    assert ring.current.key_id == new_id
    halfway = stored_values(cli.database)
    ids = [Keyring.key_id_of(blob) for _, blob in halfway]
    assert 200 <= ids.count(new_id) < len(ids), "the kill did not land midway"
    old_plain = sorted(Keyring.from_secrets([old]).decrypt(b, p) for p, b in before)
    assert sorted(ring.decrypt(b, p) for p, b in halfway) == old_plain
    assert not list(cli.workdir.glob("*.tmp"))

    # Run again: it finishes towards the same new key and drops the old one.
    again = cli(*ROTATE, MISTRI_DATA_KEY=None)
    assert again.code == 0, again.err
    assert f"re-encrypted {ids.count(old_id):,} values" in again.out
    assert read_key_file(key_file(cli)) == secrets[:1]
    after = stored_values(cli.database)
    assert {Keyring.key_id_of(blob) for _, blob in after} == {new_id}
    new_only = Keyring.from_secrets(secrets[:1])
    assert sorted(new_only.decrypt(b, p) for p, b in after) == old_plain

    # Every phone index was recomputed under the new key's index key.
    connection = sqlite3.connect(cli.database)
    try:
        rows = connection.execute("SELECT id, phone_index FROM customers").fetchall()
    finally:
        connection.close()
    assert len(rows) == CUSTOMERS
    assert all(index == new_only.blind_index(phone_of(n)) for n, index in rows)

    listing = cli("technician", "list", MISTRI_DATA_KEY=None)
    assert listing.code == 0, listing.err
    assert "Technician 10 " in listing.out


def test_progress_redraws_in_place_on_a_terminal_and_prints_a_line_a_table_otherwise() -> None:
    for tty in (True, False):
        stream = io.StringIO()
        bar = ProgressBar(stream, tty=tty)
        bar.begin({"customers": 4_000, "orders": 0})
        for _ in range(4):
            bar.advance("customers", 1_000)
            time.sleep(0.11)  # past the redraw interval
        bar.table_done("customers")
        bar.table_done("orders")
        text = stream.getvalue()
        lines = [line.rsplit("\r", 1)[-1] for line in text.strip("\n").split("\n")]
        assert len(lines) == 2
        assert "customers" in lines[0] and "4,000/4,000 rows" in lines[0]
        assert "(all tables 4,000/4,000)" in lines[1]
        if tty:
            assert text.count("\r") >= 5 and "1,000/4,000 rows" in text
        else:
            assert "\r" not in text and "1,000/4,000" not in text

"""The data key as operators meet it: a full disk, a lost key file, a mistyped directory."""

from __future__ import annotations

import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from storage.crypto import new_secret
from storage.keys import read_key_file
from tests.service.test_cli import TIMEOUT, Cli, Result, add_args, command

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX resource limits")


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def key_file(cli: Cli) -> Path:
    return Path(f"{cli.database}.key")


def on_a_full_disk(cli: Cli, *args: str) -> Result:
    """Run ``mistri-bot`` where no file may grow (``RLIMIT_FSIZE`` 0: writes fail, EFBIG).

    Python ignores SIGXFSZ, so a write past the limit fails with an error, as on a full disk.
    """

    def no_room() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    env = {k: v for k, v in cli.env.items() if k != "MISTRI_DATA_KEY"}
    done = subprocess.run(
        [*command(), *args],
        cwd=cli.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=no_room,  # nothing but the limit, before exec
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def test_a_key_that_cannot_be_written_leaves_no_key_file_and_says_so(cli: Cli) -> None:
    full = on_a_full_disk(cli, "db", "upgrade")
    assert full.code == 1
    line = full.one_line_error()
    assert f"cannot write the new key file {key_file(cli)}" in line
    assert not key_file(cli).exists()  # no empty key for the next start to take
    assert sorted(p.name for p in cli.workdir.iterdir()) == ["mistri-test.db.lock"]

    # With room again, the next start makes a whole key.
    again = cli("db", "upgrade", MISTRI_DATA_KEY=None)
    assert again.code == 0, again.err
    assert "created a new data key file" in again.err
    [secret] = read_key_file(key_file(cli))
    assert len(secret) == 64
    assert stat.S_IMODE(key_file(cli).stat().st_mode) == 0o600
    assert not list(cli.workdir.glob("*.tmp")) and not list(cli.workdir.glob(".*.tmp"))


def test_a_lost_key_file_is_never_replaced_by_a_new_key(cli: Cli) -> None:
    assert cli("db", "upgrade", MISTRI_DATA_KEY=None).code == 0
    assert cli(*add_args(), MISTRI_DATA_KEY=None).code == 0
    backup = key_file(cli).with_name("backup.key")
    key_file(cli).rename(backup)

    for args in (["technician", "list"], ["db", "upgrade"], add_args("900200")):
        result = cli(*args, MISTRI_DATA_KEY=None)
        assert result.code == 1, args
        line = result.one_line_error()
        assert f"the key file {key_file(cli)} is missing" in line
        assert "restore" in line and "MISTRI_DATA_KEY" in line
        assert not key_file(cli).exists(), args  # no new key made in its place

    backup.rename(key_file(cli))
    listing = cli("technician", "list", MISTRI_DATA_KEY=None)
    assert listing.code == 0, listing.err
    assert "Karim Uddin" in listing.out and "900200" not in listing.out


def test_a_damaged_or_exposed_key_file_refuses_to_start_in_one_line(cli: Cli) -> None:
    assert cli("db", "upgrade", MISTRI_DATA_KEY=None).code == 0
    [secret] = read_key_file(key_file(cli))
    key_file(cli).write_text("")  # a 0-byte key, as a full disk left it before
    empty = cli("technician", "list", MISTRI_DATA_KEY=None)
    assert empty.code == 1
    assert f"the key file {key_file(cli)} is empty" in empty.one_line_error()

    key_file(cli).write_text(secret + "\n")
    key_file(cli).chmod(0o644)
    exposed = cli("technician", "list", MISTRI_DATA_KEY=None)
    assert exposed.code == 1
    line = exposed.one_line_error()
    assert f"chmod 600 {key_file(cli)}" in line and secret not in line
    assert stat.S_IMODE(key_file(cli).stat().st_mode) == 0o644


def test_a_database_in_a_directory_that_does_not_exist_is_refused(cli: Cli) -> None:
    missing = cli.workdir / "no-such-dir" / "sub"
    url = f"sqlite+aiosqlite:///{missing / 'x.db'}"
    for data_key in (None, cli.env["MISTRI_DATA_KEY"]):
        for args in (["db", "upgrade"], ["technician", "list"], ["keys", "rotate"]):
            keys = data_key
            if args[0] == "keys" and data_key is not None:
                keys = f"{new_secret()},{data_key}"  # as a rotation asks
            result = cli(*args, MISTRI_DATABASE_URL=url, MISTRI_DATA_KEY=keys)
            assert result.code != 0, (args, result.err)
            line = result.one_line_error()
            if args[0] == "keys" and data_key is None:
                assert "no data key to rotate" in line  # nothing there to rotate
            else:
                assert f"the directory {missing} does not exist" in line, line
                assert "MISTRI_DATABASE_URL" in line
    assert not (cli.workdir / "no-such-dir").exists()  # no tree, database or key made

"""The data key's file: written whole or not at all, refused when damaged, exposed or short."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from storage.crypto import Keyring, new_secret
from storage.keys import MIN_SECRET_LENGTH, UnusableKeyError, load_keyring, write_key_file


def url_in(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'k.db'}"


def refusal(folder: Path, data_key: str | None = None) -> str:
    """The one line :func:`load_keyring` refuses with."""
    with pytest.raises(UnusableKeyError) as refused:
        load_keyring(data_key, url_in(folder))
    message = str(refused.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"", "is empty", id="empty (a full disk at the first start)"),
        pytest.param(b"\n \n", "is empty", id="blank lines"),
        pytest.param(new_secret()[:20].encode(), "too short", id="cut short"),
        pytest.param(b"0123456789abcdef\n", "too short", id="short"),
        pytest.param(f"{new_secret()[:40]} {new_secret()}\n".encode(), "spaces", id="space"),
        pytest.param(b"\x00" * 64 + b"\n", "control characters", id="zero bytes"),
        pytest.param(("ক" * 40 + "\n").encode(), "not ASCII", id="not ascii"),
        pytest.param(f"{new_secret()}\nshort\n".encode(), "line 2 is too short", id="old key"),
    ],
)
def test_an_empty_short_or_damaged_key_file_is_refused(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    key_file = tmp_path / "k.db.key"
    key_file.write_bytes(content)
    key_file.chmod(0o600)
    message = refusal(tmp_path)
    assert reason in message and str(key_file) in message
    assert key_file.read_bytes() == content  # never replaced by a new key
    for line in content.decode(errors="replace").split():
        if len(line) >= 8:
            assert line not in message  # a key is never printed, even a damaged one


def test_a_key_file_others_may_read_is_refused_with_the_command_that_fixes_it(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "k.db.key"
    secret = new_secret()
    write_key_file(key_file, [secret])
    for loose in (0o644, 0o640, 0o606, 0o620):
        key_file.chmod(loose)
        message = refusal(tmp_path)
        assert f"chmod 600 {key_file}" in message and f"{loose:o}" in message
        assert stat.S_IMODE(key_file.stat().st_mode) == loose  # said, not changed behind them
    key_file.chmod(0o600)
    keys, created = load_keyring(None, url_in(tmp_path))
    assert created is None and keys.current == Keyring.from_secrets([secret]).current


def test_a_key_file_made_meanwhile_by_another_process_is_used_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first starts at once: the key published first wins, the other process takes it."""
    theirs = new_secret()
    link = os.link

    def other_process_first(source: str, target: str) -> None:
        # The other process publishes its key between our check and our publication.
        Path(target).write_text(theirs + "\n")
        Path(target).chmod(0o600)
        link(source, target)

    monkeypatch.setattr(os, "link", other_process_first)
    keys, created = load_keyring(None, url_in(tmp_path))
    assert created is None
    assert keys.current == Keyring.from_secrets([theirs]).current
    assert (tmp_path / "k.db.key").read_text() == theirs + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.db.key"]  # our temporary is gone


def test_a_key_file_is_not_made_where_the_database_already_holds_data(tmp_path: Path) -> None:
    with pytest.raises(UnusableKeyError) as refused:
        load_keyring(None, url_in(tmp_path), may_create=False)
    message = str(refused.value)
    assert "is missing" in message and "restore" in message and "MISTRI_DATA_KEY" in message
    assert not (tmp_path / "k.db.key").exists()


def test_the_current_data_key_in_the_environment_must_not_be_short(tmp_path: Path) -> None:
    short = "s3cret-but-short"
    message = refusal(tmp_path, short)
    assert "MISTRI_DATA_KEY is too short" in message and str(MIN_SECRET_LENGTH) in message
    assert short not in message
    # An old key (after the comma) only decrypts: a short one may still be rotated away from.
    new = new_secret()
    keys, created = load_keyring(f"{new},{short}", url_in(tmp_path))
    assert created is None
    assert [key.key_id for key in keys.keys] == [
        key.key_id for key in Keyring.from_secrets([new, short]).keys
    ]
    assert not list(tmp_path.iterdir())

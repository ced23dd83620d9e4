"""tools/uv.py, the bootstrap behind the README's commands, with PyPI played by a local server."""

from __future__ import annotations

import hashlib
import importlib.util
import stat
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME = "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="runs a POSIX shell script")


@pytest.fixture
def bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("uv_bootstrap", ROOT / "tools" / "uv.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GLIBC = ("glibc", "2.36")
PLATFORMS = [
    (("Linux", "x86_64", GLIBC), NAME),
    (("Linux", "x86_64", ("", "")), "uv-0.13.9-py3-none-musllinux_1_1_x86_64.whl"),
    (
        ("Linux", "aarch64", ("glibc", "2.31")),
        "uv-0.13.9-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64"
        ".musllinux_1_1_aarch64.whl",
    ),
    (("Linux", "i386", GLIBC), "uv-0.13.9-py3-none-manylinux_2_17_i686.manylinux2014_i686.whl"),
    (("Darwin", "arm64", ("", "")), "uv-0.13.9-py3-none-macosx_11_0_arm64.whl"),
    (("Darwin", "x86_64", ("", "")), "uv-0.13.9-py3-none-macosx_10_12_x86_64.whl"),
    (("Windows", "AMD64", ("", "")), "uv-0.13.9-py3-none-win_amd64.whl"),
]


@pytest.mark.parametrize(("where", "wheel"), PLATFORMS)
def test_the_wheel_for_each_platform(
    bootstrap: Any, where: tuple[str, str, tuple[str, str]], wheel: str
) -> None:
    assert bootstrap.wheel_for(*where) == wheel
    assert len(bootstrap.WHEELS[wheel]) == 64


@pytest.mark.parametrize(
    "where", [("Linux", "x86_64", ("glibc", "2.5")), ("FreeBSD", "amd64", ("", ""))]
)
def test_no_wheel_fits_is_said_in_words(
    bootstrap: Any, where: tuple[str, str, tuple[str, str]]
) -> None:
    with pytest.raises(bootstrap.BootstrapError, match="install uv yourself"):
        bootstrap.wheel_for(*where)


def test_wheel_links_absolute_or_relative_with_their_hash(bootstrap: Any) -> None:
    page = (
        '<a href="https://files.example/aa/uv-0.13.8-py3-none-any.whl#sha256=00">old</a>\n'
        f'<a href="../../packages/3d/aa/{NAME}#sha256=d7f4" data-requires-python="&gt;=3.8">'
        f"{NAME}</a>\n"
    )
    index = "https://pypi.example/simple/uv/"
    assert bootstrap.wheel_url(index, NAME, page) == f"https://pypi.example/packages/3d/aa/{NAME}"
    with pytest.raises(bootstrap.BootstrapError):
        bootstrap.wheel_url(index, "uv-0.13.9-py3-none-win32.whl", page)


FAKE_UV = '#!/bin/sh\necho fake-uv "$@"\n'


@pytest.fixture
def index(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A simple index on loopback serving one wheel, whose uv is a shell script."""
    served = tmp_path / "served"
    (served / "simple" / "uv").mkdir(parents=True)
    (served / "files").mkdir()
    wheel = served / "files" / NAME
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("uv/__init__.py", "")
        archive.writestr("uv-0.13.9.data/scripts/uv", FAKE_UV)
        archive.writestr("uv-0.13.9.data/scripts/uvx", FAKE_UV)
    (served / "simple" / "uv" / "index.html").write_text(
        f'<a href="../../files/{NAME}#sha256=x">{NAME}</a>'
    )

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/", wheel
    finally:
        server.shutdown()
        server.server_close()


def test_the_pinned_uv_is_fetched_once_checked_and_kept_private(
    bootstrap: Any, index: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, wheel = index
    monkeypatch.setattr(bootstrap, "wheel_for", lambda *_: NAME)
    monkeypatch.setitem(bootstrap.WHEELS, NAME, hashlib.sha256(wheel.read_bytes()).hexdigest())
    cache = tmp_path / "cache" / "uv" / "0.13.9"

    program = bootstrap.fetch(cache, url)

    assert program == cache / "uv"
    assert sorted(p.name for p in cache.iterdir()) == ["uv"]  # no wheel or partial file left
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    ran = subprocess.run([program, "run", "pytest"], capture_output=True, text=True, check=True)
    assert ran.stdout == "fake-uv run pytest\n"

    wheel.unlink()  # the second time it is not downloaded again
    assert bootstrap.fetch(cache, url) == program


def test_a_wheel_that_does_not_match_the_pinned_hash_is_not_used(
    bootstrap: Any, index: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = index
    monkeypatch.setattr(bootstrap, "wheel_for", lambda *_: NAME)
    monkeypatch.setitem(bootstrap.WHEELS, NAME, "0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(bootstrap.BootstrapError, match="not the pinned"):
        bootstrap.fetch(cache, url)
    assert list(cache.iterdir()) == []


def test_an_unreachable_index_is_one_line(bootstrap: Any, tmp_path: Path) -> None:
    with pytest.raises(bootstrap.BootstrapError, match="cannot download uv"):
        bootstrap.fetch(tmp_path / "cache", "http://127.0.0.1:9/simple/")


def fake_program(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "uv"
    program.write_text(f"#!/bin/sh\necho 'uv {version} (fake)'\n")
    program.chmod(0o755)
    return program


def test_a_uv_on_path_is_used_only_when_new_enough(
    bootstrap: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bootstrap, "_installed_module", lambda: None)
    monkeypatch.setattr(bootstrap, "fetch", lambda: tmp_path / "fetched")
    recent = fake_program(tmp_path / "recent", "0.13.2")
    monkeypatch.setenv("PATH", str(recent.parent))
    assert bootstrap.find() == str(recent)
    old = fake_program(tmp_path / "old", "0.4.30")
    monkeypatch.setenv("PATH", str(old.parent))
    assert bootstrap.find() == str(tmp_path / "fetched")


def test_a_pip_installed_uv_is_found_although_this_script_is_named_uv_too(
    bootstrap: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = fake_program(tmp_path / "bin", "0.13.9")
    package = tmp_path / "site" / "uv"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"def find_uv_bin():\n    return {str(program)!r}\n")
    # As `python3 tools/uv.py` starts: the script's folder first, then site-packages.
    monkeypatch.setattr(sys, "path", [str(ROOT / "tools"), str(tmp_path / "site"), *sys.path])
    monkeypatch.delitem(sys.modules, "uv", raising=False)
    try:
        assert bootstrap._installed_module() == str(program)
    finally:
        sys.modules.pop("uv", None)

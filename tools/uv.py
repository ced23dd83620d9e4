#!/usr/bin/env python3
"""Run uv, the project's installer, on any Python 3 without pip: ``python3 tools/uv.py ARGS``.

A stock Debian or Ubuntu Python refuses ``pip install`` (PEP 668) and may have neither pip nor
venv. This script needs only the standard library: it uses a ``uv`` already on ``PATH`` or
importable, and otherwise downloads the pinned uv wheel for this platform from PyPI once,
checks it against the hash pinned below, keeps the ``uv`` program from it in ``.cache/uv/``
(ignored by git) and runs it with the arguments given. uv then makes the project's own
virtual environment with no help from pip or venv.
"""

# Kept runnable on older Pythons (3.8+): it must be able to start uv, which can then fetch a
# Python new enough for the project.
from __future__ import annotations

import hashlib
import importlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

VERSION = "0.13.9"
# The oldest uv that reads this project's uv.lock and settings; an older one found on the
# machine is left alone and the pinned one is fetched instead.
MINIMUM = (0, 9, 0)
# sha256 of every uv wheel of VERSION, as PyPI published them: a download must match.
WHEELS = {
    "uv-0.13.9-py3-none-linux_armv6l.whl": (
        "56ec37616c00220032fc7b8c9d0ef51367fd0d70d9cd6ddd841660f949f84fed"
    ),
    "uv-0.13.9-py3-none-macosx_10_12_x86_64.whl": (
        "c16ed11e013557536b3e60065f1b912f6407bd6518e041b961e23ef9e6b4fbf5"
    ),
    "uv-0.13.9-py3-none-macosx_11_0_arm64.whl": (
        "66c512266d633bef48384a1f53003f41f2a8e7b36fe6e7fbfd3e0fd52d96fa63"
    ),
    "uv-0.13.9-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl": (
        "5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe"
    ),
    "uv-0.13.9-py3-none-manylinux_2_17_armv7l.manylinux2014_armv7l.musllinux_1_1_armv7l.whl": (
        "7ec1e1dd9b6cb335c301afdf877989df384227313981850755a59561f75e4ab8"
    ),
    "uv-0.13.9-py3-none-manylinux_2_17_i686.manylinux2014_i686.whl": (
        "db5c8df7145c21ffea9c0f74e38823bac3af60cbadf0e26b8633f08627b17bab"
    ),
    "uv-0.13.9-py3-none-manylinux_2_17_ppc64le.manylinux2014_ppc64le.whl": (
        "c5dbdb7c8737cd183a9dce95b39cfd1f3d54ec2a27a1bb58f160293f9ba2c805"
    ),
    "uv-0.13.9-py3-none-manylinux_2_17_s390x.manylinux2014_s390x.whl": (
        "a6e845f387e4ed55bb59342957a9179e24a631fcc7668bda3426ae1cef8ed4b9"
    ),
    "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl": (
        "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19"
    ),
    "uv-0.13.9-py3-none-manylinux_2_31_riscv64.musllinux_1_1_riscv64.whl": (
        "6d5114bba238adddacb32fb11904f2b3ff4e988f8e9ff0d8d3b5e9822cf836b8"
    ),
    "uv-0.13.9-py3-none-musllinux_1_1_i686.whl": (
        "a2ee66fe8b6608e1482ab1bde5799da04705c1cb40324c7f66054ecf46ae6e40"
    ),
    "uv-0.13.9-py3-none-musllinux_1_1_x86_64.whl": (
        "2c45530751517d6c3bbc69a19473f6effe47cce047bede01ffd8af7ea7b36b25"
    ),
    "uv-0.13.9-py3-none-win32.whl": (
        "3eeeb51a267a2144640fcd8f38d4a2f63439b39bc47445fd84727c3fc462c843"
    ),
    "uv-0.13.9-py3-none-win_amd64.whl": (
        "6a44b2ed8111d2f60d2b92627c5dccda3f7ed7570b18ce115e569cd68c28246b"
    ),
    "uv-0.13.9-py3-none-win_arm64.whl": (
        "eeb92051c2123b9730c46b04cc843cfa4bc7d7b0aec56df431a2215ef4cb0273"
    ),
}
INDEX = "https://pypi.org/simple/"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "uv" / VERSION
# Linux names for 32-bit x86 that the wheels call i686.
_MACHINES = {"i386": "i686", "i586": "i686", "amd64": "x86_64", "arm64": "aarch64"}


class BootstrapError(Exception):
    """Something that stops the bootstrap: reported in one line, exit status 1."""


def wheel_for(system: str, machine: str, libc: tuple[str, str]) -> str:
    """Choose the uv wheel that runs on this operating system, processor and C library."""
    machine = machine.lower()
    if system == "Windows":
        tag = {"amd64": "win_amd64", "x86_64": "win_amd64", "arm64": "win_arm64"}.get(
            machine, "win32"
        )
        return _only(lambda tags: tag in tags, system, machine)
    if system == "Darwin":
        arch = "arm64" if machine in ("arm64", "aarch64") else "x86_64"
        return _only(lambda tags: any(t.endswith("_" + arch) for t in tags), system, machine)
    if system != "Linux":
        raise BootstrapError(f"no uv wheel for {system}; install uv yourself (see its docs)")
    arch = _MACHINES.get(machine, machine)
    kind, version = libc
    if kind == "glibc":
        have = _version(version)
        return _only(
            lambda tags: any(
                _manylinux_fits(tag, arch, have) or tag == "linux_" + arch for tag in tags
            ),
            system,
            machine,
        )
    # No glibc reported: musl (Alpine and the like).
    return _only(
        lambda tags: any(t.startswith("musllinux_") and t.endswith("_" + arch) for t in tags),
        system,
        machine,
    )


def _only(fits: Callable[[list[str]], bool], system: str, machine: str) -> str:
    for name in WHEELS:  # in the order above: the most widely usable first
        tags = name[: -len(".whl")].split("-")[-1].split(".")
        if fits(tags):
            return name
    raise BootstrapError(f"no uv {VERSION} wheel for {system} on {machine}; install uv yourself")


def _manylinux_fits(tag: str, arch: str, have: tuple[int, ...]) -> bool:
    match = re.fullmatch(r"manylinux_(\d+)_(\d+)_(.+)", tag)
    if match is None:
        return tag == "manylinux2014_" + arch and have >= (2, 17)
    needs = (int(match.group(1)), int(match.group(2)))
    return match.group(3) == arch and have >= needs


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


class _Links(HTMLParser):
    """The file links of a PEP 503 simple index page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.extend(value for name, value in attrs if name == "href" and value)


def wheel_url(index: str, name: str, page: str) -> str:
    """Find the address of wheel ``name`` on the simple-index page of uv."""
    links = _Links()
    links.feed(page)
    for link in links.links:
        address = link.split("#", 1)[0]
        if urllib.parse.unquote(address.rsplit("/", 1)[-1]) == name:
            return urllib.parse.urljoin(index, address)
    raise BootstrapError(f"{name} is not on {index}")


def download(url: str, target: Path, sha256: str) -> None:
    """Save ``url`` to ``target`` if, and only if, its sha256 is the expected one."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=120) as answer, target.open("wb") as out:  # noqa: S310
        while chunk := answer.read(1 << 16):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        target.unlink()
        raise BootstrapError(
            f"{url} has sha256 {digest.hexdigest()}, not the pinned {sha256}: not used"
        )


def extract(wheel: Path, folder: Path) -> Path:
    """Take the ``uv`` program out of the wheel into ``folder``; return its path."""
    program = "uv.exe" if wheel.name.split("-")[-1].startswith("win") else "uv"
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.endswith(".data/scripts/" + program)]
        if len(members) != 1:
            raise BootstrapError(f"{wheel.name} holds no single {program}")
        target = folder / program
        partial = folder / (program + ".partial")
        with archive.open(members[0]) as source, partial.open("wb") as out:
            shutil.copyfileobj(source, out)
    partial.chmod(0o755)
    os.replace(partial, target)  # a run stopped half-way never leaves a broken uv behind
    return target


def fetch(cache: Path = CACHE, index: str | None = None) -> Path:
    """Return the pinned uv from ``cache``, downloading and checking it there first if needed."""
    program = cache / ("uv.exe" if os.name == "nt" else "uv")
    if program.is_file():
        return program
    index = index or os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("PIP_INDEX_URL") or INDEX
    index = index.rstrip("/") + "/"
    name = wheel_for(platform.system(), platform.machine(), platform.libc_ver())
    cache.mkdir(parents=True, exist_ok=True)
    cache.chmod(0o700)  # only its owner may change the program that will run
    for folder in cache.parents:  # and the folders above it, up to the repository
        if folder == ROOT or ROOT not in folder.parents:
            break
        folder.chmod(0o700)
    page_url = urllib.parse.urljoin(index, "uv/")
    print(f"tools/uv.py: fetching uv {VERSION} from {page_url} (once)", file=sys.stderr)
    try:
        with urllib.request.urlopen(page_url, timeout=60) as answer:  # noqa: S310
            page = answer.read().decode("utf-8", "replace")
        with tempfile.TemporaryDirectory(dir=cache) as scratch:
            wheel = Path(scratch) / name
            download(wheel_url(page_url, name, page), wheel, WHEELS[name])
            return extract(wheel, cache)
    except OSError as error:  # urllib's errors are OSErrors too
        raise BootstrapError(f"cannot download uv from {page_url}: {error}") from error


def usable(program: str) -> bool:
    """Whether ``program`` is a uv at least as new as this project needs."""
    try:
        answer = subprocess.run(  # noqa: S603
            [program, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    match = re.match(r"uv (\d+)\.(\d+)\.(\d+)", answer.stdout.strip())
    return match is not None and tuple(int(part) for part in match.groups()) >= MINIMUM


def find() -> str:
    """The uv to run: one already here if new enough, else the pinned one, fetched once."""
    found = shutil.which("uv")
    if found and usable(found):
        return found
    found = _installed_module()
    if found and usable(found):
        return found
    return str(fetch())


def _installed_module() -> str | None:
    """The program of a uv installed as a Python package (``pip install uv``), if any."""
    # Python puts this script's folder first on sys.path, where "uv" is this very file.
    here = Path(__file__).resolve().parent
    saved = sys.path[:]
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    try:
        return str(importlib.import_module("uv").find_uv_bin())
    except Exception:  # absent or broken: fetch our own
        return None
    finally:
        sys.path[:] = saved


def main(argv: list[str]) -> int:
    """Run uv with ``argv``; on POSIX the process becomes uv."""
    try:
        program = find()
    except BootstrapError as error:
        print(f"tools/uv.py: {error}", file=sys.stderr)
        return 1
    if os.name == "nt":  # no exec that keeps the console on Windows
        return subprocess.call([program, *argv])  # noqa: S603
    os.execv(program, [program, *argv])  # noqa: S606
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Which commit a benchmark measured: shared by the benchmark scripts."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The production code's packages: a local change in any of them makes the revision dirty.
PRODUCT = ("app", "channels", "conversations", "service", "storage")


def revision() -> str | None:
    """The commit the production code was at (``+dirty`` when it had local changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *PRODUCT],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return None
    return head + ("+dirty" if dirty else "") if head else None

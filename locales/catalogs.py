"""Keep the gettext catalogs in step with the code: ``python -m locales.catalogs``.

Extracts every marked message into ``messages.pot``, merges it into the ``bn`` and ``en``
catalogs, and fills the English catalog (whose message ids are English) with identity
translations, so that a missing translation can only ever be a Bengali one.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
TEMPLATE = LOCALES / "messages.pot"


def _babel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract() -> None:
    """Write the message template from the sources."""
    _babel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "-k",
        "_",
        "-k",
        "N_",
        "-k",
        "ngettext:1,2",
        "--no-location",
        "--sort-output",
        "--omit-header",
        "-o",
        str(TEMPLATE),
        str(ROOT),
    )


def update() -> None:
    """Merge the template into each language's catalog (creating it when missing)."""
    for lang in ("bn", "en"):
        po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
        if po.exists():
            _babel("update", "-i", str(TEMPLATE), "-o", str(po), "-l", lang, "--no-fuzzy-matching")
        else:
            _babel("init", "-i", str(TEMPLATE), "-o", str(po), "-l", lang)


def rewrap(lang: str) -> None:
    """Write a catalog back with the project's line length, so a merge changes only entries."""
    po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    with po.open("wb") as handle:
        write_po(handle, catalog, width=99, omit_header=False)


def fill_english() -> None:
    """Translate every English message as itself."""
    po = LOCALES / "en" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):  # a plural: every form is its own id
            if not all(message.string):
                message.string = message.id
        elif not message.string:
            message.string = message.id
    with po.open("wb") as handle:
        write_po(handle, catalog, width=99, omit_header=False)


def main() -> int:
    """Extract, update and fill."""
    extract()
    update()
    fill_english()
    rewrap("bn")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Languages and translations: gettext catalogs compiled by Babel, English message ids."""

from __future__ import annotations

import gettext
import io
from functools import cache
from importlib import resources

LANGUAGES = ("bn", "en")
#: The company's market: anyone whose Telegram language is neither speaks to us in Bengali.
DEFAULT_LANGUAGE = "bn"
DOMAIN = "messages"


def pick_language(language_code: str | None) -> str:
    """Return ``en`` for any English Telegram language code, ``bn`` for everything else."""
    if language_code and language_code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now."""
    return message


class Translator:
    """Translates English message ids into one language."""

    __slots__ = ("_gettext", "_ngettext", "lang")

    def __init__(self, lang: str, translations: gettext.NullTranslations) -> None:
        self.lang = lang
        self._gettext = translations.gettext
        self._ngettext = translations.ngettext

    def _(self, message: str) -> str:
        """Translate ``message``."""
        return self._gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Translate a message that depends on a count."""
        return self._ngettext(singular, plural, n)


def _load(lang: str) -> gettext.NullTranslations:
    """Load the compiled catalog, compiling the ``.po`` in memory when no fresh ``.mo`` exists."""
    folder = resources.files("locales") / lang / "LC_MESSAGES"
    po_file = folder / f"{DOMAIN}.po"
    mo_file = folder / f"{DOMAIN}.mo"
    if mo_file.is_file() and (not po_file.is_file() or _newer(mo_file, po_file)):
        with mo_file.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if not po_file.is_file():
        return gettext.NullTranslations()
    # A fresh clone has only the .po files: compile them here with Babel rather than
    # requiring a build step before the first run.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _newer(first: object, second: object) -> bool:
    from pathlib import Path

    return Path(str(first)).stat().st_mtime >= Path(str(second)).stat().st_mtime


@cache
def translator(lang: str) -> Translator:
    """Return the (cached) translator for ``lang``; unknown languages fall back to the default."""
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    return Translator(lang, _load(lang))

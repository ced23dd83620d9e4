"""Every message the code can say is in both catalogs, translated (read from the code itself)."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
#: Where the code that speaks lives (``bot/`` before the split; as ``babel.cfg`` lists them).
SOURCES = ("conversations", "app", "channels", "service")


def code_messages() -> set[str]:
    found: set[str] = set()
    for folder in SOURCES:
        assert (ROOT / folder).is_dir(), folder  # a folder gone would be searched in vain
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS, comment_tags=()
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalog(lang: str) -> dict[str, str]:
    with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        # A plural entry is keyed by its singular, translated when every form is.
        return {
            str(m.id[0] if isinstance(m.id, tuple) else m.id): (
                str(m.string[0]) if all(m.string) else ""
            )
            if isinstance(m.string, tuple)
            else str(m.string)
            for m in read_po(handle)
            if m.id and not m.fuzzy
        }


def test_code_says_something() -> None:
    assert "Which service do you need?" in code_messages()


def test_every_message_of_the_code_has_a_bengali_translation() -> None:
    bengali = catalog("bn")
    missing = sorted(m for m in code_messages() if not bengali.get(m))
    assert missing == [], "run `uv run python -m locales.catalogs` and translate these"


def test_every_message_of_the_code_is_in_the_english_catalog() -> None:
    english = catalog("en")
    assert sorted(m for m in code_messages() if not english.get(m)) == []


def test_no_message_is_said_inside_an_f_string() -> None:
    # Babel cannot see `_()` inside f-strings on Python 3.11: such text would never be
    # translated. Keep calls outside f-strings (see conversations.text.bold).
    offenders = [
        f"{path}:{number}"
        for folder in SOURCES
        for path in (ROOT / folder).rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "{t._(" in line or "{translator(" in line
    ]
    assert offenders == []

"""Cleaning what people type, escaping it, and splitting long texts."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.outbound import MAX_TEXT
from conversations.text import bold, clean, esc, has_letters, shorten, split_message

DROPPED = {"Cc", "Cf", "Cs", "Co", "Cn"}

#: Text rich in what clean() has to deal with.
messy = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from(["\n", "\t", " ", "\u00a0", "\u202e", "\u200b", "\u200c", "\u200d"]),
        st.sampled_from(["\x00", "\x1b", "\x7f", "\u2028", "\ufeff", "\u2066", "\u0301"]),
    ),
    max_size=200,
)


def test_clean_removes_control_and_direction_characters() -> None:
    assert clean("\u202eabc\u202c") == "abc"
    assert clean("a\x00b\x1b[31mc\x7f") == "ab[31mc"
    assert clean("\ufeffhello\u200b world\u2066") == "hello world"


def test_clean_keeps_zero_width_joiners_that_bengali_needs() -> None:
    assert clean("ক্\u200dষ") == "ক্\u200dষ"
    assert clean("র\u200c্য") == "র\u200c্য"


def test_clean_collapses_spaces_and_drops_empty_lines() -> None:
    assert clean("  House  12,\t\tRoad 5  \n\n\n  Dhaka \n") == "House 12, Road 5\nDhaka"


def test_clean_normalises_to_nfc() -> None:
    assert clean("e\u0301") == "\u00e9"
    assert clean("মো") == unicodedata.normalize("NFC", "মো")


@settings(max_examples=1000, deadline=None, database=None)
@given(messy)
def test_clean_leaves_no_control_characters_and_tidy_lines(text: str) -> None:
    cleaned = clean(text)
    for char in cleaned:
        assert char in "\n\u200c\u200d" or unicodedata.category(char) not in DROPPED
    assert "\t" not in cleaned
    assert "\u202e" not in cleaned
    assert cleaned == cleaned.strip()
    for line in cleaned.split("\n") if cleaned else []:
        assert line
        assert line == line.strip()
        assert "  " not in line
        assert all(not char.isspace() or char == " " for char in line)


@settings(max_examples=500, deadline=None, database=None)
@given(messy)
def test_clean_keeps_every_zero_width_joiner(text: str) -> None:
    # Joiners are kept even where they do no good: never silently change Bengali spelling.
    assert clean(text).count("\u200d") == unicodedata.normalize("NFC", text).count("\u200d")


def test_clean_output_is_nfc_even_when_a_format_character_sat_between() -> None:
    cleaned = clean("e\u200b\u0301")
    assert cleaned == unicodedata.normalize("NFC", cleaned)


def test_esc_escapes_html_but_not_quotes() -> None:
    assert esc("<b>Tom & 'Jerry'</b>") == "&lt;b&gt;Tom &amp; 'Jerry'&lt;/b&gt;"
    assert bold(esc("<x>")) == "<b>&lt;x&gt;</b>"


def test_has_letters_in_any_script() -> None:
    assert has_letters("ঢাকা")
    assert has_letters("1a")
    assert not has_letters("12-34 !?")
    assert not has_letters("🙂")


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=100), st.integers(1, 100))
def test_shorten_stays_within_the_limit(text: str, limit: int) -> None:
    short = shorten(text, limit)
    assert len(short) <= limit
    if len(text) <= limit:
        assert short == text
    else:
        assert short == text[: limit - 1] + "…"


paragraphy = st.text(
    st.one_of(st.sampled_from(["\n", " ", "ক"]), st.characters(codec="utf-8")),
    max_size=600,
)


@settings(max_examples=1000, deadline=None, database=None)
@given(paragraphy, st.integers(1, 120))
def test_split_message_respects_the_limit_and_loses_nothing(text: str, limit: int) -> None:
    chunks = split_message(text, limit)
    assert all(0 < len(chunk) <= limit for chunk in chunks)
    assert re.sub(r"\s", "", "".join(chunks)) == re.sub(r"\s", "", text)
    if len(text) <= limit:
        assert len(chunks) <= 1


@settings(max_examples=500, deadline=None, database=None)
@given(
    st.integers(1, 80).flatmap(
        lambda limit: st.tuples(
            st.just(limit),
            st.lists(
                st.text(st.characters(exclude_characters="\n"), min_size=1, max_size=limit),
                min_size=1,
                max_size=12,
            ),
        )
    )
)
def test_split_message_cuts_only_between_paragraphs_when_it_can(
    case: tuple[int, list[str]],
) -> None:
    limit, paragraphs = case
    text = "\n\n".join(paragraphs)
    chunks = split_message(text, limit)
    assert "\n\n".join(chunks) == text
    # Each chunk is whole paragraphs.
    assert sum(chunk.count("\n\n") + 1 for chunk in chunks) == len(paragraphs)


def test_split_message_cuts_a_long_paragraph_at_line_breaks() -> None:
    lines = [f"line {n:03d} " + "x" * 40 for n in range(300)]
    text = "\n".join(lines)
    chunks = split_message(text)
    assert len(chunks) > 1
    assert all(len(chunk) <= MAX_TEXT for chunk in chunks)
    assert [line for chunk in chunks for line in chunk.split("\n")] == lines


def test_split_message_of_a_short_text_is_that_text() -> None:
    assert split_message("a\n\nb") == ["a\n\nb"]
    assert split_message("") == []

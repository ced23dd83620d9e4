"""Cleaning what people type, escaping it, and splitting long texts."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.outbound import MAX_TEXT
from conversations.text import (
    BIDI_CONTROLS,
    BLANKS,
    LINE_BREAKS,
    QUOTE_MARK,
    bold,
    clean,
    esc,
    esc_line,
    has_letters,
    labelled_text,
    one_line,
    quoted,
    shorten,
    split_message,
    too_long,
)

DROPPED = {"Cc", "Cf", "Cs", "Co", "Cn"}

#: Text rich in what clean() has to deal with.
messy = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from(["\n", "\t", " ", "\u00a0", "\u202e", "\u200b", "\u200c", "\u200d"]),
        st.sampled_from(["\x00", "\x1b", "\x7f", "\u2028", "\ufeff", "\u2066", "\u0301"]),
        st.sampled_from(sorted(LINE_BREAKS | BIDI_CONTROLS | BLANKS)),
        st.sampled_from(["\u09cb", "\u09c7", "\u09be", "\u09cd", "\u09b0", "\u09af", "ক"]),
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


def test_clean_keeps_every_kind_of_line_break_as_a_line() -> None:
    assert clean("Tap\rleaks\u2028badly\x85now\r\nhelp") == "Tap\nleaks\nbadly\nnow\nhelp"


def test_clean_normalises_to_nfc() -> None:
    assert clean("e\u0301") == "\u00e9"
    assert clean("মো") == unicodedata.normalize("NFC", "মো")


@settings(max_examples=1000, deadline=None, database=None)
@given(messy)
def test_clean_leaves_no_control_characters_and_tidy_lines(text: str) -> None:
    cleaned = clean(text)
    for char in cleaned:
        assert char in "\n\u200c\u200d" or unicodedata.category(char) not in DROPPED
    assert not (LINE_BREAKS - {"\n"}) & set(cleaned)
    assert not (BIDI_CONTROLS | BLANKS) & set(cleaned)
    assert clean(cleaned) == cleaned
    assert cleaned == unicodedata.normalize("NFC", cleaned)
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


# --- one-line fields and quoted free text -------------------------------------------------------

FORGED = "Rahim\nPhone: 01999999999\nAddress: Gulshan 2"


def test_one_line_turns_a_forged_name_into_one_line() -> None:
    assert one_line(FORGED) == "Rahim Phone: 01999999999 Address: Gulshan 2"


@pytest.mark.parametrize("char", sorted(LINE_BREAKS | BLANKS | {"\t"}))
def test_one_line_makes_each_line_break_and_blank_a_space(char: str) -> None:
    assert one_line(f"Rahim{char}Uddin") == "Rahim Uddin"
    assert one_line(f"{char}Rahim  {char}{char} Uddin{char}") == "Rahim Uddin"


@pytest.mark.parametrize("char", sorted(BIDI_CONTROLS | {"\x00", "\x1b", "\x7f", "\u200b"}))
def test_one_line_drops_control_direction_and_invisible_characters(char: str) -> None:
    assert one_line(f"{char}Ra{char}him {char}Uddin{char}") == "Rahim Uddin"


@pytest.mark.parametrize(
    "bengali",
    [
        "মোহাম্মদ রহিম উদ্দিন",
        "র\u200c্যাব",  # ZWNJ: র্য shown without the ya-phala ligature
        "ক্\u200dষ",  # ZWJ: the half form of ক
        "র\u200d্য",
        "বাড়ি ১২, রোড ৫, মিরপুর-১০, ঢাকা",
    ],
)
def test_one_line_and_clean_keep_bengali_as_it_is(bengali: str) -> None:
    text = unicodedata.normalize("NFC", bengali)
    assert one_line(text) == text
    assert clean(text) == text
    assert esc_line(text) == text


@settings(max_examples=2000, deadline=None, database=None)
@given(messy)
def test_one_line_leaves_no_line_break_or_control_for_any_input(text: str) -> None:
    line = one_line(text)
    assert not LINE_BREAKS & set(line)
    assert len(line.splitlines()) <= 1
    for char in line:
        assert char in "\u200c\u200d" or unicodedata.category(char) not in DROPPED
        assert char not in BIDI_CONTROLS and char not in BLANKS
        assert char == " " or not char.isspace()
    assert line == line.strip()
    assert "  " not in line
    assert line == unicodedata.normalize("NFC", line)
    assert one_line(line) == line
    assert clean(line) == line  # a one-line value is clean free text too


@settings(max_examples=500, deadline=None, database=None)
@given(messy)
def test_one_line_is_clean_with_its_lines_joined(text: str) -> None:
    assert one_line(text) == " ".join(clean(text).split("\n"))


bengali_words = st.lists(
    st.text(
        st.one_of(
            st.characters(min_codepoint=0x0980, max_codepoint=0x09FF, categories=["L", "M", "N"]),
            st.sampled_from(["\u200c", "\u200d"]),
        ),
        min_size=1,
        max_size=12,
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=500, deadline=None, database=None)
@given(bengali_words)
def test_bengali_text_with_joiners_survives_unchanged(words: list[str]) -> None:
    text = unicodedata.normalize("NFC", " ".join(words))
    if text != text.strip() or "  " in text:
        return  # a word of joiners alone: not what anyone types
    assert one_line(text) == text
    assert clean(text) == text


def test_quoted_sets_every_line_apart_and_escapes_it() -> None:
    assert quoted("Tap <b>leaks</b>\r\nPhone: 019 & co") == (
        f"{QUOTE_MARK}Tap &lt;b&gt;leaks&lt;/b&gt;\n{QUOTE_MARK}Phone: 019 &amp; co"
    )


@settings(max_examples=1000, deadline=None, database=None)
@given(messy)
def test_every_line_of_quoted_text_starts_with_the_mark_and_holds_no_markup(text: str) -> None:
    for line in quoted(text).split("\n"):
        assert line.startswith(QUOTE_MARK)
        assert "<" not in line and ">" not in line


def test_labelled_text_is_a_dash_or_the_label_alone_and_the_text_quoted() -> None:
    assert labelled_text("Problem", None, 10) == ["Problem: —"]
    assert labelled_text("Problem", " \n\x00 ", 10) == ["Problem: —"]
    assert labelled_text("Problem", "a\nPhone: 0199", 10) == [
        "Problem:",
        f"{QUOTE_MARK}a\n{QUOTE_MARK}Phone: …",
    ]


# --- the length limit: said as the limit, never as a count the writer cannot check ----------


@pytest.mark.parametrize(
    ("lang", "limit", "shown"),
    [("en", 3000, "3,000"), ("en", 500, "500"), ("bn", 3000, "৩,০০০"), ("bn", 300, "৩০০")],
)
def test_too_long_names_the_limit_as_people_write_numbers(
    lang: str, limit: int, shown: str
) -> None:
    said = too_long(lang, limit)
    assert shown in said
    assert not (lang == "bn" and re.search(r"[0-9]", said))


def test_too_long_in_english_reads_plainly() -> None:
    assert too_long("en", 3000) == (
        "That is too long: please shorten it to at most 3,000 characters."
    )


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_a_long_problem_is_refused_with_the_limit_and_no_count(lang: str) -> None:
    from conversations import booking
    from conversations.events import Text
    from tests.conversations.flow import send, session_at

    # 1,754 code points that a reader counts as far fewer letters (vowel signs, conjuncts).
    typed = ("ক্ষি" * 439)[:1754]
    outcome = send(session_at(booking.PROBLEM, lang), Text(typed))
    said = " ".join(m.text for m in outcome.reply.effects if hasattr(m, "text"))
    assert too_long(lang, booking.MAX_PROBLEM) in said
    for count in ("1754", "১৭৫৪", "1,754", "১,৭৫৪"):
        assert count not in said

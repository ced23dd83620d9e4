"""/privacy: the summary, the Bengali original, then the English translation."""

from __future__ import annotations

import html
import re
from importlib import resources

import pytest

from conversations import privacy
from conversations.digits import to_bengali_digits
from conversations.outbound import MAX_TEXT, Outbound
from tests.conversations.flow import LANGS

PHONE = "+8809612345678"
EMAIL = "help@mistri.services"


def original(name: str) -> str:
    return (resources.files("locales") / "privacy" / name).read_text(encoding="utf-8").strip()


def plain(messages: list[Outbound]) -> list[str]:
    return [html.unescape(message.text) for message in messages]


def sections(lang: str, phone: str | None = PHONE, email: str | None = EMAIL) -> tuple[str, str]:
    """The Bengali and the English part of /privacy, as the reader sees them."""
    full = "\n\n".join(plain(privacy.policy_messages(lang, phone, email)))
    bn, en = original("privacy-policy.bn.txt"), original("privacy-policy.en.txt")
    start_bn, start_en = full.index(bn), full.index(en)
    assert start_bn < start_en
    # Between them stands the note that introduces the translation.
    bn_part, note = full[start_bn:start_en].rstrip().rsplit("\n\n", 1)
    assert note.startswith("<i>")
    assert note.endswith("</i>")
    return bn_part, full[start_en:]


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_within_the_limit(lang: str) -> None:
    messages = privacy.policy_messages(lang, PHONE, EMAIL)
    assert len(messages) >= 3
    for message in messages:
        assert 0 < len(message.text) <= MAX_TEXT
        assert message.buttons == ()


@pytest.mark.parametrize("lang", LANGS)
def test_the_summary_comes_first_in_the_readers_language(lang: str) -> None:
    first = privacy.policy_messages(lang, PHONE, EMAIL)[0].text
    title = original(f"summary.{lang}.txt").partition("\n")[0]
    assert first.startswith(f"<b>{html.escape(title, quote=False)}</b>\n")
    assert html.unescape(first).replace("<b>", "").replace("</b>", "") == original(
        f"summary.{lang}.txt"
    )


@pytest.mark.parametrize("lang", LANGS)
def test_the_bengali_original_appears_verbatim_before_the_english(lang: str) -> None:
    bn, en = sections(lang)
    assert bn.startswith(original("privacy-policy.bn.txt"))
    assert en.startswith(original("privacy-policy.en.txt"))


@pytest.mark.parametrize("lang", LANGS)
def test_the_english_translation_is_introduced_by_a_note(lang: str) -> None:
    messages = privacy.policy_messages(lang, PHONE, EMAIL)
    first_en_line = html.escape(original("privacy-policy.en.txt").partition("\n")[0])
    [index] = [i for i, m in enumerate(messages) if m.text.split("\n\n")[1:2] == [first_en_line]]
    assert re.fullmatch(r"<i>[^<>]+</i>", messages[index].text.split("\n\n")[0])
    assert index > 1


@pytest.mark.parametrize("lang", LANGS)
def test_the_configured_contact_appears_in_both_versions(lang: str) -> None:
    bn, en = sections(lang)
    for part in (bn, en):
        assert PHONE in part
        assert EMAIL in part
    # The contact comes after the policy's own "Contact" section, at its end.
    assert bn.rstrip().endswith(EMAIL)
    assert en.rstrip().endswith(EMAIL)


def test_contact_details_are_escaped() -> None:
    messages = privacy.policy_messages("en", "<b>09612</b>", "a&b@example.com")
    texts = "\n".join(message.text for message in messages)
    assert "&lt;b&gt;09612&lt;/b&gt;" in texts
    assert "a&amp;b@example.com" in texts
    assert "<b>09612" not in texts


@pytest.mark.parametrize("lang", LANGS)
def test_without_configured_contact_both_versions_still_say_how_to_reach_us(lang: str) -> None:
    bn, en = sections(lang, None, None)
    assert bn.rstrip() != original("privacy-policy.bn.txt")
    assert en.rstrip() != original("privacy-policy.en.txt")
    assert PHONE not in bn + en


def test_policy_text_appends_the_contact() -> None:
    text = privacy.policy_text("bn", PHONE, EMAIL)
    assert text.startswith(original("privacy-policy.bn.txt") + "\n")
    assert text.endswith(EMAIL)
    assert to_bengali_digits(PHONE) not in text  # configured values are quoted as they are


@pytest.mark.parametrize("lang", LANGS)
def test_a_long_policy_is_split_without_losing_a_line(
    lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = privacy._read
    bn_policy = "\n\n".join([original("privacy-policy.bn.txt")] * 5)
    assert len(bn_policy) > 2 * MAX_TEXT

    def fake_read(name: str) -> str:
        return bn_policy if name == "privacy-policy.bn.txt" else real(name)

    monkeypatch.setattr(privacy, "_read", fake_read)
    messages = privacy.policy_messages(lang, PHONE, EMAIL)
    assert len(messages) >= 5
    assert all(len(message.text) <= MAX_TEXT for message in messages)
    texts = plain(messages)
    bn_lines = [line for line in bn_policy.split("\n") if line.strip()]
    seen = [line for text in texts for line in text.split("\n") if line.strip()]
    # The Bengali lines come in order, whole, and all before the English translation.
    start = seen.index(bn_lines[0])
    assert seen[start : start + len(bn_lines)] == bn_lines
    en_first = original("privacy-policy.en.txt").partition("\n")[0]
    assert seen.index(en_first) > start + len(bn_lines) - 1
    squeeze = re.compile(r"\s")
    assert squeeze.sub("", bn_policy) in squeeze.sub("", "".join(texts))

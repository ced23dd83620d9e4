"""Recognising a plain request for a person ("মানুষের সাথে কথা বলতে চাই", "talk to a human").

A request is recognised only when it is most of the message: every word is one a request for
a person is made of (polite words, "I want to talk to", a word for a person), but for a few
others in a longer message ("... about my order"), and one of them asks for a person or to
talk. An address, a name or a problem ("send a person to fix the tap") has words of its own
and numbers, so it never reads as one: a false match would take someone out of their booking.
"""

from __future__ import annotations

import unicodedata

from conversations.text import one_line

#: Longer than this, a message is something else (a problem described, a comment).
MAX_REQUEST = 120

#: Words that ask for a person on their own.
_PERSON = frozenset(
    {
        # English
        "human",
        "humans",
        "person",
        "agent",
        "operator",
        "representative",
        "staff",
        "support",
        "helpline",
        "hotline",
        "care",
        # Bengali
        "মানুষ",
        "মানুষের",
        "মানুষকে",
        "এজেন্ট",
        "এজেন্টের",
        "অপারেটর",
        "অপারেটরের",
        "প্রতিনিধি",
        "প্রতিনিধির",
        "হেল্পলাইন",
        "সাপোর্ট",
        "কেয়ার",
        # Bengali in Latin letters
        "manush",
        "manusher",
        "manushar",
    }
)
#: Words that ask to talk (a request to talk is a request for a person here).
_TALK = frozenset({"talk", "speak", "chat", "কথা", "kotha", "katha"})
#: Words a request is made of besides those: pronouns, "want", "please", "with", greetings.
_FILLER = frozenset(
    {
        # English
        "i",
        "im",
        "id",
        "me",
        "my",
        "we",
        "you",
        "your",
        "want",
        "wanna",
        "would",
        "like",
        "need",
        "can",
        "could",
        "may",
        "let",
        "please",
        "pls",
        "plz",
        "to",
        "with",
        "a",
        "an",
        "the",
        "some",
        "someone",
        "somebody",
        "anyone",
        "anybody",
        "real",
        "live",
        "actual",
        "customer",
        "service",
        "team",
        "get",
        "connect",
        "now",
        "just",
        "hi",
        "hello",
        "hey",
        "is",
        "there",
        "am",
        "looking",
        "for",
        "talking",
        "speaking",
        "instead",
        "bot",
        "again",
        # Bengali
        "আমি",
        "আমার",
        "আমাকে",
        "একজন",
        "কোনো",
        "কোন",
        "কারো",
        "কারও",
        "কেউ",
        "সাথে",
        "সঙ্গে",
        "সাথেই",
        "বলতে",
        "বলব",
        "বলবো",
        "বলা",
        "বলে",
        "চাই",
        "চাচ্ছি",
        "চাইছি",
        "চাইতেছি",
        "দরকার",
        "লাগবে",
        "প্লিজ",
        "দয়া",
        "করে",
        "আসল",
        "আপনাদের",
        "আপনার",
        "টিমের",
        "টিম",
        "কাস্টমার",
        "সার্ভিস",
        "একটু",
        "ভাই",
        "আপু",
        "হ্যালো",
        "আছেন",
        "আছে",
        "কি",
        "কী",
        "যোগাযোগ",
        "করতে",
        "করব",
        "বট",
        # Bengali in Latin letters
        "ami",
        "amar",
        "sathe",
        "shathe",
        "songe",
        "bolte",
        "bolbo",
        "chai",
        "lagbe",
        "dorkar",
        "ekjon",
        "kono",
        "karo",
        "bhai",
        "vai",
        "apu",
    }
)


def _nfc(found: frozenset[str]) -> frozenset[str]:
    # Typed words are compared in NFC (one_line): "দয়া" may be written either way.
    return frozenset(unicodedata.normalize("NFC", word) for word in found)


_PERSON, _TALK, _FILLER = _nfc(_PERSON), _nfc(_TALK), _nfc(_FILLER)
_KNOWN = _PERSON | _TALK | _FILLER


#: Dropped inside a word: apostrophes ("I'm") and the joiners Bengali spelling may carry.
_INSIDE = frozenset("'’\u200c\u200d")


def words(text: str) -> list[str]:
    """Return the words of ``text``: case folded, without punctuation, symbols or joiners."""
    kept = []
    for ch in one_line(text).casefold():
        if ch in _INSIDE:
            continue
        # Punctuation (the danda too), symbols (emoji) and spaces separate words.
        kept.append(" " if unicodedata.category(ch)[0] in "PSZ" else ch)
    return "".join(kept).split()


def asks_for_person(text: str) -> bool:
    """Tell whether ``text`` is a plain request to talk to a person, in Bengali or English."""
    if len(text) > MAX_REQUEST:
        return False
    found = words(text)
    if not found or not any(word in _PERSON or word in _TALK for word in found):
        return False
    unknown = sum(1 for word in found if word not in _KNOWN)
    # Most of the message: a short one entirely, a longer one all but about one word in three.
    return unknown <= (len(found) - 1) // 3

"""What the kill harness (``tests/service/kill_harness.py``) checks once every customer is through.

Pure functions over what the fakes received and what the database holds: each customer's
answers against the expected booking (none twice, none lost, in order), the orders (one per
customer, the reference the customer was told), the technicians' offer notices (one per
order). Each check returns its findings as short lines (empty: passed); no phone, name or
address is in them, only customer numbers, steps and references.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: A message the bot sent into a chat, as compared: (kind, text). Telegram: the Bot API
#: method and its text; WhatsApp: the message type and its text.
Entry = tuple[str, str]

REFERENCE = re.compile(r"MS-[0-9A-Z-]+")


@dataclass
class Answers:
    """How one customer's answers compare with the expected booking."""

    #: Entries of the expected booking that came more often than once per expected place.
    duplicates: list[Entry] = field(default_factory=list)
    #: Entries the expected booking has none of (an update handled again, on a later step).
    unexpected: list[Entry] = field(default_factory=list)
    #: Entries of the expected booking that never came.
    missing: list[Entry] = field(default_factory=list)
    #: Whether the expected entries that came, came in the expected order.
    in_order: bool = True

    @property
    def clean(self) -> bool:
        """Exactly the expected answers, once each, in order."""
        return not (self.duplicates or self.unexpected or self.missing) and self.in_order


def expected_answers(chats: Sequence[Sequence[Entry]]) -> list[Entry]:
    """The expected answers of a booking: what most customers of a channel received.

    Every customer books the same way on the same day, so their answers are the same; a
    kill can only add, drop or repeat some of one customer's, never most customers' alike.
    Only the bookings that completed count (those stopped early share a shorter list).
    """
    complete = [chat for chat in chats if any("MS-" in text for _, text in chat)]
    counted = Counter(tuple(chat) for chat in (complete or chats) if chat)
    if not counted:
        return []
    return list(counted.most_common(1)[0][0])


def compare(received: Sequence[Entry], expected: Sequence[Entry]) -> Answers:
    """Compare a customer's answers with the expected ones."""
    found = Answers()
    want, got = Counter(expected), Counter(received)
    for entry, extra in (got - want).items():
        bucket = found.duplicates if entry in want else found.unexpected
        bucket.extend([entry] * extra)
    for entry, lacking in (want - got).items():
        found.missing.extend([entry] * lacking)
    # The order: the received entries, each expected one only as often as expected (the
    # first ones), must come in the expected order (a subsequence: some may be missing).
    # A message repeated right after itself (an answer sent again after a kill) is a
    # duplicate, counted above, not a reordering: where the booking says the same thing at
    # two steps, the repeat would otherwise take the later step's place.
    surplus = got - want
    collapsed = []
    for i, entry in enumerate(received):
        if i and received[i - 1] == entry and surplus[entry] > 0:
            surplus[entry] -= 1
            continue
        collapsed.append(entry)
    budget = Counter(expected)
    kept = []
    for entry in collapsed:
        if budget[entry] > 0:
            budget[entry] -= 1
            kept.append(entry)
    remaining = iter(expected)
    found.in_order = all(any(entry == want for want in remaining) for entry in kept)
    return found


def reference_of(entries: Sequence[Entry] | Sequence[str]) -> str | None:
    """The order reference a customer was told (the last one in their answers), if any."""
    for entry in reversed(entries):
        text = entry if isinstance(entry, str) else entry[1]
        found = REFERENCE.search(text)
        if found:
            return found.group(0)
    return None


def order_findings(
    references: Mapping[str, str | None], stored: Sequence[tuple[str, int | None]]
) -> list[str]:
    """Check the orders: one per customer, each the reference its customer was told.

    ``references``: each customer's key and the reference they were told; ``stored``: the
    orders table's (reference, customer id) rows.
    """
    findings = []
    by_reference = Counter(reference for reference, _ in stored)
    twice = [reference for reference, count in by_reference.items() if count > 1]
    if twice:
        findings.append(f"references stored twice: {sorted(twice)}")
    by_customer = Counter(customer for _, customer in stored)
    several = sum(1 for count in by_customer.values() if count > 1)
    if several:
        findings.append(f"{several} customers have several orders")
    told = [reference for reference in references.values() if reference is not None]
    if len(told) != len(set(told)):
        findings.append("two customers were told the same reference")
    unknown = sorted(set(told) - set(by_reference))
    if unknown:
        findings.append(f"references told but not stored: {unknown[:5]}")
    if len(stored) < len(told):
        findings.append(f"{len(stored)} orders stored for {len(told)} confirmations")
    return findings


def notice_findings(offers: Mapping[str, int], references: Sequence[str]) -> list[str]:
    """Check the offer notices: one per order (``offers``: notices counted per reference)."""
    findings = []
    twice = {reference: count for reference, count in offers.items() if count > 1}
    if twice:
        findings.append(
            f"{len(twice)} orders offered more than once: {dict(list(twice.items())[:5])}"
        )
    never = [reference for reference in references if offers.get(reference, 0) == 0]
    if never:
        findings.append(f"{len(never)} orders never offered: {never[:5]}")
    return findings

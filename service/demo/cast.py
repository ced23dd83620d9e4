"""Who is in the demo: the customer, the technicians, an applicant and the operator."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_TOKEN = "7000000001:DEMO-offline-token-not-real-000000"  # noqa: S105 - not a secret
#: The demo's operators' chat: a group (negative id) whose administrator is the operator.
OPERATORS_CHAT = -4_000_000_001
CUSTOMER_PHONE = "+8801712345678"
#: How the customer's phone may be written in a message (either language's digits).
CUSTOMER_PHONE_SHOWN = ("01712345678", "০১৭১২৩৪৫৬৭৮")
DHAKA = (23.8103, 90.4125)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone the demo types for: their user id, names, and the prefix that acts as them."""

    user_id: int
    name: str
    first_name: str
    #: What the demo's user types before a number or a command to act as them ("" for Rahim).
    tag: str
    #: Where they write: their private chat with the bot, or the operators' chat.
    chat: int
    lang: str = "en"
    phone: str | None = None
    #: Approved technician from the start (the applicant only applies during the demo).
    technician: bool = False

    @property
    def in_group(self) -> bool:
        """Whether they write in a group (the operators' chat) rather than a private chat."""
        return self.chat < 0


CUSTOMER = Person(5_000_001, "Rahim", "Rahim", "", 5_000_001, "bn", CUSTOMER_PHONE)
KARIM = Person(9_000_001, "Karim Uddin", "Karim", "t", 9_000_001, "en", "+8801812345678", True)
JAMAL = Person(9_000_002, "Jamal Hossain", "Jamal", "j", 9_000_002, "en", "+8801912345678", True)
APPLICANT = Person(9_000_003, "Sumon Mia", "Sumon", "s", 9_000_003, "en", "+8801612345678")
OPERATOR = Person(8_000_001, "Nadia Akter", "Nadia", "o", OPERATORS_CHAT, "en")

#: Everyone but the customer, by the prefix that acts as them.
BY_TAG = {person.tag: person for person in (KARIM, JAMAL, APPLICANT, OPERATOR)}


@dataclass(frozen=True, slots=True)
class Pane:
    """One chat shown in the terminal: its id, the label of its margin, its button prefix."""

    chat: int
    label: str
    tag: str


PANES = (
    Pane(CUSTOMER.chat, "", ""),
    Pane(KARIM.chat, KARIM.first_name, KARIM.tag),
    Pane(JAMAL.chat, JAMAL.first_name, JAMAL.tag),
    Pane(APPLICANT.chat, APPLICANT.first_name, APPLICANT.tag),
    Pane(OPERATORS_CHAT, "Operators", OPERATOR.tag),
)

HELP = (
    "Type as Rahim, the customer: text, /commands, or 1, 2… to tap his buttons.\n"
    "Prefix to act as someone else: t = technician Karim, j = technician Jamal,"
    " s = Sumon (wants to join: s/register), o = operator Nadia in the operators' chat.\n"
    "  t1 taps Karim's first button · t/jobs sends /jobs as Karim · t:hello says hello as Karim\n"
    "  o1 taps a button in the operators' chat · o/orders sends /orders there ·"
    " o>text answers (reply-to) the latest notice there, o>/done ends a conversation\n"
    "? or help shows this; /quit ends."
)

"""After a job is done: the customer rates it from 1 to 5, then may add a short comment.

The rating is one button press (``rt:<order>:<n>``); the comment is a short flow of one step
(the next text is the comment, or *Skip*). Like a correction, the comment step stacks: a
booking (or a correction) in progress is set aside and comes back when it ends, so nothing
typed is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from conversations.digits import localize_digits
from conversations.events import ButtonPress, Command, Inbound, Text
from conversations.i18n import Translator, translator
from conversations.outbound import Button, Outbound
from conversations.router import Flow, Outcome, enter, register
from conversations.session import Context, Session
from conversations.text import ASCII_NUMBER, bold, clean, esc, too_long

FLOW = "rate"
COMMENT = "comment"
PREFIX = "rt"
SKIP = "skip"
STARS = (1, 2, 3, 4, 5)
#: The longest comment kept (a short note for the team, not a review).
MAX_COMMENT = 500


@dataclass(frozen=True, slots=True)
class RatingButton:
    """A parsed press: stars for an order, or Skip (``stars`` None); never proof of anything."""

    order_id: int
    stars: int | None


def rating_data(order_id: int, stars: int) -> str:
    """Return the data of the button that gives ``order_id`` ``stars`` (``rt:17:5``)."""
    return f"{PREFIX}:{order_id}:{stars}"


def skip_data(order_id: int) -> str:
    """Return the data of the Skip button of the comment step (``rt:17:skip``)."""
    return f"{PREFIX}:{order_id}:{SKIP}"


def parse_button(data: str) -> RatingButton | None:
    """Parse ``rt:<order>:<1-5>`` and ``rt:<order>:skip``."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != PREFIX or not ASCII_NUMBER.fullmatch(parts[1]):
        return None
    if parts[2] == SKIP:
        return RatingButton(int(parts[1]), None)
    if parts[2] in {str(n) for n in STARS}:
        return RatingButton(int(parts[1]), int(parts[2]))
    return None


@dataclass(frozen=True, slots=True)
class SaveComment:
    """Store ``text`` as the comment of the customer's rating of ``order_id``."""

    order_id: int
    text: str


# --- what the customer is sent ---------------------------------------------------------------


def stars_label(stars: int) -> str:
    """Return ``★★★★☆`` for 4."""
    return "★" * stars + "☆" * (len(STARS) - stars)


def ask_rating(lang: str, reference: str, order_id: int) -> Outbound:
    """Tell the customer the job is done and ask for 1–5 stars."""
    t = translator(lang)
    text = "\n".join(
        (
            "✅ " + bold(t._("Your job {reference} is done.").format(reference=esc(reference))),
            t._("How was it? Tap 1 (poor) to 5 (excellent)."),
        )
    )
    buttons = (
        tuple(Button(localize_digits(f"{n} ⭐", lang), rating_data(order_id, n)) for n in STARS),
    )
    return Outbound(text, buttons=buttons)


def rated(lang: str, reference: str, stars: int, message_id: str | None) -> Outbound:
    """After a press: the question shows the rating given (and loses its buttons)."""
    t = translator(lang)
    text = t._("You rated {reference}: {stars}. Thank you!").format(
        reference=bold(esc(reference)), stars=stars_label(stars)
    )
    return Outbound(text, replaces=message_id)


def already_rated(lang: str, reference: str) -> Outbound:
    """Said when a job that was rated already is rated again."""
    t = translator(lang)
    text = t._("You have already rated {reference}. Thank you!").format(
        reference=bold(esc(reference))
    )
    return Outbound(text)


def cannot_rate(lang: str) -> Outbound:
    """Said when a rating button names an order that is not the presser's, or is not done."""
    return Outbound(translator(lang)._("This job cannot be rated by you."))


def skipped(lang: str, message_id: str | None) -> Outbound:
    """After Skip: the comment question says thank you (and loses its button)."""
    text = translator(lang)._("Thank you for your rating!")
    return Outbound(text, replaces=message_id)


# --- the comment step -----------------------------------------------------------------------


def start_comment(session: Session, order_id: int, reference: str) -> Outcome:
    """Ask for an optional comment on ``order_id``, keeping what was going on aside."""
    new = session.copy()
    new.flow, new.step = FLOW, COMMENT
    new.data = {"order_id": order_id, "reference": reference}
    outcome = Outcome(new)
    outcome.reply.send(_prompt(new))
    return enter(session, outcome)


def order_of(session: Session) -> int | None:
    """Return the order whose comment the session waits for (None outside the step)."""
    order_id = session.data.get("order_id") if session.flow == FLOW else None
    return order_id if isinstance(order_id, int) else None


def reprompt(session: Session, hint: str | None = None) -> Outcome:
    """Ask for the comment again, after an optional hint."""
    outcome = Outcome(session.copy())
    if hint:
        outcome.reply.send(Outbound(hint))
    outcome.reply.send(_prompt(session))
    return outcome


def skip(session: Session, message_id: str | None) -> Outcome:
    """Leave no comment; what the step interrupted comes back."""
    outcome = Outcome(_ended(session))
    outcome.reply.send(skipped(_t(session).lang, message_id))
    return outcome


def handle(session: Session, event: Inbound, ctx: Context | None = None) -> Outcome:
    """Answer one event at the comment step."""
    t = _t(session)
    payload = event.payload
    if order_of(session) is None:
        # A damaged session (never written by this module): give back what it interrupted.
        return skip(session, None)
    if isinstance(payload, Command):
        if payload.name == "cancel":
            return skip(session, None)
        return reprompt(session, t._("To leave no comment, tap Skip or send /cancel."))
    if isinstance(payload, ButtonPress):
        hint = t._("That button belongs to an earlier message. Here is where we are:")
        return reprompt(session, hint)
    text = clean(payload.text) if isinstance(payload, Text) else None
    if not text:
        return reprompt(session, t._("Please type your comment, or tap Skip."))
    if len(text) > MAX_COMMENT:
        hint = too_long(t.lang, MAX_COMMENT)
        return reprompt(session, localize_digits(hint, t.lang))
    outcome = Outcome(_ended(session), actions=[SaveComment(order_of(session) or 0, text)])
    thanks = t._("🙏 Thank you! Your comment is saved and our team will read it.")
    outcome.reply.send(Outbound(thanks))
    return outcome


def _prompt(session: Session) -> Outbound:
    t = _t(session)
    reference = str(session.data.get("reference", ""))
    text = "\n".join(
        (
            bold(t._("Anything to add about {reference}?").format(reference=esc(reference))),
            t._("Type a short comment for our team, or tap Skip."),
        )
    )
    order_id = order_of(session) or 0
    buttons = ((Button(t._("Skip ▶"), skip_data(order_id)),),)
    return Outbound(text, buttons=buttons)


def _t(session: Session) -> Translator:
    return translator(session.lang or "bn")


def _ended(session: Session) -> Session:
    new = session.copy()
    new.reset()
    return new


#: Commands answered aside mid-comment (then it is asked again); any other goes to it.
INTERRUPTED_BY = frozenset({"help", "privacy", "myorders", "mydata", "language", "deleteme"})
#: Buttons of others that still work mid-comment (its own Skip and stars among them, by the
#: core's rating handler); any other button is stale here.
BUTTONS_ASIDE = frozenset({"lang", "dr", "rt", "ord", "av", "job"})

SPEC = register(
    Flow(
        name=FLOW,
        handle=handle,
        reprompt=lambda session, ctx: reprompt(session),
        steps=frozenset({COMMENT}),
        interrupted_by=INTERRUPTED_BY,
        buttons_aside=BUTTONS_ASIDE,
        stacks=True,
    )
)

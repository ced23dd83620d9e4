"""A customer's orders: booking one, /myorders, cancelling one, rating a job that is done."""

from __future__ import annotations

import logging

from app import offers, views
from app.core import Turn
from app.routes import action, button, command
from conversations import booking, common, rating, router
from conversations import orders as order_texts
from conversations.booking import PlaceOrder
from conversations.events import ButtonPress, Command
from conversations.outbound import Reply
from conversations.rating import SaveComment
from conversations.router import Outcome
from conversations.session import BOOKING
from storage import customer_lookup, customers, orders
from storage.models import OrderStatus

log = logging.getLogger(__name__)


@command("book")
async def book(turn: Turn, command: Command) -> Outcome:
    """/book: a booking, or the one in progress asked again."""
    return await start_booking(turn)


@button(data=common.BOOK_DATA)
async def book_button(turn: Turn, press: ButtonPress) -> Outcome:
    """The *Book a technician* button."""
    return await start_booking(turn)


async def start_booking(turn: Turn) -> Outcome:
    """Begin a booking with what we hold of a returning customer."""
    session, ctx = turn.session, turn.context()
    if session.flow == BOOKING:
        outcome = booking.reprompt(session, ctx)
        outcome.reply.effects.insert(0, common.already_booking(turn.lang))
        return outcome
    async with turn.read() as tx:
        full = await orders.open_count(tx, person=turn.person) >= turn.core.max_open_orders
        profile = await customers.profile(tx, person=turn.person)
        area = await customer_lookup.saved_address_area(tx, person=turn.person, profile=profile)
    if full:
        # Nine questions answered only to be refused at the end would be unkind.
        outcome = Outcome(session.copy())
        outcome.reply.send(order_texts.too_many_open(turn.lang, turn.core.max_open_orders))
        return outcome
    return booking.start(session, ctx, profile, turn.event.sender.first_name, area)


@action(PlaceOrder)
async def place(turn: Turn, outcome: Outcome, placed: PlaceOrder) -> None:
    """Store a confirmed booking and offer it, in one transaction."""
    draft, core = placed.draft, turn.core
    async with turn.transaction() as tx:
        repeated = await orders.get_by_draft(tx, draft_id=draft.draft_id) is not None
        limit = core.max_open_orders
        if not repeated and await orders.open_count(tx, person=turn.person) >= limit:
            # Several bookings confirmed at once (another device, a fast hand) stop here.
            outcome.reply.send(order_texts.too_many_open(draft.lang, limit))
            log.info("an order over the open-order limit was refused")
            return
        customer_id = await customers.save_details(
            tx,
            person=turn.person,
            lang=draft.lang,
            name=draft.name,
            phone=draft.phone,
            address=draft.address,
            latitude=draft.latitude,
            longitude=draft.longitude,
        )
        order, created = await orders.place(
            tx,
            draft_id=draft.draft_id,
            customer_id=customer_id,
            lang=draft.lang,
            service=draft.service,
            area=draft.area,
            area_other=draft.area_other,
            address=draft.address,
            latitude=draft.latitude,
            longitude=draft.longitude,
            phone=draft.phone,
            name=draft.name,
            problem=draft.problem,
            visit_date=draft.visit_date,
            visit_part=draft.visit_part,
        )
        confirmed = order_texts.order_confirmed(draft.lang, views.order_view(order, contact=False))
        # Offered in the same transaction: a stored order is never left without an offer,
        # and the notice is in the outbox before anything can crash.
        escalated = created and not await offers.offer_next(
            core, tx, order, confirmation=confirmed, customer_chat=turn.chat, fresh=True
        )
    if not escalated:  # escalated: it was queued before "the team will call", to keep order
        outcome.reply.send(confirmed)
    if created:
        log.info(
            "order %s stored (service=%s area=%s)", order.reference, order.service, order.area
        )


@command("myorders")
async def my_orders(turn: Turn, command: Command) -> Outcome:
    """/myorders: the customer's orders, newest first, with Cancel on the open ones."""
    async with turn.read() as tx:
        customer = await customers.get(tx, person=turn.person)
        found = (
            [] if customer is None else await orders.for_customer(tx, customer_id=customer.id or 0)
        )
    outcome = Outcome(turn.session.copy())
    shown = [views.order_view(order, contact=False) for order in found]
    outcome.reply.send(order_texts.my_orders_menu(turn.lang, shown))
    return router.resume(outcome, turn.context())


@button(order_texts.PREFIX)
async def order_button(turn: Turn, press: ButtonPress) -> Outcome:
    """A customer's Cancel on /myorders, and its Yes / No."""
    outcome = Outcome(turn.session.copy())
    outcome.reply = await _order_button(turn, press)
    return router.resume(outcome, turn.context())


async def _order_button(turn: Turn, press: ButtonPress) -> Reply:
    reply, lang, message_id = Reply(), turn.lang, press.message_id
    parsed = order_texts.parse_order_button(press.data)
    if parsed is None:
        reply.send(common.stale_button(lang))
        return reply
    async with turn.transaction() as tx:
        order = await orders.load(tx, order_id=parsed.order_id)
        owner = await customers.address_of(tx, customer_id=order.customer_id) if order else None
        # Authorised from the database: only the order's own customer may cancel it.
        if order is None or order.customer_id is None or owner != turn.person:
            reply.send(order_texts.not_your_order(lang))
            return reply
        if parsed.action == order_texts.NO_CANCEL:
            reply.send(order_texts.order_kept(lang, order.reference, message_id))
            return reply
        if order.status not in orders.OPEN_STATUSES:
            reply.send(order_texts.cannot_cancel(lang, order.reference, order.status))
            return reply
        if parsed.action == order_texts.ASK_CANCEL:
            reply.send(order_texts.confirm_cancel(lang, views.order_view(order, contact=False)))
            return reply
        if not await orders.cancel_by_customer(
            tx, order_id=order.id, customer_id=order.customer_id
        ):
            current = await orders.load(tx, order_id=order.id) or order
            reply.send(order_texts.cannot_cancel(lang, order.reference, current.status))
            return reply
        await offers.withdraw_offers(turn.core, tx, order)
    reply.send(order_texts.order_cancelled(lang, order.reference, message_id))
    log.info("order %s cancelled by its customer", order.reference)
    return reply


@button(rating.PREFIX)
async def rating_button(turn: Turn, press: ButtonPress) -> Outcome:
    """A customer's 1–5 stars on a done job (then the comment step), or Skip."""
    session, lang, message_id, ctx = turn.session, turn.lang, press.message_id, turn.context()
    outcome = Outcome(session.copy())
    parsed = rating.parse_button(press.data)
    if parsed is None:
        outcome.reply.send(common.stale_button(lang))
        return router.resume(outcome, ctx)
    if parsed.stars is None:
        if rating.order_of(session) == parsed.order_id:
            return rating.skip(session, message_id)  # what it interrupted comes back
        # A Skip of a step already over: only the button goes.
        outcome.reply.send(rating.skipped(lang, message_id))
        return router.resume(outcome, ctx)
    async with turn.transaction() as tx:
        order = await orders.load(tx, order_id=parsed.order_id)
        owner = await customers.address_of(tx, customer_id=order.customer_id) if order else None
        # Authorised from the database: the order's customer, a done job, not yet rated.
        mine = order is not None and owner == turn.person
        rated = (
            mine
            and order is not None
            and order.customer_id is not None
            and await orders.rate(
                tx, order_id=order.id, customer_id=order.customer_id, stars=parsed.stars
            )
        )
    if order is None or not mine:
        outcome.reply.send(rating.cannot_rate(lang))
    elif not rated and order.status == OrderStatus.DONE:
        outcome.reply.send(rating.already_rated(lang, order.reference))
    elif not rated:
        outcome.reply.send(rating.cannot_rate(lang))
    else:
        log.info("order %s rated %d", order.reference, parsed.stars)
        started = rating.start_comment(session, order.id, order.reference)
        shown = rating.rated(lang, order.reference, parsed.stars, message_id)
        started.reply.effects.insert(0, shown)
        return started
    return router.resume(outcome, ctx)


@action(SaveComment)
async def save_comment(turn: Turn, outcome: Outcome, comment: SaveComment) -> None:
    """Store the comment of the customer's own rating."""
    async with turn.transaction() as tx:
        order = await orders.load(tx, order_id=comment.order_id)
        owner = await customers.address_of(tx, customer_id=order.customer_id) if order else None
        saved = (
            order is not None
            and order.customer_id is not None
            and owner == turn.person
            and await orders.comment_rating(
                tx, order_id=order.id, customer_id=order.customer_id, comment=comment.text
            )
        )
    if not saved:
        log.info("a rating comment was not stored (commented already, or erased)")

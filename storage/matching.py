"""Which technician gets an offer: every able one, ranked by one pure function.

This runs for every offer, among thousands of technicians and a million orders: one statement
finds who can take the job and their open jobs; what else ranking needs (last offer, base pin,
rating) is read afterwards, for the few who can still come first. ``conversations.ranking``
decides, on true values.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    Table,
    bindparam,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from conversations.ranking import Candidate, rank
from storage.database import Tx
from storage.models import JobOffer, Order, OrderStatus, Technician
from storage.technicians import average_rating, load

_technicians: Table = Technician.__table__  # type: ignore[attr-defined]
_orders: Table = Order.__table__  # type: ignore[attr-defined]
_offers: Table = JobOffer.__table__  # type: ignore[attr-defined]
#: The statuses of a job a technician still has to do: their load, which ranks them first.
_OPEN_JOBS = (str(OrderStatus.ASSIGNED), str(OrderStatus.ON_THE_WAY))


async def match(
    tx: Tx,
    *,
    service: str,
    area: str,
    exclude: set[int] | frozenset[int] = frozenset(),
    pin: tuple[float, float] | None = None,
) -> Technician | None:
    """Pick the best active technician for ``service`` in ``area`` (see conversations.ranking).

    ``exclude`` holds technicians already offered this order (they declined or were silent);
    ``pin`` is the order's location, when the customer shared one.

    This runs for every offer, among thousands of technicians and a million orders: one
    statement finds who can take the job and their open jobs (an index scan and one look-up
    each); when they were last offered a job, their base (an encrypted pin) and their average
    rating are read afterwards, for the few who can still come first (:func:`_best`).
    ``rank`` decides, on true values.
    """
    parameters = _match_parameters(service, area)
    if exclude:
        rows = (
            await tx.execute(_match_excluding(), {**parameters, "exclude": list(exclude)})
        ).all()
    else:
        rows = await tx.rows(_MATCH, parameters)
    if not rows:
        return None
    whole: dict[int, Technician] = {}

    async def read(ids: list[int], upto: int, likely: bool) -> dict[int, _Late]:
        if likely:  # probably the pick: the row is read whole, and kept
            row = (await tx.execute(_whole_statement(), {"id": ids[0]})).one()
            fields = row._asdict()
            last, rating = fields.pop("last_offered"), fields.pop("rating")
            technician = whole[ids[0]] = Technician.model_validate(fields)
            latitude, longitude = technician.base_latitude, technician.base_longitude
            base = None
            if pin is not None and latitude is not None and longitude is not None:
                base = (latitude, longitude)
            return {ids[0]: _Late(_aware(last), base, None if rating is None else float(rating))}
        return await _read_late(tx, ids, upto=upto, with_base=pin is not None)

    best = await _best(rows, pin, read)  # rows: (technician id, open jobs)
    return whole[best] if best in whole else await load(tx, technician_id=best)


#: How much of a candidate :func:`_best` has read: their open jobs only (from the first
#: statement); also when they were last offered a job (an index look-up) and their base
#: (decrypted, and only when the order has a pin); also their average rating (a pass over
#: their rated jobs).
_OPEN, _NEAR, _FULL = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Late:
    """What is read of a candidate after the first statement (``None`` where not read)."""

    last_offered_at: datetime | None
    base: tuple[float, float] | None = None
    rating: float | None = None


async def _best(
    candidates: Sequence[tuple[int, int]],
    pin: tuple[float, float] | None,
    read: Callable[[list[int], int, bool], Awaitable[dict[int, _Late]]],
) -> int:
    """Return the id of the best of ``candidates`` (technician id, open jobs), reading little else.

    Each candidate is ranked on what is known of them and, for what is not yet read, the best
    there can be: never offered a job, a base right at the pin, an infinite rating. A nearer
    base, a longer wait or a better rating never ranks a candidate later
    (conversations.ranking), so a fully read candidate ranked first beats everyone's true
    values, and whoever ranks after a fully read one can never come first. Until then, what
    is missing is read for those ahead (``read(ids, upto, likely)`` reads everything up to
    ``upto``; ``likely`` says the one candidate asked for is probably the pick): one
    candidate in full, then last offers and bases of all ahead at once, then ratings of a few
    of the most promising at a time.
    """
    hopes = {
        technician_id: Candidate(technician_id, open_jobs, pin, None, math.inf)
        for technician_id, open_jobs in candidates
    }
    known = dict.fromkeys(hopes, _OPEN)
    alive = list(hopes.values())
    rated_at_once = 1
    # A first one is read in full only to bound the others: anyone would do, and one with the
    # fewest open jobs is usually near the top (no ranking pass needed to find them).
    ids, upto, likely = [min(candidates, key=lambda pair: pair[1])[0]], _FULL, False
    while True:
        for technician_id, late in (await read(ids, upto, likely)).items():
            hopes[technician_id] = Candidate(
                technician_id,
                hopes[technician_id].open_jobs,
                late.base if pin is not None else None,
                late.last_offered_at,
                late.rating if upto == _FULL else math.inf,
            )
            known[technician_id] = upto
        alive = [hopes[c.technician_id] for c in alive]
        order = rank(alive, pin)
        bound = next(k for k, c in enumerate(order) if known[c.technician_id] == _FULL)
        if bound == 0:
            return order[0].technician_id
        alive = order[: bound + 1]  # those after the bound can never come first
        ahead = order[:bound]
        least = min(known[c.technician_id] for c in ahead)
        ids = [c.technician_id for c in ahead if known[c.technician_id] == least]
        upto = least + 1
        if upto == _FULL:
            ids = ids[:rated_at_once]
            rated_at_once *= 8
        likely = upto == _FULL and len(ids) == 1


async def _read_late(tx: Tx, ids: list[int], *, upto: int, with_base: bool) -> dict[int, _Late]:
    """Read the last offer, the base (``with_base``) and, if ``upto`` is full, the rating."""
    rated = upto == _FULL
    found = {}
    for row in await tx.execute(_late_statement(with_base, rated), {"ids": ids}):
        location = None
        if with_base and row[2] is not None and row[3] is not None:
            location = (row[2], row[3])
        rating = row[-1] if rated else None
        found[row[0]] = _Late(_aware(row[1]), location, None if rating is None else float(rating))
    return found


def _match_parameters(service: str, area: str) -> dict[str, str]:
    """The parameters of :data:`_MATCH`: each slug alone, then as a whole item."""
    return {
        "service_text": service,
        "service": f",{service},",
        "area_text": area,
        "area": f",{area},",
    }


def _as_list(column: Any) -> Any:
    # ",plumbing,electrical,": each slug between commas, so a slug never matches inside another.
    return literal(",") + column + literal(",")


class _position(FunctionElement[int]):
    """Where ``needle`` starts in ``haystack`` (from 1; 0 when it is not there)."""

    type = Integer()
    inherit_cache = True


@compiles(_position)
def _instr(element: _position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_position, "postgresql")
def _strpos(element: _position, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL's name for SQLite's instr, with the arguments in the same order.
    return f"strpos({compiler.process(element.clauses, **kw)})"


def _contains(haystack: Any, needle: Any) -> Any:
    # instr, not LIKE: SQLite compiles a statement again whenever the pattern bound to a LIKE
    # changes (the pattern may change its plan), which cost more than the whole query. And a
    # slug is matched as it is, with no wildcard to escape.
    return _position(haystack, needle) > 0


def _listed_in(column: Any, name: str) -> Any:
    """``column`` (a comma-separated list) holds the slug of parameter ``name`` as an item.

    The plain substring test first: it is cheap and turns away most rows before the exact one.
    """
    return _contains(column, bindparam(f"{name}_text")) & _contains(
        _as_list(column), bindparam(name)
    )


#: A candidate's last offer, as text: datetime.fromisoformat reads it far faster than the
#: DateTime type's parser.
_LAST_OFFERED = (
    select(func.max(_offers.c.created_at, type_=String))
    .where(_offers.c.technician_id == _technicians.c.id)
    .scalar_subquery()
    .label("last_offered")
)

#: Who could take a job and their open jobs: one statement, compiled once. With the indexes
#: of migration 0004 it is a scan of one technicians index and one look-up per candidate in
#: the partial index of open jobs, which SQLite uses only when the statuses are written out.
_MATCH = (
    select(
        _technicians.c.id,
        select(func.count())
        .where(_orders.c.technician_id == _technicians.c.id)
        .where(_orders.c.status.in_([literal_column(f"'{status}'") for status in _OPEN_JOBS]))
        .scalar_subquery()
        .label("open_jobs"),
    )
    .where(_technicians.c.status == "approved")
    .where(_technicians.c.active.is_(True))
    .where(_technicians.c.available.is_(True))
    .where(_listed_in(_technicians.c.services, "service"))
    .where(
        _listed_in(_technicians.c.areas, "area")
        | (
            _contains(_technicians.c.areas, literal("all"))
            & _contains(_as_list(_technicians.c.areas), literal(",all,"))
        )
    )
)


@functools.cache
def _late_statement(base: bool, rated: bool) -> Select[Any]:
    """What :func:`_read_late` reads, with the base and the rating or not; built once."""
    return select(
        _technicians.c.id,
        _LAST_OFFERED,
        *((_technicians.c.base_latitude, _technicians.c.base_longitude) if base else ()),
        *((average_rating().label("rating"),) if rated else ()),
    ).where(_technicians.c.id.in_(bindparam("ids", expanding=True)))


@functools.cache
def _match_excluding() -> Select[Any]:
    """:data:`_MATCH` without the technicians of parameter ``exclude``; built once."""
    return _MATCH.where(_technicians.c.id.not_in(bindparam("exclude", expanding=True)))


@functools.cache
def _whole_statement() -> Select[Any]:
    """One technician in full, with their last offer and average rating; built once."""
    return (
        _technicians.select()
        .add_columns(_LAST_OFFERED, average_rating().label("rating"))
        .where(_technicians.c.id == bindparam("id"))
    )


def _aware(value: datetime | str | None) -> datetime | None:
    # An aggregate loses the column type on SQLite, so the time may come back as text.
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

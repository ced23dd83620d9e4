"""/deleteme leaves nothing of the person in any table or column, and the check can tell.

The scenario (``tests/privacy/scenario.py``) books three times through the real bot, with
technicians who decline, accept and stay silent, leaves a fourth booking half-way, then
erases. The checker (``tests/privacy/checker.py``) reads every value of every table of the
file, decrypting whatever opens under any purpose. Before erasure it must find the person in
every place they are kept, and only encrypted; after erasure, nowhere. The meta-tests add a
personal column (or table) that erasure does not know and show the same check fails.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text, update

from service.config import Settings
from storage.crypto import Keyring
from storage.database import sqlite_path
from storage.models import OfferStatus, Order, OrderStatus
from tests.conftest import Bot
from tests.privacy import scenario
from tests.privacy.checker import (
    DECRYPTED,
    INTEGER,
    OPAQUE,
    PLAIN,
    RAW,
    Finding,
    find_personal_data,
    schema,
)

pytestmark = pytest.mark.sqlite_only("reads every table through sqlite3 on the database file")

#: Where the person must be found before erasure (table, column) and how.
EXPECTED_BEFORE = {
    ("customers", "external_id"): INTEGER,  # the Telegram id, kept as text
    ("customers", "name"): DECRYPTED,
    ("customers", "phone"): DECRYPTED,
    ("customers", "phone_index"): RAW,
    ("customers", "address"): DECRYPTED,  # the pin was replaced by the last typed address
    ("orders", "name"): DECRYPTED,
    ("orders", "phone"): DECRYPTED,
    ("orders", "address"): DECRYPTED,
    ("orders", "latitude"): DECRYPTED,
    ("orders", "longitude"): DECRYPTED,
    ("orders", "problem"): DECRYPTED,
    ("orders", "area_other"): DECRYPTED,
    ("conversation_sessions", "person_id"): INTEGER,  # the Telegram id, as text
    ("conversation_sessions", "data"): DECRYPTED,
}


def database(settings: Settings) -> str:
    path = sqlite_path(settings.database_url)
    assert path is not None
    return path


@contextmanager
def connect(settings: Settings) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(database(settings), isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


def scan(settings: Settings, keyring: Keyring) -> list[Finding]:
    return find_personal_data(database(settings), keyring, scenario.personal_values(keyring))


def places(findings: list[Finding]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for finding in findings:
        found.setdefault((finding.table, finding.column), set()).add(finding.kind)
    return found


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, allowing the scenario's four orders under way at once."""
    return settings.model_copy(update={"max_open_orders": 4})


async def test_deleteme_leaves_nothing_personal_in_any_table_or_column(
    bot: Bot, settings: Settings, _keyring: Keyring
) -> None:
    life = await scenario.live(bot)
    await scenario.leave_unfinished(bot)
    # The first order's technician is on the way (no button sets it yet: as one would).
    async with bot.runtime.engine.begin() as conn:
        await conn.execute(
            update(Order)
            .where(Order.reference == life.references[0])
            .values(status=OrderStatus.ON_THE_WAY)
        )

    before = scan(settings, _keyring)
    found = places(before)
    for place, kind in EXPECTED_BEFORE.items():
        assert kind in found.get(place, set()), f"not found in {place}: {sorted(found)}"
    # Kept, but never in clear: every text is found only by decrypting it.
    assert [str(f) for f in before if f.kind in (PLAIN, OPAQUE)] == []
    needles_seen = {f.needle for f in before}
    for value in (scenario.NAME, scenario.PHONE_E164, scenario.ADDRESS, scenario.AREA_OTHER):
        assert value.casefold() in needles_seen, value
    for value in (scenario.PROBLEM, scenario.PROBLEM_2, scenario.PROBLEM_3, str(scenario.PIN[0])):
        assert value.casefold() in needles_seen, value

    await scenario.delete_me(bot)

    with connect(settings) as connection:
        tables = schema(connection)
    # The scan covered the whole file: Alembic's and our own bookkeeping tables included.
    assert {"alembic_version", "meta", "customers", "orders", "job_offers"} <= set(tables)
    assert [str(finding) for finding in scan(settings, _keyring)] == []

    async with bot.runtime.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT reference, status FROM orders"))).all()
        statuses = {reference: status for reference, status in rows}
        offers = sorted(
            (await conn.execute(text("SELECT status FROM job_offers"))).scalars().all()
        )
    # Every order was under way: all cancelled (the one on the way included); the offer
    # nobody answered has lapsed, the answered ones say what happened.
    assert statuses == dict.fromkeys(life.references, str(OrderStatus.CANCELLED))
    assert offers.count(OfferStatus.EXPIRED) == 1
    assert offers.count(OfferStatus.ACCEPTED) == 2
    assert OfferStatus.PENDING not in offers


# ------------------------------------------------------------------ the check can fail


@pytest.mark.parametrize(
    ("purpose", "kind"),
    [
        ("orders.nickname", DECRYPTED),  # encrypted as a new EncryptedText column would be
        ("customers.name", DECRYPTED),  # under another column's purpose: all are tried
        ("orders.nickname.v2", OPAQUE),  # under a purpose nobody knows: cannot be cleared
        (None, PLAIN),  # not encrypted at all
    ],
)
async def test_a_personal_column_erasure_forgets_is_found(
    bot: Bot, settings: Settings, _keyring: Keyring, purpose: str | None, kind: str
) -> None:
    life = await scenario.live(bot)
    # A migration adds a personal column to orders; erasure was not told about it.
    with connect(settings) as connection:
        connection.execute("ALTER TABLE orders ADD COLUMN nickname BLOB")
        value = (
            scenario.NAME.encode()
            if purpose is None
            else _keyring.encrypt(scenario.NAME.encode(), purpose)
        )
        connection.execute(
            "UPDATE orders SET nickname = ? WHERE reference IN (?, ?, ?)",
            (value, *life.references),
        )

    await scenario.delete_me(bot)

    findings = scan(settings, _keyring)
    assert findings, "the forgotten column was not found"
    assert {(f.table, f.column, f.kind) for f in findings} == {("orders", "nickname", kind)}
    assert {f.row for f in findings} == {0, 1, 2}  # all three orders


async def test_a_personal_table_erasure_forgets_is_found(
    bot: Bot, settings: Settings, _keyring: Keyring
) -> None:
    await scenario.live(bot)
    # A new table (say, ratings) keeps who rated (as a number, and as a channel's id is kept:
    # text), what they wrote and a phone digest.
    with connect(settings) as connection:
        connection.execute(
            "CREATE TABLE ratings (id INTEGER PRIMARY KEY, telegram_id INTEGER,"
            " person_id TEXT, comment BLOB, phone_digest BLOB)"
        )
        connection.execute(
            "INSERT INTO ratings (telegram_id, person_id, comment, phone_digest)"
            " VALUES (?, ?, ?, ?)",
            (
                scenario.CUSTOMER,
                str(scenario.CUSTOMER),
                _keyring.encrypt(scenario.PROBLEM.encode(), "ratings.comment"),
                _keyring.blind_index(scenario.PHONE_E164),
            ),
        )

    await scenario.delete_me(bot)

    found = places(scan(settings, _keyring))
    assert found == {
        ("ratings", "telegram_id"): {INTEGER},
        ("ratings", "person_id"): {INTEGER},
        ("ratings", "comment"): {DECRYPTED},
        ("ratings", "phone_digest"): {RAW},
    }

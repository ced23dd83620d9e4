"""Find a person's values anywhere in a SQLite database: plain, encrypted, or as a number.

The checker knows nothing of the schema: it lists every table of the file (``sqlite_master``,
so ``alembic_version``, ``meta`` and tables added later are included) and every column of each
(``PRAGMA table_info``), reads every value and looks for the person in it:

- integers equal to one of the person's numbers (a Telegram id in any integer column), and
  texts that are exactly one of those numbers (the same id kept as a channel's external id,
  a person id or a chat id, which are strings);
- text, numbers and bytes containing one of their values (case-insensitively, as UTF-8 or
  UTF-16), or one of their raw byte strings (the phone's blind index under every key);
- bytes that decrypt with the keyring under any purpose (every ``<table>.<column>`` of the file
  and of the models, so a column encrypted under another column's name is still opened):
  the plaintext is searched the same way;
- bytes framed as our encrypted values, under a key of the ring, that open under no purpose
  at all: reported as opaque, since nobody can say they are not personal.

A finding names the table, column and row, and how the value was found. The privacy tests
assert that a booking leaves findings (so the checker can see) and that ``/deleteme`` leaves
none; ``test_completeness.py`` proves it also flags a personal column erasure forgets.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import SQLModel

from storage.crypto import Keyring, WrongKeyError, _Encrypted

#: Kinds of finding.
PLAIN = "plain"
DECRYPTED = "decrypted"
INTEGER = "integer"
RAW = "raw bytes"
OPAQUE = "opaque"


@dataclass(frozen=True)
class PersonalValues:
    """What identifies one person: texts in every written form, numbers and raw byte strings."""

    texts: tuple[str, ...]
    integers: tuple[int, ...] = ()
    blobs: tuple[bytes, ...] = ()
    #: Every text needle, casefolded once; numbers are searched as text too.
    _folded: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        folded = {text.casefold() for text in self.texts if text}
        folded.update(str(number) for number in self.integers)
        object.__setattr__(self, "_folded", tuple(sorted(folded)))

    @property
    def numbers(self) -> frozenset[str]:
        """The person's numbers as text (how an id column of type text holds them)."""
        return frozenset(str(number) for number in self.integers)

    def in_text(self, text: str) -> list[str]:
        """Return the needles ``text`` contains."""
        folded = text.casefold()
        return [needle for needle in self._folded if needle in folded]

    def in_bytes(self, blob: bytes) -> list[str]:
        """Return the text needles ``blob`` contains, as UTF-8 or UTF-16."""
        found = []
        lowered = blob.lower()
        for needle in self._folded:
            for encoded in (needle.encode(), needle.encode("utf-16-le")):
                if encoded in blob or encoded in lowered:
                    found.append(needle)
                    break
        return found

    def raw_in(self, blob: bytes) -> list[str]:
        """Return the raw byte needles (such as a blind index) ``blob`` contains, as hex."""
        return [raw.hex() for raw in self.blobs if raw in blob]


@dataclass(frozen=True)
class Finding:
    """One place where the person was found."""

    table: str
    column: str
    row: int
    kind: str
    needle: str
    purpose: str | None = None

    def __str__(self) -> str:
        via = f" under {self.purpose}" if self.purpose else ""
        return f"{self.table}.{self.column} row {self.row}: {self.kind}{via}: {self.needle!r}"


def model_purposes() -> set[str]:
    """Return the purpose of every encrypted column of the models."""
    return {
        column.type.purpose
        for table in SQLModel.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, _Encrypted)
    }


def schema(connection: sqlite3.Connection) -> dict[str, list[str]]:
    """Return every table of the database (SQLite's own included) and its columns."""
    tables = [
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
    ]
    return {
        table: [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
        for table in tables
    }


def _plaintext(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    # JSON may escape non-ASCII (\u09e6...): search its decoded form as well.
    return text + "\n" + json.dumps(parsed, ensure_ascii=False)


def _framed(blob: bytes, keyring: Keyring) -> bool:
    """Tell whether ``blob`` looks like our encrypted value under a key of ``keyring``."""
    if len(blob) < 2 or blob[0] != 1 or len(blob) < 2 + blob[1]:
        return False
    return keyring.holds(Keyring.key_id_of(blob))


def scan_value(
    value: object, keyring: Keyring, personal: PersonalValues, purposes: Iterable[str]
) -> Iterator[tuple[str, str, str | None]]:
    """Yield (kind, needle, purpose) for every way ``value`` holds the person."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if value in personal.integers:
            yield INTEGER, str(value), None
            return
        for needle in personal.in_text(str(value)):
            yield PLAIN, needle, None
        return
    if isinstance(value, str) and value in personal.numbers:
        # An id column kept as text (``external_id``, ``person_id``, ``chat_id``): the whole
        # value is the person's number, as an integer column would hold it.
        yield INTEGER, value, None
        return
    if isinstance(value, float | str):
        for needle in personal.in_text(str(value)):
            yield PLAIN, needle, None
        return
    if not isinstance(value, bytes | bytearray | memoryview):
        for needle in personal.in_text(repr(value)):
            yield PLAIN, needle, None
        return
    blob = bytes(value)
    for needle in personal.in_bytes(blob):
        yield PLAIN, needle, None
    for needle in personal.raw_in(blob):
        yield RAW, needle, None
    opened = False
    for purpose in purposes:
        try:
            plain = keyring.decrypt(blob, purpose)
        except (WrongKeyError, ValueError, IndexError):
            continue
        opened = True
        for needle in [*personal.in_text(_plaintext(plain)), *personal.raw_in(plain)]:
            yield DECRYPTED, needle, purpose
    if not opened and _framed(blob, keyring):
        yield OPAQUE, f"{len(blob)} encrypted bytes under no known purpose", None


def find_personal_data(
    database: str | Path | sqlite3.Connection,
    keyring: Keyring,
    personal: PersonalValues,
    *,
    extra_purposes: Iterable[str] = (),
) -> list[Finding]:
    """Return every place the database holds ``personal``, looking at every table and column."""
    connection = (
        database if isinstance(database, sqlite3.Connection) else sqlite3.connect(database)
    )
    try:
        tables = schema(connection)
        purposes = sorted(
            {f"{table}.{column}" for table, columns in tables.items() for column in columns}
            | model_purposes()
            | {"meta.key_check"}
            | set(extra_purposes)
        )
        findings: list[Finding] = []
        for table, columns in tables.items():
            quoted = ", ".join(f'"{column}"' for column in columns)
            for number, row in enumerate(connection.execute(f'SELECT {quoted} FROM "{table}"')):
                for column, value in zip(columns, row, strict=True):
                    for kind, needle, purpose in scan_value(value, keyring, personal, purposes):
                        findings.append(Finding(table, column, number, kind, needle, purpose))
        return findings
    finally:
        if not isinstance(database, sqlite3.Connection):
            connection.close()


def recover_with_key(
    data: bytes, keyring: Keyring, plaintexts: Iterable[str], purposes: Iterable[str]
) -> list[str]:
    """Return which of ``plaintexts`` can be decrypted from encrypted values lying in ``data``.

    For raw file bytes (a database page, a WAL frame) where values have no boundaries: every
    place a value under a key of the ring starts is tried with the exact length each
    plaintext would have, under every purpose. Erased data that is still recoverable with the
    key shows up here even though it never appears in clear.
    """
    wanted = {text.encode() for text in plaintexts}
    purposes = sorted(set(purposes))
    prefixes = {
        bytes((1, len(key.key_id))) + key.key_id.encode(): key.key_id for key in keyring.keys
    }
    overhead = 12 + 16  # nonce and tag
    found: set[str] = set()
    for prefix in prefixes:
        start = 0
        while (at := data.find(prefix, start)) != -1:
            start = at + 1
            for plain in wanted:
                candidate = data[at : at + len(prefix) + overhead + len(plain)]
                for purpose in purposes:
                    try:
                        opened = keyring.decrypt(candidate, purpose)
                    except (WrongKeyError, ValueError):
                        continue
                    if opened == plain:
                        found.add(plain.decode())
    return sorted(found)

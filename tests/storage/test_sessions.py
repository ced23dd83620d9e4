"""The session store: durable on return, shared commits under load, cache bounded."""

import asyncio
from pathlib import Path

from channels.telegram.inbound import address
from conversations.session import Session
from storage import migrate
from storage.database import Database
from storage.sessions import SessionStore


async def open_store(path: Path, cache_size: int = 10_000) -> tuple[SessionStore, Database]:
    db = Database.open(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(db.engine)
    store = SessionStore(db, cache_size=cache_size)
    await store.start()
    return store, db


async def test_saved_session_is_read_back_by_a_new_store(tmp_path: Path) -> None:
    store, db = await open_store(tmp_path / "s.db")
    await store.save(Session(address(7), "en", "booking", "phone", {"address": "House 1, Road 2"}))
    await store.close()
    await db.close()

    again, db = await open_store(tmp_path / "s.db")
    session = await again.load(address(7))
    assert (session.lang, session.flow, session.step) == ("en", "booking", "phone")
    assert session.data == {"address": "House 1, Road 2"}
    await again.close()
    await db.close()


async def test_concurrent_saves_share_transactions_where_commits_are_dear() -> None:
    # Any database reached through the engine (PostgreSQL; here SQLite in memory through
    # aiosqlite's thread): saves that arrive while a commit is in flight share the next one.
    db = Database.open("sqlite+aiosqlite://")
    await migrate.upgrade(db.engine)
    store = SessionStore(db)
    await store.start()
    await asyncio.gather(
        *(store.save(Session(address(user), "bn", "booking", "service")) for user in range(500))
    )
    assert store.rows_written == 500
    assert store.commits < 100  # grouped: far fewer commits than rows
    await store.close()
    await db.close()


async def test_on_a_sqlite_file_each_save_commits_on_the_spot(tmp_path: Path) -> None:
    # There a commit (on the loop, ≈20 µs) is cheaper than the hand-off to the writer task.
    store, db = await open_store(tmp_path / "s.db")
    await asyncio.gather(
        *(store.save(Session(address(user), "bn", "booking", "service")) for user in range(50))
    )
    assert (store.rows_written, store.commits) == (50, 50)
    # Committed when save returned: another connection sees every row at once.
    import sqlite3

    with sqlite3.connect(tmp_path / "s.db") as other:
        assert other.execute("SELECT count(*) FROM conversation_sessions").fetchone() == (50,)
    await store.close()
    await db.close()


async def test_unknown_user_gets_a_fresh_idle_session(tmp_path: Path) -> None:
    store, db = await open_store(tmp_path / "s.db")
    session = await store.load(address(99))
    assert session.flow == "idle" and session.data == {}
    await store.close()
    await db.close()


async def test_loaded_session_is_a_copy(tmp_path: Path) -> None:
    store, db = await open_store(tmp_path / "s.db")
    await store.save(Session(address(5), "bn", "booking", "name", {"a": 1}))
    loaded = await store.load(address(5))
    loaded.data["a"] = 2
    assert (await store.load(address(5))).data == {"a": 1}
    await store.close()
    await db.close()


async def test_cache_is_bounded_and_evicted_sessions_come_from_disk(tmp_path: Path) -> None:
    store, db = await open_store(tmp_path / "s.db", cache_size=10)
    for user in range(50):
        await store.save(Session(address(user), "en", "booking", "time", {"n": user}))
    assert len(store._cache) == 10
    assert (await store.load(address(3))).data == {"n": 3}
    await store.close()
    await db.close()


async def test_personal_answers_are_not_in_the_database_file_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store, db = await open_store(path)
    await store.save(Session(address(5), "bn", "booking", "name", {"address": "Zxqv Lane 42"}))
    await store.close()
    await db.close()
    raw = b"".join(p.read_bytes() for p in sorted(tmp_path.iterdir()) if p.name.startswith("s.db"))
    assert b"Zxqv Lane" not in raw


async def test_the_direct_path_stores_times_as_the_engine_does(tmp_path: Path) -> None:
    import sqlite3

    from sqlalchemy import select

    from storage.models import ConversationSession

    store, db = await open_store(tmp_path / "s.db")
    await store.save(Session(address(5), "en", "booking", "phone"))
    with sqlite3.connect(tmp_path / "s.db") as raw:
        (stored,) = raw.execute("SELECT updated_at FROM conversation_sessions").fetchone()
    assert "+" not in stored and "T" not in stored  # SQLAlchemy's SQLite text, not isoformat()
    async with db.read() as tx:
        sessions = ConversationSession.__table__  # type: ignore[attr-defined]
        read = (await tx.execute(select(sessions.c.updated_at))).scalar_one()
    assert read.year >= 2026
    await store.close()
    await db.close()

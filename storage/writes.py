"""Small write transactions, on the cheapest path the database offers.

A SQLite file gets a :class:`storage.direct_sqlite.DirectWriter` (a connection of its own,
no SQLAlchemy transaction around the statements); any other database runs the same writes in
an ordinary transaction of the engine.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from storage import prepared
from storage.direct_sqlite import DirectWriter
from storage.engine import begin, sqlite_path


class Writes:
    """Runs :data:`storage.prepared.Write` lists, each list in one transaction."""

    def __init__(self, engine: AsyncEngine, *, direct: bool = True) -> None:
        """Use a dedicated connection when ``engine`` is a SQLite file, unless not ``direct``."""
        self._engine = engine
        path = sqlite_path(engine.url.render_as_string(hide_password=False))
        self._direct = DirectWriter(path, engine.dialect) if path and direct else None

    async def __call__(self, writes: Sequence[prepared.Write]) -> list[int]:
        """Run ``writes`` in one transaction; return how many rows each changed."""
        if self._direct is not None:
            return await self._direct.write(writes)
        async with begin(self._engine) as conn:
            return await prepared.run_all(conn, writes)

    def close(self) -> None:
        """Close the dedicated connection, if there is one."""
        if self._direct is not None:
            self._direct.close()
            self._direct = None

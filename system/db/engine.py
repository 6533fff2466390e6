"""The async SQLAlchemy engine for SQLite (embedded default) or PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(database_url: str) -> URL:
    """Turn a plain `sqlite:///` or `postgresql://` URL into its async-driver form."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database: {backend!r} (use sqlite or postgresql)")
    return url.set(drivername=_ASYNC_DRIVERS[backend])


def is_sqlite(database_url: str | URL) -> bool:
    return make_url(str(database_url)).get_backend_name() == "sqlite"


def _prepare_sqlite_file(url: URL) -> None:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the driver, so that `_begin` decides how each begins.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


WRITE_OPTION = "rsolv_write"


def _begin(connection: Any) -> None:
    """Writers begin IMMEDIATE (they take the write lock up front, so they never fail on a
    lock upgrade); readers begin DEFERRED and, under WAL, never wait for anyone."""
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class SQLiteEngine(AsyncEngine):
    """SQLite allows one writer at a time. Writers of this process queue on an asyncio lock,
    in order, instead of spinning in SQLite's busy handler (which is unfair: under load some
    waited out the busy timeout); other processes still meet the busy timeout.

    `begin()` is a write transaction; `connect()` gives reads (a read connection that then
    writes still works, taking the write lock when it first writes)."""

    def __init__(self, sync_engine: Any) -> None:
        super().__init__(sync_engine)
        self._writer = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self._writer, self.connect() as connection:
            await connection.execution_options(**{WRITE_OPTION: True})
            async with connection.begin():
                yield connection


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """Create the engine; SQLite gets WAL, one writer at a time, and a busy timeout."""
    url = async_url(database_url)
    if is_sqlite(url):
        _prepare_sqlite_file(url)
        engine = SQLiteEngine(create_async_engine(url, **kwargs).sync_engine)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _begin)
        return engine
    kwargs.setdefault("pool_size", 40)
    kwargs.setdefault("max_overflow", 10)
    # No ping at each checkout (a round trip, a third of a signup's database time); a
    # connection that died is invalidated on its first error, and none lives past 5 min.
    kwargs.setdefault("pool_recycle", 300)
    # A database that does not answer is a 503 in seconds, not a hang: connecting, waiting
    # for a pooled connection and each statement are bounded.
    kwargs.setdefault("pool_timeout", 5)
    kwargs.setdefault("connect_args", {"timeout": 5, "command_timeout": 30})
    return create_async_engine(url, **kwargs)

"""Inserting rows into several tables at once, atomically, in as few round trips as the
database allows: on PostgreSQL one statement, elsewhere one INSERT each in a transaction."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
from sqlalchemy import Select, Table, bindparam, literal_column, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Rows = Sequence[tuple[Table, Mapping[str, Any]]]
Shape = tuple[tuple[Table, tuple[str, ...]], ...]


@functools.cache
def _one_statement(shape: Shape) -> Select[Any]:
    """`SELECT 1` carrying each INSERT as a data-modifying CTE: PostgreSQL runs them all
    in one statement and checks foreign keys at its end, when every row exists."""
    inserts = [
        table.insert()
        .values({column: bindparam(f"r{n}_{column}") for column in columns})
        .cte(f"insert_{n}")
        for n, (table, columns) in enumerate(shape)
    ]
    return select(literal_column("1")).add_cte(*inserts)


@dataclass(frozen=True)
class _DriverStatement:
    """A statement compiled once for the driver: its SQL, the order of its parameters
    and the columns' own conversions of them (UtcDateTime's checks, for one)."""

    sql: str
    names: tuple[str, ...]
    processors: Mapping[str, Callable[[Any], Any]]

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        processors = self.processors
        return tuple(
            processors[name](params[name]) if name in processors else params[name]
            for name in self.names
        )


def _for_driver(statement: ClauseElement, dialect: Dialect) -> _DriverStatement:
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    return _DriverStatement(
        compiled.string,
        tuple(compiled.positiontup or ()),
        {  # private, but the only place SQLAlchemy keeps them (a Sequence: tuple types)
            name: processor
            for name, processor in compiled._bind_processors.items()
            if callable(processor)
        },
    )


@functools.cache
def _one_driver_statement(shape: Shape, dialect: Dialect) -> _DriverStatement:
    return _for_driver(_one_statement(shape), dialect)


@functools.cache
def _driver_insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _DriverStatement:
    insert = table.insert().values({column: bindparam(column) for column in columns})
    return _for_driver(insert, dialect)


def _arguments(statement: _DriverStatement, params: Mapping[str, Any]) -> tuple[Any, ...]:
    try:
        return statement.arguments(params)
    except Exception as error:  # a column's conversion refused a value: nothing was sent
        raise StatementError(str(error), statement.sql, None, error) from error


async def insert_together(engine: AsyncEngine, rows: Rows) -> None:
    """Insert `rows` (table, values) all or none, in their order; a constraint violation
    raises IntegrityError and leaves nothing written.

    On PostgreSQL this is one statement, outside an explicit transaction (a single
    statement is atomic by itself): one round trip instead of one per row plus BEGIN and
    COMMIT, which were most of a signup's database time. On SQLite it is one INSERT per
    row in a write transaction. Either way the statements are compiled once per shape of
    rows and handed straight to the driver on a pooled connection: SQLAlchemy's execution
    path around them (parameter processing, cursors, switching to autocommit and back,
    results) was 18% of the instructions a signup costs the app on PostgreSQL, and on
    SQLite, where each step of it is a hop to aiosqlite's thread, 40% of its CPU
    (docs/BENCHMARKS.md)."""
    if engine.dialect.name == "postgresql":
        await _insert_with_asyncpg(engine, rows)
    else:
        await _insert_with_aiosqlite(engine, rows)


async def _insert_with_asyncpg(engine: AsyncEngine, rows: Rows) -> None:
    shape = tuple((table, tuple(values)) for table, values in rows)
    statement = _one_driver_statement(shape, engine.dialect)
    arguments = _arguments(
        statement,
        {
            f"r{n}_{column}": value
            for n, (_, values) in enumerate(rows)
            for column, value in values.items()
        },
    )
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None  # a checked-out connection always has one
        try:
            await driver.execute(statement.sql, *arguments)
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(statement.sql, None, error) from error
        except Exception as error:
            # The connection may be lost or out of step: the pool must not lend it again.
            # (A cancelled statement's connection is SQLAlchemy's to handle: its pool does
            # not lend one out mid-statement. Tested.)
            await connection.invalidate()
            raise DBAPIError(statement.sql, None, error, connection_invalidated=True) from error


async def _insert_with_aiosqlite(engine: AsyncEngine, rows: Rows) -> None:
    statements = [_driver_insert(table, tuple(values), engine.dialect) for table, values in rows]
    arguments = [
        _arguments(statement, values)
        for statement, (_, values) in zip(statements, rows, strict=True)
    ]
    # A write transaction (SQLiteEngine: its writer lock, BEGIN IMMEDIATE); an error
    # rolls it back.
    async with engine.begin() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None  # a checked-out connection always has one
        for statement, values in zip(statements, arguments, strict=True):
            try:
                await driver.execute(statement.sql, values)
            except sqlite3.IntegrityError as error:
                raise IntegrityError(statement.sql, None, error) from error
            except sqlite3.Error as error:
                raise DBAPIError(statement.sql, None, error) from error

"""Inserting rows into several tables at once, atomically, in as few round trips as the
database allows: on PostgreSQL one statement, elsewhere one INSERT each in a transaction."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, Table, bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

Rows = Sequence[tuple[Table, Mapping[str, Any]]]


@functools.cache
def _one_statement(shape: tuple[tuple[Table, tuple[str, ...]], ...]) -> Select[Any]:
    """`SELECT 1` carrying each INSERT as a data-modifying CTE: PostgreSQL runs them all
    in one statement and checks foreign keys at its end, when every row exists."""
    inserts = [
        table.insert()
        .values({column: bindparam(f"r{n}_{column}") for column in columns})
        .cte(f"insert_{n}")
        for n, (table, columns) in enumerate(shape)
    ]
    return select(literal(1)).add_cte(*inserts)


async def insert_together(engine: AsyncEngine, rows: Rows) -> None:
    """Insert `rows` (table, values) all or none, in their order; a constraint violation
    raises IntegrityError and leaves nothing written.

    On PostgreSQL this is one statement, outside an explicit transaction (a single
    statement is atomic by itself): one round trip instead of one per row plus BEGIN and
    COMMIT, which were most of a signup's database time. Each shape of rows is compiled
    once."""
    if engine.dialect.name == "postgresql":
        shape = tuple((table, tuple(values)) for table, values in rows)
        params = {
            f"r{n}_{column}": value
            for n, (_, values) in enumerate(rows)
            for column, value in values.items()
        }
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(_one_statement(shape), params)
        return
    async with engine.begin() as connection:
        for table, values in rows:
            await connection.execute(table.insert(), values)

"""Rows inserted together land all or none, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from system.db.engine import create_engine
from system.db.tables import api_keys, customers
from system.db.together import insert_together
from tests.support import SystemUnderTest

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _customer(n: int) -> dict[str, Any]:
    return {
        "id": f"cust_together_{n}",
        "email": f"together-{n}@example.com",
        "email_key": f"together-{n}@example.com",
        "name": "T",
        "created_at": NOW,
    }


def _key(n: int, customer_id: str, prefix: str) -> dict[str, Any]:
    row = {"id": f"key_together_{n}", "customer_id": customer_id, "prefix": prefix}
    return {**row, "key_hash": b"\0" * 32, "created_at": NOW}


def test_rows_referring_to_each_other_land_together(system: SystemUnderTest) -> None:
    rows = [(customers, _customer(1)), (api_keys, _key(1, "cust_together_1", "rsolv_test_a"))]
    system.call(insert_together, system.services.engine, rows)
    owner = select(api_keys.c.customer_id).where(api_keys.c.prefix == "rsolv_test_a")
    assert system.scalar(owner) == "cust_together_1"


def test_a_violation_in_a_later_row_leaves_nothing_written(system: SystemUnderTest) -> None:
    engine = system.services.engine
    system.call(
        insert_together,
        engine,
        [(customers, _customer(1)), (api_keys, _key(1, "cust_together_1", "rsolv_test_b"))],
    )
    clashing = [(customers, _customer(2)), (api_keys, _key(2, "cust_together_2", "rsolv_test_b"))]
    with pytest.raises(IntegrityError):
        system.call(insert_together, engine, clashing)
    assert system.scalar(select(func.count()).where(customers.c.id == "cust_together_2")) == 0
    # the connection went back to the pool in a usable state
    system.call(insert_together, engine, [(customers, _customer(3))])
    assert system.scalar(select(func.count()).select_from(customers)) == 2


def test_a_naive_datetime_is_refused_before_anything_is_written(system: SystemUnderTest) -> None:
    """The columns' own rules (here UtcDateTime's) apply to rows inserted together too."""
    naive = {**_customer(4), "created_at": datetime(2026, 3, 1)}
    with pytest.raises(StatementError, match="naive datetimes"):
        system.call(insert_together, system.services.engine, [(customers, naive)])
    assert system.scalar(select(func.count()).select_from(customers)) == 0


def test_a_failure_other_than_a_constraint_leaves_the_pool_usable(
    system: SystemUnderTest,
) -> None:
    """A value the database cannot take fails as SQLAlchemy's DBAPIError, not the driver's
    own error, and the next insert still works."""
    wrong_type = {**_customer(5), "name": {"not": "text"}}
    with pytest.raises(DBAPIError):
        system.call(insert_together, system.services.engine, [(customers, wrong_type)])
    system.call(insert_together, system.services.engine, [(customers, _customer(6))])
    assert system.scalar(select(func.count()).select_from(customers)) == 1


def test_an_insert_cancelled_while_it_waits_leaves_the_pool_usable(
    system: SystemUnderTest,
) -> None:
    """A signup whose request is cancelled while its insert waits (here on another
    transaction's row with the same address) gives back no connection mid-statement: the
    next inserts work. (Whether a cancelled statement still lands is the database's race;
    here the row it waits on is committed, so it cannot.)"""
    same_address = {**_customer(8), "email_key": _customer(7)["email_key"]}

    async def cancelled_while_waiting() -> None:
        # Two connections, so that the inserts after it get the cancelled one back.
        engine = create_engine(system.services.settings.database_url, pool_size=2, max_overflow=0)
        try:
            await cancel_one_then_insert_twice(engine)
        finally:
            await engine.dispose()

    async def cancel_one_then_insert_twice(engine: AsyncEngine) -> None:
        async with engine.begin() as holder:
            await holder.execute(customers.insert().values(_customer(7)))
            waiting = asyncio.create_task(insert_together(engine, [(customers, same_address)]))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        for n in (9, 10):
            await insert_together(engine, [(customers, _customer(n))])

    system.call(cancelled_while_waiting)
    assert system.scalar(select(func.count()).select_from(customers)) == 3


def test_rows_are_stored_as_sqlalchemy_would_have_stored_them(system: SystemUnderTest) -> None:
    """The driver gets each value as the column's type would have sent it (on SQLite a
    datetime is text in SQLAlchemy's format, not sqlite3's), and column defaults apply."""
    engine = system.services.engine
    stamp = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
    ours, theirs = ({**_customer(n), "created_at": stamp} for n in (11, 12))
    stored = (
        "SELECT created_at, name, plan, status, credit_balance FROM customers"
        f" WHERE id IN ('{ours['id']}', '{theirs['id']}') ORDER BY id"
    )

    async def both_ways() -> list[tuple[Any, ...]]:
        await insert_together(engine, [(customers, ours)])
        async with engine.begin() as connection:
            await connection.execute(customers.insert(), theirs)
        async with engine.connect() as connection:  # the values as the database keeps them
            return [tuple(row) for row in await connection.exec_driver_sql(stored)]

    mine, sqlalchemys = system.call(both_ways)
    assert mine == sqlalchemys

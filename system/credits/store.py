"""Storing ledger entries: each in one statement pair that keeps the running balance exact."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from system.credits.ledger import Entry, InsufficientCredit
from system.db.tables import credit_ledger, customers

# Built once (the hot path of every fix and grant): see system/provisioning/store.py.
_INSERT_ENTRY = credit_ledger.insert()
_MOVE_BALANCE = (
    update(customers)
    .where(customers.c.id == bindparam("customer_id"))
    .where(customers.c.credit_balance + bindparam("amount") >= 0)
    .values(credit_balance=customers.c.credit_balance + bindparam("amount"))
    .returning(customers.c.credit_balance)
)


async def post(connection: AsyncConnection, customer_id: str, entry: Entry, now: datetime) -> int:
    """Append `entry` for the customer within the caller's transaction; return the balance.

    The balance moves by a conditional update (`balance + amount >= 0`), so concurrent posts
    can never overdraw, on PostgreSQL and SQLite alike. A repeated (customer, reference)
    violates the ledger's unique constraint and rolls the caller's transaction back.
    """
    result = await connection.execute(
        _MOVE_BALANCE, {"customer_id": customer_id, "amount": entry.amount}
    )
    balance = result.scalar_one_or_none()
    if balance is None:
        current = await balance_of(connection, customer_id)
        raise InsufficientCredit(current, entry.amount)
    await connection.execute(_INSERT_ENTRY, entry_row(customer_id, entry, int(balance), now))
    return int(balance)


def entry_row(
    customer_id: str, entry: Entry, balance_after: int, now: datetime
) -> dict[str, object]:
    """The ledger row of `entry`: `post` writes it after moving the balance; signup writes
    the opening grant's with its other rows, the balance set on the new customer."""
    return {
        "customer_id": customer_id,
        "amount": entry.amount,
        "kind": entry.kind,
        "reference": entry.reference,
        "balance_after": balance_after,
        "created_at": now,
    }


async def balance_of(connection: AsyncConnection, customer_id: str) -> int:
    result = await connection.execute(
        select(customers.c.credit_balance).where(customers.c.id == customer_id)
    )
    return int(result.scalar_one())


async def entries(
    connection: AsyncConnection, customer_id: str, *, limit: int = 50, before_id: int | None = None
) -> list[dict[str, object]]:
    query = (
        select(credit_ledger)
        .where(credit_ledger.c.customer_id == customer_id)
        .order_by(credit_ledger.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(credit_ledger.c.id < before_id)
    rows = (await connection.execute(query)).mappings().all()
    return [dict(row) for row in rows]


async def post_once(
    connection: AsyncConnection, customer_id: str, entry: Entry, now: datetime
) -> int | None:
    """`post`, unless the (customer, reference) entry exists: then nothing, and None.

    For causes that may be seen twice (a webhook and the API answer it follows)."""
    exists = await connection.execute(
        select(credit_ledger.c.id).where(
            credit_ledger.c.customer_id == customer_id,
            credit_ledger.c.reference == entry.reference,
        )
    )
    if exists.first() is not None:
        return None
    try:
        async with connection.begin_nested():
            return await post(connection, customer_id, entry, now)
    except IntegrityError:
        return None


async def ledger_entry(
    connection: AsyncConnection, customer_id: str, reference: str
) -> dict[str, Any] | None:
    result = await connection.execute(
        select(credit_ledger).where(
            credit_ledger.c.customer_id == customer_id, credit_ledger.c.reference == reference
        )
    )
    row = result.mappings().first()
    return dict(row) if row is not None else None


async def consumed_after(connection: AsyncConnection, customer_id: str, entry_id: int) -> int:
    """Credits consumed by fixes after the ledger entry `entry_id`."""
    result = await connection.execute(
        select(func.count())
        .select_from(credit_ledger)
        .where(
            credit_ledger.c.customer_id == customer_id,
            credit_ledger.c.id > entry_id,
            credit_ledger.c.kind == "fix_consumed",
        )
    )
    return int(result.scalar_one())

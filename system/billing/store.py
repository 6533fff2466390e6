"""Reading and writing billing state: payment methods, subscriptions, invoices, payments,
fixes and the Stripe events already applied."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from system.db.tables import (
    customers,
    fixes,
    invoices,
    payment_methods,
    payments,
    stripe_events,
    subscriptions,
)

Row = dict[str, Any]

# The statements of every fix (the hottest path), built once: see system/provisioning/store.py.
_CUSTOMER = select(customers).where(customers.c.id == bindparam("customer_id"))
_CUSTOMER_LOCKED = _CUSTOMER.with_for_update(key_share=True)
_DEFAULT_PAYMENT_METHOD = select(payment_methods).where(
    payment_methods.c.customer_id == bindparam("customer_id"),
    payment_methods.c.detached_at.is_(None),
    payment_methods.c.is_default.is_(True),
)
_FIX = select(fixes).where(
    fixes.c.customer_id == bindparam("customer_id"), fixes.c.fix_id == bindparam("fix_id")
)
_INSERT_FIX = fixes.insert()


async def _one(
    connection: AsyncConnection, query: Any, params: dict[str, Any] | None = None
) -> Row | None:
    row = (await connection.execute(query, params)).mappings().first()
    return dict(row) if row else None


async def _all(connection: AsyncConnection, query: Any) -> list[Row]:
    return [dict(row) for row in (await connection.execute(query)).mappings().all()]


async def upsert(connection: AsyncConnection, table: Any, row: Row) -> None:
    """Insert the whole row, or update it in place when its primary key exists, in one
    statement (INSERT ... ON CONFLICT), so concurrent writers of one object cannot collide."""
    key = table.primary_key.columns.values()[0].name
    if connection.dialect.name == "postgresql":
        statement: Any = postgresql_insert(table).values(**row)
    else:
        statement = sqlite_insert(table).values(**row)
    changes = {k: statement.excluded[k] for k in row if k != key}
    await connection.execute(statement.on_conflict_do_update(index_elements=[key], set_=changes))


async def update_row(connection: AsyncConnection, table: Any, row_id: str, **values: Any) -> None:
    key = table.primary_key.columns.values()[0]
    await connection.execute(update(table).where(key == row_id).values(**values))


async def customer_by_stripe_id(connection: AsyncConnection, stripe_id: str) -> Row | None:
    return await _one(
        connection, select(customers).where(customers.c.stripe_customer_id == stripe_id)
    )


async def lock_customer(connection: AsyncConnection, customer_id: str) -> Row | None:
    """The customer row, locked for this transaction on PostgreSQL (SQLite's transactions
    are already exclusive: they begin IMMEDIATE). Every transaction that changes a
    customer's billing state takes this lock first, so they queue instead of deadlocking.
    FOR NO KEY UPDATE: inserts elsewhere that merely reference the customer do not wait."""
    query = _CUSTOMER_LOCKED if connection.dialect.name == "postgresql" else _CUSTOMER
    return await _one(connection, query, {"customer_id": customer_id})


async def set_customer(connection: AsyncConnection, customer_id: str, **values: Any) -> None:
    await connection.execute(
        update(customers).where(customers.c.id == customer_id).values(**values)
    )


# -- payment methods ----------------------------------------------------------------------


async def active_payment_methods(connection: AsyncConnection, customer_id: str) -> list[Row]:
    return await _all(
        connection,
        select(payment_methods)
        .where(
            payment_methods.c.customer_id == customer_id, payment_methods.c.detached_at.is_(None)
        )
        .order_by(payment_methods.c.created_at, payment_methods.c.id),
    )


async def default_payment_method(connection: AsyncConnection, customer_id: str) -> Row | None:
    return await _one(connection, _DEFAULT_PAYMENT_METHOD, {"customer_id": customer_id})


async def make_default(connection: AsyncConnection, customer_id: str, pm_id: str | None) -> None:
    await connection.execute(
        update(payment_methods)
        .where(payment_methods.c.customer_id == customer_id)
        .values(is_default=payment_methods.c.id == pm_id if pm_id else False)
    )


async def payment_method(connection: AsyncConnection, pm_id: str) -> Row | None:
    return await _one(connection, select(payment_methods).where(payment_methods.c.id == pm_id))


# -- subscriptions and invoices -----------------------------------------------------------


async def current_subscription(connection: AsyncConnection, customer_id: str) -> Row | None:
    """The customer's latest subscription that has not ended."""
    return await _one(
        connection,
        select(subscriptions)
        .where(subscriptions.c.customer_id == customer_id, subscriptions.c.ended_at.is_(None))
        .order_by(subscriptions.c.updated_at.desc())
        .limit(1),
    )


async def subscription(connection: AsyncConnection, subscription_id: str) -> Row | None:
    return await _one(
        connection, select(subscriptions).where(subscriptions.c.id == subscription_id)
    )


async def list_invoices(connection: AsyncConnection, customer_id: str, limit: int) -> list[Row]:
    return await _all(
        connection,
        select(invoices)
        .where(invoices.c.customer_id == customer_id)
        .order_by(invoices.c.created.desc(), invoices.c.id.desc())
        .limit(limit),
    )


async def paid_subscription_invoices(
    connection: AsyncConnection, subscription_id: str
) -> list[Row]:
    return await _all(
        connection,
        select(invoices)
        .where(invoices.c.subscription_id == subscription_id, invoices.c.status == "paid")
        .order_by(invoices.c.created, invoices.c.id),
    )


# -- payments, fixes, events --------------------------------------------------------------


async def payment(connection: AsyncConnection, payment_id: str) -> Row | None:
    return await _one(connection, select(payments).where(payments.c.id == payment_id))


async def fix(connection: AsyncConnection, customer_id: str, fix_id: str) -> Row | None:
    return await _one(connection, _FIX, {"customer_id": customer_id, "fix_id": fix_id})


async def insert_fix(connection: AsyncConnection, row: Row) -> None:
    await connection.execute(_INSERT_FIX, row)


async def fixes_since(connection: AsyncConnection, customer_id: str, since: datetime) -> int:
    result = await connection.execute(
        select(func.count())
        .select_from(fixes)
        .where(fixes.c.customer_id == customer_id, fixes.c.created_at >= since)
    )
    return int(result.scalar_one())


async def record_event(
    connection: AsyncConnection, event_id: str, event_type: str, created: int, now: datetime
) -> bool:
    """Remember a Stripe event; False when it was applied before (a duplicate delivery)."""
    try:
        async with connection.begin_nested():
            await connection.execute(
                stripe_events.insert().values(
                    id=event_id, type=event_type, created=created, received_at=now
                )
            )
    except IntegrityError:
        return False
    return True

"""Reading and writing customers and API keys (the provisioning slice's I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from system.db.tables import api_keys, customers, stripe_sync_queue

CUSTOMER_FIELDS = (
    "id",
    "email",
    "name",
    "company",
    "github_org",
    "plan",
    "status",
    "credit_balance",
    "stripe_customer_id",
    "created_at",
)
# last_used_at is refreshed at most this often, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# The signup path's statements, built once: a statement made per call costs more CPU to
# construct and to key for SQLAlchemy's compiled cache than the database takes to run it.
_INSERT_CUSTOMER = customers.insert()
_INSERT_API_KEY = api_keys.insert()
_ENQUEUE_STRIPE_SYNC = stripe_sync_queue.insert()
_SET_STRIPE_CUSTOMER = (
    update(customers)
    .where(customers.c.id == bindparam("customer_id"))
    .values(stripe_customer_id=bindparam("stripe_customer_id"))
)
_DEQUEUE_STRIPE_SYNC = stripe_sync_queue.delete().where(
    stripe_sync_queue.c.customer_id == bindparam("customer_id")
)


async def insert_customer(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(_INSERT_CUSTOMER, row)


async def get_customer(connection: AsyncConnection, customer_id: str) -> dict[str, Any] | None:
    row = (
        (await connection.execute(select(customers).where(customers.c.id == customer_id)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def insert_api_key(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(_INSERT_API_KEY, row)


async def find_key(connection: AsyncConnection, prefix: str) -> dict[str, Any] | None:
    """The key with this prefix, and its customer's status as `customer_status`."""
    query = (
        select(api_keys, customers.c.status.label("customer_status"))
        .join(customers, customers.c.id == api_keys.c.customer_id)
        .where(api_keys.c.prefix == prefix)
    )
    row = (await connection.execute(query)).mappings().first()
    return dict(row) if row else None


def key_use_is_stale(key: dict[str, Any], now: datetime) -> bool:
    last = key["last_used_at"]
    return last is None or now - last >= LAST_USED_RESOLUTION


async def touch_key(connection: AsyncConnection, key: dict[str, Any], now: datetime) -> None:
    await connection.execute(
        update(api_keys).where(api_keys.c.id == key["id"]).values(last_used_at=now)
    )


async def list_keys(connection: AsyncConnection, customer_id: str) -> list[dict[str, Any]]:
    rows = (
        (
            await connection.execute(
                select(api_keys)
                .where(api_keys.c.customer_id == customer_id)
                .order_by(api_keys.c.created_at, api_keys.c.id)
            )
        )
        .mappings()
        .all()
    )
    return [dict(row) for row in rows]


async def revoke_key(
    connection: AsyncConnection, customer_id: str, key_id: str, now: datetime
) -> dict[str, Any] | None:
    """Revoke one of the customer's keys; None when the customer has no such key."""
    await connection.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            api_keys.c.customer_id == customer_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    row = (
        (
            await connection.execute(
                select(api_keys).where(
                    api_keys.c.id == key_id, api_keys.c.customer_id == customer_id
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def enqueue_stripe_sync(connection: AsyncConnection, customer_id: str, now: datetime) -> None:
    await connection.execute(
        _ENQUEUE_STRIPE_SYNC,
        {"customer_id": customer_id, "attempts": 0, "next_attempt_at": now, "created_at": now},
    )


async def get_stripe_sync(connection: AsyncConnection, customer_id: str) -> dict[str, Any] | None:
    row = (
        (
            await connection.execute(
                select(stripe_sync_queue).where(stripe_sync_queue.c.customer_id == customer_id)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def due_stripe_syncs(
    connection: AsyncConnection, now: datetime, limit: int
) -> list[dict[str, Any]]:
    rows = (
        (
            await connection.execute(
                select(stripe_sync_queue)
                .where(stripe_sync_queue.c.next_attempt_at <= now)
                .order_by(stripe_sync_queue.c.next_attempt_at)
                .limit(limit)
            )
        )
        .mappings()
        .all()
    )
    return [dict(row) for row in rows]


async def complete_stripe_sync(
    connection: AsyncConnection, customer_id: str, stripe_customer_id: str
) -> None:
    await connection.execute(
        _SET_STRIPE_CUSTOMER,
        {"customer_id": customer_id, "stripe_customer_id": stripe_customer_id},
    )
    await connection.execute(_DEQUEUE_STRIPE_SYNC, {"customer_id": customer_id})


async def postpone_stripe_sync(
    connection: AsyncConnection, customer_id: str, error: str, next_attempt_at: datetime
) -> None:
    await connection.execute(
        update(stripe_sync_queue)
        .where(stripe_sync_queue.c.customer_id == customer_id)
        .values(
            attempts=stripe_sync_queue.c.attempts + 1,
            last_error=error[:2000],
            next_attempt_at=next_attempt_at,
        )
    )

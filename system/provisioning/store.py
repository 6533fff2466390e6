"""Reading and writing customers and API keys (the provisioning slice's I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from system.db.tables import (
    api_keys,
    credit_ledger,
    customers,
    idempotent_requests,
    stripe_sync_queue,
)
from system.db.together import insert_together

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

# Hot statements, built once: a statement made per call costs more CPU to construct and
# to key for SQLAlchemy's compiled cache than the database takes to run it.
_INSERT_API_KEY = api_keys.insert()
_KEY_BY_PREFIX = (
    select(api_keys, customers.c.status.label("customer_status"))
    .join(customers, customers.c.id == api_keys.c.customer_id)
    .where(api_keys.c.prefix == bindparam("prefix"))
)
_TOUCH_KEY = (
    update(api_keys)
    .where(api_keys.c.id == bindparam("key_id"))
    .values(last_used_at=bindparam("now"))
)
_SET_STRIPE_CUSTOMER = (
    update(customers)
    .where(customers.c.id == bindparam("customer_id"))
    .values(stripe_customer_id=bindparam("stripe_customer_id"))
)
_DEQUEUE_STRIPE_SYNC = stripe_sync_queue.delete().where(
    stripe_sync_queue.c.customer_id == bindparam("customer_id")
)


async def get_customer(connection: AsyncConnection, customer_id: str) -> dict[str, Any] | None:
    row = (
        (await connection.execute(select(customers).where(customers.c.id == customer_id)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def insert_signup(
    engine: AsyncEngine,
    customer: dict[str, Any],
    key: dict[str, Any],
    grant: dict[str, Any] | None,
    remembered: dict[str, Any] | None,
    now: datetime,
) -> None:
    """A new customer's rows, all or none: the customer, its API key, its opening grant,
    its place in the Stripe queue and the remembered answer (an Idempotency-Key's). One
    statement on PostgreSQL. A duplicate address or key raises IntegrityError."""
    rows: list[tuple[Table, dict[str, Any]]] = [(customers, customer), (api_keys, key)]
    if grant:
        rows.append((credit_ledger, grant))
    queued = {
        "customer_id": customer["id"],
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    rows.append((stripe_sync_queue, queued))
    if remembered:
        rows.append((idempotent_requests, remembered))
    await insert_together(engine, rows)


async def insert_api_key(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(_INSERT_API_KEY, row)


async def find_key(connection: AsyncConnection, prefix: str) -> dict[str, Any] | None:
    """The key with this prefix, and its customer's status as `customer_status`."""
    row = (await connection.execute(_KEY_BY_PREFIX, {"prefix": prefix})).mappings().first()
    return dict(row) if row else None


def key_use_is_stale(key: dict[str, Any], now: datetime) -> bool:
    last = key["last_used_at"]
    return last is None or now - last >= LAST_USED_RESOLUTION


async def touch_key(connection: AsyncConnection, key: dict[str, Any], now: datetime) -> None:
    await connection.execute(_TOUCH_KEY, {"key_id": key["id"], "now": now})


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


_DUE_STRIPE_SYNCS = (
    select(
        stripe_sync_queue.c.customer_id,
        stripe_sync_queue.c.attempts,
        customers.c.email,
        customers.c.name,
        customers.c.company,
        customers.c.github_org,
        customers.c.stripe_customer_id,
    )
    .join(customers, customers.c.id == stripe_sync_queue.c.customer_id)
    .where(stripe_sync_queue.c.next_attempt_at <= bindparam("horizon"))
    .order_by(stripe_sync_queue.c.next_attempt_at)
    .limit(bindparam("limit"))
)


async def due_stripe_syncs(
    connection: AsyncConnection, now: datetime, limit: int
) -> list[dict[str, Any]]:
    """Queued customers due by `now`, oldest first, with what their Stripe customer needs."""
    rows = await connection.execute(_DUE_STRIPE_SYNCS, {"horizon": now, "limit": limit})
    return [dict(row) for row in rows.mappings()]


async def complete_stripe_syncs(connection: AsyncConnection, created: dict[str, str]) -> None:
    """Record each customer's Stripe customer (customer id -> Stripe id) and take it off the
    queue: two statements, each sent once for all of them."""
    await connection.execute(
        _SET_STRIPE_CUSTOMER,
        [{"customer_id": ours, "stripe_customer_id": theirs} for ours, theirs in created.items()],
    )
    await connection.execute(_DEQUEUE_STRIPE_SYNC, [{"customer_id": ours} for ours in created])


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

"""Reading and writing what the dashboard needs beyond billing's store: the email outbox,
magic links, and the figures of the overview and usage pages (the dashboard's I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from system.db.tables import (
    credit_ledger,
    customers,
    email_outbox,
    fixes,
    magic_links,
    marketplace_accounts,
)

Row = dict[str, Any]


async def customer_by_email_key(connection: AsyncConnection, email_key: str) -> Row | None:
    row = (
        (await connection.execute(select(customers).where(customers.c.email_key == email_key)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def send_email(
    connection: AsyncConnection, to: str, subject: str, body: str, now: datetime
) -> None:
    """Development delivery: the message is kept in the outbox (and logged by the caller)."""
    await connection.execute(
        email_outbox.insert().values(to_address=to, subject=subject, body=body, created_at=now)
    )


async def outbox(connection: AsyncConnection, to: str) -> list[Row]:
    rows = (
        (
            await connection.execute(
                select(email_outbox)
                .where(email_outbox.c.to_address == to)
                .order_by(email_outbox.c.id.desc())
            )
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


async def insert_magic_link(
    connection: AsyncConnection,
    token_hash: bytes,
    customer_id: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await connection.execute(
        magic_links.insert().values(
            token_hash=token_hash, customer_id=customer_id, created_at=now, expires_at=expires_at
        )
    )


async def magic_link(connection: AsyncConnection, token_hash: bytes) -> Row | None:
    row = (
        (
            await connection.execute(
                select(magic_links).where(magic_links.c.token_hash == token_hash)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def use_magic_link(connection: AsyncConnection, token_hash: bytes, now: datetime) -> bool:
    """Mark the link used; False when it was used already (by a concurrent click)."""
    result = await connection.execute(
        update(magic_links)
        .where(magic_links.c.token_hash == token_hash, magic_links.c.used_at.is_(None))
        .values(used_at=now)
    )
    return bool(result.rowcount)


async def fix_times(
    connection: AsyncConnection, customer_id: str, since: datetime
) -> list[datetime]:
    rows = await connection.execute(
        select(fixes.c.created_at).where(
            fixes.c.customer_id == customer_id, fixes.c.created_at >= since
        )
    )
    return [r.created_at for r in rows]


async def fixes_since(connection: AsyncConnection, customer_id: str, since: datetime) -> int:
    result = await connection.execute(
        select(func.count())
        .select_from(fixes)
        .where(fixes.c.customer_id == customer_id, fixes.c.created_at >= since)
    )
    return int(result.scalar_one())


async def ledger_since(
    connection: AsyncConnection, customer_id: str, since: datetime
) -> tuple[int, list[tuple[datetime, int]]]:
    """(balance before `since`, [(created_at, balance_after)] since then in order)."""
    before = await connection.execute(
        select(credit_ledger.c.balance_after)
        .where(credit_ledger.c.customer_id == customer_id, credit_ledger.c.created_at < since)
        .order_by(credit_ledger.c.id.desc())
        .limit(1)
    )
    opening = before.scalar_one_or_none() or 0
    rows = await connection.execute(
        select(credit_ledger.c.created_at, credit_ledger.c.balance_after)
        .where(credit_ledger.c.customer_id == customer_id, credit_ledger.c.created_at >= since)
        .order_by(credit_ledger.c.id)
    )
    return int(opening), [(r.created_at, int(r.balance_after)) for r in rows]


async def marketplace_account(connection: AsyncConnection, customer_id: str) -> Row | None:
    row = (
        (
            await connection.execute(
                select(marketplace_accounts).where(
                    marketplace_accounts.c.customer_id == customer_id
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None

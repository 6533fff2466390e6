"""Reading customers for staff and writing the audit log (the admin's I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from system.db.tables import admin_audit_log, customers

Row = dict[str, Any]


async def search_customers(
    connection: AsyncConnection, query: str, *, limit: int, offset: int
) -> tuple[list[Row], int]:
    """Customers whose id, address, name, company or GitHub org holds `query`, newest first;
    and how many match in all."""
    condition = None
    if query:
        pattern = f"%{query.casefold()}%"
        condition = or_(
            *(
                func.lower(column).like(pattern)
                for column in (
                    customers.c.id,
                    customers.c.email_key,
                    customers.c.name,
                    customers.c.company,
                    customers.c.github_org,
                )
            )
        )
    listing = select(customers).order_by(customers.c.created_at.desc(), customers.c.id)
    count = select(func.count()).select_from(customers)
    if condition is not None:
        listing, count = listing.where(condition), count.where(condition)
    rows = (await connection.execute(listing.limit(limit).offset(offset))).mappings().all()
    total = (await connection.execute(count)).scalar_one()
    return [dict(r) for r in rows], int(total)


async def audit(
    connection: AsyncConnection,
    *,
    actor: str,
    action: str,
    customer_id: str,
    reason: str,
    now: datetime,
    amount: int | None = None,
) -> int:
    result = await connection.execute(
        admin_audit_log.insert()
        .values(
            actor=actor,
            action=action,
            customer_id=customer_id,
            amount=amount,
            reason=reason,
            created_at=now,
        )
        .returning(admin_audit_log.c.id)
    )
    return int(result.scalar_one())


async def audit_log(connection: AsyncConnection, customer_id: str, limit: int = 50) -> list[Row]:
    rows = (
        (
            await connection.execute(
                select(admin_audit_log)
                .where(admin_audit_log.c.customer_id == customer_id)
                .order_by(admin_audit_log.c.id.desc())
                .limit(limit)
            )
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]

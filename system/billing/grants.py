"""Subscription credit grants: each paid period's grant, and its expiry when the next
period is paid or the ended subscription's last period is over."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from system.billing import store
from system.billing.catalogue import PRO
from system.billing.context import BillingContext
from system.credits import store as credits_store
from system.credits.ledger import Entry
from system.db.tables import subscriptions

ENDED_STATUSES = ("canceled", "incomplete_expired")


class CreditGrants:
    def __init__(self, context: BillingContext) -> None:
        self._context = context

    async def grant_period(
        self,
        connection: AsyncConnection,
        customer_id: str,
        sub_id: str,
        invoice_id: str,
        now: datetime,
    ) -> None:
        """Expire what is left of the previous period's grant, then grant this period's."""
        if await credits_store.ledger_entry(connection, customer_id, f"grant:{invoice_id}"):
            return
        for previous in await store.paid_subscription_invoices(connection, sub_id):
            if previous["id"] != invoice_id:
                await self._expire(connection, customer_id, f"grant:{previous['id']}", now)
        grant = Entry(PRO.credits_per_period, "period_grant", f"grant:{invoice_id}")
        await credits_store.post_once(connection, customer_id, grant, now)

    async def _expire(
        self, connection: AsyncConnection, customer_id: str, reference: str, now: datetime
    ) -> None:
        grant = await credits_store.ledger_entry(connection, customer_id, reference)
        if grant is None or await credits_store.ledger_entry(
            connection, customer_id, f"expire:{reference}"
        ):
            return
        used = await credits_store.consumed_after(connection, customer_id, grant["id"])
        balance = await credits_store.balance_of(connection, customer_id)
        unused = max(0, min(balance, grant["amount"] - used))
        expiry = Entry(-unused, "grant_expired", f"expire:{reference}")
        await credits_store.post_once(connection, customer_id, expiry, now)

    async def locked_with_expiry(
        self, connection: AsyncConnection, customer_id: str, now: datetime
    ) -> dict[str, Any]:
        """The customer, locked, after expiring the grants of an ended subscription whose
        period is over (its `grants_expire_at` has passed): no query when nothing is due."""
        customer = await store.lock_customer(connection, customer_id)
        assert customer is not None
        due = customer["grants_expire_at"]
        if due is None or due > now:
            return customer
        for sub_id in await self._ended_subscriptions(connection, customer_id, now):
            for invoice in await store.paid_subscription_invoices(connection, sub_id):
                await self._expire(connection, customer_id, f"grant:{invoice['id']}", now)
        await store.set_customer(connection, customer_id, grants_expire_at=None)
        customer = await store.lock_customer(connection, customer_id)
        assert customer is not None
        return customer

    async def expire_lapsed(self, customer_id: str) -> None:
        """A cancelled subscription's credits last until its period ends, then expire."""
        now = self._context.clock.now()
        async with self._context.engine.connect() as connection:
            customer = await store.lock_customer(connection, customer_id)
        due = customer["grants_expire_at"] if customer else None
        if due is None or due > now:
            return
        async with self._context.engine.begin() as connection:
            await self.locked_with_expiry(connection, customer_id, now)

    @staticmethod
    async def _ended_subscriptions(
        connection: AsyncConnection, customer_id: str, now: datetime
    ) -> list[str]:
        rows = (
            await connection.execute(
                select(subscriptions.c.id, subscriptions.c.current_period_end).where(
                    subscriptions.c.customer_id == customer_id,
                    subscriptions.c.status.in_(ENDED_STATUSES),
                )
            )
        ).all()
        return [r.id for r in rows if r.current_period_end is None or r.current_period_end <= now]

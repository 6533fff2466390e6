"""What a customer's billing looks like now: the summary (plan, balance, subscription,
dunning), the credit history a page at a time, and the invoices."""

from __future__ import annotations

from typing import Any

from system.billing import store
from system.billing.context import BillingContext
from system.billing.grants import CreditGrants
from system.billing.presenters import public_invoice, public_subscription
from system.credits import store as credits_store
from system.timestamps import iso


class Account:
    def __init__(self, context: BillingContext, grants: CreditGrants) -> None:
        self._context = context
        self._grants = grants

    async def subscription(self, customer_id: str) -> dict[str, Any] | None:
        async with self._context.engine.connect() as connection:
            return public_subscription(await store.current_subscription(connection, customer_id))

    async def summary(self, customer_id: str) -> dict[str, Any]:
        async with self._context.engine.connect() as connection:
            customer = await store.lock_customer(connection, customer_id)
            current = await store.current_subscription(connection, customer_id)
        assert customer is not None
        return {
            "plan": customer["plan"],
            "credit_balance": customer["credit_balance"],
            "subscription": public_subscription(current),
            "past_due_since": iso(customer["past_due_since"]),
            "credit_debt": customer["credit_debt"],
            "suspended": self._context.suspended(customer),
        }

    async def credits(self, customer_id: str, *, limit: int, before: int | None) -> dict[str, Any]:
        await self._grants.expire_lapsed(customer_id)
        async with self._context.engine.connect() as connection:
            balance = await credits_store.balance_of(connection, customer_id)
            entries = await credits_store.entries(
                connection, customer_id, limit=limit + 1, before_id=before
            )
        page = entries[:limit]
        return {
            "balance": balance,
            "entries": [
                {
                    "id": e["id"],
                    "amount": e["amount"],
                    "kind": e["kind"],
                    "reference": e["reference"],
                    "balance_after": e["balance_after"],
                    "created_at": iso(e["created_at"]),  # type: ignore[arg-type]
                }
                for e in page
            ],
            "has_more": len(entries) > limit,
            "next_before": page[-1]["id"] if len(entries) > limit else None,
        }

    async def invoices(self, customer_id: str, limit: int = 100) -> list[dict[str, Any]]:
        async with self._context.engine.connect() as connection:
            rows = await store.list_invoices(connection, customer_id, limit)
        return [public_invoice(r) for r in rows]

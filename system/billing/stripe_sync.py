"""Applying Stripe's state to ours: subscriptions, invoices, refunds and payment methods,
from the answer of each Stripe call and again from webhooks (`stripe_events`).

Both paths are idempotent, keyed by Stripe object ids, so whichever comes second finds the
work done.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from system.billing import store
from system.billing.catalogue import CURRENCY
from system.billing.context import BillingContext
from system.billing.grants import ENDED_STATUSES, CreditGrants
from system.billing.stripe_objects import (
    DUNNING_STATUSES,
    LIVE_STATUSES,
    card_row,
    id_of,
    plan_of,
    stamp,
    subscription_period,
)
from system.credits import store as credits_store
from system.credits.ledger import Entry
from system.db.tables import invoices, payment_methods, payments, subscriptions

log = logging.getLogger(__name__)

StripeObject = dict[str, Any]


class StripeSync:
    def __init__(self, context: BillingContext, grants: CreditGrants) -> None:
        self._context = context
        self._grants = grants

    async def apply_subscription(self, sub: StripeObject) -> None:
        now = self._context.clock.now()
        async with self._context.engine.begin() as connection:
            customer = await store.customer_by_stripe_id(connection, id_of(sub["customer"]) or "")
            if customer is None:
                log.info("subscription %s is not for one of our customers", sub["id"])
                return
            customer = await store.lock_customer(connection, customer["id"])
            assert customer is not None
            start, end = subscription_period(sub)
            status = sub["status"]
            await store.upsert(
                connection,
                subscriptions,
                {
                    "id": sub["id"],
                    "customer_id": customer["id"],
                    "plan": plan_of(sub),
                    "status": status,
                    "current_period_start": stamp(start),
                    "current_period_end": stamp(end),
                    "cancel_at_period_end": bool(sub.get("cancel_at_period_end")),
                    "canceled_at": stamp(sub.get("canceled_at")),
                    "ended_at": stamp(sub.get("ended_at")) if status == "canceled" else None,
                    "updated_at": now,
                },
            )
            if status in LIVE_STATUSES:
                since = customer["past_due_since"] or now if status in DUNNING_STATUSES else None
                await store.set_customer(
                    connection, customer["id"], plan=plan_of(sub), past_due_since=since
                )
            elif status in ENDED_STATUSES:
                card = await store.default_payment_method(connection, customer["id"])
                await store.set_customer(
                    connection,
                    customer["id"],
                    plan="payg" if card else "trial",
                    past_due_since=None,
                    # The period's credits stay usable until the period would have ended.
                    grants_expire_at=stamp(end) or now,
                )
        await self._grants.expire_lapsed(customer["id"])
        await self._context.changed(customer["id"], "subscription")

    async def apply_invoice(self, invoice: StripeObject) -> None:
        now = self._context.clock.now()
        sub_id = _subscription_of(invoice)
        async with self._context.engine.begin() as connection:
            customer = await store.customer_by_stripe_id(
                connection, id_of(invoice["customer"]) or ""
            )
            if customer is None:
                return
            customer = await store.lock_customer(connection, customer["id"])
            assert customer is not None
            await store.upsert(
                connection, invoices, _invoice_row(invoice, customer["id"], sub_id, now)
            )
            if sub_id and invoice["status"] == "paid":
                await self._grants.grant_period(
                    connection, customer["id"], sub_id, invoice["id"], now
                )
        await self._context.changed(customer["id"], "invoice")
        if sub_id and invoice["status"] == "paid":
            # Dunning follows the subscription's status alone: a paid invoice may be an old
            # one arriving late, so ask Stripe where the subscription stands now.
            await self.apply_subscription(await self._context.stripe.retrieve_subscription(sub_id))

    async def apply_refund(self, charge: StripeObject) -> None:
        """A refunded fix purchase takes its credit back, or records a debt if it was spent."""
        payment_id = id_of(charge.get("payment_intent"))
        if not payment_id:
            return
        now = self._context.clock.now()
        async with self._context.engine.begin() as connection:
            paid = await store.payment(connection, payment_id)
            if paid is None:
                return
            customer = await store.lock_customer(connection, paid["customer_id"])
            assert customer is not None
            await store.update_row(
                connection, payments, payment_id, amount_refunded=charge.get("amount_refunded") or 0
            )
            if not charge.get("refunded"):
                return
            reference = f"refund:{charge['id']}"
            if await credits_store.ledger_entry(connection, customer["id"], reference):
                return
            if customer["credit_balance"] >= 1:
                await credits_store.post(
                    connection, customer["id"], Entry(-1, "refund_reversal", reference), now
                )
            else:
                await credits_store.post(
                    connection, customer["id"], Entry(0, "refund_debt", reference), now
                )
                await store.set_customer(
                    connection, customer["id"], credit_debt=customer["credit_debt"] + 1
                )

    async def sync_payment_method(self, pm: StripeObject) -> None:
        """payment_method.attached/detached: keep the local list in step with Stripe."""
        now = self._context.clock.now()
        async with self._context.engine.begin() as connection:
            row = await store.payment_method(connection, pm["id"])
            stripe_customer = id_of(pm.get("customer"))
            owner = await store.customer_by_stripe_id(connection, stripe_customer or "")
            customer_id = row["customer_id"] if row else owner["id"] if owner else None
            if customer_id is None:
                return
            await store.lock_customer(connection, customer_id)
            if stripe_customer is None and row and row["detached_at"] is None:
                await store.update_row(
                    connection, payment_methods, pm["id"], detached_at=now, is_default=False
                )
            elif stripe_customer and row is None:
                await store.upsert(connection, payment_methods, card_row(pm, customer_id, now))


def _subscription_of(invoice: StripeObject) -> str | None:
    """The invoice's subscription: a top-level field in older API versions, under
    `parent.subscription_details` in newer ones."""
    return id_of(invoice.get("subscription")) or id_of(
        ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    )


def _invoice_row(
    invoice: StripeObject, customer_id: str, sub_id: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "id": invoice["id"],
        "customer_id": customer_id,
        "subscription_id": sub_id,
        "number": invoice.get("number"),
        "status": invoice["status"],
        "billing_reason": invoice.get("billing_reason"),
        "currency": invoice.get("currency") or CURRENCY,
        "total": invoice.get("total") or 0,
        "amount_due": invoice.get("amount_due") or 0,
        "amount_paid": invoice.get("amount_paid") or 0,
        "amount_remaining": invoice.get("amount_remaining") or 0,
        "period_start": stamp(invoice.get("period_start")),
        "period_end": stamp(invoice.get("period_end")),
        "created": stamp(invoice.get("created")) or now,
        "updated_at": now,
    }

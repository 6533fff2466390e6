"""Payment methods: add a card (its first-card bonus, and paying what dunning left open),
list them, remove one."""

from __future__ import annotations

import logging
from typing import Any

from system.billing import store
from system.billing.context import BillingContext
from system.billing.errors import BillingError
from system.billing.presenters import public_payment_method
from system.billing.stripe_objects import card_row
from system.billing.stripe_sync import StripeSync
from system.credits import store as credits_store
from system.credits.ledger import Entry
from system.db.tables import payment_methods
from system.stripe_gateway import CardDeclined

log = logging.getLogger(__name__)


class PaymentMethods:
    def __init__(self, context: BillingContext, sync: StripeSync) -> None:
        self._context = context
        self._sync = sync

    async def add(self, customer_id: str, token: str) -> dict[str, Any]:
        """Attach the card at Stripe, make it the default, and grant the first-card bonus."""
        context = self._context
        stripe_customer = await context.stripe_customer(customer_id)
        attached = await context.stripe.attach_default_payment_method(stripe_customer, token)
        now = context.clock.now()
        async with context.engine.begin() as connection:
            await store.lock_customer(connection, customer_id)
            await store.upsert(connection, payment_methods, card_row(attached, customer_id, now))
            await store.make_default(connection, customer_id, attached["id"])
            if context.policy.card_bonus_credits:
                bonus = Entry(context.policy.card_bonus_credits, "card_bonus", "card_bonus:first")
                await credits_store.post_once(connection, customer_id, bonus, now)
            customer = await store.lock_customer(connection, customer_id)
            assert customer is not None
            if customer["plan"] == "trial":
                await store.set_customer(connection, customer_id, plan="payg")
            row = await store.payment_method(connection, attached["id"])
        assert row is not None
        if customer["past_due_since"] is not None:
            await self._retry_open_invoices(customer_id)
        async with context.engine.connect() as connection:
            balance = await credits_store.balance_of(connection, customer_id)
        await context.changed(customer_id, "payment_method")
        return {"payment_method": public_payment_method(row), "credit_balance": balance}

    async def _retry_open_invoices(self, customer_id: str) -> None:
        """A customer in dunning who adds a card gets its open invoices paid at once (asking
        Stripe which are open: our copy may not have heard of the latest one yet)."""
        stripe = self._context.stripe
        stripe_customer = await self._context.stripe_customer(customer_id)
        for invoice in await stripe.open_invoices(stripe_customer):
            try:
                await self._sync.apply_invoice(await stripe.pay_invoice(invoice["id"]))
            except CardDeclined:
                log.info("open invoice %s declined again", invoice["id"])

    async def list(self, customer_id: str) -> list[dict[str, Any]]:
        async with self._context.engine.connect() as connection:
            rows = await store.active_payment_methods(connection, customer_id)
        return [public_payment_method(r) for r in rows]

    async def remove(self, customer_id: str, pm_id: str) -> None:
        context = self._context
        async with context.engine.connect() as connection:
            row = await store.payment_method(connection, pm_id)
        if row is None or row["customer_id"] != customer_id or row["detached_at"]:
            raise BillingError(404, "Not Found", "No such payment method.", "not-found")
        await context.stripe.detach_payment_method(pm_id)
        async with context.engine.begin() as connection:
            await store.lock_customer(connection, customer_id)
            await store.update_row(
                connection,
                payment_methods,
                pm_id,
                detached_at=context.clock.now(),
                is_default=False,
            )
            remaining = await store.active_payment_methods(connection, customer_id)
            successor = remaining[-1]["id"] if row["is_default"] and remaining else None
            if successor:
                await store.make_default(connection, customer_id, successor)
            customer = await store.lock_customer(connection, customer_id)
        if row["is_default"] and customer and customer["stripe_customer_id"]:
            await context.stripe.set_default_payment_method(
                customer["stripe_customer_id"], successor
            )

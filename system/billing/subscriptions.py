"""Subscriptions: subscribe to a plan with the default card, and cancel."""

from __future__ import annotations

from typing import Any

from system.billing import store
from system.billing.account import Account
from system.billing.catalogue import CURRENCY, PLANS, SUBSCRIBABLE
from system.billing.context import BillingContext
from system.billing.errors import BillingError, card_declined, payment_required
from system.billing.stripe_objects import LIVE_STATUSES
from system.billing.stripe_sync import StripeSync
from system.stripe_gateway import CardDeclined


class Subscriptions:
    def __init__(self, context: BillingContext, sync: StripeSync, account: Account) -> None:
        self._context = context
        self._sync = sync
        self._account = account

    async def subscribe(self, customer_id: str, plan_key: str) -> dict[str, Any]:
        if plan_key not in SUBSCRIBABLE:
            raise BillingError(
                422,
                "Validation Failed",
                f"Unknown plan {plan_key!r}; plans: {', '.join(sorted(SUBSCRIBABLE))}.",
                "validation-error",
                errors=[{"field": "plan", "message": "unknown plan"}],
            )
        context = self._context
        async with context.engine.connect() as connection:
            current = await store.current_subscription(connection, customer_id)
            card = await store.default_payment_method(connection, customer_id)
            customer = await store.lock_customer(connection, customer_id)
        if current and current["status"] in LIVE_STATUSES:
            raise BillingError(
                409, "Already Subscribed", "The customer has a subscription.", "conflict"
            )
        if card is None:
            raise payment_required("Add a payment method before subscribing.")
        stripe_customer = await context.stripe_customer(customer_id)
        plan = PLANS[plan_key]
        assert plan.stripe_lookup_key and customer
        price = await context.stripe.price_for(
            plan.stripe_lookup_key,
            name=f"RSOLV {plan.name}",
            unit_amount=plan.monthly_price_cents,
            currency=CURRENCY,
        )
        attempt = int(context.clock.now().timestamp())
        try:
            sub = await context.stripe.create_subscription(
                stripe_customer=stripe_customer,
                price=price,
                payment_method=card["id"],
                idempotency_key=f"rsolv-subscribe-{customer_id}-{card['id']}-{attempt}",
            )
        except CardDeclined as declined:
            raise card_declined(declined) from None
        await self._sync.apply_subscription(sub)
        if isinstance(sub.get("latest_invoice"), dict):
            await self._sync.apply_invoice(sub["latest_invoice"])
        return await self._account.summary(customer_id)

    async def cancel(self, customer_id: str, *, at_period_end: bool) -> dict[str, Any]:
        async with self._context.engine.connect() as connection:
            current = await store.current_subscription(connection, customer_id)
        if current is None or current["status"] not in LIVE_STATUSES:
            raise BillingError(404, "Not Found", "There is no subscription to cancel.", "not-found")
        sub = await self._context.stripe.cancel_subscription(
            current["id"], at_period_end=at_period_end
        )
        await self._sync.apply_subscription(sub)
        return await self._account.summary(customer_id)

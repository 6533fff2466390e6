"""Subscriptions: subscribe to a plan with the default card, and cancel.

Subscribing is written before it is made (a pending `subscribe` intent under the customer's
lock, its id the idempotency key), so any number of clicks, concurrent or a second apart,
make one Stripe subscription. Cancelling ends every live subscription the customer has at
Stripe, not only the one we know of.
"""

from __future__ import annotations

from typing import Any

from system.billing import intents, store
from system.billing.account import Account
from system.billing.catalogue import CURRENCY, PLANS, SUBSCRIBABLE
from system.billing.context import BillingContext
from system.billing.errors import BillingError, card_declined, payment_required
from system.billing.intents import StripeIntent
from system.billing.stripe_objects import LIVE_STATUSES
from system.billing.stripe_sync import StripeSync
from system.stripe_gateway import CardDeclined, StripeRejected

SUBJECT = "subscription"


def already_subscribed() -> BillingError:
    return BillingError(409, "Already Subscribed", "The customer has a subscription.", "conflict")


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
        async with context.engine.begin() as connection:
            await store.lock_customer(connection, customer_id)
            intent = await intents.latest(connection, customer_id, intents.SUBSCRIBE, SUBJECT)
            if intent is None or intent.status != intents.PENDING:
                current = await store.current_subscription(connection, customer_id)
                if current and current["status"] in LIVE_STATUSES:
                    raise already_subscribed()
                if await store.default_payment_method(connection, customer_id) is None:
                    raise payment_required("Add a payment method before subscribing.")
                intent = await intents.begin(
                    connection,
                    customer_id,
                    {"plan": plan_key},
                    context.clock.now(),
                    operation=intents.SUBSCRIBE,
                    subject=SUBJECT,
                    after=intent,
                )
        await self.create(intent)
        return await self._account.summary(customer_id)

    async def create(self, intent: StripeIntent) -> None:
        """Ask Stripe for the intent's subscription (the same key makes the same one, however
        often this runs), apply it, and settle the intent."""
        context = self._context
        stripe_customer = await context.stripe_customer(intent.customer_id)
        plan = PLANS[intent.request["plan"]]
        assert plan.stripe_lookup_key
        price = await context.stripe.price_for(
            plan.stripe_lookup_key,
            name=f"RSOLV {plan.name}",
            unit_amount=plan.monthly_price_cents,
            currency=CURRENCY,
        )
        try:
            sub = await context.stripe.create_subscription(
                stripe_customer=stripe_customer,
                price=price,
                idempotency_key=intent.id,
                metadata=intent.metadata,
            )
        except CardDeclined as declined:
            await self._settle(intent, intents.FAILED)
            raise card_declined(declined) from None
        except StripeRejected:
            await self._settle(intent, intents.FAILED)
            raise
        await self.complete(intent, sub)

    async def complete(self, intent: StripeIntent, sub: dict[str, Any]) -> None:
        await self._sync.apply_subscription(sub)
        if isinstance(sub.get("latest_invoice"), dict):
            await self._sync.apply_invoice(sub["latest_invoice"])
        await self._settle(intent, intents.SUCCEEDED, sub["id"])

    async def _settle(
        self, intent: StripeIntent, status: str, stripe_id: str | None = None
    ) -> None:
        async with self._context.engine.begin() as connection:
            await intents.settle(
                connection, intent.id, status, self._context.clock.now(), stripe_id
            )

    async def cancel(self, customer_id: str, *, at_period_end: bool) -> dict[str, Any]:
        """End every live subscription of the customer at Stripe (now, or at period end)."""
        context = self._context
        async with context.engine.connect() as connection:
            customer = await store.lock_customer(connection, customer_id)
        stripe_customer = customer["stripe_customer_id"] if customer else None
        live = []
        if stripe_customer:
            live = [
                sub
                for sub in await context.stripe.subscriptions_of(stripe_customer)
                if sub["status"] in LIVE_STATUSES
                and not (at_period_end and sub.get("cancel_at_period_end"))
            ]
        if not live:
            async with context.engine.connect() as connection:
                current = await store.current_subscription(connection, customer_id)
            if current is None or current["status"] not in LIVE_STATUSES:
                raise BillingError(
                    404, "Not Found", "There is no subscription to cancel.", "not-found"
                )
        for sub in live:
            ended = await context.stripe.cancel_subscription(sub["id"], at_period_end=at_period_end)
            await self._sync.apply_subscription(ended)
        return await self._account.summary(customer_id)

"""Stripe's events, each to its one handler (`EVENT_HANDLERS`, as Lago's event map).

An event is a notice, not the state: its handler fetches the object from Stripe as it is
now and applies that, so events arriving late, twice or out of order leave the same final
state.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from system.billing.settlement import Settlement
from system.billing.stripe_objects import id_of
from system.billing.stripe_sync import StripeSync
from system.stripe_gateway import StripeGateway

log = logging.getLogger(__name__)

StripeObject = dict[str, Any]


class StripeEvents:
    def __init__(self, stripe: StripeGateway, sync: StripeSync, settlement: Settlement) -> None:
        self._stripe = stripe
        self._sync = sync
        self._settlement = settlement

    async def apply(self, event_type: str, obj: StripeObject) -> None:
        """Apply one verified event by its handler; an event type we do not act on is
        acknowledged and left."""
        handler = handler_for(event_type)
        if handler is None:
            log.debug("stripe event %s needs no action", event_type)
            return
        await handler(self, obj)

    async def on_subscription(self, obj: StripeObject) -> None:
        await self._sync.apply_subscription(await self._stripe.retrieve_subscription(obj["id"]))

    async def on_invoice(self, obj: StripeObject) -> None:
        await self._sync.apply_invoice(await self._stripe.retrieve_invoice(obj["id"]))

    async def on_refund(self, obj: StripeObject) -> None:
        await self._sync.apply_refund(await self._stripe.retrieve_charge(obj["id"]))

    async def on_payment_method(self, obj: StripeObject) -> None:
        await self._sync.sync_payment_method(obj)

    async def on_checkout_completed(self, obj: StripeObject) -> None:
        sub_id = id_of(obj.get("subscription"))
        if sub_id:
            await self._sync.apply_subscription(await self._stripe.retrieve_subscription(sub_id))

    async def on_payment_intent(self, obj: StripeObject) -> None:
        """A charge we made settles its pending intent (if a crash left it so)."""
        await self._settlement.on_payment_intent(obj)


Handler = Callable[[StripeEvents, StripeObject], Awaitable[None]]

# Event type (or a family, `prefix.*`, for the events `stripe listen` forwards beyond those
# we subscribe to) -> its one handler.
EVENT_HANDLERS: dict[str, Handler] = {
    "customer.subscription.*": StripeEvents.on_subscription,
    "invoice.*": StripeEvents.on_invoice,
    "charge.refunded": StripeEvents.on_refund,
    "payment_method.*": StripeEvents.on_payment_method,
    "checkout.session.completed": StripeEvents.on_checkout_completed,
    "payment_intent.succeeded": StripeEvents.on_payment_intent,
    "payment_intent.payment_failed": StripeEvents.on_payment_intent,
}


def handler_for(event_type: str) -> Handler | None:
    """The event type's own handler, else its family's."""
    family = event_type.rsplit(".", 1)[0] + ".*"
    return EVENT_HANDLERS.get(event_type) or EVENT_HANDLERS.get(family)


# The events our webhook endpoint subscribes to at Stripe.
HANDLED_EVENTS = [
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.finalized",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_method.attached",
    "payment_method.detached",
    "checkout.session.completed",
    "charge.refunded",
]

"""What every billing use case is given: the database, Stripe, the clock, the policy, the
way to reach a customer's Stripe customer, and the listener told of changes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from system.billing.catalogue import CARD_BONUS_CREDITS
from system.billing.errors import payments_unavailable
from system.clock import Clock
from system.stripe_gateway import StripeGateway

log = logging.getLogger(__name__)

ChangeListener = Callable[[str, str], Awaitable[None]]
# Our customer id -> its Stripe customer id, created at Stripe if the signup could not yet;
# None while Stripe cannot be reached. Provisioning owns it; billing is handed it.
StripeCustomerOf = Callable[[str], Awaitable[str | None]]


@dataclass(frozen=True)
class BillingPolicy:
    grace_period: timedelta = timedelta(days=7)
    card_bonus_credits: int = CARD_BONUS_CREDITS


@dataclass(frozen=True)
class BillingContext:
    engine: AsyncEngine
    stripe: StripeGateway
    clock: Clock
    stripe_customer_of: StripeCustomerOf
    policy: BillingPolicy = field(default_factory=BillingPolicy)
    on_change: ChangeListener | None = None

    async def changed(self, customer_id: str, what: str) -> None:
        """Tell the optional listener (the dashboard's live pages) that something changed."""
        if self.on_change is None:
            return
        try:
            await self.on_change(customer_id, what)
        except Exception:  # a listener must never fail a billing operation
            log.exception("change listener failed for %s", customer_id)

    async def stripe_customer(self, customer_id: str) -> str:
        """The customer's Stripe customer id, or a 503 BillingError while Stripe is away."""
        stripe_id = await self.stripe_customer_of(customer_id)
        if not stripe_id:
            raise payments_unavailable()
        return stripe_id

    def suspended(self, customer: dict[str, Any]) -> bool:
        """Past due for longer than the grace period."""
        since = customer["past_due_since"]
        return since is not None and self.clock.now() - since > self.policy.grace_period

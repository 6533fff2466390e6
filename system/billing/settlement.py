"""Settling what a crash left pending: each pending intent is finished or given up by asking
Stripe whether it made the object (found by the intent id in its metadata), never by
guessing. Runs from the upkeep loop, at startup, from `payment_intent.*` webhooks and as
`rsolv-billing reconcile`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from system.billing import intents, store
from system.billing.context import BillingContext
from system.billing.intents import StripeIntent
from system.billing.subscriptions import Subscriptions
from system.billing.usage import TAKEN, Usage
from system.stripe_gateway import StripeUnavailable

log = logging.getLogger(__name__)

# Old enough that no request can still be waiting on Stripe for it (Stripe calls time out
# well before), so the pass never races a live request.
SETTLE_AFTER = timedelta(seconds=60)
FAILED_PAYMENT = frozenset({"requires_payment_method", "canceled"})


UNSETTLED = "unsettled"


@dataclass
class SettlementReport:
    """What one pass found (`settled`: each intent with its outcome: succeeded, failed,
    abandoned or unsettled)."""

    settled: list[tuple[StripeIntent, str]] = field(default_factory=list)

    @property
    def unsettled(self) -> list[StripeIntent]:
        return [intent for intent, outcome in self.settled if outcome == UNSETTLED]

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for _, outcome in self.settled:
            counts[outcome] = counts.get(outcome, 0) + 1
        done = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        return f"{len(self.settled)} pending intents: {done or 'nothing to settle'}"

    def lines(self) -> list[str]:
        """One line per intent (the subject quoted: it may be a customer's own text)."""
        return [
            f"{intent.id} {intent.operation} customer={intent.customer_id} "
            f"subject={intent.subject!r} -> {outcome}"
            for intent, outcome in self.settled
        ]


class Settlement:
    def __init__(self, context: BillingContext, usage: Usage, subscriptions: Subscriptions) -> None:
        self._context = context
        self._usage = usage
        self._subscriptions = subscriptions

    async def run(self, settle_after: timedelta = SETTLE_AFTER) -> SettlementReport:
        """Settle every intent pending for longer than `settle_after`."""
        horizon = self._context.clock.now() - settle_after
        async with self._context.engine.connect() as connection:
            pending = await intents.pending_made_by(connection, horizon)
        report = SettlementReport()
        for intent in pending:
            try:
                outcome = await self.settle(intent)
            except StripeUnavailable:
                outcome = UNSETTLED
            except Exception:  # one intent must not stop the pass
                log.exception("settling intent %s failed", intent.id)
                outcome = UNSETTLED
            report.settled.append((intent, outcome))
        if pending:
            log.info("settlement: %s", report.summary())
        return report

    async def settle(self, intent: StripeIntent) -> str:
        """Finish or give up one pending intent by what Stripe holds; the outcome's name."""
        async with self._context.engine.connect() as connection:
            customer = await store.lock_customer(connection, intent.customer_id)
        stripe_customer = customer["stripe_customer_id"] if customer else None
        if intent.operation == intents.FIX_CHARGE:
            found = None
            if stripe_customer:
                found = _made_for(
                    intent, await self._context.stripe.payment_intents_of(stripe_customer)
                )
            return await self._settle_charge(intent, found)
        assert intent.operation == intents.SUBSCRIBE, intent.operation
        made = None
        if stripe_customer:
            made = _made_for(intent, await self._context.stripe.subscriptions_of(stripe_customer))
        if made is None:
            return await self._abandon(intent)
        await self._subscriptions.complete(intent, made)
        return "succeeded"

    async def on_payment_intent(self, payment: dict[str, Any]) -> None:
        """A `payment_intent.*` webhook: settle the intent it was made for, if it is still
        pending after `SETTLE_AFTER` (a younger one belongs to the request that is making
        it, which records it itself: settling it here would race that request)."""
        intent_id = (payment.get("metadata") or {}).get("rsolv_intent")
        if not intent_id:
            return
        async with self._context.engine.connect() as connection:
            intent = await intents.by_id(connection, intent_id)
        if intent is None or intent.status != intents.PENDING:
            return
        if self._context.clock.now() - intent.created_at < SETTLE_AFTER:
            return
        current = await self._context.stripe.retrieve_payment_intent(payment["id"])
        await self._settle_charge(intent, current)

    async def _settle_charge(self, intent: StripeIntent, payment: dict[str, Any] | None) -> str:
        if payment is None:
            return await self._abandon(intent)
        if payment["status"] in TAKEN:
            await self._usage.complete(intent, payment)
            return "succeeded"
        if payment["status"] in FAILED_PAYMENT:
            await self._usage.fail(intent)
            return "failed"
        return UNSETTLED  # waiting on the customer (requires_action): ask again later

    async def _abandon(self, intent: StripeIntent) -> str:
        """Stripe never made it: nothing moved, and the next try starts a new attempt."""
        async with self._context.engine.begin() as connection:
            await intents.settle(
                connection, intent.id, intents.ABANDONED, self._context.clock.now()
            )
        return "abandoned"


def _made_for(intent: StripeIntent, objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Stripe object made for `intent`: the one whose metadata names it."""
    for obj in objects:
        if (obj.get("metadata") or {}).get("rsolv_intent") == intent.id:
            return obj
    return None

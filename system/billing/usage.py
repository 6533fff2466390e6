"""Usage: a deployed fix consumes a credit or is charged to the default card, once per fix.

A charge is written before it is made: the decision and a pending intent are stored under
the customer's lock, then Stripe is asked (the intent's id as idempotency key), then the
payment and the fix are recorded and the intent settled. A crash in between leaves the
intent pending; a retry of the same fix, the `payment_intent.*` webhooks and the settlement
pass all complete it with the same Stripe object.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from system.billing import intents, store
from system.billing.catalogue import CURRENCY, PLANS
from system.billing.context import BillingContext
from system.billing.errors import BillingError, card_declined, payment_required
from system.billing.grants import CreditGrants
from system.billing.intents import StripeIntent
from system.billing.pricing import (
    FixAction,
    FixDecision,
    ledger_entries_for_fix,
    price_of_next_fix,
)
from system.billing.stripe_objects import id_of
from system.credits import store as credits_store
from system.db.tables import payments
from system.stripe_gateway import CardDeclined, StripeRejected

# PaymentIntent statuses under which Stripe has the money or is collecting it (a debit
# still `processing`): the fix is recorded as charged, as the payment's status says.
TAKEN = frozenset({"succeeded", "processing"})


class Usage:
    def __init__(self, context: BillingContext, grants: CreditGrants) -> None:
        self._context = context
        self._grants = grants

    async def deploy_fix(
        self, customer_id: str, fix_id: str, repo: str, pr_number: int
    ) -> tuple[dict[str, Any], bool]:
        """Consume a credit or charge for one fix; (result, replayed). Idempotent per fix."""
        result, replayed = await self._deploy_fix(customer_id, fix_id, repo, pr_number)
        if not replayed:
            await self._context.changed(customer_id, "fix")
        return result, replayed

    async def _deploy_fix(
        self, customer_id: str, fix_id: str, repo: str, pr_number: int
    ) -> tuple[dict[str, Any], bool]:
        context = self._context
        async with context.engine.connect() as connection:
            done = await store.fix(connection, customer_id, fix_id)
        if done:
            return _fix_result(done), True
        now = context.clock.now()
        try:
            async with context.engine.begin() as connection:
                customer = await self._grants.locked_with_expiry(connection, customer_id, now)
                # A charge a crash or a 503 left pending is repeated, whatever the balance
                # now: deciding afresh could spend a credit on a fix Stripe was paid for.
                charge = await intents.latest(connection, customer_id, intents.FIX_CHARGE, fix_id)
                if charge is None or charge.status != intents.PENDING:
                    card = None
                    if customer["credit_balance"] <= 0:
                        card = await store.default_payment_method(connection, customer_id)
                    decision = price_of_next_fix(
                        balance=customer["credit_balance"],
                        plan=PLANS[customer["plan"]],
                        has_payment_method=card is not None,
                        suspended=context.suspended(customer),
                    )
                    if decision.action is FixAction.REFUSE:
                        raise payment_required(decision.reason or "Payment required.")
                    if decision.action is FixAction.CONSUME_CREDIT:
                        row = await _record_fix(
                            connection, customer_id, fix_id, repo, pr_number, decision, None, now
                        )
                        return _fix_result(row), False
                    assert card is not None
                    request = {
                        "amount_cents": decision.amount_cents,
                        "payment_method": card["id"],
                        "repo": repo,
                        "pr_number": pr_number,
                    }
                    charge = await intents.begin(
                        connection,
                        customer_id,
                        request,
                        now,
                        operation=intents.FIX_CHARGE,
                        subject=fix_id,
                        after=charge,
                    )
        except IntegrityError:
            return await self._replay_fix(customer_id, fix_id)
        return await self._charge(charge)

    async def _charge(self, charge: StripeIntent) -> tuple[dict[str, Any], bool]:
        """Ask Stripe for the intent's charge (again, if a crash or a 503 left it pending:
        the same key makes the same PaymentIntent), then record it."""
        context = self._context
        request = charge.request
        stripe_customer = await context.stripe_customer(charge.customer_id)
        try:
            payment = await context.stripe.charge(
                stripe_customer=stripe_customer,
                payment_method=request["payment_method"],
                amount_cents=request["amount_cents"],
                currency=CURRENCY,
                description=f"RSOLV fix ({request['repo']}#{request['pr_number']})",
                idempotency_key=charge.id,
                metadata={**charge.metadata, "fix_id": charge.subject},
            )
        except CardDeclined as declined:
            await self.fail(charge)
            raise card_declined(declined) from None
        except StripeRejected:
            await self.fail(charge)
            raise
        return await self.complete(charge, payment)

    async def fail(self, charge: StripeIntent) -> None:
        """Stripe did not take the money: the next try of the fix decides afresh."""
        async with self._context.engine.begin() as connection:
            await intents.settle(connection, charge.id, intents.FAILED, self._context.clock.now())

    async def complete(
        self, charge: StripeIntent, payment: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Record a charge Stripe took: the payment, the fix and its ledger entries, and the
        intent settled, in one transaction; a replay if another path recorded it first."""
        if payment["status"] not in TAKEN:
            raise BillingError(
                503,
                "Payment Pending",
                "The payment is not complete yet; please try again shortly.",
                "payment-pending",
            )
        now = self._context.clock.now()
        request = charge.request
        decision = FixDecision(FixAction.CHARGE, amount_cents=request["amount_cents"])
        try:
            async with self._context.engine.begin() as connection:
                await store.lock_customer(connection, charge.customer_id)
                if not await intents.settle(
                    connection, charge.id, intents.SUCCEEDED, now, payment["id"]
                ):
                    raise _AlreadySettled
                await store.upsert(
                    connection,
                    payments,
                    {
                        "id": payment["id"],
                        "customer_id": charge.customer_id,
                        "purpose": f"fix:{charge.subject}",
                        "amount": payment["amount"],
                        "currency": payment["currency"],
                        "status": payment["status"],
                        "charge_id": id_of(payment.get("latest_charge")),
                        "created_at": now,
                    },
                )
                row = await _record_fix(
                    connection,
                    charge.customer_id,
                    charge.subject,
                    request["repo"],
                    request["pr_number"],
                    decision,
                    payment["id"],
                    now,
                )
        except (IntegrityError, _AlreadySettled):
            return await self._replay_fix(charge.customer_id, charge.subject)
        return _fix_result(row), False

    async def _replay_fix(self, customer_id: str, fix_id: str) -> tuple[dict[str, Any], bool]:
        async with self._context.engine.connect() as connection:
            done = await store.fix(connection, customer_id, fix_id)
        if done is None:  # settled meanwhile as failed or abandoned: nothing was recorded
            raise BillingError(
                409,
                "Fix Settled Elsewhere",
                "This fix's payment was settled meanwhile; please try again.",
                "conflict",
            )
        return _fix_result(done), True


class _AlreadySettled(Exception):
    """Another path (a webhook, the settlement pass) settled the intent first."""


async def _record_fix(
    connection: AsyncConnection,
    customer_id: str,
    fix_id: str,
    repo: str,
    pr_number: int,
    decision: FixDecision,
    payment_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    balance = 0
    for entry in ledger_entries_for_fix(decision, fix_id, payment_id):
        balance = await credits_store.post(connection, customer_id, entry, now)
    row = {
        "customer_id": customer_id,
        "fix_id": fix_id,
        "repo": repo,
        "pr_number": pr_number,
        "action": decision.action.value,
        "amount_cents": decision.amount_cents,
        "payment_id": payment_id,
        "balance_after": balance,
        "created_at": now,
    }
    await store.insert_fix(connection, row)
    return row


def _fix_result(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "fix_id": row["fix_id"],
        "repo": row["repo"],
        "pr_number": row["pr_number"],
        "charged": row["action"] == FixAction.CHARGE.value,
        "amount_cents": row["amount_cents"],
        "payment_intent": row["payment_id"],
        "credit_balance": row["balance_after"],
    }

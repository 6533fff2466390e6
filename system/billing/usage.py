"""Usage: a deployed fix consumes a credit or is charged to the default card, once per fix."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from system.billing import store
from system.billing.catalogue import CURRENCY, PLANS
from system.billing.context import BillingContext
from system.billing.errors import card_declined, payment_required
from system.billing.grants import CreditGrants
from system.billing.pricing import (
    FixAction,
    FixDecision,
    ledger_entries_for_fix,
    price_of_next_fix,
)
from system.billing.stripe_objects import id_of
from system.credits import store as credits_store
from system.db.tables import payments
from system.stripe_gateway import CardDeclined


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
        except IntegrityError:
            return await self._replay_fix(customer_id, fix_id)
        assert card is not None
        return await self._charge_for_fix(
            customer, card["id"], fix_id, repo, pr_number, decision, now
        )

    async def _charge_for_fix(
        self,
        customer: dict[str, Any],
        pm_id: str,
        fix_id: str,
        repo: str,
        pr_number: int,
        decision: FixDecision,
        now: datetime,
    ) -> tuple[dict[str, Any], bool]:
        context = self._context
        stripe_customer = await context.stripe_customer(customer["id"])
        try:
            intent = await context.stripe.charge(
                stripe_customer=stripe_customer,
                payment_method=pm_id,
                amount_cents=decision.amount_cents,
                currency=CURRENCY,
                description=f"RSOLV fix {fix_id} ({repo}#{pr_number})",
                idempotency_key=f"rsolv-fix-{customer['id']}-{fix_id}-{pm_id}",
                metadata={"rsolv_customer_id": customer["id"], "fix_id": fix_id},
            )
        except CardDeclined as declined:
            raise card_declined(declined) from None
        try:
            async with context.engine.begin() as connection:
                await store.lock_customer(connection, customer["id"])
                await store.upsert(
                    connection,
                    payments,
                    {
                        "id": intent["id"],
                        "customer_id": customer["id"],
                        "purpose": f"fix:{fix_id}",
                        "amount": intent["amount"],
                        "currency": intent["currency"],
                        "status": intent["status"],
                        "charge_id": id_of(intent.get("latest_charge")),
                        "created_at": now,
                    },
                )
                row = await _record_fix(
                    connection, customer["id"], fix_id, repo, pr_number, decision, intent["id"], now
                )
        except IntegrityError:
            return await self._replay_fix(customer["id"], fix_id)
        return _fix_result(row), False

    async def _replay_fix(self, customer_id: str, fix_id: str) -> tuple[dict[str, Any], bool]:
        async with self._context.engine.connect() as connection:
            done = await store.fix(connection, customer_id, fix_id)
        assert done is not None
        return _fix_result(done), True


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

"""Billing use cases: payment methods, fixes, subscriptions, and applying Stripe's state.

State is applied from the answer of each Stripe call and again from webhooks; both paths
are idempotent, keyed by Stripe object ids, so whichever comes second finds the work done.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from system.billing import ledger_store, store
from system.billing.catalogue import (
    CARD_BONUS_CREDITS,
    CURRENCY,
    PLANS,
    PRO,
    SUBSCRIBABLE,
)
from system.billing.ledger import Entry
from system.billing.presenters import (
    iso,
    public_invoice,
    public_payment_method,
    public_subscription,
)
from system.billing.pricing import FixAction, ledger_entries_for_fix, price_of_next_fix
from system.billing.stripe_objects import (
    DUNNING_STATUSES,
    LIVE_STATUSES,
    card_row,
    id_of,
    plan_of,
    stamp,
    subscription_period,
)
from system.clock import Clock
from system.db.tables import invoices, payment_methods, payments, subscriptions
from system.provisioning.service import ProvisioningService
from system.stripe_gateway import CardDeclined, StripeGateway, StripeUnavailable

log = logging.getLogger(__name__)


class BillingError(Exception):
    """A billing request that cannot be honoured; `status` is the HTTP status to answer."""

    def __init__(self, status: int, title: str, detail: str, slug: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.extra = extra


def payment_required(detail: str, **extra: Any) -> BillingError:
    return BillingError(402, "Payment Required", detail, "payment-required", **extra)


@dataclass(frozen=True)
class BillingPolicy:
    grace_period: timedelta = timedelta(days=7)
    card_bonus_credits: int = CARD_BONUS_CREDITS


class BillingService:
    def __init__(
        self,
        engine: AsyncEngine,
        stripe: StripeGateway,
        clock: Clock,
        provisioning: ProvisioningService,
        policy: BillingPolicy,
        on_change: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self._engine = engine
        self._stripe = stripe
        self._clock = clock
        self._provisioning = provisioning
        self.policy = policy
        self._on_change = on_change

    async def _changed(self, customer_id: str, what: str) -> None:
        """Tell the optional listener (the dashboard's live pages) that something changed."""
        if self._on_change is None:
            return
        try:
            await self._on_change(customer_id, what)
        except Exception:  # a listener must never fail a billing operation
            log.exception("change listener failed for %s", customer_id)

    async def _stripe_customer(self, customer_id: str) -> str:
        stripe_id = await self._provisioning.sync_stripe_customer(customer_id)
        if not stripe_id:
            raise BillingError(
                503,
                "Payments Unavailable",
                "Payments are unavailable right now; please try again shortly.",
                "payments-unavailable",
            )
        return stripe_id

    def suspended(self, customer: dict[str, Any]) -> bool:
        since = customer["past_due_since"]
        return since is not None and self._clock.now() - since > self.policy.grace_period

    # -- payment methods -------------------------------------------------------------------

    async def add_payment_method(self, customer_id: str, token: str) -> dict[str, Any]:
        """Attach the card at Stripe, make it the default, and grant the first-card bonus."""
        stripe_customer = await self._stripe_customer(customer_id)
        attached = await self._stripe.attach_default_payment_method(stripe_customer, token)
        now = self._clock.now()
        async with self._engine.begin() as connection:
            await store.lock_customer(connection, customer_id)
            await store.upsert(connection, payment_methods, card_row(attached, customer_id, now))
            await store.make_default(connection, customer_id, attached["id"])
            if self.policy.card_bonus_credits:
                bonus = Entry(self.policy.card_bonus_credits, "card_bonus", "card_bonus:first")
                await ledger_store.post_once(connection, customer_id, bonus, now)
            customer = await store.lock_customer(connection, customer_id)
            assert customer is not None
            if customer["plan"] == "trial":
                await store.set_customer(connection, customer_id, plan="payg")
            row = await store.payment_method(connection, attached["id"])
        assert row is not None
        if customer["past_due_since"] is not None:
            await self._retry_open_invoices(customer_id)
        async with self._engine.connect() as connection:
            balance = await ledger_store.balance_of(connection, customer_id)
        await self._changed(customer_id, "payment_method")
        return {"payment_method": public_payment_method(row), "credit_balance": balance}

    async def _retry_open_invoices(self, customer_id: str) -> None:
        """A customer in dunning who adds a card gets its open invoices paid at once (asking
        Stripe which are open: our copy may not have heard of the latest one yet)."""
        stripe_customer = await self._stripe_customer(customer_id)
        for invoice in await self._stripe.open_invoices(stripe_customer):
            try:
                await self.apply_invoice(await self._stripe.pay_invoice(invoice["id"]))
            except CardDeclined:
                log.info("open invoice %s declined again", invoice["id"])

    async def payment_methods(self, customer_id: str) -> list[dict[str, Any]]:
        async with self._engine.connect() as connection:
            rows = await store.active_payment_methods(connection, customer_id)
        return [public_payment_method(r) for r in rows]

    async def remove_payment_method(self, customer_id: str, pm_id: str) -> None:
        async with self._engine.connect() as connection:
            row = await store.payment_method(connection, pm_id)
        if row is None or row["customer_id"] != customer_id or row["detached_at"]:
            raise BillingError(404, "Not Found", "No such payment method.", "not-found")
        await self._stripe.detach_payment_method(pm_id)
        async with self._engine.begin() as connection:
            await store.lock_customer(connection, customer_id)
            await store.update_row(
                connection, payment_methods, pm_id, detached_at=self._clock.now(), is_default=False
            )
            remaining = await store.active_payment_methods(connection, customer_id)
            successor = remaining[-1]["id"] if row["is_default"] and remaining else None
            if successor:
                await store.make_default(connection, customer_id, successor)
            customer = await store.lock_customer(connection, customer_id)
        if row["is_default"] and customer and customer["stripe_customer_id"]:
            await self._stripe.set_default_payment_method(customer["stripe_customer_id"], successor)

    # -- usage -----------------------------------------------------------------------------

    async def deploy_fix(
        self, customer_id: str, fix_id: str, repo: str, pr_number: int
    ) -> tuple[dict[str, Any], bool]:
        """Consume a credit or charge for one fix; (result, replayed). Idempotent per fix."""
        result, replayed = await self._deploy_fix(customer_id, fix_id, repo, pr_number)
        if not replayed:
            await self._changed(customer_id, "fix")
        return result, replayed

    async def _deploy_fix(
        self, customer_id: str, fix_id: str, repo: str, pr_number: int
    ) -> tuple[dict[str, Any], bool]:
        async with self._engine.connect() as connection:
            done = await store.fix(connection, customer_id, fix_id)
        if done:
            return self._fix_result(done), True
        now = self._clock.now()
        try:
            async with self._engine.begin() as connection:
                customer = await self._locked_with_expiry(connection, customer_id, now)
                card = None
                if customer["credit_balance"] <= 0:
                    card = await store.default_payment_method(connection, customer_id)
                decision = price_of_next_fix(
                    balance=customer["credit_balance"],
                    plan=PLANS[customer["plan"]],
                    has_payment_method=card is not None,
                    suspended=self.suspended(customer),
                )
                if decision.action is FixAction.REFUSE:
                    raise payment_required(decision.reason or "Payment required.")
                if decision.action is FixAction.CONSUME_CREDIT:
                    row = await self._record_fix(
                        connection, customer_id, fix_id, repo, pr_number, decision, None, now
                    )
                    return self._fix_result(row), False
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
        decision: Any,
        now: datetime,
    ) -> tuple[dict[str, Any], bool]:
        stripe_customer = await self._stripe_customer(customer["id"])
        try:
            intent = await self._stripe.charge(
                stripe_customer=stripe_customer,
                payment_method=pm_id,
                amount_cents=decision.amount_cents,
                currency=CURRENCY,
                description=f"RSOLV fix {fix_id} ({repo}#{pr_number})",
                idempotency_key=f"rsolv-fix-{customer['id']}-{fix_id}-{pm_id}",
                metadata={"rsolv_customer_id": customer["id"], "fix_id": fix_id},
            )
        except CardDeclined as declined:
            raise payment_required(
                f"The card was declined: {declined}",
                decline_code=declined.decline_code,
            ) from None
        try:
            async with self._engine.begin() as connection:
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
                row = await self._record_fix(
                    connection, customer["id"], fix_id, repo, pr_number, decision, intent["id"], now
                )
        except IntegrityError:
            return await self._replay_fix(customer["id"], fix_id)
        return self._fix_result(row), False

    async def _record_fix(
        self,
        connection: AsyncConnection,
        customer_id: str,
        fix_id: str,
        repo: str,
        pr_number: int,
        decision: Any,
        payment_id: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        balance = 0
        for entry in ledger_entries_for_fix(decision, fix_id, payment_id):
            balance = await ledger_store.post(connection, customer_id, entry, now)
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

    async def _replay_fix(self, customer_id: str, fix_id: str) -> tuple[dict[str, Any], bool]:
        async with self._engine.connect() as connection:
            done = await store.fix(connection, customer_id, fix_id)
        assert done is not None
        return self._fix_result(done), True

    @staticmethod
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

    # -- subscriptions ---------------------------------------------------------------------

    async def subscription(self, customer_id: str) -> dict[str, Any] | None:
        async with self._engine.connect() as connection:
            return public_subscription(await store.current_subscription(connection, customer_id))

    async def subscribe(self, customer_id: str, plan_key: str) -> dict[str, Any]:
        if plan_key not in SUBSCRIBABLE:
            raise BillingError(
                422,
                "Validation Failed",
                f"Unknown plan {plan_key!r}; plans: {', '.join(sorted(SUBSCRIBABLE))}.",
                "validation-error",
                errors=[{"field": "plan", "message": "unknown plan"}],
            )
        async with self._engine.connect() as connection:
            current = await store.current_subscription(connection, customer_id)
            card = await store.default_payment_method(connection, customer_id)
            customer = await store.lock_customer(connection, customer_id)
        if current and current["status"] in LIVE_STATUSES:
            raise BillingError(
                409, "Already Subscribed", "The customer has a subscription.", "conflict"
            )
        if card is None:
            raise payment_required("Add a payment method before subscribing.")
        stripe_customer = await self._stripe_customer(customer_id)
        plan = PLANS[plan_key]
        assert plan.stripe_lookup_key and customer
        price = await self._stripe.price_for(
            plan.stripe_lookup_key,
            name=f"RSOLV {plan.name}",
            unit_amount=plan.monthly_price_cents,
            currency=CURRENCY,
        )
        attempt = int(self._clock.now().timestamp())
        try:
            sub = await self._stripe.create_subscription(
                stripe_customer=stripe_customer,
                price=price,
                payment_method=card["id"],
                idempotency_key=f"rsolv-subscribe-{customer_id}-{card['id']}-{attempt}",
            )
        except CardDeclined as declined:
            raise payment_required(
                f"The card was declined: {declined}", decline_code=declined.decline_code
            ) from None
        await self.apply_subscription(sub)
        if isinstance(sub.get("latest_invoice"), dict):
            await self.apply_invoice(sub["latest_invoice"])
        return await self.billing_summary(customer_id)

    async def cancel(self, customer_id: str, *, at_period_end: bool) -> dict[str, Any]:
        async with self._engine.connect() as connection:
            current = await store.current_subscription(connection, customer_id)
        if current is None or current["status"] not in LIVE_STATUSES:
            raise BillingError(404, "Not Found", "There is no subscription to cancel.", "not-found")
        sub = await self._stripe.cancel_subscription(current["id"], at_period_end=at_period_end)
        await self.apply_subscription(sub)
        return await self.billing_summary(customer_id)

    async def billing_summary(self, customer_id: str) -> dict[str, Any]:
        async with self._engine.connect() as connection:
            customer = await store.lock_customer(connection, customer_id)
            current = await store.current_subscription(connection, customer_id)
        assert customer is not None
        return {
            "plan": customer["plan"],
            "credit_balance": customer["credit_balance"],
            "subscription": public_subscription(current),
            "past_due_since": iso(customer["past_due_since"]),
            "credit_debt": customer["credit_debt"],
            "suspended": self.suspended(customer),
        }

    # -- applying Stripe's state -----------------------------------------------------------

    async def apply_subscription(self, sub: dict[str, Any]) -> None:
        now = self._clock.now()
        async with self._engine.begin() as connection:
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
            elif status in {"canceled", "incomplete_expired"}:
                card = await store.default_payment_method(connection, customer["id"])
                await store.set_customer(
                    connection,
                    customer["id"],
                    plan="payg" if card else "trial",
                    past_due_since=None,
                    # The period's credits stay usable until the period would have ended.
                    grants_expire_at=stamp(end) or now,
                )
        await self.expire_lapsed_grants(customer["id"])
        await self._changed(customer["id"], "subscription")

    async def apply_invoice(self, invoice: dict[str, Any]) -> None:
        now = self._clock.now()
        sub_id = id_of(invoice.get("subscription")) or id_of(
            ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
        )
        async with self._engine.begin() as connection:
            customer = await store.customer_by_stripe_id(
                connection, id_of(invoice["customer"]) or ""
            )
            if customer is None:
                return
            customer = await store.lock_customer(connection, customer["id"])
            assert customer is not None
            await store.upsert(
                connection,
                invoices,
                {
                    "id": invoice["id"],
                    "customer_id": customer["id"],
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
                },
            )
            if sub_id and invoice["status"] == "paid":
                await self._grant_period_credits(
                    connection, customer["id"], sub_id, invoice["id"], now
                )
        await self._changed(customer["id"], "invoice")
        if sub_id and invoice["status"] == "paid":
            # Dunning follows the subscription's status alone: a paid invoice may be an old
            # one arriving late, so ask Stripe where the subscription stands now.
            await self.apply_subscription(await self._stripe.retrieve_subscription(sub_id))

    async def _grant_period_credits(
        self,
        connection: AsyncConnection,
        customer_id: str,
        sub_id: str,
        invoice_id: str,
        now: datetime,
    ) -> None:
        """Expire what is left of the previous period's grant, then grant this period's."""
        if await store.ledger_entry(connection, customer_id, f"grant:{invoice_id}"):
            return
        for previous in await store.paid_subscription_invoices(connection, sub_id):
            if previous["id"] != invoice_id:
                await self._expire_grant(connection, customer_id, f"grant:{previous['id']}", now)
        grant = Entry(PRO.credits_per_period, "period_grant", f"grant:{invoice_id}")
        await ledger_store.post_once(connection, customer_id, grant, now)

    async def _expire_grant(
        self, connection: AsyncConnection, customer_id: str, reference: str, now: datetime
    ) -> None:
        grant = await store.ledger_entry(connection, customer_id, reference)
        if grant is None or await store.ledger_entry(
            connection, customer_id, f"expire:{reference}"
        ):
            return
        used = await store.consumed_after(connection, customer_id, grant["id"])
        balance = await ledger_store.balance_of(connection, customer_id)
        unused = max(0, min(balance, grant["amount"] - used))
        expiry = Entry(-unused, "grant_expired", f"expire:{reference}")
        await ledger_store.post_once(connection, customer_id, expiry, now)

    async def _locked_with_expiry(
        self, connection: AsyncConnection, customer_id: str, now: datetime
    ) -> dict[str, Any]:
        """The customer, locked, after expiring the grants of an ended subscription whose
        period is over (its `grants_expire_at` has passed): no query when nothing is due."""
        customer = await store.lock_customer(connection, customer_id)
        assert customer is not None
        due = customer["grants_expire_at"]
        if due is None or due > now:
            return customer
        for sub_id in await self._ended_subscriptions(connection, customer_id, now):
            for invoice in await store.paid_subscription_invoices(connection, sub_id):
                await self._expire_grant(connection, customer_id, f"grant:{invoice['id']}", now)
        await store.set_customer(connection, customer_id, grants_expire_at=None)
        customer = await store.lock_customer(connection, customer_id)
        assert customer is not None
        return customer

    async def expire_lapsed_grants(self, customer_id: str) -> None:
        """A cancelled subscription's credits last until its period ends, then expire."""
        now = self._clock.now()
        async with self._engine.connect() as connection:
            customer = await store.lock_customer(connection, customer_id)
        due = customer["grants_expire_at"] if customer else None
        if due is None or due > now:
            return
        async with self._engine.begin() as connection:
            await self._locked_with_expiry(connection, customer_id, now)

    async def _ended_subscriptions(
        self, connection: AsyncConnection, customer_id: str, now: datetime
    ) -> list[str]:
        rows = (
            await connection.execute(
                select(subscriptions.c.id, subscriptions.c.current_period_end).where(
                    subscriptions.c.customer_id == customer_id,
                    subscriptions.c.status.in_(["canceled", "incomplete_expired"]),
                )
            )
        ).all()
        return [r.id for r in rows if r.current_period_end is None or r.current_period_end <= now]

    async def apply_refund(self, charge: dict[str, Any]) -> None:
        """A refunded fix purchase takes its credit back, or records a debt if it was spent."""
        payment_id = id_of(charge.get("payment_intent"))
        if not payment_id:
            return
        now = self._clock.now()
        async with self._engine.begin() as connection:
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
            if await store.ledger_entry(connection, customer["id"], reference):
                return
            if customer["credit_balance"] >= 1:
                await ledger_store.post(
                    connection, customer["id"], Entry(-1, "refund_reversal", reference), now
                )
            else:
                await ledger_store.post(
                    connection, customer["id"], Entry(0, "refund_debt", reference), now
                )
                await store.set_customer(
                    connection, customer["id"], credit_debt=customer["credit_debt"] + 1
                )

    async def sync_payment_method(self, pm: dict[str, Any]) -> None:
        """payment_method.attached/detached: keep the local list in step with Stripe."""
        now = self._clock.now()
        async with self._engine.begin() as connection:
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

    async def credits(self, customer_id: str, *, limit: int, before: int | None) -> dict[str, Any]:
        await self.expire_lapsed_grants(customer_id)
        async with self._engine.connect() as connection:
            balance = await ledger_store.balance_of(connection, customer_id)
            entries = await ledger_store.entries(
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
        async with self._engine.connect() as connection:
            rows = await store.list_invoices(connection, customer_id, limit)
        return [public_invoice(r) for r in rows]


__all__ = ["BillingError", "BillingPolicy", "BillingService", "StripeUnavailable"]

"""Applying `marketplace_purchase` events: provision the GitHub account's customer through
the provisioning service, then keep its plan in step with the Marketplace (I/O)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from system.billing import store as billing_store
from system.billing.catalogue import PRO
from system.clock import Clock
from system.credits import store as credits_store
from system.credits.ledger import Entry
from system.db.tables import customers, github_deliveries, marketplace_accounts
from system.marketplace.plans import Purchase, noreply_address, our_plan
from system.provisioning import emails
from system.provisioning.emails import EmailRejected
from system.provisioning.service import DuplicateCustomer, ProvisioningService, Signup

log = logging.getLogger(__name__)
Notify = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    """What a delivery did: `applied` False for a duplicate or an event about no one."""

    applied: bool
    customer_id: str | None = None
    plan: str | None = None
    duplicate: bool = False

    def body(self) -> dict[str, Any]:
        return {
            "received": True,
            "applied": self.applied,
            "duplicate": self.duplicate,
            "customer_id": self.customer_id,
            "plan": self.plan,
        }


class MarketplaceService:
    def __init__(
        self,
        engine: AsyncEngine,
        provisioning: ProvisioningService,
        clock: Clock,
        notify: Notify | None = None,
    ) -> None:
        self._engine = engine
        self._provisioning = provisioning
        self._clock = clock
        self._notify = notify

    async def seen(self, delivery_id: str) -> bool:
        async with self._engine.connect() as connection:
            row = await connection.execute(
                select(github_deliveries.c.id).where(github_deliveries.c.id == delivery_id)
            )
            return row.first() is not None

    async def apply(self, delivery_id: str, purchase: Purchase) -> Outcome:
        """Apply one delivery exactly once (a repeated delivery id changes nothing)."""
        if await self.seen(delivery_id):
            return Outcome(applied=False, duplicate=True)
        account = await self._account(purchase.account_id)
        customer_id = account["customer_id"] if account else None
        if customer_id is None and purchase.action in {"purchased", "changed"}:
            customer_id = await self._provision(purchase)
        now = self._clock.now()
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    github_deliveries.insert().values(
                        id=delivery_id,
                        event="marketplace_purchase",
                        action=purchase.action,
                        received_at=now,
                    )
                )
                if customer_id is None:
                    log.info("%s for unknown account %s", purchase.action, purchase.login)
                    return Outcome(applied=False)
                plan = await self._apply(connection, customer_id, purchase, account, now)
        except IntegrityError:
            return Outcome(applied=False, duplicate=True)
        if self._notify:
            await self._notify(customer_id, f"marketplace_{purchase.action}")
        return Outcome(applied=True, customer_id=customer_id, plan=plan)

    async def _account(self, account_id: int) -> dict[str, Any] | None:
        async with self._engine.connect() as connection:
            row = (
                (
                    await connection.execute(
                        select(marketplace_accounts).where(
                            marketplace_accounts.c.github_account_id == account_id
                        )
                    )
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    async def _provision(self, purchase: Purchase) -> str:
        """The customer for a new GitHub account: a new one from the same onboarding as a
        signup, or the existing customer with the account's address."""
        signup = Signup(email=purchase.email, name=purchase.login, github_org=purchase.login)
        try:
            return (await self._provisioning.onboard(signup)).customer_id
        except EmailRejected:
            fallback = noreply_address(purchase.account_id, purchase.login)
            signup = Signup(email=fallback, name=purchase.login, github_org=purchase.login)
            return await self._onboard_or_existing(signup)
        except DuplicateCustomer:
            return await self._existing(signup.email)

    async def _onboard_or_existing(self, signup: Signup) -> str:
        try:
            return (await self._provisioning.onboard(signup)).customer_id
        except DuplicateCustomer:
            return await self._existing(signup.email)

    async def _existing(self, email: str) -> str:
        key = emails.normalise(email).key
        async with self._engine.connect() as connection:
            row = await connection.execute(
                select(customers.c.id).where(customers.c.email_key == key)
            )
            return str(row.scalar_one())

    async def _apply(
        self,
        connection: AsyncConnection,
        customer_id: str,
        purchase: Purchase,
        account: dict[str, Any] | None,
        now: datetime,
    ) -> str:
        customer = await billing_store.lock_customer(connection, customer_id)
        assert customer is not None
        plan = str(customer["plan"])
        values: dict[str, Any] = {"updated_at": now}
        if purchase.action in {"purchased", "changed"}:
            plan = our_plan(purchase.plan, on_free_trial=purchase.on_free_trial)
            values.update(
                marketplace_plan_id=purchase.plan.id,
                marketplace_plan_name=purchase.plan.name,
                plan=plan,
                on_free_trial=purchase.on_free_trial,
                free_trial_ends_on=purchase.free_trial_ends_on,
                next_billing_date=purchase.next_billing_date,
                pending_plan_name=None,
                pending_effective_date=None,
                cancelled_at=None,
            )
            if plan == "pro":
                cycle = purchase.next_billing_date or purchase.effective_date or now
                grant = Entry(
                    PRO.credits_per_period,
                    "marketplace_grant",
                    f"marketplace:{purchase.account_id}:{cycle.date().isoformat()}",
                )
                await credits_store.post_once(connection, customer_id, grant, now)
        elif purchase.action == "cancelled":
            card = await billing_store.default_payment_method(connection, customer_id)
            plan = "payg" if card else "trial"
            values.update(
                plan=plan,
                cancelled_at=purchase.effective_date or now,
                pending_plan_name=None,
                pending_effective_date=None,
            )
        elif purchase.action == "pending_change":
            values.update(
                pending_plan_name=purchase.plan.name,
                pending_effective_date=purchase.effective_date,
            )
        else:  # pending_change_cancelled
            values.update(pending_plan_name=None, pending_effective_date=None)
        await billing_store.set_customer(connection, customer_id, plan=plan)
        await self._save_account(connection, customer_id, purchase, account, values)
        return plan

    @staticmethod
    async def _save_account(
        connection: AsyncConnection,
        customer_id: str,
        purchase: Purchase,
        account: dict[str, Any] | None,
        values: dict[str, Any],
    ) -> None:
        identity = {"login": purchase.login, "account_type": purchase.account_type}
        if account is None:
            row = {
                "github_account_id": purchase.account_id,
                "customer_id": customer_id,
                "marketplace_plan_id": purchase.plan.id,
                "marketplace_plan_name": purchase.plan.name,
                "plan": "trial",
                **identity,
                **values,
            }
            await connection.execute(marketplace_accounts.insert().values(**row))
            return
        await connection.execute(
            update(marketplace_accounts)
            .where(marketplace_accounts.c.github_account_id == purchase.account_id)
            .values(**identity, **values)
        )

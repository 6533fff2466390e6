"""The provisioning use cases: onboard a customer, complete its Stripe side, manage keys."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from system import idempotency
from system.clock import Clock
from system.credits import store as credits_store
from system.credits.ledger import Entry
from system.ids import new_id
from system.provisioning import api_keys, emails, store
from system.provisioning.follow_ups import StripeFollowUps
from system.stripe_gateway import StripeCustomerRequest, StripeGateway, StripeUnavailable
from system.timestamps import iso

log = logging.getLogger(__name__)

ONBOARD_SCOPE = "onboard"
SYNC_BACKOFF_BASE = timedelta(seconds=5)
SYNC_BACKOFF_MAX = timedelta(hours=1)
# In worker mode, how long a queued customer waits past its due time before the API
# processes' upkeep takes it: the Stripe worker is then not running.
WORKER_ABSENT_AFTER = timedelta(minutes=1)
# After-response Stripe calls in flight at once, per API process (as the worker's default).
FOLLOW_UP_CONCURRENCY = 8
# What a Stripe customer is made from (the queue's rows carry these, with customer_id).
STRIPE_CUSTOMER_FIELDS = ("email", "name", "company", "github_org")


class DuplicateCustomer(Exception):
    """A customer with this address exists already."""


@dataclass(frozen=True)
class Signup:
    email: str
    name: str
    company: str | None = None
    github_org: str | None = None


@dataclass(frozen=True)
class OnboardResult:
    body: dict[str, Any]
    customer_id: str
    replayed: bool = False


@dataclass(frozen=True)
class ProvisioningPolicy:
    trial_credits: int = 5
    key_environment: str = "test"
    check_deliverability: bool = False
    # False: the Stripe customer is left to the Stripe worker (STRIPE_SYNC_MODE=worker)
    stripe_after_signup: bool = True


def public_customer(row: dict[str, Any]) -> dict[str, Any]:
    """The customer as the API shows it."""
    return {
        "id": row["id"],
        "email": row["email"],
        "name": row["name"],
        "company": row["company"],
        "github_org": row["github_org"],
        "plan": row["plan"],
        "status": row["status"],
        "credit_balance": row["credit_balance"],
        "created_at": row["created_at"].isoformat(),
    }


def public_key(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "prefix": row["prefix"],
        "label": row["label"],
        "created_at": iso(row["created_at"]),
        "last_used_at": iso(row["last_used_at"]),
        "revoked_at": iso(row["revoked_at"]),
    }


class ProvisioningService:
    """Signup to a working API key: one transaction for everything local, Stripe after."""

    def __init__(
        self,
        engine: AsyncEngine,
        stripe: StripeGateway,
        clock: Clock,
        policy: ProvisioningPolicy,
    ) -> None:
        self._engine = engine
        self._stripe = stripe
        self._clock = clock
        self._policy = policy
        self._follow_ups = StripeFollowUps(
            functools.partial(self._sync_rows, concurrency=FOLLOW_UP_CONCURRENCY)
        )

    async def onboard(self, signup: Signup, idempotency_key: str | None = None) -> OnboardResult:
        """Create customer, key and trial credits atomically, and queue its Stripe customer.

        Raises EmailRejected, DuplicateCustomer or IdempotencyKeyReused; nothing is written
        unless everything is.
        """
        email = emails.normalise(
            signup.email, check_deliverability=self._policy.check_deliverability
        )
        if not idempotency_key:
            try:
                return await self._create(signup, email, None, b"")
            except IntegrityError:
                raise DuplicateCustomer(email.address) from None
        key = idempotency.IdempotencyKey(ONBOARD_SCOPE, idempotency_key)
        fingerprint = idempotency.request_fingerprint(
            {
                "email": email.key,
                "name": signup.name,
                "company": signup.company,
                "github_org": signup.github_org,
            }
        )
        replay = await self._replay(key, fingerprint)
        if replay:
            return replay
        try:
            return await self._create(signup, email, key, fingerprint)
        except IntegrityError:
            replay = await self._replay(key, fingerprint)  # a concurrent twin won the race
            if replay:
                return replay
            raise DuplicateCustomer(email.address) from None

    async def _replay(
        self, key: idempotency.IdempotencyKey, fingerprint: bytes
    ) -> OnboardResult | None:
        async with self._engine.connect() as connection:
            stored = await idempotency.lookup(connection, key, fingerprint)
        if stored is None:
            return None
        return OnboardResult(stored.body, stored.body["customer"]["id"], replayed=True)

    async def _create(
        self,
        signup: Signup,
        email: emails.Email,
        key: idempotency.IdempotencyKey | None,
        fingerprint: bytes,
    ) -> OnboardResult:
        now = self._clock.now()
        customer_id = new_id("cust")
        issued = api_keys.issue(self._policy.key_environment)
        trial = self._policy.trial_credits
        customer = {
            "id": customer_id,
            "email": email.address,
            "email_key": email.key,
            "name": signup.name,
            "company": signup.company,
            "github_org": signup.github_org,
            "plan": "trial",
            "status": "active",
            "credit_balance": trial,  # the opening grant below, in the same transaction
            "created_at": now,
        }
        body = {"customer": public_customer(customer), "api_key": issued.plaintext}
        key_row = {
            "id": new_id("key"),
            "customer_id": customer_id,
            "prefix": issued.prefix,
            "key_hash": issued.key_hash,
            "label": "default",
            "created_at": now,
        }
        grant = (
            credits_store.entry_row(
                customer_id, Entry(trial, "trial_grant", "trial:signup"), trial, now
            )
            if trial
            else None
        )
        remembered = (
            idempotency.stored_row(key, fingerprint, idempotency.StoredResponse(201, body), now)
            if key
            else None
        )
        await store.insert_signup(self._engine, customer, key_row, grant, remembered, now)
        return OnboardResult(body, customer_id)

    def stripe_follow_up(self, result: OnboardResult) -> Callable[[], Awaitable[Any]] | None:
        """What to run once a signup's answer is out: create its Stripe customer. None for a
        replayed answer, or when the Stripe worker does it."""
        if result.replayed or not self._policy.stripe_after_signup:
            return None
        row = {
            "customer_id": result.customer_id,
            **{field: result.body["customer"][field] for field in STRIPE_CUSTOMER_FIELDS},
            "stripe_customer_id": None,
        }
        return functools.partial(self._follow_ups.create, row)

    async def sync_stripe_customer(self, customer_id: str) -> str | None:
        """Create the customer's Stripe customer if it has none; its id, or None if Stripe
        failed (the attempt is recorded and retried later with backoff)."""
        async with self._engine.connect() as connection:
            customer = await store.get_customer(connection, customer_id)
        if customer is None:
            return None
        if customer["stripe_customer_id"]:
            return str(customer["stripe_customer_id"])
        stripe_id = await self._create_at_stripe(customer_id, customer)
        if stripe_id:
            await self._record_stripe_customers({customer_id: stripe_id})
        return stripe_id

    async def _create_at_stripe(self, customer_id: str, customer: dict[str, Any]) -> str | None:
        """The Stripe customer's id, or None when Stripe failed and the sync was postponed."""
        request = StripeCustomerRequest(
            email=customer["email"],
            name=customer["name"],
            customer_id=customer_id,
            company=customer["company"],
            github_org=customer["github_org"],
        )
        try:
            return await self._stripe.create_customer(request)
        except StripeUnavailable as error:
            await self._postpone(customer_id, str(error))
            log.warning("stripe customer for %s deferred: %s", customer_id, error)
            return None

    async def _record_stripe_customers(self, created: dict[str, str]) -> None:
        if created:
            async with self._engine.begin() as connection:
                await store.complete_stripe_syncs(connection, created)

    async def _record_each(self, created: dict[str, str]) -> dict[str, str]:
        """Record a pass's Stripe customers in one transaction (one each cost about as much
        CPU as the Stripe calls); if one breaks a constraint, each goes in on its own, so
        that the others still land. Those recorded."""
        try:
            await self._record_stripe_customers(created)
            return created
        except IntegrityError:
            recorded = {}
            for ours, theirs in created.items():
                try:
                    await self._record_stripe_customers({ours: theirs})
                except IntegrityError as error:
                    log.error("stripe customer for %s failed: %r", ours, error)
                else:
                    recorded[ours] = theirs
            return recorded

    async def _postpone(self, customer_id: str, error: str) -> None:
        async with self._engine.begin() as connection:
            queued = await store.get_stripe_sync(connection, customer_id)
            attempts = queued["attempts"] if queued else 0
            delay = min(SYNC_BACKOFF_BASE * (2 ** min(attempts, 16)), SYNC_BACKOFF_MAX)
            await store.postpone_stripe_sync(
                connection, customer_id, error, self._clock.now() + delay
            )

    async def sync_pending(
        self, *, limit: int = 100, include_not_due: bool = False, concurrency: int = 1
    ) -> dict[str, int]:
        """Retry queued Stripe customers that are due (or all, with include_not_due), up to
        `limit` of them, `concurrency` at a time."""
        horizon = self._clock.now() + (SYNC_BACKOFF_MAX * 2 if include_not_due else timedelta(0))
        return await self._sync_due_by(horizon, limit, concurrency)

    async def sync_left_behind(self) -> dict[str, int]:
        """The API processes' upkeep: retry queued Stripe customers that are due. In worker
        mode only those the worker has left past WORKER_ABSENT_AFTER: the queue is the
        worker's, and a burst of signups it is about to take would cost the API processes
        CPU that their answers need."""
        if self._policy.stripe_after_signup:
            return await self.sync_pending()
        return await self._sync_due_by(self._clock.now() - WORKER_ABSENT_AFTER, 100, 1)

    async def _sync_due_by(self, horizon: datetime, limit: int, concurrency: int) -> dict[str, int]:
        async with self._engine.connect() as connection:
            pending = await store.due_stripe_syncs(connection, horizon, limit)
        done = len(await self._sync_rows(pending, concurrency))
        return {"synced": done, "failed": len(pending) - done}

    async def _sync_rows(self, pending: list[dict[str, Any]], concurrency: int) -> dict[str, str]:
        """Make the Stripe customers of queued rows, `concurrency` at a time, and record
        them in one transaction; those recorded (customer id -> Stripe id)."""
        slots = asyncio.Semaphore(concurrency)

        async def create(row: dict[str, Any]) -> str | None:
            if row["stripe_customer_id"]:  # made meanwhile: only the queue row is left
                return str(row["stripe_customer_id"])
            async with slots:
                return await self._create_at_stripe(row["customer_id"], row)

        # One customer's unexpected error must not leave the others running unawaited.
        outcomes = await asyncio.gather(*(create(row) for row in pending), return_exceptions=True)
        created: dict[str, str] = {}
        for row, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.error("stripe customer for %s failed: %r", row["customer_id"], outcome)
            elif outcome:
                created[row["customer_id"]] = outcome
        return await self._record_each(created)

"""The Stripe worker: creates the Stripe customers that signups queued, in its own process.

With `STRIPE_SYNC_MODE=worker` a signup only queues its Stripe side, in the signup's own
transaction, and `rsolv-billing stripe-worker` completes the queue: the API's processes
spend no time on Stripe, and the worker runs at a lower CPU priority, so a burst of signups
is answered first and reaches Stripe just after. The queue is durable and each Stripe
customer is created with an idempotency key of its own, so a restart loses nothing and a
second worker (or `sync-stripe`, or billing needing the customer first) never makes a
second Stripe customer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from system.provisioning.service import ProvisioningService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerPolicy:
    poll_seconds: float = 0.2  # how long an empty queue is left before looking again
    batch: int = 100  # queued customers taken per pass
    concurrency: int = 8  # Stripe calls in flight at once
    upkeep_seconds: float = 30.0  # how often the other background work runs


async def run_worker(
    provisioning: ProvisioningService,
    policy: WorkerPolicy,
    stop: asyncio.Event,
    upkeep: Callable[[], Awaitable[object]] | None = None,
) -> dict[str, int]:
    """Complete due Stripe customers until `stop` is set; the totals synced and failed.
    `upkeep` (the settlement of intents a crash left pending) runs at the start and every
    `upkeep_seconds`.

    Failures are postponed with backoff by the service; an error of the worker's own (the
    database away) is logged and the loop goes on after a pause."""
    totals = {"synced": 0, "failed": 0}
    loop = asyncio.get_running_loop()
    upkeep_due = loop.time()
    while not stop.is_set():
        if upkeep is not None and loop.time() >= upkeep_due:
            upkeep_due = loop.time() + policy.upkeep_seconds
            try:
                await upkeep()
            except Exception:
                log.exception("stripe worker upkeep failed")
        try:
            outcome = await provisioning.sync_pending(
                limit=policy.batch, concurrency=policy.concurrency
            )
        except Exception:
            log.exception("stripe worker pass failed")
            outcome = {"synced": 0, "failed": 0}
        for name in totals:
            totals[name] += outcome[name]
        if outcome["synced"] + outcome["failed"] < policy.batch:  # caught up: wait for more
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), policy.poll_seconds)
    return totals

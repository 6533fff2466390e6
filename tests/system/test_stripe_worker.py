"""STRIPE_SYNC_MODE=worker: signup only queues its Stripe customer; the worker makes it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest
import stripe
from sqlalchemy import func, select

from system.db.tables import customers, stripe_sync_queue
from system.provisioning.worker import WorkerPolicy, run_worker
from system.settings import Settings
from tests.support import SystemUnderTest, eventually


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"stripe_sync_mode": "worker"})


def _signup(system: SystemUnderTest, email: str) -> str:
    response = system.client.post("/api/v1/customers/onboard", json={"email": email, "name": "W"})
    assert response.status_code == 201
    return str(response.json()["customer"]["id"])


def _stripe_ids(system: SystemUnderTest, email: str) -> list[str]:
    client = stripe.StripeClient(
        system.stripe_key,
        base_addresses={"api": system.emulator.base_url},  # type: ignore[attr-defined]
    )
    return [c.id for c in client.v1.customers.list(params={"email": email}).data]


def _queued(system: SystemUnderTest) -> int:
    return int(system.scalar(select(func.count()).select_from(stripe_sync_queue)))


def test_signup_leaves_the_stripe_customer_to_the_worker(system: SystemUnderTest) -> None:
    emails = [f"worker-{n}@example.com" for n in range(12)]
    ids = [_signup(system, email) for email in emails]
    # The answers are out (and Starlette has run any background task): nothing at Stripe.
    assert _queued(system) == 12
    assert all(_stripe_ids(system, email) == [] for email in emails)

    async def until_drained() -> dict[str, int]:
        stop = asyncio.Event()
        policy = WorkerPolicy(poll_seconds=0.01, batch=5, concurrency=3)
        worker = asyncio.create_task(run_worker(system.services.provisioning, policy, stop))
        for _ in range(1000):  # up to 10 s
            if not await _count_queued(system):
                break
            await asyncio.sleep(0.01)
        stop.set()
        return await worker

    assert system.call(until_drained) == {"synced": 12, "failed": 0}
    for customer_id, email in zip(ids, emails, strict=True):
        stripe_id = system.scalar(
            select(customers.c.stripe_customer_id).where(customers.c.id == customer_id)
        )
        assert _stripe_ids(system, email) == [stripe_id]


async def _count_queued(system: SystemUnderTest) -> int:
    async with system.services.engine.connect() as connection:
        query = select(func.count()).select_from(stripe_sync_queue)
        return int((await connection.execute(query)).scalar_one())


def test_a_failing_stripe_is_retried_later_and_the_worker_keeps_going(
    system: SystemUnderTest,
) -> None:
    system.emulator.state.faults.configure(error_rate=1.0)  # type: ignore[attr-defined]
    _signup(system, "worker-down@example.com")

    async def one_pass() -> dict[str, int]:
        stop = asyncio.Event()
        worker = asyncio.create_task(
            run_worker(system.services.provisioning, WorkerPolicy(poll_seconds=0.01), stop)
        )
        await asyncio.sleep(0.2)
        stop.set()
        return await worker

    # One attempt, then backoff: the row is not due again within the pass.
    assert system.call(one_pass) == {"synced": 0, "failed": 1}
    assert _queued(system) == 1
    system.emulator.state.faults.clear()  # type: ignore[attr-defined]
    system.clock.advance(seconds=5)
    assert system.call(one_pass) == {"synced": 1, "failed": 0}
    assert _queued(system) == 0


def test_the_worker_command_runs_until_stopped(system: SystemUnderTest) -> None:
    settings = system.services.settings
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "STRIPE_API_BASE": settings.stripe_api_base,
        "STRIPE_API_KEY": settings.stripe_api_key,
    }
    worker = subprocess.Popen(
        # normal priority: on a busy test machine an idle-priority worker could wait out
        # the test
        [
            sys.executable,
            "-m",
            "system.cli",
            "stripe-worker",
            "--poll-seconds",
            "0.05",
            "--priority",
            "normal",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        _signup(system, "worker-process@example.com")
        eventually(lambda: _queued(system) == 0)
        assert len(_stripe_ids(system, "worker-process@example.com")) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=20)
    assert worker.returncode == 0
    assert '"synced": 1' in out


def test_a_pass_that_fails_is_logged_and_the_worker_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database away for one pass: an edge no real component reaches on demand."""

    class DatabaseAwayOnce:
        def __init__(self, stop: asyncio.Event) -> None:
            self.passes, self.stop = 0, stop

        async def sync_pending(self, **_: int) -> dict[str, int]:
            self.passes += 1
            if self.passes == 1:
                raise OSError("database away")
            if self.passes == 3:
                self.stop.set()
            return {"synced": 1, "failed": 0}

    async def run() -> dict[str, int]:
        stop = asyncio.Event()
        service = DatabaseAwayOnce(stop)
        return await run_worker(service, WorkerPolicy(poll_seconds=0.01), stop)  # type: ignore[arg-type]

    totals = asyncio.run(run())
    assert totals["failed"] == 0 and totals["synced"] >= 2
    assert "stripe worker pass failed" in caplog.text


def test_one_customer_failing_unexpectedly_does_not_stop_the_others(
    system: SystemUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    """B's Stripe customer is already recorded on A (damaged data): completing B breaks
    the unique constraint; B counts as failed and is logged, C is synced all the same."""
    from sqlalchemy import update

    from system.stripe_gateway import StripeCustomerRequest

    a, b, c = (_signup(system, f"worker-{n}@example.com") for n in "abc")
    gateway = system.services.stripe
    request = StripeCustomerRequest(email="worker-b@example.com", name="W", customer_id=b)
    b_at_stripe = system.call(gateway.create_customer, request)  # what B's sync will get back

    async def damage_and_pass() -> dict[str, int]:
        async with system.services.engine.begin() as connection:
            await connection.execute(
                update(customers).where(customers.c.id == a).values(stripe_customer_id=b_at_stripe)
            )
        return await system.services.provisioning.sync_pending(concurrency=3)

    assert system.call(damage_and_pass) == {"synced": 2, "failed": 1}  # a (no-op), c; b failed
    assert f"stripe customer for {b} failed" in caplog.text
    assert system.scalar(select(customers.c.stripe_customer_id).where(customers.c.id == c))


def test_a_queued_customer_whose_stripe_customer_exists_only_leaves_the_queue(
    system: SystemUnderTest,
) -> None:
    """Billing can make the Stripe customer first; the worker then makes no second one."""
    customer_id = _signup(system, "worker-first@example.com")
    stripe_id = system.call(system.services.provisioning.sync_stripe_customer, customer_id)
    assert stripe_id

    async def requeue_and_pass() -> dict[str, int]:
        async with system.services.engine.begin() as connection:
            await connection.execute(
                stripe_sync_queue.insert().values(
                    customer_id=customer_id,
                    attempts=0,
                    next_attempt_at=system.clock.now(),
                    created_at=system.clock.now(),
                )
            )
        return await system.services.provisioning.sync_pending()

    assert system.call(requeue_and_pass) == {"synced": 1, "failed": 0}
    assert _queued(system) == 0
    assert _stripe_ids(system, "worker-first@example.com") == [stripe_id]


def test_the_api_upkeep_leaves_the_queue_to_the_worker_until_it_seems_away(
    system: SystemUnderTest,
) -> None:
    """In worker mode the API processes' upkeep pass makes no Stripe calls for a burst of
    signups the worker is about to take (they would cost the answers' CPU); a customer
    still queued a minute after it was due means no worker is running, and then it does."""
    from system.app import maintain

    _signup(system, "worker-away@example.com")
    assert system.call(maintain, system.services)["synced"] == 0
    assert _queued(system) == 1
    system.clock.advance(seconds=59)
    assert system.call(maintain, system.services)["synced"] == 0
    system.clock.advance(seconds=2)
    assert system.call(maintain, system.services)["synced"] == 1
    assert _queued(system) == 0
    assert len(_stripe_ids(system, "worker-away@example.com")) == 1

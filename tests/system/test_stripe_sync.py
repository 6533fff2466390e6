"""Deferred Stripe customers: retried with backoff, completed once, never duplicated."""

from __future__ import annotations

from datetime import timedelta

import stripe
from sqlalchemy import select

from system.db.tables import stripe_sync_queue
from system.provisioning.service import SYNC_BACKOFF_BASE
from tests.support import SystemUnderTest, eventually


def _signup(system: SystemUnderTest, email: str) -> str:
    response = system.client.post("/api/v1/customers/onboard", json={"email": email, "name": "S"})
    assert response.status_code == 201
    return str(response.json()["customer"]["id"])


def test_failures_back_off_then_complete_once(system: SystemUnderTest) -> None:
    system.emulator.state.faults.configure(error_rate=1.0)  # type: ignore[attr-defined]
    customer_id = _signup(system, "backoff@example.com")
    queued = system.call(_queue_row, system, customer_id)
    assert queued["attempts"] == 1
    assert queued["next_attempt_at"] == system.clock.now() + SYNC_BACKOFF_BASE * 1
    assert "500" in queued["last_error"] or queued["last_error"]

    # Not due yet: a pass does nothing.
    assert system.call(system.services.provisioning.sync_pending) == {"synced": 0, "failed": 0}
    system.clock.advance(seconds=5)
    assert system.call(system.services.provisioning.sync_pending) == {"synced": 0, "failed": 1}
    queued = system.call(_queue_row, system, customer_id)
    assert queued["attempts"] == 2
    assert queued["next_attempt_at"] == system.clock.now() + timedelta(seconds=10)

    system.emulator.state.faults.clear()  # type: ignore[attr-defined]
    system.clock.advance(seconds=10)
    assert system.call(system.services.provisioning.sync_pending) == {"synced": 1, "failed": 0}
    assert system.call(_queue_row, system, customer_id) is None
    # A second sync of a synced customer is a no-op that answers its id.
    stripe_id = system.call(system.services.provisioning.sync_stripe_customer, customer_id)
    client = stripe.StripeClient(
        system.stripe_key,
        base_addresses={"api": system.emulator.base_url},  # type: ignore[attr-defined]
    )
    listed = client.v1.customers.list(params={"email": "backoff@example.com"})
    assert [c.id for c in listed.data] == [stripe_id]


def test_syncing_an_unknown_customer_does_nothing(system: SystemUnderTest) -> None:
    assert system.call(system.services.provisioning.sync_stripe_customer, "cust_nope") is None


async def _queue_row(system: SystemUnderTest, customer_id: str) -> dict[str, object] | None:
    async with system.services.engine.connect() as connection:
        row = (
            (
                await connection.execute(
                    select(stripe_sync_queue).where(stripe_sync_queue.c.customer_id == customer_id)
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


def test_a_slow_stripe_that_created_the_customer_is_not_asked_twice(
    system: SystemUnderTest,
) -> None:
    """The first call times out after Stripe made the customer; the retry, with the same
    idempotency key, gets that customer back instead of a second one."""
    from system.stripe_gateway import StripeCustomerRequest, StripeGateway, StripeUnavailable

    base = system.emulator.base_url  # type: ignore[attr-defined]
    impatient = StripeGateway(system.stripe_key, base, timeout_seconds=0.2, max_network_retries=0)
    request = StripeCustomerRequest(email="slow@example.com", name="Slow", customer_id="cust_slow")
    system.emulator.state.faults.configure(latency_ms=600)  # type: ignore[attr-defined]
    try:
        system.call(impatient.create_customer, request)
    except StripeUnavailable:
        pass
    else:  # pragma: no cover - the latency must outlast the timeout
        raise AssertionError("expected a timeout")
    system.emulator.state.faults.clear()  # type: ignore[attr-defined]
    client = stripe.StripeClient(system.stripe_key, base_addresses={"api": base})

    def made_by_the_abandoned_request() -> list[str]:
        return [c.id for c in client.v1.customers.list(params={"email": "slow@example.com"}).data]

    made = eventually(made_by_the_abandoned_request)
    stripe_id = system.call(impatient.create_customer, request)
    system.call(impatient.close)
    assert made == [stripe_id]
    assert made_by_the_abandoned_request() == [stripe_id]

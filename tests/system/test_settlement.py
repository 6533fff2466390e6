"""Settling what a fault left pending (system/billing/settlement.py): Stripe slower than
our timeout made the object after we gave up, or never made it; the pass, a retry and the
`payment_intent.*` webhook each settle by asking Stripe."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from system.billing import intents
from system.billing.settlement import SETTLE_AFTER
from system.db.tables import fixes, stripe_intents, subscriptions
from tests.support import SystemUnderTest

NOW = timedelta(0)


def _customer(system: SystemUnderTest, card: str = "pm_card_visa") -> dict[str, str]:
    signup = system.client.post(
        "/api/v1/customers/onboard", json={"email": "settle@example.com", "name": "Settle"}
    )
    headers = {"Authorization": f"Bearer {signup.json()['api_key']}"}
    added = system.client.post(
        "/api/v1/billing/payment-methods", json={"payment_method": card}, headers=headers
    )
    assert added.status_code == 201, added.text
    for index in range(added.json()["credit_balance"]):
        body = {"fix_id": f"drain-{index}", "repo": "acme/api", "pr_number": 1}
        assert system.client.post("/api/v1/usage/fix-deployed", json=body, headers=headers)
    return headers


def _slower_than_our_timeout(system: SystemUnderTest, path: str, **fault: Any) -> None:
    timeout = system.services.settings.stripe_timeout_seconds
    system.emulator.state.faults.configure(  # type: ignore[attr-defined]
        latency_ms=int((timeout + 0.5) * 1000), path_prefix=path, methods=["POST"], **fault
    )


def _fix(system: SystemUnderTest, headers: dict[str, str], fix_id: str) -> Any:
    body = {"fix_id": fix_id, "repo": "acme/api", "pr_number": 2}
    return system.client.post("/api/v1/usage/fix-deployed", json=body, headers=headers)


def _statuses(system: SystemUnderTest) -> list[str]:
    async def read() -> list[str]:
        async with system.services.engine.connect() as connection:
            rows = await connection.execute(
                select(stripe_intents.c.status).order_by(stripe_intents.c.created_at)
            )
            return [row.status for row in rows]

    return system.call(read)


def _settle(system: SystemUnderTest) -> list[str]:
    time.sleep(1.0)  # Stripe finishes what it was still doing after our timeout
    system.emulator.state.faults.clear()  # type: ignore[attr-defined]
    report = system.call(system.services.billing.settlement.run, NOW)
    return [outcome for _, outcome in report.settled]


def test_a_charge_stripe_made_after_our_timeout_is_recorded(system: SystemUnderTest) -> None:
    headers = _customer(system)
    _slower_than_our_timeout(system, "/v1/payment_intents")
    assert _fix(system, headers, "late").status_code == 503
    assert _statuses(system) == [intents.PENDING]
    assert _settle(system) == [intents.SUCCEEDED]
    assert system.scalar(select(func.count()).select_from(fixes).where(fixes.c.fix_id == "late"))
    retried = _fix(system, headers, "late")
    assert retried.status_code == 200 and retried.json()["charged"] is True


def test_a_charge_stripe_never_made_is_abandoned_and_tried_anew(system: SystemUnderTest) -> None:
    headers = _customer(system)
    system.emulator.state.faults.configure(  # type: ignore[attr-defined]
        timeout_rate=1.0, timeout_seconds=3.0, path_prefix="/v1/payment_intents", methods=["POST"]
    )
    assert _fix(system, headers, "never").status_code == 503
    assert _settle(system) == [intents.ABANDONED]
    charged = _fix(system, headers, "never")
    assert charged.status_code == 201 and charged.json()["charged"] is True
    assert _statuses(system) == [intents.ABANDONED, intents.SUCCEEDED]


def test_a_declined_charge_found_later_fails_its_intent(system: SystemUnderTest) -> None:
    headers = _customer(system, card="pm_card_visa")
    added = system.client.post(
        "/api/v1/billing/payment-methods",
        json={"payment_method": "pm_card_chargeCustomerFail"},
        headers=headers,
    )
    assert added.status_code == 201
    _slower_than_our_timeout(system, "/v1/payment_intents")
    assert _fix(system, headers, "declined").status_code == 503
    assert _settle(system) == [intents.FAILED]
    assert _fix(system, headers, "declined").status_code == 402


def test_a_subscription_stripe_made_after_our_timeout_is_applied(system: SystemUnderTest) -> None:
    headers = _customer(system)
    _slower_than_our_timeout(system, "/v1/subscriptions")
    answer = system.client.post(
        "/api/v1/billing/subscription", json={"plan": "pro"}, headers=headers
    )
    assert answer.status_code == 503
    assert _settle(system) == [intents.SUCCEEDED]
    assert system.scalar(select(subscriptions.c.status)) == "active"
    again = system.client.post(
        "/api/v1/billing/subscription", json={"plan": "pro"}, headers=headers
    )
    assert again.status_code == 409


def test_the_payment_intent_webhook_settles_a_pending_charge(system: SystemUnderTest) -> None:
    headers = _customer(system)
    _slower_than_our_timeout(system, "/v1/payment_intents")
    assert _fix(system, headers, "hooked").status_code == 503
    time.sleep(1.0)
    system.emulator.state.faults.clear()  # type: ignore[attr-defined]
    made = system.call(system.services.stripe.payment_intents_of, _stripe_customer(system))
    [payment] = [p for p in made if p["metadata"].get("fix_id") == "hooked"]
    events = system.services.billing.stripe_events
    system.call(events.apply, "payment_intent.succeeded", payment)
    assert _statuses(system) == [intents.PENDING]  # young: its own request may record it
    system.clock.advance(seconds=SETTLE_AFTER.total_seconds())
    system.call(events.apply, "payment_intent.succeeded", payment)
    assert _statuses(system) == [intents.SUCCEEDED]
    system.call(events.apply, "payment_intent.succeeded", payment)  # a redelivery: no-op
    assert _fix(system, headers, "hooked").json()["payment_intent"] == payment["id"]


def _stripe_customer(system: SystemUnderTest) -> str:
    from system.db.tables import customers

    return str(system.scalar(select(customers.c.stripe_customer_id)))


def test_the_report_says_what_it_could_not_settle(system: SystemUnderTest) -> None:
    headers = _customer(system)
    _slower_than_our_timeout(system, "/v1/payment_intents")
    assert _fix(system, headers, "away").status_code == 503
    time.sleep(1.0)
    system.emulator.state.faults.configure(error_rate=1.0)  # type: ignore[attr-defined]
    report = system.call(system.services.billing.settlement.run, NOW)
    assert [o for _, o in report.settled] == ["unsettled"]
    assert len(report.unsettled) == 1
    assert "'away'" in report.lines()[0] and "1 unsettled" in report.summary()

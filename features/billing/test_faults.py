"""Steps for features/billing/faults.feature: double clicks, slow Stripe, hashed keys."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import select

from system.billing.stripe_objects import LIVE_STATUSES
from system.db.tables import customers
from tests.support import LiveSystem, eventually

scenarios("billing/faults.feature")


def _auth(ctx: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx['api_key']}"}


def _post(live: LiveSystem, ctx: dict[str, Any], path: str, body: dict[str, Any]) -> Any:
    """On a client of its own: the steps click from several threads at once."""
    with httpx.Client(base_url=live.url, timeout=30) as http:
        return http.post(path, json=body, headers=_auth(ctx))


def _stripe_customer(live: LiveSystem, ctx: dict[str, Any]) -> str:
    query = select(customers.c.stripe_customer_id).where(customers.c.id == ctx["customer_id"])
    stripe_id = live.scalar(query)
    assert stripe_id
    return str(stripe_id)


def _subscribe(live: LiveSystem, ctx: dict[str, Any]) -> Any:
    return _post(live, ctx, "/api/v1/billing/subscription", {"plan": "pro"})


def _fix(live: LiveSystem, ctx: dict[str, Any], fix_id: str) -> Any:
    body = {"fix_id": fix_id, "repo": "acme/api", "pr_number": 7}
    return _post(live, ctx, "/api/v1/usage/fix-deployed", body)


@given(parsers.parse('a customer with the card "{token}" and no credits left'))
def paying_customer(live_system: LiveSystem, billing_ctx: dict[str, Any], token: str) -> None:
    signup = live_system.http.post(
        "/api/v1/customers/onboard", json={"email": "faults@example.com", "name": "Faults"}
    )
    assert signup.status_code == 201, signup.text
    billing_ctx["api_key"] = signup.json()["api_key"]
    billing_ctx["customer_id"] = signup.json()["customer"]["id"]
    card = _post(
        live_system, billing_ctx, "/api/v1/billing/payment-methods", {"payment_method": token}
    )
    assert card.status_code == 201, card.text
    for index in range(card.json()["credit_balance"]):
        assert _fix(live_system, billing_ctx, f"drain-{index}").status_code == 201
    billing_ctx["answers"] = []


@given(parsers.parse("Stripe takes {seconds:f} seconds to create a subscription"))
def slow_subscriptions(emulator: Any, seconds: float) -> None:
    emulator.state.faults.configure(
        latency_ms=int(seconds * 1000), path_prefix="/v1/subscriptions", methods=["POST"]
    )


@given("the customer is subscribed to Pro")
def subscribed(live_system: LiveSystem, billing_ctx: dict[str, Any]) -> None:
    answer = _subscribe(live_system, billing_ctx)
    assert answer.status_code == 201, answer.text


@given("a second Pro subscription exists at Stripe for the customer")
def second_subscription(live_system: LiveSystem, billing_ctx: dict[str, Any]) -> None:
    """As the double click of the code before the fix left it."""
    stripe_id = _stripe_customer(live_system, billing_ctx)
    price = live_system.stripe.v1.prices.list(params={"lookup_keys": ["rsolv_pro_monthly"]})
    live_system.stripe.v1.subscriptions.create(
        params={"customer": stripe_id, "items": [{"price": price.data[0].id}]}
    )
    assert _live_subscriptions(live_system, billing_ctx) == 2


@when(parsers.parse('the customer clicks "subscribe to Pro" twice, one second apart'))
def double_click(live_system: LiveSystem, billing_ctx: dict[str, Any]) -> None:
    answers: list[Any] = []
    first = threading.Thread(target=lambda: answers.append(_subscribe(live_system, billing_ctx)))
    first.start()
    time.sleep(1.0)
    live_system.clock.advance(seconds=1)  # the system's clock moves with the world's
    answers.append(_subscribe(live_system, billing_ctx))
    first.join()
    billing_ctx["answers"] = answers


@when(parsers.parse('the customer clicks "subscribe to Pro" {count:d} times, a second apart'))
def many_clicks(live_system: LiveSystem, billing_ctx: dict[str, Any], count: int) -> None:
    with ThreadPoolExecutor(count) as pool:
        clicks = []
        for _ in range(count):
            clicks.append(pool.submit(_subscribe, live_system, billing_ctx))
            time.sleep(0.3)
            live_system.clock.advance(seconds=1)
        billing_ctx["answers"] = [click.result() for click in clicks]


@when("the customer cancels the subscription now")
def cancel_now(live_system: LiveSystem, billing_ctx: dict[str, Any]) -> None:
    with httpx.Client(base_url=live_system.url, timeout=30) as http:
        answer = http.request(
            "DELETE",
            "/api/v1/billing/subscription",
            json={"at_period_end": False},
            headers=_auth(billing_ctx),
        )
    assert answer.status_code == 200, answer.text


@when(parsers.parse('the customer deploys the fix "{fix_id}"'))
def deploy(live_system: LiveSystem, billing_ctx: dict[str, Any], fix_id: str) -> None:
    billing_ctx["fix_id"] = fix_id
    billing_ctx["fix"] = _fix(live_system, billing_ctx, fix_id)


@then("no answer was a server error")
def no_server_error(billing_ctx: dict[str, Any]) -> None:
    statuses = [answer.status_code for answer in billing_ctx["answers"]]
    assert statuses and all(status < 500 for status in statuses), statuses
    assert 201 in statuses, statuses


def _live_subscriptions(live: LiveSystem, ctx: dict[str, Any]) -> int:
    subs = live.stripe.v1.subscriptions.list(
        params={"customer": _stripe_customer(live, ctx), "status": "all"}
    )
    return sum(1 for sub in subs.data if sub.status in LIVE_STATUSES)


@then(parsers.re(r"Stripe holds exactly (?P<count>\d+) live subscriptions? for the customer"))
def live_subscriptions(live_system: LiveSystem, billing_ctx: dict[str, Any], count: str) -> None:
    assert _live_subscriptions(live_system, billing_ctx) == int(count)


@then(parsers.parse("Stripe holds exactly {count:d} paid invoice for the customer"))
def paid_invoices(live_system: LiveSystem, billing_ctx: dict[str, Any], count: int) -> None:
    invoices = live_system.stripe.v1.invoices.list(
        params={"customer": _stripe_customer(live_system, billing_ctx)}
    )
    assert sum(1 for invoice in invoices.data if invoice.status == "paid") == count


@then(parsers.parse("eventually the customer's credit balance is {balance:d}"))
def balance(live_system: LiveSystem, billing_ctx: dict[str, Any], balance: int) -> None:
    query = select(customers.c.credit_balance).where(customers.c.id == billing_ctx["customer_id"])

    def check() -> None:
        assert live_system.scalar(query) == balance

    eventually(check)


@then(parsers.parse("the fix was charged {cents:d} cents"))
def charged(billing_ctx: dict[str, Any], cents: int) -> None:
    answer = billing_ctx["fix"]
    assert answer.status_code == 201, answer.text
    assert answer.json()["charged"] is True
    assert answer.json()["amount_cents"] == cents


def _succeeded_payments(live: LiveSystem, ctx: dict[str, Any]) -> int:
    intents = live.stripe.v1.payment_intents.list(
        params={"customer": _stripe_customer(live, ctx), "limit": 100}
    )
    return sum(1 for intent in intents.data if intent.status == "succeeded")


@then(parsers.parse("Stripe holds exactly {count:d} succeeded payment for the customer"))
def succeeded_payments(live_system: LiveSystem, billing_ctx: dict[str, Any], count: int) -> None:
    assert _succeeded_payments(live_system, billing_ctx) == count


@then("no idempotency key Stripe saw contains the fix id")
def hashed_keys(live_system: LiveSystem, billing_ctx: dict[str, Any], emulator: Any) -> None:
    account = emulator.state.account_for_key(live_system.services.settings.stripe_api_key)
    keys = list(account.idempotency)
    assert keys
    assert not [key for key in keys if billing_ctx["fix_id"] in key]


@then(parsers.parse('deploying the fix "{fix_id}" again charges nothing more'))
def again(live_system: LiveSystem, billing_ctx: dict[str, Any], fix_id: str) -> None:
    answer = _fix(live_system, billing_ctx, fix_id)
    assert answer.status_code in (200, 201), answer.text
    assert answer.json()["payment_intent"] == billing_ctx["fix"].json()["payment_intent"]
    assert _succeeded_payments(live_system, billing_ctx) == 1

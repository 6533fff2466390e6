"""Steps for features/billing/billing.feature, all through the system's HTTP API."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import func, select

from system.db.tables import credit_ledger, fixes
from tests.support import LiveSystem, eventually

scenarios("billing/billing.feature")


def _auth(ctx: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx['api_key']}"}


def _get(live: LiveSystem, ctx: dict[str, Any], path: str) -> Any:
    response = live.http.get(path, headers=_auth(ctx))
    assert response.status_code == 200, response.text
    return response.json()


def _fix(live: LiveSystem, ctx: dict[str, Any], fix_id: str) -> Any:
    ctx["fix_count"] = ctx.get("fix_count", 0) + 1
    response = live.http.post(
        "/api/v1/usage/fix-deployed",
        json={"fix_id": fix_id, "repo": "acme/api", "pr_number": ctx["fix_count"]},
        headers=_auth(ctx),
    )
    ctx["last"] = response
    return response


def _add_card(live: LiveSystem, ctx: dict[str, Any], token: str) -> Any:
    response = live.http.post(
        "/api/v1/billing/payment-methods", json={"payment_method": token}, headers=_auth(ctx)
    )
    assert response.status_code == 201, response.text
    return response.json()


def _deploy_until_empty(live: LiveSystem, ctx: dict[str, Any]) -> None:
    balance = _get(live, ctx, "/api/v1/billing/credits")["balance"]
    for i in range(balance):
        assert _fix(live, ctx, f"drain-{i}").status_code == 201


# --- Given ---------------------------------------------------------------------------------


@given(parsers.parse('a customer "{email}" has signed up'))
def signed_up(live_system: LiveSystem, billing_ctx: dict[str, Any], email: str) -> None:
    response = live_system.http.post(
        "/api/v1/customers/onboard", json={"email": email, "name": "Dev"}
    )
    assert response.status_code == 201, response.text
    billing_ctx["api_key"] = response.json()["api_key"]
    billing_ctx["customer_id"] = response.json()["customer"]["id"]


@given(parsers.parse('the customer has a card "{token}" and no credits left'))
def card_and_no_credits(live_system: LiveSystem, billing_ctx: dict[str, Any], token: str) -> None:
    _add_card(live_system, billing_ctx, token)
    _deploy_until_empty(live_system, billing_ctx)


@given(parsers.parse('the customer is subscribed to "{plan}" with no other credits'))
def subscribed(live_system: LiveSystem, billing_ctx: dict[str, Any], plan: str) -> None:
    card_and_no_credits(live_system, billing_ctx, "pm_card_visa")
    subscribe(live_system, billing_ctx, plan)
    assert billing_ctx["last"].status_code == 201, billing_ctx["last"].text


@given("the customer's default card fails when charged")
def failing_card(live_system: LiveSystem, billing_ctx: dict[str, Any]) -> None:
    _add_card(live_system, billing_ctx, "pm_card_chargeCustomerFail")


@given(parsers.parse("the customer has {count:d} credits and no card left"))
def credits_no_card(live_system: LiveSystem, billing_ctx: dict[str, Any], count: int) -> None:
    card = _add_card(live_system, billing_ctx, "pm_card_visa")
    assert card["credit_balance"] == count
    removed = live_system.http.delete(
        f"/api/v1/billing/payment-methods/{card['payment_method']['id']}",
        headers=_auth(billing_ctx),
    )
    assert removed.status_code == 204


@given(parsers.parse("{days:d} days pass"))
@when(parsers.parse("{days:d} days pass"))
def days_pass(live_system: LiveSystem, days: int) -> None:
    live_system.advance(days=days)


# --- When ----------------------------------------------------------------------------------


@when(parsers.parse("the customer deploys {count:d} fixes"))
def deploy_many(live_system: LiveSystem, billing_ctx: dict[str, Any], count: int) -> None:
    start = billing_ctx.get("fix_count", 0)
    for i in range(count):
        response = _fix(live_system, billing_ctx, f"fix-{start + i}")
        assert response.status_code == 201, response.text


@when(parsers.parse('the customer deploys a fix "{fix_id}"'))
def deploy_one(live_system: LiveSystem, billing_ctx: dict[str, Any], fix_id: str) -> None:
    response = _fix(live_system, billing_ctx, fix_id)
    if response.status_code == 201:
        billing_ctx.setdefault("fixes", {})[fix_id] = response.json()


@when(parsers.parse('the customer adds the card "{token}"'))
def add_card(live_system: LiveSystem, billing_ctx: dict[str, Any], token: str) -> None:
    _add_card(live_system, billing_ctx, token)


@when(parsers.parse('the customer subscribes to "{plan}"'))
def subscribe(live_system: LiveSystem, billing_ctx: dict[str, Any], plan: str) -> None:
    billing_ctx["last"] = live_system.http.post(
        "/api/v1/billing/subscription", json={"plan": plan}, headers=_auth(billing_ctx)
    )
    billing_ctx["subscribed_at"] = live_system.clock.now()


@when("a month passes")
def a_month_passes(live_system: LiveSystem) -> None:
    # A month and a day: Stripe finalizes a renewal invoice about an hour after it is made.
    live_system.advance(days=32)


@when(parsers.parse("{days:d} days pass without a successful payment"))
def days_without_payment(live_system: LiveSystem, days: int) -> None:
    live_system.advance(days=days)


@when("the customer cancels the subscription at period end")
def cancel_at_end(live_system: LiveSystem, billing_ctx: dict[str, Any]) -> None:
    response = live_system.http.request(
        "DELETE",
        "/api/v1/billing/subscription",
        json={"at_period_end": True},
        headers=_auth(billing_ctx),
    )
    assert response.status_code == 200, response.text


@when("the customer cancels the subscription now")
def cancel_now(live_system: LiveSystem, billing_ctx: dict[str, Any]) -> None:
    response = live_system.http.delete(
        "/api/v1/billing/subscription?at_period_end=false", headers=_auth(billing_ctx)
    )
    assert response.status_code == 200, response.text


@when(parsers.parse('the payment for "{fix_id}" is refunded at Stripe'))
def refund(live_system: LiveSystem, billing_ctx: dict[str, Any], fix_id: str) -> None:
    payment = billing_ctx["fixes"][fix_id]["payment_intent"]
    live_system.stripe.v1.refunds.create(params={"payment_intent": payment})


@when(parsers.parse("{count:d} fixes are deployed at once"))
def concurrent_fixes(live_system: LiveSystem, billing_ctx: dict[str, Any], count: int) -> None:
    def one(i: int) -> int:
        response = live_system.http.post(
            "/api/v1/usage/fix-deployed",
            json={"fix_id": f"burst-{i}", "repo": "acme/api", "pr_number": i + 1},
            headers=_auth(billing_ctx),
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        billing_ctx["statuses"] = list(pool.map(one, range(count)))


# --- Then ----------------------------------------------------------------------------------


def _balance(live: LiveSystem, ctx: dict[str, Any]) -> int:
    return int(_get(live, ctx, "/api/v1/billing/credits")["balance"])


@then(parsers.parse("the credit balance is {balance:d}"))
def balance_is(live_system: LiveSystem, billing_ctx: dict[str, Any], balance: int) -> None:
    assert _balance(live_system, billing_ctx) == balance


@then(parsers.parse("eventually the credit balance is {balance:d}"))
def eventually_balance(live_system: LiveSystem, billing_ctx: dict[str, Any], balance: int) -> None:
    def check() -> None:
        assert _balance(live_system, billing_ctx) == balance

    eventually(check)


@then(parsers.parse('deploying a fix is refused with 402 saying "{words}"'))
def fix_refused(live_system: LiveSystem, billing_ctx: dict[str, Any], words: str) -> None:
    response = _fix(live_system, billing_ctx, f"refused-{billing_ctx.get('fix_count', 0)}")
    assert response.status_code == 402, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]


@then(parsers.parse('the plan is "{plan}"'))
def plan_is(live_system: LiveSystem, billing_ctx: dict[str, Any], plan: str) -> None:
    def check() -> None:
        assert _get(live_system, billing_ctx, "/api/v1/billing/subscription")["plan"] == plan

    eventually(check)


@then(parsers.parse('the customer has {count:d} payment methods, the default ending in "{last4}"'))
def cards(live_system: LiveSystem, billing_ctx: dict[str, Any], count: int, last4: str) -> None:
    data = _get(live_system, billing_ctx, "/api/v1/billing/payment-methods")["data"]
    assert len(data) == count
    assert [c["last4"] for c in data if c["default"]] == [last4]


@then(parsers.parse("the fix was charged {cents:d} cents"))
def fix_charged(billing_ctx: dict[str, Any], cents: int) -> None:
    response = billing_ctx["last"]
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["charged"] is True and result["amount_cents"] == cents
    assert result["payment_intent"].startswith("pi_")
    billing_ctx.setdefault("fixes", {})[result["fix_id"]] = result


@then(parsers.parse("the emulator holds a succeeded payment of {cents:d} cents for the customer"))
def emulator_payment(live_system: LiveSystem, billing_ctx: dict[str, Any], cents: int) -> None:
    me = _get(live_system, billing_ctx, "/api/v1/me")
    intents = live_system.stripe.v1.payment_intents.list(
        params={"customer": me["stripe_customer_id"]}
    )
    assert [(pi.amount, pi.status) for pi in intents.data] == [(cents, "succeeded")]


@then(parsers.parse('repeating the fix "{fix_id}" returns the same result without a second charge'))
def repeat_fix(live_system: LiveSystem, billing_ctx: dict[str, Any], fix_id: str) -> None:
    first = billing_ctx["last"].json()
    again = live_system.http.post(
        "/api/v1/usage/fix-deployed",
        json={"fix_id": fix_id, "repo": "acme/api", "pr_number": 99},
        headers=_auth(billing_ctx),
    )
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first
    emulator_payment(live_system, billing_ctx, first["amount_cents"])


@then(parsers.parse('the answer is 402 with decline code "{code}"'))
def declined(billing_ctx: dict[str, Any], code: str) -> None:
    response = billing_ctx["last"]
    assert response.status_code == 402, response.text
    assert response.json()["decline_code"] in {code, "generic_decline", "card_declined"}


@then(parsers.parse('no fix "{fix_id}" was recorded'))
def no_fix(live_system: LiveSystem, billing_ctx: dict[str, Any], fix_id: str) -> None:
    count = live_system.scalar(
        select(func.count()).select_from(fixes).where(fixes.c.fix_id == fix_id)
    )
    assert count == 0


@then(parsers.parse('the subscription is "{status}"'))
@then(parsers.parse('eventually the subscription is "{status}"'))
def subscription_status(live_system: LiveSystem, billing_ctx: dict[str, Any], status: str) -> None:
    def check() -> None:
        summary = _get(live_system, billing_ctx, "/api/v1/billing/subscription")
        if status == "canceled":
            assert summary["subscription"] is None or summary["subscription"]["status"] == status
            assert summary["plan"] != "pro"
        else:
            assert summary["subscription"]["status"] == status, summary

    eventually(check)


@then(parsers.parse('the subscription is "{status}" and set to cancel at period end'))
def cancelling(live_system: LiveSystem, billing_ctx: dict[str, Any], status: str) -> None:
    summary = _get(live_system, billing_ctx, "/api/v1/billing/subscription")
    assert summary["subscription"]["status"] == status
    assert summary["subscription"]["cancel_at_period_end"] is True
    assert summary["plan"] == "pro"


@then(parsers.parse('eventually the invoice of {cents:d} cents is "{status}" locally'))
def invoice_local(
    live_system: LiveSystem, billing_ctx: dict[str, Any], cents: int, status: str
) -> None:
    def check() -> None:
        data = _get(live_system, billing_ctx, "/api/v1/billing/invoices")["data"]
        assert [(i["total"], i["status"]) for i in data] == [(cents, status)]

    eventually(check)


@then(parsers.parse("the ledger holds exactly {count:d} period grant"))
def one_grant(live_system: LiveSystem, billing_ctx: dict[str, Any], count: int) -> None:
    grants = live_system.scalar(
        select(func.count())
        .select_from(credit_ledger)
        .where(
            credit_ledger.c.customer_id == billing_ctx["customer_id"],
            credit_ledger.c.kind == "period_grant",
        )
    )
    assert grants == count


@then(parsers.parse("the customer has {count:d} paid invoices of {cents:d} cents"))
@then(parsers.parse("eventually the customer has {count:d} paid invoices of {cents:d} cents"))
def paid_invoices(
    live_system: LiveSystem, billing_ctx: dict[str, Any], count: int, cents: int
) -> None:
    def check() -> None:
        data = _get(live_system, billing_ctx, "/api/v1/billing/invoices")["data"]
        paid = [i for i in data if i["status"] == "paid" and i["amount_paid"] == cents]
        assert len(paid) == count, data

    eventually(check)


@then("eventually the customer is past due")
def past_due(live_system: LiveSystem, billing_ctx: dict[str, Any]) -> None:
    def check() -> None:
        summary = _get(live_system, billing_ctx, "/api/v1/billing/subscription")
        assert summary["past_due_since"] is not None, summary
        assert summary["suspended"] is False

    eventually(check)


@then("eventually the customer is in good standing")
def good_standing(live_system: LiveSystem, billing_ctx: dict[str, Any]) -> None:
    def check() -> None:
        summary = _get(live_system, billing_ctx, "/api/v1/billing/subscription")
        assert summary["past_due_since"] is None and summary["suspended"] is False, summary
        assert summary["subscription"]["status"] == "active"

    eventually(check)


@then("deploying a fix still succeeds")
def fix_succeeds(live_system: LiveSystem, billing_ctx: dict[str, Any]) -> None:
    response = _fix(live_system, billing_ctx, f"ok-{billing_ctx.get('fix_count', 0)}")
    assert response.status_code == 201, response.text


@then("the subscription period starts now and ends in a month")
def period_now(live_system: LiveSystem, billing_ctx: dict[str, Any]) -> None:
    from datetime import datetime

    summary = _get(live_system, billing_ctx, "/api/v1/billing/subscription")["subscription"]
    start = datetime.fromisoformat(summary["current_period_start"])
    end = datetime.fromisoformat(summary["current_period_end"])
    assert abs(start - billing_ctx["subscribed_at"]) <= timedelta(seconds=5)
    assert timedelta(days=28) <= end - start <= timedelta(days=31)


@then(parsers.parse("eventually the customer owes {count:d} credit"))
def owes(live_system: LiveSystem, billing_ctx: dict[str, Any], count: int) -> None:
    def check() -> None:
        summary = _get(live_system, billing_ctx, "/api/v1/billing/subscription")
        assert summary["credit_debt"] == count, summary

    eventually(check)


@then(parsers.parse("exactly {ok:d} fixes succeed and {refused:d} are refused with 402"))
def burst_outcome(billing_ctx: dict[str, Any], ok: int, refused: int) -> None:
    statuses = sorted(billing_ctx["statuses"])
    assert statuses == [201] * ok + [402] * refused, statuses

"""Steps for features/marketplace.feature: signed payloads shaped as GitHub sends them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import func, select

from system.db.tables import (
    api_keys,
    customers,
    marketplace_accounts,
    stripe_sync_queue,
)
from system.marketplace.signatures import sign

scenarios("marketplace.feature")

SECRET = "github-webhook-secret-for-tests"
WEBHOOK = "/webhooks/github"
ACCOUNT_IDS: dict[str, int] = {}
PLANS = {
    "Free": {
        "id": 7001,
        "name": "Free",
        "description": "Scan public repositories",
        "monthly_price_in_cents": 0,
        "yearly_price_in_cents": 0,
        "price_model": "FREE",
        "has_free_trial": False,
        "unit_name": None,
        "bullets": ["Scans"],
    },
    "Pro": {
        "id": 7002,
        "name": "Pro",
        "description": "60 fixes a month",
        "monthly_price_in_cents": 59900,
        "yearly_price_in_cents": 599000,
        "price_model": "FLAT_RATE",
        "has_free_trial": True,
        "unit_name": None,
        "bullets": ["60 fixes a month", "Fix pull requests"],
    },
}


def account_id(org: str) -> int:
    return ACCOUNT_IDS.setdefault(org, 10_000_000 + len(ACCOUNT_IDS))


def payload(action: str, org: str, plan: str, *, trial: bool = False) -> dict[str, Any]:
    """A marketplace_purchase payload as GitHub documents it."""
    purchase = {
        "account": {
            "type": "Organization",
            "id": account_id(org),
            "node_id": f"MDEyOk9yZ2FuaXphdGlvbj{account_id(org)}",
            "login": org,
            "organization_billing_email": f"billing@{org}.example",
        },
        "billing_cycle": "monthly",
        "unit_count": 1,
        "on_free_trial": trial,
        "free_trial_ends_on": "2026-02-15T00:00:00+00:00" if trial else None,
        "next_billing_date": "2026-02-01T00:00:00+00:00",
        "plan": PLANS[plan],
    }
    body: dict[str, Any] = {
        "action": action,
        "effective_date": "2026-01-15T00:00:00+00:00",
        "sender": {
            "login": f"{org}-admin",
            "id": account_id(org) + 1,
            "type": "User",
            "site_admin": False,
            "email": f"admin@{org}.example",
        },
        "marketplace_purchase": purchase,
    }
    if action in {"changed", "pending_change", "cancelled"}:
        body["previous_marketplace_purchase"] = {**purchase, "plan": PLANS["Free"]}
    return body


def deliver(
    system: Any,
    ctx: dict[str, Any],
    body: bytes,
    *,
    event: str = "marketplace_purchase",
    signature: str | None = "good",
    delivery: str | None = None,
) -> Any:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
    }
    if signature == "good":
        headers["X-Hub-Signature-256"] = sign(SECRET, body)
    elif signature:
        headers["X-Hub-Signature-256"] = signature
    response = system.client.post(WEBHOOK, content=body, headers=headers)
    ctx["responses"].append(response)
    ctx["last"] = response
    ctx["last_request"] = (body, headers)
    return response


def _customer_of(system: Any, org: str) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with system.services.engine.connect() as connection:
            row = (
                (
                    await connection.execute(
                        select(customers, marketplace_accounts)
                        .join(
                            marketplace_accounts,
                            marketplace_accounts.c.customer_id == customers.c.id,
                        )
                        .where(marketplace_accounts.c.login == org)
                    )
                )
                .mappings()
                .one()
            )
        return dict(row)

    return dict(system.call(run))


# --- Given ---------------------------------------------------------------------------------


@given("the GitHub webhook secret is configured")
def configured(system: Any) -> None:
    system.services.settings.github_webhook_secret = SECRET


@given(parsers.parse('the organisation "{org}" bought the "{plan}" plan'))
def bought(system: Any, ctx: dict[str, Any], org: str, plan: str) -> None:
    response = deliver(system, ctx, json.dumps(payload("purchased", org, plan)).encode())
    assert response.status_code == 200, response.text
    ctx["org"] = org


@given(parsers.parse('"{email}" has signed up on the website'))
def signed_up(system: Any, email: str) -> None:
    response = system.client.post(
        "/api/v1/customers/onboard", json={"email": email, "name": "Known"}
    )
    assert response.status_code == 201, response.text


# --- When ----------------------------------------------------------------------------------


@when(
    parsers.re(
        r'GitHub sends a "(?P<action>[a-z_]+)" event for the organisation "(?P<org>[^"]+)" '
        r'on the "(?P<plan>[^"]+)" plan(?P<rest>.*)$'
    )
)
def send(system: Any, ctx: dict[str, Any], action: str, org: str, plan: str, rest: str) -> None:
    ctx["org"] = org
    rest = rest.strip()
    body = json.dumps(payload(action, org, plan, trial=rest == "with a free trial")).encode()
    if rest == "signed with the wrong secret":
        deliver(system, ctx, body, signature=sign("not-the-secret", body))
    elif rest == "with no signature":
        deliver(system, ctx, body, signature=None)
    elif rest == "with the body changed in transit":
        deliver(system, ctx, body.replace(b'"Pro"', b'"Enterprise"'), signature=sign(SECRET, body))
    else:
        assert rest in {"", "with a free trial"}, rest
        deliver(system, ctx, body)


@when("GitHub delivers the same event again")
def redeliver(system: Any, ctx: dict[str, Any]) -> None:
    body, headers = ctx["last_request"]
    response = system.client.post(WEBHOOK, content=body, headers=headers)
    ctx["responses"].append(response)
    ctx["last"] = response


@when(parsers.parse('GitHub sends a signed "{event}" event'))
def send_other(system: Any, ctx: dict[str, Any], event: str) -> None:
    body = json.dumps({"zen": "Design for failure.", "hook_id": 292430182}).encode()
    deliver(system, ctx, body, event=event)


# --- Then ----------------------------------------------------------------------------------


@then(parsers.parse("the webhook is answered {status:d} and applied"))
def applied(ctx: dict[str, Any], status: int) -> None:
    assert ctx["last"].status_code == status, ctx["last"].text
    assert ctx["last"].json()["applied"] is True


@then(parsers.parse("the webhook is answered {status:d} and not applied"))
def not_applied(ctx: dict[str, Any], status: int) -> None:
    assert ctx["last"].status_code == status, ctx["last"].text
    assert ctx["last"].json()["applied"] is False


@then(parsers.parse("the webhook is answered {status:d}"))
def answered(ctx: dict[str, Any], status: int) -> None:
    assert ctx["last"].status_code == status, ctx["last"].text
    if status >= 400:
        assert ctx["last"].headers["content-type"].startswith("application/problem+json")


@then(parsers.parse('a customer exists for "{email}" with GitHub org "{org}"'))
def customer_exists(system: Any, email: str, org: str) -> None:
    row = _customer_of(system, org)
    assert row["email"] == email
    assert row["github_org"] == org
    assert row["name"] == org


@then(parsers.parse('the customer is on our "{plan}" plan with {credits:d} credits'))
def on_plan(system: Any, ctx: dict[str, Any], plan: str, credits: int) -> None:
    row = _customer_of(system, ctx["org"])
    assert (row["plan"], row["credit_balance"]) == (plan, credits)


@then("the customer has an API key and a queued Stripe customer")
def has_key(system: Any, ctx: dict[str, Any]) -> None:
    customer_id = _customer_of(system, ctx["org"])["customer_id"]
    keys = system.scalar(
        select(func.count()).select_from(api_keys).where(api_keys.c.customer_id == customer_id)
    )
    queued = system.scalar(
        select(func.count())
        .select_from(stripe_sync_queue)
        .where(stripe_sync_queue.c.customer_id == customer_id)
    )
    assert (keys, queued) == (1, 1)


@then(parsers.parse('the Marketplace account shows a free trial until "{day}"'))
def free_trial(system: Any, ctx: dict[str, Any], day: str) -> None:
    row = _customer_of(system, ctx["org"])
    assert row["on_free_trial"] is True
    assert row["free_trial_ends_on"].date().isoformat() == day


@then("the Marketplace account is marked cancelled")
def cancelled(system: Any, ctx: dict[str, Any]) -> None:
    assert _customer_of(system, ctx["org"])["cancelled_at"] is not None


@then(parsers.parse('the Marketplace account has a pending change to "{plan}"'))
def pending(system: Any, ctx: dict[str, Any], plan: str) -> None:
    row = _customer_of(system, ctx["org"])
    assert row["pending_plan_name"] == plan
    assert row["pending_effective_date"] is not None


@then("the Marketplace account has no pending change")
def no_pending(system: Any, ctx: dict[str, Any]) -> None:
    assert _customer_of(system, ctx["org"])["pending_plan_name"] is None


@then("the second answer says it was a duplicate")
def duplicate(ctx: dict[str, Any]) -> None:
    first, second = ctx["responses"][-2:]
    assert first.json()["applied"] is True
    assert second.status_code == 200
    assert second.json()["duplicate"] is True and second.json()["applied"] is False


@then(parsers.parse('there is exactly 1 customer for the organisation "{org}"'))
def one_customer(system: Any, org: str) -> None:
    count = system.scalar(
        select(func.count())
        .select_from(customers)
        .where(customers.c.email_key == f"billing@{org}.example")
    )
    assert count == 1


@then(parsers.parse('no customer exists for the organisation "{org}"'))
def no_customer(system: Any, org: str) -> None:
    count = system.scalar(select(func.count()).select_from(marketplace_accounts))
    assert count == 0
    assert system.scalar(select(func.count()).select_from(customers)) == 0

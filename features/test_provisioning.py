"""Steps for features/provisioning.feature, all through the system's HTTP API."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import stripe
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import func, select

from system.db.tables import customers

scenarios("provisioning.feature")

ONBOARD = "/api/v1/customers/onboard"


def _signup(system: Any, email: str, name: str, **extra: Any) -> httpx.Response:
    headers = extra.pop("headers", {})
    body = {"email": email, "name": name, **{k: v for k, v in extra.items() if v}}
    return system.client.post(ONBOARD, json=body, headers=headers)


def _record(ctx: dict[str, Any], response: httpx.Response) -> httpx.Response:
    ctx["responses"].append(response)
    ctx["last"] = response
    if response.status_code == 201 and "json" in response.headers.get("content-type", ""):
        ctx["api_key"] = response.json()["api_key"]
        ctx["customer"] = response.json()["customer"]
    return response


def _count(system: Any, email: str | None = None) -> int:
    query = select(func.count()).select_from(customers)
    if email is not None:
        query = query.where(customers.c.email_key == email.casefold())
    return int(system.scalar(query))


def _stripe(system: Any) -> stripe.StripeClient:
    return stripe.StripeClient(
        system.stripe_key, base_addresses={"api": system.emulator.base_url}, max_network_retries=0
    )


# --- Given ---------------------------------------------------------------------------------


@given(parsers.parse('"{email}" has signed up'))
def signed_up(system: Any, ctx: dict[str, Any], email: str) -> None:
    response = _record(ctx, _signup(system, email, "Existing Customer"))
    assert response.status_code == 201, response.text
    ctx["first_key"] = response.json()["api_key"]


@given("the Stripe API answers every request with a server error")
def stripe_down(system: Any) -> None:
    system.emulator.state.faults.configure(error_rate=1.0)


@given(parsers.parse("signups are limited to {limit:d} per minute per address"))
def limit_signups(system: Any, limit: int) -> None:
    system.services.signup_limiter.limit = limit
    system.services.signup_limiter.window = 60


# --- When ----------------------------------------------------------------------------------


@when(parsers.parse('"{email}" signs up as "{name}" of "{company}" with GitHub org "{org}"'))
def sign_up_full(
    system: Any, ctx: dict[str, Any], email: str, name: str, company: str, org: str
) -> None:
    _record(ctx, _signup(system, email, name, company=company, github_org=org))


@when(parsers.re(r'"(?P<email>[^"]+)" signs up as "(?P<name>[^"]+)"$'))
def sign_up(system: Any, ctx: dict[str, Any], email: str, name: str) -> None:
    _record(ctx, _signup(system, email, name))


@when(parsers.parse('"{email}" signs up as "{name}" with Idempotency-Key "{key}"'))
def sign_up_idempotent(system: Any, ctx: dict[str, Any], email: str, name: str, key: str) -> None:
    _record(ctx, _signup(system, email, name, headers={"Idempotency-Key": key}))


@when(parsers.parse("the signup body is {body}"))
def raw_body(system: Any, ctx: dict[str, Any], body: str) -> None:
    response = system.client.post(
        ONBOARD, content=body.encode(), headers={"Content-Type": "application/json"}
    )
    _record(ctx, response)


@when(parsers.parse('{count:d} signups for "{email}" arrive at once'))
def concurrent_signups(system: Any, ctx: dict[str, Any], count: int, email: str) -> None:
    with ThreadPoolExecutor(max_workers=count) as pool:
        responses = list(pool.map(lambda i: _signup(system, email, f"Racer {i}"), range(count)))
    ctx["responses"] = responses


@when("the Stripe API recovers")
def stripe_recovers(system: Any) -> None:
    system.emulator.state.faults.clear()


@when("the pending Stripe customers are synced")
def sync_pending(system: Any, ctx: dict[str, Any]) -> None:
    outcome = system.call(system.services.provisioning.sync_pending, include_not_due=True)
    assert outcome == {"synced": 1, "failed": 0}


@when(parsers.parse('the customer creates a second API key labelled "{label}"'))
def create_second_key(system: Any, ctx: dict[str, Any], label: str) -> None:
    response = system.client.post(
        "/api/v1/api-keys", json={"label": label}, headers={"X-Api-Key": ctx["first_key"]}
    )
    assert response.status_code == 201, response.text
    assert response.json()["label"] == label
    ctx["second_key"] = response.json()["api_key"]


@when("the customer revokes its first API key")
def revoke_first_key(system: Any, ctx: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {ctx['second_key']}"}
    keys = system.client.get("/api/v1/api-keys", headers=auth).json()["data"]
    first = next(k for k in keys if ctx["first_key"].startswith(k["prefix"] + "_"))
    response = system.client.delete(f"/api/v1/api-keys/{first['id']}", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["revoked_at"]
    ctx["first_key_id"] = first["id"]


@when(parsers.parse("{count:d} different people sign up from the same address"))
def many_signups(system: Any, ctx: dict[str, Any], count: int) -> None:
    ctx["responses"] = [
        _signup(system, f"person{i}@example.org", f"Person {i}") for i in range(count)
    ]


@when(parsers.parse('a person fills the signup form with "{email}" and "{name}"'))
def fill_form(system: Any, ctx: dict[str, Any], email: str, name: str) -> None:
    page = system.client.get("/signup")
    assert page.status_code == 200
    assert '<label for="email">' in page.text
    response = system.client.post("/signup", data={"email": email, "name": name})
    ctx["last"] = response


# --- Then ----------------------------------------------------------------------------------


@then(parsers.parse("the answer is {status:d}"))
def answer_is(ctx: dict[str, Any], status: int) -> None:
    assert ctx["last"].status_code == status, ctx["last"].text


@then(parsers.parse('the answer is {status:d} with problem type "{problem_type}"'))
def answer_is_problem(ctx: dict[str, Any], status: int, problem_type: str) -> None:
    response = ctx["last"]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == problem_type
    assert body["status"] == status
    assert body["title"] and body["detail"]
    if status == 422 and problem_type == "/problems/validation-error":
        assert body["errors"] and all({"field", "message"} <= set(e) for e in body["errors"])


@then(parsers.parse('the answer holds an API key starting with "{prefix}"'))
def answer_has_key(ctx: dict[str, Any], prefix: str) -> None:
    assert ctx["api_key"].startswith(prefix)
    assert len(ctx["api_key"]) > 60


@then(parsers.parse("the customer has {credits:d} trial credits"))
def has_trial_credits(system: Any, ctx: dict[str, Any], credits: int) -> None:
    assert ctx["customer"]["credit_balance"] == credits
    me = system.client.get("/api/v1/me", headers={"X-Api-Key": ctx["api_key"]}).json()
    assert me["credit_balance"] == credits


@then(parsers.parse('the API key opens /api/v1/me for "{email}"'))
@then(parsers.parse('the second API key opens /api/v1/me for "{email}"'))
def key_opens_me(system: Any, ctx: dict[str, Any], email: str) -> None:
    key = ctx.get("second_key") or ctx["api_key"]
    response = system.client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    assert response.json()["email"] == email


@then("the customer has exactly one Stripe customer at the emulator")
def one_stripe_customer(system: Any, ctx: dict[str, Any]) -> None:
    me = system.client.get("/api/v1/me", headers={"X-Api-Key": ctx["api_key"]}).json()
    assert me["stripe_customer_id"], me
    found = _stripe(system).v1.customers.list(params={"email": me["email"]})
    assert [c.id for c in found.data] == [me["stripe_customer_id"]]
    assert found.data[0].metadata["rsolv_customer_id"] == me["id"]


@then("the customer has no Stripe customer yet")
def no_stripe_customer(system: Any, ctx: dict[str, Any]) -> None:
    me = system.client.get("/api/v1/me", headers={"X-Api-Key": ctx["api_key"]}).json()
    assert me["stripe_customer_id"] is None


@then(parsers.parse('there is exactly {count:d} customer for "{email}"'))
def customer_count(system: Any, count: int, email: str) -> None:
    assert _count(system, email) == count


@then(parsers.parse('no customer exists for "{email}"'))
def no_customer_for(system: Any, email: str) -> None:
    assert _count(system, email) == 0


@then("no customer was created")
def no_customer(system: Any) -> None:
    assert _count(system) == 0


@then("both answers are 201 with the same customer and API key")
def same_answers(ctx: dict[str, Any]) -> None:
    first, second = ctx["responses"][-2:]
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()


@then("the second answer is marked as replayed")
def replayed(ctx: dict[str, Any]) -> None:
    assert ctx["responses"][-1].headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in ctx["responses"][-2].headers


@then(parsers.parse("exactly {created:d} of them is answered 201 and the others 409"))
def race_outcome(ctx: dict[str, Any], created: int) -> None:
    statuses = sorted(r.status_code for r in ctx["responses"])
    assert statuses == [201] * created + [409] * (len(statuses) - created), statuses


@then("the first API key gets 401 at /api/v1/me")
def first_key_refused(system: Any, ctx: dict[str, Any]) -> None:
    response = system.client.get("/api/v1/me", headers={"X-Api-Key": ctx["first_key"]})
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key has been revoked."


@then("the customer's key list shows the first key revoked")
def key_list_revoked(system: Any, ctx: dict[str, Any]) -> None:
    keys = system.client.get("/api/v1/api-keys", headers={"X-Api-Key": ctx["second_key"]}).json()[
        "data"
    ]
    by_id = {k["id"]: k for k in keys}
    assert by_id[ctx["first_key_id"]]["revoked_at"]
    assert [k["label"] for k in keys if not k["revoked_at"]] == ["ci"]
    assert all("api_key" not in k and "key_hash" not in k for k in keys)


@then(parsers.parse("the first {count:d} answers are 201"))
def first_answers_created(ctx: dict[str, Any], count: int) -> None:
    assert [r.status_code for r in ctx["responses"][:count]] == [201] * count


@then("the last answer is 429 with a Retry-After header")
def last_rate_limited(ctx: dict[str, Any]) -> None:
    last = ctx["responses"][-1]
    assert last.status_code == 429
    assert int(last.headers["retry-after"]) >= 1
    assert last.json()["type"] == "/problems/rate-limited"


@then("a request to /api/v1/me without a key gets 401")
def no_key(system: Any) -> None:
    response = system.client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@then(parsers.parse('a request to /api/v1/me with key "{key}" gets 401'))
def bad_key(system: Any, key: str) -> None:
    assert system.client.get("/api/v1/me", headers={"X-Api-Key": key}).status_code == 401


@then(parsers.parse('the page shows an API key starting with "{prefix}"'))
def page_shows_key(ctx: dict[str, Any], prefix: str) -> None:
    response = ctx["last"]
    assert response.status_code == 201, response.text
    marker = '<code class="key" id="api-key">'
    assert marker in response.text
    ctx["api_key"] = response.text.split(marker, 1)[1].split("<", 1)[0]
    assert ctx["api_key"].startswith(prefix)

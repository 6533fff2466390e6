"""Billing endpoints: every refusal is a clear problem and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import SystemUnderTest


def _customer(system: SystemUnderTest, email: str = "bill@example.com") -> dict[str, str]:
    response = system.client.post("/api/v1/customers/onboard", json={"email": email, "name": "B"})
    assert response.status_code == 201
    return {"X-Api-Key": response.json()["api_key"]}


def _problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    return body


def _card(system: SystemUnderTest, auth: dict[str, str], token: str) -> Any:
    return system.client.post(
        "/api/v1/billing/payment-methods", json={"payment_method": token}, headers=auth
    )


def test_an_unknown_payment_method_is_rejected(system: SystemUnderTest) -> None:
    auth = _customer(system)
    body = _problem(_card(system, auth, "pm_does_not_exist"), 422, "stripe-rejected")
    assert body["errors"][0]["field"] == "payment_method"
    assert system.client.get("/api/v1/billing/payment-methods", headers=auth).json()["data"] == []


def test_a_card_declined_at_attach_grants_nothing(system: SystemUnderTest) -> None:
    auth = _customer(system)
    body = _problem(_card(system, auth, "pm_card_chargeDeclined"), 402, "card-declined")
    assert body["decline_code"] == "generic_decline"
    assert system.client.get("/api/v1/billing/credits", headers=auth).json()["balance"] == 5


def test_stripe_down_answers_503_with_retry_after(system: SystemUnderTest) -> None:
    auth = _customer(system)
    system.emulator.state.faults.configure(error_rate=1.0)  # type: ignore[attr-defined]
    response = _card(system, auth, "pm_card_visa")
    _problem(response, 503, "payments-unavailable")
    assert response.headers["retry-after"] == "5"


def test_a_customer_whose_stripe_side_is_pending_cannot_pay_yet(system: SystemUnderTest) -> None:
    system.emulator.state.faults.configure(error_rate=1.0)  # type: ignore[attr-defined]
    auth = _customer(system, "pending@example.com")
    system.emulator.state.faults.configure(  # type: ignore[attr-defined]
        error_rate=1.0, path_prefix="/v1/customers"
    )
    _problem(_card(system, auth, "pm_card_visa"), 503, "payments-unavailable")


def test_subscription_refusals(system: SystemUnderTest) -> None:
    auth = _customer(system)
    post = system.client.post
    _problem(
        post("/api/v1/billing/subscription", json={"plan": "gold"}, headers=auth),
        422,
        "validation-error",
    )
    _problem(
        post("/api/v1/billing/subscription", json={"plan": "pro"}, headers=auth),
        402,
        "payment-required",
    )
    _problem(system.client.delete("/api/v1/billing/subscription", headers=auth), 404, "not-found")
    assert _card(system, auth, "pm_card_visa").status_code == 201
    assert (
        post("/api/v1/billing/subscription", json={"plan": "pro"}, headers=auth).status_code == 201
    )
    _problem(
        post("/api/v1/billing/subscription", json={"plan": "pro"}, headers=auth), 409, "conflict"
    )
    summary = system.client.get("/api/v1/billing/subscription", headers=auth).json()
    assert summary["plan"] == "pro" and summary["credit_balance"] == 70


def test_a_card_that_fails_when_charged_cannot_start_a_subscription(
    system: SystemUnderTest,
) -> None:
    auth = _customer(system)
    assert _card(system, auth, "pm_card_chargeCustomerFail").status_code == 201
    response = system.client.post(
        "/api/v1/billing/subscription", json={"plan": "pro"}, headers=auth
    )
    _problem(response, 402, "payment-required")
    summary = system.client.get("/api/v1/billing/subscription", headers=auth).json()
    assert summary["plan"] == "payg" and summary["subscription"] is None


def test_removing_cards(system: SystemUnderTest) -> None:
    auth = _customer(system)
    first = _card(system, auth, "pm_card_visa").json()["payment_method"]
    second = _card(system, auth, "pm_card_mastercard").json()["payment_method"]
    assert (
        system.client.delete(
            f"/api/v1/billing/payment-methods/{second['id']}", headers=auth
        ).status_code
        == 204
    )
    cards = system.client.get("/api/v1/billing/payment-methods", headers=auth).json()["data"]
    assert [(c["id"], c["default"]) for c in cards] == [(first["id"], True)]
    missing = system.client.delete(f"/api/v1/billing/payment-methods/{second['id']}", headers=auth)
    _problem(missing, 404, "not-found")


def test_the_ledger_pages_backwards(system: SystemUnderTest) -> None:
    auth = _customer(system)
    _card(system, auth, "pm_card_visa")
    for i in range(3):
        fix = {"fix_id": f"f{i}", "repo": "acme/api", "pr_number": i + 1}
        assert (
            system.client.post("/api/v1/usage/fix-deployed", json=fix, headers=auth).status_code
            == 201
        )
    first = system.client.get("/api/v1/billing/credits?limit=2", headers=auth).json()
    assert first["balance"] == 7 and first["has_more"] is True
    assert [e["kind"] for e in first["entries"]] == ["fix_consumed", "fix_consumed"]
    rest = system.client.get(
        f"/api/v1/billing/credits?limit=10&before={first['next_before']}", headers=auth
    ).json()
    assert [e["kind"] for e in rest["entries"]] == ["fix_consumed", "card_bonus", "trial_grant"]
    assert rest["has_more"] is False and rest["next_before"] is None
    bad = system.client.get("/api/v1/billing/credits?limit=x", headers=auth)
    _problem(bad, 422, "validation-error")


@pytest.mark.parametrize(
    "body",
    [
        {"fix_id": "f", "repo": "not a repo", "pr_number": 1},
        {"fix_id": "f", "repo": "a/b", "pr_number": 0},
        {"fix_id": "", "repo": "a/b", "pr_number": 1},
        {"fix_id": "f", "repo": "a/b", "pr_number": "1"},
        {"fix_id": "f", "repo": "a/b", "pr_number": 1, "extra": True},
    ],
)
def test_bad_fix_reports_are_refused(system: SystemUnderTest, body: dict[str, Any]) -> None:
    auth = _customer(system)
    response = system.client.post("/api/v1/usage/fix-deployed", json=body, headers=auth)
    _problem(response, 422, "validation-error")
    assert system.client.get("/api/v1/billing/credits", headers=auth).json()["balance"] == 5


def test_billing_needs_a_key(system: SystemUnderTest) -> None:
    for method, path in [
        ("GET", "/api/v1/billing/credits"),
        ("POST", "/api/v1/usage/fix-deployed"),
        ("GET", "/api/v1/billing/invoices"),
    ]:
        assert system.client.request(method, path).status_code == 401


@pytest.mark.parametrize("fix_id", ["fix\nnewline", "fix\u0016syn", "fix\u007fdel"])
def test_a_fix_id_with_a_control_character_never_waits_forever(
    system: SystemUnderTest, fix_id: str
) -> None:
    """Issue 15: such an id needing a charge answered 503 "try again shortly" forever (it
    went raw into the Stripe idempotency key). Now the key is a hash: the fix is charged
    once, or the id refused with a 4xx; never a 5xx."""
    auth = _customer(system)
    assert _card(system, auth, "pm_card_visa").status_code == 201
    for index in range(10):  # the trial and card-bonus credits
        body = {"fix_id": f"credit-{index}", "repo": "acme/api", "pr_number": 1}
        assert system.client.post("/api/v1/usage/fix-deployed", json=body, headers=auth)
    body = {"fix_id": fix_id, "repo": "acme/api", "pr_number": 2}
    first = system.client.post("/api/v1/usage/fix-deployed", json=body, headers=auth)
    again = system.client.post("/api/v1/usage/fix-deployed", json=body, headers=auth)
    assert first.status_code < 500 and again.status_code < 500, (first.text, again.text)
    if first.status_code == 201:
        assert first.json()["charged"] is True
        assert again.json()["payment_intent"] == first.json()["payment_intent"]

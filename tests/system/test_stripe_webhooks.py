"""POST /webhooks/stripe: signatures, replays, order, and the events it acts on."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from sqlalchemy import func, select

from system.db.tables import stripe_events, subscriptions
from tests.support import LiveSystem, eventually


def _signed(payload: bytes, secret: str, at: int | None = None) -> dict[str, str]:
    stamp = at if at is not None else int(time.time())
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
    return {"Stripe-Signature": f"t={stamp},v1={signature.hexdigest()}"}


def _event(event_type: str, obj: dict[str, Any], event_id: str = "evt_test_1") -> bytes:
    body = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }
    return json.dumps(body).encode()


def _customer(live: LiveSystem, email: str = "hook@example.com") -> dict[str, str]:
    response = live.http.post("/api/v1/customers/onboard", json={"email": email, "name": "H"})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.json()['api_key']}"}


def _subscribe(live: LiveSystem, auth: dict[str, str]) -> dict[str, Any]:
    added = live.http.post(
        "/api/v1/billing/payment-methods", json={"payment_method": "pm_card_visa"}, headers=auth
    )
    assert added.status_code == 201, added.text
    subscribed = live.http.post("/api/v1/billing/subscription", json={"plan": "pro"}, headers=auth)
    assert subscribed.status_code == 201, subscribed.text
    return dict(subscribed.json())


def _events_seen(live: LiveSystem, event_id: str) -> int:
    return int(
        live.scalar(
            select(func.count()).select_from(stripe_events).where(stripe_events.c.id == event_id)
        )
    )


def test_forged_and_stale_signatures_are_refused_without_effect(live_system: LiveSystem) -> None:
    secret = live_system.services.webhook_secret()
    assert secret and secret.startswith("whsec_")
    payload = _event("customer.subscription.deleted", {"id": "sub_nope"}, "evt_forged")
    for headers in (
        _signed(payload, "whsec_wrong"),
        _signed(payload, secret, at=int(time.time()) - 3600),
        {"Stripe-Signature": "t=1,v1=deadbeef"},
        {},
    ):
        response = live_system.http.post("/webhooks/stripe", content=payload, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["type"] == "/problems/bad-signature"
    assert _events_seen(live_system, "evt_forged") == 0


def test_a_replayed_event_is_acknowledged_and_ignored(live_system: LiveSystem) -> None:
    auth = _customer(live_system)
    summary = _subscribe(live_system, auth)
    sub_id = summary["subscription"]["id"]
    payload = _event("customer.subscription.updated", {"id": sub_id}, "evt_replayed")
    headers = _signed(payload, live_system.services.webhook_secret() or "")
    first = live_system.http.post("/webhooks/stripe", content=payload, headers=headers)
    again = live_system.http.post("/webhooks/stripe", content=payload, headers=headers)
    assert first.json() == {"received": True}
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": True}
    assert _events_seen(live_system, "evt_replayed") == 1


def test_an_old_event_arriving_late_leaves_the_current_state(live_system: LiveSystem) -> None:
    auth = _customer(live_system)
    sub_id = _subscribe(live_system, auth)["subscription"]["id"]
    stale = {"id": sub_id, "object": "subscription", "status": "incomplete"}
    payload = _event("customer.subscription.created", stale, "evt_late")
    response = live_system.http.post(
        "/webhooks/stripe",
        content=payload,
        headers=_signed(payload, live_system.services.webhook_secret() or ""),
    )
    assert response.status_code == 200
    status = live_system.scalar(select(subscriptions.c.status).where(subscriptions.c.id == sub_id))
    assert status == "active"


def test_a_card_detached_at_stripe_leaves_the_local_list(live_system: LiveSystem) -> None:
    auth = _customer(live_system, "detach@example.com")
    added = live_system.http.post(
        "/api/v1/billing/payment-methods", json={"payment_method": "pm_card_visa"}, headers=auth
    ).json()
    live_system.stripe.v1.payment_methods.detach(added["payment_method"]["id"])

    def gone() -> None:
        cards = live_system.http.get("/api/v1/billing/payment-methods", headers=auth).json()
        assert cards["data"] == []

    eventually(gone)


def test_a_completed_checkout_applies_its_subscription(live_system: LiveSystem) -> None:
    auth = _customer(live_system, "checkout@example.com")

    def stripe_customer() -> str:
        # Made just after the signup's answer, so not always there at once.
        return str(
            live_system.http.get("/api/v1/me", headers=auth).json()["stripe_customer_id"] or ""
        )

    stripe_id = eventually(stripe_customer)
    price = live_system.stripe.v1.prices.create(
        params={
            "unit_amount": 59_900,
            "currency": "usd",
            "recurring": {"interval": "month"},
            "lookup_key": "rsolv_pro_monthly",
            "product_data": {"name": "RSOLV Pro"},
        }
    )
    session = live_system.stripe.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": stripe_id,
            "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": "http://127.0.0.1/done",
        }
    )
    live_system.stripe.raw_request(
        "post", f"/v1/test_helpers/checkout/sessions/{session.id}/complete"
    )

    def subscribed() -> None:
        summary = live_system.http.get("/api/v1/billing/subscription", headers=auth).json()
        assert summary["plan"] == "pro" and summary["subscription"]["status"] == "active"

    eventually(subscribed)


def test_without_a_secret_webhooks_are_unavailable(live_system: LiveSystem) -> None:
    live_system.services.stripe_webhook_secret = None
    payload = _event("invoice.paid", {"id": "in_x"})
    response = live_system.http.post(
        "/webhooks/stripe", content=payload, headers=_signed(payload, "x")
    )
    assert response.status_code == 503

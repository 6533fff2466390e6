"""Checkout Sessions through the SDK: create, list, line_items, expire, completion helper."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from .billing_helpers import price


def _complete(client: stripe.StripeClient, sid: str, **params: Any) -> dict[str, Any]:
    resp = client.raw_request(
        "post", f"/v1/test_helpers/checkout/sessions/{sid}/complete", **params
    )
    return client.deserialize(resp, api_mode="V1").to_dict()  # type: ignore[no-any-return]


def test_subscription_checkout(client: stripe.StripeClient) -> None:
    pr = price(client, 3000)
    cs = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": pr.id, "quantity": 1}],
            "customer_email": "new@example.com",
            "success_url": "https://example.com/ok",
            "client_reference_id": "ref-1",
            "metadata": {"a": "b"},
        }
    )
    assert cs.id.startswith("cs_test_") and cs.status == "open" and cs.url
    assert cs.amount_total == 3000 and cs.payment_status == "unpaid"
    items = client.v1.checkout.sessions.line_items.list(cs.id)
    assert [li.price.id for li in items.data] == [pr.id]  # type: ignore[union-attr]
    done = _complete(client, cs.id)
    assert done["status"] == "complete" and done["payment_status"] == "paid"
    sub = client.v1.subscriptions.retrieve(done["subscription"])
    assert sub.status == "active" and sub.customer == done["customer"]
    cus = client.v1.customers.retrieve(done["customer"])
    assert cus.email == "new@example.com"
    types = [e.type for e in client.v1.events.list().data]
    assert types[0] == "checkout.session.completed"
    assert client.v1.checkout.sessions.retrieve(cs.id).status == "complete"
    assert [s.id for s in client.v1.checkout.sessions.list(params={"status": "complete"}).data] == [
        cs.id
    ]


def test_payment_checkout_and_expire(client: stripe.StripeClient) -> None:
    one = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 500, "product_data": {"name": "T"}}
    )
    cs = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [{"price": one.id, "quantity": 3}],
            "success_url": "https://example.com/ok",
        }
    )
    done = _complete(client, cs.id, payment_method="pm_card_visa")
    assert done["payment_status"] == "paid" and done["payment_intent"]
    pi = client.v1.payment_intents.retrieve(done["payment_intent"])
    assert pi.amount == 1500 and pi.status == "succeeded"
    other = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [{"price": one.id}],
            "success_url": "https://example.com/ok",
        }
    )
    exp = client.v1.checkout.sessions.expire(other.id)
    assert exp.status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(other.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(
            params={"mode": "payment", "line_items": [{"price": one.id}]}
        )

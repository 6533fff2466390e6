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


def _session(client: stripe.StripeClient, **params: Any) -> stripe.checkout.Session:
    base: Any = {"success_url": "https://example.com/ok"}
    return client.v1.checkout.sessions.create(params={**base, **params})


def test_create_validation(client: stripe.StripeClient) -> None:
    recurring = price(client, 1000)
    one = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 500, "product_data": {"name": "T"}}
    )
    cus = client.v1.customers.create()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"mode": "payment", "line_items": [{"quantity": 1}]}, "line_items[0][price]"),
        ({"mode": "payment", "line_items": [{"price": "price_nope"}]}, "line_items[0][price]"),
        ({"mode": "payment", "line_items": [{"price": recurring.id}]}, "line_items[0][price]"),
        ({"mode": "subscription", "line_items": [{"price": one.id}]}, "line_items"),
        ({"mode": "payment"}, "line_items"),
        (
            {
                "mode": "payment",
                "line_items": [{"price": one.id}],
                "customer": cus.id,
                "customer_email": "a@example.com",
            },
            "",
        ),
    ]
    for params, param in cases:
        with pytest.raises(stripe.InvalidRequestError) as exc:
            _session(client, **params)
        assert exc.value.http_status == 400
        if param:
            assert exc.value.param == param
    assert client.v1.checkout.sessions.list().data == []


def test_embedded_setup_session_leaves_a_setup_intent(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": "s@example.com"})
    cs = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "ui_mode": "embedded",
            "currency": "usd",
            "customer": cus.id,
            "return_url": "https://example.com/back",
        }
    )
    assert cs.url is None and cs.client_secret and cs.client_secret.startswith(cs.id)
    assert cs.amount_total is None and cs.payment_status == "no_payment_required"
    done = _complete(client, cs.id, payment_method="pm_card_mastercard")
    assert done["status"] == "complete" and done["customer"] == cus.id
    assert done["payment_status"] == "no_payment_required"
    si = client.v1.setup_intents.retrieve(done["setup_intent"])
    assert si.status == "succeeded" and si.customer == cus.id and si.usage == "off_session"
    pm = client.v1.payment_methods.retrieve(str(si.payment_method))
    assert pm.customer == cus.id and pm.card is not None and pm.card.brand == "mastercard"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _complete(client, cs.id)
    assert "no longer active" in str(exc.value.user_message)


def test_declined_payment_leaves_session_open(client: stripe.StripeClient) -> None:
    one = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 800, "product_data": {"name": "T"}}
    )
    cs = _session(client, mode="payment", line_items=[{"price": one.id}])
    with pytest.raises(stripe.CardError) as exc:
        _complete(client, cs.id, payment_method="pm_card_chargeCustomerFail")
    assert exc.value.http_status == 402 and exc.value.code == "card_declined"
    assert client.v1.checkout.sessions.retrieve(cs.id).status == "open"
    done = _complete(client, cs.id, payment_method="pm_card_visa")
    assert done["status"] == "complete" and done["payment_status"] == "paid"


def _page(client: stripe.StripeClient, method: str, path: str, **params: Any) -> dict[str, Any]:
    resp = client.raw_request(method, path, **params)
    return client.deserialize(resp, api_mode="V1").to_dict()  # type: ignore[no-any-return]


def test_payment_page_confirm_completes_the_session(client: stripe.StripeClient) -> None:
    pr = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 1500, "product_data": {"name": "P"}}
    )
    ship = {"name": "Jenny Rosen", "address": {"line1": "510 Townsend St", "country": "US"}}
    cs = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [{"price": pr.id, "quantity": 2}],
            "success_url": "https://example.com/ok",
            "payment_intent_data": {"shipping": ship},
        }
    )
    page = _page(client, "get", f"/v1/payment_pages/{cs.id}")
    assert page["id"] == cs.id and page["object"] == "payment_page"
    assert page["status"] == "open" and page["amount_total"] == 3000
    assert [li["quantity"] for li in page["line_items"]["data"]] == [2]
    pm = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_visa"}})
    confirm = f"/v1/payment_pages/{cs.id}/confirm"
    with pytest.raises(stripe.InvalidRequestError) as e:
        _page(client, "post", confirm, payment_method=pm.id, expected_amount=1500)
    assert e.value.param == "expected_amount"
    assert client.v1.checkout.sessions.retrieve(cs.id).status == "open"
    done = _page(client, "post", confirm, payment_method=pm.id, expected_amount=3000)
    assert done["status"] == "complete" and done["payment_status"] == "paid"
    pi = client.v1.payment_intents.retrieve(done["payment_intent"])
    assert pi.status == "succeeded" and pi.amount == 3000 and pi.payment_method == pm.id
    assert pi.shipping is not None and pi.shipping.name == "Jenny Rosen"
    assert pi.shipping.address is not None and pi.shipping.address.city is None
    types = [e.type for e in client.v1.events.list().data]
    assert "checkout.session.completed" in types
    with pytest.raises(stripe.InvalidRequestError, match="no longer active"):
        _page(client, "post", confirm, payment_method=pm.id, expected_amount=3000)
    with pytest.raises(stripe.InvalidRequestError) as e:
        _page(client, "get", "/v1/payment_pages/cs_test_nope")
    assert e.value.http_status == 404 and e.value.code == "resource_missing"

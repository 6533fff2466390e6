"""Cards that need 3D Secure (``pm_card_authenticationRequired`` and friends) through the
SDK: on-session intents go to ``requires_action`` with a ``next_action``; off-session
payments decline ``authentication_required``; invoices and subscriptions wait."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from .billing_helpers import attach_default, price

AUTH = "pm_card_authenticationRequired"


def _types(client: stripe.StripeClient) -> list[str]:
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


def test_payment_intent_requires_action_then_another_card(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(
        params={"amount": 2000, "currency": "usd", "payment_method": AUTH, "confirm": True}
    )
    assert pi.status == "requires_action" and pi.latest_charge is None
    assert pi.next_action is not None and pi.next_action.type == "use_stripe_sdk"
    sdk = pi.next_action.to_dict()["use_stripe_sdk"]
    assert sdk["type"] == "three_d_secure_redirect" and sdk["source"].startswith("src_")
    assert _types(client) == ["payment_intent.created", "payment_intent.requires_action"]
    done = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert done.status == "succeeded" and done.next_action is None

    redirect = client.v1.payment_intents.create(
        params={
            "amount": 2000,
            "currency": "usd",
            "payment_method": "pm_card_threeDSecure2Required",
            "confirm": True,
            "return_url": "https://example.com/back",
        }
    )
    assert redirect.next_action is not None and redirect.next_action.type == "redirect_to_url"
    target = redirect.next_action.to_dict()["redirect_to_url"]
    assert target["return_url"] == "https://example.com/back"
    assert target["url"].startswith("https://hooks.stripe.com/")
    canceled = client.v1.payment_intents.cancel(redirect.id)
    assert canceled.status == "canceled" and canceled.next_action is None


@pytest.mark.parametrize("flag", ["off_session", "error_on_requires_action"])
def test_off_session_declines_authentication_required(
    client: stripe.StripeClient, flag: str
) -> None:
    cus = client.v1.customers.create()
    pm = client.v1.payment_methods.attach(AUTH, params={"customer": cus.id})
    with pytest.raises(stripe.CardError) as e:
        client.v1.payment_intents.create(
            params={
                "amount": 2000,
                "currency": "usd",
                "customer": cus.id,
                "payment_method": pm.id,
                "confirm": True,
                flag: True,  # type: ignore[misc]
            }
        )
    assert e.value.code == "authentication_required"
    pi = client.v1.payment_intents.list(params={"customer": cus.id}).data[0]
    assert pi.status == "requires_payment_method" and pi.next_action is None
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert charge.status == "failed" and charge.failure_code == "authentication_required"


def test_setup_intent_requires_action(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    si = client.v1.setup_intents.create(
        params={"customer": cus.id, "payment_method": AUTH, "confirm": True}
    )
    assert si.status == "requires_action" and si.next_action is not None
    assert client.v1.customers.payment_methods.list(cus.id).data == []  # not attached yet
    assert _types(client)[-1] == "setup_intent.requires_action"


def test_invoice_and_subscription_wait_for_authentication(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    pm = attach_default(client, cus.id, AUTH)
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 2000, "currency": "usd"})
    inv = client.v1.invoices.create(
        params={"customer": cus.id, "pending_invoice_items_behavior": "include"}
    )
    with pytest.raises(stripe.CardError) as e:
        client.v1.invoices.pay(str(inv.id), params={"payment_method": pm})
    assert e.value.code == "invoice_payment_intent_requires_action"
    inv = client.v1.invoices.retrieve(str(inv.id))
    assert inv.status == "open" and inv.payments is not None
    pi_id = str(inv.payments.data[0].payment.payment_intent)
    assert client.v1.payment_intents.retrieve(pi_id).status == "requires_action"
    assert "invoice.payment_action_required" in _types(client)
    assert "invoice.payment_failed" not in _types(client)

    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": price(client).id}]}
    )
    assert sub.status == "incomplete"
    latest = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert latest.status == "open"
    with pytest.raises(stripe.CardError) as e:
        client.v1.subscriptions.create(
            params={
                "customer": cus.id,
                "items": [{"price": price(client).id}],
                "payment_behavior": "error_if_incomplete",
            }
        )
    assert e.value.code == "invoice_payment_intent_requires_action"


def _page(client: stripe.StripeClient, method: str, path: str, **params: Any) -> dict[str, Any]:
    resp = client.raw_request(method, path, **params)
    return client.deserialize(resp, api_mode="V1").to_dict()  # type: ignore[no-any-return]


def test_checkout_refuses_a_card_needing_authentication(client: stripe.StripeClient) -> None:
    pr = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 1500, "product_data": {"name": "P"}}
    )
    cs = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [{"price": pr.id}],
            "success_url": "https://example.com/ok",
        }
    )
    with pytest.raises(stripe.CardError) as e:
        _page(client, "post", f"/v1/payment_pages/{cs.id}/confirm", payment_method=AUTH)
    assert e.value.code == "authentication_required"

"""Charges and refunds through the official SDK: lists and updates of charges, partial and
full refunds, over-refunds refused, refund events."""

from __future__ import annotations

import pytest
import stripe


def _paid(client: stripe.StripeClient, amount: int = 5000) -> stripe.PaymentIntent:
    cus = client.v1.customers.create()
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "usd",
            "customer": cus.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )


def test_charge_list_and_update(client: stripe.StripeClient) -> None:
    a, b = _paid(client), _paid(client)
    all_ = client.v1.charges.list()
    assert [c.id for c in all_.data] == [b.latest_charge, a.latest_charge]
    mine = client.v1.charges.list(params={"customer": str(a.customer)})
    assert [c.id for c in mine.data] == [a.latest_charge]
    upd = client.v1.charges.update(
        str(a.latest_charge), params={"description": "thanks", "metadata": {"k": "v"}}
    )
    assert upd.description == "thanks" and upd.metadata.to_dict() == {"k": "v"}
    evt = client.v1.events.list(params={"type": "charge.updated"}).data[0]
    assert evt.data.object["id"] == upd.id
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.charges.retrieve("ch_missing")
    assert exc.value.http_status == 404
    expanded = client.v1.charges.retrieve(
        str(a.latest_charge), params={"expand": ["payment_intent"]}
    )
    assert isinstance(expanded.payment_intent, stripe.PaymentIntent)


def test_partial_then_full_refund(client: stripe.StripeClient) -> None:
    pi = _paid(client)
    ch_id = str(pi.latest_charge)
    r1 = client.v1.refunds.create(
        params={"charge": ch_id, "amount": 1500, "reason": "requested_by_customer"}
    )
    assert isinstance(r1, stripe.Refund)
    assert r1.id.startswith("re_") and r1.status == "succeeded" and r1.amount == 1500
    assert r1.charge == ch_id and r1.payment_intent == pi.id and r1.currency == "usd"
    ch = client.v1.charges.retrieve(ch_id)
    assert ch.amount_refunded == 1500 and ch.refunded is False
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 4000})
    assert exc.value.http_status == 400 and exc.value.param == "amount"
    assert exc.value.user_message == (
        "Refund amount ($40.00) is greater than unrefunded amount on charge ($35.00)"
    )
    r2 = client.v1.refunds.create(params={"payment_intent": pi.id})
    assert r2.amount == 3500
    ch = client.v1.charges.retrieve(ch_id)
    assert ch.amount_refunded == 5000 and ch.refunded is True
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": ch_id})
    assert exc.value.code == "charge_already_refunded"
    listed = client.v1.refunds.list(params={"charge": ch_id})
    assert [r.id for r in listed.data] == [r2.id, r1.id]
    assert [r.id for r in client.v1.refunds.list(params={"payment_intent": pi.id}).data] == [
        r2.id,
        r1.id,
    ]
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
    assert types.count("refund.created") == 2 and types.count("charge.refunded") == 2
    evt = client.v1.events.list(params={"type": "charge.refunded"}).data[0]
    assert evt.data.previous_attributes is not None
    assert evt.data.previous_attributes["amount_refunded"] == 1500


def test_refund_errors_and_update(client: stripe.StripeClient) -> None:
    pi = _paid(client, 1000)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": str(pi.latest_charge), "amount": 1001})
    assert exc.value.code == "amount_too_large"
    assert exc.value.user_message == (
        "Refund amount ($10.01) is greater than charge amount ($10.00)"
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": "ch_missing"})
    assert exc.value.code == "resource_missing"
    pending = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": pending.id})
    r = client.v1.refunds.create(params={"payment_intent": pi.id, "metadata": {"a": "1"}})
    upd = client.v1.refunds.update(r.id, params={"metadata": {"b": "2"}})
    assert upd.metadata.to_dict() == {"a": "1", "b": "2"}
    assert client.v1.refunds.retrieve(r.id).to_dict() == upd.to_dict()
    types = [e.type for e in client.v1.events.list(params={"limit": 3}).data]
    assert types[:2] == ["charge.refund.updated", "refund.updated"]


def test_failed_charge_cannot_be_refunded(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
                "confirm": True,
            }
        )
    assert exc.value.error is not None
    failed = client.v1.charges.retrieve(str(exc.value.error.charge))
    assert failed.status == "failed" and failed.failure_code == "card_declined"
    assert failed.failure_message == "Your card has insufficient funds."
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"charge": failed.id})


def test_charge_transfer_group_and_fraud_report(client: stripe.StripeClient) -> None:
    a, b = _paid(client), _paid(client)
    ch = client.v1.charges.update(
        str(a.latest_charge),
        params={"transfer_group": "order-7", "fraud_details": {"user_report": "safe"}},
    )
    assert ch.transfer_group == "order-7"
    assert ch.fraud_details is not None and ch.fraud_details.to_dict()["user_report"] == "safe"
    listed = client.v1.charges.list(params={"transfer_group": "order-7"}).data
    assert [c.id for c in listed] == [ch.id]
    assert b.latest_charge not in {c.id for c in listed}
    # an empty fraud report changes nothing (and emits nothing)
    n = len(client.v1.events.list(params={"type": "charge.updated"}).data)
    same = client.v1.charges.update(ch.id, params={"fraud_details": {"user_report": ""}})
    assert same.fraud_details is not None
    assert same.fraud_details.to_dict()["user_report"] == "safe"
    assert len(client.v1.events.list(params={"type": "charge.updated"}).data) == n

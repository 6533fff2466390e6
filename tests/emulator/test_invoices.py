"""Invoices and invoice items through the SDK: drafts, totals, finalize, pay, void, lines."""

from __future__ import annotations

import pytest
import stripe

from .billing_helpers import clocked_customer


def test_manual_invoice_flow(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client)
    ii1 = client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 1500, "currency": "usd", "description": "A"}
    )
    assert ii1.invoice is None and ii1.amount == 1500
    inv = client.v1.invoices.create(
        params={"customer": cus.id, "pending_invoice_items_behavior": "include"}
    )
    assert inv.status == "draft" and inv.total == 1500 and inv.number is None
    client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 250, "currency": "usd", "invoice": inv.id}
    )
    inv = client.v1.invoices.retrieve(inv.id)
    assert inv.subtotal == inv.total == inv.amount_due == 1750
    assert sum(ln.amount for ln in inv.lines.data) == inv.total
    lines = client.v1.invoices.line_items.list(inv.id, params={"limit": 1})
    assert len(lines.data) == 1 and lines.has_more is True
    inv = client.v1.invoices.update(inv.id, params={"description": "d", "metadata": {"k": "v"}})
    assert inv.description == "d"
    inv = client.v1.invoices.finalize_invoice(inv.id)
    assert inv.status == "open" and inv.number and inv.hosted_invoice_url
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoice_items.delete(ii1.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.update(inv.id, params={"description": "x"})
    inv = client.v1.invoices.pay(inv.id)
    assert inv.status == "paid" and inv.amount_paid == 1750 and inv.amount_remaining == 0
    types = [e.type for e in client.v1.events.list(params={"type": "invoice*"}).data]
    assert types[:3] == ["invoice.payment_succeeded", "invoice.paid", "invoice.finalized"]


def test_zero_void_uncollectible_delete(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client, pm=None)
    zero = client.v1.invoices.create(params={"customer": cus.id})
    zero = client.v1.invoices.finalize_invoice(zero.id)
    assert zero.status == "paid" and zero.amount_paid == 0 and zero.attempted is False
    a = client.v1.invoices.create(params={"customer": cus.id})
    client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 100, "currency": "usd", "invoice": a.id}
    )
    a = client.v1.invoices.finalize_invoice(a.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(a.id)  # no payment method
    a = client.v1.invoices.retrieve(a.id)
    assert a.attempt_count == 1 and a.status == "open"
    a = client.v1.invoices.void_invoice(a.id)
    assert a.status == "void" and a.status_transitions.voided_at
    b = client.v1.invoices.create(params={"customer": cus.id})
    client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 100, "currency": "usd", "invoice": b.id}
    )
    client.v1.invoices.finalize_invoice(b.id)
    b = client.v1.invoices.mark_uncollectible(b.id)
    assert b.status == "uncollectible"
    b = client.v1.invoices.pay(b.id, params={"paid_out_of_band": True})
    assert b.status == "paid"
    c = client.v1.invoices.create(params={"customer": cus.id})
    ii = client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 5, "currency": "usd", "invoice": c.id}
    )
    assert client.v1.invoices.delete(c.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoice_items.retrieve(ii.id)
    listed = client.v1.invoices.list(params={"customer": cus.id, "status": "paid"}).data
    assert {i.id for i in listed} == {zero.id, b.id}


def test_send_invoice_subscription(client: stripe.StripeClient) -> None:
    from .billing_helpers import T0, price

    _clock, cus, _pm = clocked_customer(client, pm=None)
    pr = price(client, 900)
    sub = client.v1.subscriptions.create(
        params={
            "customer": cus.id,
            "items": [{"price": pr.id}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    assert sub.status == "active"
    inv = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert inv.status == "open" and inv.due_date == T0 + 30 * 86400 and inv.attempt_count == 0


def test_send_finalizes_a_draft_and_emits_sent(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": "bob@example.com"})
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 2000, "currency": "usd"})
    inv = client.v1.invoices.create(
        params={
            "customer": cus.id,
            "collection_method": "send_invoice",
            "days_until_due": 7,
            "pending_invoice_items_behavior": "include",
        }
    )
    assert inv.status == "draft"
    sent = client.v1.invoices.send_invoice(str(inv.id))
    assert sent.status == "open" and sent.number and sent.amount_due == 2000
    types = [e.type for e in reversed(client.v1.events.list().data)]
    assert types[-2:] == ["invoice.finalized", "invoice.sent"]
    again = client.v1.invoices.send_invoice(str(inv.id))  # an open invoice can be resent
    assert again.status == "open"
    assert [e.type for e in client.v1.events.list().data].count("invoice.sent") == 2
    client.v1.invoices.void_invoice(str(inv.id))
    with pytest.raises(stripe.InvalidRequestError, match="voided"):
        client.v1.invoices.send_invoice(str(inv.id))
    auto = client.v1.invoices.create(params={"customer": cus.id})
    with pytest.raises(stripe.InvalidRequestError, match="send_invoice"):
        client.v1.invoices.send_invoice(str(auto.id))

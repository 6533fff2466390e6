"""Invoice items through the SDK: prices, validation, updates on pending and draft items,
deletion from a draft invoice, and the list filters."""

from __future__ import annotations

import pytest
import stripe

from .billing_helpers import clocked_customer


def _one_time_price(client: stripe.StripeClient, amount: int, name: str) -> stripe.Price:
    return client.v1.prices.create(
        params={"currency": "eur", "unit_amount": amount, "product_data": {"name": name}}
    )


def test_item_from_price_takes_amount_currency_and_product_name(
    client: stripe.StripeClient,
) -> None:
    _clock, cus, _pm = clocked_customer(client, pm=None)
    pr = _one_time_price(client, 700, "Setup fee")
    ii = client.v1.invoice_items.create(
        params={
            "customer": cus.id,
            "pricing": {"price": pr.id},
            "quantity": 3,
            "period": {"start": 1_900_000_000, "end": 1_900_086_400},
            "metadata": {"k": "v"},
            "discountable": False,
        }
    )
    assert isinstance(ii, stripe.InvoiceItem) and ii.id.startswith("ii_")
    assert ii.amount == 2100 and ii.currency == "eur" and ii.quantity == 3
    assert ii.description == "Setup fee" and ii.invoice is None and ii.proration is False
    assert ii.discountable is False and ii.metadata.to_dict() == {"k": "v"}
    assert (ii.period.start, ii.period.end) == (1_900_000_000, 1_900_086_400)
    assert ii.pricing is not None and ii.pricing.price_details is not None
    assert ii.pricing.price_details.price == pr.id
    assert ii.pricing.price_details.product == pr.product
    # quantity change recomputes the amount from the price
    ii = client.v1.invoice_items.update(ii.id, params={"quantity": 2, "description": "Fee"})
    assert ii.amount == 1400 and ii.quantity == 2 and ii.description == "Fee"
    evt = client.v1.events.list(params={"type": "invoiceitem.updated"}).data[0]
    assert evt.data.previous_attributes is not None
    assert evt.data.previous_attributes["amount"] == 2100
    assert evt.data.previous_attributes["quantity"] == 3
    got = client.v1.invoice_items.retrieve(ii.id)
    assert got.amount == 1400 and got.description == "Fee"
    gone = client.v1.invoice_items.delete(ii.id)
    assert gone.deleted is True and gone.id == ii.id
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.retrieve(ii.id)
    assert exc.value.http_status == 404 and exc.value.code == "resource_missing"
    types = [e.type for e in client.v1.events.list(params={"type": "invoiceitem.*"}).data]
    assert types == ["invoiceitem.deleted", "invoiceitem.updated", "invoiceitem.created"]


@pytest.mark.parametrize(
    ("params", "status", "code", "param"),
    [
        ({"currency": "usd"}, 400, "parameter_missing", "amount"),
        ({"amount": 100}, 400, "parameter_missing", "currency"),
        ({"amount": 100, "currency": "usd", "price": "price_nope"}, 400, None, None),
        ({"price": "price_nope"}, 400, "resource_missing", "price"),
        (
            {"amount": 1, "currency": "usd", "invoice": "in_nope"},
            400,
            "resource_missing",
            "invoice",
        ),
        (
            {"amount": 1, "currency": "usd", "subscription": "sub_nope"},
            400,
            "resource_missing",
            "subscription",
        ),
    ],
)
def test_create_validation(
    client: stripe.StripeClient,
    params: dict[str, object],
    status: int,
    code: str | None,
    param: str | None,
) -> None:
    cus = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.create(params={"customer": cus.id, **params})  # type: ignore[typeddict-item]
    assert exc.value.http_status == status
    if code is not None:
        assert exc.value.code == code and exc.value.param == param
    else:  # amount together with price
        assert "amount" in str(exc.value.user_message) and "price" in str(exc.value.user_message)
    assert client.v1.invoice_items.list(params={"customer": cus.id}).data == []


def test_items_on_draft_invoice_follow_the_invoice(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client)
    other = client.v1.customers.create()
    inv = client.v1.invoices.create(params={"customer": cus.id})
    a = client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 500, "currency": "usd", "invoice": inv.id}
    )
    b = client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 300, "currency": "usd", "invoice": inv.id}
    )
    pending = client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 50, "currency": "usd"}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.create(
            params={"customer": other.id, "amount": 1, "currency": "usd", "invoice": inv.id}
        )
    assert exc.value.param == "invoice"
    assert client.v1.invoices.retrieve(inv.id).total == 800

    # editing an item on a draft rewrites its line and the totals
    a = client.v1.invoice_items.update(
        a.id,
        params={"amount": 900, "period": {"start": 1_900_000_000, "end": 1_900_000_100}},
    )
    assert a.amount == 900 and a.invoice == inv.id
    inv = client.v1.invoices.retrieve(inv.id)
    assert inv.total == inv.amount_due == 1200
    line = next(ln for ln in inv.lines.data if ln.amount == 900)
    assert (line.period.start, line.period.end) == (1_900_000_000, 1_900_000_100)

    # deleting an item on a draft removes its line
    client.v1.invoice_items.delete(b.id)
    inv = client.v1.invoices.retrieve(inv.id)
    assert inv.total == 900 and len(inv.lines.data) == 1

    # filters: by invoice, pending or not
    on_inv = client.v1.invoice_items.list(params={"invoice": inv.id}).data
    assert [i.id for i in on_inv] == [a.id]
    pend = client.v1.invoice_items.list(params={"customer": cus.id, "pending": True}).data
    assert [i.id for i in pend] == [pending.id]
    not_pend = client.v1.invoice_items.list(params={"customer": cus.id, "pending": False}).data
    assert [i.id for i in not_pend] == [a.id]

    # once finalized: only metadata may change; no new items, no deletes
    client.v1.invoices.finalize_invoice(inv.id, params={"auto_advance": False})
    a = client.v1.invoice_items.update(a.id, params={"metadata": {"note": "ok"}})
    assert a.metadata.to_dict() == {"note": "ok"}
    for call in (
        lambda: client.v1.invoice_items.update(a.id, params={"amount": 1}),
        lambda: client.v1.invoice_items.delete(a.id),
        lambda: client.v1.invoice_items.create(
            params={"customer": cus.id, "amount": 1, "currency": "usd", "invoice": inv.id}
        ),
    ):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            call()
        assert exc.value.code == "invoice_not_editable"


def test_item_for_a_subscription_lands_on_its_next_invoice_preview(
    client: stripe.StripeClient,
) -> None:
    from .billing_helpers import price

    _clock, cus, _pm = clocked_customer(client)
    pr = price(client, 1000)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": pr.id}]})
    ii = client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 250, "currency": "usd", "subscription": sub.id}
    )
    assert ii.parent is not None and ii.parent.subscription_details is not None
    assert ii.parent.subscription_details.subscription == sub.id
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert preview.total == 1250
    assert sorted(ln.amount for ln in preview.lines.data) == [250, 1000]

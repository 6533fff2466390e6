"""Invoices through the SDK: create options, draft-only edits, auto_advance timers on a test
clock, state errors, due_date filters and line pagination."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from .billing_helpers import DAY, T0, advance, attach_default, clocked_customer, price

HOUR = 3600


def _bad(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        call()
    assert exc.value.http_status == 400
    return exc.value


def _with_item(client: stripe.StripeClient, cus: str, amount: int = 1000, **params: Any) -> Any:
    inv = client.v1.invoices.create(params={"customer": cus, **params})
    client.v1.invoice_items.create(
        params={"customer": cus, "amount": amount, "currency": "usd", "invoice": inv.id}
    )
    return client.v1.invoices.retrieve(inv.id)


def test_create_validation_and_options(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client, pm=None)
    assert _bad(lambda: client.v1.invoices.create()).param == "customer"
    err = _bad(lambda: client.v1.invoices.create(params={"customer": "cus_nope"}))
    assert err.param == "customer"
    err = _bad(
        lambda: client.v1.invoices.create(params={"customer": cus.id, "subscription": "sub_x"})
    )
    assert err.param == "subscription"
    err = _bad(
        lambda: client.v1.invoices.create(
            params={"customer": cus.id, "collection_method": "send_invoice"}
        )
    )
    assert err.param == "days_until_due"
    inv = client.v1.invoices.create(
        params={
            "customer": cus.id,
            "collection_method": "send_invoice",
            "due_date": T0 + 5 * DAY,
            "footer": "Thanks",
            "currency": "EUR",
        }
    )
    assert inv.due_date == T0 + 5 * DAY and inv.footer == "Thanks" and inv.currency == "eur"
    inv = client.v1.invoices.update(inv.id, params={"days_until_due": 10})
    assert inv.due_date == T0 + 10 * DAY
    listed = client.v1.invoices.list(
        params={"customer": cus.id, "due_date": {"gte": T0 + 9 * DAY, "lte": T0 + 11 * DAY}}
    ).data
    assert [i.id for i in listed] == [inv.id]
    assert client.v1.invoices.list(params={"due_date": {"lt": T0}}).data == []


def test_pending_items_of_another_subscription_are_not_pulled_in(
    client: stripe.StripeClient,
) -> None:
    _clock, cus, _pm = clocked_customer(client)
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": price(client).id}]}
    )
    other = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": price(client).id}]}
    )
    theirs = client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 100, "currency": "usd", "subscription": other.id}
    )
    loose = client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 200, "currency": "usd"}
    )
    inv = client.v1.invoices.create(
        params={
            "customer": cus.id,
            "subscription": sub.id,
            "pending_invoice_items_behavior": "include",
        }
    )
    assert inv.subscription == sub.id and inv.total == 200
    assert client.v1.invoice_items.retrieve(loose.id).invoice == inv.id
    assert client.v1.invoice_items.retrieve(theirs.id).invoice is None


def test_auto_advance_finalizes_and_charges_an_hour_later(client: stripe.StripeClient) -> None:
    clock, cus, _pm = clocked_customer(client)
    inv = _with_item(client, cus.id, auto_advance=True)
    assert inv.status == "draft" and inv.auto_advance is True
    assert inv.automatically_finalizes_at == T0 + HOUR
    advance(client, clock.id, T0 + HOUR + 60)
    inv = client.v1.invoices.retrieve(inv.id)
    assert inv.status == "paid" and inv.amount_paid == 1000 and inv.attempt_count == 1
    # auto_advance switched on and off again on a draft: the timer goes away
    d = _with_item(client, cus.id)
    d = client.v1.invoices.update(d.id, params={"auto_advance": True})
    assert d.automatically_finalizes_at == T0 + HOUR + 60 + HOUR
    d = client.v1.invoices.update(d.id, params={"auto_advance": False})
    assert d.automatically_finalizes_at is None
    advance(client, clock.id, T0 + 3 * HOUR)
    assert client.v1.invoices.retrieve(d.id).status == "draft"
    # a draft that is finalized by hand before its timer is left alone by it
    e = _with_item(client, cus.id, auto_advance=True)
    e = client.v1.invoices.finalize_invoice(e.id, params={"auto_advance": False})
    assert e.status == "open"
    advance(client, clock.id, T0 + 5 * HOUR)
    e = client.v1.invoices.retrieve(e.id)
    assert e.status == "open" and e.attempt_count == 0


def test_finalize_with_auto_advance_schedules_the_payment(client: stripe.StripeClient) -> None:
    clock, cus, _pm = clocked_customer(client)
    inv = _with_item(client, cus.id)
    inv = client.v1.invoices.finalize_invoice(inv.id, params={"auto_advance": True})
    assert inv.status == "open" and inv.next_payment_attempt == T0 + HOUR
    advance(client, clock.id, T0 + 2 * HOUR)
    assert client.v1.invoices.retrieve(inv.id).status == "paid"
    err = _bad(lambda: client.v1.invoices.finalize_invoice(inv.id))
    assert "already finalized" in str(err.user_message)
    # a voided invoice is not retried by an old retry timer
    attach_default(client, cus.id, "pm_card_chargeCustomerFail")
    f = _with_item(client, cus.id)
    f = client.v1.invoices.finalize_invoice(f.id, params={"auto_advance": True})
    client.v1.invoices.void_invoice(f.id)
    advance(client, clock.id, T0 + 4 * HOUR)
    f = client.v1.invoices.retrieve(f.id)
    assert f.status == "void" and f.attempt_count == 0


def test_state_errors(client: stripe.StripeClient) -> None:
    _clock, cus, pm = clocked_customer(client)
    zero = client.v1.invoices.create(params={"customer": cus.id})
    paid = client.v1.invoices.pay(zero.id)  # a $0 draft: finalized and paid, no charge
    assert paid.status == "paid" and paid.amount_paid == 0 and paid.number
    assert "already paid" in str(_bad(lambda: client.v1.invoices.pay(zero.id)).user_message)
    assert _bad(lambda: client.v1.invoices.delete(zero.id)).code == "invoice_not_editable"
    err = _bad(lambda: client.v1.invoices.mark_uncollectible(zero.id))
    assert "open invoices" in str(err.user_message)
    err = _bad(lambda: client.v1.invoices.void_invoice(zero.id))
    assert "This invoice is paid" in str(err.user_message)
    draft = _with_item(client, cus.id)
    err = _bad(lambda: client.v1.invoices.void_invoice(draft.id))
    assert "Delete draft invoices" in str(err.user_message)
    opened = client.v1.invoices.finalize_invoice(draft.id)
    client.v1.invoices.void_invoice(opened.id)
    err = _bad(lambda: client.v1.invoices.pay(opened.id))
    assert "voided" in str(err.user_message)
    # metadata and auto_advance are not draft-only
    inv = _with_item(client, cus.id, default_payment_method=pm)
    inv = client.v1.invoices.finalize_invoice(inv.id)
    inv = client.v1.invoices.update(inv.id, params={"metadata": {"a": "b"}, "auto_advance": True})
    assert inv.metadata.to_dict() == {"a": "b"} and inv.auto_advance is True
    assert inv.default_payment_method == pm
    inv = client.v1.invoices.pay(inv.id)
    assert inv.status == "paid" and inv.payment_intent is not None


def test_invoice_number_survives_customer_deletion(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    client.v1.payment_methods.attach("pm_card_visa", params={"customer": cus.id})
    inv = _with_item(client, cus.id)
    client.v1.customers.delete(cus.id)
    inv = client.v1.invoices.finalize_invoice(inv.id)
    assert inv.status == "open" and inv.number is not None and inv.number.endswith("-0001")


def test_line_pagination(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    inv = client.v1.invoices.create(params={"customer": cus.id})
    for amount in (100, 200, 300, 400):
        client.v1.invoice_items.create(
            params={"customer": cus.id, "amount": amount, "currency": "usd", "invoice": inv.id}
        )
    first = client.v1.invoices.line_items.list(inv.id, params={"limit": 2})
    assert [ln.amount for ln in first.data] == [100, 200] and first.has_more
    nxt = client.v1.invoices.line_items.list(
        inv.id, params={"limit": 2, "starting_after": first.data[-1].id}
    )
    assert [ln.amount for ln in nxt.data] == [300, 400] and not nxt.has_more
    back = client.v1.invoices.line_items.list(
        inv.id, params={"limit": 1, "ending_before": nxt.data[0].id}
    )
    assert [ln.amount for ln in back.data] == [200] and back.has_more
    every = list(client.v1.invoices.line_items.list(inv.id, params={"limit": 1}).auto_paging_iter())
    assert [ln.amount for ln in every] == [100, 200, 300, 400]
    for cursor in ("starting_after", "ending_before"):
        # an unknown cursor: resource_missing on the cursor param, as for top-level lists
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.invoices.line_items.list(inv.id, params={cursor: "il_nope"})  # type: ignore[misc]
        assert exc.value.code == "resource_missing" and exc.value.param == cursor
        assert exc.value.http_status == 400

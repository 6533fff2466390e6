"""Subscriptions through the SDK: create behaviours, proration, items, cancel, list."""

from __future__ import annotations

import pytest
import stripe

from .billing_helpers import DAY, T0, advance, attach_default, clocked_customer, price


def test_create_pays_first_invoice_and_expands(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client)
    pr = price(client, 1234)
    sub = client.v1.subscriptions.create(
        params={
            "customer": cus.id,
            "items": [{"price": pr.id, "quantity": 2}],
            "expand": ["latest_invoice.payment_intent"],
        }
    )
    assert sub.status == "active" and sub.customer == cus.id and sub.created == T0
    inv = sub.latest_invoice
    assert isinstance(inv, stripe.Invoice)
    assert inv.status == "paid" and inv.amount_paid == 2468 and inv.total == 2468
    assert inv.payment_intent.status == "succeeded"  # type: ignore[attr-defined]
    assert inv.parent.subscription_details.subscription == sub.id  # type: ignore[union-attr]
    line = inv.lines.data[0]
    assert line.quantity == 2 and line.amount == 2468
    assert line.description == "2 \u00d7 Pro (at $12.34 / month)"
    assert line.pricing.price_details.price == pr.id  # type: ignore[union-attr]
    item = sub["items"].data[0]
    assert item.current_period_end == T0 + 28 * DAY  # Jan 31 -> Feb 28
    assert client.v1.subscription_items.retrieve(item.id).quantity == 2


def test_failed_first_payment(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client, pm="pm_card_chargeCustomerFail")
    pr = price(client)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": pr.id}]})
    assert sub.status == "incomplete"
    with pytest.raises(stripe.CardError) as exc:
        client.v1.subscriptions.create(
            params={
                "customer": cus.id,
                "items": [{"price": pr.id}],
                "payment_behavior": "error_if_incomplete",
            }
        )
    assert exc.value.http_status == 402
    assert len(client.v1.subscriptions.list(params={"customer": cus.id}).data) == 1
    _clock2 = client.v1.test_helpers.test_clocks.retrieve(_clock.id)
    advance(client, _clock.id, T0 + DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete_expired"
    inv = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert inv.status == "void"


def test_default_incomplete_then_pay(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client)
    pr = price(client)
    sub = client.v1.subscriptions.create(
        params={
            "customer": cus.id,
            "items": [{"price": pr.id}],
            "payment_behavior": "default_incomplete",
        }
    )
    assert sub.status == "incomplete"
    inv = client.v1.invoices.pay(sub.latest_invoice)  # type: ignore[arg-type]
    assert inv.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_mid_period_upgrade_prorations(client: stripe.StripeClient) -> None:
    clock, cus, _pm = clocked_customer(client, t0=T0 - 30 * DAY)  # Jan 1
    cheap, dear = price(client, 1000), price(client, 4000)
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": cheap.id}]}
    )
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    at = start + (end - start) // 2
    advance(client, clock.id, at)
    sub = client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": item.id, "price": dear.id}],
            "proration_behavior": "always_invoice",
        },
    )
    inv = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert inv.billing_reason == "subscription_update" and inv.status == "paid"
    amounts = sorted(ln.amount for ln in inv.lines.data)
    assert amounts == [-500, 2000]
    assert inv.total == 1500 == sum(amounts)
    assert all(ln.parent.invoice_item_details.proration for ln in inv.lines.data)  # type: ignore[union-attr]
    # create_prorations leaves pending items for the next invoice
    sub = client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": item.id, "quantity": 2}],
            "proration_behavior": "create_prorations",
        },
    )
    pending = client.v1.invoice_items.list(params={"customer": cus.id, "pending": True}).data
    assert sorted(ii.amount for ii in pending) == [-2000, 4000]
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert preview.total == 2000 + 8000
    advance(client, clock.id, end + 2 * 3600)
    renewal = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)  # type: ignore[arg-type]
    assert renewal.total == 8000 + 2000 and renewal.status == "paid"
    # none: no items
    client.v1.subscriptions.update(
        sub.id, params={"items": [{"id": item.id, "quantity": 1}], "proration_behavior": "none"}
    )
    assert client.v1.invoice_items.list(params={"customer": cus.id, "pending": True}).data == []


def test_cancel_list_filters_and_items(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client)
    a, b = price(client, 500), price(client, 700)
    s1 = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": a.id}]})
    s2 = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": b.id}]})
    assert [s.id for s in client.v1.subscriptions.list(params={"price": a.id}).data] == [s1.id]
    si = client.v1.subscription_items.create(
        params={"subscription": s2.id, "price": a.id, "proration_behavior": "none"}
    )
    assert len(client.v1.subscription_items.list(params={"subscription": s2.id}).data) == 2
    client.v1.subscription_items.delete(si.id, params={"proration_behavior": "none"})
    gone = client.v1.subscriptions.cancel(s1.id)
    assert gone.status == "canceled" and gone.ended_at == T0
    listed = client.v1.subscriptions.list(params={"customer": cus.id}).data
    assert [s.id for s in listed] == [s2.id]
    assert [s.id for s in client.v1.subscriptions.list(params={"status": "canceled"}).data] == [
        s1.id
    ]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.update(s1.id, params={"items": [{"price": b.id}]})
    types = [e.type for e in client.v1.events.list(params={"type": "customer.subscription.*"}).data]
    assert types[0] == "customer.subscription.deleted"


def test_trial_will_end_at_once_for_short_trials_and_trial_end_now(
    client: stripe.StripeClient,
) -> None:
    clock, cus, _ = clocked_customer(client)
    pr = price(client)
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": pr.id}], "trial_period_days": 1}
    )
    evts = list(reversed(client.v1.events.list(params={"limit": 100}).data))
    notices = [e for e in evts if e.type == "customer.subscription.trial_will_end"]
    assert len(notices) == 1 and notices[0].data.object["id"] == sub.id
    assert notices[0].request.id is not None  # sent by the create request itself
    assert evts[-1].type == "customer.subscription.trial_will_end"
    advance(client, clock.id, T0 + DAY // 2)  # no second notice before the trial ends
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
    assert types.count("customer.subscription.trial_will_end") == 1

    long = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": pr.id}], "trial_period_days": 30}
    )
    client.v1.subscriptions.update(long.id, params={"trial_end": "now"})
    evts = list(reversed(client.v1.events.list(params={"limit": 100}).data))
    notices = [e for e in evts if e.type == "customer.subscription.trial_will_end"]
    assert [e.data.object["id"] for e in notices] == [sub.id, long.id]
    assert client.v1.subscriptions.retrieve(long.id).status == "active"
    advance(client, clock.id, T0 + 28 * DAY)  # the cleared 3-day notice never fires
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
    assert types.count("customer.subscription.trial_will_end") == 2


def test_default_payment_method_token_mints_and_attaches_a_card(
    client: stripe.StripeClient,
) -> None:
    cus = client.v1.customers.create()
    pr = price(client)
    sub = client.v1.subscriptions.create(
        params={
            "customer": cus.id,
            "items": [{"price": pr.id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    pm_id = str(sub.default_payment_method)
    assert pm_id.startswith("pm_") and pm_id != "pm_card_visa"
    assert client.v1.payment_methods.retrieve(pm_id).customer == cus.id
    assert sub.status == "active"
    inv = client.v1.invoices.retrieve(str(sub.latest_invoice))
    pi_id = inv.payments.data[0].payment.payment_intent  # type: ignore[union-attr]
    assert client.v1.payment_intents.retrieve(str(pi_id)).payment_method == pm_id

    upd = client.v1.subscriptions.update(
        sub.id, params={"default_payment_method": "pm_card_mastercard"}
    )
    new_id = str(upd.default_payment_method)
    assert new_id not in (pm_id, "pm_card_mastercard")
    assert client.v1.payment_methods.retrieve(new_id).customer == cus.id
    upd = client.v1.subscriptions.update(sub.id, params={"default_payment_method": pm_id})
    assert upd.default_payment_method == pm_id
    assert (
        client.v1.subscriptions.update(
            sub.id, params={"default_payment_method": ""}
        ).default_payment_method
        is None
    )


def test_default_payment_method_must_be_the_customers(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    other = client.v1.customers.create()
    theirs = client.v1.payment_methods.attach("pm_card_visa", params={"customer": other.id})
    loose = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_visa"}})
    pr = price(client)
    for pm_id in (theirs.id, loose.id):
        with pytest.raises(stripe.InvalidRequestError) as e:
            client.v1.subscriptions.create(
                params={
                    "customer": cus.id,
                    "items": [{"price": pr.id}],
                    "default_payment_method": pm_id,
                }
            )
        assert e.value.http_status == 400 and e.value.param == "default_payment_method"
        assert e.value.code == "resource_missing" and "must be attached" in str(e.value)
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.subscriptions.create(
            params={
                "customer": cus.id,
                "items": [{"price": pr.id}],
                "default_payment_method": "pm_nope",
            }
        )
    assert e.value.param == "default_payment_method" and e.value.code == "resource_missing"
    assert client.v1.subscriptions.list(params={"customer": cus.id}).data == []
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": pr.id}], "trial_period_days": 30}
    )
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.subscriptions.update(sub.id, params={"default_payment_method": theirs.id})
    assert e.value.param == "default_payment_method"
    assert client.v1.subscriptions.retrieve(sub.id).default_payment_method is None


def _trial_sub(
    client: stripe.StripeClient, customer: str, behavior: str, days: int = 7
) -> stripe.Subscription:
    return client.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": price(client).id}],
            "trial_period_days": days,
            "trial_settings": {"end_behavior": {"missing_payment_method": behavior}},  # type: ignore[typeddict-item]
        }
    )


def test_trial_end_without_payment_method_pauses_then_resume(
    client: stripe.StripeClient,
) -> None:
    clock, cus, _ = clocked_customer(client, pm=None)
    sub = _trial_sub(client, cus.id, "pause")
    assert sub.trial_settings is not None
    assert sub.trial_settings.end_behavior.missing_payment_method == "pause"
    n_invoices = len(client.v1.invoices.list(params={"customer": cus.id}).data)
    paused = client.v1.subscriptions.update(sub.id, params={"trial_end": "now"})
    assert paused.status == "paused"
    evts = list(reversed(client.v1.events.list(params={"limit": 100}).data))
    assert [e.type for e in evts[-2:]] == [
        "customer.subscription.updated",
        "customer.subscription.paused",
    ]
    assert evts[-2].data.previous_attributes["status"] == "trialing"  # type: ignore[index]
    assert len(client.v1.invoices.list(params={"customer": cus.id}).data) == n_invoices
    advance(client, clock.id, T0 + 40 * DAY)  # paused: nothing renews
    assert client.v1.subscriptions.retrieve(sub.id).status == "paused"
    assert len(client.v1.invoices.list(params={"customer": cus.id}).data) == n_invoices
    listed = client.v1.subscriptions.list(params={"status": "paused"}).data
    assert [s.id for s in listed] == [sub.id]

    with pytest.raises(stripe.InvalidRequestError, match="paused"):
        client.v1.subscriptions.resume(
            _trial_sub(client, cus.id, "pause").id, params={"billing_cycle_anchor": "now"}
        )
    attach_default(client, cus.id, "pm_card_visa")
    resumed = client.v1.subscriptions.resume(sub.id)
    assert resumed.status == "active"
    assert resumed.billing_cycle_anchor == T0 + 40 * DAY
    inv = client.v1.invoices.retrieve(str(resumed.latest_invoice))
    assert inv.status == "paid" and inv.amount_paid == 2000
    types = [e.type for e in client.v1.events.list(params={"limit": 5}).data]
    assert types[0] == "customer.subscription.resumed"


def test_trial_end_without_payment_method_cancel_or_invoice(
    client: stripe.StripeClient,
) -> None:
    clock, cus, _ = clocked_customer(client, pm=None)
    canceled = _trial_sub(client, cus.id, "cancel", days=2)
    invoiced = _trial_sub(client, cus.id, "create_invoice", days=2)
    late = _trial_sub(client, cus.id, "pause", days=2)
    client.v1.subscriptions.update(
        late.id,
        params={"trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}}},  # type: ignore[typeddict-item]
    )
    advance(client, clock.id, T0 + 2 * DAY + 60)
    got = client.v1.subscriptions.retrieve(canceled.id)
    assert got.status == "canceled" and got.ended_at == T0 + 2 * DAY
    assert client.v1.subscriptions.retrieve(invoiced.id).status in ("active", "past_due")
    assert client.v1.subscriptions.retrieve(late.id).status != "paused"
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
    assert "customer.subscription.deleted" in types
    assert "customer.subscription.paused" not in types
    # with a default card the trial simply ends
    _c2, cus2, _pm = clocked_customer(client)
    paid = _trial_sub(client, cus2.id, "pause")
    assert client.v1.subscriptions.update(paid.id, params={"trial_end": "now"}).status == "active"

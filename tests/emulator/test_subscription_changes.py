"""Subscriptions through the SDK, beyond the happy path: create-time validation and
options, updates (trial, cancellation, collection), item changes with and without
proration, cancellation with prorations, dunning settings, and invoice previews."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from simulator.stripe_emulator import EmulatorServer
from simulator.stripe_emulator.billing import BillingSettings, set_account_settings

from .billing_helpers import DAY, T0, advance, attach_default, clocked_customer, price, ts


def _bad(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        call()
    assert exc.value.http_status == 400
    return exc.value


def test_create_validation(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client)
    monthly, yearly = price(client, 1000), price(client, 9000, "year")
    eur = client.v1.prices.create(
        params={
            "currency": "eur",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "E"},
        }
    )
    one_time = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 100, "product_data": {"name": "O"}}
    )
    create = client.v1.subscriptions.create
    cases: list[tuple[dict[str, Any], str]] = [
        ({"items": [{"quantity": 1}]}, "items[0][price]"),
        ({"items": [{"price": "price_nope"}]}, "items[0][price]"),
        ({"items": [{"price": one_time.id}]}, "items[0][price]"),
        ({"items": [{"price": monthly.id}, {"price": eur.id}]}, "items[1][price]"),
        ({"items": [{"price": monthly.id}, {"price": yearly.id}]}, "items[1][price]"),
        ({"items": [{"price": monthly.id}], "collection_method": "send_invoice"}, "days_until_due"),
        ({"items": [{"price": monthly.id}], "trial_end": T0 - 1}, "trial_end"),
        ({"items": [{"price": monthly.id}], "trial_end": "tomorrow"}, "trial_end"),
    ]
    for params, param in cases:
        err = _bad(lambda p=params: create(params={"customer": cus.id, **p}))
        assert err.param == param, params
    with pytest.raises(stripe.InvalidRequestError) as exc:
        create(params={"customer": "cus_nope", "items": [{"price": monthly.id}]})
    assert exc.value.param == "customer"
    assert client.v1.subscriptions.list(params={"customer": cus.id, "status": "all"}).data == []


def test_create_with_trial_end_and_cancel_at_period_end(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client)
    pr = price(client, 1000)
    sub = client.v1.subscriptions.create(
        params={
            "customer": cus.id,
            "items": [{"price": pr.id}],
            "trial_end": T0 + 10 * DAY,
            "cancel_at_period_end": True,
        }
    )
    assert sub.status == "trialing" and sub.trial_end == T0 + 10 * DAY
    assert sub.billing_cycle_anchor == T0 + 10 * DAY
    assert sub.cancel_at_period_end is True and sub.cancel_at == T0 + 10 * DAY
    assert sub.cancellation_details is not None
    assert sub.cancellation_details.reason == "cancellation_requested"
    now = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": pr.id}], "trial_end": "now"}
    )
    assert now.status == "active" and now.trial_end is None


def test_send_invoice_trial_subscription(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client, pm=None)
    pr = price(client, 1000)
    sub = client.v1.subscriptions.create(
        params={
            "customer": cus.id,
            "items": [{"price": pr.id}],
            "collection_method": "send_invoice",
            "days_until_due": 7,
            "trial_period_days": 14,
        }
    )
    assert sub.status == "trialing" and sub.days_until_due == 7
    inv = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert inv.status == "paid" and inv.total == 0 and inv.collection_method == "send_invoice"


def test_error_if_incomplete_returns_pending_items(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client, pm="pm_card_chargeCustomerFail")
    pr = price(client, 1000)
    ii = client.v1.invoice_items.create(
        params={"customer": cus.id, "amount": 300, "currency": "usd"}
    )
    with pytest.raises(stripe.CardError):
        client.v1.subscriptions.create(
            params={
                "customer": cus.id,
                "items": [{"price": pr.id}],
                "payment_behavior": "error_if_incomplete",
            }
        )
    assert client.v1.invoice_items.retrieve(ii.id).invoice is None
    assert client.v1.invoices.list(params={"customer": cus.id}).data == []
    types = {e.type for e in client.v1.events.list(params={"limit": 100}).data}
    assert "customer.subscription.created" not in types and "invoice.created" not in types


def test_update_fields_cancellation_and_collection(client: stripe.StripeClient) -> None:
    _clock, cus, pm = clocked_customer(client)
    pr = price(client, 1000)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": pr.id}]})
    end = sub["items"].data[0].current_period_end
    sub = client.v1.subscriptions.update(
        sub.id,
        params={
            "description": "team plan",
            "metadata": {"seat": "5"},
            "default_payment_method": pm,
            "cancellation_details": {"comment": "too pricey", "feedback": "too_expensive"},
            "cancel_at_period_end": True,
        },
    )
    assert sub.description == "team plan" and sub.metadata.to_dict() == {"seat": "5"}
    assert sub.default_payment_method == pm
    assert sub.cancel_at_period_end is True and sub.cancel_at == end
    assert sub.canceled_at == T0
    assert sub.cancellation_details is not None
    assert sub.cancellation_details.comment == "too pricey"
    assert sub.cancellation_details.reason == "cancellation_requested"
    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": False})
    assert sub.cancel_at_period_end is False and sub.cancel_at is None and sub.canceled_at is None
    assert sub.cancellation_details is not None and sub.cancellation_details.reason is None
    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at": end})
    assert sub.cancel_at == end and sub.cancel_at_period_end is True
    sub = client.v1.subscriptions.update(
        sub.id, params={"collection_method": "send_invoice", "days_until_due": 10}
    )
    assert sub.collection_method == "send_invoice" and sub.days_until_due == 10
    sub = client.v1.subscriptions.update(
        sub.id, params={"collection_method": "charge_automatically"}
    )
    assert sub.days_until_due is None
    for params, param in (
        ({"trial_end": T0 - DAY}, "trial_end"),
        ({"default_payment_method": "pm_nope"}, "default_payment_method"),
    ):
        err = _bad(lambda p=params: client.v1.subscriptions.update(sub.id, params=p))
        assert err.param == param
    err = _bad(
        lambda: client.v1.subscriptions.update(
            sub.id, params={"items": [{"id": "si_nope", "quantity": 2}]}
        )
    )
    assert err.param == "items[0][id]"


def test_update_with_invalid_trial_end_changes_nothing(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client)
    pr = price(client, 1000)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": pr.id}]})
    item = sub["items"].data[0]
    n = len(client.v1.events.list(params={"limit": 100}).data)
    _bad(
        lambda: client.v1.subscriptions.update(
            sub.id,
            params={"items": [{"id": item.id, "quantity": 3}], "trial_end": T0 - DAY},
        )
    )
    assert client.v1.subscription_items.retrieve(item.id).quantity == 1
    assert client.v1.invoice_items.list(params={"customer": cus.id}).data == []
    assert len(client.v1.events.list(params={"limit": 100}).data) == n


def test_cancel_at_in_the_middle_of_a_period(client: stripe.StripeClient) -> None:
    clock, cus, _pm = clocked_customer(client)
    pr = price(client, 1000)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": pr.id}]})
    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at": T0 + 10 * DAY})
    assert sub.cancel_at == T0 + 10 * DAY and sub.cancel_at_period_end is False
    advance(client, clock.id, T0 + 11 * DAY)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled" and sub.ended_at == T0 + 10 * DAY


def test_trial_changes(client: stripe.StripeClient) -> None:
    _clock, cus, _pm = clocked_customer(client)
    pr = price(client, 1000)
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": pr.id}], "trial_period_days": 30}
    )
    # extend the trial: periods follow
    sub = client.v1.subscriptions.update(sub.id, params={"trial_end": T0 + 40 * DAY})
    assert sub.status == "trialing" and sub.trial_end == T0 + 40 * DAY
    assert sub["items"].data[0].current_period_end == T0 + 40 * DAY
    # end it now: a paid subscription_update invoice for a full period
    sub = client.v1.subscriptions.update(sub.id, params={"trial_end": "now"})
    assert sub.status == "active" and sub.trial_end == T0
    inv = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert inv.billing_reason == "subscription_update" and inv.status == "paid"
    assert inv.amount_paid == 1000
    # add a trial to an active subscription that never had one
    plain = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": pr.id}]})
    plain = client.v1.subscriptions.update(plain.id, params={"trial_end": T0 + 5 * DAY})
    assert plain.status == "trialing" and plain.trial_start == T0
    assert plain["items"].data[0].current_period_end == T0 + 5 * DAY
    # trial_end=now on a subscription that is not trialing changes nothing
    active = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": pr.id}]}
    )
    same = client.v1.subscriptions.update(active.id, params={"trial_end": "now"})
    assert same.status == "active" and same.latest_invoice == active.latest_invoice


def test_item_changes_and_prorations(client: stripe.StripeClient) -> None:
    clock, cus, _pm = clocked_customer(client, t0=T0 - 30 * DAY)  # Jan 1
    a, b, free = price(client, 3100), price(client, 6200), price(client, 0, name="Free")
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": a.id}, {"price": free.id}]}
    )
    ia, ifree = sub["items"].data
    advance(client, clock.id, T0 - 15 * DAY)  # half-way through January
    # metadata-only item change: no proration
    si = client.v1.subscription_items.update(ia.id, params={"metadata": {"k": "v"}})
    assert si.metadata.to_dict() == {"k": "v"}
    assert client.v1.invoice_items.list(params={"customer": cus.id}).data == []
    # removing the free item prorates nothing (zero amounts)
    client.v1.subscription_items.delete(ifree.id)
    assert client.v1.invoice_items.list(params={"customer": cus.id}).data == []
    # a new item mid-period: one "Remaining time" item
    added = client.v1.subscription_items.create(
        params={"subscription": sub.id, "price": b.id, "quantity": 1}
    )
    pend = client.v1.invoice_items.list(params={"customer": cus.id, "pending": True}).data
    assert [ii.amount for ii in pend] == [3200]  # 6200 * 16/31 days
    assert pend[0].description is not None and pend[0].description.startswith("Remaining time")
    # price and quantity change through the item endpoint, invoiced at once
    upd = client.v1.subscription_items.update(
        added.id, params={"quantity": 2, "proration_behavior": "always_invoice"}
    )
    assert upd.quantity == 2
    sub = client.v1.subscriptions.retrieve(sub.id)
    inv = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert inv.billing_reason == "subscription_update" and inv.status == "paid"
    assert inv.total == 3200 + (-3200 + 6400)
    # proration_date outside the current period: nothing to prorate
    client.v1.subscription_items.update(
        added.id, params={"quantity": 1, "proration_date": T0 + 90 * DAY}
    )
    assert client.v1.invoice_items.list(params={"customer": cus.id, "pending": True}).data == []
    # deleting an item with prorations credits the unused time
    sub = client.v1.subscriptions.update(
        sub.id, params={"items": [{"id": added.id, "deleted": True}]}
    )
    pend = client.v1.invoice_items.list(params={"customer": cus.id, "pending": True}).data
    assert [ii.amount for ii in pend] == [-3200]
    assert [it.id for it in sub["items"].data] == [ia.id]
    # the last item cannot go; incompatible prices are refused
    err = _bad(
        lambda: client.v1.subscriptions.update(
            sub.id, params={"items": [{"id": ia.id, "deleted": True}]}
        )
    )
    assert err.param == "items"
    eur = client.v1.prices.create(
        params={
            "currency": "eur",
            "unit_amount": 100,
            "recurring": {"interval": "month"},
            "product_data": {"name": "E"},
        }
    )
    yearly = price(client, 100, "year")
    for pr in (eur, yearly):
        err = _bad(
            lambda p=pr: client.v1.subscriptions.update(
                sub.id, params={"items": [{"id": ia.id, "price": p.id}]}
            )
        )
        assert err.param == "items[0][price]"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.create(params={"subscription": "sub_nope", "price": a.id})
    assert exc.value.param == "subscription"


def test_always_invoice_decline_with_error_if_incomplete(client: stripe.StripeClient) -> None:
    clock, cus, _pm = clocked_customer(client, t0=T0 - 30 * DAY)
    a, b = price(client, 1000), price(client, 3000)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": a.id}]})
    attach_default(client, cus.id, "pm_card_chargeCustomerFail")
    advance(client, clock.id, T0 - 15 * DAY)
    item = sub["items"].data[0]
    with pytest.raises(stripe.CardError) as exc:
        client.v1.subscriptions.update(
            sub.id,
            params={
                "items": [{"id": item.id, "price": b.id}],
                "proration_behavior": "always_invoice",
                "payment_behavior": "error_if_incomplete",
            },
        )
    assert exc.value.http_status == 402


def test_cancel_with_prorate_and_invoice_now(client: stripe.StripeClient) -> None:
    clock, cus, _pm = clocked_customer(client, t0=T0 - 30 * DAY)
    pr = price(client, 3100)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": pr.id}]})
    advance(client, clock.id, T0 - 15 * DAY)
    gone = client.v1.subscriptions.cancel(
        sub.id,
        params={
            "prorate": True,
            "invoice_now": True,
            "cancellation_details": {"comment": "bye"},
        },
    )
    assert gone.status == "canceled" and gone.cancellation_details is not None
    assert gone.cancellation_details.comment == "bye"
    final = client.v1.invoices.retrieve(str(gone.latest_invoice))
    assert final.billing_reason == "subscription_update" and final.total == -1600
    assert final.amount_due == 0 and final.status == "paid"
    err = _bad(lambda: client.v1.subscriptions.cancel(sub.id))
    assert "canceled subscription" in str(err.user_message)
    ended = client.v1.subscriptions.list(params={"customer": cus.id, "status": "ended"}).data
    assert [s.id for s in ended] == [sub.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscription_items.update(sub["items"].data[0].id, params={"quantity": 3})
    # metadata stays editable on a canceled subscription
    kept = client.v1.subscriptions.update(sub.id, params={"metadata": {"why": "price"}})
    assert kept.metadata.to_dict() == {"why": "price"}


@pytest.mark.parametrize("end_of_dunning", ["unpaid", "canceled"])
def test_dunning_settings(
    emulator: EmulatorServer, client: stripe.StripeClient, api_key: str, end_of_dunning: str
) -> None:
    account = emulator.state.account_for_key(api_key)
    set_account_settings(
        account,
        BillingSettings(
            retry_days=(2,), end_of_dunning=end_of_dunning, mark_uncollectible_after_dunning=True
        ),
    )
    try:
        t0 = ts(2030, 5, 1)
        clock, cus, _pm = clocked_customer(client, t0=t0)
        pr = price(client, 1500)
        sub = client.v1.subscriptions.create(
            params={"customer": cus.id, "items": [{"price": pr.id}]}
        )
        attach_default(client, cus.id, "pm_card_chargeCustomerFail")
        advance(client, clock.id, ts(2030, 6, 1, 14))
        sub = client.v1.subscriptions.retrieve(sub.id)
        assert sub.status == "past_due"
        inv = client.v1.invoices.retrieve(str(sub.latest_invoice))
        assert inv.attempt_count == 1 and inv.next_payment_attempt == ts(2030, 6, 1, 13) + 2 * DAY
        advance(client, clock.id, ts(2030, 6, 5))
        inv = client.v1.invoices.retrieve(inv.id)
        assert inv.attempt_count == 2 and inv.status == "uncollectible"
        assert client.v1.subscriptions.retrieve(sub.id).status == end_of_dunning
        if end_of_dunning == "unpaid":
            # an unpaid subscription keeps renewing, with invoices left in draft
            advance(client, clock.id, ts(2030, 7, 2))
            sub = client.v1.subscriptions.retrieve(sub.id)
            nxt = client.v1.invoices.retrieve(str(sub.latest_invoice))
            assert nxt.id != inv.id and nxt.status == "draft" and nxt.auto_advance is False
    finally:
        set_account_settings(account, None)


def test_incomplete_subscription_paid_before_expiry_is_not_expired(
    client: stripe.StripeClient,
) -> None:
    clock, cus, _pm = clocked_customer(client, pm="pm_card_chargeCustomerFail")
    pr = price(client, 1000)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": pr.id}]})
    assert sub.status == "incomplete"
    client.v1.invoices.pay(str(sub.latest_invoice), params={"paid_out_of_band": True})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    advance(client, clock.id, T0 + DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_previews(client: stripe.StripeClient) -> None:
    clock, cus, _pm = clocked_customer(client, t0=T0 - 30 * DAY)  # Jan 1
    a, b = price(client, 3100), price(client, 6200)
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": a.id}, {"price": b.id}]}
    )
    ia, ib = sub["items"].data
    advance(client, clock.id, T0 - 15 * DAY)
    preview = client.v1.invoices.create_preview(
        params={
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": ia.id, "quantity": 2}, {"id": ib.id, "deleted": True}],
                "proration_date": T0 - 15 * DAY,
            },
        }
    )
    amounts = sorted(ln.amount for ln in preview.lines.data)
    # a: -1600 unused, +3200 remaining at qty 2, 6200 next period; b: -3200 unused
    assert amounts == [-3200, -1600, 3200, 6200]
    assert preview.total == sum(amounts) and preview.billing_reason == "upcoming"
    assert preview.next_payment_attempt is not None
    none = client.v1.invoices.create_preview(
        params={
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": ia.id, "price": b.id}],
                "proration_behavior": "none",
            },
        }
    )
    assert sorted(ln.amount for ln in none.lines.data) == [6200, 6200]
    # customer only: pending items
    other = client.v1.customers.create()
    client.v1.invoice_items.create(params={"customer": other.id, "amount": 700, "currency": "usd"})
    only = client.v1.invoices.create_preview(params={"customer": other.id})
    assert only.subscription is None and only.total == 700 and only.parent is None
    assert only.period_start == only.period_end
    # ended subscription: nothing from it
    client.v1.subscriptions.cancel(sub.id)
    ended = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert ended.lines.data == []
    err = _bad(lambda: client.v1.invoices.create_preview(params={"subscription": "sub_nope"}))
    assert err.param == "subscription"
    err = _bad(lambda: client.v1.invoices.create_preview())
    assert err.param == "customer"

"""A subscription's whole life on a test clock, through the SDK only.

Trial -> first paid invoice -> renewal -> failed payment (pm_card_chargeCustomerFail)
-> retries -> recovery after the default payment method is replaced ->
cancellation at period end; asserting statuses, invoices, amounts and events.
"""

from __future__ import annotations

import stripe

from .billing_helpers import DAY, advance, all_events, attach_default, billing_types, price, ts


def test_full_lifecycle_over_three_months(client: stripe.StripeClient) -> None:
    t0 = ts(2030, 1, 31)  # the 31st: renewals clamp to Feb 28 and recover to Mar 31
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": t0})
    cus = client.v1.customers.create(params={"email": "l@example.com", "test_clock": clock.id})
    attach_default(client, cus.id, "pm_card_visa")
    pr = price(client, 2000)
    n = len(all_events(client))

    # -- trial: 7 days, a $0 invoice paid at once ---------------------------------
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": pr.id}], "trial_period_days": 7}
    )
    trial_end = t0 + 7 * DAY
    assert sub.status == "trialing" and sub.trial_end == trial_end and sub.created == t0
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (t0, trial_end)
    first = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert (
        first.status == "paid"
        and first.total == 0
        and first.billing_reason == ("subscription_create")
    )
    assert first.lines.data[0].description == "Trial period for Pro"
    evts = all_events(client)
    assert billing_types(evts[n:]) == [
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    n = len(evts)

    # -- trial_will_end 3 days before --------------------------------------------
    adv = advance(client, clock.id, trial_end - 3 * DAY)
    assert adv.status == "advancing"
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).status == "ready"
    evts = all_events(client)
    assert [e.type for e in evts[n:]] == [
        "test_helpers.test_clock.advancing",
        "customer.subscription.trial_will_end",
        "test_helpers.test_clock.ready",
    ]
    assert evts[n + 1].request.id is None  # automatic actions have no request
    n = len(evts)

    # -- trial ends: renewal invoice, draft for an hour, then paid ----------------
    advance(client, clock.id, trial_end + 30 * 60)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active"
    renewal = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert renewal.status == "draft" and renewal.billing_reason == "subscription_cycle"
    assert renewal.automatically_finalizes_at == trial_end + 3600
    assert renewal.amount_due == 2000
    advance(client, clock.id, trial_end + 2 * 3600)
    renewal = client.v1.invoices.retrieve(renewal.id)
    assert renewal.status == "paid" and renewal.amount_paid == 2000
    assert renewal.amount_remaining == 0 and renewal.attempt_count == 1
    assert renewal.number is not None and renewal.number.endswith("-0002")
    assert renewal.payment_intent  # type: ignore[attr-defined]
    assert renewal.payments is not None and renewal.payments.data[0].status == "paid"
    sub = client.v1.subscriptions.retrieve(sub.id)
    # the anchor is the trial end (Feb 7), so the next period ends on Mar 7
    assert sub.billing_cycle_anchor == trial_end
    assert sub["items"].data[0].current_period_end == ts(2030, 3, 7)
    evts = all_events(client)
    assert billing_types(evts[n:]) == [
        "customer.subscription.updated",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    upd = next(e for e in evts[n:] if e.type == "customer.subscription.updated")
    assert upd.data.previous_attributes["status"] == "trialing"
    n = len(evts)

    # -- the card now fails: renewal on Mar 7 fails, subscription past_due ---------
    attach_default(client, cus.id, "pm_card_chargeCustomerFail")
    renew2 = ts(2030, 3, 7)
    advance(client, clock.id, renew2 + 2 * 3600)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "past_due"
    failing = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert failing.status == "open" and failing.attempt_count == 1 and failing.attempted
    assert failing.next_payment_attempt == renew2 + 3600 + 3 * DAY
    assert failing.amount_remaining == 2000 and failing.amount_paid == 0
    evts = all_events(client)
    assert billing_types(evts[n:]) == [
        "customer.subscription.updated",
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    n = len(evts)

    # -- first retry (3 days later) fails too --------------------------------------
    advance(client, clock.id, renew2 + 4 * DAY)
    failing = client.v1.invoices.retrieve(failing.id)
    assert failing.attempt_count == 2
    assert failing.next_payment_attempt == renew2 + 3600 + 8 * DAY
    evts = all_events(client)
    assert billing_types(evts[n:]) == ["invoice.payment_failed"]
    n = len(evts)

    # -- the customer replaces the card; the next retry (5 days later) succeeds ----
    attach_default(client, cus.id, "pm_card_visa")
    advance(client, clock.id, renew2 + 9 * DAY)
    failing = client.v1.invoices.retrieve(failing.id)
    assert failing.status == "paid" and failing.attempt_count == 3
    assert failing.amount_paid == 2000 and failing.next_payment_attempt is None
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active"
    evts = all_events(client)
    assert billing_types(evts[n:]) == [
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]
    n = len(evts)

    # -- cancel at period end (Apr 7) ------------------------------------------------
    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert sub.cancel_at_period_end is True and sub.cancel_at == ts(2030, 4, 7)
    assert sub.status == "active" and sub.canceled_at == renew2 + 9 * DAY
    advance(client, clock.id, ts(2030, 4, 8))
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled" and sub.ended_at == ts(2030, 4, 7)
    assert sub.cancellation_details.reason == "cancellation_requested"  # type: ignore[union-attr]
    evts = all_events(client)
    assert billing_types(evts[n:]) == [
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ]

    invs = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert [(i.billing_reason, i.status, i.amount_paid) for i in invs] == [
        ("subscription_cycle", "paid", 2000),
        ("subscription_cycle", "paid", 2000),
        ("subscription_create", "paid", 0),
    ]
    assert client.v1.subscriptions.list(params={"customer": cus.id}).data == []
    listed = client.v1.subscriptions.list(params={"customer": cus.id, "status": "all"})
    assert [s.id for s in listed.data] == [sub.id]


def test_dunning_exhausted_cancels_by_default(client: stripe.StripeClient) -> None:
    t0 = ts(2030, 5, 1)
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": t0})
    cus = client.v1.customers.create(params={"test_clock": clock.id})
    attach_default(client, cus.id, "pm_card_visa")
    pr = price(client, 1500)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": pr.id}]})
    assert sub.status == "active"
    attach_default(client, cus.id, "pm_card_chargeCustomerFail")
    advance(client, clock.id, ts(2030, 6, 1, 14))
    inv = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)  # type: ignore[arg-type]
    assert inv.attempt_count == 1
    # retries 3, 5 and 7 days after the previous attempt: all fail
    advance(client, clock.id, ts(2030, 6, 1, 14) + 16 * DAY)
    inv = client.v1.invoices.retrieve(inv.id)
    assert inv.attempt_count == 4 and inv.status == "open" and inv.next_payment_attempt is None
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled"
    assert sub.cancellation_details.reason == "payment_failed"  # type: ignore[union-attr]

"""Billing's Stripe event map (system/billing/stripe_sync.py): one handler per event type."""

from __future__ import annotations

from system.billing.stripe_sync import HANDLED_EVENTS, StripeSync, handler_for


def test_every_subscribed_event_has_a_handler() -> None:
    assert [event for event in HANDLED_EVENTS if handler_for(event) is None] == []


def test_events_map_to_their_use_case() -> None:
    assert handler_for("invoice.paid") is StripeSync.on_invoice
    assert handler_for("invoice.voided") is StripeSync.on_invoice  # forwarded by stripe listen
    assert handler_for("customer.subscription.deleted") is StripeSync.on_subscription
    assert handler_for("charge.refunded") is StripeSync.on_refund
    assert handler_for("payment_method.detached") is StripeSync.sync_payment_method
    assert handler_for("checkout.session.completed") is StripeSync.on_checkout_completed
    assert handler_for("customer.created") is None

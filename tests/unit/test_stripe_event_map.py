"""Billing's Stripe event map (system/billing/stripe_events.py): one handler per event type."""

from __future__ import annotations

from system.billing.stripe_events import HANDLED_EVENTS, StripeEvents, handler_for


def test_every_subscribed_event_has_a_handler() -> None:
    assert [event for event in HANDLED_EVENTS if handler_for(event) is None] == []


def test_events_map_to_their_use_case() -> None:
    assert handler_for("invoice.paid") is StripeEvents.on_invoice
    assert handler_for("invoice.voided") is StripeEvents.on_invoice  # forwarded by stripe listen
    assert handler_for("customer.subscription.deleted") is StripeEvents.on_subscription
    assert handler_for("charge.refunded") is StripeEvents.on_refund
    assert handler_for("payment_method.detached") is StripeEvents.on_payment_method
    assert handler_for("checkout.session.completed") is StripeEvents.on_checkout_completed
    assert handler_for("customer.created") is None

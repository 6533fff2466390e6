"""Shared helpers for the billing conformance tests (products, prices, clocked customers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import stripe

DAY = 86400
T0 = int(datetime(2030, 1, 31, 12, tzinfo=UTC).timestamp())


def ts(y: int, m: int, d: int, h: int = 12) -> int:
    return int(datetime(y, m, d, h, tzinfo=UTC).timestamp())


def price(
    client: stripe.StripeClient, amount: int = 2000, interval: str = "month", name: str = "Pro"
) -> stripe.Price:
    return client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": amount,
            "recurring": {"interval": interval},  # type: ignore[typeddict-item]
            "product_data": {"name": name},
        }
    )


def clocked_customer(
    client: stripe.StripeClient, t0: int = T0, pm: str | None = "pm_card_visa"
) -> tuple[stripe.test_helpers.TestClock, stripe.Customer, str | None]:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": t0, "name": "t"})
    cus = client.v1.customers.create(params={"email": "c@example.com", "test_clock": clock.id})
    pm_id = None
    if pm is not None:
        pm_id = attach_default(client, cus.id, pm)
    return clock, cus, pm_id


def attach_default(client: stripe.StripeClient, customer: str, token: str) -> str:
    pm = client.v1.payment_methods.attach(token, params={"customer": customer})
    client.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    return pm.id


def advance(client: stripe.StripeClient, clock_id: str, to: int) -> Any:
    return client.v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": to})


def all_events(client: stripe.StripeClient) -> list[stripe.Event]:
    """Every event of the account, oldest first."""
    evts = list(client.v1.events.list(params={"limit": 100}).auto_paging_iter())
    return list(reversed(evts))


def billing_types(events: list[stripe.Event]) -> list[str]:
    """The subscription/invoice event types among ``events``."""
    return [e.type for e in events if e.type.startswith(("customer.subscription.", "invoice."))]

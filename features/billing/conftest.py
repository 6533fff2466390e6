"""Billing scenarios run against the live system; each ends by reconciling with Stripe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from system.db.tables import credit_ledger, customers, invoices, subscriptions
from tests.support import LiveSystem, eventually


def reconcile(live: LiveSystem, customer_id: str) -> None:
    """Ledger, subscription and invoices in the system agree with each other and Stripe."""
    ledger_sum = live.scalar(
        select(func.coalesce(func.sum(credit_ledger.c.amount), 0)).where(
            credit_ledger.c.customer_id == customer_id
        )
    )
    balance = live.scalar(select(customers.c.credit_balance).where(customers.c.id == customer_id))
    assert ledger_sum == balance >= 0
    stripe_id = live.scalar(
        select(customers.c.stripe_customer_id).where(customers.c.id == customer_id)
    )
    if stripe_id is None:
        return

    def subscriptions_agree() -> None:
        remote = live.stripe.v1.subscriptions.list(params={"customer": stripe_id, "status": "all"})
        for sub in remote.data:
            local = live.scalar(select(subscriptions.c.status).where(subscriptions.c.id == sub.id))
            assert local == sub.status, (sub.id, local, sub.status)

    def invoices_agree() -> None:
        remote = live.stripe.v1.invoices.list(params={"customer": stripe_id, "limit": 100})
        for invoice in remote.data:
            if invoice.status == "draft":
                continue
            local = live.scalar(
                select(func.count())
                .select_from(invoices)
                .where(
                    invoices.c.id == invoice.id,
                    invoices.c.status == invoice.status,
                    invoices.c.amount_paid == invoice.amount_paid,
                )
            )
            assert local == 1, (invoice.id, invoice.status, invoice.amount_paid)

    eventually(subscriptions_agree)
    eventually(invoices_agree)


@pytest.fixture
def billing_ctx(live_system: LiveSystem) -> Iterator[dict[str, Any]]:
    ctx: dict[str, Any] = {}
    yield ctx
    if "customer_id" in ctx:
        reconcile(live_system, ctx["customer_id"])

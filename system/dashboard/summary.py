"""The live figures of a customer's dashboard: plan, balance, fixes this period and the next
invoice; shown on the overview and billing pages and sent on the live event stream."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from system.billing.catalogue import PLANS
from system.billing.stripe_objects import LIVE_STATUSES
from system.dashboard import store, usage
from system.services import Services


def _since(subscription: dict[str, Any] | None, now: datetime) -> datetime:
    if subscription and subscription["status"] in LIVE_STATUSES:
        start = subscription.get("current_period_start")
        if start:
            return datetime.fromisoformat(start)
    return usage.month_start(now)


async def dashboard_summary(services: Services, customer_id: str) -> dict[str, Any]:
    """The live figures: plan, balance, fixes this period, the next invoice."""
    billing = await services.billing.account.summary(customer_id)
    sub = billing["subscription"]
    since = _since(sub, services.clock.now())
    async with services.engine.connect() as connection:
        fixes = await store.fixes_since(connection, customer_id, since)
    next_invoice = None
    live = sub and sub["status"] in LIVE_STATUSES
    if live and not sub["cancel_at_period_end"] and sub["current_period_end"]:
        cents = PLANS[sub["plan"]].monthly_price_cents
        next_invoice = {
            "amount_cents": cents,
            "amount": usage.money(cents),
            "date": sub["current_period_end"][:10],
        }
    return {
        **billing,
        "plan_name": PLANS[billing["plan"]].name,
        "fixes_this_period": fixes,
        "period_start": since.date().isoformat(),
        "next_invoice": next_invoice,
        "next_invoice_text": (
            f"{next_invoice['amount']} on {next_invoice['date']}" if next_invoice else "None"
        ),
    }

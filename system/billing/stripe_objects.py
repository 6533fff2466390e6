"""Reading Stripe's objects as the API and webhooks give them (pure): timestamps, ids that
may be expanded, a subscription's period and plan, a card payment method as our row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from system.billing.catalogue import PLANS

# Stripe subscription statuses under which the customer still has the subscription (it
# bills, or is in dunning); every other status has ended it. The one definition, used by
# the system, the staging simulator and the load scenarios alike.
LIVE_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid"})
DUNNING_STATUSES = frozenset({"past_due", "unpaid"})


def stamp(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def subscription_period(sub: dict[str, Any]) -> tuple[int | None, int | None]:
    """Stripe moved the current period onto the items in recent API versions: read both."""
    start, end = sub.get("current_period_start"), sub.get("current_period_end")
    items = (sub.get("items") or {}).get("data") or []
    if (start is None or end is None) and items:
        start = items[0].get("current_period_start")
        end = items[0].get("current_period_end")
    return start, end


def plan_of(sub: dict[str, Any]) -> str:
    """Our plan for a Stripe subscription: by its price's lookup key; Pro, the only plan
    sold by subscription, when the key is unknown or missing."""
    items = (sub.get("items") or {}).get("data") or []
    lookup = items[0].get("price", {}).get("lookup_key") if items else None
    if lookup is None:  # no price to go by (plans without a Stripe price have lookup None)
        return "pro"
    return next((p.key for p in PLANS.values() if p.stripe_lookup_key == lookup), "pro")


def card_row(pm: dict[str, Any], customer_id: str, now: datetime) -> dict[str, Any]:
    """Our row for a Stripe card payment method."""
    card = pm.get("card") or {}
    return {
        "id": pm["id"],
        "customer_id": customer_id,
        "brand": card.get("brand"),
        "last4": card.get("last4"),
        "exp_month": card.get("exp_month"),
        "exp_year": card.get("exp_year"),
        "created_at": now,
        "detached_at": None,
    }


def id_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value["id"])
    return str(value) if value else None

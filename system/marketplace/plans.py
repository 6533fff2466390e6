"""Reading `marketplace_purchase` payloads and mapping Marketplace plans to ours (pure).

GitHub bills Marketplace customers itself; we only need to know which of our plans their
Marketplace plan stands for. A free Marketplace plan, and any plan during its free trial, is
our trial; a paid plan is Pro (paid per seat or flat, the credits are Pro's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ACTIONS = frozenset(
    {"purchased", "changed", "cancelled", "pending_change", "pending_change_cancelled"}
)


class BadPayload(ValueError):
    """The payload is not shaped like a marketplace_purchase event."""


@dataclass(frozen=True)
class MarketplacePlan:
    id: int
    name: str
    price_model: str  # FREE, FLAT_RATE or PER_UNIT
    monthly_price_in_cents: int
    has_free_trial: bool = False

    @property
    def paid(self) -> bool:
        return self.price_model != "FREE" and self.monthly_price_in_cents > 0


@dataclass(frozen=True)
class Purchase:
    """One marketplace_purchase event: who, which plan, and when."""

    action: str
    account_id: int
    login: str
    account_type: str
    email: str
    plan: MarketplacePlan
    on_free_trial: bool
    free_trial_ends_on: datetime | None
    next_billing_date: datetime | None
    effective_date: datetime | None
    unit_count: int
    previous_plan: MarketplacePlan | None = None


def our_plan(plan: MarketplacePlan, *, on_free_trial: bool) -> str:
    """Our plan key for a Marketplace plan: "trial" or "pro"."""
    if on_free_trial or not plan.paid:
        return "trial"
    return "pro"


def parse_time(value: Any) -> datetime | None:
    """GitHub's timestamps: ISO 8601 (with Z or an offset) or None; naive means UTC."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadPayload(f"not a timestamp: {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadPayload(f"not a timestamp: {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _plan(raw: Any) -> MarketplacePlan:
    if not isinstance(raw, dict):
        raise BadPayload("plan missing")
    try:
        return MarketplacePlan(
            id=int(raw["id"]),
            name=str(raw["name"]),
            price_model=str(raw.get("price_model") or "FLAT_RATE"),
            monthly_price_in_cents=int(raw.get("monthly_price_in_cents") or 0),
            has_free_trial=bool(raw.get("has_free_trial")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise BadPayload(f"bad plan: {error}") from None


def noreply_address(account_id: int, login: str) -> str:
    """GitHub's private address for an account with no public one."""
    return f"{account_id}+{login}@users.noreply.github.com"


def parse(payload: Any) -> Purchase:
    """The Purchase in a marketplace_purchase payload, or BadPayload."""
    if not isinstance(payload, dict):
        raise BadPayload("expected a JSON object")
    action = payload.get("action")
    if action not in ACTIONS:
        raise BadPayload(f"unknown action {action!r}")
    purchase = payload.get("marketplace_purchase")
    if not isinstance(purchase, dict) or not isinstance(purchase.get("account"), dict):
        raise BadPayload("marketplace_purchase.account missing")
    account = purchase["account"]
    try:
        account_id = int(account["id"])
        login = str(account["login"])
    except (KeyError, TypeError, ValueError):
        raise BadPayload("account id and login are required") from None
    sender = payload.get("sender") if isinstance(payload.get("sender"), dict) else {}
    assert isinstance(sender, dict)
    email = (
        account.get("organization_billing_email")
        or sender.get("email")
        or noreply_address(account_id, login)
    )
    previous = payload.get("previous_marketplace_purchase")
    return Purchase(
        action=action,
        account_id=account_id,
        login=login,
        account_type=str(account.get("type") or "User"),
        email=str(email),
        plan=_plan(purchase.get("plan")),
        on_free_trial=bool(purchase.get("on_free_trial")),
        free_trial_ends_on=parse_time(purchase.get("free_trial_ends_on")),
        next_billing_date=parse_time(purchase.get("next_billing_date")),
        effective_date=parse_time(payload.get("effective_date")),
        unit_count=int(purchase.get("unit_count") or 1),
        previous_plan=_plan(previous["plan"]) if isinstance(previous, dict) else None,
    )

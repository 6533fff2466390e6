"""The plan catalogue: what each plan costs and grants, in integer cents and credits."""

from __future__ import annotations

from dataclasses import dataclass

TRIAL_CREDITS = 5
CARD_BONUS_CREDITS = 5
CURRENCY = "usd"


@dataclass(frozen=True)
class Plan:
    """A plan: its recurring price, the credits each paid period grants, and the price of
    a fix deployed when no credit is left (None: such a fix is refused)."""

    key: str
    name: str
    monthly_price_cents: int
    credits_per_period: int
    fix_price_cents: int | None
    stripe_lookup_key: str | None = None


TRIAL = Plan("trial", "Trial", 0, 0, None)
PAYG = Plan("payg", "Pay as you go", 0, 0, 2_900)
PRO = Plan("pro", "Pro", 59_900, 60, 1_500, stripe_lookup_key="rsolv_pro_monthly")

PLANS: dict[str, Plan] = {plan.key: plan for plan in (TRIAL, PAYG, PRO)}
SUBSCRIBABLE = frozenset({"pro"})


def plan(key: str) -> Plan:
    return PLANS[key]

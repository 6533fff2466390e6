"""What deploying one fix does to a customer (pure): use a credit, charge, or refuse."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from system.billing.catalogue import PAYG, Plan
from system.credits.ledger import Entry


class FixAction(StrEnum):
    CONSUME_CREDIT = "consume_credit"
    CHARGE = "charge"
    REFUSE = "refuse"


@dataclass(frozen=True)
class FixDecision:
    action: FixAction
    amount_cents: int = 0
    reason: str | None = None


def price_of_next_fix(
    *, balance: int, plan: Plan, has_payment_method: bool, suspended: bool = False
) -> FixDecision:
    """The decision for the next fix. A credit is always used first; without one, a customer
    with a card pays its plan's fix price (trial customers with a card pay as they go)."""
    if suspended:
        return FixDecision(
            FixAction.REFUSE,
            reason="Service is suspended for an unpaid invoice; pay it to restore service.",
        )
    if balance > 0:
        return FixDecision(FixAction.CONSUME_CREDIT)
    if not has_payment_method:
        return FixDecision(
            FixAction.REFUSE,
            reason="No credits left and no payment method on file; add a card to continue.",
        )
    price = plan.fix_price_cents if plan.fix_price_cents is not None else PAYG.fix_price_cents
    assert price is not None
    return FixDecision(FixAction.CHARGE, amount_cents=price)


def cost_of_fixes(
    *, balance: int, plan: Plan, count: int, has_payment_method: bool = True
) -> tuple[int, int]:
    """(cents charged, fixes refused) for `count` fixes starting from `balance`: the
    independent computation the simulator's reconciliation checks money against."""
    charged = refused = 0
    for _ in range(count):
        decision = price_of_next_fix(
            balance=balance, plan=plan, has_payment_method=has_payment_method
        )
        if decision.action is FixAction.CONSUME_CREDIT:
            balance -= 1
        elif decision.action is FixAction.CHARGE:
            charged += decision.amount_cents
        else:
            refused += 1
    return charged, refused


def ledger_entries_for_fix(
    decision: FixDecision, fix_id: str, payment_reference: str | None = None
) -> list[Entry]:
    """The ledger entries a deployed fix writes: one consumed credit, preceded, when the fix
    was paid for, by the one credit it bought. A refused fix writes nothing."""
    consume = Entry(-1, "fix_consumed", f"fix:{fix_id}")
    if decision.action is FixAction.CONSUME_CREDIT:
        return [consume]
    if decision.action is FixAction.CHARGE:
        if not payment_reference:
            raise ValueError("a charged fix needs the payment that bought its credit")
        return [Entry(1, "credit_purchase", f"payment:{payment_reference}"), consume]
    return []

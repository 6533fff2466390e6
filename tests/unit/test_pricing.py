"""Exact outputs of the fix pricing rules (system/billing/pricing.py): the refusal reasons
a customer reads in a 402, and the ledger entries, kinds and references a fix writes."""

from __future__ import annotations

import pytest

from system.billing.catalogue import PAYG, PRO, TRIAL
from system.billing.pricing import (
    FixAction,
    FixDecision,
    ledger_entries_for_fix,
    price_of_next_fix,
)
from system.credits.ledger import Entry


def test_a_suspended_customer_is_told_to_pay_the_unpaid_invoice() -> None:
    decision = price_of_next_fix(balance=5, plan=PRO, has_payment_method=True, suspended=True)
    assert decision == FixDecision(
        FixAction.REFUSE,
        reason="Service is suspended for an unpaid invoice; pay it to restore service.",
    )


def test_a_customer_without_credit_or_card_is_told_to_add_a_card() -> None:
    decision = price_of_next_fix(balance=0, plan=TRIAL, has_payment_method=False)
    assert decision == FixDecision(
        FixAction.REFUSE,
        reason="No credits left and no payment method on file; add a card to continue.",
    )


def test_a_fix_paid_by_credit_writes_one_consumption() -> None:
    decision = price_of_next_fix(balance=1, plan=PAYG, has_payment_method=False)
    assert decision == FixDecision(FixAction.CONSUME_CREDIT)
    assert ledger_entries_for_fix(decision, "fix_7") == [Entry(-1, "fix_consumed", "fix:fix_7")]


def test_a_charged_fix_writes_the_credit_it_bought_then_its_consumption() -> None:
    decision = price_of_next_fix(balance=0, plan=TRIAL, has_payment_method=True)
    assert decision == FixDecision(FixAction.CHARGE, amount_cents=PAYG.fix_price_cents or 0)
    assert ledger_entries_for_fix(decision, "fix_8", "pi_123") == [
        Entry(1, "credit_purchase", "payment:pi_123"),
        Entry(-1, "fix_consumed", "fix:fix_8"),
    ]


def test_a_charged_fix_without_its_payment_is_an_error() -> None:
    decision = price_of_next_fix(balance=0, plan=PRO, has_payment_method=True)
    with pytest.raises(
        ValueError, match=r"^a charged fix needs the payment that bought its credit$"
    ):
        ledger_entries_for_fix(decision, "fix_9")

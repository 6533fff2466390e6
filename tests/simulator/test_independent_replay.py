"""The expected-bill replay (`expected.py`) is independent of the system's pricing: with
`price_of_next_fix` broken in the running system, reconciliation reports disagreements;
unbroken, the same small simulation reconciles with none."""

from __future__ import annotations

import pytest

from simulator.staging.profile import Profile
from simulator.staging.results import RunConfig, RunResult
from simulator.staging.runner import simulate
from system.billing import usage
from system.billing.pricing import FixAction, FixDecision, price_of_next_fix

# Everyone signs up in week 0, uses its trial, adds a valid card in week 1 and deploys
# six fixes a week from week 2: its card-bonus credits run out and fixes are charged.
PAYING = Profile(
    name="paying",
    signup_weeks=1,
    invalid_email_rate=0.0,
    disposable_email_rate=0.0,
    duplicate_email_rate=0.0,
    intent_pro_rate=0.0,
    intent_payg_rate=1.0,
    card_delay_weeks=(1, 1),
    card_declines_rate=0.0,
    card_fails_later_rate=0.0,
    upgrade_weekly_rate=0.0,
    payg_leave_weekly_rate=0.0,
    trial_fixes=((5, 1.0),),
    payg_fixes=((6, 1.0),),
)


def _run() -> RunResult:
    return simulate(RunConfig(profile=PAYING, customers=3, months=1, seed=3))


def _disagreements(result: RunResult) -> list[str]:
    return [problem for who in result.lived for problem in who.disagreements]


def _one_cent_more(**facts: object) -> FixDecision:
    decision = price_of_next_fix(**facts)  # type: ignore[arg-type]
    if decision.action is FixAction.CHARGE:
        return FixDecision(FixAction.CHARGE, amount_cents=decision.amount_cents + 1)
    return decision


def _credit_instead_of_charge(**facts: object) -> FixDecision:
    decision = price_of_next_fix(**facts)  # type: ignore[arg-type]
    if decision.action is FixAction.CHARGE:
        return FixDecision(FixAction.CONSUME_CREDIT)
    return decision


def test_the_unbroken_system_reconciles() -> None:
    result = _run()
    assert sum(w.expected.fix_charges for w in result.lived) > 0  # fixes were charged
    assert _disagreements(result) == []


def test_a_fix_charged_one_cent_more_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(usage, "price_of_next_fix", _one_cent_more)
    problems = _disagreements(_run())
    # each answer says "charged", as the model does: only the final books show the cent
    assert any(p.startswith("final: Stripe charged") for p in problems), problems


def test_a_credit_used_where_a_fix_should_be_charged_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the ledger refuses to go below zero, so the fix is not answered as the model says
    monkeypatch.setattr(usage, "price_of_next_fix", _credit_instead_of_charge)
    problems = _disagreements(_run())
    assert any("expected 201" in p for p in problems), problems

"""Properties of the pure billing math: periods, proration, fix pricing and the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from system.billing.catalogue import PAYG, PLANS, PRO, TRIAL
from system.billing.periods import add_months, period_containing
from system.billing.pricing import (
    FixAction,
    cost_of_fixes,
    ledger_entries_for_fix,
    price_of_next_fix,
)
from system.billing.proration import prorate, round_cents, unused_fraction
from system.credits.ledger import Entry, apply, balance_of

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


def test_the_31st_clamps_and_returns() -> None:
    jan31 = datetime(2028, 1, 31, 9, tzinfo=UTC)
    assert add_months(jan31, 1) == datetime(2028, 2, 29, 9, tzinfo=UTC)  # leap year
    assert add_months(jan31, 2) == datetime(2028, 3, 31, 9, tzinfo=UTC)
    assert add_months(datetime(2027, 1, 31, tzinfo=UTC), 1).day == 28
    assert add_months(jan31, 12) == datetime(2029, 1, 31, 9, tzinfo=UTC)


@given(moments, st.integers(min_value=0, max_value=120))
def test_periods_are_monotone_and_a_month_apart(anchor: datetime, months: int) -> None:
    start, end = add_months(anchor, months), add_months(anchor, months + 1)
    assert start < end
    assert timedelta(days=28) <= end - start <= timedelta(days=31)


@given(moments, st.integers(min_value=0, max_value=10**8))
def test_the_period_containing_a_moment_contains_it(anchor: datetime, seconds: int) -> None:
    moment = anchor + timedelta(seconds=seconds)
    start, end = period_containing(anchor, moment)
    assert start <= moment < end
    assert timedelta(days=28) <= end - start <= timedelta(days=31)
    following_start, _ = period_containing(anchor, end)
    assert following_start == end


def test_a_moment_before_the_anchor_has_no_period() -> None:
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"^moment is before the anchor$"):
        period_containing(anchor, anchor - timedelta(seconds=1))


prices = st.integers(min_value=0, max_value=10**7)


@given(prices, prices, moments, st.integers(min_value=1, max_value=10**7), st.data())
def test_proration_sums_to_the_difference_times_the_unused_fraction(
    old: int, new: int, start: datetime, length: int, data: st.DataObject
) -> None:
    end = start + timedelta(seconds=length)
    at = start + timedelta(seconds=data.draw(st.integers(min_value=0, max_value=length)))
    result = prorate(old, new, start, end, at)
    exact = (new - old) * Fraction(int((end - at).total_seconds()), length)
    assert result.net_cents == round_cents(exact)
    assert abs(result.net_cents - exact) <= Fraction(1, 2)
    assert result.credit_cents <= 0 <= result.debit_cents
    assert -result.credit_cents <= old and result.debit_cents <= new


def test_proration_rejects_a_change_outside_the_period() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"^the change must fall within a non-empty period$"):
        unused_fraction(start, start + timedelta(days=30), start + timedelta(days=31))
    assert round_cents(Fraction(-5, 2)) == -3 and round_cents(Fraction(5, 2)) == 3


def test_round_cents_of_less_than_a_cent() -> None:
    cases = {
        Fraction(0): 0,
        Fraction(1, 4): 0,
        Fraction(1, 2): 1,
        Fraction(3, 4): 1,
        Fraction(-1, 4): 0,
        Fraction(-1, 2): -1,
        Fraction(-3, 4): -1,
    }
    assert {value: round_cents(value) for value in cases} == cases


@given(st.fractions(min_value=-(10**6), max_value=10**6))
def test_round_cents_is_the_nearest_cent_with_halves_away_from_zero(value: Fraction) -> None:
    rounded = round_cents(value)
    assert abs(rounded - value) <= Fraction(1, 2)
    if abs(rounded - value) == Fraction(1, 2):
        assert abs(rounded) > abs(value)


def test_the_catalogue() -> None:
    assert (PRO.monthly_price_cents, PRO.credits_per_period, PRO.fix_price_cents) == (
        59_900,
        60,
        1_500,
    )
    assert PAYG.fix_price_cents == 2_900 and TRIAL.fix_price_cents is None
    assert set(PLANS) == {"trial", "payg", "pro"}


operations = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), st.integers(min_value=1, max_value=70)),
        st.tuples(st.just("fix"), st.sampled_from(sorted(PLANS)), st.booleans()),
    ),
    max_size=80,
)


@given(operations)
def test_no_sequence_of_grants_and_fixes_creates_or_destroys_a_cent(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    """Every fix is paid by exactly one credit; a credit is either granted or bought at
    the plan's price; the balance is the ledger's sum and never negative."""
    entries, balance, charged, granted, fixes_done = [], 0, 0, 0, 0
    for n, op in enumerate(ops):
        if op[0] == "grant":
            entries.append(Entry(op[1], "grant", f"g{n}"))
            balance = apply(balance, op[1])
            granted += op[1]
            continue
        _, plan_key, has_card = op
        decision = price_of_next_fix(
            balance=balance, plan=PLANS[plan_key], has_payment_method=has_card
        )
        new = ledger_entries_for_fix(decision, f"fix{n}", f"pi{n}")
        for entry in new:
            balance = apply(balance, entry.amount)
        entries.extend(new)
        if decision.action is FixAction.CHARGE:
            expected = PLANS[plan_key].fix_price_cents or PAYG.fix_price_cents
            assert decision.amount_cents == expected
            charged += decision.amount_cents
        if decision.action is not FixAction.REFUSE:
            fixes_done += 1
    assert balance == balance_of(entries) == sum(e.amount for e in entries) >= 0
    bought = sum(1 for e in entries if e.kind == "credit_purchase")
    assert fixes_done == granted + bought - balance


@given(st.integers(min_value=0, max_value=100), st.integers(min_value=0, max_value=100))
def test_charging_n_fixes_costs_what_the_catalogue_says(balance: int, count: int) -> None:
    for plan in (PAYG, PRO):
        charged, refused = cost_of_fixes(balance=balance, plan=plan, count=count)
        assert refused == 0
        assert charged == max(0, count - balance) * (plan.fix_price_cents or 0)
    charged, refused = cost_of_fixes(
        balance=balance, plan=TRIAL, count=count, has_payment_method=False
    )
    assert (charged, refused) == (0, max(0, count - balance))


def test_refusals_explain_themselves() -> None:
    no_card = price_of_next_fix(balance=0, plan=PAYG, has_payment_method=False)
    assert no_card.action is FixAction.REFUSE and "add a card" in (no_card.reason or "")
    suspended = price_of_next_fix(balance=9, plan=PRO, has_payment_method=True, suspended=True)
    assert suspended.action is FixAction.REFUSE and "suspended" in (suspended.reason or "")
    assert ledger_entries_for_fix(no_card, "f") == []
    with pytest.raises(ValueError):
        ledger_entries_for_fix(price_of_next_fix(balance=0, plan=PRO, has_payment_method=True), "f")

"""Ledger rules: the balance is the sum of entries and never negative."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from system.credits.ledger import Entry, InsufficientCredit, apply, balance_of

amounts = st.lists(st.integers(min_value=-50, max_value=50), max_size=60)


@given(amounts)
def test_balance_is_the_sum_of_entries_whenever_no_prefix_goes_negative(values: list[int]) -> None:
    entries = [Entry(v, "grant" if v >= 0 else "consume", f"ref-{i}") for i, v in enumerate(values)]
    prefixes = [sum(values[: i + 1]) for i in range(len(values))]
    if all(p >= 0 for p in prefixes):
        assert balance_of(entries) == sum(values)
    else:
        with pytest.raises(InsufficientCredit):
            balance_of(entries)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=-(10**6), max_value=10**6))
def test_apply_never_leaves_a_negative_balance(balance: int, amount: int) -> None:
    try:
        after = apply(balance, amount)
    except InsufficientCredit as refused:
        assert balance + amount < 0
        assert (refused.balance, refused.amount) == (balance, amount)
        assert str(refused) == f"balance {balance} cannot take {amount}"
    else:
        assert after == balance + amount >= 0

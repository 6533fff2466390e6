"""Hypothesis properties of the pure billing math (periods, proration, totals)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from simulator.stripe_emulator import billing

# 2000-01-01 .. 2100-01-01
TS = st.integers(min_value=946_684_800, max_value=4_102_444_800)
INTERVAL = st.sampled_from(["day", "week", "month", "year"])
AMOUNT = st.integers(min_value=0, max_value=10_000_000)


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@given(anchor=TS, interval=INTERVAL, count=st.integers(1, 12), n=st.integers(0, 40))
def test_boundaries_monotone_and_one_interval_apart(
    anchor: int, interval: str, count: int, n: int
) -> None:
    a = billing.period_boundary(anchor, interval, count, n)
    b = billing.period_boundary(anchor, interval, count, n + 1)
    assert b > a
    if interval == "day":
        assert b - a == count * 86400
    elif interval == "week":
        assert b - a == count * 7 * 86400
    else:
        months = count * (12 if interval == "year" else 1)
        da, db = _dt(a), _dt(b)
        assert (db.year * 12 + db.month) - (da.year * 12 + da.month) == months
        assert (da.hour, da.minute, da.second) == (db.hour, db.minute, db.second)
        # the day of month is the anchor's, clamped to the month's length
        anchor_day = _dt(anchor).day
        assert db.day == min(anchor_day, calendar.monthrange(db.year, db.month)[1])


def test_month_end_anchor_clamps_and_recovers() -> None:
    jan31 = int(datetime(2024, 1, 31, 12, tzinfo=UTC).timestamp())
    days = [_dt(billing.period_boundary(jan31, "month", 1, n)).day for n in range(5)]
    assert days == [31, 29, 31, 30, 31]  # 2024 is a leap year
    jan31_23 = int(datetime(2023, 1, 31, tzinfo=UTC).timestamp())
    assert _dt(billing.period_boundary(jan31_23, "month", 1, 1)).day == 28
    feb29 = int(datetime(2024, 2, 29, tzinfo=UTC).timestamp())
    assert _dt(billing.period_boundary(feb29, "year", 1, 1)) == datetime(2025, 2, 28, tzinfo=UTC)
    assert _dt(billing.period_boundary(feb29, "year", 1, 4)) == datetime(2028, 2, 29, tzinfo=UTC)


@given(anchor=TS, interval=INTERVAL, count=st.integers(1, 3), offset=st.integers(0, 10**8))
def test_next_boundary_is_the_first_after(
    anchor: int, interval: str, count: int, offset: int
) -> None:
    t = anchor + offset
    nb = billing.next_boundary(anchor, interval, count, t)
    assert nb > t
    # the previous boundary is not after t
    n = 0
    while billing.period_boundary(anchor, interval, count, n) < nb:
        n += 1
    assert billing.period_boundary(anchor, interval, count, n) == nb
    assert billing.period_boundary(anchor, interval, count, n - 1) <= t


@given(
    old=AMOUNT,
    new=AMOUNT,
    start=TS,
    length=st.integers(1, 400 * 86400),
    data=st.data(),
)
def test_proration_pair_sums_to_difference_times_unused(
    old: int, new: int, start: int, length: int, data: st.DataObject
) -> None:
    end = start + length
    at = data.draw(st.integers(start, end))
    credit, debit = billing.proration_pair(old, new, start, end, at)
    frac = Fraction(end - at, end - start)
    assert credit <= 0 <= debit
    # each side is the exact value rounded once, so the sum is within a cent
    assert abs(credit - (-old * frac)) <= Fraction(1, 2)
    assert abs(debit - new * frac) <= Fraction(1, 2)
    assert abs((credit + debit) - (new - old) * frac) <= 1
    if at == start:
        assert (credit, debit) == (-old, new)
    if at == end:
        assert (credit, debit) == (0, 0)


@given(st.lists(st.integers(-(10**7), 10**7), max_size=30), st.integers(0, 10**6))
def test_invoice_totals_equal_sum_of_lines(lines: list[int], paid: int) -> None:
    t = billing.invoice_totals(lines, min(paid, max(sum(lines), 0)))
    assert t["subtotal"] == t["total"] == sum(lines)
    assert t["amount_due"] == max(sum(lines), 0)
    assert t["amount_remaining"] == t["amount_due"] - t["amount_paid"]


@given(st.fractions(min_value=-(10**6), max_value=10**6))
def test_round_half_up_is_nearest(value: Fraction) -> None:
    r = billing.round_half_up(value)
    assert abs(r - value) <= Fraction(1, 2)
    if abs(r - value) == Fraction(1, 2):
        assert abs(r) > abs(value)


def test_an_empty_period_prorates_to_nothing() -> None:
    from simulator.stripe_emulator.billing import prorate

    assert prorate(1000, 5_000, 5_000, 5_000) == 0
    assert prorate(1000, 6_000, 5_000, 5_500) == 0

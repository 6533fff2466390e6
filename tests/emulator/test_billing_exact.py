"""Exact cases of the emulator's pure billing math (simulator/stripe_emulator/billing.py)
that the properties in test_proration_properties.py leave open: the next boundary from
inside a known period, how far the boundary estimate may fall short, rounding beyond float
precision, every invoice total, the amount and date formats, and independence from the
host's time zone. Written to kill the mutants that survived `bash ci/mutation.sh`."""

from __future__ import annotations

import calendar
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.stripe_emulator import billing

# 2000-01-01 .. 2100-01-01
TS = st.integers(min_value=946_684_800, max_value=4_102_444_800)
INTERVAL = st.sampled_from(["day", "week", "month", "year"])

# POSIX zone strings, so no time zone database is needed: "UTC-14" is 14 hours ahead.
HOST_ZONES = ("UTC-14", "UTC+12")


def _ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


@contextmanager
def host_time_zone(zone: str) -> Iterator[None]:
    """The process's local time zone set to `zone`, then put back."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@given(
    anchor=TS,
    interval=INTERVAL,
    count=st.integers(1, 12),
    periods=st.integers(0, 60),
    data=st.data(),
)
def test_from_inside_a_period_the_next_boundary_is_its_end(
    anchor: int, interval: str, count: int, periods: int, data: st.DataObject
) -> None:
    start = billing.period_boundary(anchor, interval, count, periods)
    end = billing.period_boundary(anchor, interval, count, periods + 1)
    at = data.draw(st.integers(start, end - 1))
    assert billing.next_boundary(anchor, interval, count, at) == end
    # Catching up is cheap because the estimate is never more than one period short
    # (and never past the answer): next_boundary steps forward at most once.
    assert billing._estimate(anchor, interval, count, at) in (periods, periods + 1)


@given(st.integers(0, 10**30), st.sampled_from([1, -1]))
def test_round_half_up_is_exact_beyond_float_precision(whole: int, sign: int) -> None:
    assert billing.round_half_up(Fraction(sign * whole)) == sign * whole
    assert billing.round_half_up(Fraction(sign * (2 * whole + 1), 2)) == sign * (whole + 1)
    assert billing.round_half_up(Fraction(sign * (4 * whole + 1), 4)) == sign * whole


def test_round_half_up_of_small_values() -> None:
    cases = {
        Fraction(0): 0,
        Fraction(1, 4): 0,
        Fraction(1, 2): 1,
        Fraction(3, 4): 1,
        Fraction(-1, 4): 0,
        Fraction(-1, 2): -1,
        Fraction(-3, 4): -1,
    }
    assert {value: billing.round_half_up(value) for value in cases} == cases


def test_every_invoice_total() -> None:
    assert billing.invoice_totals([1500, -200], 1000) == {
        "subtotal": 1300,
        "subtotal_excluding_tax": 1300,
        "total": 1300,
        "total_excluding_tax": 1300,
        "amount_due": 1300,
        "amount_paid": 1000,
        "amount_remaining": 300,
    }
    credit_only = billing.invoice_totals([-500])
    assert (credit_only["total"], credit_only["amount_due"]) == (-500, 0)
    assert (credit_only["amount_paid"], credit_only["amount_remaining"]) == (0, 0)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (123_456, "usd", "$1,234.56"),
        (5, "eur", "€0.05"),
        (2_000, "gbp", "£20.00"),
        (99_999_999, "chf", "999,999.99 CHF"),
    ],
)
def test_amounts_are_shown_in_major_units_with_the_currency(
    amount: int, currency: str, shown: str
) -> None:
    assert billing.format_amount(amount, currency) == shown


def test_dates_are_shown_as_stripe_writes_them_on_a_line() -> None:
    assert billing.format_date(_ts(2030, 1, 5, 0, 0)) == "Jan 5, 2030"
    assert billing.format_date(_ts(2031, 12, 31, 23, 59)) == "Dec 31, 2031"


month_end_moments = st.builds(
    lambda year, month, day, hour: _ts(
        year, month, min(day, calendar.monthrange(year, month)[1]), hour, 30
    ),
    st.integers(2001, 2098),
    st.integers(1, 12),
    st.integers(26, 31),
    st.integers(0, 23),
)


@given(
    anchor=month_end_moments,
    interval=st.sampled_from(["month", "year"]),
    count=st.integers(1, 3),
    periods=st.integers(0, 24),
    after=st.integers(0, 40 * 86_400),
)
def test_periods_do_not_depend_on_the_host_time_zone(
    anchor: int, interval: str, count: int, periods: int, after: int
) -> None:
    def boundaries() -> tuple[int, ...]:
        at = billing.period_boundary(anchor, interval, count, periods) + after
        return (
            billing.period_boundary(anchor, interval, count, periods),
            billing.period_boundary(anchor, interval, count, periods + 1),
            billing.next_boundary(anchor, interval, count, at),
            billing._estimate(anchor, interval, count, at),
        )

    with host_time_zone("UTC0"):
        expected = boundaries()
    for zone in HOST_ZONES:
        with host_time_zone(zone):
            assert boundaries() == expected, zone


def test_the_boundaries_of_a_month_end_anchor_are_utc_dates_on_any_host() -> None:
    jan30 = _ts(2023, 1, 30, 12)  # already Jan 31 at UTC+14, still Jan 30 at UTC-12
    mar1 = _ts(2023, 3, 1, 6)  # still Feb 28 at UTC-12
    for zone in HOST_ZONES:
        with host_time_zone(zone):
            assert billing.period_boundary(jan30, "month", 1, 1) == _ts(2023, 2, 28, 12)
            assert billing.period_boundary(jan30, "month", 1, 2) == _ts(2023, 3, 30, 12)
            assert billing.next_boundary(jan30, "month", 1, _ts(2023, 2, 28, 23)) == _ts(
                2023, 3, 30, 12
            )
            assert billing.next_boundary(mar1, "month", 1, _ts(2023, 3, 31, 20)) == _ts(
                2023, 4, 1, 6
            )
            assert billing.format_date(_ts(2030, 1, 31, 23, 30)) == "Jan 31, 2030"
            assert billing.format_date(_ts(2030, 2, 1, 0, 30)) == "Feb 1, 2030"

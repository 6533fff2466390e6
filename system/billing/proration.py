"""Proration of a mid-period price change (pure), rounded once, to the cent.

The unused fraction of the period is `(end - at) / (end - start)`, in seconds. The change
credits the unused time at the old price and debits it at the new price; their sum is the
price difference times the unused fraction, rounded once (half away from zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction


def round_cents(value: Fraction) -> int:
    """Half away from zero, the way money is rounded on an invoice."""
    sign = -1 if value < 0 else 1
    return sign * int(abs(value) + Fraction(1, 2))


@dataclass(frozen=True)
class Proration:
    credit_cents: int  # negative or zero: the unused time on the old price
    debit_cents: int  # positive or zero: the unused time on the new price

    @property
    def net_cents(self) -> int:
        return self.credit_cents + self.debit_cents


def unused_fraction(start: datetime, end: datetime, at: datetime) -> Fraction:
    if not start <= at <= end or start == end:
        raise ValueError("the change must fall within a non-empty period")
    return Fraction(int((end - at).total_seconds()), int((end - start).total_seconds()))


def prorate(
    old_price_cents: int, new_price_cents: int, start: datetime, end: datetime, at: datetime
) -> Proration:
    fraction = unused_fraction(start, end, at)
    credit = -round_cents(old_price_cents * fraction)
    net = round_cents((new_price_cents - old_price_cents) * fraction)
    return Proration(credit_cents=credit, debit_cents=net - credit)

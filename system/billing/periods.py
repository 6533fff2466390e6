"""Billing periods (pure): calendar months of unequal length, anchored like Stripe's.

A monthly period anchored on the 31st ends on the last day of shorter months and returns
to the 31st when the month has one; leap years give February its 29th.
"""

from __future__ import annotations

import calendar
from datetime import datetime


def add_months(anchor: datetime, months: int) -> datetime:
    """`anchor` moved by `months` calendar months, the day clamped to the month's length."""
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def period_containing(anchor: datetime, moment: datetime) -> tuple[datetime, datetime]:
    """The monthly period [start, end) anchored at `anchor` that contains `moment`."""
    if moment < anchor:
        raise ValueError("moment is before the anchor")
    months = (moment.year - anchor.year) * 12 + (moment.month - anchor.month)
    start = add_months(anchor, months)
    if start > moment:
        months -= 1
        start = add_months(anchor, months)
    return start, add_months(anchor, months + 1)

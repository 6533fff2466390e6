"""Usage figures and their charts (pure): fixes per day, credits over time, money, periods.

Charts are inline SVG drawn on the server, each with a title and the same numbers in a
table beside it, so they need no script and read out in a screen reader.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape

WIDTH, HEIGHT, PAD = 600, 160, 24


@dataclass(frozen=True)
class Point:
    label: str
    value: int


def money(cents: int, currency: str = "usd") -> str:
    """Integer cents as a price: 59900 -> "$599.00"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    symbol = "$" if currency.lower() == "usd" else currency.upper() + " "
    return f"{sign}{symbol}{whole:,}.{part:02d}"


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def fixes_per_day(moments: Iterable[datetime], *, end: date, days: int) -> list[Point]:
    """One point per day for the `days` days ending at `end`, zero when nothing happened."""
    counts = Counter(moment.date() for moment in moments)
    first = end - timedelta(days=days - 1)
    return [
        Point((first + timedelta(days=i)).isoformat(), counts[first + timedelta(days=i)])
        for i in range(days)
    ]


def balance_per_day(
    entries: Iterable[tuple[datetime, int]], *, opening: int, end: date, days: int
) -> list[Point]:
    """The closing balance of each day, from ledger (created_at, balance_after) pairs in
    time order and the balance before the first of them."""
    closing: dict[date, int] = {}
    for moment, balance in entries:
        closing[moment.date()] = balance
    first = end - timedelta(days=days - 1)
    balance, points = opening, []
    for i in range(days):
        day = first + timedelta(days=i)
        balance = closing.get(day, balance)
        points.append(Point(day.isoformat(), balance))
    return points


def _scale(points: Sequence[Point]) -> int:
    return max([p.value for p in points] + [1])


def bar_chart(points: Sequence[Point], title: str) -> str:
    """An SVG bar chart of `points`."""
    top, step = _scale(points), (WIDTH - 2 * PAD) / max(len(points), 1)
    bars = []
    for i, point in enumerate(points):
        height = (HEIGHT - 2 * PAD) * point.value / top
        x, y = PAD + i * step, HEIGHT - PAD - height
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{height:.1f}"><title>{escape(point.label)}: {point.value}</title></rect>'
        )
    return _frame(title, top, "".join(bars), "bars")


def line_chart(points: Sequence[Point], title: str) -> str:
    """An SVG line chart of `points`."""
    top, step = _scale(points), (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    coordinates = " ".join(
        f"{PAD + i * step:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD) * p.value / top:.1f}"
        for i, p in enumerate(points)
    )
    return _frame(title, top, f'<polyline fill="none" points="{coordinates}"/>', "line")


def _frame(title: str, top: int, body: str, kind: str) -> str:
    return (
        f'<svg class="chart chart-{kind}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="none">'
        f"<title>{escape(title)}</title>"
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" '
        f'y2="{HEIGHT - PAD}"/>'
        f'<text x="2" y="{PAD - 6}">{top}</text><text x="2" y="{HEIGHT - PAD}">0</text>'
        f"{body}</svg>"
    )

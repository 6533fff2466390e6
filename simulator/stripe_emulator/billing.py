"""Billing math and the "advance time" engine.

Owns:

* pure functions: period boundaries (calendar month/year with anchor-day
  clamping, week, day), proration (seconds remaining / seconds in period,
  rounded once to the cent), invoice totals;
* :class:`BillingSettings` (retry schedule, end-of-dunning behaviour,
  finalization delay), per emulator state with an optional per-account override;
* timers: due work (trial_will_end, period end, invoice finalization, payment
  retry, incomplete expiry) stored in the ``billing_timer`` collection and
  served from an in-memory heap per (account, clock), so catching up costs
  O(k log n) for k due timers;
* the engine: :func:`run_due` executes every timer due up to a time, in time
  order, with "now" moved to each timer's time. Test clocks run it on
  ``advance``; objects on the emulator clock catch up at the start of each
  billing request (:func:`catch_up`).

Events emitted by the engine carry ``request: {id: null}`` like Stripe's
automatic actions.
"""

from __future__ import annotations

import calendar
import heapq
import itertools
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .common import diff

if TYPE_CHECKING:
    from .routing import Ctx
    from .state import EmulatorState
    from .store import Account

DAY = 86400
HOUR = 3600
CLOCKS = "test_helpers.test_clock"
TIMERS = "billing_timer"
INDEXES = {TIMERS: ("clock",)}

# ---------------------------------------------------------------------------
# Pure math
# ---------------------------------------------------------------------------


def period_boundary(anchor: int, interval: str, count: int, n: int) -> int:
    """The ``n``-th boundary after ``anchor`` (``n`` may be 0 or negative).

    Months and years are calendar based and always computed from the anchor,
    so the day of month clamps and then recovers (Jan 31 -> Feb 28/29 -> Mar 31).
    """
    if interval == "day":
        return anchor + n * count * DAY
    if interval == "week":
        return anchor + n * count * 7 * DAY
    months = n * count * (12 if interval == "year" else 1)
    a = datetime.fromtimestamp(anchor, UTC)
    y, m0 = divmod(a.year * 12 + (a.month - 1) + months, 12)
    day = min(a.day, calendar.monthrange(y, m0 + 1)[1])
    return int(a.replace(year=y, month=m0 + 1, day=day).timestamp())


def _estimate(anchor: int, interval: str, count: int, t: int) -> int:
    if interval in ("day", "week"):
        step = count * DAY * (7 if interval == "week" else 1)
        return (t - anchor) // step
    a = datetime.fromtimestamp(anchor, UTC)
    b = datetime.fromtimestamp(t, UTC)
    months = (b.year - a.year) * 12 + (b.month - a.month)
    return months // (count * (12 if interval == "year" else 1))


def next_boundary(anchor: int, interval: str, count: int, after: int) -> int:
    """The first period boundary strictly after ``after``."""
    n = _estimate(anchor, interval, count, after)
    # ``_estimate`` never overshoots (it floors whole periods), so only step forward.
    while period_boundary(anchor, interval, count, n) <= after:
        n += 1
    return period_boundary(anchor, interval, count, n)


def round_half_up(value: Fraction) -> int:
    """Round to the nearest integer, halves away from zero (the one rounding step)."""
    sign = -1 if value < 0 else 1
    mag = abs(value)
    return sign * int((mag.numerator * 2 + mag.denominator) // (mag.denominator * 2))


def unused_fraction(start: int, end: int, at: int) -> Fraction:
    """Share of ``[start, end)`` left after ``at`` (clamped to [0, 1])."""
    if end <= start:
        return Fraction(0)
    at = min(max(at, start), end)
    return Fraction(end - at, end - start)


def prorate(amount: int, start: int, end: int, at: int) -> int:
    """``amount`` for the time left in the period after ``at``, rounded once to the cent."""
    return round_half_up(amount * unused_fraction(start, end, at))


def proration_pair(old: int, new: int, start: int, end: int, at: int) -> tuple[int, int]:
    """(credit for unused time on ``old``, debit for remaining time on ``new``)."""
    return -prorate(old, start, end, at), prorate(new, start, end, at)


def invoice_totals(amounts: Iterable[int], amount_paid: int = 0) -> dict[str, int]:
    """Totals of an invoice whose lines have ``amounts`` (no tax, no discounts)."""
    subtotal = sum(amounts)
    due = max(subtotal, 0)
    return {
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal,
        "total": subtotal,
        "total_excluding_tax": subtotal,
        "amount_due": due,
        "amount_paid": amount_paid,
        "amount_remaining": max(due - amount_paid, 0),
    }


def format_amount(amount: int, currency: str) -> str:
    sym = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, "")
    body = f"{amount / 100:,.2f}"
    return f"{sym}{body}" if sym else f"{body} {currency.upper()}"


def format_date(ts: int) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    return f"{d.strftime('%b')} {d.day}, {d.year}"


# Below: settings, timers and the engine, which keep state. Mutation testing
# (ci/mutation.sh) covers only the pure math above; the HTTP suites test the rest.
# pragma: no mutate block
# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


@dataclass
class BillingSettings:
    """How automatic collection behaves (Stripe: Dashboard > Billing > Revenue recovery).

    ``retry_days``: custom retry schedule, each entry in days after the previous
    attempt (an approximation of Smart Retries). After the last retry fails the
    subscription becomes ``end_of_dunning`` (``canceled``, Stripe's default, or
    ``unpaid``); invoices stay ``open`` unless ``mark_uncollectible_after_dunning``.
    ``finalize_delay``: renewal invoices stay draft this long (Stripe: ~1 hour).
    ``async_payment_delay``: delayed-notification payments (SEPA Direct Debit) settle
    this long after confirmation; 0 settles them right after the confirming request,
    as automatic events (Stripe's test IBANs settle within seconds to minutes).
    """

    retry_days: tuple[int, ...] = (3, 5, 7)
    end_of_dunning: str = "canceled"
    mark_uncollectible_after_dunning: bool = False
    finalize_delay: int = HOUR
    trial_will_end_days: int = 3
    incomplete_expiry: int = 23 * HOUR
    async_payment_delay: int = 0


_STATE_SETTINGS: weakref.WeakKeyDictionary[Any, BillingSettings] = weakref.WeakKeyDictionary()
_ACCOUNT_SETTINGS: weakref.WeakKeyDictionary[Any, BillingSettings] = weakref.WeakKeyDictionary()


def settings(state: EmulatorState, account: Account) -> BillingSettings:
    """Effective settings: the account's override if any, else the state's."""
    s = _ACCOUNT_SETTINGS.get(account)
    if s is not None:
        return s
    s = _STATE_SETTINGS.get(state)
    if s is None:
        s = _STATE_SETTINGS[state] = BillingSettings()
    return s


def set_account_settings(account: Account, value: BillingSettings | None) -> None:
    """Override the settings for one account (``None`` = back to the state's)."""
    if value is None:
        _ACCOUNT_SETTINGS.pop(account, None)
    else:
        _ACCOUNT_SETTINGS[account] = value


# ---------------------------------------------------------------------------
# Time: "now" for a customer, engine time overrides
# ---------------------------------------------------------------------------

_AUTO: ContextVar[bool] = ContextVar("billing_auto", default=False)


def clock_of(ctx: Ctx, customer_id: str | None) -> str | None:
    cus = ctx.coll("customer").get(customer_id or "")
    return cus.get("test_clock") if cus else None


def now_for(ctx: Ctx, customer_id: str | None) -> int:
    """Current time for a customer's objects (its test clock's frozen time, if any)."""
    return ctx.state.now_for(customer_id, ctx.account)


@contextmanager
def _engine_time(t: int) -> Iterator[None]:
    tok_auto = _AUTO.set(True)
    try:
        yield
    finally:
        _AUTO.reset(tok_auto)


def emit(
    ctx: Ctx, type: str, obj: dict[str, Any], previous_attributes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``ctx.emit``, except events from the engine have no request (like Stripe's)."""
    if not _AUTO.get():
        return ctx.emit(type, obj, previous_attributes)
    evt = ctx.state.record_event(
        ctx.account,
        type,
        obj,
        previous_attributes=previous_attributes,
        api_version=ctx.api_version,
        notify=False,
    )
    ctx.events.append(evt)
    return evt


def change(
    ctx: Ctx,
    collection: str,
    obj: dict[str, Any],
    changes: dict[str, Any],
    event_type: str,
) -> dict[str, Any]:
    """Apply ``changes`` in place, reindex, and emit ``event_type`` with previous_attributes."""
    old = dict(obj)
    prev = diff(old, {**obj, **changes})
    if not prev:
        return obj
    obj.update(changes)
    ctx.coll(collection).reindex(obj["id"], old)
    emit(ctx, event_type, obj, prev)
    return obj


# ---------------------------------------------------------------------------
# Timers and the engine
# ---------------------------------------------------------------------------

# kind -> priority among timers due at the same second (Stripe's order)
PRIORITY = {
    "trial_will_end": 0,
    "period_end": 1,
    "finalize": 2,
    "retry": 3,
    "expire_incomplete": 4,
    "settle": 5,
}
Handler = Callable[["Ctx", str, int], None]
HANDLERS: dict[str, Handler] = {}

_counter = itertools.count()
HeapEntry = tuple[int, int, int, str]
_HEAPS: weakref.WeakKeyDictionary[Any, dict[str, list[HeapEntry]]] = weakref.WeakKeyDictionary()


def register_handler(kind: str, handler: Handler) -> None:
    HANDLERS[kind] = handler


def _heap(account: Account, clock: str) -> list[HeapEntry]:
    heaps = _HEAPS.get(account)
    if heaps is None:
        heaps = _HEAPS[account] = {}
    heap = heaps.get(clock)
    if heap is None:
        heap = heaps[clock] = [
            (t["at"], PRIORITY[t["kind"]], next(_counter), t["id"])
            for t in account.coll(TIMERS).lookup("clock", clock)
        ]
        heapq.heapify(heap)
    return heap


def set_timer(ctx: Ctx, kind: str, target: str, at: int, customer: str | None) -> None:
    """Schedule (or move) the ``kind`` work for ``target`` at ``at``."""
    clock = clock_of(ctx, customer) or ""
    tid = f"{kind}:{target}"
    coll = ctx.coll(TIMERS)
    old = coll.get(tid)
    timer = {"id": tid, "object": TIMERS, "clock": clock, "at": at, "kind": kind, "target": target}
    if old is not None:
        coll.delete(tid)
    coll.put(timer)
    heapq.heappush(_heap(ctx.account, clock), (at, PRIORITY[kind], next(_counter), tid))


def clear_timer(ctx: Ctx, kind: str, target: str) -> None:
    ctx.coll(TIMERS).delete(f"{kind}:{target}")


def run_due(ctx: Ctx, clock: str, until: int, on_step: Callable[[int], None] | None = None) -> int:
    """Run every timer of ``clock`` due at or before ``until``, oldest first. Returns the count."""
    heap = _heap(ctx.account, clock)
    coll = ctx.coll(TIMERS)
    done = 0
    while heap and heap[0][0] <= until:
        at, _prio, _n, tid = heapq.heappop(heap)
        timer = coll.get(tid)
        if timer is None or timer["at"] != at or timer["clock"] != clock:
            continue  # stale heap entry (moved or cleared)
        coll.delete(tid)
        if on_step is not None:
            on_step(at)
        with _engine_time(at):
            HANDLERS[timer["kind"]](ctx, timer["target"], at)
        done += 1
    return done


def catch_up(ctx: Ctx) -> None:
    """Run the work due on the emulator's own clock (objects not on a test clock)."""
    heap = _heap(ctx.account, "")
    if heap and heap[0][0] <= ctx.state.clock.now():
        run_due(ctx, "", ctx.state.clock.now())

"""What a customer should have paid, computed independently (pure).

From the journey a customer lived (its actions and their simulated times) and the price
list alone (`system.billing.catalogue`: plan prices, credits per period, trial and card
bonus credits), this replays the account with its own arithmetic: trial credits, the
first-card bonus, fixes paid by credit or charged, Pro periods granted and renewed on the
calendar, renewals that fail on a failing card, retries and the end of dunning,
cancellations, credits expiring with their period. It shares none of the system's billing
rules (no pricing, no periods), so a bug in them shows as a disagreement instead of being
made on both sides; and it never looks at the system's or Stripe's answers: the
reconciliation compares its figures with theirs.

Timing, as the simulation runs it: customers act at the start of each step (a week);
Stripe's automatic work (renewals, retries) happens at its own times in between; the
system hears of it (webhooks) by the end of that step, so a customer falls past due, in
the system's books, at the end of the step in which its renewal failed.
"""

from __future__ import annotations

import bisect
import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from simulator.staging.behaviour import Card
from system.billing.catalogue import CARD_BONUS_CREDITS, PAYG, PLANS, PRO, TRIAL_CREDITS

HOUR = 3600
DAY = 86400


@dataclass
class Grant:
    sub: int
    amount: int
    consumed: int = 0  # fixes deployed since it was granted (the system's rule)
    expired: bool = False


@dataclass
class Sub:
    number: int
    anchor: int
    period_start: int
    period_end: int
    status: str = "active"  # active | past_due | canceled
    cancel_at_period_end: bool = False
    open_invoice: int | None = None  # amount of the unpaid renewal
    failed_at: int | None = None


@dataclass
class Settings:
    trial_credits: int = TRIAL_CREDITS
    card_bonus: int = CARD_BONUS_CREDITS
    grace_seconds: float = 7 * DAY
    retry_days: tuple[int, ...] = (3, 5, 7)
    finalize_delay: int = HOUR


@dataclass
class Expected:
    """The account a customer should have, replayed event by event in time order."""

    settings: Settings = field(default_factory=Settings)
    steps: list[int] = field(default_factory=list)  # the simulation's step boundaries
    signed_up: bool = False
    balance: int = 0
    plan: str = "trial"
    card: Card | None = None
    bonus_given: bool = False
    charged_cents: int = 0
    fix_charges: int = 0
    invoice_payments: list[int] = field(default_factory=list)
    failed_invoice_attempts: int = 0
    fixes_done: int = 0
    fixes_refused: int = 0
    past_due_since: int | None = None
    subs: list[Sub] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    timers: list[tuple[int, int, str, int]] = field(default_factory=list)  # at, seq, kind, sub
    _seq: int = 0

    # -- time ----------------------------------------------------------------------------

    def _timer(self, at: int, kind: str, sub: int) -> None:
        self._seq += 1
        bisect.insort(self.timers, (at, self._seq, kind, sub))

    def run_until(self, t: int) -> None:
        """Stripe's automatic work due at or before `t` (it runs before customers act)."""
        while self.timers and self.timers[0][0] <= t:
            at, _, kind, number = self.timers.pop(0)
            sub = self.subs[number]
            getattr(self, f"_on_{kind}")(sub, at)

    def _step_end(self, t: int) -> int:
        """When the system hears of something that happened at `t`: the end of its step."""
        i = bisect.bisect_left(self.steps, t)
        return self.steps[i] if i < len(self.steps) else t

    def _on_period_end(self, sub: Sub, at: int) -> None:
        if sub.status == "canceled":
            return
        if sub.cancel_at_period_end:
            self._end(sub, at)
            return
        months = 1
        while months_after(sub.anchor, months) <= at:
            months += 1
        sub.period_start, sub.period_end = at, months_after(sub.anchor, months)
        self._timer(sub.period_end, "period_end", sub.number)
        sub.open_invoice = PRO.monthly_price_cents
        self._timer(at + self.settings.finalize_delay, "attempt", sub.number)
        sub.failed_at = None

    def _on_attempt(self, sub: Sub, at: int) -> None:
        if sub.status == "canceled" or sub.open_invoice is None:
            return
        if self.card is Card.VALID:
            self._paid(sub)
            return
        self.failed_invoice_attempts += 1
        attempts = 1 if sub.failed_at is None else sub.failed_at
        if sub.status == "active":
            sub.status = "past_due"
            if self.past_due_since is None:
                self.past_due_since = self._step_end(at)
        if attempts <= len(self.settings.retry_days):
            sub.failed_at = attempts + 1
            self._timer(at + self.settings.retry_days[attempts - 1] * DAY, "attempt", sub.number)
        else:
            self._end(sub, at)

    def _on_expire(self, sub: Sub, at: int) -> None:
        for grant in self.grants:
            if grant.sub == sub.number and not grant.expired:
                self._expire(grant)

    # -- money and credits ---------------------------------------------------------------

    def _paid(self, sub: Sub) -> None:
        assert sub.open_invoice is not None
        self.charged_cents += sub.open_invoice
        self.invoice_payments.append(sub.open_invoice)
        sub.open_invoice = None
        sub.failed_at = None
        for grant in self.grants:
            if grant.sub == sub.number and not grant.expired:
                self._expire(grant)
        self.grants.append(Grant(sub.number, PRO.credits_per_period))
        self.balance += PRO.credits_per_period
        sub.status = "active"
        self.past_due_since = None
        self.plan = "pro"

    def _expire(self, grant: Grant) -> None:
        unused = max(0, min(self.balance, grant.amount - grant.consumed))
        self.balance -= unused
        grant.expired = True

    def _end(self, sub: Sub, at: int) -> None:
        sub.status = "canceled"
        sub.open_invoice = None
        self.past_due_since = None
        self.plan = "payg" if self.card is not None else "trial"
        self._timer(max(at, sub.period_end), "expire", sub.number)
        self.run_until(at)

    def _live(self) -> Sub | None:
        return next((s for s in reversed(self.subs) if s.status != "canceled"), None)

    # -- the customer's actions ----------------------------------------------------------

    def signup(self, t: int) -> None:
        self.run_until(t)
        self.signed_up = True
        self.balance = self.settings.trial_credits

    def add_card(self, t: int, card: Card) -> bool:
        """Whether the card is accepted."""
        self.run_until(t)
        if card is Card.DECLINES:
            return False
        self.card = card
        if not self.bonus_given:
            self.bonus_given = True
            self.balance += self.settings.card_bonus
        if self.plan == "trial":
            self.plan = "payg"
        if self.past_due_since is not None:
            for sub in self.subs:
                if sub.status != "canceled" and sub.open_invoice is not None:
                    if self.card is Card.VALID:
                        self._paid(sub)
                    else:
                        self.failed_invoice_attempts += 1
        return True

    def deploy(self, t: int, count: int) -> tuple[int, int]:
        """(fixes deployed, of which charged) out of `count`."""
        self.run_until(t)
        done = charged = 0
        for _ in range(count):
            suspended = (
                self.past_due_since is not None
                and t - self.past_due_since > self.settings.grace_seconds
            )
            if suspended or (self.balance <= 0 and self.card is not Card.VALID):
                # refused: suspended; or no credit and no card, or a card that cannot pay
                self.fixes_refused += 1
                continue
            if self.balance > 0:
                self.balance -= 1
            else:
                self.charged_cents += self._fix_price()
                self.fix_charges += 1
                charged += 1
            for grant in self.grants:
                if not grant.expired:
                    grant.consumed += 1
            done += 1
        self.fixes_done += done
        return done, charged

    def _fix_price(self) -> int:
        """A fix with no credit left costs its plan's fix price (on the trial: PAYG's)."""
        price = PLANS[self.plan].fix_price_cents
        if price is None:
            price = PAYG.fix_price_cents
        assert price is not None
        return price

    def subscribe(self, t: int) -> bool:
        self.run_until(t)
        live = self._live()
        if live is not None or self.card is None:
            return False
        if self.card is not Card.VALID:
            return False  # error_if_incomplete: nothing is created
        number = len(self.subs)
        end = months_after(t, 1)
        sub = Sub(number, t, t, end, open_invoice=PRO.monthly_price_cents)
        self.subs.append(sub)
        self._paid(sub)
        self._timer(end, "period_end", number)
        return True

    def cancel(self, t: int, at_period_end: bool) -> bool:
        self.run_until(t)
        live = self._live()
        if live is None:
            return False
        if at_period_end:
            live.cancel_at_period_end = True
        else:
            self._end(live, t)
        return True

    def finish(self, t: int) -> None:
        self.run_until(t)

    @property
    def subscription_status(self) -> str | None:
        return self.subs[-1].status if self.subs else None


def months_after(epoch: int, months: int) -> int:
    """`epoch` moved `months` calendar months on (UTC), the day of the month kept, or the
    month's last day when it is shorter: 31 January + 1 month is 28 (or 29) February."""
    moment = datetime.fromtimestamp(epoch, UTC)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())

"""The behaviour model: what one simulated customer does, week by week (pure, seeded).

One piece of code decides every customer's journey for the staging simulator and for the
Locust scenarios, so what staging simulates is what the load test runs at scale.

    journey = Journey(profile, seed=7, index=42)
    view = CustomerView()                   # what the customer has seen so far
    for week in range(weeks):
        for action in journey.next_actions(view, week):
            outcome = perform(action)         # through the system's HTTP API
            view.observe(action, outcome)     # update what the customer knows

The model never does I/O and draws only from its own ``random.Random`` (seeded by the run
seed and the customer's index), so a customer's choices do not depend on the order in
which customers are served: the same seed and the same answers give the same journey.

Cards are Stripe test tokens: ``valid`` cards always pay, ``declines`` cards are declined
when attached, ``fails`` cards attach but every charge fails (a card that fails later).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from simulator.staging.profile import Distribution, Profile


class Kind(StrEnum):
    SIGNUP = "signup"
    DEPLOY_FIXES = "deploy_fixes"
    ADD_CARD = "add_card"
    SUBSCRIBE = "subscribe"
    CANCEL = "cancel"
    CHECK_BILLING = "check_billing"  # look at the subscription (past due?)
    LEAVE = "leave"  # stop acting; nothing is sent


class Card(StrEnum):
    VALID = "valid"
    DECLINES = "declines"  # declined when attached
    FAILS = "fails"  # attaches, then every charge fails


CARD_TOKENS: dict[Card, tuple[str, ...]] = {
    Card.VALID: ("pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa_debit"),
    Card.DECLINES: ("pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds"),
    Card.FAILS: ("pm_card_chargeCustomerFail",),
}
# last4 of each token's card (the emulator's test card numbers), to classify payments
CARD_LAST4: dict[str, Card] = {
    "4242": Card.VALID,
    "4444": Card.VALID,
    "0005": Card.VALID,
    "5556": Card.VALID,
    "0002": Card.DECLINES,
    "9995": Card.DECLINES,
    "0341": Card.FAILS,
}


class Intent(StrEnum):
    LEAVE = "leave"  # uses its trial, then leaves
    PAYG = "payg"
    PRO = "pro"


@dataclass(frozen=True)
class Action:
    kind: Kind
    count: int = 0  # DEPLOY_FIXES: how many
    card: Card | None = None  # ADD_CARD
    token: str | None = None  # ADD_CARD: the Stripe test token
    plan: str | None = None  # SUBSCRIBE
    at_period_end: bool = True  # CANCEL


@dataclass
class CustomerView:
    """What a customer knows of itself, from the answers it got."""

    signed_up: bool = False
    rejected: bool = False  # signup refused (invalid, disposable or duplicate address)
    gone: bool = False
    credits: int = 0
    card: Card | None = None  # the default card on file
    card_declined: bool = False  # the last card it tried was declined
    subscribed: bool = False  # a live Pro subscription
    subscribe_declined: bool = False
    cancel_requested: bool = False
    past_due: bool = False
    refused: int = 0  # fixes refused (402) in the last batch
    since_card: int | None = None  # week the first card was attached
    signup_week: int | None = None

    def observe(self, action: Action, ok: bool, week: int, **facts: object) -> None:
        """Record the outcome of `action` (`ok`: the API accepted it; `facts`: fields of
        this view the answer revealed, e.g. credits=3)."""
        if action.kind is Kind.SIGNUP:
            self.signed_up, self.rejected = ok, not ok
            self.signup_week = week
        elif action.kind is Kind.ADD_CARD:
            self.card_declined = not ok
            if ok:
                self.card = action.card
                if self.since_card is None:
                    self.since_card = week
        elif action.kind is Kind.SUBSCRIBE:
            self.subscribed = ok
            self.subscribe_declined = not ok
        elif action.kind is Kind.CANCEL and ok:
            self.cancel_requested = True
            if not action.at_period_end:
                self.subscribed = False
        elif action.kind is Kind.LEAVE:
            self.gone = True
        for name, value in facts.items():
            setattr(self, name, value)


def draw(rng: random.Random, distribution: Distribution) -> int:
    """A count from a ``((count, weight), ...)`` distribution."""
    total = sum(w for _, w in distribution)
    point = rng.random() * total
    for count, weight in distribution:
        point -= weight
        if point < 0:
            return count
    return distribution[-1][0]


@dataclass
class Journey:
    """One customer's behaviour: a persona drawn once, then weekly decisions."""

    profile: Profile
    seed: int
    index: int
    arrival_week: int = 0
    intent: Intent = Intent.LEAVE
    first_card: Card = Card.VALID
    card_delay: int = 0
    pro_delay: int = 0
    pro_card_fails_week: int | None = None  # weeks into the subscription
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        p = self.profile
        self.rng = random.Random(f"journey:{self.seed}:{self.index}")
        rng = self.rng
        self.arrival_week = rng.randrange(max(1, p.signup_weeks))
        roll = rng.random()
        if roll < p.intent_pro_rate:
            self.intent = Intent.PRO
        elif roll < p.intent_pro_rate + p.intent_payg_rate:
            self.intent = Intent.PAYG
        roll = rng.random()
        if roll < p.card_declines_rate:
            self.first_card = Card.DECLINES
        elif roll < p.card_declines_rate + p.card_fails_later_rate:
            self.first_card = Card.FAILS
        self.card_delay = rng.randint(*p.card_delay_weeks)
        self.pro_delay = rng.randint(*p.pro_delay_weeks)
        if rng.random() < p.pro_card_fails_rate:
            self.pro_card_fails_week = rng.randint(1, 8)

    def _token(self, card: Card) -> str:
        return self.rng.choice(CARD_TOKENS[card])

    def _card(self, card: Card) -> Action:
        return Action(Kind.ADD_CARD, card=card, token=self._token(card))

    def _fixes(self, distribution: Distribution, cap: int | None = None) -> list[Action]:
        count = draw(self.rng, distribution)
        if cap is not None:
            count = min(count, cap)
        return [Action(Kind.DEPLOY_FIXES, count=count)] if count else []

    def next_actions(self, view: CustomerView, week: int) -> list[Action]:
        """What the customer does in `week` (0-based), in order, given what it knows."""
        p = self.profile
        if week < self.arrival_week or view.rejected or view.gone:
            return []
        if not view.signed_up:
            # Signup week: sign up and try the product on its trial credits.
            return [Action(Kind.SIGNUP), *self._fixes(p.trial_fixes)]
        age = week - (view.signup_week if view.signup_week is not None else self.arrival_week)
        rng = self.rng
        if view.card is None:
            return self._without_card(view, week, age)
        if view.subscribed:
            return self._pro(view, week)
        # pay as you go (a card, no live subscription)
        actions: list[Action] = []
        if view.refused and view.card is Card.FAILS:
            # its card failed when a fix was charged: fix it or leave
            if rng.random() < p.recover_rate:
                actions.append(self._card(Card.VALID))
            else:
                return [Action(Kind.LEAVE)]
        elif view.subscribe_declined and view.card is Card.FAILS:
            if rng.random() < p.recover_rate:
                actions.append(self._card(Card.VALID))
            view.subscribe_declined = False
        if view.cancel_requested:
            # a former subscriber keeps paying as it goes, or leaves
            view.cancel_requested = False
            if rng.random() < 0.5:
                return [Action(Kind.LEAVE)]
        if rng.random() < p.payg_leave_weekly_rate:
            return [Action(Kind.LEAVE)]
        since = view.since_card if view.since_card is not None else week
        wants_pro = self.intent is Intent.PRO and week - since >= self.pro_delay
        upgrade = rng.random() < p.upgrade_weekly_rate
        if (wants_pro or upgrade) and not view.subscribe_declined:
            actions.append(Action(Kind.SUBSCRIBE, plan="pro"))
            self.intent = Intent.PRO if not upgrade else self.intent
            return actions
        return actions + self._fixes(p.payg_fixes)

    def _without_card(self, view: CustomerView, week: int, age: int) -> list[Action]:
        p, rng = self.profile, self.rng
        if view.card_declined:
            view.card_declined = False
            if rng.random() < p.retry_after_decline_rate:
                return [self._card(Card.VALID)]
            return [Action(Kind.LEAVE)]
        if self.intent is not Intent.LEAVE and age >= self.card_delay:
            return [self._card(self.first_card)]
        if self.intent is Intent.LEAVE and (age >= p.trial_weeks or view.credits <= 0):
            return [Action(Kind.LEAVE)]
        # still on the trial: no one deploys past its credits twice
        return self._fixes(p.trial_fixes, cap=max(view.credits, 0) + (0 if view.refused else 1))

    def _pro(self, view: CustomerView, week: int) -> list[Action]:
        p, rng = self.profile, self.rng
        actions: list[Action] = []
        if view.card is Card.FAILS or view.cancel_requested:
            actions.append(Action(Kind.CHECK_BILLING))
        if view.card is Card.FAILS:
            if view.past_due and rng.random() < p.recover_rate:
                actions.append(self._card(Card.VALID))
        elif (
            self.pro_card_fails_week is not None
            and view.since_card is not None
            and week - view.since_card >= self.pro_card_fails_week
        ):
            self.pro_card_fails_week = None
            actions.append(self._card(Card.FAILS))
        if not view.cancel_requested and rng.random() < p.cancel_weekly_rate:
            at_end = rng.random() < p.cancel_at_period_end_share
            self.intent = Intent.PAYG  # a customer who cancels does not come straight back
            actions.append(Action(Kind.CANCEL, at_period_end=at_end))
            return actions
        return actions + self._fixes(p.pro_fixes)

"""A stateful property test of billing (issue 15): random interleavings of what customers
and Stripe do, against the live system (uvicorn, its database) and the Stripe emulator over
HTTP, with the books checked after every step.

Each hypothesis example builds its own system: a fresh database, a fresh Stripe key (so a
fresh emulator account, webhook endpoint and test clock), torn down in `teardown`.

Rules: sign up (one or two customers), add a card (valid or one that fails when charged),
remove a card, deploy a fix (a new fix id or a repeat), the same fix deployed by 2-3 threads
at once, subscribe to Pro (once, or 2-3 clicks at once), cancel (now or at period end),
advance the clock (Stripe's test clock and the system's) by up to 35 days, redeliver recent
webhook events twice and in reverse order, and switch the emulator's delivery faults
(duplicates, reordering) on or off.

After every step, once the emulator has delivered every webhook, for each customer:

* no answer was a 5xx, and no `stripe_intents` row is left pending;
* balance == sum of the ledger, each entry's `balance_after` is the running sum, never < 0;
* the ledger holds exactly the entries the model predicted for what the test did (trial,
  card bonus, consumed and purchased credits), besides period grants and expiries, which
  are checked against Stripe: one +60 grant per paid subscription invoice at Stripe, each
  expiry at most zero and of an existing grant, once;
* the model's balance (predicted entries plus those grants and expiries) is the system's;
* Stripe's succeeded fix PaymentIntents == the payments recorded == the fixes recorded as
  charged == the model's charged fixes (ids and amounts), each charged at the price
  `price_of_next_fix` gives for the model's state (balance, plan, card, suspension) when
  it was deployed;
* at most one live subscription at Stripe; plan is "pro" exactly while there is one;
* the system's default card is Stripe's default payment method.

20 examples of up to 20 steps take about two minutes; RSOLV_STATEFUL_EXAMPLES and
RSOLV_STATEFUL_STEPS raise them for a longer hunt. `pytest -s` prints what the examples
went through (fix decisions, subscribe and cancel answers, subscription statuses).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import os
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from simulator.stripe_emulator.webhooks import dispatcher_for
from system.billing.catalogue import CARD_BONUS_CREDITS, PLANS, TRIAL_CREDITS
from system.billing.pricing import FixAction, price_of_next_fix
from system.billing.stripe_objects import LIVE_STATUSES
from system.db.engine import create_engine
from system.db.tables import credit_ledger, customers, fixes, payments, stripe_intents
from tests.support import LiveSystem, fresh_database, running_live_system

VALID_CARDS = ("pm_card_visa", "pm_card_mastercard")
FAILING_CARD = "pm_card_chargeCustomerFail"
# Ledger kinds that follow from Stripe's subscription invoices, not from a step directly.
SUBSCRIPTION_KINDS = frozenset({"period_grant", "grant_expired"})
WEBHOOKS_SETTLE_SECONDS = 30.0

Entry = tuple[int, str, str]  # (amount, kind, reference)

# What the examples went through (printed by the test; `pytest -s` shows it).
SEEN: Counter[str] = Counter()


def seen(what: str) -> None:
    SEEN[what] += 1


@dataclass
class CustomerModel:
    """What the test believes about one customer, from what it did and what it saw."""

    customer_id: str
    api_key: str
    cards: dict[str, str] = field(default_factory=dict)  # active card id -> test token
    card_bonus_granted: bool = False
    plan: str = "trial"
    balance: int = TRIAL_CREDITS
    recorded_fixes: dict[str, int] = field(default_factory=dict)  # fix id -> cents charged
    tried_fixes: set[str] = field(default_factory=set)
    fix_numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    expected_entries: list[Entry] = field(default_factory=list)
    ledger_seen_up_to: int = 0
    stripe_customer_id: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def charged_fixes(self) -> dict[str, int]:
        return {fix_id: cents for fix_id, cents in self.recorded_fixes.items() if cents}


class DatabaseReader:
    """Reads the system's database on an engine and event loop of the test's own."""

    def __init__(self, database_url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._engine = create_engine(database_url)

    def rows(self, *queries: Any) -> list[list[Any]]:
        """The rows of each query, read on one connection."""

        async def run() -> list[list[Any]]:
            async with self._engine.connect() as connection:
                return [list((await connection.execute(q)).all()) for q in queries]

        return self._loop.run_until_complete(run())

    def close(self) -> None:
        self._loop.run_until_complete(self._engine.dispose())
        self._loop.close()


def signed_headers(payload: bytes, secret: str) -> dict[str, str]:
    stamp = int(time.time())
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
    return {
        "Stripe-Signature": f"t={stamp},v1={signature.hexdigest()}",
        "Content-Type": "application/json",
    }


class BillingStateMachine(RuleBasedStateMachine):
    """Customers, Stripe and time, interleaved at random; the books checked after each."""

    emulator: ClassVar[Any]
    migrated_database: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.resources = contextlib.ExitStack()
        directory = Path(self.resources.enter_context(tempfile.TemporaryDirectory()))
        self.database_url = fresh_database(self.migrated_database, directory)
        key = f"sk_test_stateful_{uuid.uuid4().hex[:12]}"
        self.live: LiveSystem = self.resources.enter_context(
            running_live_system(self.database_url, self.emulator, key)
        )
        self.database = DatabaseReader(self.database_url)
        self.resources.callback(self.database.close)
        self.dispatcher = dispatcher_for(self.emulator.state)
        self.customers: list[CustomerModel] = []
        self.statuses: list[tuple[str, int]] = []

    def teardown(self) -> None:
        self.dispatcher.clear_faults()
        self.resources.close()

    # -- talking to the system ----------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        customer: CustomerModel | None = None,
        body: dict[str, Any] | None = None,
        http: httpx.Client | None = None,
    ) -> httpx.Response:
        client = http or self.live.http
        headers = customer.auth if customer else {}
        response = client.request(method, path, json=body, headers=headers)
        self.statuses.append((f"{method} {path}", response.status_code))
        assert response.status_code < 500, f"{method} {path}: {response.text}"
        return response

    def at_once(
        self, times: int, method: str, path: str, customer: CustomerModel, body: dict[str, Any]
    ) -> list[httpx.Response]:
        """The same request from `times` threads at once, each on a client of its own."""

        def send(_: int) -> httpx.Response:
            with httpx.Client(base_url=self.live.url, timeout=30) as http:
                return self.request(method, path, customer, body, http)

        with ThreadPoolExecutor(times) as pool:
            return list(pool.map(send, range(times)))

    def summary(self, customer: CustomerModel) -> dict[str, Any]:
        response = self.request("GET", "/api/v1/billing/subscription", customer)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def stripe_customer(self, customer: CustomerModel) -> str | None:
        if customer.stripe_customer_id is None:
            query = select(customers.c.stripe_customer_id).where(
                customers.c.id == customer.customer_id
            )
            [[(customer.stripe_customer_id,)]] = self.database.rows(query)
        return customer.stripe_customer_id

    def stripe_subscriptions(self, customer: CustomerModel) -> list[Any]:
        stripe_id = self.stripe_customer(customer)
        if not stripe_id:
            return []
        found = self.live.stripe.v1.subscriptions.list(
            params={"customer": stripe_id, "status": "all", "limit": 100}
        )
        return list(found.data)

    def live_subscriptions(self, customer: CustomerModel) -> list[Any]:
        return [sub for sub in self.stripe_subscriptions(customer) if sub.status in LIVE_STATUSES]

    def settle_webhooks(self) -> None:
        assert self.dispatcher.wait_idle(WEBHOOKS_SETTLE_SECONDS), "webhooks still in flight"

    def default_token(self, customer: CustomerModel) -> str | None:
        """The test token of the customer's default card, as the system lists it."""
        response = self.request("GET", "/api/v1/billing/payment-methods", customer)
        assert response.status_code == 200, response.text
        defaults = [card["id"] for card in response.json()["data"] if card["default"]]
        assert len(defaults) <= 1, defaults
        if not defaults:
            return None
        assert defaults[0] in customer.cards, (defaults, customer.cards)
        return customer.cards[defaults[0]]

    def choose(self, index: int) -> CustomerModel:
        return self.customers[index % len(self.customers)]

    # -- rules ----------------------------------------------------------------------------

    @initialize(card=st.sampled_from((None, *VALID_CARDS, FAILING_CARD)), pro=st.booleans())
    def first_signup(self, card: str | None, pro: bool) -> None:
        """One customer to begin with, most often with a card and half the time on Pro (so
        that more is reachable in a few steps: charges, renewals, dunning)."""
        self.sign_up()
        if card is not None:
            self.add_card(0, card)
        if pro:
            self.subscribe(0, 1)

    @precondition(lambda self: len(self.customers) < 2)
    @rule()
    def sign_up(self) -> None:
        number = len(self.customers) + 1
        response = self.request(
            "POST",
            "/api/v1/customers/onboard",
            body={"email": f"dev{number}@example.com", "name": f"Dev {number}"},
        )
        assert response.status_code == 201, response.text
        answer = response.json()
        customer = CustomerModel(answer["customer"]["id"], answer["api_key"])
        customer.expected_entries.append((TRIAL_CREDITS, "trial_grant", "trial:signup"))
        self.customers.append(customer)

    @rule(who=st.integers(0, 1), token=st.sampled_from((*VALID_CARDS, FAILING_CARD)))
    def add_card(self, who: int, token: str) -> None:
        customer = self.choose(who)
        response = self.request(
            "POST", "/api/v1/billing/payment-methods", customer, {"payment_method": token}
        )
        assert response.status_code == 201, response.text
        customer.cards[response.json()["payment_method"]["id"]] = token
        if not customer.card_bonus_granted:
            customer.card_bonus_granted = True
            customer.balance += CARD_BONUS_CREDITS
            customer.expected_entries.append((CARD_BONUS_CREDITS, "card_bonus", "card_bonus:first"))
        if customer.plan == "trial":
            customer.plan = "payg"

    @rule(who=st.integers(0, 1), pick=st.integers(0, 5))
    def remove_card(self, who: int, pick: int) -> None:
        customer = self.choose(who)
        if not customer.cards:
            response = self.request("DELETE", "/api/v1/billing/payment-methods/pm_none", customer)
            assert response.status_code == 404, response.text
            return
        card_id = sorted(customer.cards)[pick % len(customer.cards)]
        response = self.request("DELETE", f"/api/v1/billing/payment-methods/{card_id}", customer)
        assert response.status_code == 204, response.text
        del customer.cards[card_id]

    @rule(who=st.integers(0, 1), repeat=st.booleans(), pick=st.integers(0, 20))
    def deploy_fix(self, who: int, repeat: bool, pick: int) -> None:
        customer = self.choose(who)
        self.deploy(customer, [self.fix_id_for(customer, repeat, pick)])

    @rule(
        who=st.integers(0, 1),
        repeat=st.booleans(),
        pick=st.integers(0, 20),
        times=st.integers(2, 3),
    )
    def deploy_fix_concurrently(self, who: int, repeat: bool, pick: int, times: int) -> None:
        customer = self.choose(who)
        self.deploy(customer, [self.fix_id_for(customer, repeat, pick)], times=times)

    @rule(who=st.integers(0, 1), beyond=st.integers(1, 2))
    def use_up_credits(self, who: int, beyond: int) -> None:
        """New fixes until no credit is left, then `beyond` more (charged or refused)."""
        customer = self.choose(who)
        count = max(0, customer.balance) + beyond
        self.deploy(customer, [self.fix_id_for(customer, False, 0) for _ in range(count)])

    @rule(who=st.integers(0, 1), times=st.integers(1, 3))
    def subscribe(self, who: int, times: int) -> None:
        customer = self.choose(who)
        already = bool(self.live_subscriptions(customer))
        token = self.default_token(customer)
        body = {"plan": "pro"}
        path = "/api/v1/billing/subscription"
        if times == 1:
            answers = [self.request("POST", path, customer, body)]
        else:
            answers = self.at_once(times, "POST", path, customer, body)
        statuses = sorted(answer.status_code for answer in answers)
        seen(f"subscribe x{times}: {sorted(set(statuses))}")
        if already:
            assert set(statuses) == {409}, statuses
        elif token is None:
            assert set(statuses) == {402}, statuses
        elif token == FAILING_CARD:
            assert set(statuses) == {402}, [answer.text for answer in answers]
        else:
            assert 201 in statuses and set(statuses) <= {201, 409}, statuses
            customer.plan = "pro"

    @rule(who=st.integers(0, 1), at_period_end=st.booleans())
    def cancel(self, who: int, at_period_end: bool) -> None:
        customer = self.choose(who)
        live = self.live_subscriptions(customer)
        response = self.request(
            "DELETE", "/api/v1/billing/subscription", customer, {"at_period_end": at_period_end}
        )
        seen(f"cancel: {response.status_code}")
        if not live:
            assert response.status_code == 404, response.text
            return
        assert response.status_code == 200, response.text

    # A month (so that renewals, dunning and expiry happen) half the time.
    @rule(days=st.one_of(st.sampled_from((31, 32, 35)), st.integers(1, 35)))
    def advance_clock(self, days: int) -> None:
        self.live.advance(days=days)

    @rule(count=st.integers(2, 6))
    def redeliver_recent_webhooks(self, count: int) -> None:
        """The last `count` events again, newest first, each twice."""
        self.settle_webhooks()
        secret = self.live.services.webhook_secret()
        assert secret
        key = self.live.services.settings.stripe_api_key
        with httpx.Client(
            base_url=self.emulator.base_url, headers={"Authorization": f"Bearer {key}"}
        ) as stripe_http:
            listed = stripe_http.get("/v1/events", params={"limit": count})
            assert listed.status_code == 200, listed.text
            # Newest first: the reverse of the order they happened in.
            payloads = [
                stripe_http.get(f"/v1/events/{event['id']}").content
                for event in listed.json()["data"]
            ]
        for payload in payloads:
            for _ in range(2):
                answer = self.live.http.post(
                    "/webhooks/stripe", content=payload, headers=signed_headers(payload, secret)
                )
                self.statuses.append(("POST /webhooks/stripe", answer.status_code))
                assert answer.status_code == 200, answer.text

    @rule(on=st.booleans(), seed=st.integers(0, 1000))
    def webhook_delivery_faults(self, on: bool, seed: int) -> None:
        if on:
            self.dispatcher.set_faults(duplicate_rate=0.5, reorder_rate=0.5, seed=seed)
        else:
            self.dispatcher.clear_faults()

    # -- the model's side of a fix -------------------------------------------------------

    def fix_id_for(self, customer: CustomerModel, repeat: bool, pick: int) -> str:
        tried = sorted(customer.tried_fixes)
        if repeat and tried:
            return tried[pick % len(tried)]
        return f"fix-{next(customer.fix_numbers)}"

    def deploy(self, customer: CustomerModel, fix_ids: list[str], times: int = 1) -> None:
        """Deploy each fix (`times` threads at once) and check each answer against the
        decision of the pure rule for the model's state just before it."""
        self.settle_webhooks()
        self.refresh_plan(customer)
        self.check_customer(customer)  # the model's balance is the system's, now
        suspended = bool(self.summary(customer)["suspended"])
        token = self.default_token(customer)
        for fix_id in fix_ids:
            self.deploy_one(customer, fix_id, times, suspended=suspended, token=token)

    def deploy_one(
        self,
        customer: CustomerModel,
        fix_id: str,
        times: int,
        *,
        suspended: bool,
        token: str | None,
    ) -> None:
        decision = price_of_next_fix(
            balance=customer.balance,
            plan=PLANS[customer.plan],
            has_payment_method=bool(customer.cards),
            suspended=suspended,
        )
        customer.tried_fixes.add(fix_id)
        body = {"fix_id": fix_id, "repo": "acme/api", "pr_number": 7}
        path = "/api/v1/usage/fix-deployed"
        if times == 1:
            answers = [self.request("POST", path, customer, body)]
        else:
            answers = self.at_once(times, "POST", path, customer, body)
        statuses = sorted(answer.status_code for answer in answers)
        texts = [answer.text for answer in answers]
        if fix_id in customer.recorded_fixes:
            seen("fix: replayed")
            assert set(statuses) == {200}, texts
            for answer in answers:
                assert answer.json()["amount_cents"] == customer.recorded_fixes[fix_id]
            return
        declined = decision.action is FixAction.CHARGE and token == FAILING_CARD
        seen(f"fix: {'declined' if declined else decision.action.value} on {customer.plan}")
        if decision.action is FixAction.REFUSE or declined:
            assert set(statuses) == {402}, (decision, token, texts)
            return
        assert statuses == [200] * (times - 1) + [201], (decision, texts)
        results = [answer.json() for answer in answers]
        assert all(result == results[0] for result in results), results
        result = results[0]
        if decision.action is FixAction.CONSUME_CREDIT:
            assert result["charged"] is False, result
            customer.balance -= 1
            customer.recorded_fixes[fix_id] = 0
            customer.expected_entries.append((-1, "fix_consumed", f"fix:{fix_id}"))
            return
        assert result["charged"] is True, result
        assert result["amount_cents"] == decision.amount_cents, (decision, result)
        customer.recorded_fixes[fix_id] = decision.amount_cents
        customer.expected_entries += [
            (1, "credit_purchase", f"payment:{result['payment_intent']}"),
            (-1, "fix_consumed", f"fix:{fix_id}"),
        ]

    def refresh_plan(self, customer: CustomerModel) -> None:
        """Pro while Stripe has a live subscription; when it ends, pay as you go with a card
        (else trial)."""
        if self.live_subscriptions(customer):
            customer.plan = "pro"
        elif customer.plan == "pro":
            customer.plan = "payg" if customer.cards else "trial"

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def books_balance(self) -> None:
        self.settle_webhooks()
        assert all(status < 500 for _, status in self.statuses), self.statuses
        [[(pending,)]] = self.database.rows(
            select(func.count())
            .select_from(stripe_intents)
            .where(stripe_intents.c.status == "pending")
        )
        assert pending == 0, "a stripe intent was left pending"
        for customer in self.customers:
            self.refresh_plan(customer)
            self.check_customer(customer)

    def check_customer(self, customer: CustomerModel) -> None:
        # Reading the credits expires a lapsed subscription's grants, as any read would.
        credits = self.request("GET", "/api/v1/billing/credits?limit=1", customer)
        assert credits.status_code == 200, credits.text
        self.check_ledger(customer)
        self.check_charges(customer)
        self.check_subscriptions(customer)

    def check_ledger(self, customer: CustomerModel) -> None:
        balance_rows, entries = self.database.rows(
            select(customers.c.credit_balance, customers.c.plan).where(
                customers.c.id == customer.customer_id
            ),
            select(credit_ledger)
            .where(credit_ledger.c.customer_id == customer.customer_id)
            .order_by(credit_ledger.c.id),
        )
        balance, plan = balance_rows[0]
        running = 0
        for entry in entries:
            running += entry.amount
            assert running >= 0, entries
            assert entry.balance_after == running, entries
        assert balance == running, (balance, entries)
        assert plan == customer.plan, (plan, customer.plan)

        new = [entry for entry in entries if entry.id > customer.ledger_seen_up_to]
        from_steps = [
            (e.amount, e.kind, e.reference) for e in new if e.kind not in SUBSCRIPTION_KINDS
        ]
        assert from_steps == customer.expected_entries, (from_steps, customer.expected_entries)
        customer.expected_entries = []
        references = {entry.reference for entry in entries}
        for entry in new:
            if entry.kind == "period_grant":
                assert entry.amount == PLANS["pro"].credits_per_period, entry
            elif entry.kind == "grant_expired":
                assert entry.amount <= 0, entry
                assert entry.reference.removeprefix("expire:") in references, entry
            if entry.kind in SUBSCRIPTION_KINDS:
                customer.balance += entry.amount
        if new:
            customer.ledger_seen_up_to = new[-1].id
        assert balance == customer.balance, (balance, customer.balance, entries)

        grants = {e.reference.removeprefix("grant:") for e in entries if e.kind == "period_grant"}
        stripe_id = self.stripe_customer(customer)
        paid: set[str] = set()
        if stripe_id:
            invoices = self.live.stripe.v1.invoices.list(
                params={"customer": stripe_id, "limit": 100}
            ).data
            paid = {invoice.id for invoice in invoices if invoice.status == "paid"}
        assert grants == paid, (grants, paid)

    def check_charges(self, customer: CustomerModel) -> None:
        fix_payments, charged_fixes = self.database.rows(
            select(payments.c.id, payments.c.amount, payments.c.purpose).where(
                payments.c.customer_id == customer.customer_id
            ),
            select(fixes.c.fix_id, fixes.c.amount_cents, fixes.c.payment_id).where(
                fixes.c.customer_id == customer.customer_id, fixes.c.action == "charge"
            ),
        )
        recorded = {(row.id, row.amount, row.purpose.removeprefix("fix:")) for row in fix_payments}
        charged = {(row.payment_id, row.amount_cents, row.fix_id) for row in charged_fixes}
        at_stripe: set[tuple[str, int, str]] = set()
        stripe_id = self.stripe_customer(customer)
        if stripe_id:
            intents = self.live.stripe.v1.payment_intents.list(
                params={"customer": stripe_id, "limit": 100}
            ).data
            for intent in (intent.to_dict() for intent in intents):
                fix_id = (intent.get("metadata") or {}).get("fix_id")
                if intent["status"] == "succeeded" and fix_id:
                    at_stripe.add((intent["id"], intent["amount"], fix_id))
        assert at_stripe == recorded == charged, (at_stripe, recorded, charged)
        assert {(fix_id, cents) for _, cents, fix_id in charged} == set(
            customer.charged_fixes.items()
        ), (charged, customer.charged_fixes)

    def check_subscriptions(self, customer: CustomerModel) -> None:
        live = self.live_subscriptions(customer)
        assert len(live) <= 1, [(sub.id, sub.status) for sub in live]
        for sub in live:
            seen(f"live subscription: {sub.status}")
        stripe_id = self.stripe_customer(customer)
        if not stripe_id:
            return
        at_stripe = self.live.stripe.v1.customers.retrieve(stripe_id).to_dict()
        settings_ = at_stripe.get("invoice_settings") or {}
        stripe_default = settings_.get("default_payment_method")
        response = self.request("GET", "/api/v1/billing/payment-methods", customer)
        ours = [card["id"] for card in response.json()["data"] if card["default"]]
        assert sorted(card["id"] for card in response.json()["data"]) == sorted(customer.cards)
        assert ours == ([stripe_default] if stripe_default else []), (ours, stripe_default)


def test_billing_state_machine(emulator: Any, migrated_database: str) -> None:
    BillingStateMachine.emulator = emulator
    BillingStateMachine.migrated_database = migrated_database
    SEEN.clear()
    run_state_machine_as_test(
        BillingStateMachine,
        settings=settings(
            max_examples=int(os.environ.get("RSOLV_STATEFUL_EXAMPLES", "20")),
            stateful_step_count=int(os.environ.get("RSOLV_STATEFUL_STEPS", "20")),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(*sorted(SEEN.items()), sep="\n")


def test_a_failed_renewal_keeps_the_books(emulator: Any, migrated_database: str) -> None:
    """One walk the random examples reach only now and then, every time: Pro, a card that
    fails, a renewal into dunning, suspension after the grace period, then the end of
    dunning; the same checks after each step."""
    BillingStateMachine.emulator = emulator
    BillingStateMachine.migrated_database = migrated_database
    machine = BillingStateMachine()
    try:
        machine.first_signup("pm_card_visa", pro=True)
        machine.books_balance()
        machine.add_card(0, FAILING_CARD)
        machine.books_balance()
        for days, action in ((32, "past_due"), (9, "suspended"), (10, "canceled")):
            machine.advance_clock(days)
            machine.books_balance()
            machine.deploy_fix(0, repeat=False, pick=0)
            machine.books_balance()
            statuses = [sub.status for sub in machine.stripe_subscriptions(machine.customers[0])]
            summary = machine.summary(machine.customers[0])
            if action == "suspended":
                assert summary["suspended"] is True, summary
            else:
                assert statuses == [action], statuses
    finally:
        machine.teardown()

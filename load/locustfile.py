"""Locust scenarios of the billing system: signup burst, steady customers, webhook storm, abuse.

    .venv/bin/python -m locust -f load/locustfile.py --host http://127.0.0.1:8000 \
        --headless --users 20 --spawn-rate 10 --run-time 30s

or, with the embedded stack, thresholds and reports: `rsolv-billing load --duration 30`.

The customers are the staging simulator's: people from its population and each living its
journey from the behaviour model (`load/locust_people.py`), so what staging simulates is
what the load test runs. Every answer is checked; a check that fails is a Locust failure
whose message starts with "5xx" for server errors, "check" otherwise. When the run ends,
the master (or the single process) writes the figures per scenario and the verdicts of the
thresholds (provisioning p99 under 5 s, no 5xx, no failed check) to `--load-summary` and
exits non-zero if one fails (`load/locust_summary.py`).
"""

from __future__ import annotations

import itertools
import json
import random
import sys
import time
import uuid
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

# `locust -f load/locustfile.py` puts load/ on the path; the project's packages are above it
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from locust import HttpUser, between, constant_pacing, events, task
from locust.runners import WorkerRunner

from load.locust_people import Candidate, PersonSource
from load.locust_summary import SERVER_ERROR, Entry, summarize
from simulator.staging.actions import (
    Applicant,
    apply_answer,
    apply_unsent,
    request_count,
    request_for,
)
from simulator.staging.behaviour import CARD_TOKENS, Action, Card, CustomerView, Kind
from simulator.staging.profile import load as load_profile
from simulator.stripe_emulator.signing import sign

ONBOARD = "/api/v1/customers/onboard"


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    group = parser.add_argument_group("rsolv-billing load")
    group.add_argument(
        "--load-seed",
        type=int,
        default=1,
        env_var="LOAD_SEED",
        help="seed of the people and their journeys",
    )
    group.add_argument(
        "--load-profile",
        default="default",
        env_var="LOAD_PROFILE",
        help="behaviour profile: default, beta, launch or a TOML path",
    )
    group.add_argument(
        "--load-pace",
        type=float,
        default=0.0,
        env_var="LOAD_PACE",
        help="seconds per iteration of each user (constant pacing); "
        "0: the scenarios' own think times",
    )
    group.add_argument(
        "--load-webhook-secret",
        default="",
        env_var="LOAD_WEBHOOK_SECRET",
        help="the system's STRIPE_WEBHOOK_SECRET (the webhook storm signs "
        "with it; without it the storm is skipped)",
    )
    group.add_argument(
        "--load-stripe-api-base",
        default="",
        env_var="LOAD_STRIPE_API_BASE",
        help="the emulator the system talks to: the storm redelivers its events",
    )
    group.add_argument(
        "--load-stripe-api-key", default="sk_test_rsolv_load", env_var="LOAD_STRIPE_API_KEY"
    )
    group.add_argument(
        "--load-signup-rate-limit",
        type=int,
        default=0,
        env_var="LOAD_SIGNUP_RATE_LIMIT",
        help="the system's SIGNUP_RATE_LIMIT times its worker processes; "
        "abuse then expects 429s past it (0: unknown)",
    )
    group.add_argument(
        "--load-budget-ms",
        type=float,
        default=5000.0,
        env_var="LOAD_BUDGET_MS",
        help="provisioning p99 budget",
    )
    group.add_argument(
        "--load-summary",
        default="",
        env_var="LOAD_SUMMARY",
        help="where to write the figures and verdicts (JSON)",
    )


def _options(user: HttpUser) -> Any:
    return user.environment.parsed_options


# -- people ------------------------------------------------------------------------------

_source: PersonSource | None = None


def people(user: HttpUser) -> PersonSource:
    global _source
    if _source is None:
        options = _options(user)
        seed = options.load_seed if options else 1
        profile = load_profile(options.load_profile if options else None)
        runner = user.environment.runner
        worker = getattr(runner, "worker_index", 0) if isinstance(runner, WorkerRunner) else 0
        # each worker of a distributed run lives different journeys of the same run seed
        _source = PersonSource(profile, seed + 1_000 * worker)
    return _source


_addresses = itertools.count(1)


def client_address() -> str:
    """A distinct client address for each signup (RFC 2544's benchmarking range): the
    system's per-address rate limit is for abusers, not for a crowd of new customers."""
    n = next(_addresses) + random.randrange(1 << 16) * 4096
    return f"198.{18 + (n >> 16) % 2}.{(n >> 8) & 255}.{n & 255}"


# -- checked requests ----------------------------------------------------------------------


def call(
    user: HttpUser, method: str, path: str, name: str, expected: AbstractSet[int], **kw: Any
) -> tuple[int, Any]:
    """One request, its answer checked against `expected`; (status, JSON body or None)."""
    with user.client.request(method, path, name=name, catch_response=True, **kw) as answer:
        status = answer.status_code
        body: Any = None
        if status >= 500:
            answer.failure(f"{SERVER_ERROR}: {name} answered {status}")
        elif status == 0:
            answer.failure(f"check: {name} got no answer ({type(answer.error).__name__})")
        elif status not in expected:
            answer.failure(f"check: {name} answered {status}, expected {sorted(expected)}")
        else:
            try:
                body = answer.json() if answer.content else None
            except ValueError:
                answer.failure(f"check: {name} answered {status} without JSON")
            else:
                if status >= 400 and not answer.headers.get("content-type", "").startswith(
                    "application/problem+json"
                ):
                    answer.failure(f"check: {name} answered {status} without a problem document")
                else:
                    answer.success()
    return status, body


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def pacing(default: Any) -> Any:
    """The scenario's think time, or `--load-pace` seconds per iteration when given."""

    def wait(user: HttpUser) -> float:
        pace = getattr(_options(user), "load_pace", 0.0) or 0.0
        if pace:
            if not hasattr(user, "_pacer"):
                user._pacer = constant_pacing(pace)  # type: ignore[attr-defined]
            return float(user._pacer(user))  # type: ignore[attr-defined]
        return float(default(user))

    return wait


def onboard(user: HttpUser, scenario: str, candidate: Candidate) -> tuple[int, Any]:
    status, body = call(
        user,
        "POST",
        ONBOARD,
        f"{scenario}: onboard",
        {candidate.expected_status()},
        json=candidate.body(),
        headers={"X-Forwarded-For": client_address()},
    )
    people(user).answered(candidate, status)
    return status, body


# -- scenarios -----------------------------------------------------------------------------


class SignupBurst(HttpUser):
    """New customers onboarding, each then calling /api/v1/me with its new key."""

    weight = 3
    wait_time = pacing(between(0.2, 1.0))

    @task
    def sign_up(self) -> None:
        candidate = people(self).next()
        status, body = onboard(self, "signup", candidate)
        if status != 201 or not body:
            return
        _, me = call(
            self, "GET", "/api/v1/me", "signup: me", {200}, headers=bearer(body["api_key"])
        )
        if me and me.get("id") != body["customer"]["id"]:
            self.environment.events.request.fire(
                request_type="CHECK",
                name="signup: me",
                response_time=0,
                response_length=0,
                exception=AssertionError("check: /me is not the customer just made"),
            )


class SteadyCustomer(HttpUser):
    """A customer living its journey a week per iteration: fixes deployed, credits and
    invoices read, cards added, plans changed; a customer who leaves is replaced."""

    weight = 6
    wait_time = pacing(between(0.5, 2.0))

    def on_start(self) -> None:
        self.begin()

    def begin(self) -> None:
        self.candidate = people(self).next_accepted()
        self.journey = self.candidate.person.journey
        self.view = CustomerView()
        self.week = self.journey.arrival_week
        self.key: str | None = None
        self.org = self.candidate.person.github_org

    @task
    def live_a_week(self) -> None:
        if self.view.gone or self.view.rejected:
            self.begin()
        for action in self.journey.next_actions(self.view, self.week):
            self.act(action)
            if self.view.rejected:
                return
        if self.key:
            headers = bearer(self.key)
            call(self, "GET", "/api/v1/billing/credits", "steady: credits", {200}, headers=headers)
            call(
                self, "GET", "/api/v1/billing/invoices", "steady: invoices", {200}, headers=headers
            )
        self.week += 1

    def act(self, action: Action) -> None:
        """`action` through the journey-action table, every answer checked."""
        view, week = self.view, self.week
        if not request_count(action):
            apply_unsent(action, view, week)
            return
        candidate = self.candidate
        applicant = Applicant(candidate.body(), frozenset({candidate.expected_status()}), self.org)
        for index in range(request_count(action)):
            planned = request_for(action, view, week, applicant, index)
            if planned.authenticated:
                assert self.key is not None
                headers = {**planned.headers, **bearer(self.key)}
            else:
                headers = {**planned.headers, "X-Forwarded-For": client_address()}
            status, body = call(
                self,
                planned.method,
                planned.path,
                f"steady: {planned.name}",
                planned.expected_statuses,
                json=planned.json,
                params=planned.params,
                headers=headers,
            )
            if action.kind is Kind.SIGNUP:
                people(self).answered(candidate, status)
            outcome = apply_answer(action, view, week, status, body, index)
            if outcome.api_key:
                self.key = outcome.api_key


class WebhookStorm(HttpUser):
    """Stripe delivering events, with duplicates: the emulator's real events redelivered
    (the same event again: a duplicate; the same object under a new event id: applied
    again), and events that need no action, all signed with the system's secret."""

    weight = 1
    wait_time = pacing(between(0.1, 0.5))

    def on_start(self) -> None:
        options = _options(self)
        self.secret = options.load_webhook_secret if options else ""
        self.stripe_base = (options.load_stripe_api_base if options else "").rstrip("/")
        self.stripe_key = options.load_stripe_api_key if options else ""
        self.events: list[dict[str, Any]] = []
        self.fetched_at = 0.0
        self.sent: list[bytes] = []

    def refresh(self) -> None:
        """The emulator's latest events (not part of the figures: it is not the system)."""
        if not self.stripe_base or time.monotonic() - self.fetched_at < 5:
            return
        self.fetched_at = time.monotonic()
        import requests

        try:
            answer = requests.get(
                f"{self.stripe_base}/v1/events",
                params={"limit": 100},
                headers={"Authorization": f"Bearer {self.stripe_key}"},
                timeout=10,
            )
            if answer.ok:
                self.events = answer.json().get("data", [])
        except requests.RequestException:
            pass

    def post(self, payload: bytes, name: str, expected: set[int], secret: str | None = None) -> Any:
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": sign(payload, secret or self.secret),
        }
        return call(self, "POST", "/webhooks/stripe", name, expected, data=payload, headers=headers)

    @task
    def deliver(self) -> None:
        if not self.secret:
            return
        self.refresh()
        roll = random.random()
        if self.sent and roll < 0.3:
            status, body = self.post(random.choice(self.sent), "webhooks: duplicate", {200})
            if status == 200 and body and body.get("duplicate") is not True:
                self.environment.events.request.fire(
                    request_type="CHECK",
                    name="webhooks: duplicate",
                    response_time=0,
                    response_length=0,
                    exception=AssertionError("check: a duplicate event was applied again"),
                )
            return
        if self.events and roll < 0.8:
            event = dict(random.choice(self.events))
            event["id"] = f"evt_load_{uuid.uuid4().hex[:20]}"  # the same object, a new event
            name = "webhooks: redelivered"
        else:
            event = {
                "id": f"evt_load_{uuid.uuid4().hex[:20]}",
                "object": "event",
                "type": "payment_intent.created",
                "created": int(time.time()),
                "data": {"object": {"id": f"pi_load_{uuid.uuid4().hex[:12]}"}},
            }
            name = "webhooks: no action"
        payload = json.dumps(event).encode()
        status, _ = self.post(payload, name, {200})
        if status == 200:
            self.sent = [*self.sent[-49:], payload]


class FixBurst(HttpUser):
    """For the figures (`load/locust_sweep.py`), not in the default mix: a customer from
    the population with a valid card of the behaviour model's, deploying one fix per
    iteration (its credits first, then each fix charged at Stripe)."""

    weight = 1
    wait_time = pacing(between(0.2, 1.0))

    def on_start(self) -> None:
        self.key: str | None = None
        self.fixes = 0
        candidate = people(self).next_accepted()
        status, body = onboard(self, "fixes", candidate)
        if status != 201 or not body:
            return
        token = CARD_TOKENS[Card.VALID][candidate.person.index % len(CARD_TOKENS[Card.VALID])]
        status, _ = call(
            self,
            "POST",
            "/api/v1/billing/payment-methods",
            "fixes: add card",
            {201},
            json={"payment_method": token},
            headers=bearer(body["api_key"]),
        )
        if status == 201:
            self.key = body["api_key"]
            self.org = candidate.person.github_org

    @task
    def deploy(self) -> None:
        if self.key is None:
            return
        self.fixes += 1
        call(
            self,
            "POST",
            "/api/v1/usage/fix-deployed",
            "fixes: fix-deployed",
            {201},
            json={"fix_id": f"f{self.fixes}", "repo": f"{self.org}/app", "pr_number": self.fixes},
            headers=bearer(self.key),
        )


class Abuse(HttpUser):
    """Signups from one address past the rate limit, bad keys, malformed bodies, forged
    webhooks: every answer must be the right 4xx, never a 5xx."""

    weight = 1
    wait_time = pacing(between(0.5, 1.5))

    def on_start(self) -> None:
        options = _options(self)
        self.limit = options.load_signup_rate_limit if options else 0
        self.key: str | None = None

    @task(1)
    def signup_flood(self) -> None:
        """One address, a burst of signups: 201 until the limit, 429 past it."""
        address = client_address()
        burst = self.limit + 2 if self.limit else 5
        refused = 0
        for _ in range(burst):
            candidate = people(self).next_accepted()
            status, _ = call(
                self,
                "POST",
                ONBOARD,
                "abuse: onboard",
                {201, 429},
                json=candidate.body(),
                headers={"X-Forwarded-For": address},
            )
            people(self).answered(candidate, status)
            refused += status == 429
        if self.limit and not refused:
            self.environment.events.request.fire(
                request_type="CHECK",
                name="abuse: onboard",
                response_time=0,
                response_length=0,
                exception=AssertionError(
                    f"check: {burst} signups from one address, none refused with 429"
                ),
            )

    @task(4)
    def bad_requests(self) -> None:
        if self.key is None:
            candidate = people(self).next_accepted()
            status, body = onboard(self, "abuse", candidate)
            if status != 201 or not body:
                return
            self.key = body["api_key"]
        key = self.key
        fake = "rsolv_test_" + uuid.uuid4().hex
        call(self, "GET", "/api/v1/me", "abuse: bad key", {401}, headers=bearer(fake))
        call(self, "GET", "/api/v1/me", "abuse: no key", {401})
        call(
            self,
            "POST",
            "/api/v1/usage/fix-deployed",
            "abuse: fix with bad key",
            {401},
            json={"fix_id": "x", "repo": "a/b", "pr_number": 1},
            headers={"X-Api-Key": fake},
        )
        malformed = {"Content-Type": "application/json", "X-Forwarded-For": client_address()}
        call(
            self,
            "POST",
            ONBOARD,
            "abuse: malformed json",
            {400},
            data=b'{"email": ',
            headers=malformed,
        )
        call(
            self,
            "POST",
            ONBOARD,
            "abuse: invalid fields",
            {422},
            json={"email": "not an address", "name": ""},
            headers={"X-Forwarded-For": client_address()},
        )
        call(
            self,
            "POST",
            ONBOARD,
            "abuse: oversized body",
            {413},
            data=b'{"email": "' + b"a" * 70_000 + b'"}',
            headers=malformed,
        )
        call(
            self,
            "POST",
            "/api/v1/usage/fix-deployed",
            "abuse: malformed fix",
            {400, 422},
            json={"fix_id": "", "repo": "no slash", "pr_number": -1, "extra": True},
            headers=bearer(key),
        )
        call(
            self,
            "POST",
            "/api/v1/billing/subscription",
            "abuse: unknown plan",
            {400, 404, 422},
            json={"plan": "platinum-" + "x" * 50},
            headers=bearer(key),
        )
        forged = json.dumps({"id": "evt_forged", "type": "invoice.paid"}).encode()
        call(
            self,
            "POST",
            "/webhooks/stripe",
            "abuse: forged webhook",
            {400},
            data=forged,
            headers={"Stripe-Signature": sign(forged, "whsec_not_the_secret")},
        )
        call(self, "POST", "/webhooks/stripe", "abuse: unsigned webhook", {400}, data=forged)


# -- the end of a run: figures and thresholds ----------------------------------------------


@events.quitting.add_listener
def _thresholds(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return  # the master judges the merged figures
    stats = environment.stats
    options = environment.parsed_options
    total = stats.total
    last = total.last_request_timestamp or total.start_time
    seconds = max(last - total.start_time, 1e-9)
    entries = [
        Entry(
            e.name,
            e.method or "",
            e.num_requests,
            e.num_failures,
            dict(e.response_times),
            float(e.total_response_time),
        )
        for e in stats.entries.values()
        if e.method != "CHECK"
    ]
    errors: dict[str, int] = {}
    for error in stats.errors.values():
        message = str(error.error)
        for prefix in ("AssertionError(", "CatchResponseError("):
            if message.startswith(prefix):
                message = message[len(prefix) :].strip("')\"")
        errors[message] = errors.get(message, 0) + error.occurrences
    budget = options.load_budget_ms if options else 5000.0
    summary = summarize(entries, errors, seconds, budget)
    if options and options.load_summary:
        Path(options.load_summary).write_text(json.dumps(summary.as_dict(), indent=2))
    environment.process_exit_code = 0 if summary.passed else 1

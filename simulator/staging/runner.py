"""Run a population through months of billing against the system's public HTTP API.

Each simulated week: every customer who has something to do acts (its actions from the
behaviour model, in order, over HTTP, many customers at once within a bound); then time
moves a week on the Stripe emulator's test clock and the system's clock, and the run
waits until the emulator has delivered every webhook the week set off. Each action's
answer is compared at once with what the independent billing model (`expected.py`)
says it should be; the reconciliation at the end compares the final books.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from simulator.staging.actions import (
    Applicant,
    PlannedRequest,
    apply_answer,
    apply_unsent,
    request_count,
    request_for,
    signup_status,
)
from simulator.staging.behaviour import Action, Kind
from simulator.staging.chaos import ATTEMPTS_UNDER_CHAOS, Chaos
from simulator.staging.checks import check_answer, check_leaving, log_action
from simulator.staging.http import Answer, CustomerClient
from simulator.staging.population import EmailKind, make_population
from simulator.staging.reconcile import reconcile
from simulator.staging.results import Lived, RunConfig, RunResult, WeekFigures
from simulator.staging.stack import Stack, embedded

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


ProgressHook = Callable[[str, int, int], None]


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class Simulation:
    def __init__(self, config: RunConfig, progress: ProgressHook | None = None) -> None:
        self.config = config
        self.progress = progress or (lambda stage, done, total: None)
        self.requests = 0  # sent to the system, retries included
        self.chaos: Chaos | None = None  # the fault drills, with --chaos

    # -- one customer's actions ------------------------------------------------------------

    async def act(self, http: CustomerClient, who: Lived, action: Action, week: int) -> None:
        """`action` of `who` in `week`: its requests from the journey-action table, each
        answer applied to the customer's view and held against the billing model."""
        if not request_count(action):
            apply_unsent(action, who.view, week)
            check_leaving(who, week)
            return
        at = _epoch(START + week * WEEK)
        person = who.person
        applicant = Applicant(
            person.signup_body(),
            frozenset({signup_status(person)}),
            person.github_org,
            signup_idempotency_key=f"staging-{self.config.seed}-{person.index}",
        )
        status = 0
        for index in range(request_count(action)):
            planned = request_for(action, who.view, week, applicant, index)
            answer = await self._send(http, who, planned, action.kind)
            status = answer.status_code
            body = answer.json() if status == planned.success_status else None
            outcome = apply_answer(action, who.view, week, status, body, index)
            check_answer(who, action, week, at, planned, answer, body, outcome)
        log_action(who, action, week, status)

    async def _send(
        self, http: CustomerClient, who: Lived, planned: PlannedRequest, kind: Kind
    ) -> Answer:
        """The planned request; under --chaos sometimes clicked twice at once (no shared
        Idempotency-Key), the answer that did what was asked being the one the customer
        reads."""

        def send() -> Awaitable[Answer]:
            return http.request(
                planned.method,
                planned.path,
                api_key=who.api_key if planned.authenticated else None,
                json=planned.json,
                params=planned.params,
                headers=planned.headers,
            )

        if self.chaos is None or not self.chaos.double_click(kind):
            return await self._as_done(http, who, planned, kind, await send())
        clicks = await asyncio.gather(send(), send())
        answers = [await self._as_done(http, who, planned, kind, a) for a in clicks]
        done = [a for a in answers if a.status_code == planned.success_status]
        return done[0] if done else answers[0]

    async def _as_done(
        self, http: CustomerClient, who: Lived, planned: PlannedRequest, kind: Kind, answer: Answer
    ) -> Answer:
        """A retry whose first attempt lost its answer (the system killed mid-request) may
        meet what that attempt did: the fix replayed (200), or the subscription it made
        (409). For the customer that is the request done, as a careful client reads it."""
        if not answer.after_lost_answer:
            return answer
        if kind is Kind.DEPLOY_FIXES and answer.status_code == 200:
            return replace(answer, status_code=planned.success_status)
        if kind is Kind.SUBSCRIBE and answer.status_code == 409:
            summary = await http.request("GET", "/api/v1/billing/subscription", api_key=who.api_key)
            if summary.status_code == 200:
                return replace(summary, status_code=planned.success_status)
        return answer

    async def customer_week(self, http: CustomerClient, who: Lived, week: int) -> None:
        for action in who.person.journey.next_actions(who.view, week):
            await self.act(http, who, action, week)

    # -- the run ---------------------------------------------------------------------------

    async def run_weeks(self, stack: Stack, lived: list[Lived]) -> list[WeekFigures]:
        cfg = self.config
        steps = [_epoch(START + (w + 1) * WEEK) for w in range(cfg.weeks)]
        for who in lived:
            who.expected.steps = steps
        figures: list[WeekFigures] = []
        stripe = _stripe_client(stack)
        if cfg.chaos:
            self.chaos = Chaos(cfg.seed, stack, cfg.database_url)
        attempts = ATTEMPTS_UNDER_CHAOS if self.chaos else 5
        async with (
            CustomerClient(stack.system_url, cfg.concurrency, attempts=attempts) as http,
            httpx.AsyncClient(timeout=httpx.Timeout(60.0, pool=None)) as control,
        ):
            await self._configure_emulator(control, stack)
            originals = [w for w in lived if w.person.email_kind is not EmailKind.DUPLICATE]
            duplicates = [w for w in lived if w.person.email_kind is EmailKind.DUPLICATE]
            for week in range(cfg.weeks):
                started, before = time.perf_counter(), http.sent
                stack.set_system_time(START + week * WEEK)
                if self.chaos:
                    await self.chaos.begin_week(control)
                for group in (originals, duplicates):
                    await asyncio.gather(*(self.customer_week(http, w, week) for w in group))
                if self.chaos:
                    await self.chaos.end_week(control)
                acted = time.perf_counter()
                target = START + (week + 1) * WEEK
                stack.set_system_time(target)  # ours first: webhooks land at the new time
                await asyncio.to_thread(
                    stripe.v1.test_helpers.test_clocks.advance,
                    stack.test_clock,
                    params={"frozen_time": _epoch(target)},
                )
                if not await stack.wait_for_webhooks(control):
                    raise RuntimeError("webhooks were not delivered within two minutes")
                figures.append(self._week_figures(week, target, lived, started, http.sent - before))
                figures[-1].acting_seconds = acted - started
                self.progress("weeks", week + 1, cfg.weeks)
        self.requests += http.sent
        return figures

    async def reconcile(self, result: RunResult, system_url: str) -> None:
        """The reconciliation of the run's final books (its requests counted too)."""
        async with CustomerClient(system_url, self.config.concurrency) as http:
            await reconcile(result, http)
        self.requests += http.sent

    async def _configure_emulator(self, control: httpx.AsyncClient, stack: Stack) -> None:
        cfg = self.config
        base = stack.stripe_api_base
        # retries of failed deliveries: seconds, not hours (the test clock compresses time)
        await control.post(f"{base}/_emulator/webhooks/config", json={"time_scale": 0.001})
        if cfg.duplicate_webhooks or cfg.reorder_webhooks:
            await control.post(
                f"{base}/_emulator/webhooks/faults",
                json={
                    "duplicate_rate": cfg.duplicate_webhooks,
                    "reorder_rate": cfg.reorder_webhooks,
                    "seed": cfg.seed,
                },
            )

    def _week_figures(
        self, week: int, at: datetime, lived: list[Lived], started: float, requests: int
    ) -> WeekFigures:
        t = _epoch(at)
        mrr = pro = paying = credits = 0
        for who in lived:
            model = who.expected
            if not model.signed_up:
                continue
            model.run_until(t)
            credits += model.balance
            live = model.subscription_status in ("active", "past_due")
            if live:
                pro += 1
                mrr += 59_900
            if live or (model.card is not None and who.churned_week is None):
                paying += 1
        return WeekFigures(
            week + 1,
            at.isoformat(),
            mrr,
            credits,
            pro,
            paying,
            requests,
            time.perf_counter() - started,
        )


def _stripe_client(stack: Stack) -> Any:
    import stripe

    return stripe.StripeClient(
        stack.stripe_api_key,
        base_addresses={"api": stack.stripe_api_base},
        max_network_retries=2,
    )


@contextlib.contextmanager
def _declining_every_card(enabled: bool) -> Iterator[None]:
    """The in-process emulator declines every card, when attached and when charged."""
    if not enabled:
        yield
        return
    from simulator.stripe_emulator import cards

    saved = cards.decline_on_attach, cards.decline_on_charge
    cards.decline_on_attach = lambda pm: cards.GENERIC
    cards.decline_on_charge = lambda pm: cards.GENERIC
    try:
        yield
    finally:
        cards.decline_on_attach, cards.decline_on_charge = saved


def fetch_remote(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    """Every customer, charge, invoice and subscription of the run's account (SDK)."""
    client = _stripe_client(stack)
    v1 = client.v1
    out: dict[str, list[dict[str, Any]]] = {}
    listings: dict[str, tuple[Any, dict[str, Any]]] = {
        "customers": (v1.customers, {}),
        "charges": (v1.charges, {}),
        "invoices": (v1.invoices, {}),
        "subscriptions": (v1.subscriptions, {"status": "all"}),
    }
    for name, (service, params) in listings.items():
        page = service.list(params={"limit": 100, **params})
        out[name] = [o.to_dict() for o in page.auto_paging_iter()]
    return out


def simulate(config: RunConfig, progress: ProgressHook | None = None) -> RunResult:
    """Run the whole simulation; the result is what the report and reconciliation read."""
    wall = time.perf_counter()
    people = make_population(config.profile, config.customers, config.seed)
    lived = [Lived(p) for p in people]
    simulation = Simulation(config, progress)
    with contextlib.ExitStack() as scope:
        workdir = config.report_dir
        if workdir is None:
            workdir = Path(scope.enter_context(tempfile.TemporaryDirectory(prefix="staging-")))
        workdir.mkdir(parents=True, exist_ok=True)
        stack = scope.enter_context(
            embedded(
                workdir,
                start=START,
                seed=config.seed,
                # the drills kill the system: it runs as its own process
                workers=config.workers or (1 if config.chaos else 0),
                via_stripe_cli=config.via_stripe_cli,
                database_url=config.database_url,
                stripe_api_base=config.stripe_api_base,
                system_url=config.system_url,
            )
        )
        scope.enter_context(_declining_every_card(config.decline_all_cards))
        weeks = asyncio.run(simulation.run_weeks(stack, lived))
        end = START + config.weeks * WEEK
        if simulation.chaos:
            simulation.chaos.settle()
        result = RunResult(config, lived, weeks, dict(stack.notes), end)
        if simulation.chaos:
            result.faults = simulation.chaos.log.as_dict()
        result.remote = fetch_remote(stack)
        with httpx.Client(timeout=60) as control:
            answer = control.get(f"{stack.stripe_api_base}/_emulator/webhooks/attempts")
            result.webhook_attempts = answer.json().get("data", [])
        asyncio.run(simulation.reconcile(result, stack.system_url))
        result.requests = simulation.requests
    result.wall_seconds = time.perf_counter() - wall
    return result

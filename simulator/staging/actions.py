"""The journey-action table: how each action of the behaviour model becomes HTTP requests,
which answers each request may get, and how the customer's view changes from each answer.

Pure: no I/O. The staging simulator (aiohttp, `runner.py`) and the Locust steady customers
(`load/locustfile.py`) both plan their requests here and apply the answers here, so what
staging simulates is exactly what the load test runs; each client only sends:

    for index in range(request_count(action)):
        planned = request_for(action, view, week, applicant, index)
        status, body = send(planned)          # the customer's API key if authenticated
        outcome = apply_answer(action, view, week, status, body, index)

An action that sends nothing (LEAVE) goes through `apply_unsent` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator.staging.behaviour import Action, Card, CustomerView, Kind
from simulator.staging.population import EmailKind, Person
from system.billing.stripe_objects import LIVE_STATUSES


@dataclass(frozen=True)
class Route:
    """Where an action's requests go, and the status that means the system did it."""

    name: str  # for Locust's request names ("steady: <name>") and logs
    method: str
    path: str
    success_status: int


ROUTES: Mapping[Kind, Route] = {
    Kind.SIGNUP: Route("onboard", "POST", "/api/v1/customers/onboard", 201),
    Kind.DEPLOY_FIXES: Route("fix-deployed", "POST", "/api/v1/usage/fix-deployed", 201),
    Kind.ADD_CARD: Route("add card", "POST", "/api/v1/billing/payment-methods", 201),
    Kind.SUBSCRIBE: Route("subscribe", "POST", "/api/v1/billing/subscription", 201),
    Kind.CANCEL: Route("cancel", "DELETE", "/api/v1/billing/subscription", 200),
    Kind.CHECK_BILLING: Route("subscription", "GET", "/api/v1/billing/subscription", 200),
}


@dataclass(frozen=True)
class Applicant:
    """Who acts, as far as its requests say: its signup and its GitHub organisation."""

    signup_body: Mapping[str, str]
    signup_statuses: frozenset[int]  # what its signup may be answered
    github_org: str
    # Sent with the signup, so that a retry (after a lost answer, or a system killed
    # mid-request) replays the signup instead of meeting "customer exists".
    signup_idempotency_key: str | None = None


@dataclass(frozen=True)
class PlannedRequest:
    """One request to send, and the answers it may get given what the customer knows."""

    name: str
    method: str
    path: str
    json: dict[str, Any] | None
    params: dict[str, str] | None
    expected_statuses: frozenset[int]
    success_status: int
    authenticated: bool  # sent with the customer's API key (every request but the signup)
    headers: Mapping[str, str] = field(default_factory=dict)  # beyond the API key


@dataclass(frozen=True)
class Outcome:
    """What an answer meant, beyond the view it updated."""

    accepted: bool  # the system did what was asked (a check: it answered)
    stopped_paying: bool = False  # a cancel accepted, or the subscription seen no longer live
    api_key: str | None = None  # SIGNUP: the new customer's key
    customer_id: str | None = None  # SIGNUP: the new customer's id


# -- the answers each request may get, from what the customer knows ------------------------


def signup_status(person: Person, first_of_address: bool = False) -> int:
    """The answer a person's signup should get (`first_of_address`: a duplicate address
    whose earlier signup was not taken, so this one takes it)."""
    if person.signup_accepted or first_of_address:
        return 201
    return 409 if person.email_kind is EmailKind.DUPLICATE else 422


def fix_statuses(view: CustomerView) -> frozenset[int]:
    """Answers a `fix-deployed` may get, from what the customer knows of itself."""
    if view.credits > 0:
        return frozenset({201})
    if view.card is Card.VALID:
        return frozenset({201})
    return frozenset({201, 402})


def card_statuses(action: Action) -> frozenset[int]:
    return frozenset(
        {Card.VALID: {201}, Card.DECLINES: {402}, Card.FAILS: {201}}[action.card or Card.VALID]
    )


def subscribe_statuses(view: CustomerView) -> frozenset[int]:
    if view.card is Card.VALID and not view.subscribed:
        return frozenset({201})
    return frozenset({201, 402, 409})


# -- planning the requests -------------------------------------------------------------------


def request_count(action: Action) -> int:
    """How many requests the action sends: one per fix, none to leave, else one."""
    if action.kind is Kind.DEPLOY_FIXES:
        return action.count
    return 0 if action.kind is Kind.LEAVE else 1


def request_for(
    action: Action, view: CustomerView, week: int, applicant: Applicant, index: int = 0
) -> PlannedRequest:
    """The `index`-th request of `action` in `week` (0-based), given the customer's view."""
    kind = action.kind
    json: dict[str, Any] | None = None
    params: dict[str, str] | None = None
    if kind is Kind.SIGNUP:
        json, expected = dict(applicant.signup_body), applicant.signup_statuses
    elif kind is Kind.DEPLOY_FIXES:
        json = {
            "fix_id": f"w{week}-{index}",
            "repo": f"{applicant.github_org}/app",
            "pr_number": week * 100 + index + 1,
        }
        expected = fix_statuses(view)
    elif kind is Kind.ADD_CARD:
        json, expected = {"payment_method": action.token}, card_statuses(action)
    elif kind is Kind.SUBSCRIBE:
        json, expected = {"plan": action.plan or "pro"}, subscribe_statuses(view)
    elif kind is Kind.CANCEL:
        params = {"at_period_end": "true" if action.at_period_end else "false"}
        expected = frozenset({200, 404})
    elif kind is Kind.CHECK_BILLING:
        expected = frozenset({200})
    else:
        raise ValueError(f"{kind} sends no request")
    route = ROUTES[kind]
    return PlannedRequest(
        route.name,
        route.method,
        route.path,
        json,
        params,
        expected,
        route.success_status,
        authenticated=kind is not Kind.SIGNUP,
        headers=(
            {"Idempotency-Key": applicant.signup_idempotency_key}
            if kind is Kind.SIGNUP and applicant.signup_idempotency_key
            else {}
        ),
    )


# -- what the answers change -------------------------------------------------------------------


def apply_answer(
    action: Action, view: CustomerView, week: int, status: int, body: Any, index: int = 0
) -> Outcome:
    """Update `view` from the answer to the `index`-th request of `action`; `body` is the
    answer's JSON, or None when the client could not read it (or did not, being a refusal)."""
    kind = action.kind
    done = status == ROUTES[kind].success_status
    readable = done and body is not None
    if kind is Kind.SIGNUP:
        if not readable:
            view.observe(action, False, week)
            return Outcome(False)
        customer = body["customer"]
        view.observe(action, True, week, credits=customer["credit_balance"])
        return Outcome(True, api_key=body["api_key"], customer_id=customer["id"])
    if kind is Kind.DEPLOY_FIXES:
        if index == 0:
            view.refused = 0  # fixes refused in this batch
        if readable:
            view.credits = body["credit_balance"]
        else:
            view.refused += 1
        return Outcome(readable)
    if kind is Kind.ADD_CARD:
        facts: dict[str, Any] = {}
        if readable:
            facts["credits"] = body["credit_balance"]
            if action.card is Card.VALID:
                facts.update(past_due=False, refused=0)
        view.observe(action, readable, week, **facts)
        return Outcome(readable)
    if kind is Kind.SUBSCRIBE:
        view.observe(action, done, week)
        if readable:
            view.credits = body["credit_balance"]
        return Outcome(done)
    if kind is Kind.CANCEL:
        view.observe(action, done, week)
        return Outcome(done, stopped_paying=done)
    if kind is Kind.CHECK_BILLING:
        if not readable:
            return Outcome(False)
        subscription = body.get("subscription") or {}
        live = subscription.get("status") in LIVE_STATUSES
        view.subscribed = live
        view.past_due = body.get("past_due_since") is not None
        view.credits = body["credit_balance"]
        return Outcome(True, stopped_paying=not live)
    raise ValueError(f"{kind} sends no request")


def apply_unsent(action: Action, view: CustomerView, week: int) -> Outcome:
    """Update `view` for an action that sends nothing (LEAVE)."""
    if request_count(action):
        raise ValueError(f"{action.kind} sends requests: apply their answers")
    view.observe(action, True, week)
    return Outcome(True)

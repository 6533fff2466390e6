"""The journey-action table: for each action kind, the request it plans, the answers it
may get, and how the customer's view changes with each answer (pure, no server)."""

from __future__ import annotations

import pytest

from simulator.staging.actions import (
    Applicant,
    Outcome,
    apply_answer,
    apply_unsent,
    card_statuses,
    fix_statuses,
    request_count,
    request_for,
    signup_status,
    subscribe_statuses,
)
from simulator.staging.behaviour import Action, Card, CustomerView, Kind
from simulator.staging.population import EmailKind, make_population
from simulator.staging.profile import Profile

APPLICANT = Applicant({"email": "ada@acme.example", "name": "Ada"}, frozenset({201}), "acme")


def test_signup_posts_the_body_unauthenticated_and_learns_key_and_credits() -> None:
    action, view = Action(Kind.SIGNUP), CustomerView()
    planned = request_for(action, view, 2, APPLICANT)
    assert (planned.method, planned.path, planned.name) == (
        "POST",
        "/api/v1/customers/onboard",
        "onboard",
    )
    assert planned.json == {"email": "ada@acme.example", "name": "Ada"}
    assert planned.expected_statuses == {201} and not planned.authenticated
    body = {"api_key": "rsolv_k", "customer": {"id": "cus_1", "credit_balance": 5}}
    assert apply_answer(action, view, 2, 201, body) == Outcome(True, False, "rsolv_k", "cus_1")
    assert view.signed_up and view.credits == 5 and view.signup_week == 2


def test_a_refused_signup_marks_the_customer_rejected() -> None:
    view = CustomerView()
    assert apply_answer(Action(Kind.SIGNUP), view, 0, 422, None) == Outcome(False)
    assert view.rejected and not view.signed_up


def test_signup_statuses_follow_the_address() -> None:
    people = make_population(Profile(invalid_email_rate=0.3, duplicate_email_rate=0.3), 60, seed=2)
    by_kind = {p.email_kind: p for p in people}
    assert signup_status(by_kind[EmailKind.OK]) == 201
    assert signup_status(by_kind[EmailKind.DUPLICATE]) == 409
    assert signup_status(by_kind[EmailKind.DUPLICATE], first_of_address=True) == 201
    assert signup_status(by_kind[EmailKind.INVALID]) == 422


def test_each_fix_is_a_request_and_refusals_are_counted_per_batch() -> None:
    action, view = Action(Kind.DEPLOY_FIXES, count=3), CustomerView(credits=1, refused=4)
    assert request_count(action) == 3
    first = request_for(action, view, 5, APPLICANT, 0)
    assert (first.method, first.path) == ("POST", "/api/v1/usage/fix-deployed")
    assert first.json == {"fix_id": "w5-0", "repo": "acme/app", "pr_number": 501}
    assert first.expected_statuses == {201} and first.authenticated
    assert apply_answer(action, view, 5, 201, {"credit_balance": 0}, 0).accepted
    assert view.refused == 0 and view.credits == 0
    second = request_for(action, view, 5, APPLICANT, 1)
    assert second.json is not None and second.json["fix_id"] == "w5-1"
    assert second.expected_statuses == {201, 402}  # no credits, no card
    assert not apply_answer(action, view, 5, 402, None, 1).accepted
    assert not apply_answer(action, view, 5, 402, None, 2).accepted
    assert view.refused == 2 and view.credits == 0


def test_adding_a_valid_card_clears_past_due_and_refusals() -> None:
    action = Action(Kind.ADD_CARD, card=Card.VALID, token="pm_card_visa")
    view = CustomerView(past_due=True, refused=2)
    planned = request_for(action, view, 3, APPLICANT)
    assert (planned.method, planned.path) == ("POST", "/api/v1/billing/payment-methods")
    assert planned.json == {"payment_method": "pm_card_visa"}
    assert planned.expected_statuses == {201}
    assert apply_answer(action, view, 3, 201, {"credit_balance": 10}).accepted
    assert view.card is Card.VALID and view.since_card == 3 and view.credits == 10
    assert not view.past_due and view.refused == 0


def test_a_declined_card_is_expected_and_remembered() -> None:
    action = Action(Kind.ADD_CARD, card=Card.DECLINES, token="pm_card_chargeDeclined")
    view = CustomerView()
    assert request_for(action, view, 1, APPLICANT).expected_statuses == {402}
    assert not apply_answer(action, view, 1, 402, None).accepted
    assert view.card is None and view.card_declined


def test_subscribe_then_credits_from_the_answer() -> None:
    action, view = Action(Kind.SUBSCRIBE, plan="pro"), CustomerView(card=Card.VALID)
    planned = request_for(action, view, 4, APPLICANT)
    assert (planned.method, planned.path, planned.json) == (
        "POST",
        "/api/v1/billing/subscription",
        {"plan": "pro"},
    )
    assert planned.expected_statuses == {201}
    assert apply_answer(action, view, 4, 201, {"credit_balance": 60}).accepted
    assert view.subscribed and view.credits == 60
    declined = CustomerView(card=Card.FAILS)
    assert request_for(action, declined, 4, APPLICANT).expected_statuses == {201, 402, 409}
    assert not apply_answer(action, declined, 4, 402, None).accepted
    assert declined.subscribe_declined and not declined.subscribed


def test_cancel_now_ends_the_subscription_and_stops_paying() -> None:
    action, view = Action(Kind.CANCEL, at_period_end=False), CustomerView(subscribed=True)
    planned = request_for(action, view, 6, APPLICANT)
    assert (planned.method, planned.path, planned.json) == (
        "DELETE",
        "/api/v1/billing/subscription",
        None,
    )
    assert planned.params == {"at_period_end": "false"} and planned.expected_statuses == {
        200,
        404,
    }
    assert apply_answer(action, view, 6, 200, {}) == Outcome(True, stopped_paying=True)
    assert view.cancel_requested and not view.subscribed
    at_end = Action(Kind.CANCEL, at_period_end=True)
    assert request_for(at_end, view, 6, APPLICANT).params == {"at_period_end": "true"}
    other = CustomerView(subscribed=True)
    assert apply_answer(at_end, other, 6, 404, None) == Outcome(False)
    assert other.subscribed and not other.cancel_requested


def test_checking_billing_reads_status_past_due_and_credits() -> None:
    action, view = Action(Kind.CHECK_BILLING), CustomerView(subscribed=True, credits=9)
    planned = request_for(action, view, 7, APPLICANT)
    assert (planned.method, planned.path, planned.json, planned.params) == (
        "GET",
        "/api/v1/billing/subscription",
        None,
        None,
    )
    assert planned.expected_statuses == {200}
    past_due = {
        "subscription": {"status": "past_due"},
        "past_due_since": "2026-02-01",
        "credit_balance": 3,
    }
    assert apply_answer(action, view, 7, 200, past_due) == Outcome(True)
    assert view.subscribed and view.past_due and view.credits == 3
    ended = {"subscription": None, "past_due_since": None, "credit_balance": 0}
    assert apply_answer(action, view, 8, 200, ended) == Outcome(True, stopped_paying=True)
    assert not view.subscribed and not view.past_due
    assert apply_answer(action, view, 9, 503, None) == Outcome(False)


def test_leaving_sends_nothing() -> None:
    action, view = Action(Kind.LEAVE), CustomerView()
    assert request_count(action) == 0
    with pytest.raises(ValueError):
        request_for(action, view, 0, APPLICANT)
    assert apply_unsent(action, view, 0).accepted and view.gone
    with pytest.raises(ValueError):
        apply_unsent(Action(Kind.SIGNUP), view, 0)


def test_what_each_answer_may_be() -> None:
    assert fix_statuses(CustomerView(credits=2)) == {201}
    assert fix_statuses(CustomerView(credits=0, card=Card.VALID)) == {201}
    assert fix_statuses(CustomerView(credits=0)) == {201, 402}
    assert card_statuses(Action(Kind.ADD_CARD, card=Card.DECLINES)) == {402}
    assert card_statuses(Action(Kind.ADD_CARD, card=Card.FAILS)) == {201}
    assert subscribe_statuses(CustomerView(card=Card.VALID)) == {201}
    assert subscribe_statuses(CustomerView(card=Card.FAILS)) == {201, 402, 409}

"""Each answer a simulated customer gets, held against the independent billing model.

The requests and the view's changes are the journey-action table's (`actions.py`); this
module keeps what only the simulation keeps of them: the billing model (`expected.py`)
moved in step with the customer's actions, a disagreement whenever the system's answer is
not what the model says it should be, the customer's counters (signup latency, card
attempts, when it started and stopped paying) and its log.
"""

from __future__ import annotations

from typing import Any

from simulator.staging.actions import Outcome, PlannedRequest, signup_status
from simulator.staging.behaviour import Action, Card, Kind
from simulator.staging.http import Answer
from simulator.staging.results import Lived


def check_answer(
    who: Lived,
    action: Action,
    week: int,
    at: int,
    planned: PlannedRequest,
    answer: Answer,
    body: Any,
    outcome: Outcome,
) -> None:
    """Record the answer to `planned`, a request of `action` sent at epoch `at` of `week`
    (`body`: the answer's JSON when it succeeded), and the billing model's verdict."""
    kind, status = action.kind, answer.status_code
    if kind is Kind.SIGNUP:
        _signup(who, week, at, status, outcome, answer.latency)
    elif kind is Kind.DEPLOY_FIXES:
        assert planned.json is not None
        _fix(who, week, at, planned.json["fix_id"], status, body, outcome)
    elif kind is Kind.ADD_CARD:
        _card(who, action, week, at, status, outcome)
    elif kind is Kind.SUBSCRIBE:
        expected_ok = who.expected.subscribe(at)
        if outcome.accepted != expected_ok:
            who.disagree(
                week,
                f"subscribe answered {status}, expected {'201' if expected_ok else 'a refusal'}",
            )
    elif kind is Kind.CANCEL:
        expected_ok = who.expected.cancel(at, action.at_period_end)
        if outcome.accepted != expected_ok:
            who.disagree(
                week, f"cancel answered {status}, expected {'200' if expected_ok else '404'}"
            )
    _stopped_paying(who, week, outcome)


def check_leaving(who: Lived, week: int) -> None:
    """A customer who paid and now leaves has churned."""
    if who.paying_since is not None and who.churned_week is None:
        who.churned_week = week
    who.log.append((week, "leave", "-"))


def log_action(who: Lived, action: Action, week: int, status: int) -> None:
    """The customer's log line for `action`, once all its requests are answered."""
    if action.kind is Kind.DEPLOY_FIXES:
        line = (f"fixes x{action.count}", f"refused {who.view.refused}")
    else:
        line = (_LABELS[action.kind](action), str(status))
    who.log.append((week, *line))


_LABELS = {
    Kind.SIGNUP: lambda action: "signup",
    Kind.ADD_CARD: lambda action: f"card {action.token}",
    Kind.SUBSCRIBE: lambda action: "subscribe pro",
    Kind.CANCEL: lambda action: f"cancel at_period_end={action.at_period_end}",
    Kind.CHECK_BILLING: lambda action: "check billing",
}


def _signup(who: Lived, week: int, at: int, status: int, outcome: Outcome, latency: float) -> None:
    who.signup_latency = latency
    if outcome.accepted:
        who.api_key, who.customer_id = outcome.api_key, outcome.customer_id
        who.expected.signup(at)
    expected = signup_status(who.person)
    if status != expected:
        who.disagree(week, f"signup answered {status}, expected {expected}")


def _fix(
    who: Lived, week: int, at: int, fix_id: str, status: int, body: Any, outcome: Outcome
) -> None:
    who.fix_requests += 1
    done, charged = who.expected.deploy(at, 1)
    if outcome.accepted:
        who.used_trial = True
        if not done or bool(body["charged"]) != bool(charged):
            expected = "refused" if not done else "charged" if charged else "credit"
            who.disagree(
                week,
                f"fix {fix_id}: charged={body['charged']} ({body['amount_cents']} cents), "
                f"expected {expected}",
            )
    elif done:
        who.disagree(week, f"fix {fix_id}: answered {status}, expected 201")


def _card(who: Lived, action: Action, week: int, at: int, status: int, outcome: Outcome) -> None:
    assert action.card is not None
    ok = outcome.accepted
    if action.card is Card.VALID:
        who.valid_card_attempts += 1
        who.valid_card_ok += int(ok)
    expected_ok = who.expected.add_card(at, action.card)
    if ok and who.paying_since is None and action.card is not Card.DECLINES:
        who.paying_since = week
    if ok != expected_ok:
        who.disagree(
            week,
            f"card {action.token}: answered {status}, expected {'201' if expected_ok else '402'}",
        )


def _stopped_paying(who: Lived, week: int, outcome: Outcome) -> None:
    if outcome.stopped_paying and who.churned_week is None:
        who.churned_week = week

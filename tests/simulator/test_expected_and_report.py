"""The independent billing model and the report's figures, against hand-computed cases."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from simulator.staging.behaviour import Card
from simulator.staging.expected import DAY, Expected
from simulator.staging.population import make_population
from simulator.staging.profile import Profile
from simulator.staging.report import figures, month_of, passed, percentile
from simulator.staging.results import Lived, WeekFigures
from system.clock import FileClock

T0 = int(datetime(2026, 1, 5, 12, tzinfo=UTC).timestamp())
WEEK = 7 * DAY


def _steps(n: int = 20) -> list[int]:
    return [T0 + (w + 1) * WEEK for w in range(n)]


def test_trial_then_payg_charges_after_credits() -> None:
    model = Expected(steps=_steps())
    model.signup(T0)
    assert model.deploy(T0, 5) == (5, 0) and model.balance == 0
    assert model.deploy(T0, 1) == (0, 0) and model.fixes_refused == 1  # no card: refused
    assert model.add_card(T0 + WEEK, Card.VALID) and model.balance == 5 and model.plan == "payg"
    assert model.deploy(T0 + WEEK, 7) == (7, 2)
    assert model.charged_cents == 2 * 2_900 and model.balance == 0


def test_declined_and_failing_cards_are_never_charged() -> None:
    model = Expected(steps=_steps())
    model.signup(T0)
    assert not model.add_card(T0, Card.DECLINES) and model.balance == 5
    assert model.add_card(T0, Card.FAILS) and model.balance == 10
    assert model.deploy(T0, 12) == (10, 0)
    assert not model.subscribe(T0)
    assert model.charged_cents == 0


def test_pro_renews_expires_unused_credits_and_cancels_at_period_end() -> None:
    model = Expected(steps=_steps())
    model.signup(T0)
    model.add_card(T0, Card.VALID)
    model.deploy(T0, 10)  # trial and bonus credits gone
    assert model.subscribe(T0) and model.balance == 60 and model.charged_cents == 59_900
    model.deploy(T0 + WEEK, 10)
    model.finish(T0 + 5 * WEEK)  # renewed on 5 February (+1 h)
    assert model.invoice_payments == [59_900, 59_900] and model.balance == 60
    assert model.cancel(T0 + 5 * WEEK, at_period_end=True)
    model.finish(T0 + 10 * WEEK)
    assert model.subscription_status == "canceled" and model.balance == 0
    assert model.plan == "payg" and model.charged_cents == 2 * 59_900


def test_a_failed_renewal_goes_past_due_then_dunning_cancels() -> None:
    model = Expected(steps=_steps())
    model.signup(T0)
    model.add_card(T0, Card.VALID)
    model.subscribe(T0)
    model.add_card(T0 + WEEK, Card.FAILS)
    model.finish(T0 + 5 * WEEK)  # the renewal on 5 February failed
    assert model.subscription_status == "past_due"
    assert model.past_due_since == T0 + 5 * WEEK  # the system hears at the end of the step
    model.finish(T0 + 8 * WEEK)  # retries +3, +5, +7 days all failed
    assert model.subscription_status == "canceled" and model.failed_invoice_attempts == 4
    assert model.charged_cents == 59_900


def test_a_past_due_customer_recovers_by_adding_a_card() -> None:
    model = Expected(steps=_steps())
    model.signup(T0)
    model.add_card(T0, Card.VALID)
    model.subscribe(T0)
    model.add_card(T0 + WEEK, Card.FAILS)
    model.finish(T0 + 5 * WEEK)
    assert model.add_card(T0 + 5 * WEEK, Card.VALID)
    assert model.subscription_status == "active" and model.past_due_since is None
    assert model.invoice_payments == [59_900, 59_900]


def _lived(index: int, **kw: object) -> Lived:
    person = make_population(Profile(), index + 1, 1)[index]
    who = Lived(person)
    for key, value in kw.items():
        setattr(who, key, value)
    return who


def test_report_figures_for_a_small_population_by_hand() -> None:
    # Four customers: A pays from week 0 and churns in week 6 (month 2); B pays from week 1;
    # C signed up but never paid; D's signup was refused.
    a = _lived(
        0,
        api_key="k",
        customer_id="a",
        signup_latency=0.1,
        used_trial=True,
        paying_since=0,
        churned_week=6,
        valid_card_attempts=1,
        valid_card_ok=1,
    )
    b = _lived(
        1,
        api_key="k",
        customer_id="b",
        signup_latency=0.3,
        used_trial=True,
        paying_since=1,
        valid_card_attempts=1,
        valid_card_ok=1,
    )
    c = _lived(2, api_key="k", customer_id="c", signup_latency=0.2, used_trial=True)
    d = _lived(3, signup_latency=6.0)
    a.expected.charged_cents, b.expected.charged_cents = 2_900, 59_900
    b.expected.subs = [object()]  # type: ignore[list-item]
    remote = {
        "charges": [
            {
                "status": "succeeded",
                "amount": 2_900,
                "payment_method_details": {"card": {"last4": "4242"}},
            },
            {
                "status": "succeeded",
                "amount": 59_900,
                "payment_method_details": {"card": {"last4": "4444"}},
            },
            {
                "status": "failed",
                "amount": 2_900,
                "payment_method_details": {"card": {"last4": "0341"}},
            },
        ],
        "invoices": [{"status": "paid"}],
    }
    attempts = [
        {"ok": True, "attempt": 1},
        {"ok": False, "attempt": 1},
        {"ok": True, "attempt": 2},
        {"ok": True, "attempt": 1, "duplicate": True},
    ]
    weeks = [WeekFigures(1, "t", 59_900, 12, 1, 2, 10, 1.0)]
    f = figures([a, b, c, d], weeks, remote, attempts, months=3)
    assert f["funnel"] == {
        "signups": 4,
        "accepted": 3,
        "trial_used": 3,
        "card_added": 2,
        "pro": 1,
        "paid": 2,
    }
    assert f["conversion"] == 2 / 3
    # 2 valid-card charges and 2 valid-card attaches, all succeeded; the failing card's
    # declined charge does not count against valid cards
    assert f["payment_success_valid_cards"] == 1.0
    assert f["provisioning_latency_ms"]["p50"] == 200.0
    assert f["provisioning_latency_ms"]["max"] == 6000.0
    assert [m["churned"] for m in f["churn"]] == [0, 1, 0]
    assert [m["paying"] for m in f["churn"]] == [2, 2, 1]
    assert f["churn"][1]["rate"] == 0.5
    assert f["charges"] == {"total": 3, "succeeded": 2, "failed": 1, "amount_cents": 62_800}
    assert f["webhooks"] == {"deliveries": 3, "succeeded": 2, "duplicates": 1, "retries": 1}
    assert f["revenue_cents"] == 62_800 and f["mrr_cents"] == 59_900
    assert not f["checks"]["monthly churn under 5%"]["ok"]
    assert not f["checks"]["provisioning p99 under 5 s"]["ok"]
    assert f["checks"]["reconciliation: no disagreement"]["ok"]
    assert not passed(f)
    b.disagreements.append("week 1: something")
    f = figures([a, b, c, d], weeks, remote, attempts, months=3)
    assert f["disagreements"] == {"b": ["week 1: something"]}


def test_percentile_and_months() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0
    assert percentile([3.0, 1.0, 2.0, 4.0], 99) == 4.0
    assert [month_of(w) for w in (0, 4, 5, 8, 9, 12)] == [1, 1, 2, 2, 3, 3]


def test_file_clock_reads_what_another_process_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "clock")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = FileClock(path, start)
    assert clock.now() == start  # no file yet
    moment = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    FileClock.write(path, moment)
    assert clock.now() == moment
    time.sleep(0.01)
    FileClock.write(path, datetime(2026, 4, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 4, 1, tzinfo=UTC)
    (tmp_path / "clock").write_text("garbage")
    assert clock.now() == datetime(2026, 4, 1, tzinfo=UTC)  # keeps the last good time

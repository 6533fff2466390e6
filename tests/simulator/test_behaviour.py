"""The behaviour model: pure, seeded, the same journeys for the same seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.staging.behaviour import (
    CARD_TOKENS,
    Action,
    Card,
    CustomerView,
    Journey,
    Kind,
    draw,
)
from simulator.staging.population import EmailKind, make_population
from simulator.staging.profile import PROFILES_DIR, Profile, load


def _play(profile: Profile, seed: int, index: int, weeks: int = 13) -> list[list[Action]]:
    """A journey against an ideal system: every action succeeds, credits as billed."""
    journey, view, out = Journey(profile, seed, index), CustomerView(), []
    for week in range(weeks):
        actions = journey.next_actions(view, week)
        out.append(actions)
        for action in actions:
            ok = not (action.kind is Kind.ADD_CARD and action.card is Card.DECLINES)
            view.observe(action, ok, week)
            if action.kind is Kind.SIGNUP:
                view.credits = 5
            elif action.kind is Kind.DEPLOY_FIXES:
                view.credits = max(0, view.credits - action.count)
    return out


def test_same_seed_same_journeys() -> None:
    profile = load("launch")
    assert [_play(profile, 7, i) for i in range(50)] == [_play(profile, 7, i) for i in range(50)]
    assert [_play(profile, 7, i) for i in range(50)] != [_play(profile, 8, i) for i in range(50)]


def test_a_journey_does_not_depend_on_the_others() -> None:
    profile = load("launch")
    alone = _play(profile, 3, 17)
    for i in range(17):
        _play(profile, 3, i)
    assert _play(profile, 3, 17) == alone


def test_nothing_before_arrival_then_signup_first() -> None:
    journey = Journey(Profile(signup_weeks=4), 1, 5)
    view = CustomerView()
    for week in range(journey.arrival_week):
        assert journey.next_actions(view, week) == []
    first = journey.next_actions(view, journey.arrival_week)
    assert first[0].kind is Kind.SIGNUP


def test_a_rejected_or_gone_customer_does_nothing() -> None:
    journey = Journey(Profile(signup_weeks=1), 1, 0)
    assert journey.next_actions(CustomerView(rejected=True), 3) == []
    assert journey.next_actions(CustomerView(signed_up=True, gone=True), 3) == []


def test_cards_are_drawn_from_their_kind() -> None:
    profile = Profile(
        intent_pro_rate=0.0,
        intent_payg_rate=1.0,
        card_declines_rate=1.0,
        card_delay_weeks=(0, 0),
        signup_weeks=1,
    )
    journey = Journey(profile, 1, 0)
    view = CustomerView(signed_up=True, signup_week=0, credits=5)
    (action,) = journey.next_actions(view, 1)
    assert action.kind is Kind.ADD_CARD and action.card is Card.DECLINES
    assert action.token in CARD_TOKENS[Card.DECLINES]


def test_a_pro_subscriber_with_a_failing_card_checks_and_recovers() -> None:
    profile = Profile(recover_rate=1.0, cancel_weekly_rate=0.0)
    journey = Journey(profile, 1, 0)
    view = CustomerView(
        signed_up=True, signup_week=0, card=Card.FAILS, subscribed=True, past_due=True, since_card=0
    )
    actions = journey.next_actions(view, 5)
    assert actions[0].kind is Kind.CHECK_BILLING
    assert actions[1].kind is Kind.ADD_CARD and actions[1].card is Card.VALID


def test_draw_follows_weights() -> None:
    import random

    rng = random.Random(1)
    counts = [draw(rng, ((0, 1.0), (5, 3.0))) for _ in range(4000)]
    assert set(counts) == {0, 5}
    assert 0.7 < counts.count(5) / len(counts) < 0.8


def test_population_is_seeded_and_has_bad_addresses() -> None:
    profile = Profile(invalid_email_rate=0.1, disposable_email_rate=0.1, duplicate_email_rate=0.1)
    one, two = make_population(profile, 200, 5), make_population(profile, 200, 5)
    assert [p.email for p in one] == [p.email for p in two]
    assert [p.name for p in one] != [p.name for p in make_population(profile, 200, 6)]
    kinds = {p.email_kind for p in one}
    assert kinds == set(EmailKind)
    by_email = {p.email.casefold(): p for p in one if p.email_kind is EmailKind.OK}
    for person in one:
        if person.email_kind is EmailKind.DUPLICATE:
            original = by_email[person.email.casefold()]
            assert original.index < person.index
            assert original.journey.arrival_week <= person.journey.arrival_week


def test_profiles_load_and_refuse_unknown_keys(tmp_path: Path) -> None:
    beta, launch = load("beta"), load("launch")
    assert (beta.customers, launch.customers, launch.signup_weeks) == (10, 100, 4)
    assert {p.stem for p in PROFILES_DIR.glob("*.toml")} >= {"beta", "launch"}
    bad = tmp_path / "bad.toml"
    bad.write_text("cusomers = 3\n")
    with pytest.raises(ValueError, match="unknown profile settings"):
        load(bad)
    bad.write_text("[cards]\ncard_declines_rate = 2.0\n")
    with pytest.raises(ValueError, match="within"):
        load(bad)

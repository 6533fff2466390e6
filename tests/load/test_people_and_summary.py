"""The load test's people (the simulator's population and behaviour model) and its
figures and thresholds: pure, no Locust, no server."""

from __future__ import annotations

from load.locust_people import PersonSource, tagged
from load.locust_summary import Entry, percentile, summarize, table, verdict_lines
from simulator.staging.behaviour import Journey
from simulator.staging.population import EmailKind
from simulator.staging.profile import Profile


def test_addresses_are_tagged_and_stay_what_they_were() -> None:
    assert tagged("ada.l.1@acme.example.com", "r1b0") == "ada.l.1.r1b0@acme.example.com"
    assert tagged("ada@@acme.example.com", "t") == "ada.t@@acme.example.com"
    assert tagged("ada.at.acme.example.com", "t") == "ada.at.acme.example.com.t"


def test_people_follow_the_simulators_journeys_with_unique_addresses() -> None:
    profile = Profile()
    source = PersonSource(profile, seed=3, run="abc")
    handed = [source.next() for _ in range(150)]
    for candidate in handed:
        source.answered(candidate, candidate.expected_status())
    emails = [c.email.lower() for c in handed if c.person.email_kind is not EmailKind.DUPLICATE]
    assert len(set(emails)) == len(emails)
    assert all(".abcb0@" in c.email or "@" not in c.email for c in handed if "@" in c.email)
    # the journey is the behaviour model's, seeded as the simulator seeds it
    first = handed[0].person
    twin = Journey(profile, first.journey.seed, first.journey.index)
    assert (twin.intent, twin.first_card, twin.arrival_week) == (
        first.journey.intent,
        first.journey.first_card,
        first.journey.arrival_week,
    )
    # other runs, other addresses; the same seed, the same people
    again = PersonSource(profile, seed=3, run="xyz").next()
    assert again.person.name == handed[0].person.name and again.email != handed[0].email


def test_a_second_signup_waits_for_the_first_and_expects_what_it_got() -> None:
    source = PersonSource(Profile(duplicate_email_rate=0.5), seed=1, run="d")
    out = []
    for _ in range(40):
        candidate = source.next()
        out.append(candidate)
        if candidate.person.email_kind is EmailKind.DUPLICATE:
            original = next(c for c in out if c.email.lower() == candidate.email.lower())
            assert original is not candidate  # the first was handed out (and answered) before
        taken = 429 if len(out) % 7 == 0 else candidate.expected_status()
        source.answered(candidate, taken)
    duplicates = [c for c in out if c.person.email_kind is EmailKind.DUPLICATE]
    assert duplicates
    assert {c.expected_status() for c in duplicates} <= {201, 409}
    assert all(source.next_accepted().person.signup_accepted for _ in range(20))


def entry(name: str, times: dict[int, int], failures: int = 0) -> Entry:
    return Entry(name, "POST", sum(times.values()), failures, times, 0.0)


def test_percentiles_of_a_histogram() -> None:
    histogram = {10: 98, 20: 1, 4000: 1}
    assert percentile(histogram, 50) == 10
    assert percentile(histogram, 99) == 20
    assert percentile(histogram, 100) == 4000
    assert percentile({}, 99) == 0.0


def test_a_run_within_the_thresholds_passes() -> None:
    entries = [
        entry("signup: onboard", {5: 90, 40: 10}),
        entry("signup: me", {3: 100}),
        entry("steady: onboard", {8: 10}),
        entry("abuse: onboard", {9000: 5}),  # abuse signups are not provisioning
    ]
    summary = summarize(entries, {}, seconds=10)
    assert summary.passed, summary.verdicts
    assert [s.name for s in summary.scenarios] == ["abuse", "signup", "steady"]
    signup = summary.scenarios[1]
    assert (signup.requests, signup.p50, signup.p95, signup.per_second) == (200, 3, 5, 20.0)
    assert summary.provisioning.requests == 110 and summary.provisioning.p99 == 40
    text = table(summary.as_dict())
    assert "| **signup** | 200 |" in text and "provisioning (all signups)" in text
    assert verdict_lines(summary.as_dict())[-1] == "PASSED"


def test_slow_provisioning_5xx_and_failed_checks_fail_the_run() -> None:
    entries = [entry("signup: onboard", {5000: 2, 10: 98})]
    errors = {"5xx: steady: fix-deployed answered 500": 2, "check: signup: me answered 404": 1}
    summary = summarize(entries, errors, seconds=10, budget_ms=100)
    assert not summary.passed
    assert summary.server_errors == 2 and summary.failed_checks == 3
    assert any("p99" in v for v in summary.verdicts)
    lines = verdict_lines(summary.as_dict())
    assert lines[-1].startswith("FAILED") and "2 x 5xx" in "\n".join(lines)
    assert not summarize([], {}, 1).passed  # nothing measured is not a pass


def test_when_the_first_signup_was_refused_a_second_one_takes_the_address() -> None:
    profile = Profile(invalid_email_rate=0, disposable_email_rate=0, duplicate_email_rate=0.9)
    source = PersonSource(profile, seed=2, run="f")
    first = source.next()
    assert first.person.signup_accepted
    source.answered(first, 429)  # rate limited: the address is still free
    address = first.email.lower()
    pending = None
    for _ in range(30):
        candidate = source.next()
        if candidate.email.lower() != address:
            source.answered(candidate, 201)
            continue
        assert pending is None, "a second signup of the address came before the first's answer"
        assert candidate.expected_status() == 201
        pending = candidate
    assert pending is not None
    source.answered(pending, 201)
    again = [c for c in (source.next() for _ in range(30)) if c.email.lower() == address]
    assert again and all(c.expected_status() == 409 for c in again)

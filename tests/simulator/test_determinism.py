"""The same seed gives the same population, journeys and money figures (a live run twice)."""

from __future__ import annotations

from simulator.staging.profile import load
from simulator.staging.report import figures
from simulator.staging.results import RunConfig
from simulator.staging.runner import simulate


def _run(seed: int) -> tuple[object, ...]:
    config = RunConfig(profile=load("beta"), customers=8, months=2, seed=seed)
    result = simulate(config)
    f = figures(result.lived, result.weeks, result.remote, result.webhook_attempts, 2)
    return (
        [w.person.email for w in result.lived],
        [w.log for w in result.lived],
        [w.expected.charged_cents for w in result.lived],
        f["revenue_cents"],
        f["charges"]["amount_cents"],
        f["funnel"],
        f["disagreements"],
    )


def test_same_seed_same_run() -> None:
    first = _run(4)
    assert first == _run(4)
    assert first[-1] == {}  # and it reconciles
    assert first[0] != _run(5)[0]

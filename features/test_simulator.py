"""Steps for features/simulator.feature: the `simulate` command, embedded, end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import parsers, scenarios, then, when

from system.cli import main

scenarios("simulator.feature")


@pytest.fixture
def run(tmp_path: Path) -> dict[str, Any]:
    return {"dir": tmp_path / "report"}


def _simulate(run: dict[str, Any], months: int, seed: int, *extra: str) -> None:
    argv = ["simulate", "--profile", "beta", "--months", str(months), "--seed", str(seed)]
    run["code"] = main([*argv, "--quiet", "--report", str(run["dir"]), *extra])
    run["report"] = json.loads((run["dir"] / "report.json").read_text())


@when(parsers.parse("the beta profile is simulated for {months:d} months with seed {seed:d}"))
def simulate_beta(run: dict[str, Any], months: int, seed: int) -> None:
    _simulate(run, months, seed)


@when(
    parsers.parse(
        "the beta profile is simulated for {months:d} months with seed {seed:d} "
        "while the emulator declines every card"
    )
)
def simulate_declining(run: dict[str, Any], months: int, seed: int) -> None:
    _simulate(run, months, seed, "--decline-all-cards")


@when(
    parsers.parse(
        "the beta profile is simulated for {months:d} months with seed {seed:d} "
        "with {dup:d}% duplicated and {reorder:d}% reordered webhooks"
    )
)
def simulate_faulty_webhooks(
    run: dict[str, Any], months: int, seed: int, dup: int, reorder: int
) -> None:
    _simulate(
        run,
        months,
        seed,
        "--duplicate-webhooks",
        str(dup / 100),
        "--reorder-webhooks",
        str(reorder / 100),
    )


@then("the command succeeds")
def succeeds(run: dict[str, Any]) -> None:
    assert run["code"] == 0, run["report"]["figures"]["checks"]
    assert run["report"]["passed"] is True


@then("the command fails")
def fails(run: dict[str, Any]) -> None:
    assert run["code"] == 1
    assert run["report"]["passed"] is False


@then(parsers.parse("the report shows {rate:d}% payment success for valid cards"))
def payment_rate(run: dict[str, Any], rate: int) -> None:
    figures = run["report"]["figures"]
    assert figures["payment_success_valid_cards"] == rate / 100
    attempts = figures["payments"]
    assert attempts["valid_card_attaches"] + attempts["valid_card_charges"] > 0


@then("every customer reconciles")
def reconciles(run: dict[str, Any]) -> None:
    figures = run["report"]["figures"]
    assert figures["disagreements"] == {}
    assert figures["checks"]["reconciliation: no disagreement"]["ok"]


@then("the report holds the JSON, the HTML and its plots")
def report_files(run: dict[str, Any]) -> None:
    names = {p.name for p in run["dir"].iterdir()}
    assert {"report.json", "report.html", "latency.png", "mrr_credits.png"} <= names
    assert {"funnel.png", "churn.png"} <= names
    html = (run["dir"] / "report.html").read_text()
    assert "PASSED" in html and 'src="latency.png"' in html


@then("webhooks were delivered twice")
def duplicated(run: dict[str, Any]) -> None:
    assert run["report"]["figures"]["webhooks"]["duplicates"] > 0

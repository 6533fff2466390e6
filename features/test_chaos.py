"""Steps for features/chaos.feature: `simulate --chaos`, embedded, on the suite's database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import parsers, scenarios, then, when

from system.cli import main

scenarios("chaos.feature")


@pytest.fixture
def run(tmp_path: Path) -> dict[str, Any]:
    return {"dir": tmp_path / "report"}


@when(
    parsers.parse(
        "{customers:d} beta customers live {months:d} month with seed {seed:d} "
        "under fault drills on the suite's database"
    )
)
def chaotic(run: dict[str, Any], database_url: str, customers: int, months: int, seed: int) -> None:
    argv = ["simulate", "--profile", "beta", "--customers", str(customers)]
    argv += ["--months", str(months), "--seed", str(seed), "--chaos", "--quiet"]
    argv += ["--database-url", database_url, "--report", str(run["dir"])]
    run["code"] = main(argv)
    run["report"] = json.loads((run["dir"] / "report.json").read_text())
    run["postgres"] = database_url.startswith("postgresql")


SYSTEM_CHECKS = (
    "provisioning p99 under 5 s",
    "payment success, valid cards = 100%",
    "reconciliation: no disagreement",
    "fault drills: every pending charge settled",
)


@then("the system's checks hold: provisioning, payment success, reconciliation, settlement")
def system_checks(run: dict[str, Any]) -> None:
    checks = run["report"]["figures"]["checks"]
    failed = {name: checks[name]["value"] for name in SYSTEM_CHECKS if not checks[name]["ok"]}
    assert failed == {}, run["report"]["figures"]["disagreements"]


@then("the report lists the faults injected, with the system killed at least twice")
def faults(run: dict[str, Any]) -> None:
    injected = run["report"]["figures"]["faults"]
    assert injected["system_kills"] >= 2
    assert injected["double_clicks"] > 0
    assert injected["unsettled_after_run"] == 0
    if run["postgres"]:
        assert injected["database_drops"] > 0


@then("no customer disagrees with Stripe or with the replayed bills")
def reconciles(run: dict[str, Any]) -> None:
    figures = run["report"]["figures"]
    assert figures["disagreements"] == {}
    assert figures["checks"]["fault drills: every pending charge settled"]["ok"]

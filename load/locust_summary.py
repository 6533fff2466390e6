"""The figures of a Locust run, per scenario, and the thresholds that pass or fail it.

Pure Python (no Locust import): the locustfile feeds it Locust's own statistics when the
run ends (on the master in distributed mode, where every worker's figures are merged),
and `load.run` reads the JSON it writes. Request names are "<scenario>: <what>", so a
scenario's figures merge the response-time histograms of its requests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

PROVISIONING_BUDGET_MS = 5_000.0  # the seed's "< 5 second provisioning"
PROVISIONING = "onboard"  # request names ending in this are signups
SERVER_ERROR = "5xx"  # check failures that are server errors start with this


@dataclass(frozen=True)
class Entry:
    """One request name's statistics, as Locust keeps them."""

    name: str
    method: str
    requests: int
    failures: int
    response_times: Mapping[int, int]  # rounded ms -> count (Locust's histogram)
    total_ms: float


def percentile(histogram: Mapping[int, int], q: float) -> float:
    """The q-th percentile (0-100), nearest rank, of a {value: count} histogram."""
    total = sum(histogram.values())
    if not total:
        return 0.0
    rank = max(1, math.ceil(q / 100 * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return float(max(histogram))


def merge(histograms: Iterable[Mapping[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for histogram in histograms:
        for value, count in histogram.items():
            merged[value] = merged.get(value, 0) + count
    return merged


@dataclass
class Figures:
    name: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    max: float
    per_second: float


def figures(name: str, entries: list[Entry], seconds: float) -> Figures:
    histogram = merge(e.response_times for e in entries)
    requests = sum(e.requests for e in entries)
    return Figures(
        name,
        requests,
        sum(e.failures for e in entries),
        percentile(histogram, 50),
        percentile(histogram, 95),
        percentile(histogram, 99),
        float(max(histogram) if histogram else 0),
        requests / seconds if seconds > 0 else 0.0,
    )


def scenario_of(name: str) -> str:
    return name.split(":", 1)[0].strip() if ":" in name else "other"


@dataclass
class Summary:
    seconds: float
    scenarios: list[Figures]
    requests: list[Figures]
    provisioning: Figures
    server_errors: int
    failed_checks: int
    errors: dict[str, int]
    budget_ms: float = PROVISIONING_BUDGET_MS
    verdicts: list[str] = field(default_factory=list)  # why it failed; empty: passed

    @property
    def passed(self) -> bool:
        return not self.verdicts

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def summarize(
    entries: list[Entry],
    errors: Mapping[str, int],
    seconds: float,
    budget_ms: float = PROVISIONING_BUDGET_MS,
) -> Summary:
    """Figures per scenario and per request, and the verdicts of the thresholds:
    provisioning p99 under the budget, no 5xx, no failed check."""
    by_scenario: dict[str, list[Entry]] = {}
    for entry in entries:
        by_scenario.setdefault(scenario_of(entry.name), []).append(entry)
    scenarios = [figures(s, by_scenario[s], seconds) for s in sorted(by_scenario)]
    requests = [figures(e.name, [e], seconds) for e in sorted(entries, key=lambda e: e.name)]
    # provisioning: signups that are meant to succeed (abuse signups are refused on purpose)
    signups = [
        e for e in entries if e.name.endswith(PROVISIONING) and scenario_of(e.name) != "abuse"
    ]
    provisioning = figures("provisioning", signups, seconds)
    server_errors = sum(n for message, n in errors.items() if message.startswith(SERVER_ERROR))
    failed = sum(errors.values())
    summary = Summary(
        seconds, scenarios, requests, provisioning, server_errors, failed, dict(errors), budget_ms
    )
    if not provisioning.requests:
        summary.verdicts.append("no signup was made: provisioning was not measured")
    elif provisioning.p99 >= budget_ms:
        summary.verdicts.append(
            f"provisioning p99 {provisioning.p99:.0f} ms is not under {budget_ms:.0f} ms"
        )
    if server_errors:
        summary.verdicts.append(f"{server_errors} answers were 5xx")
    if failed:
        summary.verdicts.append(f"{failed} checks failed")
    return summary


def table(summary: Mapping[str, Any]) -> str:
    """The figures as a Markdown table (from `Summary.as_dict()`, e.g. read back as JSON)."""
    lines = [
        "| scenario / request | requests | failures | p50 ms | p95 ms | p99 ms | max ms | req/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def row(f: Mapping[str, Any], label: str) -> str:
        return (
            f"| {label} | {f['requests']} | {f['failures']} | {f['p50']:.0f} | {f['p95']:.0f} | "
            f"{f['p99']:.0f} | {f['max']:.0f} | {f['per_second']:.1f} |"
        )

    for scenario in summary["scenarios"]:
        lines.append(row(scenario, f"**{scenario['name']}**"))
        for request in summary["requests"]:
            if scenario_of(request["name"]) == scenario["name"]:
                lines.append(row(request, f"&nbsp; {request['name']}"))
    lines.append(row(summary["provisioning"], "**provisioning (all signups)**"))
    return "\n".join(lines)


def verdict_lines(summary: Mapping[str, Any]) -> list[str]:
    p = summary["provisioning"]
    lines = [
        f"provisioning p99 {p['p99']:.0f} ms (budget {summary['budget_ms']:.0f} ms), "
        f"{summary['server_errors']} 5xx, {summary['failed_checks']} failed checks "
        f"over {summary['seconds']:.0f} s",
    ]
    for message, count in sorted(summary["errors"].items(), key=lambda kv: -kv[1])[:20]:
        lines.append(f"  {count} x {message}")
    lines.append("PASSED" if summary["passed"] else "FAILED: " + "; ".join(summary["verdicts"]))
    return lines

"""`rsolv-billing load` for real: Locust as subprocesses against the embedded stack on
loopback (the emulator and `serve --workers 2` as processes, a fresh database). Locust's
gevent patching never enters this process. Timings are printed by the runs, never asserted
here beyond the thresholds the command itself applies."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load(tmp_path: Path, *args: str, timeout: float = 150) -> tuple[int, str, Path]:
    report = tmp_path / "report"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # a fresh SQLite file
    done = subprocess.run(
        [sys.executable, "-m", "system.cli", "load", "--report", str(report), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    print(done.stdout, done.stderr)
    return done.returncode, done.stdout, report


def test_distributed_run_master_and_two_workers_aggregate(tmp_path: Path) -> None:
    code, out, report = load(
        tmp_path, "--duration", "20", "--users", "8", "--locust-workers", "2", "--seed", "5"
    )
    assert code == 0, out
    summary = json.loads((report / "summary.json").read_text())
    assert summary["passed"] and summary["failed_checks"] == 0 and summary["server_errors"] == 0
    assert {s["name"] for s in summary["scenarios"]} == {"signup", "steady", "webhooks", "abuse"}
    assert summary["provisioning"]["requests"] > 0
    log = (report / "locust.log").read_text()
    assert "(index 0) reported as ready" in log and "(index 1) reported as ready" in log
    # the master's CSV is the aggregate of both workers: it agrees with the summary
    with (report / "locust_stats.csv").open() as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    total = sum(s["requests"] for s in summary["scenarios"])
    assert int(rows["Aggregated"]["Request Count"]) == total
    assert (report / "locust.html").stat().st_size > 10_000
    assert "provisioning (all signups)" in out and "PASSED" in out


def test_a_threshold_that_fails_makes_the_run_fail(tmp_path: Path) -> None:
    code, out, report = load(
        tmp_path,
        *("--duration", "6", "--users", "4", "--budget-ms", "0.5"),
        *("--scenario", "signup", "--scenario", "fixes"),
    )
    assert code == 1
    summary = json.loads((report / "summary.json").read_text())
    assert not summary["passed"]
    assert [s["name"] for s in summary["scenarios"]] == ["fixes", "signup"]
    assert summary["failed_checks"] == 0  # only the budget failed
    assert "FAILED: provisioning p99" in out
    assert (report / "locust_stats.csv").exists()

"""The figures of issue 8: signups and fixes per second against provisioning latency.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m load.locust_sweep --duration 30 --rates 10,25,50,100,150

For each scenario (`signup`: SignupBurst, each signup followed by /me; `fixes`: FixBurst,
one fix-deployed per iteration) and each target rate R, `rsolv-billing load` runs R users
paced at one iteration per second (an open-ish loop: a user whose answer comes late starts
its next iteration at once) against a fresh embedded stack (PostgreSQL, `serve --workers
2`), and prints the achieved rate and the latency of the measured request.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from load.run import add_arguments, run

MEASURED = {"signup": "signup: onboard", "fixes": "fixes: fix-deployed"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", action="append", choices=sorted(MEASURED))
    parser.add_argument("--rates", default="10,25,50,100,150", help="target rates per second")
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--report", type=Path, default=Path("reports/sweep"))
    options = parser.parse_args()
    print("| scenario | target /s | achieved /s | p50 ms | p95 ms | p99 ms | max ms | failures |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for scenario in options.scenario or ["signup", "fixes"]:
        for rate in (int(r) for r in options.rates.split(",")):
            report = options.report / f"{scenario}-{rate}"
            load = argparse.ArgumentParser()
            add_arguments(load)
            args = load.parse_args(
                [
                    "--scenario", scenario,
                    "--users", str(rate),
                    "--spawn-rate", str(max(rate / 2, 1)),
                    "--pace", "1",
                    "--duration", str(options.duration),
                    "--database", options.database,
                    "--server-workers", str(options.server_workers),
                    "--report", str(report),
                    "--quiet",
                ]
            )  # fmt: skip
            try:
                run(args)
            except Exception as error:  # a point that breaks the stack is a finding too
                print(f"| {scenario} | {rate} | failed: {error} |", flush=True)
                continue
            summary = json.loads((report / "summary.json").read_text())
            row = next(r for r in summary["requests"] if r["name"] == MEASURED[scenario])
            print(
                f"| {scenario} | {rate} | {row['per_second']:.1f} | {row['p50']:.0f} | "
                f"{row['p95']:.0f} | {row['p99']:.0f} | {row['max']:.0f} | "
                f"{summary['failed_checks']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

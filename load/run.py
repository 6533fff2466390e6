"""`rsolv-billing load`: the Locust scenarios, headless, with thresholds and reports.

    rsolv-billing load --duration 30                     # starts the embedded stack itself
    rsolv-billing load --duration 300 --users 100 --target https://staging.example \\
        --webhook-secret whsec_... --stripe-api-base https://emulator.example
    rsolv-billing load --duration 20 --locust-workers 2  # one master, two workers, loopback

With no `--target` it starts the Stripe emulator and the system (`serve --workers N`, a
fresh database: PostgreSQL when DATABASE_URL names one, else SQLite) as real processes on
127.0.0.1, registers the system's webhook endpoint at the emulator (whose deliveries then
include duplicates), and points Locust at them. Locust runs as a subprocess (its gevent
patching stays out of this process). It prints p50/p95/p99 and throughput per scenario,
writes Locust's CSV and HTML reports and `summary.json` to `--report`, and exits non-zero
when a threshold fails: provisioning p99 not under the budget (5 s), any 5xx, any failed
check.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "load" / "locustfile.py"
SCENARIOS = {
    "signup": "SignupBurst",
    "steady": "SteadyCustomer",
    "webhooks": "WebhookStorm",
    "abuse": "Abuse",
    "fixes": "FixBurst",  # for the figures only (load/locust_sweep.py)
}
DEFAULT_SCENARIOS = ["abuse", "signup", "steady", "webhooks"]
STRIPE_KEY = "sk_test_rsolv_load"
SIGNUP_RATE_LIMIT = 20  # the embedded system's limit per address and worker (the default)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=30, help="seconds of load")
    parser.add_argument("--users", type=int, default=20, help="concurrent Locust users")
    parser.add_argument(
        "--spawn-rate", type=float, help="users started per second (default: all in 2 s)"
    )
    parser.add_argument("--target", help="the system's URL (default: start the embedded stack)")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="run only these scenarios (repeat; default: all but fixes)",
    )
    parser.add_argument(
        "--pace",
        type=float,
        default=0.0,
        help="seconds per iteration of each user (0: think times)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", default="default", help="behaviour profile (as simulate)")
    parser.add_argument(
        "--report",
        type=Path,
        default=Path("reports/load"),
        help="directory for Locust's CSV and HTML reports and summary.json",
    )
    parser.add_argument("--budget-ms", type=float, default=5000.0, help="provisioning p99 budget")
    parser.add_argument(
        "--locust-workers",
        type=int,
        default=0,
        help="0: one Locust process; N: a master and N workers on loopback",
    )
    parser.add_argument(
        "--server-workers",
        type=int,
        default=2,
        help="embedded stack: uvicorn worker processes of the system",
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        help="embedded stack: a fresh database of this kind (default: "
        "postgresql when DATABASE_URL names one)",
    )
    parser.add_argument("--database-url", help="embedded stack: use this (migrated) database")
    parser.add_argument(
        "--webhook-secret",
        default=os.environ.get("LOAD_WEBHOOK_SECRET", ""),
        help="--target: the system's STRIPE_WEBHOOK_SECRET (webhook storm)",
    )
    parser.add_argument(
        "--stripe-api-base",
        default=os.environ.get("LOAD_STRIPE_API_BASE", ""),
        help="--target: the emulator the system uses (storm redelivers its events)",
    )
    parser.add_argument(
        "--stripe-api-key", default=os.environ.get("LOAD_STRIPE_API_KEY", STRIPE_KEY)
    )
    parser.add_argument(
        "--signup-rate-limit",
        type=int,
        default=0,
        help="--target: signups one address may make per window across all "
        "the system's workers (abuse then expects 429s past it)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the figures")


@dataclass(frozen=True)
class Target:
    system_url: str
    stripe_api_base: str
    stripe_api_key: str
    webhook_secret: str
    signup_rate_limit: int
    database_url: str = ""


def _default_kind() -> str:
    return "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgresql") else "sqlite"


@contextlib.contextmanager
def embedded_stack(args: argparse.Namespace, workdir: Path) -> Iterator[Target]:
    """The emulator and the system (`serve --workers N`) as processes on 127.0.0.1."""
    # imported here, not at the top: every `rsolv-billing` command imports this module
    from load.stack import fresh_database
    from simulator.servers import free_port
    from simulator.stack import emulator_process, register_webhook_endpoint, system_processes

    database_url = args.database_url or fresh_database(args.database or _default_kind(), workdir)
    emulator_port, system_port = free_port(), free_port()
    system_url = f"http://127.0.0.1:{system_port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "STRIPE_API_KEY": STRIPE_KEY,
        "SIGNUP_RATE_LIMIT": str(SIGNUP_RATE_LIMIT),
        "SIGNUP_RATE_WINDOW_SECONDS": "60",
    }
    log = workdir / "stack.log"
    with emulator_process(emulator_port, env, seed=args.seed, log=log) as emulator_url:
        env["STRIPE_API_BASE"] = emulator_url
        secret = register_webhook_endpoint(emulator_url, STRIPE_KEY, system_url)
        # the emulator delivers a share of its events twice, as Stripe may
        httpx.post(
            f"{emulator_url}/_emulator/webhooks/faults",
            json={"duplicate_rate": 0.2, "seed": args.seed},
            timeout=10,
        ).raise_for_status()
        env["STRIPE_WEBHOOK_SECRET"] = secret
        with system_processes(system_port, args.server_workers, env, log=log):
            yield Target(
                system_url,
                emulator_url,
                STRIPE_KEY,
                secret,
                SIGNUP_RATE_LIMIT * args.server_workers,
                database_url,
            )


def locust_commands(
    args: argparse.Namespace, target: Target, report: Path, master_port: int
) -> list[list[str]]:
    """The Locust processes to run: one, or a master and its workers."""
    base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    options = [
        "--load-seed",
        str(args.seed),
        "--load-profile",
        args.profile,
        "--load-pace",
        str(args.pace),
        "--load-webhook-secret",
        target.webhook_secret,
        "--load-stripe-api-base",
        target.stripe_api_base,
        "--load-stripe-api-key",
        target.stripe_api_key,
        "--load-signup-rate-limit",
        str(target.signup_rate_limit),
        "--load-budget-ms",
        str(args.budget_ms),
    ]
    classes = [SCENARIOS[s] for s in args.scenario or DEFAULT_SCENARIOS]
    spawn_rate = args.spawn_rate or max(1.0, args.users / 2)
    headless = [
        "--headless",
        "--host",
        target.system_url,
        "--users",
        str(args.users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{round(args.duration)}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(report / "locust"),
        "--html",
        str(report / "locust.html"),
        "--load-summary",
        str(report / "summary.json"),
        "--only-summary",
        *options,
        *classes,
    ]
    if not args.locust_workers:
        return [[*base, *headless]]
    master = [
        *base,
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(master_port),
        "--expect-workers",
        str(args.locust_workers),
        "--expect-workers-max-wait",
        "60",
        *headless,
    ]
    worker = [
        *base,
        "--worker",
        "--master-host",
        "127.0.0.1",
        "--master-port",
        str(master_port),
        *options,
    ]
    return [master, *([worker] * args.locust_workers)]


def run_locust(commands: list[list[str]], deadline: float, log: Path) -> int:
    """Run the Locust processes until the first (the master) ends; its exit code."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    with log.open("ab") as sink:
        procs = [
            subprocess.Popen(c, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
            for c in commands
        ]
        try:
            return procs[0].wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print("locust did not finish in time; stopped", file=sys.stderr)
            return 124
        finally:
            for proc in procs:
                if proc.poll() is None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(15 if proc is not procs[0] else 0.1)
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()


def report_figures(summary: dict[str, Any]) -> str:
    from load.locust_summary import table, verdict_lines

    return "\n".join([table(summary), "", *verdict_lines(summary)])


def run(args: argparse.Namespace) -> int:
    from simulator.servers import free_port

    report: Path = args.report
    report.mkdir(parents=True, exist_ok=True)
    summary_path = report / "summary.json"
    summary_path.unlink(missing_ok=True)
    log = report / "locust.log"
    log.write_bytes(b"")
    with contextlib.ExitStack() as scope:
        if args.target:
            target = Target(
                args.target.rstrip("/"),
                args.stripe_api_base,
                args.stripe_api_key,
                args.webhook_secret,
                args.signup_rate_limit,
            )
        else:
            workdir = Path(scope.enter_context(tempfile.TemporaryDirectory(prefix="load-")))
            target = scope.enter_context(embedded_stack(args, workdir))
            if not args.quiet:
                print(
                    f"embedded stack: system {target.system_url} ({args.server_workers} "
                    f"workers, {target.database_url}), emulator {target.stripe_api_base}",
                    flush=True,
                )
        commands = locust_commands(args, target, report, free_port())
        if not args.quiet:
            processes = (
                f"1 master + {args.locust_workers} workers" if args.locust_workers else "1 process"
            )
            print(
                f"locust: {args.users} users for {args.duration:g} s ({processes}) against "
                f"{target.system_url}",
                flush=True,
            )
        deadline = time.monotonic() + args.duration + 120
        code = run_locust(commands, deadline, log)
    if not summary_path.exists():
        print(f"locust wrote no summary (exit {code}); its log, {log}:", file=sys.stderr)
        print("\n".join(log.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
        return code or 1
    summary = json.loads(summary_path.read_text())
    print(report_figures(summary), flush=True)
    if not args.quiet:
        print(f"reports: {report}/locust.html, {report}/locust_stats.csv, {summary_path}")
    return 0 if summary["passed"] and code == 0 else (code or 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rsolv-billing load", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

"""`rsolv-billing simulate`: run a simulation, print the table, write the report, exit 0
only when every check holds."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from simulator.staging.profile import load
from simulator.staging.results import RunConfig
from simulator.staging.runner import simulate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, help="population size (default: the profile's)")
    parser.add_argument("--months", type=int, help="simulated months (default: the profile's)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile", default="default", help="default, beta, launch, or a path to a TOML profile"
    )
    parser.add_argument("--report", type=Path, help="directory for report.json/html and plots")
    parser.add_argument("--database-url", help="embedded system's database (default: fresh SQLite)")
    parser.add_argument("--system-url", help="a deployed system instead of the embedded one")
    parser.add_argument("--stripe-api-base", help="a deployed Stripe emulator instead")
    parser.add_argument(
        "--via-stripe-cli",
        action="store_true",
        help="webhooks reach the system through the real `stripe listen`",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run the embedded system as N worker processes (0: in a thread)",
    )
    parser.add_argument("--concurrency", type=int, default=48, help="requests in flight at most")
    parser.add_argument(
        "--decline-all-cards",
        action="store_true",
        help="fault drill: the in-process emulator declines every card",
    )
    parser.add_argument("--duplicate-webhooks", type=float, default=0.0, metavar="RATE")
    parser.add_argument("--reorder-webhooks", type=float, default=0.0, metavar="RATE")
    parser.add_argument(
        "--chaos",
        action="store_true",
        help="fault drills from the seed: the system killed (SIGKILL) and restarted every "
        "week, Stripe slow or failing, database connections dropped (PostgreSQL), double "
        "clicks; what was left pending is settled, and the run must still reconcile",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no table")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from simulator.staging import report

    logging.getLogger("stripe").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    profile = load(args.profile)
    if args.chaos and args.system_url:
        raise SystemExit("--chaos kills the embedded system: it cannot drive --system-url")
    if args.decline_all_cards and args.stripe_api_base:
        raise SystemExit("--decline-all-cards needs the embedded (in-process) emulator")
    config = RunConfig(
        profile=profile,
        customers=args.customers if args.customers is not None else profile.customers,
        months=args.months if args.months is not None else profile.months,
        seed=args.seed,
        report_dir=args.report,
        database_url=args.database_url,
        system_url=args.system_url,
        stripe_api_base=args.stripe_api_base,
        via_stripe_cli=args.via_stripe_cli,
        workers=args.workers,
        concurrency=args.concurrency,
        decline_all_cards=args.decline_all_cards,
        duplicate_webhooks=args.duplicate_webhooks,
        reorder_webhooks=args.reorder_webhooks,
        chaos=args.chaos,
    )
    console = Console()
    if args.quiet:
        result = simulate(config)
    else:
        with Progress(
            TextColumn("simulating {task.fields[what]}"),
            BarColumn(),
            TextColumn("week {task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(
                "weeks", total=config.weeks, what=f"{config.customers} customers"
            )
            result = simulate(
                config, lambda stage, done, total: progress.update(task, completed=done)
            )
    figures = report.figures(
        result.lived,
        result.weeks,
        result.remote,
        result.webhook_attempts,
        config.months,
        faults=result.faults,
    )
    ok = report.passed(figures)
    rate = len(result.lived) / max(result.wall_seconds, 1e-9)
    if args.report:
        report.write(result, figures, args.report)
    if not args.quiet:
        console.print(report.table(result, figures))
        for who, problems in list(figures["disagreements"].items())[:20]:
            console.print(f"[red]{who}[/red]: " + "; ".join(problems[:5]), markup=True)
    print(
        f"{'PASSED' if ok else 'FAILED'}: {config.customers} customers x {config.months} months "
        f"in {result.wall_seconds:.1f} s ({rate:.1f} customers simulated per second)"
        + (f"; report in {args.report}" if args.report else ""),
        flush=True,
    )
    return 0 if ok else 1

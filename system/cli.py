"""The `rsolv-billing` command: serve, migrate, sync-stripe, stripe-worker, reconcile,
emulator, stack, simulate, load."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from system import cpu_priority
from system.billing.settlement import SETTLE_AFTER, SettlementReport
from system.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    return Settings(**overrides)


def cmd_migrate(args: argparse.Namespace) -> int:
    from system.db.migrate import upgrade

    settings = _settings(args)
    upgrade(settings.database_url, args.revision)
    print(f"database at {settings.database_url} is at revision {args.revision}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from system.db.migrate import upgrade

    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url  # the workers read settings from it
    settings = Settings()
    if not args.no_migrate:
        upgrade(settings.database_url)
    if not settings.stripe_webhook_secret:
        public_url = settings.public_url or f"http://{args.host}:{args.port}"
        secret = _register_webhook_endpoint(settings, public_url)
        if secret:
            os.environ["STRIPE_WEBHOOK_SECRET"] = secret  # every worker verifies with it
    uvicorn.run(
        "system.app:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )
    return 0


def _register_webhook_endpoint(settings: Settings, public_url: str) -> str | None:
    """Register our webhook URL at Stripe once, before the workers start; its secret."""
    from system.billing.stripe_events import HANDLED_EVENTS
    from system.stripe_gateway import StripeGateway, StripeRejected, StripeUnavailable

    gateway = StripeGateway(
        settings.stripe_api_key,
        settings.stripe_api_base,
        timeout_seconds=settings.stripe_timeout_seconds,
    )
    url = f"{public_url.rstrip('/')}/webhooks/stripe"

    async def register() -> str:
        try:
            return await gateway.register_webhook_endpoint(url, HANDLED_EVENTS)
        finally:
            await gateway.close()

    try:
        secret = asyncio.run(register())
    except (StripeUnavailable, StripeRejected) as error:
        logging.getLogger(__name__).warning("webhook endpoint not registered: %s", error)
        return None
    logging.getLogger(__name__).info("registered Stripe webhook endpoint %s", url)
    return secret


def cmd_sync_stripe(args: argparse.Namespace) -> int:
    from system.app import build_services

    services = build_services(_settings(args))

    async def run() -> dict[str, int]:
        try:
            return await services.provisioning.sync_pending(limit=args.limit, include_not_due=True)
        finally:
            await services.stripe.close()
            await services.engine.dispose()

    outcome = asyncio.run(run())
    print(json.dumps(outcome))
    return 0 if outcome["failed"] == 0 else 1


def cmd_stripe_worker(args: argparse.Namespace) -> int:
    """Create queued Stripe customers until SIGTERM or SIGINT; print the totals."""
    import signal

    from system.app import build_services
    from system.provisioning.worker import WorkerPolicy, run_worker

    cpu_priority.lower(args.priority)  # background work: the API's processes come first
    services = build_services(_settings(args))
    policy = WorkerPolicy(
        poll_seconds=args.poll_seconds, batch=args.batch, concurrency=args.concurrency
    )

    async def run() -> dict[str, int]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop_signal, stop.set)
        try:
            return await run_worker(
                services.provisioning, policy, stop, upkeep=services.billing.settlement.run
            )
        finally:
            await services.stripe.close()
            await services.engine.dispose()

    try:
        import uvloop  # with uvicorn[standard], except on Windows
    except ImportError:  # pragma: no cover
        totals = asyncio.run(run())
    else:
        totals = uvloop.run(run())
    print(json.dumps(totals), flush=True)
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Settle the money-moving intents a crash left pending, by asking Stripe; print each,
    and exit 1 if any could not be settled (Stripe away, a payment still processing)."""
    from datetime import timedelta

    from system.app import build_services

    services = build_services(_settings(args))

    async def run() -> SettlementReport:
        try:
            return await services.billing.settlement.run(
                timedelta(seconds=args.settle_after_seconds)
            )
        finally:
            await services.stripe.close()
            await services.engine.dispose()

    report = asyncio.run(run())
    for line in report.lines():
        print(line)
    print(report.summary())
    return 1 if report.unsettled else 0


def cmd_emulator(args: argparse.Namespace) -> int:
    from simulator.stripe_emulator.server import serve

    serve(host=args.host, port=args.port, persist_path=args.persist, seed=args.seed)
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    """The emulator (in a thread) and the app, on embedded defaults, in one process."""
    import uvicorn

    from simulator.stack import register_webhook_endpoint
    from simulator.stripe_emulator.server import EmulatorServer
    from system.app import create_app
    from system.db.migrate import upgrade

    with EmulatorServer(port=args.emulator_port, seed=args.seed) as emulator:
        settings = _settings(args).model_copy(update={"stripe_api_base": emulator.base_url})
        upgrade(settings.database_url)
        system_url = f"http://{args.host}:{args.port}"
        # The emulator's events reach the app, as in every other bring-up.
        secret = register_webhook_endpoint(emulator.base_url, settings.stripe_api_key, system_url)
        settings = settings.model_copy(update={"stripe_webhook_secret": secret})
        print(
            f"Stripe emulator: {emulator.base_url}  (stripe.api_base; any sk_test_ key)\n"
            f"System:          {system_url}  (database {settings.database_url})\n"
            f"Sign up:         {system_url}/signup\n"
            f"API:             curl -X POST {system_url}/api/v1/customers/onboard "
            "-H 'Content-Type: application/json' "
            '-d \'{"email": "ada@example.com", "name": "Ada"}\'',
            flush=True,
        )
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulated customers living through months of billing, with a report."""
    from simulator.staging.command import run

    return run(args)


def _load_module() -> Any:
    """`load/run.py` of the source tree (load/ sits beside system/; it is not packaged)."""
    import importlib
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module("load.run")


def cmd_load(args: argparse.Namespace) -> int:
    """The Locust scenarios, headless, with thresholds (load/run.py)."""
    result: int = _load_module().run(args)
    return result


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="rsolv-billing", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the app under uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--database-url")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    serve.set_defaults(handler=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--database-url")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(handler=cmd_migrate)

    sync = sub.add_parser("sync-stripe", help="create Stripe customers that signup deferred")
    sync.add_argument("--database-url")
    sync.add_argument("--limit", type=int, default=1000)
    sync.set_defaults(handler=cmd_sync_stripe)

    worker = sub.add_parser(
        "stripe-worker",
        help="create queued Stripe customers continuously (for STRIPE_SYNC_MODE=worker)",
    )
    worker.add_argument("--database-url")
    worker.add_argument("--poll-seconds", type=float, default=0.2)
    worker.add_argument("--batch", type=int, default=100)
    worker.add_argument("--concurrency", type=int, default=8)
    worker.add_argument(
        "--priority",
        choices=cpu_priority.PRIORITIES,
        default="idle",
        help="CPU priority: idle (only CPU time the API leaves; the default), low (nice 19)",
    )
    worker.set_defaults(handler=cmd_stripe_worker)

    reconcile = sub.add_parser(
        "reconcile",
        help="settle charges and subscriptions a crash left pending, by asking Stripe",
    )
    reconcile.add_argument("--database-url")
    reconcile.add_argument(
        "--settle-after-seconds",
        type=float,
        default=SETTLE_AFTER.total_seconds(),
        help="only intents pending longer than this (default: %(default)s, so no request "
        "still waiting on Stripe is touched; 0 when nothing is serving)",
    )
    reconcile.set_defaults(handler=cmd_reconcile)

    emulator = sub.add_parser("emulator", help="serve the offline Stripe API emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=12111)
    emulator.add_argument("--persist", help="SQLite file that keeps the emulator's state")
    emulator.add_argument("--seed", type=int, help="seed for ids, so runs repeat")
    emulator.set_defaults(handler=cmd_emulator)
    stack = sub.add_parser("stack", help="the emulator and the app together, embedded")
    stack.add_argument("--host", default="127.0.0.1")
    stack.add_argument("--port", type=int, default=8000)
    stack.add_argument("--emulator-port", type=int, default=12111)
    stack.add_argument("--database-url")
    stack.add_argument("--seed", type=int)
    stack.set_defaults(handler=cmd_stack)

    from simulator.staging.command import add_arguments

    simulate = sub.add_parser("simulate", help="simulated customers through months of billing")
    add_arguments(simulate)
    simulate.set_defaults(handler=cmd_simulate)

    load = sub.add_parser(
        "load", help="Locust load scenarios, headless, with thresholds (non-zero exit on failure)"
    )
    _load_module().add_arguments(load)
    load.set_defaults(handler=cmd_load)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("stripe").setLevel(logging.WARNING)  # not a line per API request
    args = parser().parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

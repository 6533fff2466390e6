"""The staging stack a simulation runs against: embedded (built here) or deployed (URLs).

Embedded: a fresh SQLite file, the Stripe emulator in this process, and the system served
by uvicorn, either in a thread of this process (its clock a ManualClock moved in step) or
as its own `rsolv-billing serve --workers N` processes (its clock a FileClock the
simulator writes). Webhooks reach the system directly, or through the real `stripe listen`
(`via_stripe_cli`). Deployed: the same journeys against `system_url` and
`stripe_api_base`; then the system's clock is whatever that deployment uses (give it
`SIMULATED_CLOCK_FILE` on a volume shared with the simulator, as docker-compose.yml does).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from simulator.servers import RestartableProcess, free_port
from simulator.stack import register_webhook_endpoint, restartable_system, system_in_thread
from system.app import build_services
from system.clock import FileClock, ManualClock


@dataclass
class Stack:
    """Where the simulation sends customers, and how it moves time and waits for webhooks."""

    system_url: str
    stripe_api_base: str
    stripe_api_key: str
    test_clock: str
    emulator: Any = None  # the in-process EmulatorServer (embedded), else None
    clock_file: str | None = None
    manual_clock: ManualClock | None = None
    cli_sessions: Any = None  # the emulator's `stripe listen` sessions (via_stripe_cli)
    system_process: RestartableProcess | None = None  # the embedded `serve`, in process mode
    notes: dict[str, Any] = field(default_factory=dict)

    def set_system_time(self, moment: datetime) -> None:
        if self.manual_clock is not None:
            self.manual_clock.set(moment)
        if self.clock_file:
            FileClock.write(self.clock_file, moment)

    async def wait_for_webhooks(self, http: httpx.AsyncClient, limit: float = 120.0) -> bool:
        """Until the emulator has delivered every webhook (and the CLI forwarded them)."""
        deadline = time.monotonic() + limit
        base = self.stripe_api_base
        while time.monotonic() < deadline:
            answer = await http.get(f"{base}/_emulator/webhooks/idle", params={"timeout": 10})
            idle = answer.status_code == 200 and answer.json().get("idle")
            if idle and self.cli_sessions is not None:
                sessions = (await http.get(f"{base}/_emulator/stripecli/sessions")).json()
                rows = sessions.get("data", sessions) if isinstance(sessions, dict) else sessions
                idle = all(not s.get("pending") for s in rows)
            if idle:
                return True
            await asyncio.sleep(0.02)
        return False


def _stripe(base: str, key: str) -> Any:
    import stripe

    return stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=2)


@contextlib.contextmanager
def embedded(
    workdir: Path,
    *,
    start: datetime,
    seed: int,
    workers: int = 0,
    via_stripe_cli: bool = False,
    database_url: str | None = None,
    stripe_api_base: str | None = None,
    system_url: str | None = None,
) -> Iterator[Stack]:
    """The stack, built here for what the URLs do not point at (or used as given)."""
    from simulator.stripe_emulator.server import EmulatorServer
    from system.settings import Settings

    key = f"sk_test_staging_{seed}_{os.getpid()}"
    if system_url is not None:
        # A deployed system: its Stripe account, test clock and clock file (the settings
        # it was started with, e.g. docker-compose.yml's environment) are ours too.
        deployed = Settings()
        key = deployed.stripe_api_key
    with contextlib.ExitStack() as stack:
        emulator = None
        if stripe_api_base is None:
            emulator = stack.enter_context(EmulatorServer(seed=seed))
            stripe_api_base = emulator.base_url
        client = _stripe(stripe_api_base, key)
        if system_url is not None and deployed.stripe_test_clock:
            test_clock = deployed.stripe_test_clock
        else:
            test_clock = client.v1.test_helpers.test_clocks.create(
                params={"frozen_time": int(start.timestamp()), "name": f"staging {seed}"}
            ).id
        if system_url is not None:
            result = Stack(
                system_url,
                stripe_api_base,
                key,
                test_clock,
                emulator,
                clock_file=deployed.simulated_clock_file,
            )
            result.notes["system"] = "deployed"
            yield result
            return
        if database_url is None:
            # A fresh file each run: a report folder used before keeps its old database.
            for stale in workdir.glob("staging.db*"):
                stale.unlink()
        db_url = database_url or f"sqlite:///{workdir / 'staging.db'}"
        from system.db.migrate import upgrade

        upgrade(db_url)
        if workers:
            yield stack.enter_context(
                _processes(
                    workdir,
                    db_url,
                    stripe_api_base,
                    key,
                    test_clock,
                    start,
                    workers,
                    emulator,
                    via_stripe_cli,
                )
            )
            return
        yield stack.enter_context(
            _threads(db_url, stripe_api_base, key, test_clock, start, emulator, via_stripe_cli)
        )


def _settings(db_url: str, base: str, key: str, test_clock: str, **extra: Any) -> Any:
    from system.settings import Settings

    return Settings(
        database_url=db_url,
        stripe_api_base=base,
        stripe_api_key=key,
        stripe_test_clock=test_clock,
        stripe_max_network_retries=2,
        stripe_timeout_seconds=30.0,
        signup_rate_limit=0,
        **extra,
    )


@contextlib.contextmanager
def _threads(
    db_url: str, base: str, key: str, test_clock: str, start: datetime, emulator: Any, cli: bool
) -> Iterator[Stack]:
    clock = ManualClock(start)
    services = build_services(_settings(db_url, base, key, test_clock), clock=clock)
    # through `stripe listen`, the CLI's secret; else the system's own endpoint's
    with system_in_thread(services, register_webhooks=not cli) as url:
        result = Stack(url, base, key, test_clock, emulator, manual_clock=clock)
        result.notes["system"] = "uvicorn in a thread"
        if cli:
            with _stripe_listen(base, key, url, emulator) as secret:
                services.stripe_webhook_secret = secret
                result.cli_sessions = True
                yield result
            return
        yield result


@contextlib.contextmanager
def _processes(
    workdir: Path,
    db_url: str,
    base: str,
    key: str,
    test_clock: str,
    start: datetime,
    workers: int,
    emulator: Any,
    cli: bool,
) -> Iterator[Stack]:
    """`rsolv-billing serve --workers N` as its own processes, its clock in a file."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    clock_file = str(workdir / "clock")
    FileClock.write(clock_file, start)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "STRIPE_API_BASE": base,
        "STRIPE_API_KEY": key,
        "STRIPE_TEST_CLOCK": test_clock,
        "STRIPE_MAX_NETWORK_RETRIES": "2",
        "STRIPE_TIMEOUT_SECONDS": "30",
        "SIGNUP_RATE_LIMIT": "0",
        "SIMULATED_CLOCK_FILE": clock_file,
        "PUBLIC_URL": url,
    }
    with contextlib.ExitStack() as stack:
        if cli:
            env["STRIPE_WEBHOOK_SECRET"] = stack.enter_context(
                _stripe_listen(base, key, url, emulator)
            )
        else:
            # Registered once here, not by each `serve` start: a restart (a fault drill's)
            # keeps the secret that the deliveries still in flight are signed with.
            env["STRIPE_WEBHOOK_SECRET"] = register_webhook_endpoint(base, key, url)
        system = stack.enter_context(
            restartable_system(port, workers, env, log=workdir / "system.log")
        )
        result = Stack(url, base, key, test_clock, emulator, clock_file=clock_file)
        result.system_process = system
        result.cli_sessions = True if cli else None
        result.notes["system"] = f"rsolv-billing serve --workers {workers}"
        yield result


@contextlib.contextmanager
def _stripe_listen(base: str, key: str, system_url: str, emulator: Any) -> Iterator[str]:
    """The real `stripe listen` forwarding to the system; yields its signing secret."""
    from simulator.stripe_cli import StripeCLI
    from system.billing.stripe_events import HANDLED_EVENTS

    with StripeCLI(base, key) as cli:
        secret = cli.print_secret()
        proc = cli.popen(
            "listen",
            "--events",
            ",".join(HANDLED_EVENTS),
            "--forward-to",
            f"{system_url}/webhooks/stripe",
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                rows = httpx.get(f"{base}/_emulator/stripecli/sessions", timeout=5).json()
                rows = rows.get("data", rows) if isinstance(rows, dict) else rows
                if any(s.get("connected") for s in rows):
                    break
                if proc.poll() is not None:
                    raise RuntimeError(f"stripe listen exited: {cli.output()}")
                time.sleep(0.05)
            else:
                raise RuntimeError(f"stripe listen did not connect: {cli.output()}")
            yield secret
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

"""Bringing up the stack on loopback: the Stripe emulator and the system, and the webhook
endpoint that joins them.

One way to do each step, shared by `rsolv-billing simulate` (`simulator/staging/stack.py`),
`rsolv-billing load` and the benchmarks (`load/run.py`, `load/stack.py`) and the test
fixtures (`conftest.py`): the emulator as an `rsolv-billing emulator` process (or, in
process, `simulator.stripe_emulator.EmulatorServer`), the system as `rsolv-billing serve
--workers N` processes or under uvicorn in a thread of this process, each waited for until
it answers, and the system's webhook endpoint registered at the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from simulator.servers import RestartableProcess, ServerThread, server_process
from system.app import create_app
from system.billing.stripe_events import HANDLED_EVENTS
from system.services import Services
from system.stripe_gateway import StripeGateway

CLI = [sys.executable, "-m", "system.cli"]


def register_webhook_endpoint(stripe_api_base: str, stripe_api_key: str, system_url: str) -> str:
    """Register `<system_url>/webhooks/stripe` at Stripe (the emulator) for every event the
    system handles, replacing older endpoints for that URL; the endpoint's signing secret."""
    gateway = StripeGateway(stripe_api_key, stripe_api_base, max_network_retries=0)
    url = f"{system_url.rstrip('/')}/webhooks/stripe"

    async def register() -> str:
        try:
            return await gateway.register_webhook_endpoint(url, HANDLED_EVENTS)
        finally:
            await gateway.close()

    return asyncio.run(register())


@contextlib.contextmanager
def emulator_process(
    port: int, env: dict[str, str], *, seed: int | None = None, log: Path | None = None
) -> Iterator[str]:
    """`rsolv-billing emulator` on `port` until the block ends, once it answers; its URL."""
    url = f"http://127.0.0.1:{port}"
    command = [*CLI, "emulator", "--port", str(port)]
    if seed is not None:
        command += ["--seed", str(seed)]
    with server_process(command, env, f"{url}/_emulator/health", log):
        yield url


@contextlib.contextmanager
def restartable_system(
    port: int, workers: int, env: dict[str, str], *, log: Path | None = None
) -> Iterator[RestartableProcess]:
    """`rsolv-billing serve --workers N` (migrations already applied) on `port` until the
    block ends, once it answers, as a process a fault drill may kill and start again. Its
    settings are `env`'s."""
    url = f"http://127.0.0.1:{port}"
    command = [*CLI, "serve", "--port", str(port), "--no-migrate"]
    command += ["--workers", str(workers), "--log-level", "warning"]
    system = RestartableProcess(command, env, f"{url}/health", log)
    system.start()
    try:
        yield system
    finally:
        system.stop()


@contextlib.contextmanager
def system_processes(
    port: int, workers: int, env: dict[str, str], *, log: Path | None = None
) -> Iterator[str]:
    """`restartable_system`, for a caller that only needs its URL."""
    with restartable_system(port, workers, env, log=log):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def system_in_thread(services: Services, *, register_webhooks: bool = True) -> Iterator[str]:
    """The system on `services` under uvicorn in a thread of this process (no background
    upkeep: the caller moves time); with `register_webhooks`, registered as the webhook
    endpoint of its Stripe, whose secret it then verifies with. Its URL."""
    app = create_app(services=services, background_tasks=False)
    with ServerThread(app) as server:
        if register_webhooks:
            settings = services.settings
            services.stripe_webhook_secret = register_webhook_endpoint(
                settings.stripe_api_base, settings.stripe_api_key, server.url
            )
        yield server.url

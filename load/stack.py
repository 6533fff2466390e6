"""Start the emulator and the system as real server processes on loopback, for benchmarks
(each started the one way `simulator/stack.py` has), on a fresh database."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from simulator.servers import free_port, wait_until_up
from simulator.servers import server_process as process
from simulator.stack import CLI, emulator_process, system_processes

__all__ = ["Stack", "free_port", "fresh_database", "process", "running_stack", "wait_until_up"]


@dataclass(frozen=True)
class Stack:
    system_url: str
    emulator_url: str
    database_url: str


def fresh_database(kind: str, workdir: Path) -> str:
    """A new, empty database of `kind` ("sqlite" or "postgresql"), migrated."""
    from system.db.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
    else:
        import asyncio

        import asyncpg

        server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
        name = f"rsolv_bench_{uuid.uuid4().hex[:8]}"

        async def create() -> None:
            conn = await asyncpg.connect(server.replace("postgresql+asyncpg", "postgresql"))
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        url = server.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


@contextlib.contextmanager
def running_stack(
    database_url: str, workers: int = 1, stripe_worker: bool = False
) -> Iterator[Stack]:
    """The emulator and the system as separate uvicorn processes; with `stripe_worker`,
    signups leave their Stripe customer to a `stripe-worker` process (STRIPE_SYNC_MODE)."""
    emulator_port, system_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "STRIPE_API_BASE": f"http://127.0.0.1:{emulator_port}",
        "STRIPE_API_KEY": "sk_test_rsolv_benchmark",
        "SIGNUP_RATE_LIMIT": "0",
        "WEB_CONCURRENCY": str(workers),
        "STRIPE_SYNC_MODE": "worker" if stripe_worker else "after_response",
    }
    with contextlib.ExitStack() as running:
        emulator_url = running.enter_context(emulator_process(emulator_port, env))
        system_url = running.enter_context(system_processes(system_port, workers, env))
        if stripe_worker:
            running.enter_context(process([*CLI, "stripe-worker"], env, None))
        yield Stack(system_url, emulator_url, database_url)

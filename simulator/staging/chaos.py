"""Fault drills for a staging run (`rsolv-billing simulate --chaos`), from a seed.

Each week, while customers act: the embedded system is killed with SIGKILL at a random
moment and started again (Stripe is made slow first in some weeks, so that kills also land
between a Stripe call and its record); Stripe is slow or failing for the week's stretch;
the database's connections are dropped (PostgreSQL); customers double-click fix and
subscribe requests (two requests, no shared Idempotency-Key: the system must make one
intent of them). After the last week, `rsolv-billing reconcile` settles whatever the kills
left pending, and the run is reconciled as always: it passes only with 0 disagreements.

Stripe's faults are set through the emulator's control route (`/_emulator/faults`): an
emulator-only drill, skipped against any other Stripe.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from sqlalchemy import text

from simulator.stack import CLI
from simulator.staging.behaviour import Kind
from simulator.staging.stack import Stack
from system.db.engine import create_engine

DOUBLE_CLICKED = frozenset({Kind.DEPLOY_FIXES, Kind.SUBSCRIBE})
# The customers' client keeps trying while the system restarts (about 20 s in all).
ATTEMPTS_UNDER_CHAOS = 15


@dataclass
class FaultLog:
    """What the drills did, for the report."""

    system_kills: int = 0
    stripe_slow_weeks: int = 0
    stripe_failing_weeks: int = 0
    database_drops: int = 0
    double_clicks: int = 0
    settled_after_run: int = 0
    unsettled_after_run: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Chaos:
    def __init__(self, seed: int, stack: Stack, database_url: str | None) -> None:
        self._random = random.Random(f"chaos-{seed}")
        self._stack = stack
        self._database_url = database_url
        self._drills: list[asyncio.Task[None]] = []
        self.log = FaultLog()

    def double_click(self, kind: Kind) -> bool:
        clicked = kind in DOUBLE_CLICKED and self._random.random() < 0.3
        self.log.double_clicks += clicked
        return clicked

    async def begin_week(self, control: httpx.AsyncClient) -> None:
        """Set the week's Stripe weather and schedule its kill and database drop."""
        roll = self._random.random()
        if roll < 0.35:
            self.log.stripe_slow_weeks += 1
            await self._stripe_faults(control, latency_ms=150, latency_jitter_ms=900)
        elif roll < 0.55:
            self.log.stripe_failing_weeks += 1
            await self._stripe_faults(control, error_rate=0.2, seed=self._random.randrange(1000))
        if self._stack.system_process is not None:
            self._drills.append(asyncio.create_task(self._kill(self._random.uniform(0.05, 1.2))))
        if self._is_postgres() and self._random.random() < 0.5:
            self._drills.append(asyncio.create_task(self._drop(self._random.uniform(0.0, 1.0))))

    async def end_week(self, control: httpx.AsyncClient) -> None:
        """The week's drills finished and Stripe fair again (before time moves on)."""
        drills, self._drills = self._drills, []
        await asyncio.gather(*drills)
        if self._stack.emulator is not None:
            await control.post(f"{self._stack.stripe_api_base}/_emulator/faults", json={})

    def settle(self) -> None:
        """`rsolv-billing reconcile` against the embedded system's database: every intent
        the kills left pending is finished or given up by asking Stripe."""
        system = self._stack.system_process
        if system is None:
            return
        run = subprocess.run(
            [*CLI, "reconcile", "--settle-after-seconds", "0"],
            env=system.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = [line for line in run.stdout.splitlines() if " -> " in line]
        self.log.unsettled_after_run = sum(line.endswith("-> unsettled") for line in lines)
        self.log.settled_after_run = len(lines) - self.log.unsettled_after_run
        if run.returncode not in (0, 1):
            raise RuntimeError(f"rsolv-billing reconcile failed: {run.stderr[-2000:]}")

    async def _stripe_faults(self, control: httpx.AsyncClient, **config: Any) -> None:
        if self._stack.emulator is None:
            return
        await control.post(
            f"{self._stack.stripe_api_base}/_emulator/faults",
            json={"path_prefix": "/v1/", "methods": ["POST"], **config},
        )

    async def _kill(self, delay: float) -> None:
        await asyncio.sleep(delay)
        system = self._stack.system_process
        assert system is not None
        await asyncio.to_thread(system.kill)
        self.log.system_kills += 1
        await asyncio.to_thread(system.start)

    def _is_postgres(self) -> bool:
        return bool(self._database_url and self._database_url.startswith("postgresql"))

    async def _drop(self, delay: float) -> None:
        await asyncio.sleep(delay)
        assert self._database_url is not None
        await drop_database_connections(self._database_url)
        self.log.database_drops += 1


async def drop_database_connections(database_url: str) -> None:
    """Terminate every other connection to the PostgreSQL database: what a failover or a
    restarted server does to a pool."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await engine.dispose()

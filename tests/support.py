"""The test harness: the system under test and what the tests do with it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.sql import Executable
from starlette.testclient import TestClient

from system.clock import ManualClock
from system.db.engine import create_engine
from system.services import Services

T = TypeVar("T")


@dataclass
class SystemUnderTest:
    """The app on a real database, talking to the emulator over HTTP."""

    client: TestClient
    services: Services
    clock: ManualClock
    emulator: object
    stripe_key: str

    def call(self, function: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run an async function of the system on the app's own event loop."""
        assert self.client.portal is not None
        return self.client.portal.call(partial(function, *args, **kwargs))

    def scalar(self, query: Executable) -> Any:
        """One value from the system's database."""

        async def run() -> Any:
            async with self.services.engine.connect() as connection:
                return (await connection.execute(query)).scalar_one()

        return self.call(run)


def eventually(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Call `check` until it returns without raising AssertionError (and is truthy)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result or result is None:
                return result
            raise AssertionError(f"{check.__name__} returned {result!r}")
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)


@dataclass
class LiveSystem:
    """The app served over HTTP (so the emulator's webhooks reach it), its customers on a
    Stripe test clock, the system's clock moved with it."""

    http: Any  # httpx.Client at the system
    services: Services
    clock: ManualClock
    stripe: Any  # stripe.StripeClient at the emulator, same account as the system
    test_clock: str
    url: str

    def advance(self, **delta: float) -> None:
        """Move the test clock (and with it renewals, invoices, retries) and our clock."""
        from datetime import timedelta

        target = self.clock.now() + timedelta(**delta)
        # Ours first: the webhooks the advance sets off are handled at the new time.
        self.clock.set(target)
        self.stripe.v1.test_helpers.test_clocks.advance(
            self.test_clock, params={"frozen_time": int(target.timestamp())}
        )

    def scalar(self, query: Executable) -> Any:
        return database_scalar(self.services.settings.database_url, query)


def database_scalar(database_url: str, query: Executable) -> Any:
    """One value from a database, read on a connection of its own (from any thread)."""

    async def run() -> Any:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return (await connection.execute(query)).scalar_one()
        finally:
            await engine.dispose()

    return asyncio.run(run())


LIVE_SYSTEM_START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@contextlib.contextmanager
def running_live_system(
    database_url: str, emulator: Any, stripe_key: str, start: datetime = LIVE_SYSTEM_START
) -> Iterator[LiveSystem]:
    """The system on `database_url` under uvicorn in a thread, registered as the webhook
    endpoint of `emulator`'s account for `stripe_key` (a fresh key: a fresh account), its
    customers on a new Stripe test clock frozen at `start`, the system's clock with it.
    On the way out the emulator's faults are cleared and the endpoint deleted."""
    import httpx
    import stripe

    from simulator.stack import system_in_thread
    from system.app import build_services
    from system.settings import Settings

    client = stripe.StripeClient(
        stripe_key, base_addresses={"api": emulator.base_url}, max_network_retries=0
    )
    test_clock = client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": int(start.timestamp()), "name": "features"}
    )
    settings = Settings(
        database_url=database_url,
        stripe_api_base=emulator.base_url,
        stripe_api_key=stripe_key,
        stripe_max_network_retries=0,
        stripe_test_clock=test_clock.id,
        signup_rate_limit=0,
    )
    clock = ManualClock(start)
    services = build_services(settings, clock=clock)
    with system_in_thread(services) as url, httpx.Client(base_url=url, timeout=30) as http:
        try:
            yield LiveSystem(http, services, clock, client, test_clock.id, url)
        finally:
            emulator.state.faults.clear()
            # No deliveries to a server that is about to stop.
            for endpoint in client.v1.webhook_endpoints.list().data:
                client.v1.webhook_endpoints.delete(endpoint.id)


def postgres_admin(url: str, statement: str) -> None:
    """Run one statement on the PostgreSQL server of `url` (outside a transaction)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    async def run() -> None:
        target = make_url(url).set(drivername="postgresql")
        connection = await asyncpg.connect(
            host=target.host,
            port=target.port or 5432,
            user=target.username,
            password=target.password,
            database=target.database,
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def fresh_database(migrated_database: str, directory: Path) -> str:
    """A migrated, empty database: a copy of the SQLite template `migrated_database` in
    `directory`, or, on PostgreSQL, that database with every table truncated. Its URL."""
    import shutil

    from sqlalchemy.engine import make_url

    from system.db.tables import metadata

    if make_url(migrated_database).get_backend_name() == "sqlite":
        template = Path(make_url(migrated_database).database or "")
        copy = directory / "rsolv.db"
        shutil.copy(template, copy)
        return f"sqlite:///{copy}"
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    postgres_admin(migrated_database, f"TRUNCATE {tables} CASCADE")
    return migrated_database

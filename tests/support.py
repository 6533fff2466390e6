"""The test harness: the system under test and what the tests do with it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
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

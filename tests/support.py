"""The test harness: the system under test and what the tests do with it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.sql import Executable
from starlette.testclient import TestClient

from system.clock import ManualClock
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

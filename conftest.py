"""Fixtures shared by the unit tests (`tests/`) and the acceptance specs (`features/`).

The database is real: a migrated SQLite file per test by default, or, when DATABASE_URL
points at PostgreSQL, a database made for this run, migrated once and truncated per test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from system.app import build_services, create_app
from system.clock import ManualClock
from system.db.migrate import upgrade
from system.settings import Settings
from tests.support import (
    LiveSystem,
    SystemUnderTest,
    fresh_database,
    postgres_admin,
    running_live_system,
)

TEST_STRIPE_KEY = "sk_test_rsolv_suite_0000"

# Hypothesis's default 200 ms deadline per example is a timed assertion, and the machines
# are shared: a first example that imports or compiles, on a busy core, failed it.
hypothesis_settings.register_profile("rsolv", deadline=None)
# ci/mutation.sh: the same examples for every mutant (a fixed seed per test) and no failing
# example carried from one mutant to the next, so the score is reproducible; no shrinking,
# since a mutant is killed by the first failing example and shrinking one can take longer
# than the mutant's time limit.
hypothesis_settings.register_profile(
    "rsolv-mutation",
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
hypothesis_settings.load_profile(os.environ.get("RSOLV_HYPOTHESIS_PROFILE", "rsolv"))


def postgres_server() -> Iterator[str | None]:
    """The PostgreSQL server the run uses: DATABASE_URL (what CI sets), or, with
    TEST_POSTGRES=testcontainers, a throwaway container (needs a Docker engine: without
    one the run stops with the reason, it does not fall back silently); else None."""
    if os.environ.get("TEST_POSTGRES") == "testcontainers":
        try:
            from testcontainers.postgres import PostgresContainer

            container = PostgresContainer("postgres:16-alpine", driver=None).start()
        except Exception as error:
            pytest.exit(f"TEST_POSTGRES=testcontainers needs Docker: {error}", returncode=4)
        try:
            yield container.get_connection_url()
        finally:
            container.stop()
        return
    yield os.environ.get("DATABASE_URL")


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head for this run: its URL."""
    servers = postgres_server()
    server_url = next(servers)
    if server_url and make_url(server_url).get_backend_name() == "postgresql":
        name = f"rsolv_test_{uuid.uuid4().hex[:12]}"
        postgres_admin(server_url, f'CREATE DATABASE "{name}"')
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        try:
            upgrade(url)
            yield url
        finally:
            postgres_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            servers.close()
        return
    template = tmp_path_factory.mktemp("db") / "template.db"
    url = f"sqlite:///{template}"
    upgrade(url)
    yield url


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> str:
    """A migrated, empty database for one test."""
    return fresh_database(migrated_database, tmp_path)


@pytest.fixture(scope="session")
def emulator() -> Iterator[object]:
    """The Stripe emulator, served over HTTP on a free loopback port for the whole run."""
    from simulator.stripe_emulator.server import EmulatorServer

    with EmulatorServer() as server:
        yield server


@pytest.fixture
def settings(database_url: str, emulator: object) -> Settings:
    return Settings(
        database_url=database_url,
        stripe_api_base=emulator.base_url,  # type: ignore[attr-defined]
        stripe_api_key=f"{TEST_STRIPE_KEY}_{uuid.uuid4().hex[:8]}",
        stripe_max_network_retries=0,
        stripe_timeout_seconds=2.0,
        signup_rate_limit=1000,
    )


@pytest.fixture
def system(settings: Settings, emulator: object) -> Iterator[SystemUnderTest]:
    clock = ManualClock()
    services = build_services(settings, clock=clock)
    app = create_app(services=services, background_tasks=False)
    try:
        with TestClient(app, raise_server_exceptions=True) as client:
            yield SystemUnderTest(client, services, clock, emulator, settings.stripe_api_key)
    finally:
        emulator.state.faults.clear()  # type: ignore[attr-defined]


@pytest.fixture
def live_system(database_url: str, emulator: Any) -> Iterator[LiveSystem]:
    """The system under uvicorn, registered as the emulator's webhook endpoint."""
    key = f"{TEST_STRIPE_KEY}_{uuid.uuid4().hex[:8]}"
    with running_live_system(database_url, emulator, key) as live:
        yield live

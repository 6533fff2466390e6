"""Database trouble answers 503 with Retry-After, never a 500 or a hang (issue 15)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from simulator.staging.chaos import drop_database_connections
from system.app import build_services, create_app
from system.provisioning import api_keys
from system.settings import Settings
from tests.support import SystemUnderTest


@pytest.fixture
def lenient(system: SystemUnderTest) -> Iterator[TestClient]:
    """The system's client, showing a 500 as the answer it is rather than as an exception
    (a second client would run the app on another event loop than its pooled connections)."""
    system.client.raise_server_exceptions = False
    try:
        yield system.client
    finally:
        system.client.raise_server_exceptions = True


def _key(system: SystemUnderTest) -> dict[str, str]:
    answer = system.client.post(
        "/api/v1/customers/onboard", json={"email": "db@example.com", "name": "Db"}
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['api_key']}"}


def test_dropped_connections_answer_503_or_succeed(
    system: SystemUnderTest, lenient: TestClient
) -> None:
    if system.services.engine.dialect.name != "postgresql":
        pytest.skip("drops server connections: PostgreSQL only (DATABASE_URL)")
    headers = _key(system)
    for _ in range(3):  # fill the pool with connections
        assert lenient.get("/api/v1/me", headers=headers).status_code == 200

    asyncio.run(drop_database_connections(system.services.settings.database_url))
    statuses = [lenient.get("/api/v1/me", headers=headers) for _ in range(5)]
    assert all(a.status_code in (200, 503) for a in statuses), [a.text for a in statuses]
    for answer in statuses:
        if answer.status_code == 503:
            assert answer.headers["retry-after"]
    assert statuses[-1].status_code == 200  # the pool mends itself


def test_an_unreachable_database_is_a_503_with_retry_after(settings: Settings) -> None:
    unreachable = settings.model_copy(
        update={"database_url": "postgresql://nobody@127.0.0.1:1/none"}
    )
    app = create_app(services=build_services(unreachable), background_tasks=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        key = {"Authorization": "Bearer rsolv_test_" + "a" * api_keys.LOOKUP_LENGTH + "_secret"}
        answers = [
            client.get("/api/v1/billing/credits", headers=key),
            client.post("/api/v1/customers/onboard", json={"email": "x@example.com", "name": "X"}),
        ]
        health = client.get("/health")
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"]
        assert answer.headers["content-type"] == "application/problem+json"
    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "database": "unavailable"}

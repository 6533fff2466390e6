"""Database trouble answers 503 with Retry-After, never a 500 or a hang (issue 15)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from system.db.engine import create_engine
from tests.support import SystemUnderTest


@pytest.fixture
def lenient(system: SystemUnderTest) -> Iterator[TestClient]:
    """A client of the same app that shows a 500 as the answer it is, not as an exception."""
    with TestClient(system.client.app, raise_server_exceptions=False) as client:
        yield client


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

    async def drop_every_other_connection() -> None:
        engine = create_engine(system.services.settings.database_url)
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

    asyncio.run(drop_every_other_connection())
    statuses = [lenient.get("/api/v1/me", headers=headers) for _ in range(5)]
    assert all(a.status_code in (200, 503) for a in statuses), [a.text for a in statuses]
    for answer in statuses:
        if answer.status_code == 503:
            assert answer.headers["retry-after"]
    assert statuses[-1].status_code == 200  # the pool mends itself


def test_an_unreachable_database_is_a_503_with_retry_after(
    system: SystemUnderTest, lenient: TestClient
) -> None:
    headers = _key(system)
    original = system.services.engine
    system.call(original.dispose)
    system.services.engine = create_engine("postgresql://nobody@127.0.0.1:1/none")
    try:
        answer = lenient.get("/api/v1/billing/credits", headers=headers)
        health = lenient.get("/health")
    finally:
        system.services.engine = original
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"]
    assert answer.headers["content-type"] == "application/problem+json"
    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "database": "unavailable"}

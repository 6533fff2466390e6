"""The app's HTTP plumbing: health, metrics, problem documents for every failure."""

from __future__ import annotations

from typing import Any

from tests.support import SystemUnderTest


def test_health_checks_the_database(system: SystemUnderTest) -> None:
    response = system.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_reports_a_dead_database(system: SystemUnderTest) -> None:
    from system.db.engine import create_engine

    async def swap() -> None:
        await system.services.engine.dispose()

    system.call(swap)
    original = system.services.engine
    system.services.engine = create_engine("postgresql://nobody@127.0.0.1:1/none")
    try:
        response = system.client.get("/health")
    finally:
        system.services.engine = original
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_metrics_expose_the_provisioning_histogram(system: SystemUnderTest) -> None:
    system.client.post("/api/v1/customers/onboard", json={"email": "m@example.com", "name": "M"})
    text = system.client.get("/metrics").text
    assert "rsolv_provisioning_seconds_bucket" in text
    assert 'rsolv_signups_total{outcome="created"} 1.0' in text
    assert 'rsolv_stripe_customer_syncs_total{outcome="synced"} 1.0' in text


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_unknown_paths_and_methods_are_problems(system: SystemUnderTest) -> None:
    assert _problem(system.client.get("/api/v1/nothing"), 404)["title"] == "Not Found"
    assert _problem(system.client.put("/api/v1/me"), 405)["title"] == "Method Not Allowed"


def test_oversized_bodies_are_refused(system: SystemUnderTest) -> None:
    big = b'{"email": "' + b"a" * 70_000 + b'"}'
    body = _problem(system.client.post("/api/v1/customers/onboard", content=big), 413)
    assert body["type"] == "/problems/payload-too-large"

    def chunks() -> Any:
        yield b'{"name": "'
        for _ in range(70):
            yield b"x" * 1024
        yield b'"}'

    streamed = system.client.post(
        "/api/v1/customers/onboard",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert _problem(streamed, 413)["type"] == "/problems/payload-too-large"


def test_an_empty_body_is_a_validation_error(system: SystemUnderTest) -> None:
    body = _problem(system.client.post("/api/v1/customers/onboard", content=b""), 422)
    assert {e["field"] for e in body["errors"]} == {"email", "name"}


def test_a_bad_idempotency_key_is_refused(system: SystemUnderTest) -> None:
    response = system.client.post(
        "/api/v1/customers/onboard",
        json={"email": "i@example.com", "name": "I"},
        headers={"Idempotency-Key": "k" * 300},
    )
    assert _problem(response, 400)["type"] == "/problems/bad-idempotency-key"


def test_revoking_a_key_that_is_not_yours_is_not_found(system: SystemUnderTest) -> None:
    key = system.client.post(
        "/api/v1/customers/onboard", json={"email": "r@example.com", "name": "R"}
    ).json()["api_key"]
    response = system.client.delete("/api/v1/api-keys/key_nope", headers={"X-Api-Key": key})
    assert _problem(response, 404)["detail"] == "No such API key."


def test_unexpected_errors_are_problems_without_details(system: SystemUnderTest) -> None:
    from starlette.testclient import TestClient

    from system.app import create_app

    app = create_app(services=system.services, background_tasks=False)

    async def boom(request: Any) -> Any:
        raise RuntimeError("secret internals")

    app.add_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    body = _problem(response, 500)
    assert "secret" not in response.text
    assert body["detail"] == "An unexpected error occurred."


def test_a_suspended_customer_keys_are_refused(system: SystemUnderTest) -> None:
    from sqlalchemy import update

    from system.db.tables import customers

    created = system.client.post(
        "/api/v1/customers/onboard", json={"email": "sus@example.com", "name": "S"}
    ).json()
    headers = {"X-Api-Key": created["api_key"]}
    assert system.client.get("/api/v1/me", headers=headers).status_code == 200

    async def suspend() -> None:
        async with system.services.engine.begin() as connection:
            await connection.execute(
                update(customers)
                .where(customers.c.id == created["customer"]["id"])
                .values(status="suspended")
            )

    system.call(suspend)
    body = _problem(system.client.get("/api/v1/me", headers=headers), 403)
    assert body["type"] == "/problems/account-suspended"
    fix = {"fix_id": "f", "repo": "a/b", "pr_number": 1}
    assert (
        system.client.post("/api/v1/usage/fix-deployed", json=fix, headers=headers).status_code
        == 403
    )


def test_maintenance_forgets_old_idempotent_answers(system: SystemUnderTest) -> None:
    from system.app import maintain

    body = {"email": "idem@example.com", "name": "I"}
    headers = {"Idempotency-Key": "k-maintain"}
    assert (
        system.client.post("/api/v1/customers/onboard", json=body, headers=headers).status_code
        == 201
    )
    assert system.call(maintain, system.services)["idempotency_purged"] == 0
    system.clock.advance(hours=25)
    outcome = system.call(maintain, system.services)
    assert outcome["idempotency_purged"] == 1
    # The key is free again, and the address is still taken.
    again = system.client.post("/api/v1/customers/onboard", json=body, headers=headers)
    assert again.status_code == 409


def test_sessions_live_only_where_people_sign_in(system: SystemUnderTest) -> None:
    """The API never sets a cookie; the dashboard's forms carry their CSRF token in one."""
    api = system.client.post(
        "/api/v1/customers/onboard", json={"email": "cookie@example.com", "name": "C"}
    )
    assert api.status_code == 201 and "set-cookie" not in api.headers
    page = system.client.get("/dashboard/login")
    assert page.status_code == 200 and "rsolv_session=" in page.headers["set-cookie"]

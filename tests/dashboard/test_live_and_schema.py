"""Live updates over server-sent events on the served app, and the schema's migration."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from system.dashboard.routes import DashboardEndpoints
from system.db.migrate import downgrade, upgrade
from system.db.tables import metadata
from tests.dashboard.helpers import CSRF
from tests.support import LiveSystem


def _events(lines: Any, count: int) -> list[dict[str, Any]]:
    found, event = [], None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "update":
            found.append(json.loads(line[6:]))
            if len(found) == count:
                break
    return found


def test_the_balance_updates_live_when_a_fix_is_charged(live_system: LiveSystem) -> None:
    http = live_system.http
    token = CSRF.search(http.get("/dashboard/signup").text)
    assert token
    page = http.post(
        "/dashboard/signup",
        data={"email": "live@example.com", "name": "Live", "csrf_token": token.group(1)},
    )
    assert page.status_code == 201
    key = page.text.split('id="new-key">')[1].split("<")[0]

    def deploy() -> None:
        with httpx.Client(base_url=live_system.url) as other:
            fix = {"fix_id": "live-1", "repo": "acme/api", "pr_number": 1}
            response = other.post(
                "/api/v1/usage/fix-deployed", json=fix, headers={"X-Api-Key": key}
            )
            assert response.status_code == 201

    with http.stream("GET", "/dashboard/events", timeout=20) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        first = _events(lines, 1)[0]
        assert (first["what"], first["credit_balance"], first["fixes_this_period"]) == (
            "hello",
            5,
            0,
        )
        worker = threading.Thread(target=deploy)
        worker.start()
        second = _events(lines, 1)[0]
        worker.join()
    assert (second["what"], second["credit_balance"], second["fixes_this_period"]) == (
        "fix",
        4,
        1,
    )


def test_the_stream_ends_and_keeps_alive(live_system: LiveSystem) -> None:
    http = live_system.http
    token = CSRF.search(http.get("/dashboard/signup").text)
    assert token
    http.post(
        "/dashboard/signup",
        data={"email": "short@example.com", "name": "S", "csrf_token": token.group(1)},
    )
    original = DashboardEndpoints.stream_seconds, DashboardEndpoints.heartbeat_seconds
    DashboardEndpoints.stream_seconds, DashboardEndpoints.heartbeat_seconds = 0.3, 0.1
    try:
        with http.stream("GET", "/dashboard/events", timeout=10) as stream:
            lines = list(stream.iter_lines())
    finally:
        DashboardEndpoints.stream_seconds, DashboardEndpoints.heartbeat_seconds = original
    assert "retry: 2000" in lines and ": keep-alive" in lines


def test_migrations_match_the_tables(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade(url)
    downgrade(url, "0002")
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert diff == []

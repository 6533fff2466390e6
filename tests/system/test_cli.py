"""The `rsolv-billing` command, run as a real process where it serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from load.stack import free_port, wait_until_up
from system.cli import main
from tests.support import SystemUnderTest, eventually


def test_migrate_creates_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert main(["migrate", "--database-url", url]) == 0
    assert "is at revision head" in capsys.readouterr().out
    assert (tmp_path / "fresh.db").exists()


def test_sync_stripe_reports_and_fails_while_stripe_is_down(
    system: SystemUnderTest, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = system.services.settings
    monkeypatch.setenv("STRIPE_API_BASE", settings.stripe_api_base)
    monkeypatch.setenv("STRIPE_API_KEY", settings.stripe_api_key)
    monkeypatch.setenv("STRIPE_MAX_NETWORK_RETRIES", "0")
    system.emulator.state.faults.configure(error_rate=1.0)  # type: ignore[attr-defined]
    response = system.client.post(
        "/api/v1/customers/onboard", json={"email": "cli@example.com", "name": "C"}
    )
    assert response.status_code == 201
    args = ["sync-stripe", "--database-url", settings.database_url]
    assert main(args) == 1
    assert json.loads(capsys.readouterr().out) == {"synced": 0, "failed": 1}
    system.emulator.state.faults.clear()  # type: ignore[attr-defined]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == {"synced": 1, "failed": 0}


def test_serve_and_emulator_run_as_processes(tmp_path: Path) -> None:
    """serve migrates, registers its webhook endpoint at Stripe, and provisions."""
    import stripe

    emulator_port, system_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "STRIPE_API_BASE": emulator_url,
        "STRIPE_API_KEY": "sk_test_cli_serve_test",
    }
    env.pop("STRIPE_WEBHOOK_SECRET", None)
    cli = [sys.executable, "-m", "system.cli"]
    emulator = subprocess.Popen([*cli, "emulator", "--port", str(emulator_port)], env=env)
    try:
        wait_until_up(f"{emulator_url}/_emulator/health")
        server = subprocess.Popen(
            [*cli, "serve", "--port", str(system_port), "--log-level", "warning"], env=env
        )
        try:
            wait_until_up(f"http://127.0.0.1:{system_port}/health")
            created = httpx.post(
                f"http://127.0.0.1:{system_port}/api/v1/customers/onboard",
                json={"email": "served@example.com", "name": "Served"},
            )
            assert created.status_code == 201, created.text
            me = httpx.get(
                f"http://127.0.0.1:{system_port}/api/v1/me",
                headers={"Authorization": f"Bearer {created.json()['api_key']}"},
            )
            assert me.json()["email"] == "served@example.com"
        finally:
            server.terminate()
            server.wait(10)
        client = stripe.StripeClient("sk_test_cli_serve_test", base_addresses={"api": emulator_url})
        endpoints = client.v1.webhook_endpoints.list().data
        assert [e.url for e in endpoints] == [f"http://127.0.0.1:{system_port}/webhooks/stripe"]
    finally:
        emulator.terminate()
        emulator.wait(10)


def test_serve_goes_on_without_webhooks_when_stripe_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from system.cli import _register_webhook_endpoint
    from system.settings import Settings

    settings = Settings(
        stripe_api_base=f"http://127.0.0.1:{free_port()}", stripe_max_network_retries=0
    )
    assert _register_webhook_endpoint(settings, "http://127.0.0.1:9") is None
    assert "webhook endpoint not registered" in caplog.text


def test_stack_serves_the_emulator_and_the_system_together(tmp_path: Path) -> None:
    emulator_port, system_port = free_port(), free_port()
    ports = ["--port", str(system_port), "--emulator-port", str(emulator_port)]
    database = ["--database-url", f"sqlite:///{tmp_path}/s.db"]
    stack = subprocess.Popen(
        [sys.executable, "-m", "system.cli", "stack", *ports, *database],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{system_port}/health")
        created = httpx.post(
            f"http://127.0.0.1:{system_port}/api/v1/customers/onboard",
            json={"email": "stack@example.com", "name": "Stack"},
        )
        assert created.status_code == 201, created.text
        card = httpx.post(
            f"http://127.0.0.1:{system_port}/api/v1/billing/payment-methods",
            json={"payment_method": "pm_card_visa"},
            headers={"Authorization": f"Bearer {created.json()['api_key']}"},
            timeout=30,
        )
        assert card.status_code == 201, card.text

        def delivered() -> list[dict[str, object]]:
            emulator = f"http://127.0.0.1:{emulator_port}/_emulator/webhooks"
            httpx.get(f"{emulator}/idle", params={"timeout": 10}, timeout=15)
            attempts = httpx.get(f"{emulator}/attempts", timeout=10).json()["data"]
            assert attempts and all(attempt["ok"] for attempt in attempts), attempts
            return list(attempts)

        eventually(delivered)  # the stack's app gets the emulator's events
    finally:
        stack.terminate()
        out, _ = stack.communicate(timeout=10)
    assert f"Stripe emulator: http://127.0.0.1:{emulator_port}" in out
    assert f"Sign up:         http://127.0.0.1:{system_port}/signup" in out

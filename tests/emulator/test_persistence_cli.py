"""SQLite persistence edge cases, the engine on the emulator's own clock, and the CLI entry
point (``python -m simulator.stripe_emulator``) run as its own process."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import stripe

from simulator.stripe_emulator import EmulatorServer, EmulatorState, ManualClock
from simulator.stripe_emulator.persistence import SCHEMA

DAY = 86400


def _client(srv: EmulatorServer, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": srv.base_url}, max_network_retries=0)


def test_expired_idempotency_keys_are_pruned_on_disk(tmp_path: Path) -> None:
    db = str(tmp_path / "idem.sqlite")
    clock = ManualClock(1_600_000_000)
    with EmulatorServer(persist_path=db, clock=clock) as srv:
        c = _client(srv, "sk_test_prune")
        c.v1.customers.create(options={"idempotency_key": "old"})
        clock.advance(DAY + 1)
        c.v1.customers.create(options={"idempotency_key": "new"})
    state = EmulatorState(persist_path=db)
    try:
        assert set(state.account_for_key("sk_test_prune").idempotency) == {"new"}
    finally:
        state.close()


def test_failed_write_keeps_changes_for_the_next_flush(tmp_path: Path) -> None:
    db = str(tmp_path / "fail.sqlite")
    state = EmulatorState(persist_path=db)
    account = state.account_for_key("sk_test_failing")
    state.flush(account)  # nothing dirty: nothing written, no error
    account.coll("customer").put({"id": "cus_1", "object": "customer", "created": 1})
    other = sqlite3.connect(db)
    other.execute("DROP TABLE objects")
    other.commit()
    with pytest.raises(sqlite3.OperationalError):
        state.flush(account)
    assert account.dirty  # kept
    other.executescript(SCHEMA)
    other.close()
    state.flush(account)
    assert not account.dirty
    state.close()
    again = EmulatorState(persist_path=db)
    try:
        assert again.account_for_key("sk_test_failing").coll("customer").get("cus_1") is not None
    finally:
        again.close()


def test_engine_runs_on_the_emulator_clock() -> None:
    """Objects on no test clock renew when the emulator's own (manual) clock passes."""
    t0 = 1_900_000_000
    clock = ManualClock(t0)
    with EmulatorServer(clock=clock) as srv:
        c = _client(srv, "sk_test_sysclock")
        cus = c.v1.customers.create()
        pm = c.v1.payment_methods.attach("pm_card_visa", params={"customer": cus.id})
        c.v1.customers.update(
            cus.id, params={"invoice_settings": {"default_payment_method": pm.id}}
        )
        pr = c.v1.prices.create(
            params={
                "currency": "usd",
                "unit_amount": 900,
                "recurring": {"interval": "day"},
                "product_data": {"name": "Daily"},
            }
        )
        sub = c.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": pr.id}]})
        assert sub.status == "active"
        clock.advance(DAY + 2 * 3600)
        sub = c.v1.subscriptions.retrieve(sub.id)
        assert sub["items"].data[0].current_period_start == t0 + DAY
        invs = c.v1.invoices.list(params={"customer": cus.id}).data
        assert [i.billing_reason for i in invs] == ["subscription_cycle", "subscription_create"]
        assert all(i.status == "paid" for i in invs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_cli(port: int, db: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator.stripe_emulator",
            "--port",
            str(port),
            "--persist",
            db,
            "--seed",
            "3",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
        try:
            if httpx.get(f"{base}/_emulator/health", timeout=1).json()["ok"]:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError("emulator CLI did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_cli_serves_and_persists_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.sqlite")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    key = "sk_test_cli_entry"
    proc = _run_cli(port, db)
    try:
        _wait_up(base, proc)
        c = stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=0)
        cus = c.v1.customers.create(params={"email": "cli@example.com"})
    finally:
        _stop(proc)
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert proc.returncode in (0, -signal.SIGTERM)
    proc = _run_cli(port, db)
    try:
        _wait_up(base, proc)
        c = stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=0)
        assert c.v1.customers.retrieve(cus.id).email == "cli@example.com"
    finally:
        _stop(proc)


def test_cli_help() -> None:
    from simulator.stripe_emulator.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--port", "not-a-port"])
    assert exc.value.code == 2

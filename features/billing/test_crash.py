"""Steps for features/billing/crash.feature: SIGKILL of a real `serve` during charges."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import func, select

from simulator.servers import free_port, wait_until_up
from system.billing import intents
from system.db.tables import customers, fixes, payments, stripe_intents
from tests.support import database_scalar

scenarios("billing/crash.feature")

CLI = [sys.executable, "-m", "system.cli"]


class Served:
    """`rsolv-billing serve` as a process, started and killed at will, on one database."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [*CLI, "serve", "--port", str(self.port), "--log-level", "warning", "--no-migrate"],
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        wait_until_up(f"{self.url}/health")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(15)
            self.process = None


@pytest.fixture
def crash(database_url: str, emulator: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    key = f"sk_test_crash_{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "STRIPE_API_BASE": emulator.base_url,
        "STRIPE_API_KEY": key,
        "STRIPE_MAX_NETWORK_RETRIES": "0",
        "SIGNUP_RATE_LIMIT": "0",
        # Only what the drill itself settles: no webhooks reach the system.
        "STRIPE_WEBHOOK_SECRET": "whsec_crash_drill_no_endpoint",
    }
    served = Served(env, tmp_path / "serve.log")
    ctx: dict[str, Any] = {"served": served, "env": env, "key": key}
    try:
        yield ctx
    finally:
        served.stop()
        emulator.state.faults.clear()


def _auth(ctx: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx['api_key']}"}


def _fix(ctx: dict[str, Any], fix_id: str, timeout: float = 30) -> httpx.Response:
    return httpx.post(
        f"{ctx['served'].url}/api/v1/usage/fix-deployed",
        json={"fix_id": fix_id, "repo": "acme/api", "pr_number": 1},
        headers=_auth(ctx),
        timeout=timeout,
    )


@given("the system runs as a process, with a customer who has a card and no credits left")
def running(crash: dict[str, Any]) -> None:
    served = crash["served"]
    served.start()
    signup = httpx.post(
        f"{served.url}/api/v1/customers/onboard",
        json={"email": "crash@example.com", "name": "Crash"},
    )
    assert signup.status_code == 201, signup.text
    crash["api_key"] = signup.json()["api_key"]
    crash["customer_id"] = signup.json()["customer"]["id"]
    card = httpx.post(
        f"{served.url}/api/v1/billing/payment-methods",
        json={"payment_method": "pm_card_visa"},
        headers=_auth(crash),
        timeout=30,
    )
    assert card.status_code == 201, card.text
    for index in range(card.json()["credit_balance"]):
        assert _fix(crash, f"drain-{index}").status_code == 201


@given(parsers.parse("Stripe takes between {low:f} and {high:f} seconds to charge a card"))
def slow_charges(emulator: Any, low: float, high: float) -> None:
    emulator.state.faults.configure(
        latency_ms=int(low * 1000),
        latency_jitter_ms=int((high - low) * 1000),
        path_prefix="/v1/payment_intents",
        methods=["POST"],
        seed=15,
    )


@when(parsers.parse("the system is killed with SIGKILL during each of {rounds:d} charged fixes"))
def kill_rounds(crash: dict[str, Any], rounds: int) -> None:
    served = crash["served"]
    moments = random.Random(20261202)
    crash["fix_ids"] = [f"crash-{index}" for index in range(rounds)]
    for fix_id in crash["fix_ids"]:
        if served.process is None:
            served.start()
        request = threading.Thread(target=_quiet_fix, args=(crash, fix_id))
        request.start()
        threading.Event().wait(moments.uniform(0.05, 0.7))
        served.kill()
        request.join()


def _quiet_fix(ctx: dict[str, Any], fix_id: str) -> None:
    with contextlib.suppress(httpx.HTTPError):
        _fix(ctx, fix_id)


@when('"rsolv-billing reconcile" runs with nothing serving')
def reconcile(crash: dict[str, Any], emulator: Any) -> None:
    emulator.state.faults.clear()
    threading.Event().wait(1.0)  # the charges Stripe was still making are made
    crash["reconcile"] = subprocess.run(
        [*CLI, "reconcile", "--settle-after-seconds", "0"],
        env=crash["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )


@then("reconcile exits 0 and left nothing pending")
def reconciled(crash: dict[str, Any], database_url: str) -> None:
    run = crash["reconcile"]
    assert run.returncode == 0, run.stdout + run.stderr
    assert "pending intents" in run.stdout
    pending = (
        select(func.count())
        .select_from(stripe_intents)
        .where(stripe_intents.c.status == intents.PENDING)
    )
    assert database_scalar(database_url, pending) == 0


def _stripe_charges(crash: dict[str, Any], emulator: Any, database_url: str) -> list[Any]:
    import stripe

    client = stripe.StripeClient(crash["key"], base_addresses={"api": emulator.base_url})
    stripe_customer = database_scalar(
        database_url,
        select(customers.c.stripe_customer_id).where(customers.c.id == crash["customer_id"]),
    )
    found = client.v1.payment_intents.list(params={"customer": stripe_customer, "limit": 100})
    return [intent for intent in found.data if intent.status == "succeeded"]


def _recorded(database_url: str, payment_id: str) -> tuple[int, int]:
    paid = select(func.count()).select_from(payments).where(payments.c.id == payment_id)
    fixed = select(func.count()).select_from(fixes).where(fixes.c.payment_id == payment_id)
    return database_scalar(database_url, paid), database_scalar(database_url, fixed)


@then("every charge Stripe took is recorded once, with its fix")
def no_orphans(crash: dict[str, Any], emulator: Any, database_url: str) -> None:
    taken = _stripe_charges(crash, emulator, database_url)
    assert taken, "the drill made no charge at all"
    orphans = [i.id for i in taken if _recorded(database_url, i.id) != (1, 1)]
    assert orphans == [], f"{len(orphans)} of {len(taken)} charges not recorded"


@when("the system runs again and every fix is retried")
def retry(crash: dict[str, Any]) -> None:
    crash["served"].start()
    crash["retries"] = [_fix(crash, fix_id) for fix_id in crash["fix_ids"]]


@then("every fix is charged exactly once at Stripe and recorded once")
def exactly_once(crash: dict[str, Any], emulator: Any, database_url: str) -> None:
    assert all(answer.status_code in (200, 201) for answer in crash["retries"]), [
        answer.text for answer in crash["retries"] if answer.status_code not in (200, 201)
    ]
    taken = _stripe_charges(crash, emulator, database_url)
    by_fix = sorted(intent.metadata["fix_id"] for intent in taken)
    assert by_fix == sorted(crash["fix_ids"])
    assert all(_recorded(database_url, intent.id) == (1, 1) for intent in taken)

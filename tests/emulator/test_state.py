"""Persistence across restarts, seeded repeatability, clocks, and per-request cost."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import stripe

from simulator.stripe_emulator import EmulatorServer, EmulatorState, ManualClock
from simulator.stripe_emulator.common import list_response
from simulator.stripe_emulator.routing import Ctx


def _client(srv: EmulatorServer, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": srv.base_url}, max_network_retries=0)


def test_sqlite_persistence_survives_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "emu.sqlite")
    key = "sk_test_persist1234"
    with EmulatorServer(persist_path=db) as srv:
        c = _client(srv, key)
        a = c.v1.customers.create(params={"email": "p@example.com"})
        b = c.v1.customers.create(params={"email": "p@example.com"})
        c.v1.customers.update(a.id, params={"metadata": {"x": "1"}})
        d = c.v1.customers.create()
        c.v1.customers.delete(d.id)
        prod = c.v1.products.create(params={"name": "P"})
        opts: stripe.RequestOptions = {"idempotency_key": "persisted"}
        price = c.v1.prices.create(
            params={"product": prod.id, "currency": "usd", "unit_amount": 10}, options=opts
        )
    with EmulatorServer(persist_path=db) as srv:
        c = _client(srv, key)
        assert c.v1.customers.retrieve(a.id).metadata.to_dict() == {"x": "1"}
        listed = c.v1.customers.list(params={"email": "p@example.com"})
        assert [x.id for x in listed.data] == [b.id, a.id]
        assert c.v1.customers.retrieve(d.id).to_dict()["deleted"] is True
        replay = c.v1.prices.create(
            params={"product": prod.id, "currency": "usd", "unit_amount": 10}, options=opts
        )
        assert replay.id == price.id
        assert replay.last_response.headers.get("idempotent-replayed") == "true"
        assert len(c.v1.events.list(params={"limit": 100}).data) == 7
        assert _client(srv, "sk_test_otherkey").v1.customers.list().data == []


def test_seeded_runs_repeat() -> None:
    def run() -> list[str]:
        with EmulatorServer(seed=7, clock=ManualClock(1_700_000_000)) as srv:
            c = _client(srv, "sk_test_seeded")
            cus = c.v1.customers.create()
            prod = c.v1.products.create(params={"name": "x"})
            return [cus.id, prod.id, cus.last_response.request_id or "", str(cus.created)]

    assert run() == run()


def test_manual_clock_drives_created(emulator: EmulatorServer) -> None:
    clock = ManualClock(1_600_000_000)
    with EmulatorServer(clock=clock) as srv:
        c = _client(srv, "sk_test_clocked")
        first = c.v1.customers.create()
        clock.advance(3600)
        second = c.v1.customers.create()
        assert first.created == 1_600_000_000 and second.created == 1_600_003_600
        assert srv.state.now_for(second.id) == 1_600_003_600


def test_server_shutdown_leaves_no_threads() -> None:
    before = {t.name for t in threading.enumerate()}
    for _ in range(3):
        with EmulatorServer() as srv:
            _client(srv, "sk_test_threads").v1.customers.list()
    after = {t.name for t in threading.enumerate()}
    assert "stripe-emulator" not in after - before


def _populate(state: EmulatorState, n: int) -> Ctx:
    account = state.account_for_key("sk_test_bulk")
    coll = account.coll("customer")
    rng = random.Random(0)
    for i in range(n):
        coll.put(
            {
                "id": f"cus_{i:08d}",
                "object": "customer",
                "created": i,
                "email": f"u{rng.randrange(50)}@example.com",
            }
        )
    return Ctx(state, account, "GET", "/v1/customers", {}, {}, None, None, "v")


def test_cursor_pages_are_right_in_a_large_store() -> None:
    """Paging from a cursor deep in 100,000 objects gives the neighbours of the cursor.
    (That it costs no more than in 1,000 is a benchmark's job, not a timed test's:
    `load/bench_emulator.py` prints the two rates.)"""
    ctx = _populate(EmulatorState(), 100_000)
    ctx.params = {"limit": 3, "starting_after": "cus_00050000"}
    page = list_response(ctx, "customer", "/v1/customers")
    assert [c["id"] for c in page["data"]] == ["cus_00049999", "cus_00049998", "cus_00049997"]
    assert page["has_more"] is True
    ctx.params = {"limit": 2, "ending_before": "cus_00050000"}
    page = list_response(ctx, "customer", "/v1/customers")
    assert [c["id"] for c in page["data"]] == ["cus_00050002", "cus_00050001"]
    ctx.params = {"limit": 100, "email": "u3@example.com"}
    page = list_response(ctx, "customer", "/v1/customers", eq={"email": "u3@example.com"})
    assert page["data"] and all(c["email"] == "u3@example.com" for c in page["data"])


def test_idempotency_keys_expire_after_24h() -> None:
    clock = ManualClock(1_600_000_000)
    with EmulatorServer(clock=clock) as srv:
        c = _client(srv, "sk_test_expiry")
        opts: stripe.RequestOptions = {"idempotency_key": "day-old"}
        first = c.v1.customers.create(options=opts)
        clock.advance(24 * 3600)
        second = c.v1.customers.create(options=opts)
        assert second.id != first.id
        clock.advance(24 * 3600)
        for i in range(3):
            c.v1.customers.create(options={"idempotency_key": f"k{i}"})
        account = srv.state.account_for_key("sk_test_expiry")
        assert "day-old" not in account.idempotency  # pruned, not kept forever

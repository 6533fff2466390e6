"""Webhook endpoints and signed background delivery, verified by the SDK in a local receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from simulator.stripe_emulator import EmulatorServer, ManualClock
from simulator.stripe_emulator.webhooks import Dispatcher, Receiver, dispatcher_for, sign

FAST = {"time_scale": 0.001, "timeout": 2.0}


@pytest.fixture
def dispatcher(emulator: EmulatorServer) -> Iterator[Dispatcher]:
    d = dispatcher_for(emulator.state)
    d.configure(**FAST)
    yield d
    d.configure()
    d.clear_faults()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def endpoint(
    client: stripe.StripeClient, receiver: Receiver, path: str = "/hook", events: Any = None
) -> stripe.WebhookEndpoint:
    we = client.v1.webhook_endpoints.create(
        params={"url": receiver.url + path, "enabled_events": events or ["*"]}
    )
    assert we.secret
    receiver.secrets[path] = we.secret
    return we


def wait_attempts(d: Dispatcher, endpoint_id: str, n: int, timeout: float = 5.0) -> list[Any]:
    """The endpoint's attempts once there are at least ``n`` (recorded after each answer)."""
    deadline = time.monotonic() + timeout
    while len(d.attempts(endpoint=endpoint_id)) < n and time.monotonic() < deadline:
        time.sleep(0.005)
    return d.attempts(endpoint=endpoint_id)


def test_sign_matches_the_sdk() -> None:
    payload = b'{"id": "evt_1", "object": "event", "type": "customer.created"}'
    header = sign(payload, "whsec_test", int(time.time()))
    evt = stripe.Webhook.construct_event(payload, header, "whsec_test")
    assert evt.id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")


def test_endpoint_crud(client: stripe.StripeClient) -> None:
    we = client.v1.webhook_endpoints.create(
        params={
            "url": "https://example.test/hook",
            "enabled_events": ["customer.created", "invoice.paid"],
            "description": "d",
            "metadata": {"k": "v"},
        }
    )
    assert we.id.startswith("we_") and we.object == "webhook_endpoint"
    assert we.secret.startswith("whsec_") and we.status == "enabled"
    got = client.v1.webhook_endpoints.retrieve(we.id)
    assert "secret" not in got and got.url == "https://example.test/hook"
    upd = client.v1.webhook_endpoints.update(
        we.id, params={"enabled_events": ["*"], "disabled": True, "metadata": {"k": ""}}
    )
    assert upd.enabled_events == ["*"] and upd.status == "disabled" and upd.metadata.to_dict() == {}
    listed = client.v1.webhook_endpoints.list()
    assert [w.id for w in listed.data] == [we.id]
    gone = client.v1.webhook_endpoints.delete(we.id)
    assert gone.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.webhook_endpoints.retrieve(we.id)


def test_endpoint_validation(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.webhook_endpoints.create(params={"url": "nope", "enabled_events": ["*"]})
    assert e.value.param == "url"
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/x"})
    assert e.value.param == "enabled_events"


def test_delivery_signed_in_order_and_pending_webhooks(
    client: stripe.StripeClient, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    we = endpoint(client, receiver)
    cus = client.v1.customers.create(params={"email": "a@example.com"})
    client.v1.customers.update(cus.id, params={"name": "A"})
    client.v1.products.create(params={"name": "P"})
    assert receiver.wait_for(3)
    assert [e["type"] for e in receiver.events] == [
        "customer.created",
        "customer.updated",
        "product.created",
    ]
    assert receiver.bad == 0
    assert receiver.events[0]["data"]["object"]["id"] == cus.id
    assert receiver.events[0]["pending_webhooks"] == 1
    assert dispatcher.wait_idle(5)
    events = client.v1.events.list().data
    assert all(e.pending_webhooks == 0 for e in events)
    assert len(client.v1.events.list(params={"delivery_success": True}).data) == 3
    tries = dispatcher.attempts(endpoint=we.id)
    assert [t["ok"] for t in tries] == [True, True, True]
    assert all(t["status"] == 200 and t["attempt"] == 1 for t in tries)


def test_enabled_events_and_several_endpoints(
    client: stripe.StripeClient, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    endpoint(client, receiver, "/all")
    endpoint(client, receiver, "/customers", ["customer.created"])
    off = endpoint(client, receiver, "/off")
    client.v1.webhook_endpoints.update(off.id, params={"disabled": True})
    client.v1.customers.create()
    client.v1.products.create(params={"name": "P"})
    assert receiver.wait_for(3)
    assert dispatcher.wait_idle(5)
    got = sorted(zip(receiver.paths, [e["type"] for e in receiver.events], strict=True))
    assert got == [
        ("/all", "customer.created"),
        ("/all", "product.created"),
        ("/customers", "customer.created"),
    ]
    created = client.v1.events.list(params={"type": "customer.created"}).data[0]
    assert created.pending_webhooks == 0


def test_retries_with_backoff_keep_order(
    client: stripe.StripeClient, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    we = endpoint(client, receiver)
    receiver.fail_next = 2
    c1 = client.v1.customers.create()
    c2 = client.v1.customers.create()
    assert receiver.wait_for(2)
    assert [e["data"]["object"]["id"] for e in receiver.events] == [c1.id, c2.id]
    tries = wait_attempts(dispatcher, we.id, 4)
    assert [(t["attempt"], t["status"], t["ok"]) for t in tries] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
        (1, 200, True),
    ]
    # exponential: the second wait (120 s scaled) is longer than the first (60 s scaled)
    assert tries[2]["at"] - tries[1]["at"] > tries[1]["at"] - tries[0]["at"]


def test_endpoint_down_loses_nothing(client: stripe.StripeClient, dispatcher: Dispatcher) -> None:
    with Receiver() as first:
        port = first.port
    down = Receiver(port=port)  # the endpoint's port is closed for now
    we = client.v1.webhook_endpoints.create(
        params={"url": f"http://127.0.0.1:{port}/hook", "enabled_events": ["*"]}
    )
    down.secrets["/hook"] = we.secret
    ids = [client.v1.customers.create().id for _ in range(5)]
    deadline = time.monotonic() + 5
    while len(dispatcher.attempts(endpoint=we.id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    failed = dispatcher.attempts(endpoint=we.id)
    assert len(failed) >= 3 and not any(t["ok"] for t in failed)
    assert all(t["error"] for t in failed)
    assert client.v1.events.list(params={"limit": 1}).data[0].pending_webhooks == 1
    with down:
        assert down.wait_for(5)
        assert [e["data"]["object"]["id"] for e in down.events] == ids
        assert dispatcher.wait_idle(5)


def test_timeout_is_a_failure(
    client: stripe.StripeClient, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    dispatcher.configure(time_scale=0.001, timeout=0.2)
    we = endpoint(client, receiver)
    receiver.delay = 0.5
    client.v1.customers.create()
    deadline = time.monotonic() + 5
    while not dispatcher.attempts(endpoint=we.id) and time.monotonic() < deadline:
        time.sleep(0.01)
    receiver.delay = 0
    assert dispatcher.attempts(endpoint=we.id)[0]["error"] == "timeout"
    assert receiver.wait_for(1)
    assert dispatcher.wait_idle(5)


def test_deleted_endpoint_stops_delivery(
    client: stripe.StripeClient, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    we = endpoint(client, receiver)
    receiver.status = 503
    client.v1.customers.create()
    deadline = time.monotonic() + 5
    while not dispatcher.attempts(endpoint=we.id) and time.monotonic() < deadline:
        time.sleep(0.01)
    client.v1.webhook_endpoints.delete(we.id)
    assert dispatcher.wait_idle(5)
    assert client.v1.events.list().data[0].pending_webhooks == 0


def _run_with_faults(
    emulator: EmulatorServer,
    client: stripe.StripeClient,
    api_key: str,
    dispatcher: Dispatcher,
    n: int,
    **faults: Any,
) -> tuple[list[str], list[str]]:
    """Record ``n`` events at once (in-process, so they queue together), deliver with faults."""
    state = emulator.state
    with Receiver() as r:
        we = endpoint(client, r)
        dispatcher.set_faults(we.id, **faults)
        account = state.account_for_key(api_key)
        ids = [
            state.record_event(account, "customer.created", {"id": f"cus_{i}"})["id"]
            for i in range(n)
        ]
        assert dispatcher.wait_idle(10)
        got = [e["id"] for e in r.events]
        client.v1.webhook_endpoints.delete(we.id)
    return ids, got


def test_fault_duplicates(
    emulator: EmulatorServer, client: stripe.StripeClient, api_key: str, dispatcher: Dispatcher
) -> None:
    ids, got = _run_with_faults(
        emulator, client, api_key, dispatcher, 4, duplicate_rate=1.0, seed=1
    )
    assert got == [i for i in ids for _ in (0, 1)]


def test_fault_reordering_is_seeded(
    emulator: EmulatorServer, client: stripe.StripeClient, api_key: str, dispatcher: Dispatcher
) -> None:
    runs = [
        _run_with_faults(
            emulator, client, api_key, dispatcher, 12, reorder_rate=0.5, delay_ms=20, seed=7
        )
        for _ in range(2)
    ]
    patterns = []
    for ids, got in runs:
        assert sorted(got) == sorted(ids)
        assert got != ids
        patterns.append([ids.index(i) for i in got])
    assert patterns[0] == patterns[1]


def test_fault_delay(client: stripe.StripeClient, dispatcher: Dispatcher) -> None:
    with Receiver() as r:
        we = endpoint(client, r)
        dispatcher.set_faults(we.id, delay_ms=150)
        t0 = time.monotonic()
        client.v1.customers.create()
        assert r.wait_for(1)
        assert time.monotonic() - t0 >= 0.15


def test_control_api(emulator: EmulatorServer, dispatcher: Dispatcher) -> None:
    base = emulator.base_url + "/_emulator/webhooks"
    with httpx.Client() as http:
        cfg = http.post(base + "/config", json={"time_scale": 0.01}).json()
        assert cfg["time_scale"] == 0.01 and cfg["backoff_initial"] == 60.0
        assert http.post(base + "/config", json={"bogus": 1}).status_code == 400
        f = http.post(base + "/faults", json={"duplicate_rate": 0.5, "seed": 3}).json()
        assert f["run"]["duplicate_rate"] == 0.5
        f = http.post(base + "/faults", json={"endpoint": "we_x", "delay_ms": 5}).json()
        assert f["endpoints"]["we_x"]["delay_ms"] == 5
        assert http.post(base + "/faults", json={"clear": True}).json()["endpoints"] == {}
        assert http.get(base + "/idle", params={"timeout": 1}).json()["idle"] is True
        assert isinstance(http.get(base + "/attempts").json()["data"], list)


def test_retries_follow_a_manual_clock(receiver: Receiver) -> None:
    clock = ManualClock()
    with EmulatorServer(clock=clock) as srv:
        d = dispatcher_for(srv.state)
        d.configure(time_scale=1.0, timeout=2.0)  # real backoff: 60 s
        client = stripe.StripeClient(
            "sk_test_manualclock", base_addresses={"api": srv.base_url}, max_network_retries=0
        )
        we = endpoint(client, receiver)
        receiver.fail_next = 1
        client.v1.customers.create()
        deadline = time.monotonic() + 5
        while not d.attempts(endpoint=we.id) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not receiver.events
        httpx.post(srv.base_url + "/_emulator/clock", json={"advance": 61})
        assert receiver.wait_for(1, timeout=5)
        assert [t["ok"] for t in wait_attempts(d, we.id, 2)] == [False, True]
        d.close()

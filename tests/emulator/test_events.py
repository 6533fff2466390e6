"""Events: recorded for every change, listable with filters, pushed to listeners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import stripe

from simulator.stripe_emulator import EmulatorServer
from simulator.stripe_emulator.store import Account


def test_lifecycle_events(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": "e@example.com", "metadata": {"a": "1"}})
    client.v1.customers.update(cus.id, params={"name": "N", "metadata": {"b": "2"}})
    client.v1.customers.update(cus.id, params={"name": "N"})  # no-op: no event
    client.v1.customers.delete(cus.id)
    events = client.v1.events.list().data
    assert [e.type for e in events] == ["customer.deleted", "customer.updated", "customer.created"]
    created = events[2]
    assert created.id.startswith("evt_") and created.object == "event"
    assert created.livemode is False and created.pending_webhooks == 0
    assert created.api_version
    assert created.data.object["id"] == cus.id
    assert created.request.id == cus.last_response.request_id
    assert created.request.idempotency_key  # the SDK always sends one on POST
    updated = events[1]
    assert updated.data.object["name"] == "N"
    assert updated.data.previous_attributes is not None
    assert updated.data.previous_attributes.to_dict() == {"name": None, "metadata": {"b": None}}
    # the snapshot does not change afterwards
    assert created.data.object["metadata"].to_dict() == {"a": "1"}
    got = client.v1.events.retrieve(updated.id)
    assert got.to_dict() == updated.to_dict()


def test_event_filters(client: stripe.StripeClient) -> None:
    client.v1.customers.create()
    prod = client.v1.products.create(params={"name": "P"})
    client.v1.prices.create(params={"product": prod.id, "currency": "usd", "unit_amount": 5})
    types = lambda res: [e.type for e in res.data]  # noqa: E731
    assert types(client.v1.events.list(params={"type": "product.created"})) == ["product.created"]
    assert types(
        client.v1.events.list(params={"types": ["customer.created", "price.created"]})
    ) == [
        "price.created",
        "customer.created",
    ]
    assert types(client.v1.events.list(params={"type": "pr*"})) == [
        "price.created",
        "product.created",
    ]
    newest = client.v1.events.list(params={"limit": 1}).data[0]
    assert client.v1.events.list(params={"created": {"gt": newest.created}}).data == []
    assert len(client.v1.events.list(params={"created": {"lte": newest.created}}).data) == 3


def test_event_expand_nested(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create(params={"name": "P"})
    client.v1.prices.create(params={"product": prod.id, "currency": "usd", "unit_amount": 5})
    evt = client.v1.events.list(params={"type": "price.created"}).data[0]
    got = client.v1.events.retrieve(evt.id, params={"expand": ["data.object.product"]})
    assert got.data.object["product"]["name"] == "P"


def test_listener_receives_events(
    emulator: EmulatorServer, client: stripe.StripeClient, api_key: str
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def listener(account: Account, event: dict[str, Any]) -> None:
        seen.append((account.key, event))

    unsubscribe = emulator.state.subscribe(listener)
    try:
        cus = client.v1.customers.create()
    finally:
        unsubscribe()
    mine = [e for k, e in seen if k == api_key]
    assert [e["type"] for e in mine] == ["customer.created"]
    assert mine[0]["data"]["object"]["id"] == cus.id


def test_declined_request_without_idempotency_key_notifies_and_persists(
    emulator: EmulatorServer, api_key: str, tmp_path: Path
) -> None:
    """A 402 after the handler stored a failed charge still delivers and persists its events."""
    auth = {"Authorization": f"Bearer {api_key}"}
    form = {
        "amount": "1500",
        "currency": "usd",
        "payment_method": "pm_card_chargeDeclined",
        "confirm": "true",
    }

    def decline(base_url: str) -> dict[str, Any]:
        r = httpx.post(f"{base_url}/v1/payment_intents", headers=auth, data=form)
        assert r.status_code == 402 and "idempotency-key" not in r.headers
        err: dict[str, Any] = r.json()["error"]
        assert err["type"] == "card_error" and err["decline_code"] == "generic_decline"
        return err

    seen: list[tuple[str, dict[str, Any]]] = []
    unsubscribe = emulator.state.subscribe(lambda account, evt: seen.append((account.key, evt)))
    try:
        err = decline(emulator.base_url)
    finally:
        unsubscribe()
    mine = [e for k, e in seen if k == api_key]
    assert [e["type"] for e in mine] == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
    ]
    assert mine[0]["data"]["object"]["id"] == err["payment_intent"]["id"]
    assert mine[1]["data"]["object"]["id"] == err["charge"]
    assert not emulator.state.account_for_key(api_key).dirty

    db = str(tmp_path / "declined.sqlite")
    with EmulatorServer(persist_path=db) as srv:
        err = decline(srv.base_url)
    with EmulatorServer(persist_path=db) as srv:
        c = stripe.StripeClient(api_key, base_addresses={"api": srv.base_url})
        pi = c.v1.payment_intents.retrieve(err["payment_intent"]["id"])
        assert pi.status == "requires_payment_method" and pi.latest_charge == err["charge"]
        assert c.v1.charges.retrieve(err["charge"]).status == "failed"
        types = [e.type for e in c.v1.events.list().data]
        assert types == ["payment_intent.payment_failed", "charge.failed", "payment_intent.created"]

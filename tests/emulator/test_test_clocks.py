"""Test clocks through the SDK: CRUD, advance validation, status and events."""

from __future__ import annotations

import pytest
import stripe

from .billing_helpers import T0, advance


def test_clock_crud_and_advance(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0, "name": "n"})
    assert clock.id.startswith("clock_") and clock.object == "test_helpers.test_clock"
    assert clock.status == "ready" and clock.frozen_time == T0 and clock.name == "n"
    moved = advance(client, clock.id, T0 + 3600)
    assert moved.status == "advancing" and moved.frozen_time == T0 + 3600
    got = client.v1.test_helpers.test_clocks.retrieve(clock.id)
    assert got.status == "ready" and got.frozen_time == T0 + 3600
    with pytest.raises(stripe.InvalidRequestError) as exc:
        advance(client, clock.id, T0)
    assert exc.value.param == "frozen_time"
    assert [c.id for c in client.v1.test_helpers.test_clocks.list().data] == [clock.id]
    types = [e.type for e in client.v1.events.list().data]
    assert types == [
        "test_helpers.test_clock.ready",
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.created",
    ]
    cus = client.v1.customers.create(params={"test_clock": clock.id})
    assert cus.created == T0 + 3600
    gone = client.v1.test_helpers.test_clocks.delete(clock.id)
    assert gone.deleted is True
    assert client.v1.customers.retrieve(cus.id).to_dict()["deleted"] is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.test_helpers.test_clocks.retrieve(clock.id)


def test_customer_with_unknown_clock_is_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create(params={"test_clock": "clock_nope"})
    assert exc.value.http_status == 400 and exc.value.param == "test_clock"

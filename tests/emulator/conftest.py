"""Fixtures for the Stripe emulator conformance suite.

One emulator server per session; every test gets a fresh API key (= a fresh,
isolated account), and a ``stripe.StripeClient`` pointed at the emulator with
``max_network_retries=0`` so injected faults are visible.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import stripe

from simulator.stripe_emulator import EmulatorServer
from simulator.stripe_emulator.faults import Faults

ClientFactory = Callable[..., stripe.StripeClient]


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


def new_key() -> str:
    return "sk_test_" + uuid.uuid4().hex


@pytest.fixture
def make_client(emulator: EmulatorServer) -> ClientFactory:
    def make(api_key: str | None = None, **kwargs: object) -> stripe.StripeClient:
        return stripe.StripeClient(
            new_key() if api_key is None else api_key,
            base_addresses={"api": emulator.base_url},
            max_network_retries=0,
            **kwargs,  # type: ignore[arg-type]
        )

    return make


@pytest.fixture
def api_key() -> str:
    return new_key()


@pytest.fixture
def client(make_client: ClientFactory, api_key: str) -> stripe.StripeClient:
    return make_client(api_key)


@pytest.fixture
def faults(emulator: EmulatorServer) -> Iterator[Faults]:
    yield emulator.state.faults
    emulator.state.faults.clear()

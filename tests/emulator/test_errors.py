"""Every error form, as the official SDK sees it."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
import stripe

from simulator.stripe_emulator import EmulatorServer
from simulator.stripe_emulator.faults import Faults

from .conftest import ClientFactory


def test_missing_api_key_is_401(make_client: ClientFactory) -> None:
    with pytest.raises(stripe.AuthenticationError) as exc:
        make_client("").v1.customers.list()
    assert exc.value.http_status == 401
    assert str(exc.value.user_message).startswith("You did not provide an API key.")


def test_bad_api_key_is_401_masked(make_client: ClientFactory) -> None:
    with pytest.raises(stripe.AuthenticationError) as exc:
        make_client("sk_live_abcdefghijkl1234").v1.customers.create()
    assert exc.value.http_status == 401
    assert exc.value.user_message == "Invalid API Key provided: sk_live_****1234"
    assert exc.value.headers is not None and exc.value.headers["request-id"].startswith("req_")
    with pytest.raises(stripe.AuthenticationError):
        make_client("pk_test_abcdef").v1.customers.list()


def test_basic_auth_is_accepted(emulator: EmulatorServer) -> None:
    key = "sk_test_" + uuid.uuid4().hex
    r = httpx.post(f"{emulator.base_url}/v1/customers", auth=(key, ""), data={"name": "b"})
    assert r.status_code == 200 and r.json()["name"] == "b"
    assert r.headers["request-id"].startswith("req_")


def test_parameter_unknown_top_level_and_nested(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create(params={"foo": "bar"})  # type: ignore[typeddict-unknown-key]
    assert exc.value.code == "parameter_unknown" and exc.value.param == "foo"
    assert exc.value.user_message == "Received unknown parameter: foo"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create(
            params={"invoice_settings": {"footer": "f", "bogus": "1"}}  # type: ignore[typeddict-unknown-key]
        )
    assert exc.value.param == "invoice_settings[bogus]"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create(
            params={"name": "x", "marketing_features": [{"name": "a"}, {"nope": "b"}]}  # type: ignore[typeddict-unknown-key]
        )
    assert exc.value.param == "marketing_features[1][nope]"


def test_parameter_missing_and_invalid_integer(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create(params={})  # type: ignore[typeddict-item]
    assert exc.value.code == "parameter_missing" and exc.value.param == "name"
    assert exc.value.user_message == "Missing required param: name."
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create(params={"balance": "lots"})  # type: ignore[typeddict-item]
    assert exc.value.code == "parameter_invalid_integer" and exc.value.param == "balance"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create(params={"name": "x", "active": "maybe"})  # type: ignore[typeddict-item]
    assert exc.value.param == "active"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create(params={"tax_exempt": "sometimes"})  # type: ignore[typeddict-item]
    assert exc.value.param == "tax_exempt"
    assert "must be one of none, exempt, or reverse" in str(exc.value.user_message)


def test_unrecognized_url(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.raw_request("get", "/v1/nonsense")
    assert exc.value.http_status == 404


def test_expand_errors(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": "e@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve(cus.id, params={"expand": ["email"]})
    assert "cannot be expanded" in str(exc.value.user_message)


def test_idempotent_replay(client: stripe.StripeClient) -> None:
    key = str(uuid.uuid4())
    opts: stripe.RequestOptions = {"idempotency_key": key}
    first = client.v1.customers.create(params={"email": "i@example.com"}, options=opts)
    again = client.v1.customers.create(params={"email": "i@example.com"}, options=opts)
    assert again.id == first.id
    assert again.last_response.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.last_response.headers
    assert again.last_response.headers["original-request"] == first.last_response.request_id
    assert len(client.v1.customers.list().data) == 1
    with pytest.raises(stripe.IdempotencyError) as exc:
        client.v1.customers.create(params={"email": "other@example.com"}, options=opts)
    assert exc.value.http_status == 400
    assert exc.value.json_body is not None
    assert exc.value.json_body["error"]["type"] == "idempotency_error"
    assert len(client.v1.customers.list().data) == 1


def test_idempotency_replays_handler_errors_but_not_validation_errors(
    client: stripe.StripeClient,
) -> None:
    opts: stripe.RequestOptions = {"idempotency_key": str(uuid.uuid4())}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update("cus_missing", params={"name": "a"}, options=opts)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.update("cus_missing", params={"name": "a"}, options=opts)
    assert exc.value.headers is not None
    assert exc.value.headers.get("idempotent-replayed") == "true"
    opts2: stripe.RequestOptions = {"idempotency_key": str(uuid.uuid4())}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(params={"bogus": "1"}, options=opts2)  # type: ignore[typeddict-unknown-key]
    ok = client.v1.customers.create(params={"name": "fixed"}, options=opts2)
    assert ok.name == "fixed"


def test_idempotency_keys_are_per_account(make_client: ClientFactory) -> None:
    opts: stripe.RequestOptions = {"idempotency_key": "shared-key"}
    a = make_client().v1.customers.create(params={"name": "a"}, options=opts)
    b = make_client().v1.customers.create(params={"name": "b"}, options=opts)
    assert a.id != b.id and b.name == "b"


def test_fault_500_is_api_error_and_does_not_mutate(
    client: stripe.StripeClient, faults: Faults
) -> None:
    faults.configure(error_rate=1.0, seed=1)
    with pytest.raises(stripe.APIError) as exc:
        client.v1.customers.create(params={"name": "x"})
    assert exc.value.http_status == 500
    faults.clear()
    assert client.v1.customers.list().data == []
    assert client.v1.events.list().data == []


def test_fault_429_is_rate_limit_error(client: stripe.StripeClient, faults: Faults) -> None:
    faults.configure(rate_limit_rate=1.0)
    with pytest.raises(stripe.RateLimitError) as exc:
        client.v1.customers.list()
    assert exc.value.http_status == 429
    assert exc.value.json_body is not None
    assert exc.value.json_body["error"]["code"] == "rate_limit"


def test_fault_then_retry_with_same_idempotency_key_succeeds(
    client: stripe.StripeClient, faults: Faults
) -> None:
    opts: stripe.RequestOptions = {"idempotency_key": str(uuid.uuid4())}
    faults.configure(error_rate=1.0, methods=["POST"])
    with pytest.raises(stripe.APIError):
        client.v1.customers.create(params={"name": "r"}, options=opts)
    faults.clear()
    cus = client.v1.customers.create(params={"name": "r"}, options=opts)
    assert "idempotent-replayed" not in cus.last_response.headers


def test_fault_timeout_and_latency(make_client: ClientFactory, faults: Faults) -> None:
    # Wide margins: a loaded CI machine must not answer "other paths" too late.
    faults.configure(timeout_rate=1.0, timeout_seconds=3.0, path_prefix="/v1/customers")
    impatient = make_client(http_client=stripe.RequestsClient(timeout=1.0))
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.customers.list()
    impatient.v1.products.list()  # other paths unaffected
    faults.configure(latency_ms=3000)
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.products.list()


def test_fault_rates_are_seeded(client: stripe.StripeClient, faults: Faults) -> None:
    def run() -> list[bool]:
        faults.configure(error_rate=0.5, seed=42)
        out = []
        for _ in range(20):
            try:
                client.v1.customers.list()
                out.append(True)
            except stripe.APIError:
                out.append(False)
        return out

    a, b = run(), run()
    assert a == b and any(a) and not all(a)


def test_control_api(emulator: EmulatorServer, client: stripe.StripeClient) -> None:
    base = emulator.base_url
    r = httpx.post(f"{base}/_emulator/faults", json={"rate_limit_rate": 1.0})
    assert r.status_code == 200 and r.json()["rate_limit_rate"] == 1.0
    try:
        with pytest.raises(stripe.RateLimitError):
            client.v1.customers.list()
    finally:
        httpx.post(f"{base}/_emulator/faults", json={})
    assert httpx.get(f"{base}/_emulator/faults").json()["rate_limit_rate"] == 0.0
    assert httpx.post(f"{base}/_emulator/faults", json={"bogus": 1}).status_code == 400
    assert httpx.get(f"{base}/_emulator/health").json()["ok"] is True
    assert httpx.get(f"{base}/_emulator/clock").json()["manual"] is False


def test_abandoned_slow_request_is_processed_and_replayed(
    make_client: ClientFactory, api_key: str, faults: Faults
) -> None:
    impatient = make_client(api_key, http_client=stripe.RequestsClient(timeout=0.2))
    opts: stripe.RequestOptions = {"idempotency_key": str(uuid.uuid4())}
    params: stripe.params.CustomerCreateParams = {"email": "slow@example.com", "name": "Slow"}
    faults.configure(latency_ms=500)
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.customers.create(params=params, options=opts)
    time.sleep(0.6)
    faults.clear()
    again = impatient.v1.customers.create(params=params, options=opts)
    assert again.last_response.headers.get("idempotent-replayed") == "true"
    assert again.email == "slow@example.com"
    assert [c.id for c in make_client(api_key).v1.customers.list().data] == [again.id]

"""SEPA Direct Debit (a delayed-notification method) through the SDK: PaymentMethods from
an IBAN, PaymentIntents that stay ``processing`` until the debit settles, invoices that
wait for it, and Checkout's ``async_payment_succeeded`` / ``async_payment_failed``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from simulator.stripe_emulator import EmulatorServer
from simulator.stripe_emulator.billing import BillingSettings, set_account_settings

from .billing_helpers import DAY, T0, advance

GOOD = "AT611904300234573201"
BAD = "AT861904300235473202"


def _sepa(client: stripe.StripeClient, iban: str = GOOD, **params: Any) -> stripe.PaymentMethod:
    return client.v1.payment_methods.create(
        params={"type": "sepa_debit", "sepa_debit": {"iban": iban}, **params}  # type: ignore[typeddict-item]
    )


def _events(client: stripe.StripeClient) -> list[stripe.Event]:
    return list(reversed(client.v1.events.list(params={"limit": 100}).data))


def test_payment_method_from_an_iban(client: stripe.StripeClient) -> None:
    pm = _sepa(client, "at61 1904 3002 3457 3201", billing_details={"name": "Jenny Rosen"})
    assert pm.type == "sepa_debit" and pm.id.startswith("pm_")
    got = pm.to_dict()
    assert "card" not in got
    assert got["sepa_debit"]["last4"] == "3201" and got["sepa_debit"]["country"] == "AT"
    assert got["sepa_debit"]["bank_code"] == "19043" and got["sepa_debit"]["fingerprint"]
    assert pm.billing_details.name == "Jenny Rosen"
    assert _sepa(client).to_dict()["sepa_debit"]["fingerprint"] == got["sepa_debit"]["fingerprint"]
    cus = client.v1.customers.create()
    attached = _sepa(client, customer=cus.id)
    assert attached.customer == cus.id
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payment_methods.update(attached.id, params={"card": {"exp_month": 1}})
    assert e.value.param == "card"
    clone = client.v1.payment_methods.create(
        params={"type": "sepa_debit", "payment_method": attached.id}
    )
    assert clone.type == "sepa_debit" and clone.to_dict()["sepa_debit"]["last4"] == "3201"
    with pytest.raises(stripe.InvalidRequestError) as e:
        _sepa(client, customer="cus_nope")
    assert e.value.param == "customer"


def test_payment_intent_processing_then_succeeded(client: stripe.StripeClient) -> None:
    pm = _sepa(client)
    pi = client.v1.payment_intents.create(
        params={
            "amount": 3000,
            "currency": "eur",
            "payment_method_types": ["sepa_debit"],
            "payment_method": pm.id,
            "confirm": True,
        }
    )
    assert pi.status == "processing" and pi.amount_received == 0  # the answer Stripe gives
    evts = _events(client)
    assert [e.type for e in evts] == [
        "payment_intent.created",
        "charge.pending",
        "payment_intent.processing",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    assert evts[1].data.object["status"] == "pending" and evts[1].data.object["paid"] is False
    assert evts[1].data.object["payment_method_details"]["type"] == "sepa_debit"
    assert evts[-1].request.id is None  # settled by Stripe, not by the request
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert pi.status == "succeeded" and pi.amount_received == 3000
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert charge.status == "succeeded" and charge.paid is True


def test_failing_iban_fails_after_processing(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(
        params={"amount": 3000, "currency": "eur", "payment_method_types": ["sepa_debit"]}
    )
    pi = client.v1.payment_intents.confirm(pi.id, params={"payment_method": _sepa(client, BAD).id})
    assert pi.status == "processing"
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert pi.status == "requires_payment_method" and pi.payment_method is None
    assert pi.last_payment_error is not None
    assert pi.last_payment_error.code == "insufficient_funds"
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert charge.status == "failed" and charge.failure_code == "insufficient_funds"
    types = [e.type for e in _events(client)]
    assert types[-2:] == ["charge.failed", "payment_intent.payment_failed"]


@pytest.fixture
def delayed(emulator: EmulatorServer, api_key: str) -> Iterator[None]:
    account = emulator.state.account_for_key(api_key)
    set_account_settings(account, BillingSettings(async_payment_delay=3 * DAY))
    yield
    set_account_settings(account, None)


@pytest.mark.usefixtures("delayed")
def test_invoice_waits_for_the_debit_on_a_test_clock(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    cus = client.v1.customers.create(params={"test_clock": clock.id})
    pm = _sepa(client, customer=cus.id)
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 2500, "currency": "eur"})
    inv = client.v1.invoices.create(
        params={"customer": cus.id, "pending_invoice_items_behavior": "include"}
    )
    client.v1.invoices.finalize_invoice(str(inv.id), params={"auto_advance": False})
    inv = client.v1.invoices.pay(str(inv.id), params={"payment_method": pm.id})
    assert inv.status == "open" and inv.payments is not None
    assert inv.payments.data[0].status == "open"
    pi_id = str(inv.payments.data[0].payment.payment_intent)
    assert client.v1.payment_intents.retrieve(pi_id).status == "processing"
    advance(client, clock.id, T0 + 2 * DAY)
    assert client.v1.invoices.retrieve(str(inv.id)).status == "open"
    advance(client, clock.id, T0 + 3 * DAY)
    inv = client.v1.invoices.retrieve(str(inv.id))
    assert inv.status == "paid" and inv.amount_paid == 2500
    assert inv.payments is not None and [p.status for p in inv.payments.data] == ["paid"]
    assert client.v1.payment_intents.retrieve(pi_id).status == "succeeded"

    bad = _sepa(client, BAD, customer=cus.id)
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 700, "currency": "eur"})
    second = client.v1.invoices.create(
        params={"customer": cus.id, "pending_invoice_items_behavior": "include"}
    )
    client.v1.invoices.finalize_invoice(str(second.id), params={"auto_advance": False})
    client.v1.invoices.pay(str(second.id), params={"payment_method": bad.id})
    advance(client, clock.id, T0 + 7 * DAY)
    assert client.v1.invoices.retrieve(str(second.id)).status == "open"
    failed = [e for e in _events(client) if e.type == "invoice.payment_failed"]
    assert [e.data.object["id"] for e in failed] == [second.id]


def _page(client: stripe.StripeClient, method: str, path: str, **params: Any) -> dict[str, Any]:
    resp = client.raw_request(method, path, **params)
    return client.deserialize(resp, api_mode="V1").to_dict()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("iban", "outcome"), [(GOOD, "succeeded"), (BAD, "failed")])
def test_checkout_async_payment(client: stripe.StripeClient, iban: str, outcome: str) -> None:
    pr = client.v1.prices.create(
        params={"currency": "eur", "unit_amount": 1500, "product_data": {"name": "P"}}
    )
    cs = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "payment_method_types": ["sepa_debit"],
            "line_items": [{"price": pr.id, "quantity": 2}],
            "success_url": "https://example.com/ok",
        }
    )
    pm = _sepa(client, iban)
    done = _page(
        client,
        "post",
        f"/v1/payment_pages/{cs.id}/confirm",
        payment_method=pm.id,
        expected_amount=3000,
    )
    assert done["status"] == "complete" and done["payment_status"] == "unpaid"
    evts = _events(client)
    completed = next(e for e in evts if e.type == "checkout.session.completed")
    assert completed.data.object["payment_status"] == "unpaid"
    assert evts[-1].type == f"checkout.session.async_payment_{outcome}"
    session = client.v1.checkout.sessions.retrieve(cs.id)
    assert session.payment_status == ("paid" if outcome == "succeeded" else "unpaid")
    pi = client.v1.payment_intents.retrieve(str(session.payment_intent))
    assert pi.payment_method_types == ["sepa_debit"]


def _mandate(client: stripe.StripeClient, mandate_id: str) -> dict[str, Any]:
    return _page(client, "get", f"/v1/mandates/{mandate_id}")


def test_mandate_data_creates_a_mandate_and_slow_iban_waits(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0})
    cus = client.v1.customers.create(params={"test_clock": clock.id})
    pm = _sepa(client, "AT321904300235473204", customer=cus.id)
    offline = {"customer_acceptance": {"type": "offline", "accepted_at": 1590590577}}
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payment_intents.create(
            params={"amount": 1000, "currency": "eur", "mandate_data": offline}  # type: ignore[typeddict-item]
        )
    assert e.value.param == "mandate_data"
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "eur",
            "customer": cus.id,
            "payment_method": pm.id,
            "payment_method_types": ["sepa_debit"],
            "confirm": True,
            "mandate_data": offline,  # type: ignore[typeddict-item]
        }
    )
    assert pi.status == "processing"
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert charge.status == "pending"
    mandate_id = charge.to_dict()["payment_method_details"]["sepa_debit"]["mandate"]
    mandate = _mandate(client, mandate_id)
    assert mandate["object"] == "mandate" and mandate["payment_method"] == pm.id
    assert mandate["customer_acceptance"] == {
        "accepted_at": 1590590577,
        "offline": {},
        "type": "offline",
    }
    assert mandate["type"] == "single_use" and "multi_use" not in mandate
    assert mandate["single_use"] == {"amount": 1000, "currency": "eur"}
    assert mandate["payment_method_details"]["type"] == "sepa_debit"
    advance(client, clock.id, T0 + 120)  # this test IBAN takes at least three minutes
    assert client.v1.payment_intents.retrieve(pi.id).status == "processing"
    advance(client, clock.id, T0 + 180)
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"

    online = {"customer_acceptance": {"type": "online", "online": {"ip_address": "127.0.0.1"}}}
    reused = client.v1.payment_intents.create(
        params={
            "amount": 500,
            "currency": "eur",
            "customer": cus.id,
            "payment_method_types": ["sepa_debit"],
            "setup_future_usage": "off_session",
        }
    )
    client.v1.payment_intents.confirm(
        reused.id,
        params={"payment_method": pm.id, "mandate_data": online},  # type: ignore[typeddict-item]
    )
    charge = client.v1.charges.retrieve(
        str(client.v1.payment_intents.retrieve(reused.id).latest_charge)
    )
    multi = _mandate(client, charge.to_dict()["payment_method_details"]["sepa_debit"]["mandate"])
    assert multi["type"] == "multi_use" and multi["multi_use"] == {}
    assert multi["customer_acceptance"]["online"] == {"ip_address": "127.0.0.1", "user_agent": None}
    assert multi["customer_acceptance"]["accepted_at"] == T0 + 180
    with pytest.raises(stripe.InvalidRequestError) as e:
        _mandate(client, "mandate_nope")
    assert e.value.http_status == 404


def test_checkout_collects_a_mandate(client: stripe.StripeClient) -> None:
    pr = client.v1.prices.create(
        params={"currency": "eur", "unit_amount": 1500, "product_data": {"name": "P"}}
    )
    cs = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "payment_method_types": ["sepa_debit"],
            "line_items": [{"price": pr.id}],
            "success_url": "https://example.com/ok",
            "payment_intent_data": {"setup_future_usage": "off_session"},
        }
    )
    pm = _sepa(client)
    _page(client, "post", f"/v1/payment_pages/{cs.id}/confirm", payment_method=pm.id)
    session = client.v1.checkout.sessions.retrieve(cs.id)
    pi = client.v1.payment_intents.retrieve(str(session.payment_intent))
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    mandate = _mandate(client, charge.to_dict()["payment_method_details"]["sepa_debit"]["mandate"])
    assert mandate["type"] == "multi_use" and mandate["customer_acceptance"]["type"] == "online"

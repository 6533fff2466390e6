"""PaymentIntents through the official SDK: success, declines, manual capture, cancel,
idempotent replay, and the in-process ``charge_customer`` used by billing code."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from simulator.stripe_emulator import EmulatorServer
from simulator.stripe_emulator.resources.payment_intents import charge_customer
from simulator.stripe_emulator.routing import Ctx


def _types(client: stripe.StripeClient) -> list[str]:
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


def _ctx(emulator: EmulatorServer, api_key: str) -> Ctx:
    state = emulator.state
    account = state.account_for_key(api_key)
    return Ctx(state, account, "POST", "/internal", {}, {}, None, None, state.api_version)


def _customer_with(client: stripe.StripeClient, token: str) -> tuple[str, str]:
    cus = client.v1.customers.create()
    pm = client.v1.payment_methods.attach(token, params={"customer": cus.id})
    return cus.id, pm.id


def test_confirmed_payment_succeeds_with_charge(client: stripe.StripeClient) -> None:
    cus_id, pm_id = _customer_with(client, "pm_card_visa")
    pi = client.v1.payment_intents.create(
        params={
            "amount": 2000,
            "currency": "usd",
            "customer": cus_id,
            "payment_method": pm_id,
            "confirm": True,
            "off_session": True,
            "description": "Pro plan",
            "metadata": {"order": "42"},
            "receipt_email": "r@example.com",
        }
    )
    assert isinstance(pi, stripe.PaymentIntent)
    assert pi.id.startswith("pi_") and pi.client_secret.startswith(pi.id + "_secret_")
    assert pi.status == "succeeded" and pi.amount_received == 2000
    assert pi.payment_method == pm_id and pi.last_payment_error is None
    assert pi.latest_charge is not None
    ch = client.v1.charges.retrieve(str(pi.latest_charge))
    assert ch.status == "succeeded" and ch.paid and ch.captured
    assert ch.amount == 2000 and ch.amount_captured == 2000 and ch.amount_refunded == 0
    assert ch.payment_intent == pi.id and ch.customer == cus_id and ch.payment_method == pm_id
    assert ch.metadata.to_dict() == {"order": "42"} and ch.description == "Pro plan"
    assert ch.payment_method_details is not None
    card = ch.payment_method_details.card
    assert card is not None and card.brand == "visa" and card.last4 == "4242"
    assert ch.outcome is not None and ch.outcome.type == "authorized"
    assert ch.balance_transaction is None
    assert _types(client)[-3:] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    listed = client.v1.payment_intents.list(params={"customer": cus_id})
    assert [p.id for p in listed.data] == [pi.id]
    by_pi = client.v1.charges.list(params={"payment_intent": pi.id})
    assert [c.id for c in by_pi.data] == [ch.id]


@pytest.mark.parametrize(
    ("token", "code", "decline_code"),
    [
        ("pm_card_chargeCustomerFail", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc"),
    ],
)
def test_declines_are_card_errors(
    client: stripe.StripeClient, token: str, code: str, decline_code: str
) -> None:
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.create(
            params={"amount": 1500, "currency": "usd", "payment_method": token, "confirm": True}
        )
    err = exc.value
    assert err.http_status == 402 and err.code == code
    assert err.error is not None and err.error.decline_code == decline_code
    assert err.error.type == "card_error" and err.error.payment_intent is not None
    pi_id = err.error.payment_intent.id
    assert err.error.payment_intent.status == "requires_payment_method"
    pi = client.v1.payment_intents.retrieve(pi_id)
    assert pi.status == "requires_payment_method" and pi.payment_method is None
    assert pi.last_payment_error is not None
    assert pi.last_payment_error.code == code
    assert pi.last_payment_error.decline_code == decline_code
    assert pi.last_payment_error.type == "card_error"
    ch = client.v1.charges.retrieve(str(pi.latest_charge))
    assert ch.status == "failed" and not ch.paid and ch.failure_code == code
    assert ch.outcome is not None and ch.outcome.reason == decline_code
    assert pi.last_payment_error.charge == ch.id
    assert _types(client)[-3:] == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
    ]


def test_retry_after_decline_with_new_card(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.create(
            params={
                "amount": 900,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclined",
                "confirm": True,
            }
        )
    assert exc.value.error is not None and exc.value.error.payment_intent is not None
    pi_id = exc.value.error.payment_intent.id
    ok = client.v1.payment_intents.confirm(pi_id, params={"payment_method": "pm_card_visa"})
    assert ok.status == "succeeded" and ok.last_payment_error is None
    assert len(client.v1.charges.list(params={"payment_intent": pi_id}).data) == 2


def test_two_step_confirm_and_missing_payment_method(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"})
    assert pi.status == "requires_payment_method"
    assert pi.automatic_payment_methods is not None and pi.automatic_payment_methods.enabled
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.confirm(pi.id)
    assert exc.value.code == "payment_intent_unexpected_state"
    upd = client.v1.payment_intents.update(
        pi.id, params={"payment_method": "pm_card_mastercard", "amount": 1200}
    )
    assert upd.status == "requires_confirmation" and upd.amount == 1200
    done = client.v1.payment_intents.confirm(pi.id)
    assert done.status == "succeeded" and done.amount_received == 1200
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.confirm(pi.id)
    assert exc.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.update(pi.id, params={"amount": 5000})
    meta = client.v1.payment_intents.update(pi.id, params={"metadata": {"k": "v"}})
    assert meta.metadata.to_dict() == {"k": "v"}


def test_manual_capture_partial(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "payment_method_types": ["card"],
            "capture_method": "manual",
            "confirm": True,
        }
    )
    assert pi.status == "requires_capture" and pi.amount_capturable == 5000
    ch = client.v1.charges.retrieve(str(pi.latest_charge))
    assert ch.captured is False and ch.amount_captured == 0 and ch.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 6000})
    cap = client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 3000})
    assert cap.status == "succeeded" and cap.amount_received == 3000 and cap.amount_capturable == 0
    ch = client.v1.charges.retrieve(ch.id)
    assert ch.captured and ch.amount_captured == 3000 and ch.amount_refunded == 2000
    assert _types(client)[-3:] == [
        "payment_intent.amount_capturable_updated",
        "charge.captured",
        "payment_intent.succeeded",
    ]


def test_cancel(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(params={"amount": 700, "currency": "usd"})
    canceled = client.v1.payment_intents.cancel(
        pi.id, params={"cancellation_reason": "requested_by_customer"}
    )
    assert canceled.status == "canceled" and canceled.canceled_at is not None
    assert canceled.cancellation_reason == "requested_by_customer"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.cancel(pi.id)
    assert exc.value.code == "payment_intent_unexpected_state"
    held = client.v1.payment_intents.create(
        params={
            "amount": 700,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "capture_method": "manual",
            "confirm": True,
        }
    )
    released = client.v1.payment_intents.cancel(held.id)
    assert released.status == "canceled"
    ch = client.v1.charges.retrieve(str(held.latest_charge))
    assert ch.refunded and ch.amount_refunded == 700
    assert _types(client)[-1] == "payment_intent.canceled"


def test_validation_errors(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={"amount": 10, "currency": "usd"})
    assert exc.value.code == "amount_too_small" and exc.value.param == "amount"
    assert exc.value.user_message == "Amount must be at least $0.50 usd"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(
            params={"amount": 100, "currency": "usd", "customer": "cus_missing"}
        )
    assert exc.value.code == "resource_missing" and exc.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(
            params={"amount": 100, "currency": "usd", "payment_method": "pm_missing"}
        )
    assert exc.value.param == "payment_method"
    _other, pm_id = _customer_with(client, "pm_card_visa")
    mine = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.create(
            params={"amount": 100, "currency": "usd", "customer": mine.id, "payment_method": pm_id}
        )


def test_idempotent_replay_of_create(client: stripe.StripeClient) -> None:
    params: Any = {"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa"}
    params["confirm"] = True
    opts: Any = {"idempotency_key": "pi-once"}
    a = client.v1.payment_intents.create(params=params, options=opts)
    b = client.v1.payment_intents.create(params=params, options=opts)
    assert a.id == b.id and b.last_response.headers.get("idempotent-replayed") == "true"
    assert len(client.v1.payment_intents.list().data) == 1
    assert len(client.v1.charges.list().data) == 1
    # a replayed decline is the same 402 with the same intent
    bad: Any = {**params, "payment_method": "pm_card_chargeDeclined"}
    ids = []
    for _ in range(2):
        with pytest.raises(stripe.CardError) as exc:
            client.v1.payment_intents.create(params=bad, options={"idempotency_key": "pi-bad"})
        assert exc.value.error is not None and exc.value.error.payment_intent is not None
        ids.append(exc.value.error.payment_intent.id)
    assert ids[0] == ids[1]
    assert len(client.v1.payment_intents.list().data) == 2


def test_charge_customer_default_pm_and_decline(
    emulator: EmulatorServer, client: stripe.StripeClient, api_key: str
) -> None:
    cus_id, pm_id = _customer_with(client, "pm_card_visa")
    client.v1.customers.update(
        cus_id, params={"invoice_settings": {"default_payment_method": pm_id}}
    )
    ctx = _ctx(emulator, api_key)
    pi, err = charge_customer(
        ctx, customer=cus_id, amount=2500, currency="usd", payment_method=None, invoice="in_1"
    )
    assert err is None and pi["status"] == "succeeded" and pi["payment_method"] == pm_id
    assert pi["description"] == "Payment for Invoice"
    assert client.v1.payment_intents.retrieve(pi["id"]).status == "succeeded"
    assert [e["type"] for e in ctx.events] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    # a card that attaches fine but fails when charged
    bad = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": cus_id}
    )
    ctx = _ctx(emulator, api_key)
    pi, err = charge_customer(
        ctx, customer=cus_id, amount=2500, currency="usd", payment_method=bad.id
    )
    assert err is not None and err["type"] == "card_error"
    assert err["code"] == "card_declined" and err["decline_code"] == "generic_decline"
    assert pi["status"] == "requires_payment_method" and pi["last_payment_error"] == err
    assert [e["type"] for e in ctx.events][-2:] == [
        "charge.failed",
        "payment_intent.payment_failed",
    ]
    # no payment method at all
    bare = client.v1.customers.create()
    pi, err = charge_customer(
        _ctx(emulator, api_key), customer=bare.id, amount=100, currency="usd", payment_method=None
    )
    assert err is not None and err["type"] == "invalid_request_error"
    assert pi["status"] == "requires_payment_method" and pi["latest_charge"] is None


def test_charge_customer_falls_back_to_attached_card(
    emulator: EmulatorServer, client: stripe.StripeClient, api_key: str
) -> None:
    cus_id, pm_id = _customer_with(client, "pm_card_mastercard")
    pi, err = charge_customer(
        _ctx(emulator, api_key), customer=cus_id, amount=999, currency="usd", payment_method=None
    )
    assert err is None and pi["payment_method"] == pm_id


def test_create_options_and_update_before_confirm(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    other = client.v1.customers.create()
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1200,
            "currency": "EUR",
            "automatic_payment_methods": {"enabled": False},
            "payment_method_options": {"card": {"request_three_d_secure": "challenge"}},
        }
    )
    assert pi.currency == "eur" and pi.automatic_payment_methods is None
    assert pi.payment_method_types == ["card"]
    assert pi.payment_method_options is not None and pi.payment_method_options.card is not None
    assert pi.payment_method_options.card.request_three_d_secure == "challenge"
    pi = client.v1.payment_intents.update(
        pi.id,
        params={
            "amount": 1500,
            "currency": "usd",
            "customer": cus.id,
            "description": "d",
            "statement_descriptor_suffix": "SUFFIX",
            "transfer_group": "grp",
            "setup_future_usage": "off_session",
            "capture_method": "manual",
            "payment_method_types": ["card"],
            "metadata": {"m": "1"},
        },
    )
    assert (pi.amount, pi.currency, pi.customer) == (1500, "usd", cus.id)
    assert pi.statement_descriptor_suffix == "SUFFIX" and pi.transfer_group == "grp"
    assert pi.setup_future_usage == "off_session" and pi.capture_method == "manual"
    assert pi.metadata.to_dict() == {"m": "1"} and pi.status == "requires_payment_method"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.update(pi.id, params={"customer": "cus_missing"})
    assert exc.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.update(pi.id, params={"currency": "us"})
    assert exc.value.param == "currency"
    # setup_future_usage: a successful confirmation saves the card to the customer
    done = client.v1.payment_intents.confirm(
        pi.id,
        params={
            "payment_method": "pm_card_visa",
            "payment_method_options": {"card": {"capture_method": "manual"}},
            "receipt_email": "r@example.com",
        },
    )
    assert done.status == "requires_capture" and done.receipt_email == "r@example.com"
    pm = client.v1.payment_methods.retrieve(str(done.payment_method))
    assert pm.customer == cus.id
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.update(done.id, params={"amount": 2000})
    assert exc.value.code == "payment_intent_unexpected_state"
    assert exc.value.error is not None and exc.value.error.payment_intent is not None
    # description/metadata stay updatable in any status
    assert client.v1.payment_intents.update(done.id, params={"description": "x"}).description == "x"
    captured = client.v1.payment_intents.capture(
        done.id, params={"statement_descriptor_suffix": "CAP", "metadata": {"c": "2"}}
    )
    assert captured.status == "succeeded" and captured.amount_received == 1500
    assert captured.statement_descriptor_suffix == "CAP"
    assert captured.metadata.to_dict() == {"m": "1", "c": "2"}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.capture(done.id)
    assert exc.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.update(done.id, params={"customer": other.id})
    assert exc.value.code == "payment_intent_unexpected_state"


def test_create_parameter_rules(client: stripe.StripeClient) -> None:
    base: Any = {"amount": 1000, "currency": "usd"}
    cases: list[tuple[dict[str, Any], str | None]] = [
        ({"currency": "dollars"}, "currency"),
        (
            {"automatic_payment_methods": {"enabled": True}, "payment_method_types": ["card"]},
            None,
        ),
        ({"off_session": True}, "off_session"),
    ]
    for extra, param in cases:
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.payment_intents.create(params={**base, **extra})
        assert exc.value.http_status == 400
        if param is not None:
            assert exc.value.param == param
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={**base, "confirm": True})
    assert exc.value.code == "payment_intent_unexpected_state"
    assert exc.value.error is not None and exc.value.error.payment_intent is not None
    assert exc.value.error.payment_intent.status == "requires_payment_method"


def test_confirm_of_canceled_intent_is_refused(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    client.v1.payment_intents.cancel(pi.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert exc.value.code == "payment_intent_unexpected_state"
    assert "status of canceled" in str(exc.value.user_message)


def test_charge_customer_with_unusable_payment_method(
    emulator: EmulatorServer, client: stripe.StripeClient, api_key: str
) -> None:
    cus = client.v1.customers.create()
    _other, foreign_pm = _customer_with(client, "pm_card_visa")
    ctx = _ctx(emulator, api_key)
    for pm in ("pm_does_not_exist", foreign_pm):
        pi, err = charge_customer(
            ctx, customer=cus.id, amount=900, currency="usd", payment_method=pm
        )
        assert err is not None and err["type"] == "invalid_request_error"
        assert err["decline_code"] is None and "code" in err
        assert pi["status"] == "requires_payment_method" and pi["latest_charge"] is None


def test_shipping_is_stored_updated_and_copied_to_the_charge(client: stripe.StripeClient) -> None:
    ship = {
        "name": "Jenny Rosen",
        "address": {"line1": "510 Townsend St", "postal_code": "94103", "country": "US"},
    }
    pi = client.v1.payment_intents.create(
        params={"amount": 2000, "currency": "usd", "shipping": ship}
    )
    assert pi.shipping is not None
    assert pi.shipping.to_dict() == {
        "address": {
            "city": None,
            "country": "US",
            "line1": "510 Townsend St",
            "line2": None,
            "postal_code": "94103",
            "state": None,
        },
        "carrier": None,
        "name": "Jenny Rosen",
        "phone": None,
        "tracking_number": None,
    }
    pi = client.v1.payment_intents.update(
        pi.id, params={"shipping": {**ship, "carrier": "UPS", "tracking_number": "1Z"}}
    )
    assert pi.shipping is not None and pi.shipping.carrier == "UPS"
    pi = client.v1.payment_intents.confirm(
        pi.id, params={"payment_method": "pm_card_visa", "shipping": {**ship, "phone": "555"}}
    )
    assert pi.status == "succeeded" and pi.shipping is not None
    assert pi.shipping.phone == "555" and pi.shipping.carrier is None
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert charge.shipping is not None and charge.shipping.name == "Jenny Rosen"
    cleared = client.v1.payment_intents.create(
        params={"amount": 2000, "currency": "usd", "shipping": ship}
    )
    cleared = client.v1.payment_intents.update(cleared.id, params={"shipping": ""})
    assert cleared.shipping is None
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payment_intents.create(
            params={"amount": 2000, "currency": "usd", "shipping": {"name": "J"}}
        )
    assert e.value.param == "shipping[address]"

"""SetupIntents through the official SDK: confirm attaches the card, failing cards leave
``last_setup_error`` and raise ``CardError``, cancel and state errors."""

from __future__ import annotations

import pytest
import stripe


def _types(client: stripe.StripeClient) -> list[str]:
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


def test_confirm_attaches_payment_method(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    si = client.v1.setup_intents.create(
        params={"customer": cus.id, "payment_method_types": ["card"], "metadata": {"a": "1"}}
    )
    assert isinstance(si, stripe.SetupIntent)
    assert si.id.startswith("seti_") and si.client_secret.startswith(si.id + "_secret_")
    assert si.status == "requires_payment_method" and si.usage == "off_session"
    assert si.payment_method_types == ["card"] and si.automatic_payment_methods is None
    upd = client.v1.setup_intents.update(si.id, params={"payment_method": "pm_card_visa"})
    assert upd.status == "requires_confirmation"
    done = client.v1.setup_intents.confirm(si.id)
    assert done.status == "succeeded" and done.last_setup_error is None
    assert done.payment_method is not None
    pm = client.v1.payment_methods.retrieve(str(done.payment_method))
    assert pm.customer == cus.id
    assert _types(client)[-3:] == [
        "setup_intent.created",
        "payment_method.attached",
        "setup_intent.succeeded",
    ]
    listed = client.v1.setup_intents.list(params={"customer": cus.id})
    assert [s.id for s in listed.data] == [si.id]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.setup_intents.cancel(si.id)
    assert exc.value.code == "setup_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.setup_intents.confirm(si.id)


def test_create_and_confirm_in_one_call(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    si = client.v1.setup_intents.create(
        params={
            "customer": cus.id,
            "payment_method": "pm_card_chargeCustomerFail",
            "confirm": True,
            "usage": "on_session",
        }
    )
    assert si.status == "succeeded" and si.usage == "on_session"
    assert si.automatic_payment_methods is not None and si.automatic_payment_methods.enabled
    assert client.v1.payment_methods.list(params={"customer": cus.id}).data[0].id == (
        si.payment_method
    )


@pytest.mark.parametrize(
    ("token", "code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
    ],
)
def test_failing_card(
    client: stripe.StripeClient, token: str, code: str, decline_code: str
) -> None:
    cus = client.v1.customers.create()
    with pytest.raises(stripe.CardError) as exc:
        client.v1.setup_intents.create(
            params={"customer": cus.id, "payment_method": token, "confirm": True}
        )
    err = exc.value
    assert err.http_status == 402 and err.code == code
    assert err.error is not None and err.error.decline_code == decline_code
    assert err.error.setup_intent is not None
    si = client.v1.setup_intents.retrieve(err.error.setup_intent.id)
    assert si.status == "requires_payment_method" and si.payment_method is None
    assert si.last_setup_error is not None and si.last_setup_error.code == code
    assert si.last_setup_error.decline_code == decline_code
    assert client.v1.payment_methods.list(params={"customer": cus.id}).data == []
    assert _types(client)[-2:] == ["setup_intent.created", "setup_intent.setup_failed"]
    # retry with a good card
    ok = client.v1.setup_intents.confirm(si.id, params={"payment_method": "pm_card_visa"})
    assert ok.status == "succeeded" and ok.last_setup_error is None


def test_missing_pm_and_cancel(client: stripe.StripeClient) -> None:
    si = client.v1.setup_intents.create()
    assert si.customer is None and si.status == "requires_payment_method"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.setup_intents.confirm(si.id)
    assert exc.value.code == "setup_intent_unexpected_state"
    canceled = client.v1.setup_intents.cancel(si.id, params={"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled" and canceled.cancellation_reason == "abandoned"
    assert _types(client)[-1] == "setup_intent.canceled"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.setup_intents.create(params={"customer": "cus_missing"})


def test_update_rules_and_automatic_methods(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.setup_intents.create(
            params={
                "automatic_payment_methods": {"enabled": True},
                "payment_method_types": ["card"],
            }
        )
    off = client.v1.setup_intents.create(params={"automatic_payment_methods": {"enabled": False}})
    assert off.automatic_payment_methods is None and off.payment_method_types == ["card"]
    auto = client.v1.setup_intents.create()
    assert auto.automatic_payment_methods is not None
    assert auto.automatic_payment_methods.enabled is True
    assert auto.payment_method_configuration_details is not None
    si = client.v1.setup_intents.update(
        auto.id,
        params={
            "customer": cus.id,
            "description": "save card",
            "metadata": {"a": "1"},
            "payment_method_types": ["card"],
            "flow_directions": ["inbound"],
            "payment_method": "pm_card_visa",
        },
    )
    assert si.customer == cus.id and si.description == "save card"
    assert si.automatic_payment_methods is None and si.payment_method_configuration_details is None
    assert si.flow_directions == ["inbound"] and si.status == "requires_confirmation"
    si = client.v1.setup_intents.update(si.id, params={"payment_method": ""})
    assert si.payment_method is None and si.status == "requires_payment_method"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.setup_intents.update(si.id, params={"customer": "cus_missing"})
    assert exc.value.param == "customer"
    done = client.v1.setup_intents.confirm(si.id, params={"payment_method": "pm_card_mastercard"})
    assert done.status == "succeeded"
    # after success only description and metadata may change
    assert client.v1.setup_intents.update(
        done.id, params={"metadata": {"b": "2"}}
    ).metadata.to_dict() == {
        "a": "1",
        "b": "2",
    }
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.setup_intents.update(done.id, params={"payment_method": "pm_card_visa"})
    assert exc.value.code == "setup_intent_unexpected_state"
    assert exc.value.error is not None and exc.value.error.setup_intent is not None


def test_confirm_uses_the_stored_payment_method(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": cus.id})
    si = client.v1.setup_intents.create(params={"customer": cus.id, "payment_method": pm.id})
    assert si.status == "requires_confirmation"
    done = client.v1.setup_intents.confirm(si.id)
    assert done.status == "succeeded" and done.payment_method == pm.id

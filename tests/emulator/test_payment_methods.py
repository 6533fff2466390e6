"""PaymentMethods through the official SDK: raw card numbers, test tokens, attach/detach,
declines at attach time, updates, lists and the customer's default payment method."""

from __future__ import annotations

import datetime

import pytest
import stripe

from simulator.stripe_emulator import EmulatorServer, StripeError
from simulator.stripe_emulator.resources.payment_methods import check_default_pm
from simulator.stripe_emulator.routing import Ctx


def _types(client: stripe.StripeClient) -> list[str]:
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


def _card(number: str, cvc: str = "123") -> stripe.PaymentMethodCreateParams:
    return {
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": cvc},
    }


@pytest.mark.parametrize(
    ("number", "brand", "last4"),
    [
        ("4242424242424242", "visa", "4242"),
        ("5555555555554444", "mastercard", "4444"),
        ("378282246310005", "amex", "0005"),
    ],
)
def test_create_from_raw_number(
    client: stripe.StripeClient, number: str, brand: str, last4: str
) -> None:
    pm = client.v1.payment_methods.create(
        params={
            **_card(number, "1234" if brand == "amex" else "123"),
            "billing_details": {"name": "Ada", "address": {"country": "GB"}},
            "metadata": {"a": "1"},
        }
    )
    assert isinstance(pm, stripe.PaymentMethod)
    assert pm.id.startswith("pm_") and pm.type == "card" and pm.customer is None
    assert pm.card is not None
    assert pm.card.brand == brand and pm.card.last4 == last4
    assert pm.card.exp_month == 12 and pm.card.exp_year == 2034
    assert pm.card.funding == "credit" and pm.card.country == "US"
    assert pm.card.fingerprint and pm.card.checks is not None
    assert pm.billing_details.name == "Ada" and pm.billing_details.address is not None
    assert pm.billing_details.address.country == "GB" and pm.billing_details.address.city is None
    assert pm.metadata.to_dict() == {"a": "1"}
    again = client.v1.payment_methods.create(params=_card(number))
    assert again.card is not None and again.card.fingerprint == pm.card.fingerprint
    assert client.v1.payment_methods.retrieve(pm.id).to_dict() == pm.to_dict()


def test_invalid_card_details_are_card_errors(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.create(params=_card("4242424242424241"))
    assert exc.value.code == "incorrect_number" and exc.value.http_status == 402
    bad_month: stripe.PaymentMethodCreateParams = {
        "type": "card",
        "card": {"number": "4242424242424242", "exp_month": 13, "exp_year": 2034},
    }
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.create(params=bad_month)
    assert exc.value.code == "invalid_expiry_month"
    past: stripe.PaymentMethodCreateParams = {
        "type": "card",
        "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2001},
    }
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.create(params=past)
    assert exc.value.code == "invalid_expiry_year"
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.create(params=_card("4242424242424242", cvc="1"))
    assert exc.value.code == "invalid_cvc"


def test_attach_token_mints_new_pm_and_detach(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    a = client.v1.payment_methods.attach("pm_card_visa", params={"customer": cus.id})
    b = client.v1.payment_methods.attach("pm_card_visa", params={"customer": cus.id})
    assert a.id != b.id and a.id.startswith("pm_") and a.customer == cus.id
    assert a.card is not None and a.card.brand == "visa" and a.card.checks is not None
    assert a.card.checks.cvc_check == "pass"
    listed = client.v1.payment_methods.list(params={"customer": cus.id, "type": "card"})
    assert [p.id for p in listed.data] == [b.id, a.id]
    nested = client.v1.customers.payment_methods.list(cus.id)
    assert [p.id for p in nested.data] == [b.id, a.id]
    assert client.v1.customers.payment_methods.retrieve(cus.id, a.id).id == a.id
    # default payment method, cleared when detached
    client.v1.customers.update(
        cus.id, params={"invoice_settings": {"default_payment_method": a.id}}
    )
    gone = client.v1.payment_methods.detach(a.id)
    assert gone.customer is None
    assert client.v1.customers.retrieve(cus.id).invoice_settings.default_payment_method is None
    assert [p.id for p in client.v1.payment_methods.list(params={"customer": cus.id}).data] == [
        b.id
    ]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.detach(a.id)
    types = _types(client)
    assert types.count("payment_method.attached") == 2
    assert "payment_method.detached" in types and "customer.updated" in types


def test_attach_to_another_customer_is_refused(client: stripe.StripeClient) -> None:
    one, two = client.v1.customers.create(), client.v1.customers.create()
    pm = client.v1.payment_methods.attach("pm_card_mastercard", params={"customer": one.id})
    same = client.v1.payment_methods.attach(pm.id, params={"customer": one.id})
    assert same.customer == one.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.attach(pm.id, params={"customer": two.id})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.attach(pm.id, params={"customer": "cus_nope"})
    assert exc.value.code == "resource_missing" and exc.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.attach("pm_nope", params={"customer": one.id})
    assert exc.value.http_status == 404


@pytest.mark.parametrize(
    ("token", "code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc"),
    ],
)
def test_declining_cards_fail_on_attach(
    client: stripe.StripeClient, token: str, code: str, decline_code: str
) -> None:
    cus = client.v1.customers.create()
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.attach(token, params={"customer": cus.id})
    assert exc.value.code == code and exc.value.http_status == 402
    assert exc.value.error is not None and exc.value.error.decline_code == decline_code
    assert client.v1.payment_methods.list(params={"customer": cus.id}).data == []
    assert "payment_method.attached" not in _types(client)


def test_charge_customer_fail_card_attaches(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    pm = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": cus.id})
    assert pm.customer == cus.id
    raw = client.v1.payment_methods.create(params=_card("4000000000000341"))
    assert client.v1.payment_methods.attach(raw.id, params={"customer": cus.id}).customer == cus.id


def test_update_requires_customer_and_emits(client: stripe.StripeClient) -> None:
    loose = client.v1.payment_methods.create(params=_card("4242424242424242"))
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.update(loose.id, params={"metadata": {"x": "1"}})
    cus = client.v1.customers.create()
    client.v1.payment_methods.attach(loose.id, params={"customer": cus.id})
    upd = client.v1.payment_methods.update(
        loose.id,
        params={
            "metadata": {"x": "1"},
            "billing_details": {"email": "b@example.com"},
            "card": {"exp_month": 3},
        },
    )
    assert upd.metadata.to_dict() == {"x": "1"} and upd.billing_details.email == "b@example.com"
    assert upd.card is not None and upd.card.exp_month == 3 and upd.card.exp_year == 2034
    evt = client.v1.events.list(params={"type": "payment_method.updated"}).data[0]
    assert evt.data.previous_attributes is not None
    assert evt.data.previous_attributes["metadata"].to_dict() == {"x": None}


def test_check_default_pm_helper(
    emulator: EmulatorServer, client: stripe.StripeClient, api_key: str
) -> None:
    state = emulator.state
    ctx = Ctx(state, state.account_for_key(api_key), "POST", "/x", {}, {}, None, None, "v")
    one, two = client.v1.customers.create(), client.v1.customers.create()
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": one.id})
    check_default_pm(ctx, one.id, pm.id)
    check_default_pm(ctx, one.id, None)
    with pytest.raises(StripeError) as exc:
        check_default_pm(ctx, two.id, pm.id)
    assert exc.value.param == "invoice_settings[default_payment_method]"
    with pytest.raises(StripeError) as exc:
        check_default_pm(ctx, one.id, "pm_missing")
    assert exc.value.message == "No such PaymentMethod: 'pm_missing'"


def _luhn(prefix: str, length: int) -> str:
    """``prefix`` padded with zeros to ``length`` digits, with a valid Luhn check digit."""
    body = prefix.ljust(length - 1, "0")
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        (_luhn("4111", 16), "visa"),
        (_luhn("34", 15), "amex"),
        (_luhn("52", 16), "mastercard"),
        (_luhn("2720", 16), "mastercard"),
        (_luhn("6500", 16), "discover"),
        (_luhn("3020", 14), "diners"),
        (_luhn("3530", 16), "jcb"),
        (_luhn("6250", 16), "unionpay"),
        (_luhn("9000", 16), "unknown"),
    ],
)
def test_live_card_numbers_are_declined_in_test_mode(
    client: stripe.StripeClient, number: str, brand: str
) -> None:
    pm = client.v1.payment_methods.create(
        params=_card(number, "1234" if brand == "amex" else "123")
    )
    assert pm.card is not None and pm.card.brand == brand and pm.card.last4 == number[-4:]
    cus = client.v1.customers.create()
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.attach(pm.id, params={"customer": cus.id})
    assert exc.value.code == "card_declined"
    assert exc.value.error is not None
    assert exc.value.error.decline_code == "test_mode_live_card"
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.create(
            params={"amount": 1000, "currency": "usd", "payment_method": pm.id, "confirm": True}
        )
    assert exc.value.error is not None
    assert exc.value.error.decline_code == "test_mode_live_card"


@pytest.mark.parametrize("number", ["4242 4242 4242 424x", "42424242", "4" * 20])
def test_malformed_numbers_are_incorrect(client: stripe.StripeClient, number: str) -> None:
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.create(params=_card(number))
    assert exc.value.code == "incorrect_number" and exc.value.param == "card[number]"


def test_create_update_and_list_options(client: stripe.StripeClient) -> None:
    for params, param in (
        ({"type": "card"}, "card"),
        ({"type": "card", "card": {"token": "tok_nope"}}, "card[token]"),
        ({"type": "card", "card": {"number": "4242424242424242"}}, "card[exp_month]"),
        ({"type": "ideal"}, "type"),
        ({"type": "sepa_debit"}, "sepa_debit"),
        (
            {"type": "sepa_debit", "sepa_debit": {"iban": "AT611904300234573202"}},
            "sepa_debit[iban]",
        ),
    ):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.payment_methods.create(params=params)  # type: ignore[arg-type]
        assert exc.value.param == param
    short_year: stripe.PaymentMethodCreateParams = {
        "type": "card",
        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 45},
    }
    card = client.v1.payment_methods.create(params=short_year).card
    assert card is not None and card.exp_year == 2045
    now = datetime.datetime.now(datetime.UTC)
    if now.month > 1:  # a month already gone this year
        gone: stripe.PaymentMethodCreateParams = {
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": now.year},
        }
        with pytest.raises(stripe.CardError) as ce:
            client.v1.payment_methods.create(params=gone)
        assert ce.value.code == "invalid_expiry_month"

    cus = client.v1.customers.create()
    pm = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"token": "tok_visa"},
            "allow_redisplay": "always",
            "customer": cus.id,
            "billing_details": {"name": "Ada"},
        }
    )
    assert pm.customer == cus.id and pm.allow_redisplay == "always"
    other = client.v1.payment_methods.attach("pm_card_mastercard", params={"customer": cus.id})
    upd = client.v1.payment_methods.update(
        pm.id,
        params={"metadata": {"k": "v"}, "allow_redisplay": "limited", "billing_details": ""},
    )
    assert upd.metadata.to_dict() == {"k": "v"} and upd.allow_redisplay == "limited"
    assert upd.billing_details.name is None
    listed = client.v1.customers.payment_methods.list(
        cus.id, params={"type": "card", "allow_redisplay": "limited"}
    )
    assert [p.id for p in listed.data] == [pm.id]
    assert len(client.v1.customers.payment_methods.list(cus.id).data) == 2
    assert client.v1.customers.payment_methods.retrieve(cus.id, other.id).id == other.id
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.payment_methods.retrieve(cus.id, "pm_nope")
    assert exc.value.http_status == 404 and exc.value.param == "payment_method"

    clone = client.v1.payment_methods.create(params={"type": "card", "payment_method": pm.id})
    assert clone.id != pm.id and clone.customer is None
    assert clone.card is not None and clone.card.last4 == "4242"
    with pytest.raises(stripe.InvalidRequestError) as exc:  # attached: name its customer
        client.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "payment_method": pm.id}
        )
    assert exc.value.param == "payment_method" and "provide the `customer`" in str(exc.value)

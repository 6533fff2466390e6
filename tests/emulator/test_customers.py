"""Customers through the official SDK: CRUD, metadata semantics, filters, deletion."""

from __future__ import annotations

import pytest
import stripe

from .conftest import ClientFactory


def test_create_has_stripe_shape(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(
        params={"email": "a@example.com", "name": "Ada", "metadata": {"plan": "pro"}}
    )
    assert isinstance(cus, stripe.Customer)
    assert cus.id.startswith("cus_") and 14 <= len(cus.id) - 4 <= 24
    assert cus.object == "customer"
    assert cus.email == "a@example.com" and cus.name == "Ada"
    assert cus.metadata.to_dict() == {"plan": "pro"}
    assert cus.livemode is False and cus.balance == 0 and cus.delinquent is False
    assert cus.test_clock is None and cus.invoice_settings.default_payment_method is None
    assert isinstance(cus.created, int)
    assert cus.last_response.headers["request-id"].startswith("req_")


def test_retrieve_update_metadata_and_nulling(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"description": "d", "metadata": {"a": "1", "b": "2"}})
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": cus.id})
    upd = client.v1.customers.update(
        cus.id,
        params={
            "metadata": {"a": "", "c": "3"},
            "description": "",
            "invoice_settings": {"default_payment_method": pm.id},
        },
    )
    assert upd.metadata.to_dict() == {"b": "2", "c": "3"}
    assert upd.description is None
    assert upd.invoice_settings.default_payment_method == pm.id
    got = client.v1.customers.retrieve(cus.id)
    assert got.to_dict() == upd.to_dict()
    cleared = client.v1.customers.update(cus.id, params={"metadata": ""})
    assert cleared.metadata.to_dict() == {}


def test_address_and_test_clock_stored(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_700_000_000})
    cus = client.v1.customers.create(
        params={"address": {"city": "Oslo", "country": "NO"}, "test_clock": clock.id}
    )
    assert cus.address.city == "Oslo" and cus.address.line1 is None
    assert cus.test_clock == clock.id and cus.created == 1_700_000_000
    listed = client.v1.customers.list(params={"test_clock": clock.id})
    assert [c.id for c in listed.data] == [cus.id]


def test_delete_then_retrieve_returns_deleted_stub(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create()
    gone = client.v1.customers.delete(cus.id)
    assert gone.deleted is True and gone.id == cus.id
    again = client.v1.customers.retrieve(cus.id)
    assert again.to_dict() == {"id": cus.id, "object": "customer", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.update(cus.id, params={"name": "x"})
    assert exc.value.http_status == 404 and exc.value.code == "resource_missing"
    assert client.v1.customers.list().data == []


def test_missing_customer_is_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve("cus_nope")
    err = exc.value
    assert err.http_status == 404
    assert err.code == "resource_missing"
    assert err.param == "id"
    assert err.user_message == "No such customer: 'cus_nope'"
    assert err.json_body is not None
    assert err.json_body["error"]["type"] == "invalid_request_error"
    assert err.json_body["error"]["doc_url"] == (
        "https://stripe.com/docs/error-codes/resource-missing"
    )
    assert err.request_id is not None and err.request_id.startswith("req_")


def test_list_email_filter(client: stripe.StripeClient) -> None:
    a = client.v1.customers.create(params={"email": "x@example.com"})
    client.v1.customers.create(params={"email": "y@example.com"})
    b = client.v1.customers.create(params={"email": "x@example.com"})
    res = client.v1.customers.list(params={"email": "x@example.com"})
    assert [c.id for c in res.data] == [b.id, a.id]  # newest first
    assert res.has_more is False and res.url == "/v1/customers"
    upd = client.v1.customers.update(a.id, params={"email": "z@example.com"})
    assert upd.email == "z@example.com"
    res = client.v1.customers.list(params={"email": "x@example.com"})
    assert [c.id for c in res.data] == [b.id]


def test_account_isolation(make_client: ClientFactory) -> None:
    alice, bob = make_client(), make_client()
    cus = alice.v1.customers.create(params={"email": "iso@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        bob.v1.customers.retrieve(cus.id)
    assert exc.value.http_status == 404
    assert bob.v1.customers.list().data == []
    assert bob.v1.events.list().data == []
    assert len(alice.v1.customers.list().data) == 1


def test_pagination_250(client: stripe.StripeClient) -> None:
    created = [client.v1.customers.create().id for _ in range(250)]
    first = client.v1.customers.list(params={"limit": 100})
    assert len(first.data) == 100 and first.has_more is True
    assert first.data[0].id == created[-1]
    seen = [c.id for c in first.auto_paging_iter()]
    assert len(seen) == 250 and len(set(seen)) == 250
    assert seen == list(reversed(created))
    # ending_before pages backwards (items newer than the cursor)
    page = client.v1.customers.list(params={"limit": 3, "ending_before": created[10]})
    assert [c.id for c in page.data] == [created[13], created[12], created[11]]
    assert page.has_more is True
    tail = client.v1.customers.list(params={"limit": 5, "starting_after": created[2]})
    assert [c.id for c in tail.data] == [created[1], created[0]] and tail.has_more is False
    back = list(client.v1.customers.list(params={"ending_before": created[5]}).auto_paging_iter())
    assert len(back) == 244


def test_bad_cursor_is_resource_missing(client: stripe.StripeClient) -> None:
    for param in ("starting_after", "ending_before"):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.customers.list(params={param: "cus_missing"})  # type: ignore[misc]
        assert exc.value.http_status == 400  # an id given as a param, not in the URL
        assert exc.value.param == param and exc.value.code == "resource_missing"
        assert exc.value.error is not None and exc.value.error.type == "invalid_request_error"
        assert "cus_missing" in str(exc.value)


def test_limit_bounds(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.list(params={"limit": 101})
    assert exc.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.list(params={"limit": 0})


def _types(client: stripe.StripeClient) -> list[str]:
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


def test_create_with_payment_method_attaches_it(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(
        params={
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    pms = client.v1.customers.payment_methods.list(cus.id).data
    assert len(pms) == 1 and pms[0].customer == cus.id and pms[0].card is not None
    assert cus.invoice_settings.default_payment_method == pms[0].id
    assert _types(client) == ["customer.created", "payment_method.attached"]

    pm = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_visa"}})
    plain = client.v1.customers.create(params={"payment_method": pm.id})
    assert plain.invoice_settings.default_payment_method is None
    assert client.v1.payment_methods.retrieve(pm.id).customer == plain.id


def test_create_with_payment_method_is_validated_first(client: stripe.StripeClient) -> None:
    owned = client.v1.customers.create(params={"payment_method": "pm_card_visa"})
    pm_id = client.v1.customers.payment_methods.list(owned.id).data[0].id
    before = len(client.v1.customers.list().data)
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.customers.create(params={"payment_method": pm_id})
    assert e.value.param == "payment_method" and "already been attached" in str(e.value)
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.customers.create(params={"payment_method": "pm_nope"})
    assert e.value.param == "payment_method" and e.value.code == "resource_missing"
    with pytest.raises(stripe.CardError) as ce:
        client.v1.customers.create(params={"payment_method": "pm_card_chargeDeclined"})
    assert ce.value.code == "card_declined"
    other = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_visa"}})
    for params in (
        {
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": other.id},
        },
        {"invoice_settings": {"default_payment_method": other.id}},
        {"invoice_settings": {"default_payment_method": pm_id}},
    ):
        with pytest.raises(stripe.InvalidRequestError) as e:
            client.v1.customers.create(params=params)  # type: ignore[arg-type]
        assert e.value.param == "invoice_settings[default_payment_method]"
        assert e.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.customers.update(
            owned.id, params={"invoice_settings": {"default_payment_method": other.id}}
        )
    assert e.value.param == "invoice_settings[default_payment_method]"
    assert len(client.v1.customers.list().data) == before

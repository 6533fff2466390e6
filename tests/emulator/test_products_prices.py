"""Products and prices through the official SDK, including expand and filters."""

from __future__ import annotations

from decimal import Decimal

import pytest
import stripe


def test_product_crud_and_active_filter(client: stripe.StripeClient) -> None:
    p1 = client.v1.products.create(params={"name": "Basic", "metadata": {"tier": "1"}})
    p2 = client.v1.products.create(params={"name": "Legacy", "active": False})
    assert isinstance(p1, stripe.Product)
    assert p1.id.startswith("prod_") and p1.active is True and p1.default_price is None
    assert p2.active is False
    assert [p.id for p in client.v1.products.list(params={"active": True}).data] == [p1.id]
    assert [p.id for p in client.v1.products.list(params={"active": False}).data] == [p2.id]
    upd = client.v1.products.update(p2.id, params={"active": True, "name": "Legacy 2"})
    assert upd.active is True and upd.name == "Legacy 2"
    assert len(client.v1.products.list(params={"active": True}).data) == 2
    gone = client.v1.products.delete(p1.id)
    assert gone.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.retrieve(p1.id)
    assert exc.value.http_status == 404 and "No such product" in str(exc.value.user_message)


def test_product_custom_id_and_duplicates(client: stripe.StripeClient) -> None:
    p = client.v1.products.create(params={"id": "prod_custom_1", "name": "C"})
    assert p.id == "prod_custom_1"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create(params={"id": "prod_custom_1", "name": "C"})
    assert exc.value.code == "resource_already_exists"


def test_product_name_cannot_be_emptied(client: stripe.StripeClient) -> None:
    p = client.v1.products.create(params={"name": "N"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.update(p.id, params={"name": ""})
    assert exc.value.code == "parameter_invalid_empty" and exc.value.param == "name"


def test_price_create_recurring_with_product(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create(params={"name": "Pro"})
    price = client.v1.prices.create(
        params={
            "product": prod.id,
            "currency": "USD",
            "unit_amount": 1500,
            "recurring": {"interval": "month", "interval_count": 3},
            "lookup_key": "pro_quarterly",
            "nickname": "Pro quarterly",
            "metadata": {"k": "v"},
        }
    )
    assert isinstance(price, stripe.Price)
    assert price.id.startswith("price_")
    assert price.currency == "usd" and price.unit_amount == 1500
    assert price.unit_amount_decimal == Decimal("1500")
    assert price.type == "recurring" and price.recurring is not None
    assert price.recurring.interval == "month" and price.recurring.interval_count == 3
    assert price.recurring.usage_type == "licensed"
    assert price.lookup_key == "pro_quarterly" and price.product == prod.id
    one_time = client.v1.prices.create(
        params={"product": prod.id, "currency": "usd", "unit_amount": 99}
    )
    assert one_time.type == "one_time" and one_time.recurring is None


def test_price_with_product_data_and_expand(client: stripe.StripeClient) -> None:
    price = client.v1.prices.create(
        params={
            "currency": "eur",
            "unit_amount": 700,
            "product_data": {"name": "Inline"},
            "expand": ["product"],
        }
    )
    assert isinstance(price.product, stripe.Product)
    assert price.product.name == "Inline"
    got = client.v1.prices.retrieve(price.id)
    assert isinstance(got.product, str)
    listed = client.v1.prices.list(params={"expand": ["data.product"]})
    assert listed.data[0].product.name == "Inline"  # type: ignore[union-attr]


def test_price_list_filters(client: stripe.StripeClient) -> None:
    a = client.v1.products.create(params={"name": "A"})
    b = client.v1.products.create(params={"name": "B"})
    pa = client.v1.prices.create(
        params={
            "product": a.id,
            "currency": "usd",
            "unit_amount": 100,
            "recurring": {"interval": "month"},
            "lookup_key": "a_month",
        }
    )
    pb = client.v1.prices.create(
        params={"product": b.id, "currency": "usd", "unit_amount": 200, "lookup_key": "b_once"}
    )
    pc = client.v1.prices.create(
        params={"product": b.id, "currency": "usd", "unit_amount": 300, "active": False}
    )
    ids = lambda res: [p.id for p in res.data]  # noqa: E731
    assert ids(client.v1.prices.list(params={"product": b.id})) == [pc.id, pb.id]
    assert ids(client.v1.prices.list(params={"lookup_keys": ["a_month", "b_once"]})) == [
        pb.id,
        pa.id,
    ]
    assert ids(client.v1.prices.list(params={"type": "recurring"})) == [pa.id]
    assert ids(client.v1.prices.list(params={"active": False})) == [pc.id]
    assert ids(client.v1.prices.list(params={"active": True, "product": b.id})) == [pb.id]
    assert ids(client.v1.prices.list(params={"recurring": {"interval": "month"}})) == [pa.id]


def test_price_update_and_lookup_key_transfer(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create(params={"name": "P"})
    old = client.v1.prices.create(
        params={"product": prod.id, "currency": "usd", "unit_amount": 1, "lookup_key": "std"}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            params={"product": prod.id, "currency": "usd", "unit_amount": 2, "lookup_key": "std"}
        )
    assert exc.value.param == "lookup_key"
    new = client.v1.prices.create(
        params={
            "product": prod.id,
            "currency": "usd",
            "unit_amount": 2,
            "lookup_key": "std",
            "transfer_lookup_key": True,
        }
    )
    assert client.v1.prices.retrieve(old.id).lookup_key is None
    listed = client.v1.prices.list(params={"lookup_keys": ["std"]})
    assert [p.id for p in listed.data] == [new.id]
    archived = client.v1.prices.update(old.id, params={"active": False, "nickname": "old"})
    assert archived.active is False and archived.nickname == "old"


def test_price_cannot_be_deleted(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create(params={"name": "P"})
    price = client.v1.prices.create(
        params={"product": prod.id, "currency": "usd", "unit_amount": 1}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.raw_request("delete", f"/v1/prices/{price.id}")
    assert exc.value.http_status == 404
    assert "Unrecognized request URL (DELETE: /v1/prices/" in str(exc.value.user_message)
    # and a product with prices cannot be deleted either
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.products.delete(prod.id)


def test_product_default_price_data(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create(
        params={
            "name": "Bundle",
            "default_price_data": {
                "currency": "usd",
                "unit_amount": 4900,
                "recurring": {"interval": "year"},
            },
            "expand": ["default_price"],
        }
    )
    assert isinstance(prod.default_price, stripe.Price)
    assert prod.default_price.unit_amount == 4900
    assert prod.default_price.product == prod.id


def test_price_validation_errors(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(params={"unit_amount": 5, "product_data": {"name": "x"}})  # type: ignore[typeddict-item]
    assert exc.value.code == "parameter_missing" and exc.value.param == "currency"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(params={"currency": "usd", "unit_amount": 5})
    assert exc.value.code == "parameter_missing" and exc.value.param == "product"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            params={"currency": "usd", "unit_amount": 5, "product": "prod_missing"}
        )
    assert exc.value.code == "resource_missing" and exc.value.param == "product"
    assert exc.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            params={
                "currency": "usd",
                "unit_amount": 5,
                "product_data": {"name": "x"},
                "recurring": {"interval": "fortnight"},  # type: ignore[typeddict-item]
            }
        )
    assert exc.value.param == "recurring[interval]"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            params={
                "currency": "usd",
                "unit_amount": 5,
                "product_data": {"name": "x"},
                "recurring": {"interval": "month", "interval_count": 13},
            }
        )
    assert exc.value.param == "recurring[interval_count]"
    # nothing was created by the failed attempts
    assert client.v1.products.list().data == []


def test_product_list_ids_filter(client: stripe.StripeClient) -> None:
    a = client.v1.products.create(params={"name": "A"})
    b = client.v1.products.create(params={"name": "B", "active": False})
    client.v1.products.create(params={"name": "C"})
    res = client.v1.products.list(params={"ids": [a.id, b.id, "prod_missing"]})
    assert [p.id for p in res.data] == [b.id, a.id]
    res = client.v1.products.list(params={"ids": [a.id, b.id], "active": True})
    assert [p.id for p in res.data] == [a.id]

"""Edge cases: schema coercion, form corner cases, expand, updates, control API, persistence."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import stripe

from simulator.stripe_emulator import EmulatorServer, EmulatorState, ManualClock, StripeError
from simulator.stripe_emulator.app import _api_key
from simulator.stripe_emulator.forms import FormError, decode
from simulator.stripe_emulator.schema import (
    Bool,
    Enum,
    Int,
    ListOf,
    Metadata,
    Obj,
    Range,
    Str,
    in_range,
    validate,
)

from .conftest import ClientFactory


def _err(fn: object, *args: object) -> StripeError:
    with pytest.raises(StripeError) as exc:
        fn(*args)  # type: ignore[operator]
    return exc.value


def test_schema_coercions() -> None:
    schema = {
        "n": Int(min_value=0, max_value=5),
        "b": Bool(),
        "e": Enum("a", "b"),
        "m": Metadata(),
        "o": Obj({"x": Str(required=True)}),
        "l": ListOf(Str(), max_items=2),
        "r": Range(),
        "s": Str(max_length=3),
        "req": Str(),
    }
    out = validate(
        schema,
        {
            "n": "5",
            "b": "false",
            "e": "b",
            "m": ["x"],
            "o": {"x": "1"},
            "l": {"1": "b", "0": "a"},
            "r": "7",
            "s": "",
        },
    )
    assert out == {
        "n": 5,
        "b": False,
        "e": "b",
        "m": {"0": "x"},
        "o": {"x": "1"},
        "l": ["a", "b"],
        "r": {"gte": 7, "lte": 7},
        "s": None,
    }
    assert _err(validate, schema, {"n": "6"}).param == "n"
    assert _err(validate, schema, {"n": "-1"}).code == "parameter_invalid_integer"
    assert _err(validate, schema, {"n": {"a": "1"}}).code == "parameter_invalid_integer"
    assert _err(validate, schema, {"n": ""}).code == "parameter_invalid_empty"
    assert _err(validate, schema, {"s": "long"}).param == "s"
    assert _err(validate, schema, {"s": ["x"]}).param == "s"
    assert _err(validate, schema, {"o": "x"}).param == "o"
    assert _err(validate, schema, {"o": {}}).param == "o[x]"
    assert _err(validate, schema, {"l": {"a": "1"}}).param == "l"
    assert _err(validate, schema, {"l": ["a", "b", "c"]}).param == "l"
    assert _err(validate, schema, {"r": {"foo": "1"}}).param == "r[foo]"
    assert _err(validate, schema, {"r": ["1"]}).param == "r"
    assert _err(validate, schema, {"m": "x"}).param == "m"
    assert _err(validate, schema, {"m": {"k": {"a": "b"}}}).param == "m[k]"
    assert _err(validate, schema, {"m": {"k" * 41: "v"}}).param == "m[" + "k" * 41 + "]"
    assert _err(validate, schema, {"m": {"k": "v" * 501}}).param == "m[k]"
    assert _err(validate, schema, {"m": {str(i): "v" for i in range(51)}}).param == "m"
    assert validate(schema, {"l": "single"})["l"] == ["single"]
    assert validate({"x": Str(required=True)}, {"x": "1"}) == {"x": "1"}
    assert _err(validate, {"x": Str(required=True)}, {}).code == "parameter_missing"
    assert _err(validate, {"x": Str(required=True)}, {"x": ""}).code == "parameter_missing"
    assert in_range(5, {"gt": 4, "lt": 6}) and not in_range(5, {"gte": 6})
    assert not in_range(5, {"lt": 5}) and not in_range(5, {"lte": 4}) and not in_range(5, {"gt": 5})


def test_form_corner_cases() -> None:
    assert decode("a[]=x&a[1][b]=y") == {"a": ["x", {"b": "y"}]}
    assert decode("a[b]c=1") == {"a[b]c": "1"}
    assert decode("a]=1&[x]=2&a[b=3") == {"a]": "1", "[x]": "2", "a[b": "3"}
    assert decode("a[][]=1") == {"a": [["1"]]}
    assert decode("a[]=1&a[]=2&a[][b]=3")["a"][:2] == ["1", "2"]
    assert decode("&&a=1&") == {"a": "1"}
    with pytest.raises(FormError):
        decode("a=1&a[b]=2")
    with pytest.raises(FormError):
        decode("a[b]=1&a[b][c]=2")
    with pytest.raises(FormError):
        decode("a[b][c]=1&a[b]=2")


def test_api_key_parsing() -> None:
    assert _api_key("Bearer sk_test_x") == "sk_test_x"
    assert _api_key("Basic c2tfdGVzdF94Og==") == "sk_test_x"
    assert _err(_api_key, "Basic !!!").status == 401
    assert _err(_api_key, "Token abc").status == 401
    assert "did not provide" in _err(_api_key, "Bearer ").message
    assert "did not provide" in _err(_api_key, None).message


def test_product_update_paths(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create(
        params={
            "name": "P",
            "images": ["https://example.com/a.png"],
            "marketing_features": [{"name": "Fast"}],
            "package_dimensions": {"height": 1, "length": 2, "weight": 3, "width": 4},
            "type": "good",
        }
    )
    assert prod.type == "good" and prod.marketing_features[0].name == "Fast"
    assert prod.package_dimensions is not None and prod.package_dimensions.width == 4.0
    other = client.v1.products.create(params={"name": "O"})
    mine = client.v1.prices.create(params={"product": prod.id, "currency": "usd", "unit_amount": 1})
    theirs = client.v1.prices.create(
        params={"product": other.id, "currency": "usd", "unit_amount": 1}
    )
    upd = client.v1.products.update(
        prod.id, params={"default_price": mine.id, "images": "", "package_dimensions": ""}
    )
    assert upd.default_price == mine.id and upd.images == [] and upd.package_dimensions is None
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.update(prod.id, params={"default_price": theirs.id})
    assert exc.value.param == "default_price"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.update(prod.id, params={"default_price": "price_missing"})
    assert exc.value.code == "resource_missing" and exc.value.http_status == 400
    client.v1.prices.update(mine.id, params={"active": False})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.products.update(prod.id, params={"default_price": mine.id})
    before = len(client.v1.events.list(params={"type": "product.updated"}).data)
    client.v1.products.update(prod.id, params={"name": "P"})  # no change, no event
    assert len(client.v1.events.list(params={"type": "product.updated"}).data) == before


def test_price_update_and_decimal_paths(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create(params={"name": "P"})
    dec = client.v1.prices.create(
        params={"product": prod.id, "currency": "usd", "unit_amount_decimal": "250"}
    )
    assert dec.unit_amount == 250
    frac = client.v1.prices.create(
        params={"product": prod.id, "currency": "usd", "unit_amount_decimal": "0.5"}
    )
    assert frac.unit_amount is None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.prices.create(
            params={"product": prod.id, "currency": "usd", "unit_amount_decimal": "abc"}
        )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            params={
                "product": prod.id,
                "currency": "usd",
                "unit_amount": 1,
                "unit_amount_decimal": "1",
            }
        )
    assert exc.value.code == "parameters_exclusive"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            params={
                "product": prod.id,
                "product_data": {"name": "x"},
                "currency": "usd",
                "unit_amount": 1,
            }
        )
    assert exc.value.code == "parameters_exclusive"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(params={"product": prod.id, "currency": "usdd", "unit_amount": 1})
    assert exc.value.param == "currency"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(params={"product": prod.id, "currency": "usd"})
    assert exc.value.param == "unit_amount"
    upd = client.v1.prices.update(
        dec.id, params={"tax_behavior": "exclusive", "metadata": {"a": "b"}, "lookup_key": "lk"}
    )
    assert upd.tax_behavior == "exclusive" and upd.metadata.to_dict() == {"a": "b"}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.update(dec.id, params={"tax_behavior": "inclusive"})
    assert exc.value.param == "tax_behavior"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.prices.update(frac.id, params={"lookup_key": "lk"})
    moved = client.v1.prices.update(
        frac.id, params={"lookup_key": "lk", "transfer_lookup_key": True}
    )
    assert moved.lookup_key == "lk" and client.v1.prices.retrieve(dec.id).lookup_key is None
    by_currency = client.v1.prices.list(params={"currency": "USD", "limit": 100})
    assert len(by_currency.data) == 2


def test_customer_update_nested_fields(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(
        params={
            "shipping": {"name": "S", "address": {"line1": "1 Road"}},
            "invoice_settings": {"rendering_options": {"template": "t1"}},
            "preferred_locales": ["en"],
            "tax_exempt": "exempt",
            "balance": 100,
            "invoice_prefix": "ABCD",
        }
    )
    assert cus.shipping is not None and cus.shipping.address.line1 == "1 Road"
    assert cus.invoice_settings.rendering_options.template == "t1"
    assert cus.invoice_prefix == "ABCD" and cus.balance == 100
    upd = client.v1.customers.update(
        cus.id,
        params={
            "shipping": "",
            "invoice_settings": {"rendering_options": ""},
            "preferred_locales": "",
            "tax_exempt": "",
            "address": "",
        },  # type: ignore[typeddict-item]
    )
    assert upd.shipping is None and upd.invoice_settings.rendering_options is None
    assert upd.preferred_locales == [] and upd.tax_exempt == "none" and upd.balance == 100
    assert client.v1.customers.list(params={"created": {"gte": cus.created}}).data[0].id == cus.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.delete(cus.id + "x")


def test_expand_edge_cases(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create(params={"name": "P"})
    price = client.v1.prices.create(
        params={"product": prod.id, "currency": "usd", "unit_amount": 1}
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.prices.retrieve(price.id, params={"expand": ["nope"]})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.prices.retrieve(price.id, params={"expand": ["unit_amount"]})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.prices.retrieve(price.id, params={"expand": ["a.b.c.d.e"]})
    same = client.v1.prices.retrieve(price.id, params={"expand": ["product.default_price"]})
    assert same.product.default_price is None  # type: ignore[union-attr]
    cus = client.v1.customers.create()
    client.v1.customers.delete(cus.id)
    evt = client.v1.events.list(params={"type": "customer.deleted"}).data[0]
    deleted = client.v1.events.retrieve(evt.id, params={"expand": ["data.object.id"]})
    assert deleted.data.object["id"]["deleted"] is True


def test_events_misc(client: stripe.StripeClient) -> None:
    client.v1.customers.create()
    assert len(client.v1.events.list(params={"delivery_success": True}).data) == 1
    assert client.v1.events.list(params={"delivery_success": False}).data == []
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.events.list(params={"type": "a", "types": ["b"]})
    assert exc.value.code == "parameters_exclusive"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.retrieve("evt_missing")


def test_control_reset_and_clock(make_client: ClientFactory) -> None:
    clock = ManualClock(1_000)
    with EmulatorServer(clock=clock) as srv:
        c = stripe.StripeClient(
            "sk_test_control", base_addresses={"api": srv.base_url}, max_network_retries=0
        )
        c.v1.customers.create()
        r = httpx.post(f"{srv.base_url}/_emulator/clock", json={"advance": 10})
        assert r.json() == {"now": 1_010, "manual": True}
        r = httpx.post(f"{srv.base_url}/_emulator/clock", json={"now": 5_000})
        assert r.json()["now"] == 5_000 and c.v1.customers.create().created == 5_000
        assert httpx.post(f"{srv.base_url}/_emulator/reset").json() == {"ok": True}
        assert c.v1.customers.list().data == []
        with EmulatorServer() as other:
            r = httpx.post(f"{other.base_url}/_emulator/clock", json={"advance": 1})
            assert r.status_code == 400


def test_persistence_reset_and_reload(tmp_path: Path) -> None:
    db = str(tmp_path / "emu.sqlite")
    state = EmulatorState(persist_path=db)
    account = state.account_for_key("sk_test_reload")
    account.coll("customer").put({"id": "cus_1", "object": "customer", "created": 1})
    state.flush(account)
    state.reset()
    state.close()
    again = EmulatorState(persist_path=db)
    assert again.accounts == {}
    again.close()
    volatile = EmulatorState()
    acct = volatile.account_for_key("sk_test_volatile")
    acct.coll("customer").put({"id": "cus_2", "object": "customer", "created": 1})
    volatile.flush(acct)
    assert acct.dirty == set()

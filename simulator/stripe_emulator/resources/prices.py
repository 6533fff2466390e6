"""Prices: create / retrieve / update / list. Stripe has no price deletion (archive instead)."""

from __future__ import annotations

from typing import Any

from .. import errors
from ..common import CREATED_FILTER, LIST_PARAMS, apply_metadata, list_response, update_object
from ..routing import Ctx, Route
from ..schema import Bool, Enum, Int, ListOf, Metadata, Obj, Schema, Str
from ..shapes import Blank

COLLECTION = "price"
PREFIX = "price"
INDEXES = {COLLECTION: ("product", "lookup_key", "active", "type", "currency")}
EXPANDABLE = {PREFIX: COLLECTION}

INTERVALS = ("day", "month", "week", "year")
MAX_INTERVAL_COUNT = {"day": 365, "week": 52, "month": 12, "year": 1}

RECURRING = Obj(
    {
        "interval": Enum(*INTERVALS, required=True),
        "interval_count": Int(min_value=1),
        "usage_type": Enum("licensed", "metered"),
        "meter": Str(),
        "trial_period_days": Int(min_value=0),
    }
)
TAX_BEHAVIOR = Enum("exclusive", "inclusive", "unspecified")

CREATE_PARAMS: Schema = {
    "active": Bool(),
    "currency": Str(required=True),
    "lookup_key": Str(max_length=200),
    "metadata": Metadata(),
    "nickname": Str(),
    "product": Str(),
    "product_data": Obj(
        {
            "name": Str(required=True, emptyable=False),
            "id": Str(),
            "active": Bool(),
            "metadata": Metadata(),
            "statement_descriptor": Str(max_length=22),
            "tax_code": Str(),
            "unit_label": Str(max_length=12),
        }
    ),
    "recurring": RECURRING,
    "tax_behavior": TAX_BEHAVIOR,
    "transfer_lookup_key": Bool(),
    "unit_amount": Int(min_value=0),
    "unit_amount_decimal": Str(),
}
UPDATE_PARAMS: Schema = {
    "active": Bool(),
    "lookup_key": Str(max_length=200),
    "metadata": Metadata(),
    "nickname": Str(),
    "tax_behavior": TAX_BEHAVIOR,
    "transfer_lookup_key": Bool(),
}
LIST: Schema = {
    **LIST_PARAMS,
    **CREATED_FILTER,
    "active": Bool(),
    "currency": Str(),
    "lookup_keys": ListOf(Str(), max_items=10),
    "product": Str(),
    "recurring": Obj(
        {"interval": Enum(*INTERVALS), "usage_type": Enum("licensed", "metered"), "meter": Str()}
    ),
    "type": Enum("one_time", "recurring"),
}


def _currency(value: str) -> str:
    cur = value.lower()
    if len(cur) != 3 or not cur.isalpha():
        raise errors.invalid(f"Invalid currency: {value}.", "currency")
    return cur


def _claim_lookup_key(ctx: Ctx, key: str | None, transfer: bool, price_id: str | None) -> None:
    """Enforce lookup_key uniqueness; with ``transfer`` take it from the current holder."""
    if key is None:
        return
    coll = ctx.coll(COLLECTION)
    for holder in coll.lookup("lookup_key", key):
        if holder["id"] == price_id:
            continue
        if not transfer:
            raise errors.invalid(
                f"A price (`{holder['id']}`) already uses that lookup key.", "lookup_key"
            )
        update_object(ctx, COLLECTION, holder, {"lookup_key": None}, "price.updated")


def _recurring(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    interval = value["interval"]
    count = value.get("interval_count") or 1
    if count > MAX_INTERVAL_COUNT[interval]:
        raise errors.invalid(
            "Invalid recurring[interval_count]: maximum of one year interval allowed "
            "(1 year, 12 months, or 52 weeks).",
            "recurring[interval_count]",
        )
    return {
        "interval": interval,
        "interval_count": count,
        "meter": value.get("meter"),
        "trial_period_days": value.get("trial_period_days"),
        "usage_type": value.get("usage_type") or "licensed",
    }


BLANK = Blank("price", custom_unit_amount=None, transform_quantity=None)


def new_price(ctx: Ctx, p: dict[str, Any], product: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build, store and announce a price from validated params (also used by products)."""
    unit_amount = p.get("unit_amount")
    decimal = p.get("unit_amount_decimal")
    if unit_amount is not None and decimal is not None:
        raise errors.parameters_exclusive("unit_amount", "unit_amount_decimal")
    if unit_amount is None:
        if decimal is None:
            raise errors.parameter_missing("unit_amount")
        try:
            as_float = float(decimal)
        except ValueError:
            raise errors.invalid(f"Invalid decimal: {decimal}", "unit_amount_decimal") from None
        if as_float.is_integer():
            unit_amount = int(as_float)
    recurring = _recurring(p.get("recurring"))
    _claim_lookup_key(ctx, p.get("lookup_key"), bool(p.get("transfer_lookup_key")), None)
    obj = BLANK.new(
        id=ctx.new_id(PREFIX),
        active=True if p.get("active") is None else p["active"],
        created=ctx.now(),
        currency=_currency(p["currency"]),
        lookup_key=p.get("lookup_key"),
        metadata=apply_metadata({}, p.get("metadata") or {}),
        nickname=p.get("nickname"),
        product=p["product"] if product is None else product["id"],
        recurring=recurring,
        tax_behavior=p.get("tax_behavior") or "unspecified",
        type="recurring" if recurring else "one_time",
        unit_amount=unit_amount,
        unit_amount_decimal=decimal if decimal is not None else str(unit_amount),
    )
    ctx.coll(COLLECTION).put(obj)
    ctx.emit("price.created", obj)
    return obj


def create(ctx: Ctx) -> dict[str, Any]:
    from .products import COLLECTION as PRODUCTS
    from .products import new_product

    p = ctx.params
    product_id = p.get("product")
    pdata = p.get("product_data")
    if product_id is not None and pdata is not None:
        raise errors.parameters_exclusive("product", "product_data")
    # validate everything before creating anything
    if p.get("unit_amount") is None and p.get("unit_amount_decimal") is None:
        raise errors.parameter_missing("unit_amount")
    _recurring(p.get("recurring"))
    _currency(p["currency"])
    if product_id is None and pdata is None:
        raise errors.parameter_missing("product")
    if product_id is not None:
        product = ctx.coll(PRODUCTS).get(product_id)
        if product is None:
            raise errors.resource_missing("product", product_id, "product", status=400)
    else:
        assert pdata is not None
        _claim_lookup_key(ctx, p.get("lookup_key"), bool(p.get("transfer_lookup_key")), None)
        product = new_product(ctx, pdata, pdata.get("id"))
    return new_price(ctx, p, product)


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def update(ctx: Ctx) -> dict[str, Any]:
    obj = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    p = ctx.params
    ch: dict[str, Any] = {}
    if "active" in p:
        ch["active"] = True if p["active"] is None else p["active"]
    if "nickname" in p:
        ch["nickname"] = p["nickname"]
    if "metadata" in p:
        ch["metadata"] = apply_metadata(obj["metadata"], p["metadata"])
    if "tax_behavior" in p and p["tax_behavior"] != obj["tax_behavior"]:
        if obj["tax_behavior"] != "unspecified":
            raise errors.invalid(
                "You cannot change `tax_behavior` once it has been set.", "tax_behavior"
            )
        ch["tax_behavior"] = p["tax_behavior"] or "unspecified"
    if "lookup_key" in p:
        _claim_lookup_key(ctx, p["lookup_key"], bool(p.get("transfer_lookup_key")), obj["id"])
        ch["lookup_key"] = p["lookup_key"]
    return update_object(ctx, COLLECTION, obj, ch, "price.updated")


def list_(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    eq: dict[str, Any] = {k: p[k] for k in ("active", "product", "type") if p.get(k) is not None}
    if p.get("currency"):
        eq["currency"] = p["currency"].lower()
    if p.get("lookup_keys"):
        eq["lookup_key"] = [k for k in p["lookup_keys"] if k is not None]
    where = None
    rec = p.get("recurring")
    if rec:

        def where(o: dict[str, Any]) -> bool:
            r = o.get("recurring")
            return r is not None and all(r.get(k) == v for k, v in rec.items() if v is not None)

    return list_response(ctx, COLLECTION, "/v1/prices", eq=eq, where=where)


ROUTES = [
    Route("POST", "/v1/prices", create, CREATE_PARAMS),
    Route("GET", "/v1/prices", list_, LIST),
    Route("GET", "/v1/prices/{id}", retrieve),
    Route("POST", "/v1/prices/{id}", update, UPDATE_PARAMS),
]

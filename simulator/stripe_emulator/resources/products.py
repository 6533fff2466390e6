"""Products: create (optionally with ``default_price_data``) / retrieve / update / delete / list."""

from __future__ import annotations

from typing import Any

from .. import errors
from ..common import (
    CREATED_FILTER,
    LIST_PARAMS,
    apply_metadata,
    deleted,
    diff,
    list_response,
    update_object,
)
from ..routing import Ctx, Route
from ..schema import Bool, Enum, Int, ListOf, Metadata, Obj, Schema, Str
from ..shapes import Blank
from . import prices

COLLECTION = "product"
PREFIX = "prod"
INDEXES = {COLLECTION: ("active",)}
EXPANDABLE = {PREFIX: COLLECTION}

PACKAGE_DIMENSIONS = Obj(
    {
        "height": Str(required=True),
        "length": Str(required=True),
        "weight": Str(required=True),
        "width": Str(required=True),
    }
)
MARKETING_FEATURES = ListOf(Obj({"name": Str(required=True, max_length=80)}), max_items=15)

UPDATE_PARAMS: Schema = {
    "active": Bool(),
    "default_price": Str(),
    "description": Str(max_length=40000),
    "images": ListOf(Str(), max_items=8),
    "marketing_features": MARKETING_FEATURES,
    "metadata": Metadata(),
    "name": Str(emptyable=False),
    "package_dimensions": PACKAGE_DIMENSIONS,
    "shippable": Bool(),
    "statement_descriptor": Str(max_length=22),
    "tax_code": Str(),
    "unit_label": Str(max_length=12),
    "url": Str(),
}
CREATE_PARAMS: Schema = {
    **{k: v for k, v in UPDATE_PARAMS.items() if k != "default_price"},
    "id": Str(emptyable=False),
    "name": Str(required=True, emptyable=False),
    "type": Enum("good", "service"),
    "default_price_data": Obj(
        {
            "currency": Str(required=True),
            "unit_amount": Int(min_value=0),
            "unit_amount_decimal": Str(),
            "recurring": prices.RECURRING,
            "tax_behavior": prices.TAX_BEHAVIOR,
            "metadata": Metadata(),
        }
    ),
}
LIST: Schema = {
    **LIST_PARAMS,
    **CREATED_FILTER,
    "active": Bool(),
    "ids": ListOf(Str()),
    "shippable": Bool(),
    "url": Str(),
}

_SIMPLE = (
    "active",
    "description",
    "images",
    "marketing_features",
    "name",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "unit_label",
    "url",
)


def _changes(p: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    ch: dict[str, Any] = {k: p[k] for k in _SIMPLE if k in p}
    if "images" in ch:
        ch["images"] = ch["images"] or []
    if "marketing_features" in ch:
        ch["marketing_features"] = [{"name": f["name"]} for f in ch["marketing_features"] or []]
    if "active" in ch and ch["active"] is None:
        ch["active"] = True
    if "metadata" in p:
        ch["metadata"] = apply_metadata(obj.get("metadata") or {}, p["metadata"])
    if "package_dimensions" in p:
        pd = p["package_dimensions"]
        ch["package_dimensions"] = None if pd is None else {k: float(v) for k, v in pd.items()}
    return ch


BLANK = Blank("product", default_price=None, description=None, package_dimensions=None)


def new_product(ctx: Ctx, params: dict[str, Any], obj_id: str | None = None) -> dict[str, Any]:
    """Build, store and announce a product (also used by ``price[product_data]``)."""
    coll = ctx.coll(COLLECTION)
    if obj_id is not None and obj_id in coll:
        raise errors.invalid("Product already exists.", "id", "resource_already_exists")
    now = ctx.now()
    obj = BLANK.new(
        id=obj_id or ctx.new_id(PREFIX),
        created=now,
        updated=now,
        type=params.get("type") or "service",
    )
    obj.update(_changes(params, obj))
    coll.put(obj)
    ctx.emit("product.created", obj)
    return obj


def create(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    obj = new_product(ctx, p, p.get("id"))
    dpd = p.get("default_price_data")
    if dpd:
        price = prices.new_price(ctx, {**dpd, "product": obj["id"]}, obj)
        old = dict(obj)
        obj["default_price"] = price["id"]
        ctx.coll(COLLECTION).reindex(obj["id"], old)
    return obj


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def update(ctx: Ctx) -> dict[str, Any]:
    obj = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    ch = _changes(ctx.params, obj)
    if "default_price" in ctx.params:
        dp = ctx.params["default_price"]
        if dp is not None:
            price = ctx.coll(prices.COLLECTION).get(dp)
            if price is None:
                raise errors.resource_missing("price", dp, "default_price", status=400)
            if price["product"] != obj["id"]:
                raise errors.invalid(
                    "The price specified for default_price must belong to this product.",
                    "default_price",
                )
            if not price["active"]:
                raise errors.invalid(
                    "The price specified for default_price must be active.", "default_price"
                )
        ch["default_price"] = dp
    if diff(obj, {**obj, **ch}):
        ch["updated"] = ctx.now()
    return update_object(ctx, COLLECTION, obj, ch, "product.updated")


def delete(ctx: Ctx) -> dict[str, Any]:
    pid = ctx.path_params["id"]
    obj = ctx.get_or_404(COLLECTION, pid)
    if ctx.coll(prices.COLLECTION).has_any("product", pid):
        raise errors.invalid(
            "This product cannot be deleted because it has one or more user-created prices."
        )
    ctx.coll(COLLECTION).delete(pid)
    ctx.emit("product.deleted", obj)
    return deleted(pid, "product")


def list_(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    eq: dict[str, Any] = {k: p[k] for k in ("active", "shippable", "url") if p.get(k) is not None}
    if p.get("ids"):
        eq["id"] = p["ids"]
    return list_response(ctx, COLLECTION, "/v1/products", eq=eq)


ROUTES = [
    Route("POST", "/v1/products", create, CREATE_PARAMS),
    Route("GET", "/v1/products", list_, LIST),
    Route("GET", "/v1/products/{id}", retrieve),
    Route("POST", "/v1/products/{id}", update, UPDATE_PARAMS),
    Route("DELETE", "/v1/products/{id}", delete),
]

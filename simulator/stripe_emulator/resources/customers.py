"""Customers: create / retrieve / update / delete / list (``email``, ``test_clock`` filters).

Create takes ``payment_method`` (an id or a ``pm_card_*`` test token), attached to
the new customer; ``invoice_settings[default_payment_method]`` must name a
PaymentMethod attached to the customer (on create: the same value as
``payment_method``, which then means the attached one).
"""

from __future__ import annotations

from typing import Any

from .. import cards, errors
from ..common import (
    CREATED_FILTER,
    LIST_PARAMS,
    apply_metadata,
    deleted,
    list_response,
    update_object,
)
from ..routing import Ctx, Route
from ..schema import ADDRESS, Enum, Int, ListOf, Metadata, Obj, Schema, Str
from ..shapes import Blank
from . import payment_methods

COLLECTION = "customer"
PREFIX = "cus"
INDEXES = {COLLECTION: ("email", "test_clock")}
EXPANDABLE = {PREFIX: COLLECTION}

SHIPPING = Obj({"address": ADDRESS, "name": Str(required=True), "phone": Str()})
INVOICE_SETTINGS = Obj(
    {
        "custom_fields": ListOf(Obj({"name": Str(required=True), "value": Str(required=True)})),
        "default_payment_method": Str(),
        "footer": Str(),
        "rendering_options": Obj(
            {
                "amount_tax_display": Enum("exclude_tax", "include_inclusive_tax", emptyable=True),
                "template": Str(),
            }
        ),
    }
)
TAX_EXEMPT = Enum("none", "exempt", "reverse", emptyable=True)

UPDATE_PARAMS: Schema = {
    "address": ADDRESS,
    "balance": Int(),
    "description": Str(),
    "email": Str(max_length=512),
    "invoice_prefix": Str(),
    "invoice_settings": INVOICE_SETTINGS,
    "metadata": Metadata(),
    "name": Str(max_length=256),
    "next_invoice_sequence": Int(min_value=1),
    "phone": Str(max_length=20),
    "preferred_locales": ListOf(Str()),
    "shipping": SHIPPING,
    "tax_exempt": TAX_EXEMPT,
}
CREATE_PARAMS: Schema = {**UPDATE_PARAMS, "test_clock": Str(), "payment_method": Str()}
LIST: Schema = {**LIST_PARAMS, **CREATED_FILTER, "email": Str(max_length=512), "test_clock": Str()}

_SIMPLE = ("balance", "description", "email", "name", "phone", "next_invoice_sequence")
_EMPTY_ADDRESS = {k: None for k in ("city", "country", "line1", "line2", "postal_code", "state")}


def _address(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else {**_EMPTY_ADDRESS, **value}


def _shipping(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "address": _address(value.get("address") or {}),
        "name": value.get("name"),
        "phone": value.get("phone"),
    }


def _invoice_settings(current: dict[str, Any], update: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(current)
    if update is None:
        return out
    for k in ("custom_fields", "default_payment_method", "footer"):
        if k in update:
            out[k] = update[k]
    if "rendering_options" in update:
        ro = update["rendering_options"]
        out["rendering_options"] = (
            None if ro is None else {**(current.get("rendering_options") or {}), **ro}
        )
    return out


def _changes(ctx: Ctx, obj: dict[str, Any]) -> dict[str, Any]:
    p = ctx.params
    ch: dict[str, Any] = {k: p[k] for k in _SIMPLE if k in p}
    if "balance" in ch and ch["balance"] is None:
        ch["balance"] = 0
    if "address" in p:
        ch["address"] = _address(p["address"])
    if "shipping" in p:
        ch["shipping"] = _shipping(p["shipping"])
    if "metadata" in p:
        ch["metadata"] = apply_metadata(obj.get("metadata") or {}, p["metadata"])
    if "invoice_settings" in p:
        ch["invoice_settings"] = _invoice_settings(obj["invoice_settings"], p["invoice_settings"])
    if "preferred_locales" in p:
        ch["preferred_locales"] = p["preferred_locales"] or []
    if "tax_exempt" in p:
        ch["tax_exempt"] = p["tax_exempt"] or "none"
    if p.get("invoice_prefix"):
        ch["invoice_prefix"] = p["invoice_prefix"]
    return ch


BLANK = Blank(
    "customer",
    currency=None,
    discount=None,
    shipping=None,
    address=None,
    invoice_settings={
        "custom_fields": None,
        "default_payment_method": None,
        "footer": None,
        "rendering_options": None,
    },
)


def create(ctx: Ctx) -> dict[str, Any]:
    created = ctx.now()
    clock_id = ctx.params.get("test_clock")
    if clock_id is not None:
        clock = ctx.coll("test_helpers.test_clock").get(clock_id)
        if clock is None:
            raise errors.resource_missing("test_clock", clock_id, "test_clock", 400)
        created = clock["frozen_time"]  # objects on a test clock live on its time
    pm = _payment_method(ctx)
    obj = BLANK.new(
        id=ctx.new_id(PREFIX),
        created=created,
        invoice_prefix=ctx.state.ids.token("0123456789ABCDEF", 8),
        test_clock=ctx.params.get("test_clock"),
    )
    obj.update(_changes(ctx, obj))
    if pm is not None and obj["invoice_settings"]["default_payment_method"] is not None:
        obj["invoice_settings"]["default_payment_method"] = pm["id"]
    ctx.coll(COLLECTION).put(obj)
    ctx.emit("customer.created", obj)
    if pm is not None:
        payment_methods.attach(ctx, pm, obj["id"], validate=False)
    return obj


def _payment_method(ctx: Ctx) -> dict[str, Any] | None:
    """Validate create's ``payment_method`` and default PaymentMethod before anything is stored.

    Returns the PaymentMethod to attach (a test token mints one), or None.
    """
    p = ctx.params
    pm_id = p.get("payment_method")
    default = (p.get("invoice_settings") or {}).get("default_payment_method")
    if pm_id is None:
        payment_methods.check_default_pm(ctx, "", default)  # nothing is attached yet
        return None
    existing = ctx.coll(payment_methods.COLLECTION).get(pm_id)
    if existing is not None and existing.get("customer") is not None:
        raise errors.invalid(
            "The payment method you provided has already been attached to a customer.",
            "payment_method",
        )
    if default is not None and default != pm_id:
        payment_methods.check_default_pm(ctx, "", default)
    pm = existing or payment_methods.resolve(ctx, pm_id)
    decline = cards.decline_on_attach(pm)
    if decline is not None:
        raise cards.CardError(decline.error())
    return pm


def retrieve(ctx: Ctx) -> dict[str, Any]:
    cid = ctx.path_params["id"]
    obj = ctx.coll(COLLECTION).get(cid)
    if obj is None:
        stub = ctx.account.tombstones.get(cid)
        if stub is not None and stub.get("object") == "customer":
            return stub
        raise errors.resource_missing("customer", cid)
    return obj


def update(ctx: Ctx) -> dict[str, Any]:
    obj = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    default = (ctx.params.get("invoice_settings") or {}).get("default_payment_method")
    payment_methods.check_default_pm(ctx, obj["id"], default)
    return update_object(ctx, COLLECTION, obj, _changes(ctx, obj), "customer.updated")


def delete(ctx: Ctx) -> dict[str, Any]:
    cid = ctx.path_params["id"]
    obj = ctx.get_or_404(COLLECTION, cid)
    ctx.coll(COLLECTION).delete(cid)
    stub = deleted(cid, "customer")
    ctx.account.add_tombstone(stub)
    ctx.emit("customer.deleted", obj)
    return stub


def list_(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    eq = {k: p[k] for k in ("email", "test_clock") if p.get(k) is not None}
    return list_response(ctx, COLLECTION, "/v1/customers", eq=eq)


ROUTES = [
    Route("POST", "/v1/customers", create, CREATE_PARAMS),
    Route("GET", "/v1/customers", list_, LIST),
    Route("GET", "/v1/customers/{id}", retrieve),
    Route("POST", "/v1/customers/{id}", update, UPDATE_PARAMS),
    Route("DELETE", "/v1/customers/{id}", delete),
]

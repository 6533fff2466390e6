"""Invoice items (``/v1/invoiceitems``): create, retrieve, update, delete, list.

A pending item (``invoice: null``) waits for the customer's next invoice; an
item created with ``invoice`` is added to that draft invoice at once. Items can
only change while pending or on a draft invoice. Proration items are created
by subscriptions through :func:`new_item`.
"""

from __future__ import annotations

from typing import Any

from .. import billing, errors
from ..common import CREATED_FILTER, LIST_PARAMS, apply_metadata, deleted, list_response
from ..routing import Ctx, Route
from ..schema import Bool, Int, Metadata, Obj, Schema, Str
from ..shapes import Blank
from . import invoices

COLLECTION = "invoiceitem"
PREFIX = "ii"
INDEXES = {COLLECTION: ("customer", "invoice")}
EXPANDABLE = {PREFIX: COLLECTION}

PERIOD = Obj({"start": Int(required=True), "end": Int(required=True)})
CREATE_PARAMS: Schema = {
    "customer": Str(required=True),
    "amount": Int(),
    "currency": Str(),
    "description": Str(),
    "discountable": Bool(),
    "invoice": Str(),
    "metadata": Metadata(),
    "period": PERIOD,
    "price": Str(),
    "pricing": Obj({"price": Str()}),
    "quantity": Int(min_value=0),
    "subscription": Str(),
    "unit_amount_decimal": Str(),
}
UPDATE_PARAMS: Schema = {
    "amount": Int(),
    "description": Str(),
    "discountable": Bool(),
    "metadata": Metadata(),
    "period": PERIOD,
    "quantity": Int(min_value=0),
}
LIST: Schema = {
    **LIST_PARAMS,
    **CREATED_FILTER,
    "customer": Str(),
    "invoice": Str(),
    "pending": Bool(),
}

BLANK = Blank("invoiceitem", discounts=[], tax_rates=[], net_amount=0, customer_account=None)


def new_item(
    ctx: Ctx,
    customer: dict[str, Any],
    *,
    now: int,
    amount: int,
    currency: str,
    description: str | None,
    period: tuple[int, int] | None = None,
    price: dict[str, Any] | None = None,
    quantity: int = 1,
    proration: bool = False,
    subscription: str | None = None,
    subscription_item: str | None = None,
    metadata: dict[str, str] | None = None,
    discountable: bool = True,
) -> dict[str, Any]:
    """Store a pending invoice item and emit ``invoiceitem.created``."""
    start, end = period or (now, now)
    parent = None
    if subscription is not None:
        parent = {
            "subscription_details": {
                "subscription": subscription,
                "subscription_item": subscription_item,
            },
            "type": "subscription_details",
        }
    obj = BLANK.new(
        id=ctx.new_id(PREFIX, 24),
        amount=amount,
        net_amount=amount,
        currency=currency,
        customer=customer["id"],
        date=now,
        description=description,
        discountable=discountable and not proration,
        invoice=None,
        metadata=dict(metadata or {}),
        parent=parent,
        period={"end": end, "start": start},
        pricing={
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price.get("unit_amount_decimal"),
        }
        if price
        else None,
        proration=proration,
        quantity=quantity,
        quantity_decimal=str(quantity),
        test_clock=customer.get("test_clock"),
    )
    ctx.coll(COLLECTION).put(obj)
    billing.emit(ctx, "invoiceitem.created", obj)
    return obj


def _editable(ctx: Ctx, ii: dict[str, Any]) -> dict[str, Any] | None:
    """The draft invoice holding ``ii`` (None if pending); 400 if it is finalized."""
    if ii.get("invoice") is None:
        return None
    inv = ctx.coll(invoices.COLLECTION).get(ii["invoice"])
    if inv is not None and inv["status"] != "draft":
        raise errors.invalid(
            "The invoice item cannot be modified because it is attached to a finalized "
            f"invoice ({inv['id']}).",
            code="invoice_not_editable",
        )
    return inv


def create(ctx: Ctx) -> dict[str, Any]:
    billing.catch_up(ctx)
    p = ctx.params
    cus = invoices.customer_or_400(ctx, p["customer"])
    price_id = p.get("price") or (p.get("pricing") or {}).get("price")
    price = None
    if price_id:
        if p.get("amount") is not None:
            raise errors.parameters_exclusive("amount", "price")
        price = ctx.coll("price").get(price_id)
        if price is None:
            raise errors.resource_missing("price", price_id, "price", 400)
        quantity = p.get("quantity") or 1
        amount = (price.get("unit_amount") or 0) * quantity
        currency = price["currency"]
    else:
        if p.get("amount") is None:
            raise errors.parameter_missing("amount")
        if not p.get("currency") and not cus.get("currency"):
            raise errors.parameter_missing("currency")
        quantity = p.get("quantity") or 1
        amount = p["amount"]
        currency = (p.get("currency") or cus["currency"]).lower()
    inv = None
    if p.get("invoice"):
        inv = ctx.coll(invoices.COLLECTION).get(p["invoice"])
        if inv is None:
            raise errors.resource_missing("invoice", p["invoice"], "invoice", 400)
        if inv["status"] != "draft":
            raise errors.invalid(
                f"You can only add invoice items to draft invoices. Invoice {inv['id']} is "
                f"{inv['status']}.",
                "invoice",
                "invoice_not_editable",
            )
        if inv["customer"] != cus["id"]:
            raise errors.invalid("The invoice belongs to a different customer.", "invoice")
    if p.get("subscription") and ctx.coll("subscription").get(p["subscription"]) is None:
        raise errors.resource_missing("subscription", p["subscription"], "subscription", 400)
    description = p.get("description")
    if description is None and price is not None:
        product = ctx.coll("product").get(price["product"])
        description = product["name"] if product else None
    period = p.get("period")
    ii = new_item(
        ctx,
        cus,
        now=billing.now_for(ctx, cus["id"]),
        amount=amount,
        currency=currency,
        description=description,
        period=(period["start"], period["end"]) if period else None,
        price=price,
        quantity=quantity,
        subscription=p.get("subscription"),
        metadata=apply_metadata({}, p.get("metadata") or {}),
        discountable=p.get("discountable") is not False,
    )
    if inv is not None:
        invoices.attach_item(ctx, inv, ii)
    return ii


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def update(ctx: Ctx) -> dict[str, Any]:
    ii = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    p = ctx.params
    inv = _editable(ctx, ii) if any(k != "metadata" for k in p if k != "expand") else None
    ch: dict[str, Any] = {}
    if "metadata" in p:
        ch["metadata"] = apply_metadata(ii["metadata"], p["metadata"])
    for k in ("description", "discountable"):
        if k in p:
            ch[k] = p[k]
    if p.get("quantity") is not None or p.get("amount") is not None:
        q = p.get("quantity") or ii["quantity"]
        price_id = ((ii.get("pricing") or {}).get("price_details") or {}).get("price")
        price = ctx.coll("price").get(price_id) if price_id else None
        ch["quantity"] = q
        ch["quantity_decimal"] = str(q)
        if p.get("amount") is not None:
            ch["amount"] = p["amount"]
        elif price is not None:
            ch["amount"] = (price.get("unit_amount") or 0) * q
        ch["net_amount"] = ch.get("amount", ii["amount"])
    if p.get("period"):
        ch["period"] = {"end": p["period"]["end"], "start": p["period"]["start"]}
    billing.change(ctx, COLLECTION, ii, ch, "invoiceitem.updated")
    if inv is not None:
        _relink(ctx, inv, ii)
    return ii


def _relink(ctx: Ctx, inv: dict[str, Any], ii: dict[str, Any], remove: bool = False) -> None:
    data = inv["lines"]["data"]
    for i, line in enumerate(data):
        details = (line.get("parent") or {}).get("invoice_item_details")
        if details and details["invoice_item"] == ii["id"]:
            if remove:
                del data[i]
            else:
                data[i] = invoices.item_line(ctx, inv, ii)
                data[i]["id"] = line["id"]
            break
    invoices.recompute(inv)
    ctx.coll(invoices.COLLECTION).touch(inv["id"])


def delete(ctx: Ctx) -> dict[str, Any]:
    ii = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    inv = _editable(ctx, ii)
    ctx.coll(COLLECTION).delete(ii["id"])
    if inv is not None:
        _relink(ctx, inv, ii, remove=True)
    billing.emit(ctx, "invoiceitem.deleted", ii)
    return deleted(ii["id"], "invoiceitem")


def list_(ctx: Ctx) -> dict[str, Any]:
    billing.catch_up(ctx)
    p = ctx.params
    eq = {k: p[k] for k in ("customer", "invoice") if p.get(k) is not None}
    where = None
    if p.get("pending") is not None:
        want = p["pending"]

        def where(o: dict[str, Any]) -> bool:
            return (o.get("invoice") is None) == want

    return list_response(ctx, COLLECTION, "/v1/invoiceitems", eq=eq, where=where)


ROUTES = [
    Route("POST", "/v1/invoiceitems", create, CREATE_PARAMS),
    Route("GET", "/v1/invoiceitems", list_, LIST),
    Route("GET", "/v1/invoiceitems/{id}", retrieve),
    Route("POST", "/v1/invoiceitems/{id}", update, UPDATE_PARAMS),
    Route("DELETE", "/v1/invoiceitems/{id}", delete),
]

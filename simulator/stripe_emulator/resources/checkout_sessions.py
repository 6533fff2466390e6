"""Checkout Sessions (``/v1/checkout/sessions``): create, retrieve, list, expire,
``line_items``; and completion as a customer would do it: our test helper
``POST /v1/test_helpers/checkout/sessions/{id}/complete`` (optional
``payment_method``, default ``pm_card_visa``) and :func:`complete_session`
(which ``/v1/payment_pages/{id}/confirm`` in :mod:`.payment_pages` uses).
Completion creates the customer if needed, attaches the card, creates the
subscription / payment intent, marks the session ``complete`` and emits
``checkout.session.completed``.
"""

from __future__ import annotations

from typing import Any

from .. import billing, errors
from ..common import CREATED_FILTER, LIST_PARAMS, apply_metadata, list_response
from ..routing import Ctx, Route
from ..schema import Enum, Int, ListOf, Metadata, Obj, Schema, Str
from ..shapes import Blank, jcopy
from . import invoices
from .payment_intents import SHIPPING

COLLECTION = "checkout.session"
PREFIX = "cs_test"
INDEXES = {COLLECTION: ("customer", "payment_intent", "subscription", "status")}
EXPANDABLE = {"cs": COLLECTION}
EXPIRES_IN = 24 * billing.HOUR

LINE_ITEM = Obj({"price": Str(), "quantity": Int(min_value=0)})
CREATE_PARAMS: Schema = {
    "mode": Enum("payment", "setup", "subscription", required=True),
    "line_items": ListOf(LINE_ITEM),
    "customer": Str(),
    "customer_email": Str(),
    "customer_creation": Enum("always", "if_required"),
    "success_url": Str(),
    "cancel_url": Str(),
    "return_url": Str(),
    "ui_mode": Enum("hosted", "embedded", "custom"),
    "metadata": Metadata(),
    "client_reference_id": Str(max_length=200),
    "currency": Str(),
    "expires_at": Int(),
    "payment_method_types": ListOf(Str()),
    "subscription_data": Obj(
        {"trial_period_days": Int(min_value=1), "metadata": Metadata(), "description": Str()}
    ),
    "payment_intent_data": Obj(
        {
            "description": Str(),
            "metadata": Metadata(),
            "setup_future_usage": Enum("off_session", "on_session"),
            "shipping": SHIPPING,
        }
    ),
}
LIST: Schema = {
    **LIST_PARAMS,
    **CREATED_FILTER,
    "customer": Str(),
    "payment_intent": Str(),
    "subscription": Str(),
    "status": Enum("open", "complete", "expired"),
}
COMPLETE_PARAMS: Schema = {"payment_method": Str()}

BLANK = Blank(
    "checkout.session",
    after_expiration=None,
    currency_conversion=None,
    custom_text={
        "after_submit": None,
        "shipping_address": None,
        "submit": None,
        "terms_of_service_acceptance": None,
    },
    collected_information=None,
    customer_details=None,
    invoice_creation=None,
    managed_payments=None,
    payment_method_configuration_details=None,
    shipping_address_collection=None,
    shipping_cost=None,
    total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
    adaptive_pricing={"enabled": False},
    discounts=[],
)
ITEM = Blank("item", adjustable_quantity=None, metadata={})


def _line_items(ctx: Ctx, mode: str, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, spec in enumerate(specs):
        pid = spec.get("price")
        if not pid:
            raise errors.parameter_missing(f"line_items[{i}][price]")
        price = ctx.coll("price").get(pid)
        if price is None:
            raise errors.resource_missing("price", pid, f"line_items[{i}][price]", 400)
        if mode == "payment" and price.get("recurring"):
            raise errors.invalid(
                "You specified `payment` mode but passed a recurring price. Either switch to "
                "`subscription` mode or use only one-time prices.",
                f"line_items[{i}][price]",
            )
        qty = 1 if spec.get("quantity") is None else spec["quantity"]
        amount = int(price.get("unit_amount") or 0) * qty
        product = ctx.coll("product").get(price["product"])
        out.append(
            ITEM.new(
                id=ctx.new_id("li", 24),
                amount_subtotal=amount,
                amount_total=amount,
                currency=price["currency"],
                description=product["name"] if product else None,
                price=jcopy(price),
                quantity=qty,
            )
        )
    if mode == "subscription" and not any(li["price"].get("recurring") for li in out):
        raise errors.invalid(
            "You must provide at least one recurring price in `subscription` mode when using "
            "prices.",
            "line_items",
        )
    return out


def create(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    mode = p["mode"]
    ui = p.get("ui_mode") or "hosted"
    if ui == "hosted" and not p.get("success_url") and mode != "setup":
        raise errors.parameter_missing("success_url")
    if p.get("customer") and p.get("customer_email"):
        raise errors.parameters_exclusive("customer", "customer_email")
    cus = invoices.customer_or_400(ctx, p["customer"]) if p.get("customer") else None
    specs = p.get("line_items") or []
    if mode != "setup" and not specs:
        raise errors.parameter_missing("line_items")
    items = _line_items(ctx, mode, specs)
    currency = items[0]["currency"] if items else (p.get("currency") or None)
    total = sum(li["amount_total"] for li in items)
    now = billing.now_for(ctx, cus["id"] if cus else None)
    sid = ctx.new_id(PREFIX, 58)
    obj = BLANK.new(
        id=sid,
        amount_subtotal=total if mode != "setup" else None,
        amount_total=total if mode != "setup" else None,
        cancel_url=p.get("cancel_url"),
        client_reference_id=p.get("client_reference_id"),
        client_secret=f"{sid}_secret_{ctx.state.ids.token(billing_alphabet(), 24)}"
        if ui != "hosted"
        else None,
        created=now,
        currency=currency,
        customer=cus["id"] if cus else None,
        customer_creation=None
        if cus
        else (p.get("customer_creation") or ("if_required" if mode == "payment" else "always")),
        customer_email=p.get("customer_email"),
        expires_at=p.get("expires_at") or now + EXPIRES_IN,
        invoice=None,
        livemode=False,
        metadata=apply_metadata({}, p.get("metadata") or {}),
        mode=mode,
        payment_intent=None,
        payment_method_collection="always" if mode == "subscription" else None,
        payment_method_types=[t for t in (p.get("payment_method_types") or ["card"]) if t],
        payment_status="no_payment_required" if mode == "setup" else "unpaid",
        return_url=p.get("return_url"),
        setup_intent=None,
        status="open",
        subscription=None,
        success_url=p.get("success_url"),
        ui_mode=ui,
        url=f"https://checkout.stripe.com/c/pay/{sid}" if ui == "hosted" else None,
    )
    ctx.coll(COLLECTION).put(obj)
    ctx.coll("checkout.line_items").put({"id": sid, "object": "checkout.line_items", "data": items})
    _opts = {
        "subscription_data": p.get("subscription_data"),
        "payment_intent_data": p.get("payment_intent_data"),
    }
    ctx.coll("checkout.options").put({"id": sid, "object": "checkout.options", **_opts})
    return obj


def billing_alphabet() -> str:
    return "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def list_(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    eq = {
        k: p[k]
        for k in ("customer", "payment_intent", "subscription", "status")
        if p.get(k) is not None
    }
    return list_response(ctx, COLLECTION, "/v1/checkout/sessions", eq=eq)


def expire(ctx: Ctx) -> dict[str, Any]:
    obj = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    if obj["status"] != "open":
        raise errors.invalid(
            f'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f'Session has a status of "{obj["status"]}".'
        )
    old = dict(obj)
    obj["status"] = "expired"
    obj["url"] = None
    ctx.coll(COLLECTION).reindex(obj["id"], old)
    billing.emit(ctx, "checkout.session.expired", obj)
    return obj


def line_items(ctx: Ctx) -> dict[str, Any]:
    obj = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    stored = ctx.coll("checkout.line_items").get(obj["id"]) or {"data": []}
    return invoices.paginate(ctx, stored["data"], f"/v1/checkout/sessions/{obj['id']}/line_items")


def complete_session(
    ctx: Ctx, session_id: str, payment_method: str | None = None
) -> dict[str, Any]:
    """Complete an open session as the customer would (see module docstring)."""
    from . import customers, payment_methods
    from .payment_intents import charge_customer

    obj = ctx.get_or_404(COLLECTION, session_id)
    if obj["status"] != "open":
        raise errors.invalid(
            f"This Checkout Session is no longer active (status: {obj['status']})."
        )
    mode = obj["mode"]
    email = obj.get("customer_email") or "customer@example.com"
    cus = ctx.coll("customer").get(obj["customer"]) if obj.get("customer") else None
    if cus is None and (mode != "payment" or obj.get("customer_creation") == "always"):
        cus = customers.BLANK.new(
            id=ctx.new_id(customers.PREFIX),
            created=ctx.now(),
            email=email,
            invoice_prefix=ctx.state.ids.token("0123456789ABCDEF", 8),
            test_clock=None,
        )
        ctx.coll(customers.COLLECTION).put(cus)
        billing.emit(ctx, "customer.created", cus)
    pm = payment_methods.resolve(ctx, payment_method or "pm_card_visa")
    if cus is not None:
        payment_methods.attach(ctx, pm, cus["id"])
    items = (ctx.coll("checkout.line_items").get(obj["id"]) or {"data": []})["data"]
    opts = ctx.coll("checkout.options").get(obj["id"]) or {}
    old = dict(obj)
    changes: dict[str, Any] = {
        "customer": cus["id"] if cus else None,
        "customer_details": {
            "address": None,
            "business_name": None,
            "email": (cus or {}).get("email") or email,
            "individual_name": None,
            "name": (cus or {}).get("name"),
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "status": "complete",
        "url": None,
    }
    if mode == "subscription":
        from .subscriptions import create_subscription

        assert cus is not None
        sd = opts.get("subscription_data") or {}
        sub = create_subscription(
            ctx,
            {
                "customer": cus["id"],
                "items": [{"price": li["price"]["id"], "quantity": li["quantity"]} for li in items],
                "default_payment_method": pm["id"],
                "trial_period_days": sd.get("trial_period_days"),
                "metadata": sd.get("metadata"),
                "description": sd.get("description"),
                "payment_behavior": "error_if_incomplete",
            },
        )
        inv = ctx.coll(invoices.COLLECTION).get(sub["latest_invoice"])
        changes["subscription"] = sub["id"]
        changes["invoice"] = sub["latest_invoice"]
        paid = inv is not None and inv["status"] == "paid" and inv["amount_paid"] > 0
        changes["payment_status"] = "paid" if paid else "no_payment_required"
    elif mode == "payment":
        pid = opts.get("payment_intent_data") or {}
        if pm["type"] in payment_methods.ASYNC_TYPES:  # the page collects the mandate
            from . import mandates

            single = (
                None if pid.get("setup_future_usage") else (obj["amount_total"], obj["currency"])
            )
            mandates.create_for(ctx, pm, mandates.acceptance(ctx, None), single_use=single)
        pi, err = charge_customer(
            ctx,
            customer=cus["id"] if cus else _guest(ctx, pm),
            amount=obj["amount_total"],
            currency=obj["currency"],
            payment_method=pm["id"],
            off_session=False,
            description=pid.get("description"),
            metadata=pid.get("metadata"),
            shipping_details=pid.get("shipping"),
            payment_method_types=[pm["type"]],
        )
        if err is not None:
            raise errors.StripeError(
                402,
                err.get("type") or errors.CARD_ERROR,
                err.get("message") or "Your card was declined.",
                code=err.get("code"),
                decline_code=err.get("decline_code"),
            )
        if pi["status"] == "requires_action":  # 3D Secure is not modelled on the page
            raise errors.StripeError(
                402,
                errors.CARD_ERROR,
                "Your card was declined. This transaction requires authentication.",
                code="authentication_required",
                decline_code="authentication_required",
            )
        changes["payment_intent"] = pi["id"]
        changes["payment_status"] = "unpaid" if pi["status"] == "processing" else "paid"
    else:
        changes["setup_intent"] = _setup_intent(ctx, cus, pm)
        changes["payment_status"] = "no_payment_required"
    obj.update(changes)
    ctx.coll(COLLECTION).reindex(obj["id"], old)
    billing.emit(ctx, "checkout.session.completed", obj)
    return obj


def on_payment_settled(ctx: Ctx, pi: dict[str, Any], *, success: bool) -> None:
    """A delayed-notification payment of a completed session settled: the session is
    paid (``checkout.session.async_payment_succeeded``) or not (``..._failed``)."""
    for obj in ctx.coll(COLLECTION).lookup("payment_intent", pi["id"]):
        if success:
            old = dict(obj)
            obj["payment_status"] = "paid"
            ctx.coll(COLLECTION).reindex(obj["id"], old)
        kind = "succeeded" if success else "failed"
        billing.emit(ctx, f"checkout.session.async_payment_{kind}", obj)


def _guest(ctx: Ctx, pm: dict[str, Any]) -> str:
    """Payment mode without a customer: charge through a throwaway guest customer."""
    from . import customers, payment_methods

    cus = customers.BLANK.new(
        id=ctx.new_id(customers.PREFIX),
        created=ctx.now(),
        invoice_prefix=ctx.state.ids.token("0123456789ABCDEF", 8),
        test_clock=None,
    )
    ctx.coll(customers.COLLECTION).put(cus)
    payment_methods.attach(ctx, pm, cus["id"])
    return str(cus["id"])


def _setup_intent(ctx: Ctx, cus: dict[str, Any] | None, pm: dict[str, Any]) -> str:
    """The succeeded SetupIntent a completed ``mode=setup`` session points at."""
    from .setup_intents import confirm_for_customer

    si = confirm_for_customer(ctx, customer=cus["id"] if cus else None, payment_method=pm["id"])
    return str(si["id"])


def complete(ctx: Ctx) -> dict[str, Any]:
    out = jcopy(complete_session(ctx, ctx.path_params["id"], ctx.params.get("payment_method")))
    billing.catch_up(ctx)  # a delayed-notification payment may settle right after
    return out


ROUTES = [
    Route("POST", "/v1/checkout/sessions", create, CREATE_PARAMS),
    Route("GET", "/v1/checkout/sessions", list_, LIST),
    Route("GET", "/v1/checkout/sessions/{id}", retrieve),
    Route("POST", "/v1/checkout/sessions/{id}/expire", expire),
    Route("GET", "/v1/checkout/sessions/{id}/line_items", line_items, LIST_PARAMS),
    Route("POST", "/v1/test_helpers/checkout/sessions/{id}/complete", complete, COMPLETE_PARAMS),
]

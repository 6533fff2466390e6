"""Invoices: create, retrieve, update (draft), delete (draft), list, finalize, pay, void,
mark_uncollectible, ``/lines``, ``create_preview``; plus the invoice helpers the
subscription engine uses (build, add lines, finalize, attempt payment, retries).

Status transitions: draft -> open -> paid | void | uncollectible (uncollectible
can still be paid). The number is assigned at finalization; zero-amount invoices
are paid at finalization without a charge. Payment goes through
``payment_intents.charge_customer`` (imported lazily). Failed automatic
attempts schedule retries per :class:`..billing.BillingSettings`.
"""

from __future__ import annotations

from typing import Any

from .. import billing, errors
from ..common import CREATED_FILTER, LIST_PARAMS, apply_metadata, deleted, list_response
from ..routing import Ctx, Route
from ..schema import Bool, Enum, Int, ListOf, Metadata, Obj, Range, Schema, Str
from ..shapes import Blank

COLLECTION = "invoice"
PREFIX = "in"
INDEXES = {COLLECTION: ("customer", "subscription", "status")}
EXPANDABLE = {PREFIX: COLLECTION}
ITEMS = "invoiceitem"
STATUSES = ("draft", "open", "paid", "uncollectible", "void")

_EMPTY_ADDRESS = {k: None for k in ("city", "country", "line1", "line2", "postal_code", "state")}

BLANK = Blank(
    "invoice",
    account_name=None,
    automatic_tax={
        "enabled": False,
        "liability": None,
        "status": None,
        "disabled_reason": None,
        "provider": None,
    },
    amount_overpaid=0,
    confirmation_secret=None,
    customer_shipping=None,
    customer_address=None,
    discounts=[],
    due_date=None,
    effective_at=None,
    ending_balance=None,
    from_invoice=None,
    last_finalization_error=None,
    next_payment_attempt=None,
    payment_settings={
        "default_mandate": None,
        "payment_method_options": None,
        "payment_method_types": None,
    },
    shipping_cost=None,
    shipping_details=None,
    total_pretax_credit_amounts=[],
    total_taxes=[],
    webhooks_delivered_at=None,
    automatically_finalizes_at=None,
    rendering=None,
    payment_intent=None,
    charge=None,
)
LINE = Blank("line_item", pretax_credit_amounts=[], taxes=[], discount_amounts=[], discounts=[])

CREATE_PARAMS: Schema = {
    "customer": Str(),
    "subscription": Str(),
    "auto_advance": Bool(),
    "collection_method": Enum("charge_automatically", "send_invoice"),
    "days_until_due": Int(min_value=0),
    "due_date": Int(),
    "currency": Str(),
    "description": Str(),
    "footer": Str(),
    "metadata": Metadata(),
    "default_payment_method": Str(),
    "pending_invoice_items_behavior": Enum("exclude", "include"),
}
UPDATE_PARAMS: Schema = {
    "auto_advance": Bool(),
    "collection_method": Enum("charge_automatically", "send_invoice"),
    "days_until_due": Int(min_value=0),
    "due_date": Int(),
    "description": Str(),
    "footer": Str(),
    "metadata": Metadata(),
    "default_payment_method": Str(),
}
LIST: Schema = {
    **LIST_PARAMS,
    **CREATED_FILTER,
    "customer": Str(),
    "subscription": Str(),
    "status": Enum(*STATUSES),
    "collection_method": Enum("charge_automatically", "send_invoice"),
    "due_date": Range(),
}
FINALIZE_PARAMS: Schema = {"auto_advance": Bool()}
PAY_PARAMS: Schema = {
    "payment_method": Str(),
    "paid_out_of_band": Bool(),
    "off_session": Bool(),
    "forgive": Bool(),
    "source": Str(),
    "mandate": Str(),
}
LINES_LIST: Schema = {**LIST_PARAMS}
PREVIEW_PARAMS: Schema = {
    "customer": Str(),
    "subscription": Str(),
    "subscription_details": Obj(
        {
            "items": ListOf(
                Obj(
                    {
                        "id": Str(),
                        "price": Str(),
                        "quantity": Int(min_value=0),
                        "deleted": Bool(),
                        "clear_usage": Bool(),
                        "metadata": Metadata(),
                    }
                )
            ),
            "proration_behavior": Enum("create_prorations", "none", "always_invoice"),
            "proration_date": Int(),
        }
    ),
}


# ---------------------------------------------------------------------------
# Building blocks (used by subscriptions and invoice items too)
# ---------------------------------------------------------------------------


def customer_or_400(ctx: Ctx, cid: str) -> dict[str, Any]:
    cus = ctx.coll("customer").get(cid)
    if cus is None:
        raise errors.resource_missing("customer", cid, "customer", 400)
    return cus


def new_invoice(
    ctx: Ctx,
    customer: dict[str, Any],
    *,
    now: int,
    currency: str,
    billing_reason: str = "manual",
    subscription: dict[str, Any] | None = None,
    collection_method: str = "charge_automatically",
    auto_advance: bool = False,
    days_until_due: int | None = None,
    period: tuple[int, int] | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    default_payment_method: str | None = None,
) -> dict[str, Any]:
    """Store a draft invoice (no lines, no event yet)."""
    inv_id = ctx.new_id(PREFIX, 24)
    start, end = period or (now, now)
    parent = None
    if subscription is not None:
        parent = {
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(subscription.get("metadata") or {}),
                "subscription": subscription["id"],
            },
            "type": "subscription_details",
        }
    inv = BLANK.new(
        id=inv_id,
        created=now,
        customer=customer["id"],
        customer_email=customer.get("email"),
        customer_name=customer.get("name"),
        customer_phone=customer.get("phone"),
        customer_address=customer.get("address"),
        customer_shipping=customer.get("shipping"),
        customer_tax_exempt=customer.get("tax_exempt") or "none",
        currency=currency,
        billing_reason=billing_reason,
        collection_method=collection_method,
        auto_advance=auto_advance,
        description=description,
        metadata=dict(metadata or {}),
        default_payment_method=default_payment_method,
        due_date=None,
        number=None,
        parent=parent,
        subscription=subscription["id"] if subscription else None,
        period_start=start,
        period_end=end,
        status="draft",
        status_transitions={
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        attempt_count=0,
        attempted=False,
        hosted_invoice_url=None,
        invoice_pdf=None,
        lines={
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/invoices/{inv_id}/lines",
        },
        payments={
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/invoice_payments?invoice={inv_id}",
        },
        test_clock=customer.get("test_clock"),
        starting_balance=0,
        ending_balance=None,
        footer=None,
        **billing.invoice_totals([]),
    )
    if days_until_due is not None and collection_method == "send_invoice":
        inv["due_date"] = now + days_until_due * billing.DAY
    ctx.coll(COLLECTION).put(inv)
    return inv


def new_line(
    inv: dict[str, Any],
    *,
    line_id: str,
    amount: int,
    description: str | None,
    period: tuple[int, int],
    price: dict[str, Any] | None,
    quantity: int | None,
    proration: bool = False,
    subscription: str | None = None,
    subscription_item: str | None = None,
    invoice_item: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    if invoice_item is not None:
        parent: dict[str, Any] = {
            "invoice_item_details": {
                "invoice_item": invoice_item,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        }
    else:
        parent = {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription,
                "subscription_item": subscription_item,
            },
            "type": "subscription_item_details",
        }
    pricing = None
    if price is not None:
        pricing = {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price.get("unit_amount_decimal"),
        }
    line = LINE.new(
        id=line_id,
        amount=amount,
        subtotal=amount,
        currency=inv["currency"],
        description=description,
        invoice=inv["id"],
        metadata=dict(metadata or {}),
        parent=parent,
        period={"end": period[1], "start": period[0]},
        pricing=pricing,
        quantity=quantity,
        quantity_decimal=None if quantity is None else str(quantity),
        subscription=subscription,
    )
    return line


def recompute(inv: dict[str, Any]) -> None:
    lines = inv["lines"]["data"]
    inv.update(billing.invoice_totals((ln["amount"] for ln in lines), inv["amount_paid"]))
    inv["lines"]["total_count"] = len(lines)


def item_line(ctx: Ctx, inv: dict[str, Any], ii: dict[str, Any]) -> dict[str, Any]:
    price_id = ((ii.get("pricing") or {}).get("price_details") or {}).get("price")
    price = ctx.coll("price").get(price_id) if price_id else None
    sub = ((ii.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    return new_line(
        inv,
        line_id=ctx.new_id("il", 24),
        amount=ii["amount"],
        description=ii["description"],
        period=(ii["period"]["start"], ii["period"]["end"]),
        price=price,
        quantity=ii.get("quantity"),
        proration=ii["proration"],
        subscription=sub,
        invoice_item=ii["id"],
        metadata=ii.get("metadata"),
    )


def attach_item(ctx: Ctx, inv: dict[str, Any], ii: dict[str, Any]) -> None:
    """Put a pending invoice item on a draft invoice."""
    old = dict(ii)
    ii["invoice"] = inv["id"]
    ctx.coll(ITEMS).reindex(ii["id"], old)
    inv["lines"]["data"].append(item_line(ctx, inv, ii))
    recompute(inv)
    ctx.coll(COLLECTION).touch(inv["id"])


def pending_items(ctx: Ctx, customer_id: str, subscription: str | None = None) -> list[Any]:
    out = []
    for ii in ctx.coll(ITEMS).lookup("customer", customer_id):
        if ii.get("invoice") is not None:
            continue
        sub = ((ii.get("parent") or {}).get("subscription_details") or {}).get("subscription")
        if subscription is not None and sub not in (None, subscription):
            continue
        out.append(ii)
    return out


def _number(ctx: Ctx, customer_id: str) -> str:
    cus = ctx.coll("customer").get(customer_id)
    if cus is None:
        return ctx.state.ids.token("0123456789ABCDEF", 8) + "-0001"
    seq = cus.get("next_invoice_sequence") or 1
    cus["next_invoice_sequence"] = seq + 1
    ctx.coll("customer").touch(cus["id"])
    return f"{cus.get('invoice_prefix') or 'INV'}-{seq:04d}"


def finalize(ctx: Ctx, inv: dict[str, Any], now: int) -> dict[str, Any]:
    """draft -> open (number, URLs); zero-amount invoices are paid straight away.

    Callers only pass drafts (the finalize endpoint refuses others with a 400).
    """
    token = ctx.state.ids.token(billing_token_alphabet(), 60)
    acct = ctx.account.id
    inv.update(
        number=_number(ctx, inv["customer"]),
        status="open",
        effective_at=now,
        automatically_finalizes_at=None,
        hosted_invoice_url=f"https://invoice.stripe.com/i/{acct}/test_{token}",
        invoice_pdf=f"https://pay.stripe.com/invoice/{acct}/test_{token}/pdf",
        webhooks_delivered_at=now,
    )
    inv["status_transitions"]["finalized_at"] = now
    billing.clear_timer(ctx, "finalize", inv["id"])
    ctx.coll(COLLECTION).reindex(inv["id"], {**inv, "status": "draft"})
    billing.emit(ctx, "invoice.finalized", inv)
    if inv["amount_due"] == 0:
        mark_paid(ctx, inv, now)
    return inv


def billing_token_alphabet() -> str:
    return "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _add_payment(ctx: Ctx, inv: dict[str, Any], pi: dict[str, Any], status: str, now: int) -> None:
    pay = {
        "id": ctx.new_id("inpay", 24),
        "object": "invoice_payment",
        "amount_paid": pi.get("amount") if status == "paid" else None,
        "amount_requested": inv["amount_remaining"],
        "created": now,
        "currency": inv["currency"],
        "invoice": inv["id"],
        "is_default": True,
        "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": pi["id"]},
        "status": status,
        "status_transitions": {"canceled_at": None, "paid_at": now if status == "paid" else None},
    }
    data = inv["payments"]["data"]
    for old in data:
        old["is_default"] = False
    data.insert(0, pay)


def mark_paid(
    ctx: Ctx,
    inv: dict[str, Any],
    now: int,
    pi: dict[str, Any] | None = None,
    *,
    out_of_band: bool = False,
) -> None:
    old = dict(inv)
    paid = inv["amount_remaining"] if (pi is not None or out_of_band) else 0
    inv.update(
        status="paid",
        amount_paid=inv["amount_paid"] + paid,
        amount_remaining=0,
        next_payment_attempt=None,
        attempted=inv["attempted"] or pi is not None,
    )
    if pi is not None:
        inv["payment_intent"] = pi["id"]
        inv["charge"] = pi.get("latest_charge")
        _add_payment(ctx, inv, pi, "paid", now)
    inv["status_transitions"]["paid_at"] = now
    billing.clear_timer(ctx, "retry", inv["id"])
    ctx.coll(COLLECTION).reindex(inv["id"], old)
    billing.emit(ctx, "invoice.paid", inv)
    billing.emit(ctx, "invoice.payment_succeeded", inv)
    if inv.get("subscription"):
        from .subscriptions import on_invoice_paid

        on_invoice_paid(ctx, inv, now)


def _payment_method_for(ctx: Ctx, inv: dict[str, Any]) -> str | None:
    if inv.get("default_payment_method"):
        return str(inv["default_payment_method"])
    if inv.get("subscription"):
        sub = ctx.coll("subscription").get(inv["subscription"])
        if sub is not None and sub.get("default_payment_method"):
            return str(sub["default_payment_method"])
    return None


REQUIRES_ACTION = {
    "code": "invoice_payment_intent_requires_action",
    "decline_code": None,
    "message": "This payment requires additional user action before it can be completed "
    "successfully. Payment can be completed using the PaymentIntent associated with the "
    "invoice. For more details see: "
    "https://docs.stripe.com/billing/subscriptions/overview#requires-action",
    "type": errors.CARD_ERROR,
}


def attempt_payment(
    ctx: Ctx,
    inv: dict[str, Any],
    now: int,
    *,
    payment_method: str | None = None,
    off_session: bool = True,
    schedule_retry: bool = True,
) -> dict[str, Any] | None:
    """Charge the invoice's amount_remaining. Returns the Stripe error dict on failure."""
    from .payment_intents import charge_customer

    pm = payment_method or _payment_method_for(ctx, inv)
    pi, error = charge_customer(
        ctx,
        customer=inv["customer"],
        amount=inv["amount_remaining"],
        currency=inv["currency"],
        payment_method=pm,
        off_session=off_session,
        description="Subscription creation"
        if inv["billing_reason"] == "subscription_create"
        else ("Subscription update" if inv.get("subscription") else None),
        invoice=inv["id"],
    )
    inv["attempt_count"] += 1
    inv["attempted"] = True
    if error is None and pi.get("status") == "succeeded":
        mark_paid(ctx, inv, now, pi)
        return None
    if error is None and pi.get("status") == "requires_action":
        # 3D Secure on-session: the invoice stays open until the customer authenticates.
        inv["payment_intent"] = pi["id"]
        inv["charge"] = None
        _add_payment(ctx, inv, pi, "open", now)
        ctx.coll(COLLECTION).touch(inv["id"])
        billing.emit(ctx, "invoice.payment_action_required", inv)
        return dict(REQUIRES_ACTION)
    if error is None and pi.get("status") == "processing":
        # A delayed-notification debit: the invoice stays open until it settles.
        inv["payment_intent"] = pi["id"]
        inv["charge"] = pi.get("latest_charge")
        inv["next_payment_attempt"] = None
        _add_payment(ctx, inv, pi, "open", now)
        ctx.coll(COLLECTION).touch(inv["id"])
        return None
    # Requires-action and processing intents were handled above, so a PaymentIntent that
    # did not succeed comes with an error.
    err = error or {"type": errors.CARD_ERROR, "message": "Your card was declined."}
    inv["payment_intent"] = pi.get("id") if pi else inv.get("payment_intent")
    inv["charge"] = (pi or {}).get("latest_charge")
    if pi:
        _add_payment(ctx, inv, pi, "open", now)
    settings = billing.settings(ctx.state, ctx.account)
    final = True
    if (
        schedule_retry
        and inv.get("auto_advance")
        and inv["billing_reason"] != "subscription_create"
    ):
        n = inv["attempt_count"] - 1  # retries already made
        if n < len(settings.retry_days):
            at = now + settings.retry_days[n] * billing.DAY
            inv["next_payment_attempt"] = at
            billing.set_timer(ctx, "retry", inv["id"], at, inv["customer"])
            final = False
        else:
            inv["next_payment_attempt"] = None
    ctx.coll(COLLECTION).touch(inv["id"])
    billing.emit(ctx, "invoice.payment_failed", inv)
    if inv.get("subscription"):
        from .subscriptions import on_invoice_payment_failed

        on_invoice_payment_failed(ctx, inv, now, final=final)
    return err


def on_payment_settled(ctx: Ctx, pi: dict[str, Any], now: int, *, success: bool) -> None:
    """The debit an open invoice was waiting for settled: paid, or ``payment_failed``."""
    if not pi.get("customer"):
        return
    for inv in ctx.coll(COLLECTION).lookup("customer", pi["customer"]):
        if inv.get("payment_intent") != pi["id"] or inv["status"] != "open":
            continue
        if success:
            inv["payments"]["data"] = [
                x for x in inv["payments"]["data"] if x["payment"]["payment_intent"] != pi["id"]
            ]
            mark_paid(ctx, inv, now, pi)
        else:
            billing.emit(ctx, "invoice.payment_failed", inv)


def void(ctx: Ctx, inv: dict[str, Any], now: int) -> dict[str, Any]:
    if inv["status"] not in ("open", "uncollectible"):
        raise errors.invalid(
            f"You can only pass in open or uncollectible invoices. This invoice is {inv['status']}."
            if inv["status"] != "draft"
            else "You can only void an open or uncollectible invoice. Delete draft invoices "
            "instead.",
        )
    old = dict(inv)
    inv.update(status="void", next_payment_attempt=None)
    inv["status_transitions"]["voided_at"] = now
    billing.clear_timer(ctx, "retry", inv["id"])
    ctx.coll(COLLECTION).reindex(inv["id"], old)
    billing.emit(ctx, "invoice.voided", inv)
    return inv


def _draft_or_400(inv: dict[str, Any], action: str) -> None:
    if inv["status"] != "draft":
        raise errors.invalid(
            f"You can only {action} draft invoices. This invoice is {inv['status']}.",
            code="invoice_not_editable" if action == "update" else None,
        )


def run_finalize_timer(ctx: Ctx, inv_id: str, now: int) -> None:
    inv = ctx.coll(COLLECTION).get(inv_id)
    if inv is None or inv["status"] != "draft" or not inv.get("auto_advance"):
        return
    finalize(ctx, inv, now)
    if inv["status"] == "open" and inv["collection_method"] == "charge_automatically":
        attempt_payment(ctx, inv, now)


def run_retry_timer(ctx: Ctx, inv_id: str, now: int) -> None:
    inv = ctx.coll(COLLECTION).get(inv_id)
    if inv is None or inv["status"] != "open" or not inv.get("auto_advance"):
        return
    attempt_payment(ctx, inv, now)


billing.register_handler("finalize", run_finalize_timer)
billing.register_handler("retry", run_retry_timer)


# ---------------------------------------------------------------------------
# Handlers
# ---------------------------------------------------------------------------


def _get(ctx: Ctx) -> dict[str, Any]:
    billing.catch_up(ctx)
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def create(ctx: Ctx) -> dict[str, Any]:
    billing.catch_up(ctx)
    p = ctx.params
    if not p.get("customer"):
        raise errors.parameter_missing("customer")
    cus = customer_or_400(ctx, p["customer"])
    sub = None
    if p.get("subscription"):
        sub = ctx.coll("subscription").get(p["subscription"])
        if sub is None:
            raise errors.resource_missing("subscription", p["subscription"], "subscription", 400)
    method = p.get("collection_method") or "charge_automatically"
    if method == "send_invoice" and p.get("days_until_due") is None and p.get("due_date") is None:
        raise errors.invalid(
            "Invoices with `collection_method=send_invoice` must have either `days_until_due` "
            "or `due_date` set.",
            "days_until_due",
        )
    now = billing.now_for(ctx, cus["id"])
    pending = []
    if p.get("pending_invoice_items_behavior") == "include":
        pending = pending_items(ctx, cus["id"], sub["id"] if sub else None)
    currency = (
        p.get("currency")
        or (pending[0]["currency"] if pending else None)
        or cus.get("currency")
        or "usd"
    ).lower()
    auto_advance = bool(p.get("auto_advance")) if "auto_advance" in p else False
    inv = new_invoice(
        ctx,
        cus,
        now=now,
        currency=currency,
        subscription=sub,
        collection_method=method,
        auto_advance=auto_advance,
        days_until_due=p.get("days_until_due"),
        description=p.get("description"),
        metadata=apply_metadata({}, p.get("metadata") or {}),
        default_payment_method=p.get("default_payment_method"),
    )
    if p.get("due_date") is not None:
        inv["due_date"] = p["due_date"]
    inv["footer"] = p.get("footer")
    for ii in pending:
        attach_item(ctx, inv, ii)
    if auto_advance:
        _schedule_finalize(ctx, inv, now)
    billing.emit(ctx, "invoice.created", inv)
    return inv


def _schedule_finalize(ctx: Ctx, inv: dict[str, Any], now: int) -> None:
    at = now + billing.settings(ctx.state, ctx.account).finalize_delay
    inv["automatically_finalizes_at"] = at
    billing.set_timer(ctx, "finalize", inv["id"], at, inv["customer"])


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return _get(ctx)


def update(ctx: Ctx) -> dict[str, Any]:
    inv = _get(ctx)
    p = ctx.params
    ch: dict[str, Any] = {}
    if "metadata" in p:
        ch["metadata"] = apply_metadata(inv["metadata"], p["metadata"])
    if "auto_advance" in p and inv["status"] in ("draft", "open"):
        ch["auto_advance"] = bool(p["auto_advance"])
    other: dict[str, Any] = {
        k: p[k]
        for k in (
            "description",
            "footer",
            "collection_method",
            "due_date",
            "default_payment_method",
        )
        if k in p
    }
    if other or "days_until_due" in p:
        _draft_or_400(inv, "update")
        ch.update(other)
        if p.get("days_until_due") is not None:
            ch["due_date"] = inv["created"] + p["days_until_due"] * billing.DAY
    if inv["status"] == "draft" and "auto_advance" in ch:
        if ch["auto_advance"]:
            _schedule_finalize(ctx, inv, billing.now_for(ctx, inv["customer"]))
            ch["automatically_finalizes_at"] = inv["automatically_finalizes_at"]
        else:
            billing.clear_timer(ctx, "finalize", inv["id"])
            ch["automatically_finalizes_at"] = None
    return billing.change(ctx, COLLECTION, inv, ch, "invoice.updated")


def delete(ctx: Ctx) -> dict[str, Any]:
    inv = _get(ctx)
    if inv["status"] != "draft":
        raise errors.invalid("You can only delete draft invoices.", code="invoice_not_editable")
    for line in inv["lines"]["data"]:
        details = (line.get("parent") or {}).get("invoice_item_details")
        if details:
            ctx.coll(ITEMS).delete(details["invoice_item"])
    billing.clear_timer(ctx, "finalize", inv["id"])
    ctx.coll(COLLECTION).delete(inv["id"])
    billing.emit(ctx, "invoice.deleted", inv)
    return deleted(inv["id"], "invoice")


def list_(ctx: Ctx) -> dict[str, Any]:
    billing.catch_up(ctx)
    p = ctx.params
    eq = {
        k: p[k]
        for k in ("customer", "subscription", "status", "collection_method")
        if p.get(k) is not None
    }
    where = None
    if p.get("due_date"):
        from ..schema import in_range

        rng = p["due_date"]

        def where(o: dict[str, Any]) -> bool:
            return o.get("due_date") is not None and in_range(o["due_date"], rng)

    return list_response(ctx, COLLECTION, "/v1/invoices", eq=eq, where=where)


def finalize_handler(ctx: Ctx) -> dict[str, Any]:
    inv = _get(ctx)
    if inv["status"] != "draft":
        raise errors.invalid(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice."
        )
    if "auto_advance" in ctx.params:
        inv["auto_advance"] = bool(ctx.params["auto_advance"])
    now = billing.now_for(ctx, inv["customer"])
    finalize(ctx, inv, now)
    if (
        inv["status"] == "open"
        and inv.get("auto_advance")
        and (inv["collection_method"] == "charge_automatically")
    ):
        # Stripe attempts payment of an auto-advancing invoice about an hour later.
        at = now + billing.settings(ctx.state, ctx.account).finalize_delay
        inv["next_payment_attempt"] = at
        billing.set_timer(ctx, "retry", inv["id"], at, inv["customer"])
    return inv


def pay(ctx: Ctx) -> dict[str, Any]:
    inv = _get(ctx)
    p = ctx.params
    now = billing.now_for(ctx, inv["customer"])
    if inv["status"] == "draft":
        finalize(ctx, inv, now)
        if inv["status"] == "paid":
            return inv
    if inv["status"] == "paid":
        raise errors.invalid("Invoice is already paid")
    if inv["status"] == "void":
        raise errors.invalid("This invoice has been voided and cannot be paid.")
    if p.get("paid_out_of_band"):
        mark_paid(ctx, inv, now, out_of_band=True)
        return inv
    err = attempt_payment(
        ctx,
        inv,
        now,
        payment_method=p.get("payment_method"),
        off_session=bool(p.get("off_session")),
        schedule_retry=False,
    )
    if err is not None:
        raise errors.StripeError(
            400 if err.get("type") == errors.INVALID_REQUEST else 402,
            err.get("type") or errors.CARD_ERROR,
            err.get("message") or "Your card was declined.",
            code=err.get("code"),
            param=err.get("param"),
            decline_code=err.get("decline_code"),
        )
    return inv


def void_handler(ctx: Ctx) -> dict[str, Any]:
    inv = _get(ctx)
    return void(ctx, inv, billing.now_for(ctx, inv["customer"]))


def mark_uncollectible(ctx: Ctx) -> dict[str, Any]:
    inv = _get(ctx)
    if inv["status"] != "open":
        raise errors.invalid(
            f"You can only mark open invoices as uncollectible. This invoice is {inv['status']}."
        )
    now = billing.now_for(ctx, inv["customer"])
    old = dict(inv)
    inv.update(status="uncollectible", next_payment_attempt=None)
    inv["status_transitions"]["marked_uncollectible_at"] = now
    billing.clear_timer(ctx, "retry", inv["id"])
    ctx.coll(COLLECTION).reindex(inv["id"], old)
    billing.emit(ctx, "invoice.marked_uncollectible", inv)
    return inv


def send(ctx: Ctx) -> dict[str, Any]:
    """Email the invoice now (test mode sends no email, only ``invoice.sent``); a draft is
    finalized first. Only for ``collection_method=send_invoice``; not for a void invoice."""
    inv = _get(ctx)
    if inv["collection_method"] != "send_invoice":
        raise errors.invalid(
            "You can only manually send an invoice if its collection method is 'send_invoice'."
        )
    if inv["status"] == "void":
        raise errors.invalid("You can't send an invoice that has been voided.")
    if inv["status"] == "draft":
        finalize(ctx, inv, billing.now_for(ctx, inv["customer"]))
    billing.emit(ctx, "invoice.sent", inv)
    return inv


def paginate(ctx: Ctx, items: list[dict[str, Any]], url: str) -> dict[str, Any]:
    """Paginate an embedded list (oldest first, like Stripe's invoice lines)."""
    p = ctx.params
    limit = p.get("limit") or 10
    ids = [x["id"] for x in items]
    start = 0
    if p.get("starting_after"):
        if p["starting_after"] not in ids:
            raise errors.resource_missing("line_item", p["starting_after"], "starting_after", 400)
        start = ids.index(p["starting_after"]) + 1
        chunk = items[start : start + limit]
        more = start + limit < len(items)
    elif p.get("ending_before"):
        if p["ending_before"] not in ids:
            raise errors.resource_missing("line_item", p["ending_before"], "ending_before", 400)
        end = ids.index(p["ending_before"])
        chunk = items[max(0, end - limit) : end]
        more = end - limit > 0
    else:
        chunk = items[:limit]
        more = limit < len(items)
    return {"object": "list", "data": chunk, "has_more": more, "url": url}


def lines(ctx: Ctx) -> dict[str, Any]:
    inv = _get(ctx)
    return paginate(ctx, inv["lines"]["data"], f"/v1/invoices/{inv['id']}/lines")


def create_preview(ctx: Ctx) -> dict[str, Any]:
    """The next invoice of a subscription (or the customer's pending items), not stored."""
    billing.catch_up(ctx)
    from .subscriptions import preview_invoice

    return preview_invoice(ctx, ctx.params)


ROUTES = [
    Route("POST", "/v1/invoices", create, CREATE_PARAMS),
    Route("GET", "/v1/invoices", list_, LIST),
    Route("POST", "/v1/invoices/create_preview", create_preview, PREVIEW_PARAMS),
    Route("GET", "/v1/invoices/{id}", retrieve),
    Route("POST", "/v1/invoices/{id}", update, UPDATE_PARAMS),
    Route("DELETE", "/v1/invoices/{id}", delete),
    Route("POST", "/v1/invoices/{id}/finalize", finalize_handler, FINALIZE_PARAMS),
    Route("POST", "/v1/invoices/{id}/pay", pay, PAY_PARAMS),
    Route("POST", "/v1/invoices/{id}/void", void_handler),
    Route("POST", "/v1/invoices/{id}/mark_uncollectible", mark_uncollectible),
    Route("POST", "/v1/invoices/{id}/send", send),
    Route("GET", "/v1/invoices/{id}/lines", lines, LINES_LIST),
]

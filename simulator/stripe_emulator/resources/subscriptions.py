"""Subscriptions and subscription items: create, retrieve, update (items, proration,
cancel_at_period_end, trial_end, default_payment_method), cancel, list; the
subscription side of the billing engine (trial_will_end, renewals, cancellation at
period end, dunning outcome, incomplete expiry); and the invoice preview.

Periods live on the items (``current_period_start/end``, as in API versions
>= 2025-03-31) and follow ``billing_cycle_anchor`` by calendar month/year with
day clamping (:func:`..billing.period_boundary`). Creating without a trial
creates, finalizes and pays the first invoice at once; renewal invoices are
drafts finalized ``finalize_delay`` (1 hour) later, then charged.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from .. import billing, errors
from ..common import CREATED_FILTER, LIST_PARAMS, apply_metadata, diff, list_response
from ..routing import Ctx, Route
from ..schema import Bool, Enum, Int, ListOf, Metadata, Obj, Param, Schema, Str
from ..shapes import Blank, jcopy
from . import invoice_items, invoices

COLLECTION = "subscription"
ITEMS = "subscription_item"
PREFIX = "sub"
INDEXES = {COLLECTION: ("customer", "status"), ITEMS: ("subscription",)}
EXPANDABLE = {PREFIX: COLLECTION, "si": ITEMS}
STATUSES = (
    "active",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)
ENDED = ("canceled", "incomplete_expired")
TIMES = "\u00d7"  # the multiplication sign Stripe writes in "1 x Product"


class TrialEnd(Param):
    """A timestamp or ``now``."""

    def coerce_value(self, value: Any, name: str) -> Any:
        if value == "now":
            return "now"
        return Int().coerce(value, name)


ITEM = Obj(
    {
        "id": Str(),
        "price": Str(),
        "quantity": Int(min_value=0),
        "deleted": Bool(),
        "clear_usage": Bool(),
        "metadata": Metadata(),
        "discounts": Str(),
        "tax_rates": Str(),
    }
)
PRORATION = Enum("create_prorations", "none", "always_invoice")
PAYMENT_BEHAVIOR = Enum(
    "default_incomplete", "allow_incomplete", "error_if_incomplete", "pending_if_incomplete"
)
CANCELLATION_DETAILS = Obj({"comment": Str(), "feedback": Str()})
TRIAL_SETTINGS = Obj(
    {
        "end_behavior": Obj(
            {"missing_payment_method": Enum("cancel", "create_invoice", "pause", required=True)},
            required=True,
        )
    }
)
CREATE_PARAMS: Schema = {
    "customer": Str(required=True),
    "items": ListOf(ITEM, required=True),
    "default_payment_method": Str(),
    "trial_period_days": Int(min_value=0),
    "trial_end": TrialEnd(),
    "trial_settings": TRIAL_SETTINGS,
    "cancel_at_period_end": Bool(),
    "cancel_at": Int(),
    "payment_behavior": PAYMENT_BEHAVIOR,
    "collection_method": Enum("charge_automatically", "send_invoice"),
    "days_until_due": Int(min_value=0),
    "metadata": Metadata(),
    "description": Str(max_length=500),
    "currency": Str(),
    "proration_behavior": PRORATION,
    "off_session": Bool(),
}
UPDATE_PARAMS: Schema = {
    "items": ListOf(ITEM),
    "proration_behavior": PRORATION,
    "proration_date": Int(),
    "cancel_at_period_end": Bool(),
    "cancel_at": Int(emptyable=True),
    "cancellation_details": CANCELLATION_DETAILS,
    "default_payment_method": Str(),
    "trial_end": TrialEnd(),
    "trial_settings": TRIAL_SETTINGS,
    "metadata": Metadata(),
    "description": Str(max_length=500),
    "collection_method": Enum("charge_automatically", "send_invoice"),
    "days_until_due": Int(min_value=0),
    "payment_behavior": PAYMENT_BEHAVIOR,
    "off_session": Bool(),
}
# Resuming restarts the billing cycle now (``unchanged`` anchors are not modelled).
RESUME_PARAMS: Schema = {
    "billing_cycle_anchor": Enum("now"),
    "proration_behavior": PRORATION,
    "proration_date": Int(),
}
CANCEL_PARAMS: Schema = {
    "invoice_now": Bool(),
    "prorate": Bool(),
    "cancellation_details": CANCELLATION_DETAILS,
}
LIST: Schema = {
    **LIST_PARAMS,
    **CREATED_FILTER,
    "customer": Str(),
    "price": Str(),
    "status": Enum(*STATUSES, "all", "ended"),
    "collection_method": Enum("charge_automatically", "send_invoice"),
    "test_clock": Str(),
}
ITEM_CREATE: Schema = {
    "subscription": Str(required=True),
    "price": Str(required=True),
    "quantity": Int(min_value=0),
    "metadata": Metadata(),
    "proration_behavior": PRORATION,
    "proration_date": Int(),
    "payment_behavior": PAYMENT_BEHAVIOR,
}
ITEM_UPDATE: Schema = {
    "price": Str(),
    "quantity": Int(min_value=0),
    "metadata": Metadata(),
    "proration_behavior": PRORATION,
    "proration_date": Int(),
    "payment_behavior": PAYMENT_BEHAVIOR,
    "off_session": Bool(),
}
ITEM_DELETE: Schema = {
    "proration_behavior": PRORATION,
    "proration_date": Int(),
    "clear_usage": Bool(),
}
ITEM_LIST: Schema = {**LIST_PARAMS, "subscription": Str(required=True)}

BLANK = Blank(
    "subscription",
    automatic_tax={"enabled": False, "liability": None, "disabled_reason": None},
    billing_cycle_anchor_config=None,
    billing_mode={"type": "classic", "flexible": None},
    billing_schedules=[],
    billing_thresholds=None,
    cancellation_details={"comment": None, "feedback": None, "reason": None},
    invoice_settings={"account_tax_ids": None, "issuer": {"type": "self"}},
    managed_payments=None,
    next_pending_invoice_item_invoice=None,
    pause_collection=None,
    payment_settings={
        "payment_method_options": None,
        "payment_method_types": None,
        "save_default_payment_method": "off",
    },
    pending_invoice_item_interval=None,
    pending_update=None,
    transfer_data=None,
)
ITEM_BLANK = Blank("subscription_item", billing_thresholds=None)

# Subscriptions being created in this request: status changes are folded into the
# ``customer.subscription.created`` event instead of emitting ``updated``.
_CREATING: ContextVar[frozenset[str]] = ContextVar("creating", default=frozenset())


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _price(ctx: Ctx, price_id: str | None, param: str) -> dict[str, Any]:
    if not price_id:
        raise errors.parameter_missing(param)
    price = ctx.coll("price").get(price_id)
    if price is None:
        raise errors.resource_missing("price", price_id, param, 400)
    if price.get("recurring") is None:
        raise errors.invalid(
            "The price specified is set to `type=one_time` but this field only accepts prices "
            "with `type=recurring`.",
            param,
        )
    return price


def _plan(price: dict[str, Any]) -> dict[str, Any]:
    rec = price["recurring"]
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price.get("unit_amount"),
        "amount_decimal": price.get("unit_amount_decimal"),
        "billing_scheme": "per_unit",
        "created": price["created"],
        "currency": price["currency"],
        "interval": rec["interval"],
        "interval_count": rec["interval_count"],
        "livemode": False,
        "metadata": dict(price.get("metadata") or {}),
        "meter": rec.get("meter"),
        "nickname": price.get("nickname"),
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": rec.get("trial_period_days"),
        "usage_type": rec.get("usage_type") or "licensed",
    }


def _product_name(ctx: Ctx, price: dict[str, Any]) -> str:
    product = ctx.coll("product").get(price["product"])
    return str(product["name"]) if product else str(price["product"])


def _amount(price: dict[str, Any], quantity: int) -> int:
    return int(price.get("unit_amount") or 0) * quantity


def _cycle(price: dict[str, Any]) -> tuple[str, int]:
    rec = price["recurring"]
    return rec["interval"], int(rec["interval_count"])


def _items(sub: dict[str, Any]) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = sub["items"]["data"]
    return data


def _period(sub: dict[str, Any]) -> tuple[int, int]:
    item = _items(sub)[0]
    return int(item["current_period_start"]), int(item["current_period_end"])


def _new_item(
    ctx: Ctx,
    sub: dict[str, Any],
    price: dict[str, Any],
    quantity: int,
    now: int,
    period: tuple[int, int],
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    item = ITEM_BLANK.new(
        id=ctx.new_id("si", 14),
        created=now,
        current_period_start=period[0],
        current_period_end=period[1],
        discounts=[],
        metadata=dict(metadata or {}),
        plan=_plan(price),
        price=jcopy(price),
        quantity=quantity,
        subscription=sub["id"],
        tax_rates=[],
    )
    ctx.coll(ITEMS).put(item)
    _items(sub).append(item)
    return item


def _sync(ctx: Ctx, sub: dict[str, Any]) -> None:
    sub["items"]["total_count"] = len(_items(sub))
    for item in _items(sub):
        ctx.coll(ITEMS).touch(item["id"])
    ctx.coll(COLLECTION).touch(sub["id"])


def _save(ctx: Ctx, sub: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """Reindex after in-place changes and emit ``updated`` with previous_attributes."""
    _sync(ctx, sub)
    ctx.coll(COLLECTION).reindex(sub["id"], old)
    if sub["id"] in _CREATING.get():
        return sub
    prev = diff(old, sub)
    if prev:
        billing.emit(ctx, "customer.subscription.updated", sub, prev)
    return sub


def _line_description(ctx: Ctx, price: dict[str, Any], quantity: int, trial: bool) -> str:
    name = _product_name(ctx, price)
    if trial:
        return f"Trial period for {name}"
    interval, count = _cycle(price)
    every = interval if count == 1 else f"every {count} {interval}s"
    amount = billing.format_amount(int(price.get("unit_amount") or 0), price["currency"])
    return f"{quantity} {TIMES} {name} (at {amount} / {every})"


def _subscription_invoice(
    ctx: Ctx,
    sub: dict[str, Any],
    now: int,
    reason: str,
    *,
    item_lines: bool,
    trial: bool = False,
    invoice_period: tuple[int, int] | None = None,
    auto_advance: bool = True,
) -> dict[str, Any]:
    """A draft invoice for ``sub`` with its items' lines (if ``item_lines``) and pending items."""
    cus = ctx.coll("customer").get(sub["customer"]) or {"id": sub["customer"]}
    inv = invoices.new_invoice(
        ctx,
        cus,
        now=now,
        currency=sub["currency"],
        billing_reason=reason,
        subscription=sub,
        collection_method=sub["collection_method"],
        auto_advance=auto_advance,
        days_until_due=sub.get("days_until_due"),
        period=invoice_period or (now, now),
    )
    if item_lines:
        for item in _items(sub):
            price = item["price"]
            q = int(item["quantity"])
            inv["lines"]["data"].append(
                invoices.new_line(
                    inv,
                    line_id=ctx.new_id("il", 24),
                    amount=0 if trial else _amount(price, q),
                    description=_line_description(ctx, price, q, trial),
                    period=(item["current_period_start"], item["current_period_end"]),
                    price=price,
                    quantity=q,
                    subscription=sub["id"],
                    subscription_item=item["id"],
                )
            )
    for ii in invoices.pending_items(ctx, sub["customer"], sub["id"]):
        invoices.attach_item(ctx, inv, ii)
    invoices.recompute(inv)
    ctx.coll(invoices.COLLECTION).touch(inv["id"])
    return inv


def _charge(ctx: Ctx, inv: dict[str, Any], now: int, *, off_session: bool) -> dict[str, Any] | None:
    """Finalize now and, if something is due, attempt payment (first/update invoices)."""
    invoices.finalize(ctx, inv, now)
    if inv["status"] == "open" and inv["collection_method"] == "charge_automatically":
        return invoices.attempt_payment(ctx, inv, now, off_session=off_session)
    return None


def _card_error(err: dict[str, Any]) -> errors.StripeError:
    return errors.StripeError(
        402,
        err.get("type") or errors.CARD_ERROR,
        err.get("message") or "Your card was declined.",
        code=err.get("code"),
        param=err.get("param"),
        decline_code=err.get("decline_code"),
    )


def _trial_settings(value: dict[str, Any] | None) -> dict[str, Any]:
    behavior = ((value or {}).get("end_behavior") or {}).get("missing_payment_method")
    return {"end_behavior": {"missing_payment_method": behavior or "create_invoice"}}


def _has_payment_method(ctx: Ctx, sub: dict[str, Any]) -> bool:
    """A default payment method on the subscription or its customer."""
    if sub.get("default_payment_method") or sub.get("default_source"):
        return True
    cus = ctx.coll("customer").get(sub["customer"]) or {}
    settings = cus.get("invoice_settings") or {}
    return bool(settings.get("default_payment_method") or cus.get("default_source"))


def _end_trial_without_payment_method(ctx: Ctx, sub: dict[str, Any], at: int) -> bool:
    """``trial_settings.end_behavior.missing_payment_method`` at the end of a trial.

    ``pause``: the subscription becomes ``paused`` (no invoice; ``updated`` and
    ``customer.subscription.paused``); ``cancel``: it is canceled. Returns True if
    either happened, False when the trial ends normally (``create_invoice``, or a
    payment method is there).
    """
    behavior = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
    if behavior == "create_invoice" or _has_payment_method(ctx, sub):
        return False
    if behavior == "cancel":
        cancel_now(ctx, sub, at, "cancellation_requested")
        return True
    old = jcopy(sub)
    sub["status"] = "paused"
    for kind in ("period_end", "trial_will_end"):
        billing.clear_timer(ctx, kind, sub["id"])
    _save(ctx, sub, old)
    billing.emit(ctx, "customer.subscription.paused", sub)
    return True


def _schedule(ctx: Ctx, sub: dict[str, Any], now: int) -> None:
    _start, end = _period(sub)
    billing.set_timer(ctx, "period_end", sub["id"], end, sub["customer"])
    if sub["status"] == "trialing" and sub.get("trial_end"):
        days = billing.settings(ctx.state, ctx.account).trial_will_end_days
        at = sub["trial_end"] - days * billing.DAY
        if at > now:
            billing.set_timer(ctx, "trial_will_end", sub["id"], at, sub["customer"])
        else:
            # A trial shorter than the notice period: Stripe sends the notice at once.
            billing.clear_timer(ctx, "trial_will_end", sub["id"])
            if sub["trial_end"] > now:
                billing.emit(ctx, "customer.subscription.trial_will_end", sub)


# ---------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------


def create_subscription(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """Create (and bill) a subscription from validated create params. Also used by Checkout."""
    cus = invoices.customer_or_400(ctx, p["customer"])
    now = billing.now_for(ctx, cus["id"])
    specs = p.get("items") or []
    if not specs:
        raise errors.parameter_missing("items")
    prices = [_price(ctx, s.get("price"), f"items[{i}][price]") for i, s in enumerate(specs)]
    currency = prices[0]["currency"]
    cycle = _cycle(prices[0])
    for i, pr in enumerate(prices):
        if pr["currency"] != currency:
            raise errors.invalid(
                "Currency of all prices must match for a subscription.", f"items[{i}][price]"
            )
        if _cycle(pr) != cycle:
            raise errors.invalid(
                "All prices on a subscription must have the same `recurring.interval` and "
                "`recurring.interval_count`.",
                f"items[{i}][price]",
            )
    method = p.get("collection_method") or "charge_automatically"
    if method == "send_invoice" and p.get("days_until_due") is None:
        raise errors.invalid(
            "`days_until_due` is required when `collection_method` is `send_invoice`.",
            "days_until_due",
        )
    trial_end: int | None = None
    te = p.get("trial_end")
    if te is not None and te != "now":
        if te <= now:
            raise errors.invalid(
                "Invalid timestamp: must be an integer Unix timestamp in the future.", "trial_end"
            )
        trial_end = int(te)
    elif te is None and p.get("trial_period_days"):
        trial_end = now + int(p["trial_period_days"]) * billing.DAY
    anchor = trial_end or now
    end = trial_end or billing.period_boundary(anchor, cycle[0], cycle[1], 1)
    behavior = p.get("payment_behavior") or "allow_incomplete"
    sub_id = ctx.new_id(PREFIX, 24)
    sub = BLANK.new(
        id=sub_id,
        billing_cycle_anchor=anchor,
        cancel_at=end if p.get("cancel_at_period_end") else p.get("cancel_at"),
        cancel_at_period_end=bool(p.get("cancel_at_period_end")),
        canceled_at=now if p.get("cancel_at_period_end") else None,
        collection_method=method,
        created=now,
        currency=currency,
        customer=cus["id"],
        days_until_due=p.get("days_until_due") if method == "send_invoice" else None,
        default_payment_method=p.get("default_payment_method"),
        default_source=None,
        default_tax_rates=[],
        description=p.get("description"),
        discounts=[],
        ended_at=None,
        items={
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        latest_invoice=None,
        metadata=apply_metadata({}, p.get("metadata") or {}),
        schedule=None,
        start_date=now,
        status="trialing" if trial_end else "incomplete",
        test_clock=cus.get("test_clock"),
        trial_end=trial_end,
        trial_settings=_trial_settings(p.get("trial_settings")),
        trial_start=now if trial_end else None,
    )
    if sub["cancel_at_period_end"]:
        sub["cancellation_details"]["reason"] = "cancellation_requested"
    if sub["default_payment_method"]:
        from .payment_methods import customer_pm

        pm = customer_pm(ctx, cus["id"], sub["default_payment_method"], "default_payment_method")
        sub["default_payment_method"] = pm["id"]
    ctx.coll(COLLECTION).put(sub)
    for spec, price in zip(specs, prices, strict=True):
        q = spec.get("quantity")
        _new_item(ctx, sub, price, 1 if q is None else q, now, (now, end), spec.get("metadata"))
    _sync(ctx, sub)
    mark = len(ctx.events)
    token = _CREATING.set(_CREATING.get() | {sub_id})
    try:
        created_evt = billing.emit(ctx, "customer.subscription.created", sub)
        inv = _subscription_invoice(
            ctx,
            sub,
            now,
            "subscription_create",
            item_lines=True,
            trial=bool(trial_end),
            invoice_period=(now, now),
        )
        sub["latest_invoice"] = inv["id"]
        billing.emit(ctx, "invoice.created", inv)
        if method == "send_invoice":
            invoices.finalize(ctx, inv, now)
            if not trial_end:
                before = dict(sub)
                sub["status"] = "active"
                ctx.coll(COLLECTION).reindex(sub_id, before)
        elif inv["amount_due"] == 0 or behavior != "default_incomplete":
            err = _charge(ctx, inv, now, off_session=bool(p.get("off_session")))
            if err is not None and behavior == "error_if_incomplete":
                _rollback(ctx, sub, inv, mark)
                raise _card_error(err)
        else:
            invoices.finalize(ctx, inv, now)
    finally:
        _CREATING.reset(token)
    if sub["status"] == "incomplete":
        expiry = billing.settings(ctx.state, ctx.account).incomplete_expiry
        billing.set_timer(ctx, "expire_incomplete", sub_id, now + expiry, cus["id"])
    _sync(ctx, sub)
    created_evt["data"]["object"] = jcopy(sub)
    _schedule(ctx, sub, now)
    return sub


def _rollback(ctx: Ctx, sub: dict[str, Any], inv: dict[str, Any], mark: int) -> None:
    """error_if_incomplete: the subscription is not created (its events are withdrawn)."""
    for item in _items(sub):
        ctx.coll(ITEMS).delete(item["id"])
    ctx.coll(COLLECTION).delete(sub["id"])
    for line in inv["lines"]["data"]:
        details = (line.get("parent") or {}).get("invoice_item_details")
        ii = ctx.coll(invoice_items.COLLECTION).get(details["invoice_item"]) if details else None
        if ii is not None:
            old = dict(ii)
            ii["invoice"] = None
            ctx.coll(invoice_items.COLLECTION).reindex(ii["id"], old)
    ctx.coll(invoices.COLLECTION).delete(inv["id"])
    events = ctx.coll("event")
    keep = []
    for evt in ctx.events[mark:]:
        obj = evt["data"]["object"]
        if obj.get("id") in (sub["id"], inv["id"]) or obj.get("object") == "invoiceitem":
            events.delete(evt["id"])
        else:
            keep.append(evt)
    del ctx.events[mark:]
    ctx.events.extend(keep)


# ---------------------------------------------------------------------------
# Engine hooks
# ---------------------------------------------------------------------------


def on_invoice_paid(ctx: Ctx, inv: dict[str, Any], now: int) -> None:
    sub = ctx.coll(COLLECTION).get(inv["subscription"])
    if sub is None or sub["status"] not in ("incomplete", "past_due", "unpaid"):
        return
    old = jcopy(sub)
    trialing = sub.get("trial_end") and sub["trial_end"] > now
    sub["status"] = "trialing" if trialing else "active"
    billing.clear_timer(ctx, "expire_incomplete", sub["id"])
    _save(ctx, sub, old)


def on_invoice_payment_failed(ctx: Ctx, inv: dict[str, Any], now: int, *, final: bool) -> None:
    sub = ctx.coll(COLLECTION).get(inv["subscription"])
    if sub is None or sub["id"] in _CREATING.get() or sub["status"] in ENDED:
        return
    if inv["billing_reason"] == "subscription_create" or sub["status"] == "incomplete":
        return
    if sub["status"] in ("active", "trialing"):
        old = jcopy(sub)
        sub["status"] = "past_due"
        _save(ctx, sub, old)
    if not final or not inv.get("auto_advance"):
        return
    settings = billing.settings(ctx.state, ctx.account)
    if settings.mark_uncollectible_after_dunning and inv["status"] == "open":
        old_inv = dict(inv)
        inv["status"] = "uncollectible"
        inv["status_transitions"]["marked_uncollectible_at"] = now
        ctx.coll(invoices.COLLECTION).reindex(inv["id"], old_inv)
        billing.emit(ctx, "invoice.marked_uncollectible", inv)
    if settings.end_of_dunning == "unpaid":
        old = jcopy(sub)
        sub["status"] = "unpaid"
        _save(ctx, sub, old)
    else:
        cancel_now(ctx, sub, now, "payment_failed")


def cancel_now(ctx: Ctx, sub: dict[str, Any], now: int, reason: str) -> dict[str, Any]:
    """End ``sub`` now (status canceled), stop collecting its invoices, emit ``deleted``."""
    old = jcopy(sub)
    sub.update(status="canceled", ended_at=now, canceled_at=sub.get("canceled_at") or now)
    sub["cancellation_details"] = {**sub["cancellation_details"], "reason": reason}
    for kind in ("period_end", "trial_will_end", "expire_incomplete"):
        billing.clear_timer(ctx, kind, sub["id"])
    for inv in ctx.coll(invoices.COLLECTION).lookup("subscription", sub["id"]):
        if inv["status"] in ("draft", "open") and inv.get("auto_advance"):
            inv["auto_advance"] = False
            inv["next_payment_attempt"] = None
            billing.clear_timer(ctx, "retry", inv["id"])
            billing.clear_timer(ctx, "finalize", inv["id"])
            ctx.coll(invoices.COLLECTION).touch(inv["id"])
    _sync(ctx, sub)
    ctx.coll(COLLECTION).reindex(sub["id"], old)
    billing.emit(ctx, "customer.subscription.deleted", sub, diff(old, sub))
    return sub


def _renew(ctx: Ctx, sub: dict[str, Any], at: int, *, immediate: bool = False) -> None:
    """Start the next period at ``at``: move periods, end a trial, invoice it."""
    old = jcopy(sub)
    old_start, _ = _period(sub)
    interval, count = _cycle(_items(sub)[0]["price"])
    new_end = billing.next_boundary(sub["billing_cycle_anchor"], interval, count, at)
    for item in _items(sub):
        item["current_period_start"] = at
        item["current_period_end"] = new_end
    if sub["status"] in ("trialing", "paused"):
        sub["status"] = "active"
    auto_advance = sub["status"] != "unpaid"
    inv = _subscription_invoice(
        ctx,
        sub,
        at,
        "subscription_update" if immediate else "subscription_cycle",
        item_lines=True,
        invoice_period=(old_start, at),
        auto_advance=auto_advance,
    )
    sub["latest_invoice"] = inv["id"]
    _save(ctx, sub, old)
    billing.emit(ctx, "invoice.created", inv)
    _schedule(ctx, sub, at)
    if immediate:
        _charge(ctx, inv, at, off_session=True)
    elif auto_advance:
        delay = billing.settings(ctx.state, ctx.account).finalize_delay
        inv["automatically_finalizes_at"] = at + delay
        billing.set_timer(ctx, "finalize", inv["id"], at + delay, sub["customer"])


def run_period_end(ctx: Ctx, sub_id: str, at: int) -> None:
    sub = ctx.coll(COLLECTION).get(sub_id)
    if sub is None or sub["status"] in (*ENDED, "incomplete"):
        return
    if sub["cancel_at_period_end"] or (sub.get("cancel_at") and sub["cancel_at"] <= at):
        cancel_now(ctx, sub, at, "cancellation_requested")
        return
    if sub["status"] == "trialing" and _end_trial_without_payment_method(ctx, sub, at):
        return
    _renew(ctx, sub, at)


def run_trial_will_end(ctx: Ctx, sub_id: str, at: int) -> None:
    sub = ctx.coll(COLLECTION).get(sub_id)
    if sub is not None and sub["status"] == "trialing" and (sub.get("trial_end") or 0) > at:
        billing.emit(ctx, "customer.subscription.trial_will_end", sub)


def run_expire_incomplete(ctx: Ctx, sub_id: str, at: int) -> None:
    sub = ctx.coll(COLLECTION).get(sub_id)
    if sub is None or sub["status"] != "incomplete":
        return
    inv = ctx.coll(invoices.COLLECTION).get(sub.get("latest_invoice") or "")
    if inv is not None and inv["status"] == "open":
        invoices.void(ctx, inv, at)
    old = jcopy(sub)
    sub.update(status="incomplete_expired", ended_at=at)
    billing.clear_timer(ctx, "period_end", sub_id)
    _save(ctx, sub, old)


billing.register_handler("period_end", run_period_end)
billing.register_handler("trial_will_end", run_trial_will_end)
billing.register_handler("expire_incomplete", run_expire_incomplete)


# ---------------------------------------------------------------------------
# Item changes and proration
# ---------------------------------------------------------------------------


def _proration_items(
    ctx: Ctx,
    sub: dict[str, Any],
    item: dict[str, Any],
    old: tuple[dict[str, Any], int] | None,
    new: tuple[dict[str, Any], int] | None,
    at: int,
) -> None:
    """Pending invoice items crediting ``old`` and debiting ``new`` for the rest of the period."""
    start, end = int(item["current_period_start"]), int(item["current_period_end"])
    if not start <= at < end:
        return
    cus = ctx.coll("customer").get(sub["customer"]) or {"id": sub["customer"]}
    now = billing.now_for(ctx, sub["customer"])
    date = billing.format_date(at)
    for side, spec in (("Unused", old), ("Remaining", new)):
        if spec is None:
            continue
        price, qty = spec
        full = _amount(price, qty)
        amount = billing.prorate(full, start, end, at)
        if side == "Unused":
            amount = -amount
        if amount == 0 and full == 0:
            continue
        invoice_items.new_item(
            ctx,
            cus,
            now=now,
            amount=amount,
            currency=sub["currency"],
            description=f"{side} time on {qty} {TIMES} {_product_name(ctx, price)} after {date}",
            period=(at, end),
            price=price,
            quantity=qty,
            proration=True,
            subscription=sub["id"],
            subscription_item=item["id"],
        )


def _check_items(
    ctx: Ctx, sub: dict[str, Any], specs: list[dict[str, Any]]
) -> list[dict[str, Any] | None]:
    """Validate ``items[...]`` before anything changes; the new price of each spec (or None)."""
    by_id = {it["id"]: it for it in _items(sub)}
    remaining = set(by_id)
    prices: list[dict[str, Any] | None] = []
    for i, spec in enumerate(specs):
        param = f"items[{i}][price]"
        price = None
        if spec.get("id"):
            item = by_id.get(spec["id"])
            if item is None:
                raise errors.invalid(
                    f"Subscription item {spec['id']} does not exist on subscription {sub['id']}.",
                    f"items[{i}][id]",
                )
            if spec.get("deleted"):
                remaining.discard(item["id"])
            elif spec.get("price") and spec["price"] != item["price"]["id"]:
                price = _price(ctx, spec["price"], param)
                _check_compatible(sub, price, param)
        else:
            price = _price(ctx, spec.get("price"), param)
            _check_compatible(sub, price, param)
            remaining.add(f"new:{i}")
        prices.append(price)
    if not remaining:
        raise errors.invalid("A subscription must have at least one active item.", "items")
    return prices


def _apply_items(
    ctx: Ctx,
    sub: dict[str, Any],
    specs: list[dict[str, Any]],
    behavior: str,
    at: int,
    now: int,
) -> bool:
    """Apply ``items[...]`` changes (validated first); returns True if prorations were created."""
    new_prices = _check_items(ctx, sub, specs)
    prorate = behavior != "none" and sub["status"] != "trialing"
    by_id = {it["id"]: it for it in _items(sub)}
    start, end = _period(sub)
    changed = False
    for spec, new_price in zip(specs, new_prices, strict=True):
        if spec.get("id"):
            item = by_id[spec["id"]]
            before = (item["price"], int(item["quantity"]))
            if spec.get("deleted"):
                if prorate:
                    _proration_items(ctx, sub, item, before, None, at)
                _items(sub).remove(item)
                ctx.coll(ITEMS).delete(item["id"])
                changed = True
                continue
            price = new_price or item["price"]
            qty = int(item["quantity"]) if spec.get("quantity") is None else spec["quantity"]
            if (price["id"], qty) != (before[0]["id"], before[1]):
                if prorate:
                    _proration_items(ctx, sub, item, before, (price, qty), at)
                item["price"] = jcopy(price)
                item["plan"] = _plan(price)
                item["quantity"] = qty
                changed = True
            if spec.get("metadata") is not None:
                item["metadata"] = apply_metadata(item["metadata"], spec["metadata"])
        else:
            assert new_price is not None
            qty = 1 if spec.get("quantity") is None else spec["quantity"]
            item = _new_item(ctx, sub, new_price, qty, now, (start, end), spec.get("metadata"))
            if prorate:
                _proration_items(ctx, sub, item, None, (new_price, qty), at)
            changed = True
    return changed and prorate


def _check_compatible(sub: dict[str, Any], price: dict[str, Any], param: str) -> None:
    if price["currency"] != sub["currency"]:
        raise errors.invalid("Currency of all prices must match for a subscription.", param)
    if _items(sub) and _cycle(price) != _cycle(_items(sub)[0]["price"]):
        raise errors.invalid(
            "Changing the billing interval of a subscription is not supported by this "
            "emulator; all prices must share `recurring.interval` and `interval_count`.",
            param,
        )


def _invoice_prorations_now(
    ctx: Ctx, sub: dict[str, Any], now: int, behavior: str | None
) -> dict[str, Any] | None:
    """always_invoice: invoice the pending prorations at once and charge them."""
    inv = _subscription_invoice(ctx, sub, now, "subscription_update", item_lines=False)
    sub["latest_invoice"] = inv["id"]
    billing.emit(ctx, "invoice.created", inv)
    err = _charge(ctx, inv, now, off_session=True)
    if err is not None and behavior == "error_if_incomplete":
        raise _card_error(err)
    return inv


# ---------------------------------------------------------------------------
# Handlers
# ---------------------------------------------------------------------------


def _get(ctx: Ctx, sub_id: str | None = None) -> dict[str, Any]:
    billing.catch_up(ctx)
    return ctx.get_or_404(COLLECTION, sub_id or ctx.path_params["id"])


def create(ctx: Ctx) -> dict[str, Any]:
    billing.catch_up(ctx)
    return create_subscription(ctx, ctx.params)


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return _get(ctx)


def update(ctx: Ctx) -> dict[str, Any]:
    sub = _get(ctx)
    p = ctx.params
    if sub["status"] in ENDED:
        allowed = {"metadata", "cancellation_details", "expand"}
        if set(p) - allowed:
            raise errors.invalid(
                "A canceled subscription can only update its cancellation_details and metadata."
            )
    now = billing.now_for(ctx, sub["customer"])
    # Validate the scalar params before anything changes (items are checked as applied).
    te = p.get("trial_end")
    if te is not None and te != "now" and te <= now:
        raise errors.invalid(
            "Invalid timestamp: must be an integer Unix timestamp in the future.", "trial_end"
        )
    default_pm = p.get("default_payment_method")
    if default_pm:
        from .payment_methods import customer_pm

        param = "default_payment_method"
        default_pm = customer_pm(ctx, sub["customer"], default_pm, param)["id"]
    old = jcopy(sub)
    behavior = p.get("proration_behavior") or "create_prorations"
    at = p.get("proration_date") or now
    prorated = False
    if p.get("items"):
        prorated = _apply_items(ctx, sub, p["items"], behavior, at, now)
    if "metadata" in p:
        sub["metadata"] = apply_metadata(sub["metadata"], p["metadata"])
    if "description" in p:
        sub["description"] = p["description"]
    if "cancellation_details" in p:
        cd = p["cancellation_details"] or {}
        sub["cancellation_details"] = {**sub["cancellation_details"], **cd}
    if "default_payment_method" in p:
        sub["default_payment_method"] = default_pm
    if p.get("collection_method"):
        sub["collection_method"] = p["collection_method"]
        sub["days_until_due"] = (
            p.get("days_until_due") if p["collection_method"] == ("send_invoice") else None
        )
    _start, end = _period(sub)
    if "cancel_at_period_end" in p:
        if p["cancel_at_period_end"]:
            sub.update(cancel_at_period_end=True, cancel_at=end, canceled_at=now)
            sub["cancellation_details"]["reason"] = "cancellation_requested"
        else:
            sub.update(cancel_at_period_end=False, cancel_at=None, canceled_at=None)
            sub["cancellation_details"]["reason"] = None
    if "cancel_at" in p:
        sub["cancel_at"] = p["cancel_at"]
        sub["cancel_at_period_end"] = p["cancel_at"] is not None and p["cancel_at"] == end
        if p["cancel_at"] is not None and p["cancel_at"] < end:
            billing.set_timer(ctx, "period_end", sub["id"], p["cancel_at"], sub["customer"])
    renew_now = False
    if te is not None:
        if te == "now":
            if sub["status"] == "trialing":
                sub["trial_end"] = now
                sub["billing_cycle_anchor"] = now
                renew_now = True
                billing.clear_timer(ctx, "trial_will_end", sub["id"])
                billing.emit(ctx, "customer.subscription.trial_will_end", sub)
        else:
            sub.update(trial_end=te, billing_cycle_anchor=te)
            if sub["status"] == "trialing" or sub.get("trial_start") is None:
                sub["status"] = "trialing"
                sub["trial_start"] = sub.get("trial_start") or now
                for item in _items(sub):
                    item["current_period_end"] = te
            _schedule(ctx, sub, now)
    if "trial_settings" in p:
        sub["trial_settings"] = _trial_settings(p["trial_settings"])
    if renew_now:
        _save(ctx, sub, old)
        if _end_trial_without_payment_method(ctx, sub, now):
            return sub
        old = jcopy(sub)
        _renew(ctx, sub, now, immediate=True)
    elif prorated and behavior == "always_invoice":
        _invoice_prorations_now(ctx, sub, now, p.get("payment_behavior"))
    return _save(ctx, sub, old)


def resume(ctx: Ctx) -> dict[str, Any]:
    """Resume a paused subscription: a new period from now, invoiced and charged at once
    (``active`` if paid, ``past_due`` if not), then ``customer.subscription.resumed``."""
    sub = _get(ctx)
    if sub["status"] != "paused":
        raise errors.invalid(
            f"You can only resume subscriptions with a status of `paused`. This subscription "
            f"has a status of `{sub['status']}`."
        )
    now = billing.now_for(ctx, sub["customer"])
    sub["billing_cycle_anchor"] = now
    _renew(ctx, sub, now, immediate=True)
    billing.emit(ctx, "customer.subscription.resumed", sub)
    return sub


def cancel(ctx: Ctx) -> dict[str, Any]:
    sub = _get(ctx)
    if sub["status"] in ENDED:
        raise errors.invalid(
            "A canceled subscription can only update its cancellation_details and metadata.",
        )
    p = ctx.params
    now = billing.now_for(ctx, sub["customer"])
    if p.get("prorate") and sub["status"] != "trialing":
        for item in _items(sub):
            _proration_items(ctx, sub, item, (item["price"], int(item["quantity"])), None, now)
    if p.get("cancellation_details"):
        sub["cancellation_details"] = {**sub["cancellation_details"], **p["cancellation_details"]}
    if p.get("invoice_now") and invoices.pending_items(ctx, sub["customer"], sub["id"]):
        inv = _subscription_invoice(ctx, sub, now, "subscription_update", item_lines=False)
        sub["latest_invoice"] = inv["id"]
        billing.emit(ctx, "invoice.created", inv)
        _charge(ctx, inv, now, off_session=True)
    sub["canceled_at"] = now
    return cancel_now(ctx, sub, now, "cancellation_requested")


def list_(ctx: Ctx) -> dict[str, Any]:
    billing.catch_up(ctx)
    p = ctx.params
    eq: dict[str, Any] = {
        k: p[k] for k in ("customer", "collection_method", "test_clock") if p.get(k) is not None
    }
    status = p.get("status")
    if status is None:
        eq["status"] = [s for s in STATUSES if s not in ENDED]
    elif status == "ended":
        eq["status"] = list(ENDED)
    elif status != "all":
        eq["status"] = status
    where = None
    if p.get("price"):
        price_id = p["price"]

        def where(o: dict[str, Any]) -> bool:
            return any(it["price"]["id"] == price_id for it in o["items"]["data"])

    return list_response(ctx, COLLECTION, "/v1/subscriptions", eq=eq, where=where)


# -- subscription items -------------------------------------------------------


def _item_or_404(ctx: Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    billing.catch_up(ctx)
    item = ctx.get_or_404(ITEMS, ctx.path_params["id"])
    sub = ctx.get_or_404(COLLECTION, item["subscription"])
    return item, sub


def _item_change(ctx: Ctx, sub: dict[str, Any], spec: dict[str, Any]) -> None:
    p = ctx.params
    if sub["status"] in ENDED:
        raise errors.invalid("This subscription has been canceled and can no longer be updated.")
    now = billing.now_for(ctx, sub["customer"])
    old = jcopy(sub)
    behavior = p.get("proration_behavior") or "create_prorations"
    prorated = _apply_items(ctx, sub, [spec], behavior, p.get("proration_date") or now, now)
    if prorated and behavior == "always_invoice":
        _invoice_prorations_now(ctx, sub, now, p.get("payment_behavior"))
    _save(ctx, sub, old)


def item_create(ctx: Ctx) -> dict[str, Any]:
    billing.catch_up(ctx)
    p = ctx.params
    sub = ctx.coll(COLLECTION).get(p["subscription"])
    if sub is None:
        raise errors.resource_missing("subscription", p["subscription"], "subscription", 400)
    before = {it["id"] for it in _items(sub)}
    spec = {"price": p["price"], "quantity": p.get("quantity"), "metadata": p.get("metadata")}
    _item_change(ctx, sub, spec)
    return next(it for it in _items(sub) if it["id"] not in before)


def item_retrieve(ctx: Ctx) -> dict[str, Any]:
    return _item_or_404(ctx)[0]


def item_update(ctx: Ctx) -> dict[str, Any]:
    item, sub = _item_or_404(ctx)
    p = ctx.params
    spec = {
        "id": item["id"],
        "price": p.get("price"),
        "quantity": p.get("quantity"),
        "metadata": p.get("metadata"),
    }
    _item_change(ctx, sub, spec)
    return item


def item_delete(ctx: Ctx) -> dict[str, Any]:
    item, sub = _item_or_404(ctx)
    _item_change(ctx, sub, {"id": item["id"], "deleted": True})
    return {"id": item["id"], "object": "subscription_item", "deleted": True}


def item_list(ctx: Ctx) -> dict[str, Any]:
    billing.catch_up(ctx)
    sub_id = ctx.params["subscription"]
    return list_response(ctx, ITEMS, "/v1/subscription_items", eq={"subscription": sub_id})


# -- preview ------------------------------------------------------------------


def preview_invoice(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """``create_preview``: the next invoice (renewal + pending items + requested prorations)."""
    sub = None
    if p.get("subscription"):
        sub = ctx.coll(COLLECTION).get(p["subscription"])
        if sub is None:
            raise errors.resource_missing("subscription", p["subscription"], "subscription", 400)
    cid = p.get("customer") or (sub["customer"] if sub else None)
    if not cid:
        raise errors.parameter_missing("customer")
    cus = invoices.customer_or_400(ctx, cid)
    now = billing.now_for(ctx, cid)
    preview: dict[str, Any] = {}
    inv = invoices.BLANK.new()
    lines: list[dict[str, Any]] = []
    currency = sub["currency"] if sub else (cus.get("currency") or "usd")
    shell = {"id": "", "currency": currency}
    details = p.get("subscription_details") or {}
    if sub is not None and sub["status"] not in ENDED:
        start, end = _period(sub)
        at = details.get("proration_date") or now
        changes = {s.get("id"): s for s in details.get("items") or [] if s.get("id")}
        behavior = details.get("proration_behavior") or "create_prorations"
        for item in _items(sub):
            price, qty = item["price"], int(item["quantity"])
            spec = changes.get(item["id"])
            new = (price, qty)
            if spec is not None:
                if spec.get("deleted"):
                    new = None  # type: ignore[assignment]
                else:
                    np_ = _price(ctx, spec["price"], "price") if spec.get("price") else price
                    new = (np_, qty if spec.get("quantity") is None else spec["quantity"])
            if spec is not None and behavior != "none" and sub["status"] != "trialing":
                for side, s in (("Unused", (price, qty)), ("Remaining", new)):
                    if s is None:
                        continue
                    amt = billing.prorate(_amount(s[0], s[1]), start, end, at)
                    lines.append(
                        invoices.new_line(
                            shell,
                            line_id=ctx.new_id("il_tmp", 24),
                            amount=-amt if side == "Unused" else amt,
                            description=f"{side} time on {s[1]} {TIMES} {_product_name(ctx, s[0])} "
                            f"after {billing.format_date(at)}",
                            period=(at, end),
                            price=s[0],
                            quantity=s[1],
                            proration=True,
                            subscription=sub["id"],
                            subscription_item=item["id"],
                        )
                    )
            if new is not None:
                interval, count = _cycle(new[0])
                nxt = billing.next_boundary(sub["billing_cycle_anchor"], interval, count, end)
                lines.append(
                    invoices.new_line(
                        shell,
                        line_id=ctx.new_id("il_tmp", 24),
                        amount=_amount(*new),
                        description=_line_description(ctx, new[0], new[1], False),
                        period=(end, nxt),
                        price=new[0],
                        quantity=new[1],
                        subscription=sub["id"],
                        subscription_item=item["id"],
                    )
                )
        preview["period"] = (start, end)
    for ii in invoices.pending_items(ctx, cid, sub["id"] if sub else None):
        lines.append(invoices.item_line(ctx, shell, ii))
    inv.update(
        id=f"upcoming_{ctx.new_id('in', 24)}",
        created=now,
        customer=cid,
        customer_email=cus.get("email"),
        customer_name=cus.get("name"),
        currency=currency,
        billing_reason="upcoming",
        collection_method=sub["collection_method"] if sub else "charge_automatically",
        status="draft",
        subscription=sub["id"] if sub else None,
        parent={
            "quote_details": None,
            "subscription_details": {"metadata": dict(sub["metadata"]), "subscription": sub["id"]},
            "type": "subscription_details",
        }
        if sub
        else None,
        lines={
            "object": "list",
            "data": lines,
            "has_more": False,
            "total_count": len(lines),
            "url": "/v1/invoices/upcoming/lines",
        },
        payments={"object": "list", "data": [], "has_more": False, "url": "/v1/invoice_payments"},
        test_clock=cus.get("test_clock"),
        number=None,
        attempt_count=0,
        attempted=False,
        auto_advance=False,
        status_transitions={
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        metadata={},
        **billing.invoice_totals(ln["amount"] for ln in lines),
    )
    for ln in lines:
        ln["invoice"] = inv["id"]
    if "period" in preview:
        inv["period_start"], inv["period_end"] = preview["period"]
        inv["next_payment_attempt"] = (
            preview["period"][1] + billing.settings(ctx.state, ctx.account).finalize_delay
        )
    else:
        inv["period_start"] = inv["period_end"] = now
    return inv


ROUTES = [
    Route("POST", "/v1/subscriptions", create, CREATE_PARAMS),
    Route("GET", "/v1/subscriptions", list_, LIST),
    Route("GET", "/v1/subscriptions/{id}", retrieve),
    Route("POST", "/v1/subscriptions/{id}", update, UPDATE_PARAMS),
    Route("POST", "/v1/subscriptions/{id}/resume", resume, RESUME_PARAMS),
    Route("DELETE", "/v1/subscriptions/{id}", cancel, CANCEL_PARAMS),
    Route("POST", "/v1/subscription_items", item_create, ITEM_CREATE),
    Route("GET", "/v1/subscription_items", item_list, ITEM_LIST),
    Route("GET", "/v1/subscription_items/{id}", item_retrieve),
    Route("POST", "/v1/subscription_items/{id}", item_update, ITEM_UPDATE),
    Route("DELETE", "/v1/subscription_items/{id}", item_delete, ITEM_DELETE),
]

"""Charges: retrieve / update / list (``customer``, ``payment_intent`` filters).

Charges are created only by PaymentIntent confirmation (:func:`record_charge`,
called from :mod:`.payment_intents`), succeeded or failed, with the card
details and ``outcome`` Stripe reports. Refund bookkeeping lives in
:mod:`.refunds`.
"""

from __future__ import annotations

from typing import Any

from .. import billing, cards
from ..common import CREATED_FILTER, LIST_PARAMS, apply_metadata, list_response, update_object
from ..ids import BASE62
from ..routing import Ctx, Route
from ..schema import Enum, Metadata, Obj, Schema, Str
from ..shapes import Blank, jcopy
from . import mandates
from .payment_methods import ASYNC_TYPES, EMPTY_BILLING

COLLECTION = "charge"
PREFIX = "ch"
ID_LENGTH = 24
INDEXES = {COLLECTION: ("customer", "payment_intent")}
EXPANDABLE = {PREFIX: COLLECTION}

UPDATE_PARAMS: Schema = {
    "description": Str(),
    "metadata": Metadata(),
    "receipt_email": Str(),
    "fraud_details": Obj({"user_report": Enum("fraudulent", "safe", emptyable=True)}),
    "transfer_group": Str(),
}
LIST: Schema = {
    **LIST_PARAMS,
    **CREATED_FILTER,
    "customer": Str(),
    "payment_intent": Str(),
    "transfer_group": Str(),
}

BLANK = Blank(
    "charge",
    balance_transaction=None,
    billing_details=EMPTY_BILLING,
    calculated_statement_descriptor="STRIPE EMULATOR",
    description=None,
    metadata={},
    shipping=None,
    source=None,
    transfer_data=None,
    receipt_url=None,
)
# Since API version 2022-11-15 ``refunds`` is only present when expanded.
BLANK.base.pop("refunds", None)
BLANK.nested = [k for k in BLANK.nested if k in BLANK.base]

_SUCCESS_OUTCOME = {
    "advice_code": None,
    "network_advice_code": None,
    "network_decline_code": None,
    "network_status": "approved_by_network",
    "reason": None,
    "risk_level": "normal",
    "seller_message": "Payment complete.",
    "type": "authorized",
}


def card_details(pm: dict[str, Any], amount: int, *, success: bool) -> dict[str, Any]:
    card = pm["card"]
    checks = dict(card["checks"])
    if checks.get("cvc_check") == "unchecked" and success:
        checks["cvc_check"] = "pass"
    return {
        "amount_authorized": amount if success else None,
        "authorization_code": None,
        "brand": card["brand"],
        "checks": checks,
        "country": card["country"],
        "exp_month": card["exp_month"],
        "exp_year": card["exp_year"],
        "extended_authorization": {"status": "disabled"},
        "fingerprint": card["fingerprint"],
        "funding": card["funding"],
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": card["last4"],
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": card["brand"],
        "network_token": {"used": False},
        "network_transaction_id": None,
        "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
        "regulated_status": card.get("regulated_status"),
        "three_d_secure": None,
        "wallet": None,
    }


def method_details(ctx: Ctx, pm: dict[str, Any], amount: int, *, success: bool) -> dict[str, Any]:
    """``payment_method_details`` of a charge of ``pm`` (a debit names its mandate)."""
    kind = pm["type"]
    if kind == "card":
        return {"card": card_details(pm, amount, success=success), "type": "card"}
    details = {k: v for k, v in pm[kind].items() if k != "generated_from"}
    details["mandate"] = mandates.latest_for(ctx, pm["id"])
    return {kind: details, "type": kind}


_PENDING_OUTCOME = {**_SUCCESS_OUTCOME, "risk_level": "not_assessed"}
# How a failing SEPA test debit fails.
DEBIT_FAILURE = (
    "insufficient_funds",
    "The customer's account has insufficient funds to cover this payment.",
)


def settle_charge(ctx: Ctx, ch: dict[str, Any], *, success: bool) -> None:
    """A pending (delayed-notification) charge succeeds or fails."""
    old = dict(ch)
    if success:
        ch.update(status="succeeded", paid=True)
    else:
        ch.update(
            status="failed",
            paid=False,
            captured=False,
            amount_captured=0,
            failure_code=DEBIT_FAILURE[0],
            failure_message=DEBIT_FAILURE[1],
            receipt_url=None,
        )
    ctx.coll(COLLECTION).reindex(ch["id"], old)
    billing.emit(ctx, "charge.succeeded" if success else "charge.failed", ch)


def record_charge(
    ctx: Ctx,
    pi: dict[str, Any],
    pm: dict[str, Any],
    decline: cards.Decline | None,
    *,
    capture: bool,
) -> dict[str, Any]:
    """Store the charge for one confirmation attempt of ``pi``; emit charge.succeeded/failed."""
    cid = ctx.new_id(PREFIX, ID_LENGTH)
    success = decline is None
    pending = success and pm["type"] in ASYNC_TYPES
    amount = pi["amount"]
    risk = ctx.state.rng.randint(0, 64) if decline is None or decline.risk_level == "normal" else 95
    ch = BLANK.new(
        id=cid,
        created=ctx.state.now_for(pi.get("customer"), ctx.account),
        amount=amount,
        amount_captured=amount if success and capture else 0,
        amount_refunded=0,
        billing_details=dict(pm["billing_details"]),
        captured=success and capture,
        currency=pi["currency"],
        customer=pi.get("customer"),
        description=pi.get("description"),
        failure_code=None if decline is None else decline.code,
        failure_message=None if decline is None else decline.message,
        metadata=dict(pi.get("metadata") or {}),
        outcome=(
            (dict(_PENDING_OUTCOME) if pending else {**_SUCCESS_OUTCOME, "risk_score": risk})
            if decline is None
            else decline.outcome(risk)
        ),
        paid=success and not pending,
        payment_intent=pi["id"],
        payment_method=pm["id"],
        payment_method_details=method_details(ctx, pm, amount, success=success),
        receipt_email=pi.get("receipt_email"),
        receipt_url=(
            f"https://pay.stripe.com/receipts/payment/{ctx.state.ids.token(BASE62, 96)}"
            if success
            else None
        ),
        refunded=False,
        statement_descriptor=pi.get("statement_descriptor"),
        statement_descriptor_suffix=pi.get("statement_descriptor_suffix"),
        shipping=jcopy(pi["shipping"]) if pi.get("shipping") else None,
        status=("pending" if pending else "succeeded") if success else "failed",
        transfer_group=pi.get("transfer_group"),
    )
    ctx.coll(COLLECTION).put(ch)
    if pending:
        ctx.emit("charge.pending", ch)
    else:
        ctx.emit("charge.succeeded" if success else "charge.failed", ch)
    return ch


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def update(ctx: Ctx) -> dict[str, Any]:
    ch = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    p = ctx.params
    changes: dict[str, Any] = {k: p[k] for k in ("description", "receipt_email") if k in p}
    if "transfer_group" in p:
        changes["transfer_group"] = p["transfer_group"]
    if "metadata" in p:
        changes["metadata"] = apply_metadata(ch.get("metadata") or {}, p["metadata"])
    fd = p.get("fraud_details")
    if fd and fd.get("user_report"):
        changes["fraud_details"] = {**(ch.get("fraud_details") or {}), **fd}
    return update_object(ctx, COLLECTION, ch, changes, "charge.updated")


def list_(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    eq = {k: p[k] for k in ("customer", "payment_intent") if p.get(k) is not None}
    where = None
    if p.get("transfer_group") is not None:
        tg = p["transfer_group"]

        def where(o: dict[str, Any]) -> bool:
            return bool(o.get("transfer_group") == tg)

    return list_response(ctx, COLLECTION, "/v1/charges", eq=eq, where=where)


ROUTES = [
    Route("GET", "/v1/charges", list_, LIST),
    Route("GET", "/v1/charges/{id}", retrieve),
    Route("POST", "/v1/charges/{id}", update, UPDATE_PARAMS),
]

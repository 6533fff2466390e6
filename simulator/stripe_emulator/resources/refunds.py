"""Refunds: create (by ``charge`` or ``payment_intent``, full or partial) / retrieve /
update / cancel / list, and the charge's ``amount_refunded`` / ``refunded`` bookkeeping.

Card refunds succeed immediately (status ``succeeded``); refunding more than
remains on the charge is refused with Stripe's 400.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..common import (
    CREATED_FILTER,
    LIST_PARAMS,
    apply_metadata,
    list_response,
    update_object,
)
from ..routing import Ctx, Route
from ..schema import Bool, Enum, Int, Metadata, Schema, Str
from ..shapes import Blank
from . import charges, payment_intents

COLLECTION = "refund"
PREFIX = "re"
ID_LENGTH = 24
INDEXES = {COLLECTION: ("charge", "payment_intent")}
EXPANDABLE = {PREFIX: COLLECTION}

CREATE_PARAMS: Schema = {
    "charge": Str(),
    "payment_intent": Str(),
    "amount": Int(min_value=1),
    "reason": Enum("duplicate", "fraudulent", "requested_by_customer"),
    "metadata": Metadata(),
    "instructions_email": Str(),
    "refund_application_fee": Bool(),
    "reverse_transfer": Bool(),
}
UPDATE_PARAMS: Schema = {"metadata": Metadata()}
LIST: Schema = {**LIST_PARAMS, **CREATED_FILTER, "charge": Str(), "payment_intent": Str()}

BLANK = Blank(
    "refund",
    balance_transaction=None,
    customer_account=None,
    destination_details={
        "card": {
            "reference": None,
            "reference_status": "pending",
            "reference_type": "acquirer_reference_number",
            "type": "refund",
        },
        "type": "card",
    },
    metadata={},
    reason=None,
    receipt_number=None,
    source_transfer_reversal=None,
    transfer_reversal=None,
)


def _money(amount: int, currency: str) -> str:
    text = payment_intents._money(amount, currency)
    return text.rsplit(" ", 1)[0]


def _charge_for(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    ch_id, pi_id = p.get("charge"), p.get("payment_intent")
    if ch_id is None and pi_id is None:
        raise errors.invalid(
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            code="parameter_missing",
        )
    pi = None
    if pi_id is not None:
        pi = ctx.coll(payment_intents.COLLECTION).get(pi_id)
        if pi is None:
            raise errors.resource_missing("payment_intent", pi_id, "payment_intent", status=400)
    if ch_id is not None:
        ch = ctx.coll(charges.COLLECTION).get(ch_id)
        if ch is None:
            raise errors.resource_missing("charge", ch_id, "charge", status=400)
        if pi is not None and ch.get("payment_intent") != pi["id"]:
            raise errors.invalid(
                f"The charge {ch_id} does not belong to the PaymentIntent {pi_id}.", "charge"
            )
        return ch
    assert pi is not None
    ch = ctx.coll(charges.COLLECTION).get(pi.get("latest_charge") or "")
    if ch is None or pi["status"] not in ("succeeded", "requires_capture"):
        raise errors.invalid(
            f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
            "payment_intent",
        )
    return ch


def create(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    ch = _charge_for(ctx, p)
    if ch["status"] != "succeeded":
        raise errors.invalid(
            f"Charge {ch['id']} has a status of {ch['status']} and cannot be refunded.", "charge"
        )
    if not ch["captured"]:
        raise errors.invalid(
            f"Charge {ch['id']} has not been captured. Cancel its PaymentIntent to release "
            "the authorization instead.",
            "charge",
        )
    remaining = ch["amount"] - ch["amount_refunded"]
    if remaining <= 0:
        raise errors.invalid(
            f"Charge {ch['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = p.get("amount", remaining)
    if amount > remaining:
        cur = ch["currency"]
        if ch["amount_refunded"]:
            msg = (
                f"Refund amount ({_money(amount, cur)}) is greater than unrefunded amount on "
                f"charge ({_money(remaining, cur)})"
            )
        else:
            msg = (
                f"Refund amount ({_money(amount, cur)}) is greater than charge amount "
                f"({_money(ch['amount'], cur)})"
            )
        raise errors.invalid(msg, "amount", "amount_too_large")
    refund = BLANK.new(
        id=ctx.new_id(PREFIX, ID_LENGTH),
        created=ctx.state.now_for(ch.get("customer"), ctx.account),
        amount=amount,
        charge=ch["id"],
        currency=ch["currency"],
        customer=ch.get("customer"),
        metadata=apply_metadata({}, p.get("metadata") or {}),
        payment_intent=ch.get("payment_intent"),
        payment_method=ch.get("payment_method"),
        reason=p.get("reason"),
        status="succeeded",
    )
    ctx.coll(COLLECTION).put(refund)
    ctx.emit("refund.created", refund)
    refunded = ch["amount_refunded"] + amount
    update_object(
        ctx,
        charges.COLLECTION,
        ch,
        {"amount_refunded": refunded, "refunded": refunded >= ch["amount"]},
        "charge.refunded",
    )
    return refund


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def update(ctx: Ctx) -> dict[str, Any]:
    refund = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    changes: dict[str, Any] = {}
    if "metadata" in ctx.params:
        changes["metadata"] = apply_metadata(refund.get("metadata") or {}, ctx.params["metadata"])
    before = len(ctx.events)
    update_object(ctx, COLLECTION, refund, changes, "refund.updated")
    if len(ctx.events) > before:
        prev = ctx.events[-1]["data"].get("previous_attributes")
        ctx.emit("charge.refund.updated", refund, previous_attributes=prev)
    return refund


def cancel(ctx: Ctx) -> dict[str, Any]:
    refund = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    raise errors.invalid(
        f"Refund {refund['id']} cannot be canceled because it has a status of "
        f"{refund['status']}. Only a refund with a status of `requires_action` can be "
        "canceled."
    )


def list_(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    eq = {k: p[k] for k in ("charge", "payment_intent") if p.get(k) is not None}
    return list_response(ctx, COLLECTION, "/v1/refunds", eq=eq)


ROUTES = [
    Route("POST", "/v1/refunds", create, CREATE_PARAMS),
    Route("GET", "/v1/refunds", list_, LIST),
    Route("GET", "/v1/refunds/{id}", retrieve),
    Route("POST", "/v1/refunds/{id}", update, UPDATE_PARAMS),
    Route("POST", "/v1/refunds/{id}/cancel", cancel),
]

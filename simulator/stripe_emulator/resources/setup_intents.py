"""SetupIntents: create / retrieve / update / confirm / cancel / list.

Owns the setup state machine (requires_payment_method -> requires_confirmation
-> succeeded, or back to requires_payment_method with ``last_setup_error`` when
the card fails validation; canceled). Success attaches the PaymentMethod to
the intent's customer, as Stripe does.
"""

from __future__ import annotations

from typing import Any

from .. import cards, errors
from ..cards import CardError, ObjectError
from ..common import CREATED_FILTER, LIST_PARAMS, apply_metadata, list_response
from ..ids import BASE62
from ..routing import Ctx, Route
from ..schema import Bool, Enum, ListOf, Metadata, Obj, Schema, Str
from ..shapes import Blank, jcopy
from . import payment_methods
from .payment_methods import belongs_check, customer_or_400

COLLECTION = "setup_intent"
PREFIX = "seti"
ID_LENGTH = 24
INDEXES = {COLLECTION: ("customer", "payment_method")}
EXPANDABLE = {PREFIX: COLLECTION}

UNEXPECTED_STATE = "setup_intent_unexpected_state"
CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
USAGE = Enum("off_session", "on_session")

_COMMON: Schema = {
    "customer": Str(),
    "description": Str(max_length=1000),
    "metadata": Metadata(),
    "payment_method": Str(),
    "payment_method_types": ListOf(Str()),
    "flow_directions": ListOf(Enum("inbound", "outbound")),
    "attach_to_self": Bool(),
}
CREATE_PARAMS: Schema = {
    **_COMMON,
    "usage": USAGE,
    "confirm": Bool(),
    "return_url": Str(),
    "use_stripe_sdk": Bool(),
    "automatic_payment_methods": Obj(
        {"enabled": Bool(required=True), "allow_redirects": Enum("always", "never")}
    ),
}
UPDATE_PARAMS: Schema = dict(_COMMON)
CONFIRM_PARAMS: Schema = {"payment_method": Str(), "return_url": Str(), "use_stripe_sdk": Bool()}
CANCEL_PARAMS: Schema = {
    "cancellation_reason": Enum("abandoned", "duplicate", "requested_by_customer"),
}
LIST: Schema = {
    **LIST_PARAMS,
    **CREATED_FILTER,
    "customer": Str(),
    "payment_method": Str(),
    "attach_to_self": Bool(),
}

BLANK = Blank(
    "setup_intent",
    automatic_payment_methods=None,
    cancellation_reason=None,
    flow_directions=None,
    last_setup_error=None,
    latest_attempt=None,
    mandate=None,
    metadata={},
    next_action=None,
    payment_method_configuration_details=None,
    payment_method_options={
        "card": {"mandate_options": None, "network": None, "request_three_d_secure": "automatic"}
    },
    single_use_mandate=None,
    excluded_payment_method_types=None,
)


def _state_error(si: dict[str, Any], message: str) -> errors.StripeError:
    return ObjectError(errors.invalid(message, code=UNEXPECTED_STATE), setup_intent=jcopy(si))


def _resolve_pm(ctx: Ctx, pm_id: str | None, customer: str | None) -> dict[str, Any] | None:
    if pm_id is None:
        return None
    pm = payment_methods.resolve(ctx, pm_id)
    belongs_check(pm, customer, "SetupIntent")
    return pm


def _save(ctx: Ctx, si: dict[str, Any], old: dict[str, Any]) -> None:
    ctx.coll(COLLECTION).reindex(si["id"], old)


def _confirm(ctx: Ctx, si: dict[str, Any], pm: dict[str, Any]) -> dict[str, Any]:
    old = dict(si)
    decline = cards.decline_on_attach(pm)
    if decline is not None:
        err = decline.error(payment_method=jcopy(pm))
        si.update(status="requires_payment_method", last_setup_error=err, payment_method=None)
        _save(ctx, si, old)
        ctx.emit("setup_intent.setup_failed", si)
        raise CardError({**err, "setup_intent": jcopy(si)})
    if cards.requires_auth(pm):
        from .payment_intents import request_action

        si.update(status="requires_action", last_setup_error=None, payment_method=pm["id"])
        request_action(ctx, si)
        _save(ctx, si, old)
        ctx.emit("setup_intent.requires_action", si)
        return si
    if si.get("customer"):
        payment_methods.attach(ctx, pm, si["customer"], validate=False)
    payment_methods.mark_cvc_pass(ctx, pm)
    si.update(status="succeeded", last_setup_error=None, payment_method=pm["id"], next_action=None)
    _save(ctx, si, old)
    ctx.emit("setup_intent.succeeded", si)
    return si


def create(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    if p.get("automatic_payment_methods") is not None and p.get("payment_method_types"):
        raise errors.parameters_exclusive("automatic_payment_methods", "payment_method_types")
    customer = p.get("customer")
    if customer is not None:
        customer_or_400(ctx, customer)
    pm = _resolve_pm(ctx, p.get("payment_method"), customer)
    sid = ctx.new_id(PREFIX, ID_LENGTH)
    apm: dict[str, Any] | None = None
    pmc: dict[str, Any] | None = None
    types = p.get("payment_method_types")
    if not types:
        apm = {
            "allow_redirects": "always",
            "enabled": True,
            **(p.get("automatic_payment_methods") or {}),
        }
        if apm["enabled"]:
            pmc = {"id": "pmc_" + ctx.account.id.split("_", 1)[-1].ljust(24, "0"), "parent": None}
        else:
            apm = None
        types = ["card"]
    si = BLANK.new(
        id=sid,
        created=ctx.state.now_for(customer, ctx.account),
        client_secret=f"{sid}_secret_{ctx.state.ids.token(BASE62, 32)}",
        customer=customer,
        description=p.get("description"),
        metadata=apply_metadata({}, p.get("metadata") or {}),
        automatic_payment_methods=apm,
        payment_method_configuration_details=pmc,
        payment_method_types=types,
        payment_method=pm["id"] if pm else None,
        usage=p.get("usage") or "off_session",
        flow_directions=p.get("flow_directions") or None,
        status="requires_confirmation" if pm else "requires_payment_method",
    )
    ctx.coll(COLLECTION).put(si)
    ctx.emit("setup_intent.created", si)
    if p.get("confirm"):
        if pm is None:
            raise _missing_pm(si)
        return _confirm(ctx, si, pm)
    return si


def confirm_for_customer(ctx: Ctx, *, customer: str | None, payment_method: str) -> dict[str, Any]:
    """A SetupIntent confirmed at once (what a completed ``mode=setup`` Checkout leaves)."""
    pm = ctx.get_or_404(payment_methods.COLLECTION, payment_method, "payment_method")
    sid = ctx.new_id(PREFIX, ID_LENGTH)
    si = BLANK.new(
        id=sid,
        created=ctx.state.now_for(customer, ctx.account),
        client_secret=f"{sid}_secret_{ctx.state.ids.token(BASE62, 32)}",
        customer=customer,
        description=None,
        payment_method_types=["card"],
        payment_method=pm["id"],
        usage="off_session",
        status="requires_confirmation",
    )
    ctx.coll(COLLECTION).put(si)
    ctx.emit("setup_intent.created", si)
    return _confirm(ctx, si, pm)


def _missing_pm(si: dict[str, Any]) -> errors.StripeError:
    return _state_error(
        si,
        "You cannot confirm this SetupIntent because it's missing a payment method. You can "
        "either update the SetupIntent with a payment method and then confirm it again, or "
        "confirm it again directly with a payment method.",
    )


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def update(ctx: Ctx) -> dict[str, Any]:
    si = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    p = ctx.params
    restricted = set(p) - {"description", "metadata", "expand"}
    if restricted and si["status"] in ("succeeded", "canceled"):
        raise _state_error(
            si,
            f"You cannot update this SetupIntent because it has a status of {si['status']}.",
        )
    customer = p["customer"] if "customer" in p else si.get("customer")
    if p.get("customer") is not None:
        customer_or_400(ctx, p["customer"])
    pm = _resolve_pm(ctx, p.get("payment_method"), customer)
    old = jcopy(si)
    si["customer"] = customer
    if "description" in p:
        si["description"] = p["description"]
    if "metadata" in p:
        si["metadata"] = apply_metadata(si.get("metadata") or {}, p["metadata"])
    if p.get("payment_method_types"):
        si["payment_method_types"] = p["payment_method_types"]
        si["automatic_payment_methods"] = None
        si["payment_method_configuration_details"] = None
    if p.get("flow_directions"):
        si["flow_directions"] = p["flow_directions"]
    if "payment_method" in p:
        si["payment_method"] = pm["id"] if pm else None
        si["status"] = "requires_confirmation" if pm else "requires_payment_method"
    _save(ctx, si, old)
    return si


def confirm(ctx: Ctx) -> dict[str, Any]:
    si = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    status = si["status"]
    if status not in CANCELABLE:
        raise _state_error(
            si,
            f"You cannot confirm this SetupIntent because it has a status of {status}. "
            "Only a SetupIntent with one of the following statuses may be confirmed: "
            "requires_payment_method, requires_confirmation, requires_action.",
        )
    pm = _resolve_pm(ctx, ctx.params.get("payment_method"), si.get("customer"))
    if pm is None:
        if si["payment_method"] is None:
            raise _missing_pm(si)
        pm = ctx.get_or_404(payment_methods.COLLECTION, si["payment_method"], "payment_method")
    return _confirm(ctx, si, pm)


def cancel(ctx: Ctx) -> dict[str, Any]:
    si = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    if si["status"] not in CANCELABLE:
        raise _state_error(
            si,
            f"You cannot cancel this SetupIntent because it has a status of {si['status']}. "
            "Only a SetupIntent with one of the following statuses may be canceled: "
            f"{', '.join(CANCELABLE)}.",
        )
    old = dict(si)
    si.update(status="canceled", cancellation_reason=ctx.params.get("cancellation_reason"))
    _save(ctx, si, old)
    ctx.emit("setup_intent.canceled", si)
    return si


def list_(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    eq = {k: p[k] for k in ("customer", "payment_method") if p.get(k) is not None}
    return list_response(ctx, COLLECTION, "/v1/setup_intents", eq=eq)


ROUTES = [
    Route("POST", "/v1/setup_intents", create, CREATE_PARAMS),
    Route("GET", "/v1/setup_intents", list_, LIST),
    Route("GET", "/v1/setup_intents/{id}", retrieve),
    Route("POST", "/v1/setup_intents/{id}", update, UPDATE_PARAMS),
    Route("POST", "/v1/setup_intents/{id}/confirm", confirm, CONFIRM_PARAMS),
    Route("POST", "/v1/setup_intents/{id}/cancel", cancel, CANCEL_PARAMS),
]

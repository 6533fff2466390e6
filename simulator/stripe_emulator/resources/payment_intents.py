"""PaymentIntents: create / retrieve / update / confirm / capture / cancel / list.

Owns the card payment state machine (requires_payment_method ->
requires_confirmation -> requires_capture | succeeded, or back to
requires_payment_method with ``last_payment_error`` on a decline; canceled)
and :func:`charge_customer`, the in-process entry point billing code uses to
charge a customer off-session with exactly the objects and events of the
HTTP path.
"""

from __future__ import annotations

from typing import Any

from .. import billing, cards, errors
from ..cards import CardError, ObjectError
from ..common import CREATED_FILTER, LIST_PARAMS, apply_metadata, list_response
from ..ids import BASE62
from ..routing import Ctx, Route
from ..schema import Bool, Enum, Int, ListOf, Metadata, Obj, Schema, Str
from ..shapes import Blank, jcopy
from . import charges, mandates, payment_methods
from .payment_methods import belongs_check, customer_or_400

COLLECTION = "payment_intent"
PREFIX = "pi"
ID_LENGTH = 24
INDEXES = {COLLECTION: ("customer",)}
EXPANDABLE = {PREFIX: COLLECTION}

UNEXPECTED_STATE = "payment_intent_unexpected_state"
# Smallest chargeable amount per currency (Stripe's minimum charge amounts).
MINIMUMS = {
    "usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50, "nzd": 50,
    "sgd": 50, "hkd": 400, "jpy": 50, "sek": 300, "nok": 300, "dkk": 250, "pln": 200,
    "mxn": 1000, "brl": 50, "inr": 50,
}  # fmt: skip
ZERO_DECIMAL = frozenset({"jpy", "krw", "vnd", "clp", "pyg", "ugx", "xaf", "xof", "bif", "djf"})
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
UPDATABLE = ("requires_payment_method", "requires_confirmation", "requires_action")

AUTOMATIC_PMS = Obj({"enabled": Bool(required=True), "allow_redirects": Enum("always", "never")})
CARD_OPTIONS = Obj(
    {
        "card": Obj(
            {
                "request_three_d_secure": Enum("any", "automatic", "challenge"),
                "setup_future_usage": Enum("none", "off_session", "on_session", emptyable=True),
                "capture_method": Enum("manual", emptyable=True),
            }
        )
    }
)
SFU = Enum("off_session", "on_session", emptyable=True)
_ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
# ``shipping``: address and name required; "" unsets it (create, update, confirm).
SHIPPING = Obj(
    {
        "address": Obj({k: Str() for k in _ADDRESS_FIELDS}, required=True),
        "name": Str(required=True),
        "carrier": Str(),
        "phone": Str(),
        "tracking_number": Str(),
    }
)
CAPTURE_METHOD = Enum("automatic", "automatic_async", "manual")

_COMMON: Schema = {
    "description": Str(max_length=1000),
    "metadata": Metadata(),
    "receipt_email": Str(),
    "setup_future_usage": SFU,
    "payment_method": Str(),
    "payment_method_types": ListOf(Str()),
    "payment_method_options": CARD_OPTIONS,
    "statement_descriptor": Str(max_length=22),
    "statement_descriptor_suffix": Str(max_length=22),
    "capture_method": CAPTURE_METHOD,
    "transfer_group": Str(),
    "shipping": SHIPPING,
}
CONFIRM_OPTS: Schema = {
    "off_session": Bool(),
    "return_url": Str(),
    "error_on_requires_action": Bool(),
    "use_stripe_sdk": Bool(),
    "mandate_data": mandates.MANDATE_DATA,
}
CREATE_PARAMS: Schema = {
    **_COMMON,
    **CONFIRM_OPTS,
    "amount": Int(required=True, min_value=1),
    "currency": Str(required=True),
    "customer": Str(),
    "confirm": Bool(),
    "confirmation_method": Enum("automatic", "manual"),
    "automatic_payment_methods": AUTOMATIC_PMS,
}
UPDATE_PARAMS: Schema = {
    **_COMMON,
    "amount": Int(min_value=1),
    "currency": Str(),
    "customer": Str(),
}
CONFIRM_PARAMS: Schema = {
    **CONFIRM_OPTS,
    "payment_method": Str(),
    "receipt_email": Str(),
    "setup_future_usage": SFU,
    "payment_method_types": ListOf(Str()),
    "payment_method_options": CARD_OPTIONS,
    "capture_method": CAPTURE_METHOD,
    "shipping": SHIPPING,
}
CAPTURE_PARAMS: Schema = {
    "amount_to_capture": Int(min_value=1),
    "metadata": Metadata(),
    "statement_descriptor": Str(max_length=22),
    "statement_descriptor_suffix": Str(max_length=22),
    "final_capture": Bool(),
}
CANCEL_PARAMS: Schema = {
    "cancellation_reason": Enum("duplicate", "fraudulent", "requested_by_customer", "abandoned"),
}
LIST: Schema = {**LIST_PARAMS, **CREATED_FILTER, "customer": Str()}

BLANK = Blank(
    "payment_intent",
    amount_capturable=0,
    amount_details={"tip": {}},
    amount_received=0,
    automatic_payment_methods=None,
    canceled_at=None,
    cancellation_reason=None,
    confirmation_method="automatic",
    customer_account=None,
    last_payment_error=None,
    latest_charge=None,
    managed_payments=None,
    metadata={},
    next_action=None,
    payment_method_configuration_details=None,
    payment_method_options={},
    processing=None,
    shipping=None,
    transfer_data=None,
)
_CARD_PM_OPTIONS = {
    "installments": None,
    "mandate_options": None,
    "network": None,
    "request_three_d_secure": "automatic",
}
NO_PAYMENT_METHOD = (
    "This customer has no attached payment source or default payment method. Please consider "
    "adding a default payment method. For more information, visit "
    "https://docs.stripe.com/billing/subscriptions/payment-methods-setting"
    "#payment-method-priority."
)


def shipping(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A validated ``shipping`` param as Stripe stores it (every key present)."""
    if value is None:
        return None
    return {
        "address": {**dict.fromkeys(_ADDRESS_FIELDS), **(value.get("address") or {})},
        "carrier": value.get("carrier"),
        "name": value.get("name"),
        "phone": value.get("phone"),
        "tracking_number": value.get("tracking_number"),
    }


def _money(amount: int, currency: str) -> str:
    text = f"{amount}" if currency in ZERO_DECIMAL else f"{amount / 100:.2f}"
    return ("$" + text if currency == "usd" else text) + f" {currency}"


def _check_amount(amount: int, currency: str) -> None:
    minimum = MINIMUMS.get(currency)
    if minimum is not None and amount < minimum:
        raise errors.invalid(
            f"Amount must be at least {_money(minimum, currency)}", "amount", "amount_too_small"
        )


def _currency(value: str) -> str:
    cur = value.lower()
    if len(cur) != 3 or not cur.isalpha():
        raise errors.invalid(f"Invalid currency: {value}.", "currency")
    return cur


def _state_error(pi: dict[str, Any], message: str) -> errors.StripeError:
    return ObjectError(errors.invalid(message, code=UNEXPECTED_STATE), payment_intent=jcopy(pi))


def _options(ctx: Ctx, pi: dict[str, Any], opts: dict[str, Any] | None) -> None:
    card = dict(pi["payment_method_options"].get("card") or _CARD_PM_OPTIONS)
    for k, v in ((opts or {}).get("card") or {}).items():
        card[k] = v
    pi["payment_method_options"] = {"card": card}


def new_intent(
    ctx: Ctx,
    *,
    amount: int,
    currency: str,
    customer: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    capture_method: str = "automatic_async",
    payment_method_types: list[str] | None = None,
    automatic_payment_methods: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Store a new PaymentIntent (status requires_payment_method) and emit .created."""
    pid = ctx.new_id(PREFIX, ID_LENGTH)
    apm: dict[str, Any] | None = None
    pmc: dict[str, Any] | None = None
    if payment_method_types is None:
        apm = {"allow_redirects": "always", "enabled": True, **(automatic_payment_methods or {})}
        if apm["enabled"]:
            pmc = {"id": "pmc_" + ctx.account.id.split("_", 1)[-1].ljust(24, "0"), "parent": None}
        else:
            apm = None
        payment_method_types = ["card"]
    pi = BLANK.new(
        id=pid,
        created=ctx.state.now_for(customer, ctx.account),
        amount=amount,
        currency=currency,
        customer=customer,
        description=description,
        metadata=dict(metadata or {}),
        capture_method=capture_method,
        automatic_payment_methods=apm,
        payment_method_configuration_details=pmc,
        payment_method_types=payment_method_types,
        payment_method_options={"card": dict(_CARD_PM_OPTIONS)},
        client_secret=f"{pid}_secret_{ctx.state.ids.token(BASE62, 25)}",
        payment_method=None,
        receipt_email=None,
        setup_future_usage=None,
        statement_descriptor=None,
        statement_descriptor_suffix=None,
        transfer_group=None,
        review=None,
        source=None,
        status="requires_payment_method",
    )
    pi.update(fields)
    if pi["payment_method"] is not None:
        pi["status"] = "requires_confirmation"
    ctx.coll(COLLECTION).put(pi)
    ctx.emit("payment_intent.created", pi)
    return pi


def _save(ctx: Ctx, pi: dict[str, Any], old: dict[str, Any]) -> None:
    ctx.coll(COLLECTION).reindex(pi["id"], old)


def request_action(ctx: Ctx, intent: dict[str, Any]) -> None:
    """Put ``next_action`` (3D Secure) on a Payment/SetupIntent going to ``requires_action``."""
    source = "src_" + ctx.state.ids.token(BASE62, 24)
    secret = "src_client_secret_" + ctx.state.ids.token(BASE62, 24)
    intent["next_action"] = cards.next_action(source, secret, ctx.params.get("return_url"))


def attempt(
    ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any], *, off_session: bool = False
) -> dict[str, Any] | None:
    """Charge ``pm`` for ``pi``: records the charge, updates ``pi`` and emits events.

    Returns None on success (or ``requires_action``: a card needing 3D Secure,
    on-session), else the error dict (also stored as ``last_payment_error``).
    Off-session, such a card declines ``authentication_required``.
    """
    decline = cards.decline_on_charge(pm)
    capture = pi["capture_method"] != "manual"
    old = dict(pi)
    pi["next_action"] = None
    if decline is None and cards.requires_auth(pm):
        if off_session:
            decline = cards.AUTH_REQUIRED
        else:
            pi.update(status="requires_action", last_payment_error=None, payment_method=pm["id"])
            request_action(ctx, pi)
            _save(ctx, pi, old)
            ctx.emit("payment_intent.requires_action", pi)
            return None
    if decline is None and pi.get("setup_future_usage") and pi.get("customer"):
        payment_methods.attach(ctx, pm, pi["customer"], validate=False)
    ch = charges.record_charge(ctx, pi, pm, decline, capture=capture)
    pi["latest_charge"] = ch["id"]
    if decline is None and pm["type"] in payment_methods.ASYNC_TYPES:
        pi.update(status="processing", last_payment_error=None, payment_method=pm["id"])
        _save(ctx, pi, old)
        ctx.emit("payment_intent.processing", pi)
        at = ctx.state.now_for(pi.get("customer"), ctx.account)
        delay = billing.settings(ctx.state, ctx.account).async_payment_delay
        delay = max(delay, payment_methods.settle_after(pm))
        billing.set_timer(ctx, "settle", pi["id"], at + delay, pi.get("customer"))
        return None
    if decline is not None:
        err = decline.error(charge=ch["id"], payment_method=jcopy(pm))
        pi.update(status="requires_payment_method", last_payment_error=err, payment_method=None)
        _save(ctx, pi, old)
        ctx.emit("payment_intent.payment_failed", pi)
        return err
    payment_methods.mark_cvc_pass(ctx, pm)
    pi.update(last_payment_error=None, payment_method=pm["id"])
    if capture:
        pi.update(status="succeeded", amount_received=pi["amount"], amount_capturable=0)
        _save(ctx, pi, old)
        ctx.emit("payment_intent.succeeded", pi)
    else:
        pi.update(status="requires_capture", amount_capturable=pi["amount"])
        _save(ctx, pi, old)
        ctx.emit("payment_intent.amount_capturable_updated", pi)
    return None


def run_settle(ctx: Ctx, pi_id: str, at: int) -> None:
    """A delayed-notification payment settles: charge and intent succeed, or fail
    (the intent back to ``requires_payment_method``); Checkout and invoices follow."""
    pi = ctx.coll(COLLECTION).get(pi_id)
    if pi is None or pi["status"] != "processing":
        return
    pm = ctx.coll(payment_methods.COLLECTION).get(pi["payment_method"] or "")
    ch = ctx.coll(charges.COLLECTION).get(pi["latest_charge"] or "")
    success = pm is None or payment_methods.settles(pm)
    if ch is not None:
        charges.settle_charge(ctx, ch, success=success)
    old = dict(pi)
    if success:
        pi.update(status="succeeded", amount_received=pi["amount"])
        _save(ctx, pi, old)
        billing.emit(ctx, "payment_intent.succeeded", pi)
    else:
        code, message = charges.DEBIT_FAILURE
        err = {
            "charge": pi["latest_charge"],
            "code": code,
            "decline_code": None,
            "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
            "message": message,
            "payment_method": jcopy(pm),
            "type": errors.CARD_ERROR,
        }
        pi.update(status="requires_payment_method", last_payment_error=err, payment_method=None)
        _save(ctx, pi, old)
        billing.emit(ctx, "payment_intent.payment_failed", pi)
    from . import checkout_sessions, invoices

    checkout_sessions.on_payment_settled(ctx, pi, success=success)
    invoices.on_payment_settled(ctx, pi, at, success=success)


billing.register_handler("settle", run_settle)


def settle_due(ctx: Ctx, obj: dict[str, Any]) -> dict[str, Any]:
    """Run due settlements after a request that confirmed a payment; returns the response
    as it was before (Stripe answers ``processing``; the settlement follows)."""
    out = jcopy(obj)
    billing.catch_up(ctx)
    return out


def charge_customer(
    ctx: Ctx,
    *,
    customer: str,
    amount: int,
    currency: str,
    payment_method: str | None,
    off_session: bool = True,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    invoice: str | None = None,
    shipping_details: dict[str, Any] | None = None,
    payment_method_types: list[str] | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Create and confirm a PaymentIntent for the customer.

    ``payment_method`` None -> the customer's
    ``invoice_settings.default_payment_method``, then the most recently
    attached card. Returns ``(payment_intent, error)``: error is None on
    success, else the Stripe error dict ``{type, code, decline_code, message,
    doc_url, param?, charge?, payment_method?}`` for a decline, or an
    ``invalid_request_error`` dict when there is no usable payment method (the
    intent is then left ``requires_payment_method`` with no charge). Never
    raises for a decline; records the same objects and events as the HTTP
    path. Raises ``StripeError`` (404) only for an unknown customer.

    ``invoice`` is accepted for the caller's bookkeeping: in this API version
    PaymentIntents and Charges carry no ``invoice`` field, so it only sets the
    default description ("Payment for Invoice"). ``shipping_details`` is a
    validated ``shipping`` param (Checkout's ``payment_intent_data[shipping]``).
    """
    cus = ctx.get_or_404("customer", customer, "customer")
    if description is None and invoice is not None:
        description = "Payment for Invoice"
    pi = new_intent(
        ctx,
        amount=amount,
        currency=currency.lower(),
        customer=customer,
        description=description,
        metadata=metadata,
        payment_method_types=payment_method_types or ["card"],
        shipping=shipping(shipping_details),
    )
    pm_id = payment_method or (cus.get("invoice_settings") or {}).get("default_payment_method")
    if pm_id is None:
        newest, _ = ctx.coll(payment_methods.COLLECTION).page(limit=1, eq={"customer": customer})
        pm_id = newest[0]["id"] if newest else None
    if pm_id is None:
        return pi, {
            "code": None,
            "decline_code": None,
            "message": NO_PAYMENT_METHOD,
            "type": errors.INVALID_REQUEST,
        }
    try:
        pm = payment_methods.resolve(ctx, pm_id)
        belongs_check(pm, customer, "PaymentIntent")
    except errors.StripeError as e:
        err = e.body()["error"]
        err.setdefault("code", None)
        err.setdefault("decline_code", None)
        return pi, err
    old = dict(pi)
    pi.update(payment_method=pm["id"], status="requires_confirmation")
    _save(ctx, pi, old)
    return pi, attempt(ctx, pi, pm, off_session=off_session)


# -- HTTP handlers -------------------------------------------------------------


def _apply_common(ctx: Ctx, pi: dict[str, Any], p: dict[str, Any]) -> None:
    for k in (
        "description",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_group",
    ):
        if k in p:
            pi[k] = p[k]
    if "setup_future_usage" in p:
        pi["setup_future_usage"] = p["setup_future_usage"]
    if p.get("capture_method"):
        pi["capture_method"] = p["capture_method"]
    if p.get("payment_method_types"):
        pi["payment_method_types"] = p["payment_method_types"]
        pi["automatic_payment_methods"] = None
        pi["payment_method_configuration_details"] = None
    if "payment_method_options" in p:
        _options(ctx, pi, p["payment_method_options"])
    if "metadata" in p:
        pi["metadata"] = apply_metadata(pi.get("metadata") or {}, p["metadata"])
    if "shipping" in p:
        pi["shipping"] = shipping(p["shipping"])


def _resolve_pm(ctx: Ctx, pm_id: str | None, customer: str | None) -> dict[str, Any] | None:
    """Validate a ``payment_method`` param before anything is mutated."""
    if pm_id is None:
        return None
    pm = payment_methods.resolve(ctx, pm_id)
    belongs_check(pm, customer, "PaymentIntent")
    return pm


def _confirm(ctx: Ctx, pi: dict[str, Any]) -> dict[str, Any]:
    """Confirm a stored intent whose ``payment_method`` is set; raise a 402 on decline.

    A ``sepa_debit`` PaymentMethod confirmed with ``mandate_data`` gets a Mandate.
    """
    pm = ctx.get_or_404(payment_methods.COLLECTION, pi["payment_method"], "payment_method")
    off_session = bool(ctx.params.get("off_session") or ctx.params.get("error_on_requires_action"))
    data = ctx.params.get("mandate_data")
    if data and pm["type"] in payment_methods.ASYNC_TYPES:
        single = None if pi.get("setup_future_usage") else (pi["amount"], pi["currency"])
        accepted = mandates.acceptance(ctx, data["customer_acceptance"], pi.get("customer"))
        mandates.create_for(ctx, pm, accepted, single_use=single)
    err = attempt(ctx, pi, pm, off_session=off_session)
    if err is not None:
        raise CardError({**err, "payment_intent": jcopy(pi)})
    return pi


def _missing_pm(pi: dict[str, Any]) -> errors.StripeError:
    return _state_error(
        pi,
        "You cannot confirm this PaymentIntent because it's missing a payment method. You can "
        "either update the PaymentIntent with a payment method and then confirm it again, or "
        "confirm it again directly with a payment method.",
    )


def create(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    currency = _currency(p["currency"])
    _check_amount(p["amount"], currency)
    if p.get("automatic_payment_methods") is not None and p.get("payment_method_types"):
        raise errors.parameters_exclusive("automatic_payment_methods", "payment_method_types")
    for name in ("off_session", "mandate_data"):
        if p.get(name) is not None and not p.get("confirm"):
            raise errors.invalid(
                f"You may only specify `{name}` when `confirm` is set to true.", name
            )
    if p.get("customer") is not None:
        customer_or_400(ctx, p["customer"])
    pm = None
    if p.get("payment_method") is not None:
        pm = payment_methods.resolve(ctx, p["payment_method"])
        belongs_check(pm, p.get("customer"), "PaymentIntent")
    pi = new_intent(
        ctx,
        amount=p["amount"],
        currency=currency,
        customer=p.get("customer"),
        description=p.get("description"),
        metadata=apply_metadata({}, p.get("metadata") or {}),
        capture_method=p.get("capture_method") or "automatic_async",
        payment_method_types=p.get("payment_method_types") or None,
        automatic_payment_methods=p.get("automatic_payment_methods"),
        payment_method=pm["id"] if pm else None,
        confirmation_method=p.get("confirmation_method") or "automatic",
        receipt_email=p.get("receipt_email"),
        setup_future_usage=p.get("setup_future_usage"),
        statement_descriptor=p.get("statement_descriptor"),
        statement_descriptor_suffix=p.get("statement_descriptor_suffix"),
        transfer_group=p.get("transfer_group"),
        shipping=shipping(p.get("shipping")),
    )
    if "payment_method_options" in p:
        _options(ctx, pi, p["payment_method_options"])
    if p.get("confirm"):
        if pm is None:
            raise _missing_pm(pi)
        return settle_due(ctx, _confirm(ctx, pi))
    return pi


def retrieve(ctx: Ctx) -> dict[str, Any]:
    billing.catch_up(ctx)
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def update(ctx: Ctx) -> dict[str, Any]:
    pi = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    p = ctx.params
    restricted = set(p) - {"description", "metadata", "receipt_email", "expand"}
    if restricted and pi["status"] not in UPDATABLE:
        raise _state_error(
            pi,
            f"You cannot update this PaymentIntent because it has a status of {pi['status']}. "
            "Updates are only allowed when the PaymentIntent has one of the following "
            f"statuses: {', '.join(UPDATABLE)}.",
        )
    currency = _currency(p["currency"]) if p.get("currency") else pi["currency"]
    if p.get("amount") is not None:
        _check_amount(p["amount"], currency)
    customer = p["customer"] if "customer" in p else pi.get("customer")
    if p.get("customer") is not None:
        customer_or_400(ctx, p["customer"])
    pm = _resolve_pm(ctx, p.get("payment_method"), customer)
    old = jcopy(pi)
    pi["currency"] = currency
    pi["customer"] = customer
    if p.get("amount") is not None:
        pi["amount"] = p["amount"]
    _apply_common(ctx, pi, p)
    if "payment_method" in p:
        pi["payment_method"] = pm["id"] if pm else None
        pi["status"] = "requires_confirmation" if pm else "requires_payment_method"
    _save(ctx, pi, old)
    return pi


def confirm(ctx: Ctx) -> dict[str, Any]:
    pi = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    p = ctx.params
    status = pi["status"]
    if status == "succeeded":
        raise _state_error(
            pi,
            "You cannot confirm this PaymentIntent because it has already succeeded after "
            "being previously confirmed.",
        )
    if status not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        raise _state_error(
            pi,
            f"You cannot confirm this PaymentIntent because it has a status of {status}. "
            "Only a PaymentIntent with one of the following statuses may be confirmed: "
            "requires_payment_method, requires_confirmation, requires_action.",
        )
    pm = _resolve_pm(ctx, p.get("payment_method"), pi.get("customer"))
    if pm is None and pi["payment_method"] is None:
        raise _missing_pm(pi)
    old = jcopy(pi)
    _apply_common(ctx, pi, p)
    if pm is not None:
        pi["payment_method"] = pm["id"]
    pi["status"] = "requires_confirmation"
    _save(ctx, pi, old)
    return settle_due(ctx, _confirm(ctx, pi))


def capture(ctx: Ctx) -> dict[str, Any]:
    pi = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    p = ctx.params
    if pi["status"] != "requires_capture":
        raise _state_error(
            pi,
            f"This PaymentIntent could not be captured because it has a status of "
            f"{pi['status']}. Only a PaymentIntent with one of the following statuses may be "
            "captured: requires_capture.",
        )
    capturable = pi["amount_capturable"]
    amount = p.get("amount_to_capture", capturable)
    if amount > capturable:
        raise ObjectError(
            errors.invalid(
                "The amount to capture cannot be greater than the amount capturable "
                f"({_money(capturable, pi['currency'])}).",
                "amount_to_capture",
                "amount_too_large",
            ),
            payment_intent=jcopy(pi),
        )
    old = dict(pi)
    for k in ("statement_descriptor", "statement_descriptor_suffix"):
        if k in p:
            pi[k] = p[k]
    if "metadata" in p:
        pi["metadata"] = apply_metadata(pi.get("metadata") or {}, p["metadata"])
    ch = ctx.coll(charges.COLLECTION).get(pi["latest_charge"])
    if ch is not None:
        ch_old = dict(ch)
        ch.update(captured=True, amount_captured=amount, amount_refunded=ch["amount"] - amount)
        ctx.coll(charges.COLLECTION).reindex(ch["id"], ch_old)
        ctx.emit(
            "charge.captured",
            ch,
            previous_attributes={
                "amount_captured": ch_old["amount_captured"],
                "captured": False,
                "amount_refunded": ch_old["amount_refunded"],
            },
        )
    pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
    _save(ctx, pi, old)
    ctx.emit("payment_intent.succeeded", pi)
    return pi


def cancel(ctx: Ctx) -> dict[str, Any]:
    pi = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    if pi["status"] not in CANCELABLE:
        raise _state_error(
            pi,
            f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. "
            "Only a PaymentIntent with one of the following statuses may be canceled: "
            f"{', '.join(CANCELABLE)}.",
        )
    old = dict(pi)
    if pi["status"] == "requires_capture" and pi.get("latest_charge"):
        ch = ctx.coll(charges.COLLECTION).get(pi["latest_charge"])
        if ch is not None:
            ch_old = dict(ch)
            ch.update(amount_refunded=ch["amount"], refunded=True)
            ctx.coll(charges.COLLECTION).reindex(ch["id"], ch_old)
            ctx.emit(
                "charge.refunded",
                ch,
                previous_attributes={"amount_refunded": 0, "refunded": False},
            )
    pi.update(
        status="canceled",
        next_action=None,
        canceled_at=ctx.now(),
        cancellation_reason=ctx.params.get("cancellation_reason"),
        amount_capturable=0,
    )
    _save(ctx, pi, old)
    ctx.emit("payment_intent.canceled", pi)
    return pi


def list_(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    eq = {"customer": p["customer"]} if p.get("customer") is not None else None
    return list_response(ctx, COLLECTION, "/v1/payment_intents", eq=eq)


ROUTES = [
    Route("POST", "/v1/payment_intents", create, CREATE_PARAMS),
    Route("GET", "/v1/payment_intents", list_, LIST),
    Route("GET", "/v1/payment_intents/{id}", retrieve),
    Route("POST", "/v1/payment_intents/{id}", update, UPDATE_PARAMS),
    Route("POST", "/v1/payment_intents/{id}/confirm", confirm, CONFIRM_PARAMS),
    Route("POST", "/v1/payment_intents/{id}/capture", capture, CAPTURE_PARAMS),
    Route("POST", "/v1/payment_intents/{id}/cancel", cancel, CANCEL_PARAMS),
]

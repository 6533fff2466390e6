"""PaymentMethods (cards, SEPA debits): create / retrieve / update / list / attach / detach.

Also ``GET /v1/customers/{id}/payment_methods[/{pm}]`` and the helpers other
payment resources use: :func:`resolve` (a ``pm_`` id or a ``pm_card_*`` test
token, which mints a fresh PaymentMethod like Stripe) and :func:`attach`.
"""

from __future__ import annotations

import datetime
from typing import Any

from .. import cards, errors
from ..common import LIST_PARAMS, apply_metadata, list_response, update_object
from ..routing import Ctx, Route
from ..schema import ADDRESS, Enum, Int, Metadata, Obj, Schema, Str
from ..shapes import Blank, jcopy

COLLECTION = "payment_method"
PREFIX = "pm"
ID_LENGTH = 24
INDEXES = {COLLECTION: ("customer", "type")}
EXPANDABLE = {PREFIX: COLLECTION}

BILLING_DETAILS = Obj(
    {"address": ADDRESS, "email": Str(), "name": Str(), "phone": Str(), "tax_id": Str()}
)
ALLOW_REDISPLAY = Enum("always", "limited", "unspecified")

CREATE_PARAMS: Schema = {
    "type": Str(required=True),
    "card": Obj(
        {
            "number": Str(),
            "exp_month": Int(),
            "exp_year": Int(),
            "cvc": Str(),
            "networks": Obj({"preferred": Str()}),
            "token": Str(),
        }
    ),
    "sepa_debit": Obj({"iban": Str(required=True)}),
    "billing_details": BILLING_DETAILS,
    "metadata": Metadata(),
    "allow_redisplay": ALLOW_REDISPLAY,
    "customer": Str(),
    "payment_method": Str(),
}
UPDATE_PARAMS: Schema = {
    "billing_details": BILLING_DETAILS,
    "metadata": Metadata(),
    "allow_redisplay": ALLOW_REDISPLAY,
    "card": Obj({"exp_month": Int(), "exp_year": Int(), "networks": Obj({"preferred": Str()})}),
}
LIST: Schema = {**LIST_PARAMS, "customer": Str(), "type": Str()}
CUSTOMER_LIST: Schema = {**LIST_PARAMS, "type": Str(), "allow_redisplay": ALLOW_REDISPLAY}
ATTACH_PARAMS: Schema = {"customer": Str(required=True)}

_EMPTY_ADDRESS = {k: None for k in ("city", "country", "line1", "line2", "postal_code", "state")}
EMPTY_BILLING = {
    "address": dict(_EMPTY_ADDRESS),
    "email": None,
    "name": None,
    "phone": None,
    "tax_id": None,
}

BLANK = Blank(
    "payment_method",
    billing_details=EMPTY_BILLING,
    metadata={},
    customer=None,
    customer_account=None,
    allow_redisplay="unspecified",
)
_CARD_BASE: dict[str, Any] = {
    "brand": "visa",
    "checks": {
        "address_line1_check": None,
        "address_postal_code_check": None,
        "cvc_check": None,
    },
    "country": "US",
    "display_brand": "visa",
    "exp_month": 12,
    "exp_year": 2030,
    "fingerprint": "",
    "funding": "credit",
    "generated_from": None,
    "last4": "4242",
    "networks": {"available": ["visa"], "preferred": None},
    "regulated_status": "unregulated",
    "three_d_secure_usage": {"supported": True},
    "wallet": None,
}


# Delayed-notification types: a charge stays pending (PaymentIntent ``processing``)
# until it settles (see ``payment_intents.settle``).
ASYNC_TYPES = frozenset({"sepa_debit"})
# Stripe's failing SEPA test IBANs (processing -> requires_payment_method); any other
# valid IBAN settles successfully (AT611904300234573201 is the usual succeeding one).
SEPA_FAILING = frozenset({"AT861904300235473202", "IT60X0542811101000000123456"})
# Test IBANs whose debit settles only after at least three minutes (seconds).
SEPA_SLOW = {"AT321904300235473204": 180}


def _sepa_fingerprint(iban: str) -> str:
    return cards.fingerprint("sepa:" + iban)


_SEPA_FAILING_FINGERPRINTS = frozenset(_sepa_fingerprint(i) for i in SEPA_FAILING)
_SEPA_SLOW_FINGERPRINTS = {_sepa_fingerprint(i): s for i, s in SEPA_SLOW.items()}


def _sepa_fp(pm: dict[str, Any]) -> str | None:
    fp: str | None = (pm.get("sepa_debit") or {}).get("fingerprint")
    return fp


def settles(pm: dict[str, Any]) -> bool:
    """Whether a debit from this (delayed-notification) PaymentMethod succeeds."""
    return _sepa_fp(pm) not in _SEPA_FAILING_FINGERPRINTS


def settle_after(pm: dict[str, Any]) -> int:
    """The least time (seconds) a debit from this PaymentMethod takes to settle."""
    return _SEPA_SLOW_FINGERPRINTS.get(_sepa_fp(pm) or "", 0)


def iban_ok(iban: str) -> bool:
    """ISO 13616: two letters, two check digits, then letters/digits; mod 97 == 1."""
    if not 15 <= len(iban) <= 34 or not iban.isascii() or not iban.isalnum():
        return False
    if not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def sepa_details(iban: str) -> dict[str, Any]:
    return {
        "bank_code": iban[4:9],
        "branch_code": "",
        "country": iban[:2],
        "fingerprint": _sepa_fingerprint(iban),
        "generated_from": {"charge": None, "setup_attempt": None},
        "last4": iban[-4:],
    }


def _card_error(message: str, code: str, param: str) -> errors.StripeError:
    return errors.StripeError(402, errors.CARD_ERROR, message, code=code, param=param)


def _year_month(ctx: Ctx) -> tuple[int, int]:
    d = datetime.datetime.fromtimestamp(ctx.now(), tz=datetime.UTC)
    return d.year, d.month


def _check_expiry(ctx: Ctx, month: int, year: int, prefix: str) -> None:
    if not 1 <= month <= 12:
        raise _card_error(
            "Your card's expiration month is invalid.", "invalid_expiry_month", f"{prefix}exp_month"
        )
    if year < 100:
        year += 2000
    now_y, now_m = _year_month(ctx)
    if year < now_y or year > now_y + 50:
        raise _card_error(
            "Your card's expiration year is invalid.", "invalid_expiry_year", f"{prefix}exp_year"
        )
    if (year, month) < (now_y, now_m):
        raise _card_error(
            "Your card's expiration month is invalid.", "invalid_expiry_month", f"{prefix}exp_month"
        )


def card_details(number: str, exp_month: int, exp_year: int, cvc: str | None) -> dict[str, Any]:
    tc = cards.card_for_number(number)
    card = dict(_CARD_BASE)
    card["checks"] = {**_CARD_BASE["checks"], "cvc_check": "unchecked" if cvc else None}
    card.update(
        brand=tc.brand,
        display_brand=tc.brand.replace("amex", "american_express"),
        country=tc.country,
        exp_month=exp_month,
        exp_year=exp_year if exp_year >= 100 else exp_year + 2000,
        fingerprint=cards.fingerprint(number),
        funding=tc.funding,
        last4=number[-4:],
        networks={"available": [tc.brand], "preferred": None},
    )
    return card


def _new_pm(
    ctx: Ctx, details: dict[str, Any], pm_type: str = "card", **fields: Any
) -> dict[str, Any]:
    pm = BLANK.new(id=ctx.new_id(PREFIX, ID_LENGTH), created=ctx.now(), type=pm_type)
    pm.pop("card")
    pm[pm_type] = details
    pm.update(fields)
    ctx.coll(COLLECTION).put(pm)
    return pm


def from_token(ctx: Ctx, token: str) -> dict[str, Any] | None:
    """A fresh PaymentMethod for a ``pm_card_*`` test token (None if not a token)."""
    number = cards.token_number(token)
    if number is None:
        return None
    y, m = _year_month(ctx)
    return _new_pm(ctx, card_details(number, m, y + 1, "123"))


def _billing(value: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any]:
    out = {**EMPTY_BILLING, **current}
    if value is None:
        return {**EMPTY_BILLING, "address": dict(_EMPTY_ADDRESS)}
    for k, v in value.items():
        if k == "address":
            out["address"] = dict(_EMPTY_ADDRESS) if v is None else {**out["address"], **v}
        else:
            out[k] = v
    return out


def resolve(ctx: Ctx, pm_id: str, param: str = "payment_method") -> dict[str, Any]:
    """The stored PaymentMethod ``pm_id`` (tokens mint a new one); 400 if unknown."""
    pm = ctx.coll(COLLECTION).get(pm_id)
    if pm is not None:
        return pm
    pm = from_token(ctx, pm_id)
    if pm is None:
        raise errors.StripeError(
            400,
            errors.INVALID_REQUEST,
            f"No such PaymentMethod: '{pm_id}'",
            code="resource_missing",
            param=param,
        )
    return pm


def customer_or_400(ctx: Ctx, cid: str, param: str = "customer") -> dict[str, Any]:
    cus = ctx.coll("customer").get(cid)
    if cus is None:
        raise errors.resource_missing("customer", cid, param, status=400)
    return cus


def mark_cvc_pass(ctx: Ctx, pm: dict[str, Any]) -> None:
    card = pm.get("card")
    if card and card["checks"].get("cvc_check") == "unchecked":
        card["checks"]["cvc_check"] = "pass"
        ctx.coll(COLLECTION).touch(pm["id"])


def attach(ctx: Ctx, pm: dict[str, Any], customer_id: str, *, validate: bool = True) -> None:
    """Attach ``pm`` to ``customer_id`` (idempotent for the same customer).

    With ``validate`` the card is checked like Stripe does on attach: cards
    that decline raise a 402 ``card_error`` (see :mod:`..cards`).
    """
    current = pm.get("customer")
    if current == customer_id:
        return
    if current is not None:
        raise errors.invalid(
            "The payment method you provided has already been attached to a customer.",
            "payment_method",
        )
    if validate:
        decline = cards.decline_on_attach(pm)
        if decline is not None:
            raise cards.CardError(decline.error())
    mark_cvc_pass(ctx, pm)
    old = dict(pm)
    pm["customer"] = customer_id
    ctx.coll(COLLECTION).reindex(pm["id"], old)
    ctx.emit("payment_method.attached", pm)


def belongs_check(pm: dict[str, Any], customer_id: str | None, what: str) -> None:
    """Stripe refuses a PaymentMethod attached to another customer (or to one, without it)."""
    owner = pm.get("customer")
    if owner is None or owner == customer_id:
        return
    if customer_id is None:
        raise errors.invalid(
            f"The provided PaymentMethod ({pm['id']}) is attached to a Customer. To use it "
            f"with this {what}, please also provide the `customer` it is attached to.",
            "payment_method",
        )
    raise errors.invalid(
        f"The provided PaymentMethod ({pm['id']}) belongs to a different Customer than the "
        f"one on this {what} ({customer_id}).",
        "payment_method",
    )


def check_default_pm(ctx: Ctx, customer_id: str, pm_id: str | None) -> None:
    """Validate ``invoice_settings[default_payment_method]`` like Stripe (for customers.py):
    the PaymentMethod must exist and be attached to the customer."""
    if pm_id is None:
        return
    param = "invoice_settings[default_payment_method]"
    pm = ctx.coll(COLLECTION).get(pm_id)
    if pm is None:
        raise errors.resource_missing("PaymentMethod", pm_id, param, status=400)
    if pm.get("customer") != customer_id:
        raise errors.invalid(
            f"The customer does not have a payment method with the ID {pm_id}. The payment "
            "method must be attached to the customer.",
            param,
            "resource_missing",
        )


def customer_pm(ctx: Ctx, customer_id: str, pm_id: str, param: str) -> dict[str, Any]:
    """A PaymentMethod given as a customer's default elsewhere (a subscription's
    ``default_payment_method``): a ``pm_card_*`` token mints one and attaches it
    to the customer (card checks included); a ``pm_`` id must already be attached
    to that customer."""
    pm = ctx.coll(COLLECTION).get(pm_id)
    if pm is None:
        pm = from_token(ctx, pm_id)
        if pm is None:
            raise errors.resource_missing("PaymentMethod", pm_id, param, status=400)
        attach(ctx, pm, customer_id)
        return pm
    if pm.get("customer") != customer_id:
        raise errors.invalid(
            f"The customer does not have a payment method with the ID {pm_id}. The payment "
            "method must be attached to the customer.",
            param,
            "resource_missing",
        )
    return pm


# -- handlers ----------------------------------------------------------------


def create(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    if p.get("payment_method") is not None:
        # Cloning a customer's PaymentMethod (Connect); keep the shape simple.
        src = resolve(ctx, p["payment_method"])
        kind = src["type"]
        return _new_pm(ctx, jcopy(src[kind]), kind, billing_details=jcopy(src["billing_details"]))
    if p["type"] not in ("card", "sepa_debit"):
        raise errors.invalid(
            f"The payment method type provided: {p['type']} is invalid. This emulator "
            "supports card and sepa_debit PaymentMethods only.",
            "type",
        )
    if p["type"] == "sepa_debit":
        return _create_sepa(ctx, p)
    card_p = p.get("card")
    if not card_p:
        raise errors.parameter_missing("card")
    token = card_p.get("token")
    if token is not None:
        number = cards.token_number(token.replace("tok_", "pm_card_", 1))
        if number is None:
            raise errors.resource_missing("token", token, "card[token]", status=400)
        y, m = _year_month(ctx)
        card = card_details(number, m, y + 1, "123")
    else:
        for f in ("number", "exp_month", "exp_year"):
            if card_p.get(f) is None:
                raise errors.parameter_missing(f"card[{f}]")
        number = card_p["number"].replace(" ", "")
        if not cards.luhn_ok(number):
            raise _card_error("Your card number is incorrect.", "incorrect_number", "card[number]")
        _check_expiry(ctx, card_p["exp_month"], card_p["exp_year"], "card[")
        cvc = card_p.get("cvc")
        want = 4 if cards.card_for_number(number).brand == "amex" else 3
        if cvc is not None and (not cvc.isdigit() or len(cvc) not in (3, want)):
            raise _card_error("Your card's security code is invalid.", "invalid_cvc", "card[cvc]")
        card = card_details(number, card_p["exp_month"], card_p["exp_year"], cvc)
    pm = _new_pm(ctx, card, **_fields(p))
    if p.get("customer"):
        customer_or_400(ctx, p["customer"])
        attach(ctx, pm, p["customer"])
    return pm


def _fields(p: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "billing_details" in p:
        fields["billing_details"] = _billing(p["billing_details"] or {}, EMPTY_BILLING)
    if "metadata" in p:
        fields["metadata"] = apply_metadata({}, p["metadata"])
    if p.get("allow_redisplay"):
        fields["allow_redisplay"] = p["allow_redisplay"]
    return fields


def _create_sepa(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    sepa_p = p.get("sepa_debit")
    if not sepa_p:
        raise errors.parameter_missing("sepa_debit")
    iban = sepa_p["iban"].replace(" ", "").upper()
    if not iban_ok(iban):
        raise errors.invalid(
            "The IBAN you provided appears to be invalid.",
            "sepa_debit[iban]",
            "invalid_bank_account_iban",
        )
    if p.get("customer"):
        customer_or_400(ctx, p["customer"])
    pm = _new_pm(ctx, sepa_details(iban), "sepa_debit", **_fields(p))
    if p.get("customer"):
        attach(ctx, pm, p["customer"])
    return pm


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def update(ctx: Ctx) -> dict[str, Any]:
    pm = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    p = ctx.params
    if pm.get("customer") is None:
        raise errors.invalid(
            "You must save this PaymentMethod to a customer before you can update it."
        )
    ch: dict[str, Any] = {}
    if "metadata" in p:
        ch["metadata"] = apply_metadata(pm.get("metadata") or {}, p["metadata"])
    if "billing_details" in p:
        ch["billing_details"] = _billing(p["billing_details"], pm["billing_details"])
    if p.get("allow_redisplay"):
        ch["allow_redisplay"] = p["allow_redisplay"]
    card_p = p.get("card") or {}
    if card_p and pm["type"] != "card":
        raise errors.invalid(
            f"You cannot update the card details of a {pm['type']} PaymentMethod.", "card"
        )
    if card_p.get("exp_month") is not None or card_p.get("exp_year") is not None:
        month = card_p.get("exp_month") or pm["card"]["exp_month"]
        year = card_p.get("exp_year") or pm["card"]["exp_year"]
        _check_expiry(ctx, month, year, "card[")
        ch["card"] = {**pm["card"], "exp_month": month, "exp_year": year}
    return update_object(ctx, COLLECTION, pm, ch, "payment_method.updated")


def list_(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    eq = {k: p[k] for k in ("customer", "type") if p.get(k) is not None}
    return list_response(ctx, COLLECTION, "/v1/payment_methods", eq=eq)


def attach_handler(ctx: Ctx) -> dict[str, Any]:
    pm = ctx.coll(COLLECTION).get(ctx.path_params["id"]) or from_token(ctx, ctx.path_params["id"])
    if pm is None:
        raise errors.StripeError(
            404,
            errors.INVALID_REQUEST,
            f"No such PaymentMethod: '{ctx.path_params['id']}'",
            code="resource_missing",
            param="payment_method",
        )
    customer_or_400(ctx, ctx.params["customer"])
    attach(ctx, pm, ctx.params["customer"])
    return pm


def detach(ctx: Ctx, pm: dict[str, Any]) -> None:
    """Detach ``pm`` from its customer, clearing it as the customer's default."""
    cid = pm["customer"]
    old = dict(pm)
    pm["customer"] = None
    ctx.coll(COLLECTION).reindex(pm["id"], old)
    cus = ctx.coll("customer").get(cid)
    if cus is not None and cus["invoice_settings"].get("default_payment_method") == pm["id"]:
        settings = {**cus["invoice_settings"], "default_payment_method": None}
        update_object(ctx, "customer", cus, {"invoice_settings": settings}, "customer.updated")
    ctx.emit("payment_method.detached", pm, previous_attributes={"customer": cid})


def detach_handler(ctx: Ctx) -> dict[str, Any]:
    pm = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    if pm.get("customer") is None:
        raise errors.invalid(
            "The payment method you provided is not attached to a customer so detachment "
            "is impossible."
        )
    detach(ctx, pm)
    return pm


def customer_list(ctx: Ctx) -> dict[str, Any]:
    cid = ctx.path_params["customer"]
    ctx.get_or_404("customer", cid, "customer")
    p = ctx.params
    eq: dict[str, Any] = {"customer": cid}
    if p.get("type") is not None:
        eq["type"] = p["type"]
    where = None
    if p.get("allow_redisplay"):
        want = p["allow_redisplay"]

        def where(o: dict[str, Any]) -> bool:
            return bool(o.get("allow_redisplay") == want)

    return list_response(
        ctx, COLLECTION, f"/v1/customers/{cid}/payment_methods", eq=eq, where=where
    )


def customer_retrieve(ctx: Ctx) -> dict[str, Any]:
    cid = ctx.path_params["customer"]
    ctx.get_or_404("customer", cid, "customer")
    pm = ctx.coll(COLLECTION).get(ctx.path_params["id"])
    if pm is None or pm.get("customer") != cid:
        raise errors.StripeError(
            404,
            errors.INVALID_REQUEST,
            f"Customer {cid} does not have a PaymentMethod with ID {ctx.path_params['id']}",
            code="resource_missing",
            param="payment_method",
        )
    return pm


ROUTES = [
    Route("POST", "/v1/payment_methods", create, CREATE_PARAMS),
    Route("GET", "/v1/payment_methods", list_, LIST),
    Route("GET", "/v1/payment_methods/{id}", retrieve),
    Route("POST", "/v1/payment_methods/{id}", update, UPDATE_PARAMS),
    Route("POST", "/v1/payment_methods/{id}/attach", attach_handler, ATTACH_PARAMS),
    Route("POST", "/v1/payment_methods/{id}/detach", detach_handler),
    Route("GET", "/v1/customers/{customer}/payment_methods", customer_list, CUSTOMER_LIST),
    Route("GET", "/v1/customers/{customer}/payment_methods/{id}", customer_retrieve),
]

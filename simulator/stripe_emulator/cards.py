"""Test card catalogue: Stripe's test card numbers and ``pm_card_*`` tokens, and card errors.

A card's behaviour is a property of its number. The PaymentMethod stores only
what Stripe shows (brand, last4, fingerprint, ...); the fingerprint is derived
from the number, so :func:`card_for_fingerprint` recovers the behaviour later
without any hidden state on stored objects.

* ``attach_decline``: declined when attached / set up (Stripe validates the
  card then) and when charged.
* ``charge_decline``: declined only when charged (e.g. ``4000000000000341``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from . import errors
from .ids import BASE62


@dataclass(frozen=True)
class Decline:
    code: str  # card_declined | expired_card | incorrect_cvc | processing_error | ...
    decline_code: str
    message: str
    param: str | None = None
    seller_message: str = "The bank did not return any further details with this decline."
    outcome_type: str = "issuer_declined"
    network_status: str = "declined_by_network"
    risk_level: str = "normal"
    outcome_reason: str | None = None  # default: decline_code

    def error(self, **extra: Any) -> dict[str, Any]:
        """The Stripe error dict (as in ``last_payment_error``) with ``extra`` merged in."""
        err: dict[str, Any] = {
            "code": self.code,
            "decline_code": self.decline_code,
            "doc_url": errors.DOC_BASE + self.code.replace("_", "-"),
            "message": self.message,
        }
        if self.param is not None:
            err["param"] = self.param
        err["type"] = errors.CARD_ERROR
        err.update(extra)
        return dict(sorted(err.items()))

    def outcome(self, risk_score: int) -> dict[str, Any]:
        return {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": self.network_status,
            "reason": self.outcome_reason or self.decline_code,
            "risk_level": self.risk_level,
            "risk_score": risk_score,
            "seller_message": self.seller_message,
            "type": self.outcome_type,
        }


_DECLINED = "Your card was declined."

GENERIC = Decline("card_declined", "generic_decline", _DECLINED)
INSUFFICIENT = Decline(
    "card_declined",
    "insufficient_funds",
    "Your card has insufficient funds.",
    seller_message="The bank returned the decline code `insufficient_funds`.",
)
LOST = Decline(
    "card_declined",
    "lost_card",
    _DECLINED,
    seller_message="The bank returned the decline code `lost_card`.",
)
STOLEN = Decline(
    "card_declined",
    "stolen_card",
    _DECLINED,
    seller_message="The bank returned the decline code `stolen_card`.",
)
EXPIRED = Decline(
    "expired_card",
    "expired_card",
    "Your card has expired.",
    param="exp_month",
    seller_message="The bank returned the decline code `expired_card`.",
)
INCORRECT_CVC = Decline(
    "incorrect_cvc",
    "incorrect_cvc",
    "Your card's security code is incorrect.",
    param="cvc",
    seller_message="The bank returned the decline code `incorrect_cvc`.",
)
PROCESSING = Decline(
    "processing_error",
    "processing_error",
    "An error occurred while processing your card. Try again in a little bit.",
    seller_message="The bank returned the decline code `processing_error`.",
)
FRAUDULENT = Decline(
    "card_declined",
    "fraudulent",
    _DECLINED,
    seller_message="Stripe blocked this payment as too risky.",
    outcome_type="blocked",
    network_status="not_sent_to_network",
    risk_level="highest",
    outcome_reason="highest_risk_level",
)
AUTH_REQUIRED = Decline(
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
    seller_message="The bank returned the decline code `authentication_required`.",
)
LIVE_CARD = Decline(
    "card_declined",
    "test_mode_live_card",
    "Your card was declined. Your request was in test mode, but used a non test (live) "
    "card. For a list of valid test cards, visit: https://stripe.com/docs/testing.",
)

DECLINES = {
    d.decline_code: d
    for d in (GENERIC, INSUFFICIENT, LOST, STOLEN, EXPIRED, INCORRECT_CVC, PROCESSING, FRAUDULENT)
}


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    funding: str = "credit"
    country: str = "US"
    attach_decline: Decline | None = None
    charge_decline: Decline | None = None
    # 3D Secure on every payment and setup: on-session the intent goes to
    # ``requires_action``; off-session the payment declines ``authentication_required``.
    auth: bool = False

    @property
    def decline_on_charge(self) -> Decline | None:
        return self.attach_decline or self.charge_decline


_CARDS = [
    TestCard("4242424242424242", "visa"),
    TestCard("4000056655665556", "visa", "debit"),
    TestCard("5555555555554444", "mastercard"),
    TestCard("2223003122003222", "mastercard"),
    TestCard("5200828282828210", "mastercard", "debit"),
    TestCard("5105105105105100", "mastercard", "prepaid"),
    TestCard("378282246310005", "amex"),
    TestCard("371449635398431", "amex"),
    TestCard("6011111111111117", "discover"),
    TestCard("3056930009020004", "diners"),
    TestCard("3566002020360505", "jcb", country="JP"),
    TestCard("6200000000000005", "unionpay", country="CN"),
    TestCard("4000000000000077", "visa"),  # bypasses pending balance: success here
    TestCard("4000000000000002", "visa", attach_decline=GENERIC),
    TestCard("4000000000009995", "visa", attach_decline=INSUFFICIENT),
    TestCard("4000000000009987", "visa", attach_decline=LOST),
    TestCard("4000000000009979", "visa", attach_decline=STOLEN),
    TestCard("4000000000000069", "visa", attach_decline=EXPIRED),
    TestCard("4000000000000127", "visa", attach_decline=INCORRECT_CVC),
    TestCard("4000000000000119", "visa", attach_decline=PROCESSING),
    TestCard("4100000000000019", "visa", attach_decline=FRAUDULENT),
    TestCard("4000000000000341", "visa", charge_decline=GENERIC),
    TestCard("4000002760003184", "visa", auth=True),
    TestCard("4000000000003220", "visa", auth=True),
    TestCard("4000000000003063", "visa", auth=True),
]
BY_NUMBER: dict[str, TestCard] = {c.number: c for c in _CARDS}

TOKENS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_us": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_mastercard_debit": "5200828282828210",
    "pm_card_mastercard_prepaid": "5105105105105100",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_diners": "3056930009020004",
    "pm_card_jcb": "3566002020360505",
    "pm_card_unionpay": "6200000000000005",
    "pm_card_bypassPending": "4000000000000077",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_visa_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_visa_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_visa_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_radarBlock": "4100000000000019",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_threeDSecure2Required": "4000000000003220",
    "pm_card_threeDSecureRequired": "4000000000003063",
}


def fingerprint(number: str) -> str:
    digest = hashlib.sha256(b"emulator-card:" + number.encode()).digest()
    return "".join(BASE62[b % 62] for b in digest[:16])


_BY_FINGERPRINT: dict[str, TestCard] = {fingerprint(c.number): c for c in _CARDS}


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number.startswith(("6011", "65", "644", "645", "646", "647", "648", "649")):
        return "discover"
    if number.startswith(("300", "301", "302", "303", "304", "305", "36", "38")):
        return "diners"
    if number.startswith("35"):
        return "jcb"
    if number.startswith("62"):
        return "unionpay"
    return "unknown"


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_for_number(number: str) -> TestCard:
    """The catalogue entry; other valid numbers are live cards, declined when used."""
    known = BY_NUMBER.get(number)
    if known is not None:
        return known
    return TestCard(number, brand_of(number), attach_decline=LIVE_CARD)


def card_for_fingerprint(fp: str | None) -> TestCard | None:
    return _BY_FINGERPRINT.get(fp or "")


def token_number(token: str) -> str | None:
    return TOKENS.get(token)


def decline_on_attach(pm: dict[str, Any]) -> Decline | None:
    card = card_for_fingerprint((pm.get("card") or {}).get("fingerprint"))
    if card is None:
        return LIVE_CARD if pm.get("type") == "card" else None
    return card.attach_decline


def requires_auth(pm: dict[str, Any]) -> bool:
    """Whether paying or setting up with this card needs 3D Secure authentication."""
    card = card_for_fingerprint((pm.get("card") or {}).get("fingerprint"))
    return card is not None and card.auth


def next_action(source: str, client_secret: str, return_url: str | None) -> dict[str, Any]:
    """An intent's ``next_action`` for 3D Secure (``redirect_to_url`` given a return_url)."""
    url = f"https://hooks.stripe.com/redirect/authenticate/{source}?client_secret={client_secret}"
    if return_url:
        return {
            "redirect_to_url": {"return_url": return_url, "url": url},
            "type": "redirect_to_url",
        }
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"source": source, "stripe_js": url, "type": "three_d_secure_redirect"},
    }


def decline_on_charge(pm: dict[str, Any]) -> Decline | None:
    card = card_for_fingerprint((pm.get("card") or {}).get("fingerprint"))
    if card is None:
        return LIVE_CARD if pm.get("type") == "card" else None
    return card.decline_on_charge


class CardError(errors.StripeError):
    """A 402 ``card_error`` whose body carries extra objects (``payment_intent``, ...)."""

    def __init__(self, error: dict[str, Any], status: int = 402) -> None:
        super().__init__(
            status,
            error.get("type", errors.CARD_ERROR),
            error["message"],
            code=error.get("code"),
            param=error.get("param"),
            decline_code=error.get("decline_code"),
        )
        self.error = error

    def body(self) -> dict[str, Any]:
        return {"error": self.error}


class ObjectError(errors.StripeError):
    """A ``StripeError`` whose body also embeds objects (e.g. the ``payment_intent``)."""

    def __init__(self, base: errors.StripeError, **extra: Any) -> None:
        super().__init__(
            base.status,
            base.type,
            base.message,
            code=base.code,
            param=base.param,
            decline_code=base.decline_code,
            headers=base.headers,
        )
        self.extra = extra

    def body(self) -> dict[str, Any]:
        err = super().body()["error"]
        err.update(self.extra)
        return {"error": dict(sorted(err.items()))}

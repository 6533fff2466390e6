"""Billing's refusals, and how they and Stripe's failures answer over HTTP."""

from __future__ import annotations

from typing import Any

from system.http.problems import Problem
from system.stripe_gateway import CardDeclined, StripeRejected, StripeUnavailable


class BillingError(Exception):
    """A billing request that cannot be honoured; `status` is the HTTP status to answer."""

    def __init__(self, status: int, title: str, detail: str, slug: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.extra = extra


def payment_required(detail: str, **extra: Any) -> BillingError:
    return BillingError(402, "Payment Required", detail, "payment-required", **extra)


def payments_unavailable() -> BillingError:
    return BillingError(
        503,
        "Payments Unavailable",
        "Payments are unavailable right now; please try again shortly.",
        "payments-unavailable",
    )


def card_declined(declined: CardDeclined) -> BillingError:
    return payment_required(
        f"The card was declined: {declined}", decline_code=declined.decline_code
    )


# What a billing use case may raise; routes and pages turn each into a problem document.
BILLING_ERRORS = (BillingError, CardDeclined, StripeRejected, StripeUnavailable)


def as_problem(error: Exception) -> Problem:
    """Billing and Stripe failures as problem documents."""
    if isinstance(error, BillingError):
        return Problem(error.status, error.title, error.detail, slug=error.slug, **error.extra)
    if isinstance(error, CardDeclined):
        return Problem(
            402,
            "Card Declined",
            f"The card was declined: {error}",
            slug="card-declined",
            decline_code=error.decline_code,
            code=error.code,
        )
    if isinstance(error, StripeRejected):
        return Problem(
            422,
            "Payment Method Rejected",
            str(error),
            slug="stripe-rejected",
            errors=[{"field": "payment_method", "message": str(error)}],
        )
    assert isinstance(error, StripeUnavailable)
    return Problem(
        503,
        "Payments Unavailable",
        "Payments are unavailable right now; please try again shortly.",
        slug="payments-unavailable",
        headers={"Retry-After": "5"},
    )

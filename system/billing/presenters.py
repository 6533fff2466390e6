"""How billing objects look in the API: our rows turned into public JSON (pure)."""

from __future__ import annotations

from typing import Any

from system.timestamps import iso


def public_payment_method(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "brand": row["brand"],
        "last4": row["last4"],
        "exp_month": row["exp_month"],
        "exp_year": row["exp_year"],
        "default": bool(row["is_default"]),
    }


def public_subscription(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row["id"],
        "plan": row["plan"],
        "status": row["status"],
        "current_period_start": iso(row["current_period_start"]),
        "current_period_end": iso(row["current_period_end"]),
        "cancel_at_period_end": bool(row["cancel_at_period_end"]),
        "canceled_at": iso(row["canceled_at"]),
    }


def public_invoice(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "number": row["number"],
        "status": row["status"],
        "billing_reason": row["billing_reason"],
        "currency": row["currency"],
        "total": row["total"],
        "amount_due": row["amount_due"],
        "amount_paid": row["amount_paid"],
        "amount_remaining": row["amount_remaining"],
        "subscription": row["subscription_id"],
        "period_start": iso(row["period_start"]),
        "period_end": iso(row["period_end"]),
        "created": iso(row["created"]),
    }

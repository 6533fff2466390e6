"""Payment pages: the Checkout page's own API, which ``stripe trigger`` drives.

``GET /v1/payment_pages/{cs_id}`` and ``POST /v1/payment_pages/{cs_id}/confirm``
(``payment_method``, ``expected_amount``) are what the hosted Checkout page calls;
the Stripe CLI's checkout triggers use them to pay a session. They are not in
Stripe's public reference, so the page object here is the emulator's own small
view of the session (id, mode, status, amounts, line items and the objects that
completion created). Confirming refuses an ``expected_amount`` that differs from
what the page would charge, then completes the session like a customer would
(:func:`.checkout_sessions.complete_session`) and answers the updated page.
"""

from __future__ import annotations

from typing import Any

from .. import billing, errors
from ..routing import Ctx, Route
from ..schema import Int, Schema, Str
from ..shapes import jcopy
from . import checkout_sessions

CONFIRM_PARAMS: Schema = {
    "payment_method": Str(required=True),
    "expected_amount": Int(min_value=0),
}
_FROM_SESSION = (
    "amount_subtotal",
    "amount_total",
    "cancel_url",
    "currency",
    "customer",
    "customer_email",
    "expires_at",
    "livemode",
    "mode",
    "payment_intent",
    "payment_method_types",
    "payment_status",
    "setup_intent",
    "status",
    "subscription",
    "success_url",
    "ui_mode",
)


def _session(ctx: Ctx) -> dict[str, Any]:
    sid = ctx.path_params["id"]
    obj = ctx.coll(checkout_sessions.COLLECTION).get(sid)
    if obj is None:
        raise errors.resource_missing("payment_page", sid)
    return obj


def page(ctx: Ctx, session: dict[str, Any]) -> dict[str, Any]:
    """The payment page of ``session``."""
    items = ctx.coll("checkout.line_items").get(session["id"]) or {"data": []}
    out: dict[str, Any] = {"id": session["id"], "object": "payment_page"}
    out.update({k: session.get(k) for k in _FROM_SESSION})
    out["line_items"] = {
        "object": "list",
        "data": jcopy(items["data"]),
        "has_more": False,
        "url": f"/v1/checkout/sessions/{session['id']}/line_items",
    }
    return out


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return page(ctx, _session(ctx))


def confirm(ctx: Ctx) -> dict[str, Any]:
    session = _session(ctx)
    expected = ctx.params.get("expected_amount")
    due = session.get("amount_total") or 0
    if expected is not None and session["status"] == "open" and expected != due:
        raise errors.invalid(
            f"The expected amount ({expected}) does not match the amount of this Checkout "
            f"Session ({due}). Reload the page to see the current amount.",
            "expected_amount",
        )
    done = checkout_sessions.complete_session(ctx, session["id"], ctx.params["payment_method"])
    out = page(ctx, done)
    billing.catch_up(ctx)  # a delayed-notification payment may settle right after
    return out


ROUTES = [
    Route("GET", "/v1/payment_pages/{id}", retrieve),
    Route("POST", "/v1/payment_pages/{id}/confirm", confirm, CONFIRM_PARAMS),
]

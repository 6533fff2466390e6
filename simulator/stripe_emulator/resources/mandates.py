"""Mandates: the customer's authorisation to debit a bank account (SEPA Direct Debit).

Created when a ``sepa_debit`` PaymentMethod is confirmed with ``mandate_data`` on a
PaymentIntent (and by Checkout, which collects the acceptance online); the charge
names it in ``payment_method_details.sepa_debit.mandate``. ``GET /v1/mandates/{id}``.
"""

from __future__ import annotations

from typing import Any

from ..ids import BASE62
from ..routing import Ctx, Route
from ..schema import Enum, Int, Obj, Str
from ..shapes import Blank

COLLECTION = "mandate"
PREFIX = "mandate"
INDEXES = {COLLECTION: ("payment_method",)}
EXPANDABLE = {PREFIX: COLLECTION}

MANDATE_DATA = Obj(
    {
        "customer_acceptance": Obj(
            {
                "type": Enum("online", "offline", required=True),
                "accepted_at": Int(),
                "online": Obj({"ip_address": Str(), "user_agent": Str()}),
                "offline": Obj({}),
            },
            required=True,
        )
    }
)
BLANK = Blank("mandate")


def acceptance(
    ctx: Ctx, value: dict[str, Any] | None, customer: str | None = None
) -> dict[str, Any]:
    """``customer_acceptance`` as stored (validated ``mandate_data`` or Checkout's online
    one); accepted now (the customer's test clock time) unless ``accepted_at`` is given."""
    value = value or {"type": "online", "online": {}}
    kind = value["type"]
    now = ctx.state.now_for(customer, ctx.account)
    out: dict[str, Any] = {"accepted_at": value.get("accepted_at") or now, "type": kind}
    if kind == "online":
        online = value.get("online") or {}
        out["online"] = {
            "ip_address": online.get("ip_address"),
            "user_agent": online.get("user_agent"),
        }
    else:
        out["offline"] = {}
    return out


def create_for(
    ctx: Ctx,
    pm: dict[str, Any],
    customer_acceptance: dict[str, Any],
    *,
    single_use: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """Store an active mandate for ``pm`` (multi-use unless ``single_use=(amount, currency)``)."""
    reference = ctx.state.ids.token(BASE62[:36], 16)  # digits and capitals
    obj = BLANK.new(
        id=ctx.new_id(PREFIX, 24),
        customer_acceptance=customer_acceptance,
        payment_method=pm["id"],
        payment_method_details={
            pm["type"]: {
                "reference": reference,
                "url": f"https://payments.stripe.com/{pm['type']}/mandate/{reference}",
            },
            "type": pm["type"],
        },
        status="active",
        type="single_use" if single_use else "multi_use",
    )
    if single_use:
        obj.pop("multi_use", None)
        obj["single_use"] = {"amount": single_use[0], "currency": single_use[1]}
    ctx.coll(COLLECTION).put(obj)
    return obj


def latest_for(ctx: Ctx, pm_id: str) -> str | None:
    """The id of the newest mandate of a PaymentMethod, if any."""
    found = ctx.coll(COLLECTION).lookup("payment_method", pm_id)
    return str(found[-1]["id"]) if found else None


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"], "mandate")


ROUTES = [Route("GET", "/v1/mandates/{id}", retrieve)]

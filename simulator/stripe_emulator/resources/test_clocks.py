"""Test clocks (``/v1/test_helpers/test_clocks``): create, retrieve, list, delete, advance.

Customers created with ``test_clock`` live on the clock's ``frozen_time``
(see :meth:`~..state.EmulatorState.now_for`). ``advance`` runs the billing
engine (:func:`..billing.run_due`) synchronously for the clock's objects, in
time order, moving ``frozen_time`` to each due step; the response shows
``status: advancing`` as Stripe's does, and the clock is ``ready`` afterwards.
Events: ``test_helpers.test_clock.created/advancing/ready/deleted``.
"""

from __future__ import annotations

from typing import Any

from .. import billing, errors
from ..common import LIST_PARAMS, deleted, list_response
from ..routing import Ctx, Route
from ..schema import Int, Schema, Str
from ..shapes import Blank

COLLECTION = billing.CLOCKS
PREFIX = "clock"
INDEXES = {**billing.INDEXES}
EXPANDABLE = {PREFIX: COLLECTION}
DELETES_AFTER = 30 * billing.DAY

CREATE_PARAMS: Schema = {"frozen_time": Int(required=True), "name": Str(max_length=300)}
ADVANCE_PARAMS: Schema = {"frozen_time": Int(required=True)}
LIST: Schema = {**LIST_PARAMS}

BLANK = Blank("test_helpers.test_clock", status_details={})


def create(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    now = ctx.now()
    obj = BLANK.new(
        id=ctx.new_id(PREFIX, 24),
        created=now,
        deletes_after=now + DELETES_AFTER,
        frozen_time=p["frozen_time"],
        name=p.get("name"),
        status="ready",
    )
    ctx.coll(COLLECTION).put(obj)
    ctx.emit("test_helpers.test_clock.created", obj)
    return obj


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def list_(ctx: Ctx) -> dict[str, Any]:
    return list_response(ctx, COLLECTION, "/v1/test_helpers/test_clocks")


def delete(ctx: Ctx) -> dict[str, Any]:
    """Delete the clock and every customer (and so subscription) living on it."""
    cid = ctx.path_params["id"]
    obj = ctx.get_or_404(COLLECTION, cid)
    for cus in ctx.coll("customer").lookup("test_clock", cid):
        for sub in ctx.coll("subscription").lookup("customer", cus["id"]):
            for item in sub["items"]["data"]:
                ctx.coll("subscription_item").delete(item["id"])
            ctx.coll("subscription").delete(sub["id"])
        ctx.coll("customer").delete(cus["id"])
        ctx.account.add_tombstone(deleted(cus["id"], "customer"))
    for timer in ctx.coll(billing.TIMERS).lookup("clock", cid):
        ctx.coll(billing.TIMERS).delete(timer["id"])
    ctx.coll(COLLECTION).delete(cid)
    ctx.emit("test_helpers.test_clock.deleted", obj)
    return deleted(cid, COLLECTION)


def advance(ctx: Ctx) -> dict[str, Any]:
    obj = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    target = ctx.params["frozen_time"]
    if target <= obj["frozen_time"]:
        raise errors.invalid(
            "The frozen time must be after the current frozen time of the test clock "
            f"({obj['frozen_time']}).",
            "frozen_time",
        )
    coll = ctx.coll(COLLECTION)
    obj["status"] = "advancing"
    coll.touch(obj["id"])
    ctx.emit("test_helpers.test_clock.advancing", obj)
    response = dict(obj, frozen_time=target)

    def step(at: int) -> None:
        obj["frozen_time"] = at

    billing.run_due(ctx, obj["id"], target, on_step=step)
    obj["frozen_time"] = target
    obj["status"] = "ready"
    coll.touch(obj["id"])
    ctx.emit("test_helpers.test_clock.ready", obj)
    return response


ROUTES = [
    Route("POST", "/v1/test_helpers/test_clocks", create, CREATE_PARAMS),
    Route("GET", "/v1/test_helpers/test_clocks", list_, LIST),
    Route("GET", "/v1/test_helpers/test_clocks/{id}", retrieve),
    Route("DELETE", "/v1/test_helpers/test_clocks/{id}", delete),
    Route("POST", "/v1/test_helpers/test_clocks/{id}/advance", advance, ADVANCE_PARAMS),
]

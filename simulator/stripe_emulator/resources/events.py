"""Events: retrieve and list (``type`` incl. ``customer.*`` wildcards, ``types[]``, ``created``).

Events are recorded by handlers through ``ctx.emit`` (see :mod:`..state`).
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..common import CREATED_FILTER, LIST_PARAMS, list_response
from ..routing import Ctx, Route
from ..schema import Bool, ListOf, Schema, Str

COLLECTION = "event"
PREFIX = "evt"
INDEXES = {COLLECTION: ("type",)}
EXPANDABLE = {PREFIX: COLLECTION}

LIST: Schema = {
    **LIST_PARAMS,
    **CREATED_FILTER,
    "type": Str(),
    "types": ListOf(Str(), max_items=20),
    "delivery_success": Bool(),
}


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def _matcher(patterns: list[str]) -> Any:
    exact = [t for t in patterns if "*" not in t]
    prefixes = tuple(t[: t.index("*")] for t in patterns if "*" in t)
    if not prefixes:
        return exact, None

    def where(o: dict[str, Any]) -> bool:
        return o["type"] in exact or o["type"].startswith(prefixes)

    return None, where


def list_(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    if p.get("type") is not None and p.get("types"):
        raise errors.parameters_exclusive("type", "types")
    patterns = [p["type"]] if p.get("type") else [t for t in p.get("types") or [] if t]
    eq: dict[str, Any] = {}
    where = None
    if patterns:
        exact, where = _matcher(patterns)
        if exact is not None:
            eq["type"] = exact
    if p.get("delivery_success") is not None:
        want = p["delivery_success"]
        base = where

        def where(o: dict[str, Any]) -> bool:
            ok = o.get("pending_webhooks", 0) == 0
            return ok == want and (base is None or base(o))

    return list_response(ctx, COLLECTION, "/v1/events", eq=eq, where=where)


ROUTES = [
    Route("GET", "/v1/events", list_, LIST),
    Route("GET", "/v1/events/{id}", retrieve),
]

"""Shared helpers for resource handlers: list pagination, metadata, diffs, deletes."""

from __future__ import annotations

from typing import Any

from . import errors
from .routing import Ctx
from .schema import Int, Range, Schema, Str, in_range
from .store import Predicate

LIST_PARAMS: Schema = {
    "limit": Int(min_value=1, max_value=100),
    "starting_after": Str(),
    "ending_before": Str(),
}
CREATED_FILTER: Schema = {"created": Range()}


def list_response(
    ctx: Ctx,
    collection: str,
    url: str,
    *,
    eq: dict[str, Any] | None = None,
    where: Predicate | None = None,
    object_name: str | None = None,
) -> dict[str, Any]:
    """Paginate ``collection`` newest-first using the standard list params.

    ``eq`` = field equality filters (indexed fields make them O(limit));
    ``created`` (if in the params) is applied automatically.
    """
    p = ctx.params
    coll = ctx.coll(collection)
    limit = p.get("limit") or 10
    sa = p.get("starting_after")
    eb = p.get("ending_before")
    name = object_name or collection
    for param, cursor in (("starting_after", sa), ("ending_before", eb)):
        if cursor is not None and cursor not in coll.seq_of:
            raise errors.resource_missing(name, cursor, param, status=400)  # a param: 400
    created = p.get("created")
    if created:
        base = where

        def where(o: dict[str, Any]) -> bool:
            return in_range(o["created"], created) and (base is None or base(o))

    data, has_more = coll.page(limit=limit, starting_after=sa, ending_before=eb, eq=eq, where=where)
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def apply_metadata(current: dict[str, str], update: dict[str, str | None] | None) -> dict[str, str]:
    """Merge a validated ``metadata`` param (None = clear all, None value = unset key)."""
    if update is None:
        return {}
    out = dict(current)
    for k, v in update.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: old values of what changed (nested for hashes)."""
    prev: dict[str, Any] = {}
    for k, nv in new.items():
        ov = old.get(k)
        if ov == nv:
            continue
        if isinstance(ov, dict) and isinstance(nv, dict) and k != "recurring":
            sub = diff(ov, nv)
            for dk in ov:
                if dk not in nv:
                    sub[dk] = ov[dk]
            prev[k] = sub
        else:
            prev[k] = ov
    return prev


def update_object(
    ctx: Ctx, collection: str, obj: dict[str, Any], changes: dict[str, Any], event_type: str
) -> dict[str, Any]:
    """Apply ``changes`` to a stored object, reindex, emit ``event_type`` if anything changed."""
    old = dict(obj)
    new = {**obj, **changes}
    prev = diff(old, new)
    if not prev:
        return obj
    obj.update(changes)
    ctx.coll(collection).reindex(obj["id"], old)
    ctx.emit(event_type, obj, previous_attributes=prev)
    return obj


def deleted(obj_id: str, object_name: str) -> dict[str, Any]:
    return {"id": obj_id, "object": object_name, "deleted": True}


def set_fields(target: dict[str, Any], params: dict[str, Any], names: tuple[str, ...]) -> None:
    """Copy ``names`` present in validated ``params`` onto ``target``."""
    for n in names:
        if n in params:
            target[n] = params[n]
